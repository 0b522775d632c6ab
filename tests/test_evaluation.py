"""``evaluate`` on the tiny model: a well-formed report whose reference rows beat ``uniform``."""
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.errors import EngineError, SamplerError
from engine.evaluation import (FaceDetector, LatentReference, METRICS, evaluate, parse_sweep_text, report_from_json,
                               write_report)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def report(tiny_model, tiny_data):
    seen = []
    r = evaluate(tiny_model, tiny_data, n=24, seed=0, samplers=["uniform", "pca-ellipse", "normal"],
                 sweep=("pca-ellipse", "fact", [0.5, 1.0]), sampler_values={"uniform": {"range": 4.0}},
                 progress=seen.append)
    return r, seen


def test_report_is_well_formed(report, tmp_path):
    r, seen = report
    assert r.metrics == METRICS and set(r.metric_help) == set(METRICS)
    assert [row["name"] for row in r.rows] == ["held-out real", "reconstructions", "uniform", "pca-ellipse", "normal"]
    assert [row["kind"] for row in r.rows][:2] == ["reference", "reference"]
    for row in r.rows:
        for m in ("inside_2s", "inside_3s", "pairs_2s", "face_rate"):
            assert 0.0 <= row[m] <= 1.0
        assert row["nn_ratio"] > 0 and row["frechet"] >= 0
    assert r.rows[2]["parameters"] == {"range": 4.0}
    assert r.sweep["values"] == [0.5, 1.0] and len(r.sweep["curves"]["inside_2s"]) == 2
    assert seen and seen[-1].done == seen[-1].total and seen[-1].job == "evaluate"
    text = r.table()
    assert "held-out real" in text and "sweep of pca-ellipse over fact" in text and "frechet:" in text
    out = tmp_path / "report.json"
    write_report(out, r)
    back = report_from_json(json.loads(out.read_text()))
    assert back.rows[3]["inside_2s"] == r.rows[3]["inside_2s"]


def test_reference_rows_differ_from_uniform_in_the_expected_direction(report):
    r, _ = report
    real, recon, uniform = r.rows[0], r.rows[1], r.rows[2]
    assert real["inside_3s"] > uniform["inside_3s"]
    assert real["nn_ratio"] < uniform["nn_ratio"] and uniform["nn_ratio"] > 1.5
    assert 0.4 < real["nn_ratio"] < 2.5
    # (the Fréchet distance is not compared here: 4 held-out images per half of the tiny model are too few)
    assert any("sampling noise" in note for note in r.notes)
    # a narrower pca-ellipse stays nearer the centre: more inside the ellipsoids
    c = r.sweep["curves"]["inside_2s"]
    assert c[0] >= c[1]


def test_without_data_only_latent_metrics_and_a_note(tiny_model):
    r = evaluate(tiny_model, None, n=16, samplers=["box"])
    real = r.rows[0]
    assert math.isnan(real["face_rate"]) and math.isnan(real["frechet"])
    assert not math.isnan(r.rows[1]["face_rate"])  # reconstructions are decoded: detectable without data
    assert 0 <= real["inside_3s"] <= 1 and any("no real images given" in note for note in r.notes)
    assert json.dumps(r.to_json())  # NaN → null, valid JSON


def test_bad_input_is_refused(tiny_model, tmp_path):
    with pytest.raises(SamplerError):
        evaluate(tiny_model, None, n=16, samplers=["nope"])
    with pytest.raises(EngineError, match="does not hold the model's held-out images"):
        evaluate(tiny_model, tmp_path, n=16, samplers=["box"])
    with pytest.raises(SamplerError, match="KEY=START:STOP:STEPS"):
        parse_sweep_text("fact=0.4:1.0")
    assert parse_sweep_text("fact=0.4:1.0:7") == ("fact", [0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])


def test_latent_reference_metrics_on_a_gaussian_cloud():
    rng = np.random.default_rng(0)
    d = 6
    a = rng.normal(size=(d, d)) + 2 * np.eye(d)
    train = rng.standard_normal((6000, d)) @ a
    held = rng.standard_normal((400, d)) @ a
    ref = LatentReference(train, held[:200])
    m = ref.metrics(held[200:])
    assert m["inside_2s"] == pytest.approx(0.9545, abs=0.03) and m["inside_3s"] == pytest.approx(0.997, abs=0.01)
    assert m["nn_ratio"] == pytest.approx(1.0, abs=0.15)
    # the pair check: a 2-D Gaussian pair lies inside its 2σ ellipse with p = 1 − e^−2; brute force equals the vectorised one
    x = held[200:210]
    zs = (x - ref.mean) / ref.std
    cov = np.cov(train, rowvar=False)
    corr = cov / np.outer(ref.std, ref.std)
    brute = [max((zs[k, [i, j]] @ np.linalg.inv(corr[np.ix_([i, j], [i, j])]) @ zs[k, [i, j]])
                 for i in range(d) for j in range(i + 1, d)) for k in range(10)]
    np.testing.assert_allclose(ref.worst_pair_d2(x), brute, rtol=1e-6)
    assert ref.metrics(train[:1])["nn_ratio"] == 0.0  # a training point is its own nearest neighbour


