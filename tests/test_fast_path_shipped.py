"""The default model's shipped fast path (engine/formats/fast_path_shipped.py): the first launch opens and decodes on
ONNX Runtime without torch and without writing the user's cache; anything that is not exactly the packaged files
for exactly these weights is not trusted (the model then takes the user-model path: cache or torch); a model that
needs its one-time preparation says so in a progress step."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from engine.formats import fast_path_shipped as shipped  # noqa: E402
from engine.formats.native import read_config  # noqa: E402
from engine.formats.native.weights import network_key  # noqa: E402
from engine.resources import SHIPPED_FAST_PATHS, default_model_dir  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = default_model_dir()
pytestmark = pytest.mark.skipif(not (DEFAULT / shipped.MANIFEST).is_file(), reason="no shipped fast path")

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np
from engine.workflows.open_model import open_model
from engine.resources import default_model_dir
steps = []
opened = open_model(default_model_dir(), statistics=True, prepare=True,
                    progress=lambda p: steps.append(f"{p.job}: {p.message}"))
faces = opened.codec.decode(np.zeros((4, opened.z_dim), np.float32))
print(json.dumps({"torch": "torch" in sys.modules, "shape": list(faces.shape), "steps": steps,
                  "runs_on": dict(opened.describe())["runs on"], "seconds": time.perf_counter() - t0}))
"""


def _copy_default(dst: Path) -> Path:
    shutil.copytree(DEFAULT, dst)
    return dst


def _arch(folder: Path):
    return read_config(folder).arch


def _key(folder: Path) -> str:
    return network_key(folder, read_config(folder))


def test_the_pinned_hash_is_the_shipped_manifest_and_its_files():
    raw = (DEFAULT / shipped.MANIFEST).read_bytes()
    assert hashlib.sha256(raw).hexdigest() in SHIPPED_FAST_PATHS
    manifest = json.loads(raw)
    assert manifest["network_key"] == _key(DEFAULT)
    for name in shipped.SHIPPED_FILES:
        assert hashlib.sha256((DEFAULT / name).read_bytes()).hexdigest() == manifest["files"][name], name
    for name, digest in manifest["caches"].items():
        assert hashlib.sha256((DEFAULT / "caches" / name).read_bytes()).hexdigest() == digest, name


