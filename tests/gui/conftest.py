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


@pytest.fixture
def window(make_window, qtbot, tiny_model):
    """The window on the tiny model after its first grid (32 faces) has been generated and every panel is built."""
    w = make_window(tiny_model)
    qtbot.waitUntil(lambda: w.panels_ready() and not w.bridge.busy(), timeout=60000)
    assert w.session.sample is not None, w.last_error
    return w
