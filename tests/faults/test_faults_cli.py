"""Every bad input to ``python main.py …`` ends with exit status 2 and one line on stderr.

Most cases call ``main.run(argv)`` in this process (stderr captured), which is what the console
script runs; a few run the real ``python main.py`` to prove no traceback reaches the terminal.
Unexpected exceptions would end with status 1 ("internal error"), so asserting status 2 also
asserts that each case was recognised as bad input rather than a crash hidden behind a message.
"""
from __future__ import annotations

import errno
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.formats import native as model_store
from engine.autoencoder import ArchitectureConfig, ConvAutoencoder
from engine.image_data import Preprocess

from faults_support import ROOT, TINY_ARCH, cli, write_faces

PRE = Preprocess(image_size=32, reference_size=(48, 48), crop_box=(0, 0, 48, 48))


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def _model(folder: Path, latents: np.ndarray | None = None) -> Path:
    cfg = ArchitectureConfig(**TINY_ARCH)
    torch.manual_seed(0)
    model_store.save_model(folder, ConvAutoencoder(cfg), model_store.ModelConfig(cfg, PRE))
    if latents is None:
        latents = np.random.default_rng(0).normal(size=(30, 8)).astype(np.float32)
    model_store.save_latents(folder, latents, [f"{i:06d}.png" for i in range(len(latents))])
    return folder


