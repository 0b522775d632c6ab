"""Shared fixtures: tiny synthetic face-like images and a tiny trained model, made on the fly."""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Optional

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Tiny test models gain nothing from several threads, and on a shared 2-core machine thread pools spin
# against each other; subprocesses started by tests inherit the setting through the environment.
os.environ.setdefault("OMP_NUM_THREADS", os.environ.get("LFS_TEST_THREADS", "1"))
os.environ.setdefault("MKL_NUM_THREADS", os.environ["OMP_NUM_THREADS"])
# The user's cache (decoded images, statistics, verified ONNX exports …) is never written by the tests, not even by
# session fixtures, which are set up before the per-test fixture below: one private cache for the whole run.
_RUN_CACHE = tempfile.mkdtemp(prefix="lfs-test-cache-")
os.environ["LFS_CACHE_DIR"] = _RUN_CACHE
# The same for the user's config folder (the fast path's installation key, engine/fast_path_seal.py).
os.environ["LFS_CONFIG_DIR"] = os.path.join(_RUN_CACHE, "config")


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_RUN_CACHE, ignore_errors=True)
    if os.environ.get("LFS_TEST_TIMES"):  # (the hooks at the end of this file)
        import json

        Path(os.environ["LFS_TEST_TIMES"]).write_text(json.dumps(
            {"columns": ["test", "phase", "wall_s", "cpu_s", "subprocess_cpu_s"], "rows": _TIMES}))

TINY_ARCH = dict(image_size=32, channels=(8, 16, 16, 32), z_dim=8)

_ROOT_CONFTEST = sys.modules[__name__]


def pytest_collect_file(file_path, parent):
    """tests/gui/conftest.py also registers as the module "conftest"; test modules import helpers
    from this one (``from conftest import write_faces``), so it is put back before each is imported."""
    sys.modules["conftest"] = _ROOT_CONFTEST


def synthetic_face(rng: np.random.Generator, size: int = 48) -> np.ndarray:
    """A smooth 'face': a coloured ellipse with two dark eyes on a coloured background."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    bg = rng.uniform(0, 255, 3)
    skin = rng.uniform(120, 240, 3)
    cx, cy = 0.5 + rng.normal(0, 0.04), 0.5 + rng.normal(0, 0.04)
    rx, ry = rng.uniform(0.22, 0.32), rng.uniform(0.3, 0.4)
    face = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 < 1
    img = np.where(face[..., None], skin, bg)
    for ex in (cx - rx * 0.4, cx + rx * 0.4):
        eye = ((xx - ex) ** 2 + (yy - cy + ry * 0.2) ** 2) < (0.03 + rng.uniform(0, 0.02)) ** 2
        img[eye] = rng.uniform(0, 60, 3)
    return img.clip(0, 255).astype(np.uint8)


def write_faces(folder: Path, n: int, seed: int = 0, size: int = 48, fmt: str = "png") -> list[Path]:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        p = folder / f"{i + 1:06d}.{fmt}"
        Image.fromarray(synthetic_face(rng, size)).save(p)
        paths.append(p)
    return paths


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("LFS_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "image-cache"))


@pytest.fixture
def face_folder(tmp_path) -> Path:
    folder = tmp_path / "faces"
    write_faces(folder, 24)
    return folder


def copy_network(model: Path, dst: Path, z: Optional[np.ndarray] = None) -> Path:
    """``model``'s network (config and weights) in the new folder ``dst``; with ``z``, also those z-points (in their
    dtype), named ``000000.jpg`` …"""
    from engine.formats import native as model_store

    dst.mkdir()
    for f in ("config.json", "weights.safetensors"):
        shutil.copy2(model / f, dst / f)
    if z is not None:
        np.save(dst / model_store.LATENTS, z)
        (dst / model_store.LATENT_FILES).write_bytes(b"".join(b"%06d.jpg\n" % i for i in range(len(z))))
    return dst


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A tiny model trained for a few epochs on synthetic faces, with latents encoded."""
    from engine.autoencoder import ArchitectureConfig
    from engine.encoding import encode_dataset
    from engine.image_data import Preprocess, load_folder
    from engine.training import TrainOptions, train

    base = tmp_path_factory.mktemp("tiny")
    data_dir = base / "faces"
    write_faces(data_dir, 96, seed=1)
    pre = Preprocess(image_size=32, reference_size=(48, 48), crop_box=(0, 0, 48, 48))
    ds = load_folder(data_dir, pre, cache=False)
    out = base / "model"
    train(ds, out, ArchitectureConfig(**TINY_ARCH), TrainOptions(epochs=8, batch_size=8, learning_rate=3e-3, seed=0, val_count=8))
    encode_dataset(out, ds)
    return out


@pytest.fixture(scope="session")
def tiny_data(tiny_model) -> Path:
    return tiny_model.parent / "faces"


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """A private cache (and config folder, for the fast path's key) for one test, with the fast path on."""
    monkeypatch.setenv("LFS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("LFS_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("LFS_ONNX_RUNTIME", raising=False)
    return tmp_path / "cache"


@pytest.fixture
def load_calls(monkeypatch) -> list:
    """Every ``native.weights.load_model`` call (the torch path of an open, or a lazy module load)."""
    from engine.formats.native import weights

    calls, real = [], weights.load_model
    monkeypatch.setattr(weights, "load_model", lambda *a, **k: calls.append(a) or real(*a, **k))
    return calls


def cli(argv, capsys) -> tuple[int, str, str]:
    """Run the CLI in this process on ``argv``: (exit status, stdout, stderr)."""
    import main

    try:
        rc = main.run([str(a) for a in argv])
    except SystemExit as exc:  # argparse errors
        rc = exc.code
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture(scope="module")
def labelled_model(tiny_model, tmp_path_factory):
    """The tiny model with a labels.csv: "Left" = the sign of the first z component."""
    model = tmp_path_factory.mktemp("labelled") / "model"
    shutil.copytree(tiny_model, model, ignore=shutil.ignore_patterns(".*", "labels.csv"))
    files = (model / "latents_files.txt").read_text().split("\n")[:-1]
    z = np.load(model / "latents.npy", allow_pickle=False)
    (model / "labels.csv").write_text("file,Left\n" + "".join(f"{n},{1 if z[i, 0] > 0 else -1}\n"
                                                               for i, n in enumerate(files)))
    return model



# ---- where the suite's time goes: LFS_TEST_TIMES=FILE.json writes, per test and phase (setup, call, teardown),
# its wall seconds, its own CPU seconds and its subprocesses' CPU seconds (the CPU figures hold on a busy machine).
_TIMES: list = []


def _clock() -> tuple:
    import resource
    import time

    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.perf_counter(), time.process_time(), kids.ru_utime + kids.ru_stime


def _timed(item, phase):
    before = _clock() if os.environ.get("LFS_TEST_TIMES") else None
    yield
    if before is not None:
        _TIMES.append([item.nodeid, phase, *(round(b - a, 4) for a, b in zip(before, _clock()))])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    yield from _timed(item, "setup")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    yield from _timed(item, "call")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item):
    yield from _timed(item, "teardown")