def test_the_default_model_opens_without_torch_on_a_fresh_cache(tmp_path):
    env = {**os.environ, "LFS_CACHE_DIR": str(tmp_path / "cache"), "LFS_CONFIG_DIR": str(tmp_path / "config"),
           "PYTHONPATH": str(ROOT)}
    env.pop("LFS_ONNX_RUNTIME", None)
    res = subprocess.run([sys.executable, "-c", CHILD], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["torch"] is False
    assert out["shape"] == [4, 64, 64, 3]
    assert not [s for s in out["steps"] if s.startswith("prepare model")]  # nothing to prepare: no notice
    assert out["steps"] == ["latent statistics: from cache"]  # shipped too
    assert "shipped with the model" in out["runs_on"]
    assert not (tmp_path / "cache").exists()  # the user's cache is not even made
    assert not (tmp_path / "config").exists()  # no installation key is needed either


def test_the_shipped_path_decodes_as_torch_does(tmp_path):
    import torch

    from engine.autoencoder import tensor_to_images
    from engine.formats.native import load_model

    fast = shipped.shipped_fast_path(DEFAULT, _key(DEFAULT), _arch(DEFAULT))
    assert fast is not None
    z = np.random.default_rng(5).standard_normal((8, 256)).astype(np.float32)
    module, _ = load_model(DEFAULT)
    with torch.no_grad():
        want = module.decode(torch.from_numpy(z)).numpy()
        x = torch.rand((3, 3, 64, 64), generator=torch.Generator().manual_seed(2))
        zt = module.encode(x).numpy()
    assert np.abs(fast.decode(z) - want).max() < 1e-4
    assert np.abs(fast.encode(x.numpy()) - zt).max() < 1e-4
    assert tensor_to_images(torch.from_numpy(want)).shape == (8, 64, 64, 3)


def _flip_byte(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["encoder byte", "decoder truncated", "probe byte", "manifest edited",
                                    "manifest rewritten to match", "other weights", "probe missing"])
def test_anything_but_the_packaged_files_is_not_trusted(tmp_path, damage):
    folder = _copy_default(tmp_path / "model")
    key = _key(folder)
    assert shipped.shipped_fast_path(folder, key, _arch(folder)) is not None  # a copy of our files is ours
    if damage == "encoder byte":
        _flip_byte(folder / shipped.ENCODER_FILE, 5000)
    elif damage == "decoder truncated":
        data = (folder / shipped.DECODER_FILE).read_bytes()
        (folder / shipped.DECODER_FILE).write_bytes(data[: len(data) // 2])
    elif damage == "probe byte":
        _flip_byte(folder / shipped.PROBE_FILE, 3000)
    elif damage == "manifest edited":
        (folder / shipped.MANIFEST).write_text((folder / shipped.MANIFEST).read_text() + " ")
    elif damage == "manifest rewritten to match":  # a planted graph with a manifest naming its hash
        _flip_byte(folder / shipped.ENCODER_FILE, 5000)
        m = json.loads((folder / shipped.MANIFEST).read_text())
        m["files"][shipped.ENCODER_FILE] = hashlib.sha256((folder / shipped.ENCODER_FILE).read_bytes()).hexdigest()
        (folder / shipped.MANIFEST).write_text(json.dumps(m, indent=2) + "\n")
    elif damage == "other weights":
        _flip_byte(folder / "weights.safetensors", (folder / "weights.safetensors").stat().st_size - 10)
        key = _key(folder)
    elif damage == "probe missing":
        (folder / shipped.PROBE_FILE).unlink()
    assert shipped.shipped_fast_path(folder, key, _arch(folder)) is None


def test_a_damaged_shipped_export_opens_the_user_model_way(tmp_path, cache):
    """A folder whose shipped files are not ours opens as any model: torch, its export checked and cached."""
    from engine.workflows.open_model import PREPARE_JOB, open_model

    folder = _copy_default(tmp_path / "model")
    _flip_byte(folder / shipped.DECODER_FILE, 4000)
    steps = []
    opened = open_model(folder, prepare=True, progress=steps.append)
    assert opened.codec.fast_source == "cache"
    notice = [p.message for p in steps if p.job == PREPARE_JOB]
    assert notice and notice[0].startswith("preparing this model for fast decoding (once, ~")
    assert opened.codec.fast_path() is not None
    again = []
    reopened = open_model(folder, prepare=True, progress=again.append)
    assert not [p for p in again if p.job == PREPARE_JOB]  # once: the next open finds the sealed cache
    assert reopened.codec._module is None  # opened without loading the network


def test_a_model_without_a_shipped_export_says_it_prepares(tmp_path, cache):
    from engine.workflows.open_model import PREPARE_JOB, open_model, preparation_estimate

    folder = _copy_default(tmp_path / "model")
    for name in (shipped.MANIFEST, *shipped.SHIPPED_FILES):
        (folder / name).unlink()
    steps = []
    opened = open_model(folder, prepare=False, progress=steps.append)
    est = preparation_estimate(opened.codec)
    assert est is not None and 1.0 < est < 10.0
    assert not steps  # without ``prepare`` nothing is said, nor done, at the open
    opened = open_model(folder, prepare=True, progress=steps.append)
    assert [p.done for p in steps if p.job == PREPARE_JOB] == [0, 1]
    assert preparation_estimate(opened.codec) is None


def test_the_default_models_attribute_judges_are_shipped(cache):
    from engine.workflows.estimates import expected_directions
    from engine.workflows.open_model import open_model
    from engine.lab import attribute_probes, probes_cached

    opened = open_model(DEFAULT)
    assert probes_cached(opened.latents, opened.labels)  # a fresh cache: read from the shipped file
    expected = expected_directions(opened.latents, opened.labels, "pca")
    assert not expected.first_time
    steps = []
    probes = attribute_probes(opened.latents, opened.labels, progress=steps.append)
    assert [p.message for p in steps] == ["from cache"] and len(probes.names) == 40
    assert not (cache / "directions").exists()


def test_an_edited_shipped_cache_file_is_not_trusted(cache, tmp_path, monkeypatch):
    from engine.formats.fast_path_shipped import SHIPPED_CACHES
    from engine.workflows.open_model import open_model
    from engine.lab import probes_cached

    res = tmp_path / "resources"
    shutil.copytree(DEFAULT.parent.parent, res)
    monkeypatch.setenv("LFS_RESOURCES", str(res))
    opened = open_model(res / "models" / DEFAULT.name)
    assert probes_cached(opened.latents, opened.labels)
    (judges,) = (res / "models" / DEFAULT.name / SHIPPED_CACHES).glob("probes-*.npz")
    _flip_byte(judges, judges.stat().st_size - 100)
    assert not probes_cached(opened.latents, opened.labels)