def test_frechet_distance_matches_the_sqrtm_formula_and_orders_sets():
    from scipy import linalg

    from engine.feature_space import frechet_distance, frechet_distance_of

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 5)), rng.normal(size=(5, 5))
    c1, c2, m1, m2 = a @ a.T, b @ b.T, rng.normal(size=5), rng.normal(size=5)
    ref = ((m1 - m2) ** 2).sum() + np.trace(c1 + c2 - 2 * np.real(linalg.sqrtm(c1 @ c2)))
    assert frechet_distance(m1, c1, m2, c2) == pytest.approx(ref, rel=1e-9)
    x, y = rng.normal(size=(2000, 8)), rng.normal(size=(2000, 8))
    assert frechet_distance_of(x, y) < 0.05 < frechet_distance_of(x, 1.5 * y + 0.3)


def test_feature_space_is_shipped_small_and_loads():
    from engine.feature_space import FeatureSpace, feature_model_dir

    assert (feature_model_dir() / "weights.safetensors").stat().st_size < 3_000_000
    fs = FeatureSpace()
    f = fs.features(np.random.default_rng(0).integers(0, 255, (3, 32, 32, 3), dtype=np.uint8))
    assert f.shape == (3, 64) and np.isfinite(f).all()


def test_face_detector_finds_a_real_face_not_noise():
    """MTCNN (no OpenCV in the metric itself): the default model's decoded training faces are faces, noise is not."""
    from engine.encoding import decode_latents
    from engine.formats import open_model
    from engine.resources import default_model_dir

    det = FaceDetector()
    rng = np.random.default_rng(0)
    assert det.hit_rate(rng.integers(0, 255, (4, 64, 64, 3), dtype=np.uint8)) == 0.0
    assert math.isnan(det.hit_rate(np.zeros((0, 64, 64, 3), np.uint8)))
    folder = default_model_dir()
    z = np.load(folder / "latents.npy", mmap_mode="r")[:8]
    faces = decode_latents(open_model(folder), np.asarray(z, np.float32))
    scores = [det.score(f) for f in faces]
    assert det.hit_rate(faces) >= 0.75 and min(scores) >= 0 and max(scores) <= 1, scores
    assert det.score(np.full((64, 64, 3), 128, np.uint8)) < det.min_score  # a flat grey picture


def test_cli_evaluate_writes_json_and_refuses_bad_flags(tiny_model, tmp_path):
    out = tmp_path / "r.json"
    cmd = [sys.executable, str(ROOT / "main.py"), "evaluate", "--model", str(tiny_model), "--n", "8",
           "--samplers", "uniform,box", "--set", "box.fact=0.5", "--out", str(out)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert res.returncode == 0, res.stderr
    assert "uniform" in res.stdout and "inside_2s" in res.stdout
    data = json.loads(out.read_text())
    assert [r["name"] for r in data["rows"]] == ["held-out real", "reconstructions", "uniform", "box"]
    assert data["rows"][3]["parameters"]["fact"] == 0.5
    bad = subprocess.run(cmd[:-2] + ["--sweep", "bogus=1:2:3"], capture_output=True, text=True, timeout=240)
    assert bad.returncode == 2 and "bogus" in bad.stderr and "Traceback" not in bad.stderr


def test_every_metric_declares_its_goal_as_data():
    from engine.evaluation import METRIC_GOALS, METRIC_HELP, metric_goal, metric_target

    assert set(METRIC_GOALS) == set(METRICS)
    words = {"higher": "higher is better", "lower": "lower is better", "one": "≈1", "reference": "target"}
    for m, goal in METRIC_GOALS.items():
        assert words[goal] in METRIC_HELP[m], m  # the help line says the same as the data
    rows = [{"kind": "reference", "name": "held-out real", "inside_2s": 0.9, "nn_ratio": 1.0},
            {"kind": "sampler", "name": "normal", "inside_2s": 0.7}]
    assert metric_goal("face_rate", rows)[0] == "higher is better" and metric_goal("face_rate", rows)[1](0.9) < metric_goal("face_rate", rows)[1](0.5)
    assert metric_goal("frechet", rows)[0] == "lower is better" and metric_target("frechet", rows) is None
    text, score = metric_goal("inside_2s", rows)
    assert text == "closest to held-out real (0.9)" and score(0.85) < score(0.99) < score(0.5)
    assert metric_target("inside_2s", rows) == 0.9
    text, score = metric_goal("nn_ratio", rows)
    assert text == "closest to 1" and metric_target("nn_ratio", rows) == 1.0
    assert math.isclose(score(2.0), score(0.5)) and score(0.0) == math.inf
    # no reference row: a "reference" metric falls back to lower is better, and has no target
    assert metric_goal("inside_2s", rows[1:])[0] == "lower is better" and metric_target("inside_2s", rows[1:]) is None
