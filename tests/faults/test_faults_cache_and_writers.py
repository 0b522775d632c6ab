"""The fast-path cache is not trusted by its checksums alone (issue 22, item 7).

A verified ONNX export in ``<cache>/onnx/<model id>-<key>/`` is used without torch only when its marker carries
this installation's seal (engine/fast_path_seal.py) over the model's own network key and the graphs' sha256.
Swapping in another model's graphs and rewriting the marker's checksums, copying a cache from another
installation, or a key file that others could read: each opens on torch, decodes this model's faces, and the
next open re-verifies. ``info`` says which engine runs the model and from where.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from faults_support import ROOT, TINY_ARCH  # noqa: E402


def _save_tiny(folder: Path, seed: int, model_id: str = "sealtest0001") -> Path:
    import torch

    from engine.autoencoder import ArchitectureConfig, ConvAutoencoder
    from engine.image_data import Preprocess
    from engine.formats.native import ModelConfig, save_model

    torch.manual_seed(seed)
    arch = ArchitectureConfig(**TINY_ARCH)
    config = ModelConfig(arch, Preprocess(image_size=arch.image_size, reference_size=(48, 48),
                                          crop_box=(0, 0, 48, 48)), model_id=model_id)
    save_model(folder, ConvAutoencoder(arch).eval(), config)
    return folder




def _z() -> np.ndarray:
    return np.random.default_rng(4).standard_normal((5, TINY_ARCH["z_dim"])).astype(np.float32)


def _folder_of(cache: Path, model_id: str) -> Path:
    (folder,) = [p for p in (cache / "onnx").iterdir() if p.name.startswith(model_id)]
    return folder


def _torch_faces(folder: Path, z: np.ndarray) -> np.ndarray:
    import torch

    from engine.autoencoder import tensor_to_images
    from engine.formats.native import load_model

    module, _ = load_model(folder)
    with torch.no_grad():
        return tensor_to_images(module.decode(torch.from_numpy(z)))


def _close(a, b) -> bool:
    return a.shape == b.shape and int(np.abs(a.astype(int) - b.astype(int)).max()) <= 1


def test_another_models_graphs_with_rewritten_checksums_are_never_used(tmp_path, cache, load_calls):
    """The attack of the issue: graphs of model B copied over model A's cached export, verified.json's sha256 fields
    updated to match. A must open on torch and decode its own faces."""
    from engine.formats import open_model
    from engine.formats.onnx.card import DECODER, ENCODER
    from engine.formats.onnx.codec import sha256

    a = _save_tiny(tmp_path / "a", seed=0, model_id="sealmodela01")
    b = _save_tiny(tmp_path / "b", seed=1, model_id="sealmodelb01")
    z = _z()
    want_a = open_model(a).decode(z)
    want_b = open_model(b).decode(z)
    assert not _close(want_a, want_b)  # two different networks
    fa, fb = _folder_of(cache, "sealmodela01"), _folder_of(cache, "sealmodelb01")
    marker = json.loads((fa / "verified.json").read_text())
    for name in (ENCODER, DECODER):
        shutil.copyfile(fb / name, fa / name)
        marker["files"][name] = sha256((fa / name).read_bytes())
    (fa / "verified.json").write_text(json.dumps(marker))

    del load_calls[:]
    codec = open_model(a)
    assert len(load_calls) == 1, "the swapped graphs were trusted: the model did not open on torch"
    got = codec.decode(z)
    assert _close(got, want_a) and not _close(got, want_b)
    assert _close(got, _torch_faces(a, z))


def test_a_cache_copied_from_another_installation_is_checked_again(tmp_path, cache, load_calls, monkeypatch):
    from engine.formats import open_model

    folder = _save_tiny(tmp_path / "m", seed=2)
    z = _z()
    want = open_model(folder).decode(z)
    monkeypatch.setenv("LFS_CONFIG_DIR", str(tmp_path / "another-installation"))  # another key, same cache
    del load_calls[:]
    assert _close(open_model(folder).decode(z), want)
    assert len(load_calls) == 1
    del load_calls[:]  # sealed again under this installation's key: fast from now on
    assert _close(open_model(folder).decode(z), want) and not load_calls


def test_a_key_that_others_can_read_is_not_used(tmp_path, cache, load_calls):
    from engine.formats import fast_path_seal
    from engine.formats import open_model

    folder = _save_tiny(tmp_path / "m", seed=3)
    z = _z()
    want = open_model(folder).decode(z)
    key = fast_path_seal.config_dir() / fast_path_seal.KEY_NAME
    assert key.stat().st_mode & 0o777 == 0o600
    os.chmod(key, 0o644)
    del load_calls[:]
    assert _close(open_model(folder).decode(z), want)
    assert len(load_calls) == 1


def test_a_marker_from_before_the_seal_is_checked_again(tmp_path, cache, load_calls):
    from engine.formats import open_model

    folder = _save_tiny(tmp_path / "m", seed=4)
    z = _z()
    want = open_model(folder).decode(z)
    marker_path = _folder_of(cache, "sealtest0001") / "verified.json"
    marker = json.loads(marker_path.read_text())
    del marker["seal"]
    marker["version"] = 1
    marker_path.write_text(json.dumps(marker))
    del load_calls[:]
    assert _close(open_model(folder).decode(z), want)
    assert len(load_calls) == 1


def test_info_says_which_engine_runs_the_model_and_from_where(tmp_path, cache):
    folder = _save_tiny(tmp_path / "m", seed=5)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def info() -> str:
        res = subprocess.run([sys.executable, str(ROOT / "main.py"), "info", "--model", str(folder)], env=env,
                             capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, res.stderr
        (row,) = [line for line in res.stdout.splitlines() if line.startswith("runs on")]
        return row

    first = info()
    assert "torch" in first and "first use" in first
    from engine.formats import open_model

    open_model(folder).decode(_z())  # verifies and seals the export
    second = info()
    assert "ONNX Runtime" in second and str(_folder_of(cache, "sealtest0001")) in second


# ------------------------------------------------------------------------------------------------
# A model writer re-checks under its lock that the folder is still new (issue 22, item 4: an import and an export
# into the same new folder, started a second apart, both exited 0 and one model silently replaced the other).


def test_export_into_a_folder_filled_since_its_check_is_refused_and_keeps_the_other_model(tiny_model, tmp_path,
                                                                                         monkeypatch):
    from engine.errors import EngineError
    from engine.formats import fast_path
    from engine.workflows import export_model as ex

    out = tmp_path / "new-model"
    real = fast_path.native_onnx_pair

    def the_other_writer_lands_meanwhile(module):
        pair = real(module)
        out.mkdir()
        (out / "config.json").write_text('{"written": "by the other import"}')
        return pair

    monkeypatch.setattr(fast_path, "native_onnx_pair", the_other_writer_lands_meanwhile)
    with pytest.raises(EngineError, match=r"is not empty \(config\.json\).*nothing was written"):
        ex.export_model(tiny_model, out)
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["config.json"]
    assert json.loads((out / "config.json").read_text()) == {"written": "by the other import"}
    assert not [p for p in out.iterdir() if p.name.startswith(".importing-")]


def test_train_into_a_folder_filled_since_its_check_is_refused_before_writing(face_folder, tmp_path, monkeypatch):
    from engine import training
    from engine.autoencoder import ArchitectureConfig
    from engine.errors import EngineError
    from engine.workflows.train import train_model

    out = tmp_path / "new-model"
    real = training._check_options

    def another_writer_lands_meanwhile(options):
        real(options)
        out.mkdir()
        (out / "photo.jpg").write_bytes(b"the user's")

    monkeypatch.setattr(training, "_check_options", another_writer_lands_meanwhile)
    with pytest.raises(EngineError):
        train_model(face_folder, out, ArchitectureConfig(**TINY_ARCH), training.TrainOptions(epochs=1, batch_size=4))
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["photo.jpg"]
    assert (out / "photo.jpg").read_bytes() == b"the user's"
