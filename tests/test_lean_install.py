"""The lean install: without torch (and imageio-ffmpeg) the app views, explores, generates, places photos, finds
directions and writes reports; training, Keras import, export and MP4 say in one line what to install. The viewer
install (requirements-viewer.txt, the viewer bundle) has no OpenCV either: the same, and ``evaluate``'s face rate.

Each command runs in a subprocess whose ``sitecustomize`` puts a finder first on ``sys.meta_path`` that refuses
``torch`` and ``imageio_ffmpeg`` (as an install without the extras ``train``, ``keras`` and ``movie`` would; with
``cv2`` too, without ``haar``), with a fresh cache and config folder, so the default model opens on its shipped ONNX
export only.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow  # a dozen subprocesses: ~1 min on 2 shared cores

BLOCKER = '''
import sys
BLOCKED = {blocked!r}
class _Blocker:
    """An install without these packages: importing one fails as a missing module does."""
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, _Blocker())
'''
BLOCKED = ("torch", "imageio_ffmpeg")
DEFAULT_MODEL = ROOT / "resources" / "models" / "celeba64-z256"
needs_default = pytest.mark.skipif(not (DEFAULT_MODEL / "fast_path.json").is_file(),
                                   reason="the default model with its shipped fast path is not in the source tree")


VIEWER_BLOCKED = BLOCKED + ("cv2",)  # the base install: no extra at all


def _blocked_env(base: Path, blocked: tuple) -> dict:
    (base / "block").mkdir()
    (base / "block" / "sitecustomize.py").write_text(BLOCKER.format(blocked=blocked))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LFS_RESOURCES")}
    env.update(PYTHONPATH=str(base / "block"), HOME=str(base / "home"), LFS_CACHE_DIR=str(base / "cache"),
               LFS_CONFIG_DIR=str(base / "config"), QT_QPA_PLATFORM="offscreen")
    env.pop("LFS_DEBUG", None)
    return env


@pytest.fixture(scope="module")
def lean(tmp_path_factory):
    """(environment, working folder) of a lean run: torch and imageio-ffmpeg cannot be imported."""
    base = tmp_path_factory.mktemp("lean")
    return _blocked_env(base, BLOCKED), base


@pytest.fixture(scope="module")
def viewer(tmp_path_factory):
    """(environment, working folder) of the viewer install: torch, imageio-ffmpeg and OpenCV cannot be imported."""
    base = tmp_path_factory.mktemp("viewer")
    return _blocked_env(base, VIEWER_BLOCKED), base


def _main(lean, *args, timeout=300) -> subprocess.CompletedProcess:
    env, base = lean
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=base, env=env)


def _one_line_install(proc, feature: str, extra: str) -> None:
    """Exit 2 and one line on stderr naming the feature and the extra to install; no traceback."""
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert feature in lines[0] and f'pip install "latent-face-studio[{extra}]"' in lines[0], lines[0]


def test_the_blocker_blocks(viewer):
    env, base = viewer
    code = "import importlib\nfor m in ('torch', 'imageio_ffmpeg', 'cv2', 'numpy'):\n    try:\n" \
           "        importlib.import_module(m)\n    except ImportError:\n        print(m, 'missing')\n"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=base, timeout=60)
    assert proc.stdout.splitlines() == ["torch missing", "imageio_ffmpeg missing", "cv2 missing"], proc.stderr


@needs_default
def test_evaluate_face_rate_report_without_opencv(viewer, tmp_path):
    """evaluate's face rate (MTCNN on ONNX Runtime) and a report need no OpenCV: the reconstructions row is decoded
    and detected even without the training images."""
    proc = _main(viewer, "evaluate", "--n", "8", "--samplers", "uniform,pca-ellipse", "--out", tmp_path / "ev.json")
    assert proc.returncode == 0, proc.stderr
    rows = {r["name"]: r for r in json.loads((tmp_path / "ev.json").read_text())["rows"]}
    assert rows["reconstructions"]["face_rate"] >= 0.9 and rows["pca-ellipse"]["face_rate"] >= 0.75, rows
    assert rows["uniform"]["face_rate"] <= 0.25, rows  # noise-like faces: no face
    proc = _main(viewer, "report", "--out", tmp_path / "report", "--parts", "statistics,faces", "--samplers", "uniform")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "report" / "report.html").stat().st_size > 1000


@needs_default
def test_open_generate_photo_without_opencv(viewer, tmp_path):
    """The viewer install (no torch, no OpenCV) opens the default model, generates and places a photo."""
    proc = _main(viewer, "generate", "--n", "4", "--seed", "3", "--out", tmp_path / "set")
    assert proc.returncode == 0, proc.stderr
    assert np.load(tmp_path / "set" / "z.npy").shape == (4, 256)
    proc = _main(viewer, "photo", "--photo", _portrait(tmp_path), "--out", tmp_path / "photo")
    assert proc.returncode == 0, proc.stderr
    assert "placed 1 face(s)" in proc.stdout, proc.stdout


@needs_default
def test_open_generate_photo_directions_report_without_torch(lean, tmp_path):
    env, base = lean
    proc = _main(lean, "info")
    assert proc.returncode == 0, proc.stderr
    assert "ONNX Runtime" in proc.stdout and "shipped with the model" in proc.stdout

    proc = _main(lean, "generate", "--n", "8", "--seed", "3", "--out", tmp_path / "set")
    assert proc.returncode == 0, proc.stderr
    z = np.load(tmp_path / "set" / "z.npy")
    assert z.shape == (8, 256) and np.isfinite(z).all()
    grid = np.asarray(Image.open(tmp_path / "set" / "grid.png"))
    assert grid.std() > 10  # faces, not a flat image

    photo = _portrait(tmp_path)
    proc = _main(lean, "photo", "--photo", photo, "--out", tmp_path / "photo")
    assert proc.returncode == 0, proc.stderr
    listed = json.loads((tmp_path / "photo" / "photos.json").read_text())
    assert "placed 1 face(s)" in proc.stdout, (proc.stdout, listed)

    proc = _main(lean, "directions", "--method", "pca", "--k", "3", "--out", tmp_path / "dirs")
    assert proc.returncode == 0, proc.stderr
    assert np.load(tmp_path / "dirs.npy").shape == (3, 256)
    assert "no feature-space column" not in proc.stdout + proc.stderr  # the feature encoder runs on its shipped export

    proc = _main(lean, "report", "--out", tmp_path / "report", "--parts", "statistics,faces", "--samplers", "uniform")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "report" / "report.html").stat().st_size > 1000

    proc = _main(lean, "movie", "--axis", "PC1", "--frames", "4", "--size", "64", "--out", tmp_path / "m.gif")
    assert proc.returncode == 0, proc.stderr
    with Image.open(tmp_path / "m.gif") as im:
        assert im.n_frames == 4


def _portrait(tmp_path: Path) -> Path:
    """A real face: scikit-image's astronaut (public domain)."""
    skdata = pytest.importorskip("skimage.data")
    path = tmp_path / "astronaut.png"
    Image.fromarray(skdata.astronaut()).save(path)
    return path


