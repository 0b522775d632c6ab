"""engine/workflows/evaluate.py: samplers compared on an opened model (the report's path), and the CLI's entry."""
from __future__ import annotations

import json

import numpy as np
import pytest


@pytest.fixture(scope="module")
def opened(tiny_model):
    from engine.workflows.open_model import open_model

    return open_model(tiny_model, labels=False)


def test_evaluate_an_opened_model_is_the_folders_evaluation(opened, tiny_model, monkeypatch):
    from engine import formats
    from engine.workflows.evaluate import EvaluateOptions, evaluate_model, evaluate_opened_model

    options = EvaluateOptions(n=8, seed=2, samplers=["uniform", "normal"])
    calls = []
    real = formats.open_model
    monkeypatch.setattr(formats, "open_model", lambda *a, **k: calls.append(a) or real(*a, **k))
    res = evaluate_opened_model(opened, None, options)
    assert calls == []  # the model is not opened again from its folder
    rows = {r["name"]: r for r in res.report.rows}
    assert {"uniform", "normal"} <= set(rows) and res.rates == [] and res.notes == []
    monkeypatch.undo()
    again = {r["name"]: r for r in evaluate_model(tiny_model, n=8, seed=2, samplers=["uniform", "normal"]).report.rows}
    for name in ("uniform", "normal"):
        for key in res.report.metrics:
            if key in rows[name] and isinstance(rows[name][key], float) and np.isfinite(rows[name][key]):
                assert again[name][key] == pytest.approx(rows[name][key], rel=1e-5, abs=1e-6), (name, key)


def test_evaluate_refuses_unknown_samplers_before_any_work(opened):
    from engine.errors import SamplerError
    from engine.workflows.evaluate import EvaluateOptions, evaluate_opened_model

    with pytest.raises(SamplerError) as info:
        evaluate_opened_model(opened, None, EvaluateOptions(n=8, samplers=["nope"]))
    from main import cli_name

    assert info.value.render(cli_name).startswith("--samplers: ") and str(info.value).startswith("samplers: ")


def test_evaluate_model_writes_its_report(tiny_model, tmp_path):
    from engine.workflows.evaluate import evaluate_model

    out = tmp_path / "r.json"
    res = evaluate_model(tiny_model, n=8, samplers=["box"], out=out)
    data = json.loads(out.read_text())
    assert [r["name"] for r in data["rows"] if r.get("kind") == "sampler"] == ["box"]
    assert [r["name"] for r in res.report.rows] == [r["name"] for r in data["rows"]]


def test_a_dataset_without_the_held_out_faces(opened, face_folder):
    from engine.errors import DataError
    from engine.workflows.evaluate import EvaluateOptions, evaluate_opened_model

    with pytest.raises(DataError, match="held-out images"):
        evaluate_opened_model(opened, face_folder, EvaluateOptions(n=8, samplers=["normal"]))
    res = evaluate_opened_model(opened, face_folder, EvaluateOptions(n=8, samplers=["normal"],
                                                                     real_faces_optional=True))
    assert res.report.notes[0].startswith("the open dataset cannot serve as the real faces")
    assert res.report.info["data"] is None
