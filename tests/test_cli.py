"""The CLI contract, via subprocess: generate/info on the embedded default model, errors as one line."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.resources import default_model_dir

ROOT = Path(__file__).resolve().parents[1]
HAS_DEFAULT = (default_model_dir() / "latents.npy").exists()


def run_cli(*args, timeout=240):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=ROOT)


@pytest.mark.skipif(not HAS_DEFAULT, reason="the embedded default model is not in resources/ yet")
def test_generate_on_default_model(tmp_path):
    out = tmp_path / "set"
    r = run_cli("generate", "--n", 16, "--seed", 3, "--out", out)
    assert r.returncode == 0, r.stderr
    pngs = sorted(out.glob("[0-9][0-9][0-9][0-9].png"))
    assert len(pngs) == 16
    z = np.load(out / "z.npy")
    assert z.shape == (16, 256) and z.dtype == np.float32
    params = json.loads((out / "params.json").read_text())
    cfg = json.loads((default_model_dir() / "config.json").read_text())
    assert params["sampler"] == "uniform" and params["seed"] == 3 and params["model_id"] == cfg["model_id"]
    assert "app_version" in params and params["parameters"]["range"] == 2.0
    assert Image.open(out / "grid.png").size[0] > 4 * 64
    assert Image.open(pngs[0]).size == (64, 64)
    # same seed → same vectors; a second write into the same folder is refused
    r2 = run_cli("generate", "--n", 16, "--seed", 3, "--out", tmp_path / "again", "--z-only")
    assert r2.returncode == 0
    np.testing.assert_array_equal(np.load(tmp_path / "again" / "z.npy"), z)
    assert not list((tmp_path / "again").glob("*.png"))
    r3 = run_cli("generate", "--n", 4, "--out", out)
    assert r3.returncode != 0 and "already holds an image set" in r3.stderr


@pytest.mark.skipif(not HAS_DEFAULT, reason="the embedded default model is not in resources/ yet")
def test_info_on_default_model():
    r = run_cli("info")
    assert r.returncode == 0, r.stderr
    assert "z_dim 256" in r.stdout and "z-points   9000 × 256" in r.stdout


def test_bad_model_gives_one_line_and_nonzero_exit(tmp_path):
    r = run_cli("info", "--model", tmp_path / "missing")
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "no such model folder" in r.stderr
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text("{}")
    r = run_cli("generate", "--model", bad, "--n", 2, "--out", tmp_path / "o")
    assert r.returncode == 2 and "Traceback" not in r.stderr and "config.json" in r.stderr


def test_unknown_sampler_and_parameter_are_one_line_errors(tiny_model, tmp_path):
    r = run_cli("generate", "--model", tiny_model, "--sampler", "nope", "--n", 2, "--out", tmp_path / "a")
    assert r.returncode == 2 and "unknown sampler" in r.stderr and "uniform" in r.stderr
    r = run_cli("generate", "--model", tiny_model, "--set", "range=abc", "--n", 2, "--out", tmp_path / "b")
    assert r.returncode == 2 and "range" in r.stderr and r.stderr.count("\n") == 1


def test_train_reconstruct_encode_via_cli(tmp_path):
    from conftest import write_faces

    write_faces(tmp_path / "faces", 30, seed=2, size=48)
    model = tmp_path / "model"
    r = run_cli("train", "--data", tmp_path / "faces", "--out", model, "--epochs", 1, "--image-size", 32,
                "--z-dim", 8, "--batch-size", 8, "--channels", "8,8,16,16")
    assert r.returncode == 0, r.stderr
    assert (model / "latents.npy").exists() and np.load(model / "latents.npy").shape == (30, 8)
    r = run_cli("reconstruct", "--model", model, "--data", tmp_path / "faces", "--out", tmp_path / "rec", "--n", 5)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "rec").glob("0*.png")) == [f"{i:06d}.png" for i in range(1, 6)]
    assert (tmp_path / "rec" / "grid.png").exists() and r.stdout.startswith("MSE ")
    r = run_cli("encode", "--model", model, "--data", tmp_path / "faces")
    assert r.returncode == 0 and "30 images" in r.stdout