@needs_default
def test_train_import_export_mp4_say_what_to_install(lean, tmp_path):
    from conftest import write_faces

    write_faces(tmp_path / "faces", 6)
    _one_line_install(_main(lean, "train", "--data", tmp_path / "faces", "--out", tmp_path / "m", "--epochs", "1"),
                      "training", "train")
    assert not (tmp_path / "m").exists()
    _one_line_install(_main(lean, "export", "--out", tmp_path / "exported"), "export", "train")
    keras_file = tmp_path / "model.keras"  # a zip: Keras' own format; refused for torch before anything is read
    keras_file.write_bytes(b"PK\x03\x04" + bytes(200))
    _one_line_install(_main(lean, "import", "--model-file", keras_file, "--out", tmp_path / "imported"),
                      "Keras import", "keras")
    _one_line_install(_main(lean, "movie", "--axis", "PC1", "--frames", "4", "--size", "64", "--out",
                            tmp_path / "m.mp4"), "MP4", "movie")
    assert not (tmp_path / "m.mp4").exists()


GUI_CHILD = r"""
import json, sys, time
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from gui.app import make_app
from gui.main_window import MainWindow, TORCH_PRELOAD_IDLE_MS

app = make_app()
w = MainWindow(settings=QSettings(sys.argv[1], QSettings.Format.IniFormat), restore_state=False)
w.resize(1280, 720)
w.show()
t0 = time.monotonic()
while not (w.panels_ready() and w.session.sample is not None and not w.bridge.busy()) and time.monotonic() - t0 < 150:
    app.processEvents()
    time.sleep(0.01)
end = time.monotonic() + TORCH_PRELOAD_IDLE_MS / 1000 + 2.0  # past the torch preload
while time.monotonic() < end:
    app.processEvents()
    time.sleep(0.01)
images = w.session.sample.images if w.session.sample is not None else None
w.window_actions.show_train_dialog()
app.processEvents()
d = w.train_dialog
out = {"faces": None if images is None else list(images.shape), "std": None if images is None else float(images.std()),
       "torch_asked": w._torch_asked, "torch_loaded": "torch" in sys.modules, "last_error": w.last_error,
       "busy": w.bridge.busy(), "train_status": d.status.text(), "train_start": d.start_btn.isEnabled()}
d.close()
w.close()
print("RESULT " + json.dumps(out))
"""


@needs_default
def test_gui_shows_faces_without_torch_and_the_train_dialog_says_what_to_install(lean, tmp_path):
    env, base = lean
    proc = subprocess.run([sys.executable, "-c", GUI_CHILD, str(tmp_path / "settings.ini")], capture_output=True,
                          text=True, timeout=300, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    res = json.loads(proc.stdout.split("RESULT ", 1)[1])
    assert res["faces"][1:] == [64, 64, 3] and res["faces"][0] >= 16 and res["std"] > 10, res
    assert res["torch_asked"] and not res["torch_loaded"] and res["last_error"] is None, res
    assert not res["train_start"], res
    assert "training needs torch" in res["train_status"] and "latent-face-studio[train]" in res["train_status"], res


def test_missing_extra_is_one_line_and_names_the_extra():
    from engine.errors import EXTRAS, EngineError, MissingExtra, extra_missing, import_extra

    err = MissingExtra(feature="training", package="torch", extra="train")
    assert isinstance(err, EngineError) and (err.feature, err.package, err.extra) == ("training", "torch", "train")
    assert "\n" not in str(err) and 'pip install "latent-face-studio[train]"' in str(err)
    import pickle

    assert str(pickle.loads(pickle.dumps(err))) == str(err)
    with pytest.raises(MissingExtra, match=r"MP4 needs no-such-module-lfs.*\[movie\]"):
        import_extra("no_such_module_lfs", feature="MP4", extra="movie")
    assert extra_missing("numpy") is None and extra_missing("no_such_module_lfs").extra == "train"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert set(EXTRAS) == set(project["optional-dependencies"]) - {"all", "test", "build", "umap"}


def test_missing_extra_in_a_bundle_points_at_the_full_bundle(monkeypatch):
    from engine.errors import MissingExtra

    monkeypatch.setattr(sys, "frozen", True, raising=False)
    text = str(MissingExtra(feature="training", package="torch", extra="train"))
    assert "viewer bundle" in text and "pip" not in text
