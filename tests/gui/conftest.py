"""GUI fixtures: a main window on the tiny model with private settings, closed cleanly."""
from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")


@pytest.fixture
def gui_settings(tmp_path):
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def make_window(qtbot, gui_settings):
    from gui.main_window import MainWindow

    made = []

    def make(model_dir, **kw):
        kw.setdefault("settings", gui_settings)
        kw.setdefault("restore_state", False)
        w = MainWindow(model_dir=model_dir, **kw)
        made.append(w)
        w.resize(1400, 900)
        w.show()
        return w

    yield make
    for w in made:
        w.close()
        assert not w.bridge.is_running(), "the engine worker thread outlived its window"
        w.deleteLater()
    qtbot.wait(5)
    import gc

    gc.collect()  # the closed windows' garbage goes now, while no worker runs, not in the next test's middle
    # What survived (modules, session fixtures, caches) is set aside from later collections: a full collection
    # scanned it all again after every window (0.5 s of CPU each, ~100 s over the GUI tests), and only what a
    # test makes can become its garbage.
    gc.freeze()


@pytest.fixture
def window(make_window, qtbot, tiny_model):
    """The window on the tiny model after its first grid (32 faces) has been generated and every panel is built."""
    w = make_window(tiny_model)
    qtbot.waitUntil(lambda: w.panels_ready() and not w.bridge.busy(), timeout=60000)
    assert w.session.sample is not None, w.last_error
    return w


@pytest.fixture(scope="session")
def other_model(tmp_path_factory):
    """A second tiny model: another z_dim (6), seed and data, with its z-points encoded."""
    from conftest import TINY_ARCH, write_faces
    from engine.autoencoder import ArchitectureConfig
    from engine.encoding import encode_dataset
    from engine.image_data import Preprocess, load_folder
    from engine.training import TrainOptions, train

    base = tmp_path_factory.mktemp("other")
    write_faces(base / "faces", 40, seed=7)
    ds = load_folder(base / "faces", Preprocess(image_size=32, reference_size=(48, 48), crop_box=(0, 0, 48, 48)),
                     cache=False)
    arch = ArchitectureConfig(**{**TINY_ARCH, "z_dim": 6})
    train(ds, base / "model", arch, TrainOptions(epochs=2, batch_size=8, learning_rate=3e-3, seed=3, val_count=8))
    encode_dataset(base / "model", ds)
    return base / "model"