@pytest.fixture(scope="module")
def p(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("cli")
    paths = {"base": base}
    paths["data"] = base / "faces"
    write_faces(paths["data"], 6, seed=1)
    paths["empty"] = base / "empty"
    paths["empty"].mkdir()
    paths["file"] = base / "a-file.txt"
    paths["file"].write_text("x")
    paths["model"] = _model(base / "model")
    paths["pickle"] = _model(base / "pickle")
    paths["marker"] = base / "CODE-RAN"
    (paths["pickle"] / "weights.safetensors").write_bytes(pickle.dumps(_Payload(str(paths["marker"]))))
    paths["trunc"] = _model(base / "trunc")
    w = paths["trunc"] / "weights.safetensors"
    w.write_bytes(w.read_bytes()[:500])
    paths["badcfg"] = _model(base / "badcfg")
    cfg = json.loads((paths["badcfg"] / "config.json").read_text())
    cfg["architecture"]["z_dim"] = "eight"
    (paths["badcfg"] / "config.json").write_text(json.dumps(cfg))
    nan = np.random.default_rng(0).normal(size=(30, 8)).astype(np.float32)
    nan[4, 2] = np.nan
    paths["nanlat"] = _model(base / "nanlat")
    np.save(paths["nanlat"] / "latents.npy", nan)  # save_latents never writes NaN rows
    paths["widelat"] = _model(base / "widelat")
    np.save(paths["widelat"] / "latents.npy", np.zeros((30, 9), np.float32))
    paths["nolat"] = _model(base / "nolat")
    (paths["nolat"] / "latents.npy").unlink()
    paths["training"] = _model(base / "training")
    (paths["training"] / "checkpoint.safetensors").write_bytes(b"")  # a model being trained
    paths["set"] = base / "set"
    paths["set"].mkdir()
    (paths["set"] / "params.json").write_text("{}")
    return paths





def assert_one_line_error(rc, err, expect):
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert rc == 2, f"exit {rc}: {err}"
    assert "Traceback" not in err
    assert len(lines) == 1, lines
    assert "error:" in lines[0] and expect in lines[0], lines[0]


TRAIN = ["train", "--image-size", "32", "--z-dim", "8", "--channels", "8,16,16,32", "--epochs", "1", "--no-encode"]

CASES = [
    # train: data folders
    ("train-missing-data", lambda p: [*TRAIN, "--data", p["base"] / "nope", "--out", p["base"] / "o1"], "no such folder"),
    ("train-empty-data", lambda p: [*TRAIN, "--data", p["empty"], "--out", p["base"] / "o2"], "no image files"),
    ("train-data-is-file", lambda p: [*TRAIN, "--data", p["file"], "--out", p["base"] / "o3"], "not a folder"),
    # train: options, refused before any image is read
    ("train-epochs-0", lambda p: [*TRAIN, "--data", p["data"], "--out", p["base"] / "o", "--epochs", "0"], "--epochs"),
    ("train-epochs-neg", lambda p: [*TRAIN, "--data", p["data"], "--out", p["base"] / "o", "--epochs", "-3"], "--epochs"),
    ("train-batch-0", lambda p: [*TRAIN, "--data", p["data"], "--out", p["base"] / "o", "--batch-size", "0"], "--batch-size"),
    ("train-lr-nan", lambda p: [*TRAIN, "--data", p["data"], "--out", p["base"] / "o", "--lr", "nan"], "--lr"),
    ("train-lr-neg", lambda p: [*TRAIN, "--data", p["data"], "--out", p["base"] / "o", "--lr", "-0.1"], "--lr"),
    ("train-lr-text", lambda p: [*TRAIN, "--data", p["data"], "--out", p["base"] / "o", "--lr", "fast"], "--lr"),
    ("train-size-30", lambda p: [*TRAIN, "--data", p["data"], "--out", p["base"] / "o", "--image-size", "30"], "multiple of 16"),
    ("train-zdim-1", lambda p: [*TRAIN, "--data", p["data"], "--out", p["base"] / "o", "--z-dim", "1"], "--z-dim"),
    ("train-channels-text", lambda p: [*TRAIN, "--data", p["data"], "--out", p["base"] / "o", "--channels", "a,b,c,d"], "--channels"),
    ("train-channels-3", lambda p: [*TRAIN, "--data", p["data"], "--out", p["base"] / "o", "--channels", "8,16,32"], "--channels"),
    ("train-val-neg", lambda p: [*TRAIN, "--data", p["data"], "--out", p["base"] / "o", "--val-count", "-1"], "--val-count"),
    ("train-device-bogus", lambda p: [*TRAIN, "--data", p["data"], "--out", p["base"] / "o", "--device", "toaster"], "--device"),
    ("train-device-cuda-missing", lambda p: [*TRAIN, "--data", p["data"], "--out", p["base"] / "o", "--device", "cuda"]
     if not torch.cuda.is_available() else ["frobnicate"], "CUDA is not available" if not torch.cuda.is_available() else "invalid choice"),
    # train: output folders
    ("train-out-is-file", lambda p: [*TRAIN, "--data", p["data"], "--out", p["file"]], "a-file.txt"),
    ("train-into-training-folder", lambda p: [*TRAIN, "--data", p["data"], "--out", p["training"]], "--resume"),
    ("train-resume-nothing", lambda p: [*TRAIN, "--data", p["data"], "--out", p["base"] / "fresh", "--resume"], "config.json: missing"),
    # encode / info / reconstruct: damaged model folders
    ("encode-missing-model", lambda p: ["encode", "--model", p["base"] / "nope", "--data", p["data"]], "no such model folder"),
    ("encode-pickle", lambda p: ["encode", "--model", p["pickle"], "--data", p["data"]], "never unpickles"),
    ("encode-truncated", lambda p: ["encode", "--model", p["trunc"], "--data", p["data"]], "weights.safetensors: truncated"),
    ("encode-bad-config", lambda p: ["encode", "--model", p["badcfg"], "--data", p["data"]], "z_dim must be an integer"),
    ("encode-empty-data", lambda p: ["encode", "--model", p["model"], "--data", p["empty"]], "no image files"),
    ("encode-batch-0", lambda p: ["encode", "--model", p["model"], "--data", p["data"], "--batch-size", "0"], "--batch-size"),
    ("info-pickle", lambda p: ["info", "--model", p["pickle"]], "never unpickles"),
    ("info-wide-latents", lambda p: ["info", "--model", p["widelat"]], "latents.npy: shape [30, 9]"),
    ("reconstruct-n-neg", lambda p: ["reconstruct", "--model", p["model"], "--data", p["data"], "--out", p["base"] / "r", "--n", "-1"], "--n"),
    ("reconstruct-out-is-file", lambda p: ["reconstruct", "--model", p["model"], "--data", p["data"], "--out", p["file"]], "not a folder"),
    ("reconstruct-bad-config", lambda p: ["reconstruct", "--model", p["badcfg"], "--data", p["data"], "--out", p["base"] / "r2"], "config.json"),
    # generate: sampler input
    ("gen-unknown-sampler", lambda p: ["generate", "--model", p["model"], "--sampler", "magic", "--n", "2", "--out", p["base"] / "g"], "unknown sampler 'magic'"),
    ("gen-unknown-param", lambda p: ["generate", "--model", p["model"], "--set", "bogus=1", "--n", "2", "--out", p["base"] / "g"], "unknown parameter"),
    ("gen-param-text", lambda p: ["generate", "--model", p["model"], "--set", "range=wide", "--n", "2", "--out", p["base"] / "g"], "not a valid float"),
    ("gen-param-low", lambda p: ["generate", "--model", p["model"], "--set", "range=-1", "--n", "2", "--out", p["base"] / "g"], "below the minimum"),
    ("gen-param-nan", lambda p: ["generate", "--model", p["model"], "--set", "range=nan", "--n", "2", "--out", p["base"] / "g"], "not a finite number"),
    ("gen-param-inf", lambda p: ["generate", "--model", p["model"], "--set", "range=inf", "--n", "2", "--out", p["base"] / "g"], "range"),
    ("gen-param-no-eq", lambda p: ["generate", "--model", p["model"], "--set", "range", "--n", "2", "--out", p["base"] / "g"], "expected KEY=VALUE"),
    ("gen-n-neg", lambda p: ["generate", "--model", p["model"], "--n", "-1", "--out", p["base"] / "g"], "--n"),
    ("gen-n-text", lambda p: ["generate", "--model", p["model"], "--n", "many", "--out", p["base"] / "g"], "--n"),
    ("gen-n-absurd", lambda p: ["generate", "--model", p["model"], "--n", str(10**13), "--out", p["base"] / "g"], "--n"),
    ("gen-n-over-ceiling", lambda p: ["generate", "--model", p["model"], "--n", str(2**27 // 8 + 1), "--out", p["base"] / "g"], "split it over several runs"),
    ("gen-nan-latents", lambda p: ["generate", "--model", p["nanlat"], "--n", "2", "--out", p["base"] / "g"], "hold NaN or Inf"),
    ("gen-no-latents", lambda p: ["generate", "--model", p["nolat"], "--n", "2", "--out", p["base"] / "g"], "latents.npy: missing"),
    ("gen-pickle", lambda p: ["generate", "--model", p["pickle"], "--n", "2", "--out", p["base"] / "g"], "never unpickles"),
    ("gen-out-holds-foreign-params", lambda p: ["generate", "--model", p["model"], "--n", "2", "--out", p["set"]], "did not write (params.json)"),
    ("gen-out-is-file", lambda p: ["generate", "--model", p["model"], "--n", "2", "--out", p["file"]], "not a folder"),
    # evaluate
    ("eval-n-1", lambda p: ["evaluate", "--model", p["model"], "--n", "1"], "--n"),
    ("eval-unknown-sampler", lambda p: ["evaluate", "--model", p["model"], "--samplers", "magic"], "unknown sampler"),
    ("eval-bad-sweep", lambda p: ["evaluate", "--model", p["model"], "--samplers", "uniform", "--sweep", "range=abc"], "sweep"),
    ("eval-out-is-folder", lambda p: ["evaluate", "--model", p["model"], "--samplers", "uniform", "--out", p["empty"]], "is a folder"),
    ("eval-out-under-file", lambda p: ["evaluate", "--model", p["model"], "--samplers", "uniform", "--out", p["file"] / "r.json"], "is not a folder"),
    ("eval-empty-data", lambda p: ["evaluate", "--model", p["model"], "--data", p["empty"], "--samplers", "uniform"], "error"),
    ("eval-pickle", lambda p: ["evaluate", "--model", p["pickle"], "--samplers", "uniform"], "never unpickles"),
    # attributes / edit (labels)
    ("attr-import-missing", lambda p: ["attributes", "--model", p["model"], "--import", p["base"] / "nope.txt"], "nope.txt"),
    ("attr-import-garbage", lambda p: ["attributes", "--model", p["model"], "--import", p["file"]], "a-file.txt"),
    ("attr-no-labels", lambda p: ["attributes", "--model", p["model"]], "labels"),
    ("edit-no-labels", lambda p: ["edit", "--model", p["model"], "--data", p["data"], "--attribute", "Smiling", "--out", p["base"] / "e"], "labels"),
    ("edit-bad-amount", lambda p: ["edit", "--model", p["model"], "--data", p["data"], "--attribute", "Smiling", "--amount", "a:b:c", "--out", p["base"] / "e"], "amount"),
    ("gen-where-no-labels", lambda p: ["generate", "--model", p["model"], "--n", "2", "--where", "Smiling=1", "--out", p["base"] / "g"], "labels"),
    # the parser itself
    ("unknown-command", lambda p: ["frobnicate"], "invalid choice"),
    ("missing-required", lambda p: ["generate", "--n", "2"], "--out"),
]


@pytest.mark.parametrize("argv, expect", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_and_exit_2(p, capsys, argv, expect):
    rc, out, err = cli(argv(p), capsys)
    assert_one_line_error(rc, err, expect)
    assert not p["marker"].exists()


def test_nothing_is_written_by_refused_commands(p, capsys):
    for name in ("o", "o1", "o2", "o3", "g", "r", "r2", "fresh"):
        target = p["base"] / name
        assert not target.exists() or not list(target.iterdir()), name
    assert json.loads((p["set"] / "params.json").read_text()) == {}


def test_n_zero_and_a_few_faces_work(p, capsys):
    rc, out, err = cli(["generate", "--model", p["model"], "--n", "0", "--out", p["base"] / "zero"], capsys)
    assert rc == 0, err
    assert json.loads((p["base"] / "zero" / "params.json").read_text())["n"] == 0
    assert np.load(p["base"] / "zero" / "z.npy", allow_pickle=False).shape == (0, 8)
    rc, out, err = cli(["generate", "--model", p["model"], "--n", "300", "--out", p["base"] / "many"], capsys)
    assert rc == 0, err
    assert len(list((p["base"] / "many").glob("0*.png"))) == 300  # decoded in batches of 256 + 44


def test_disk_full_during_generate_is_one_line_naming_the_file(p, capsys, monkeypatch):
    from engine import atomic_io

    real = atomic_io.write_into

    def full(tmp, data):
        if "z.npy" in Path(tmp).name:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(tmp, data)

    monkeypatch.setattr(atomic_io, "write_into", full)
    out = p["base"] / "full"
    rc, _, err = cli(["generate", "--model", p["model"], "--n", "3", "--out", out], capsys)
    assert_one_line_error(rc, err, "No space left on device")
    assert "z.npy" in err
    assert not out.exists()


def test_cancel_by_ctrl_c_is_one_line_and_exit_130(p, capsys, monkeypatch):
    import engine.workflows.generate

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(engine.workflows.generate, "generate", interrupted)
    rc, _, err = cli(["generate", "--model", p["model"], "--n", "3", "--out", p["base"] / "ctrl-c"], capsys)
    assert rc == 130 and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_real_processes_print_no_traceback(p):
    """The same contract through ``python main.py`` (what a user's shell sees)."""
    cases = [
        (["info", "--model", p["pickle"]], "never unpickles"),
        ([*TRAIN, "--data", p["data"], "--out", p["base"] / "o", "--batch-size", "0"], "--batch-size"),
    ]
    for argv, expect in cases:
        res = subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, argv)], capture_output=True, text=True,
                             timeout=120, cwd=ROOT)
        assert_one_line_error(res.returncode, res.stderr, expect)
        assert res.stdout == ""
    assert not p["marker"].exists()
