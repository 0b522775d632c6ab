"""engine/workflows/report.py: the report of an opened model (the GUI) and of a folder (the CLI)."""
from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="module")
def opened(tiny_model):
    from engine.workflows.open_model import open_model

    return open_model(tiny_model, statistics=True, labels=False)


def test_report_of_an_opened_model(opened, tmp_path, monkeypatch):
    from engine.workflows import open_model as om
    from engine.workflows.report import ReportOptions, report_of_model

    monkeypatch.setattr(om, "open_model", lambda *a, **k: pytest.fail("the model was opened again"))
    rep = report_of_model(opened, tmp_path / "r", options=ReportOptions(samplers=["normal"], faces=4))
    assert rep.folder == tmp_path / "r" and (rep.folder / "report.html").is_file()
    numbers = json.loads((rep.folder / "report.json").read_text())
    assert numbers["model"]["model_id"] == opened.model_id and numbers["model"]["z_points"] == len(opened.latents)
    assert all((rep.folder / f"{fg.name}.png").is_file() for fg in rep.figures)


def test_report_refuses_the_model_folder_and_a_missing_data_folder(opened, tmp_path):
    from engine.errors import EngineError
    from engine.workflows.report import report_of_model

    with pytest.raises(EngineError, match="inside the input"):
        report_of_model(opened, opened.folder / "report")
    with pytest.raises(EngineError) as info:
        report_of_model(opened, tmp_path / "r2", data=tmp_path / "nowhere")
    assert info.value.param == "data" and not (tmp_path / "r2").exists()
