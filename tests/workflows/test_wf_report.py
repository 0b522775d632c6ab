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


def test_report_parts_are_chosen_and_honoured(opened, tmp_path):
    from engine.errors import EngineError
    from engine.workflows.report import REPORT_PARTS, ReportOptions, chosen_parts, report_of_model

    assert [p.name for p in REPORT_PARTS] == ["statistics", "faces", "atlas", "comparison"]
    # by default every part the inputs allow: the comparison only with a data folder (the CLI's behaviour)
    assert chosen_parts(None, data=None) == ("statistics", "faces", "atlas")
    assert chosen_parts(None, data=tmp_path) == ("statistics", "faces", "atlas", "comparison")
    assert chosen_parts(ReportOptions(parts=["atlas", "statistics"])) == ("statistics", "atlas")
    with pytest.raises(EngineError) as info:
        chosen_parts(ReportOptions(parts=["comparison"]), data=None)
    assert info.value.param == "data"
    with pytest.raises(EngineError) as info:
        chosen_parts(ReportOptions(parts=["histograms"]))
    assert info.value.param == "parts"
    rep = report_of_model(opened, tmp_path / "r", options=ReportOptions(parts=["atlas"], atlas_side=3))
    numbers = json.loads((rep.folder / "report.json").read_text())
    assert numbers["parts"] == ["atlas"]
    assert [f["name"] for f in numbers["figures"]] == ["fig-08-atlas"]
    assert "atlas" in numbers and "histograms" not in numbers and "faces" not in numbers
    assert sorted(p.name for p in rep.folder.glob("fig-*")) == ["fig-08-atlas.png", "fig-08-atlas.svg"]
    assert "Left out of this report: Statistics figures, Faces of each sampler" in (rep.folder / "report.html").read_text()


def test_report_parts_have_estimates(opened, monkeypatch):
    from engine.workflows import estimates
    from engine.workflows.report import REPORT_PARTS

    monkeypatch.setattr(estimates, "fit_cached", lambda *a, **k: False)
    first = estimates.expected_report_parts(opened)
    assert set(first) == {p.name for p in REPORT_PARTS}
    assert all(e.seconds > 0 for e in first.values())
    assert first["comparison"].seconds > first["atlas"].seconds
    monkeypatch.setattr(estimates, "fit_cached", lambda *a, **k: True)
    again = estimates.expected_report_parts(opened)
    assert again["faces"].seconds < first["faces"].seconds  # the fits are cached: only decoding and drawing
