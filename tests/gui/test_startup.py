"""Start-up: the window first, the faces next, the plot panels last — and nothing they show differs from a window
built all at once."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QLabel

ROOT = Path(__file__).resolve().parents[2]


def test_the_window_comes_before_the_plot_panels_which_catch_up(make_window, qtbot, tiny_model):
    from gui.main_window import LATE_PANELS

    w = make_window(tiny_model)
    assert not w.panels_ready()
    # the first faces need only the sampler and the grid; every other dock holds a placeholder meanwhile
    assert w.docks["faceGridDock"].widget() is w.face_grid
    assert w.docks["samplerDock"].widget() is w.sampler_panel
    for _attr, dock in LATE_PANELS:
        assert isinstance(w.docks[dock].widget(), QLabel), dock
    qtbot.waitUntil(lambda: w.panels_ready() and w.session.sample is not None and not w.bridge.busy(), timeout=60000)
    for attr, dock in LATE_PANELS:
        assert w.docks[dock].widget() is getattr(w, attr), dock
    assert w.late_panels_ms is not None and w.late_panels_ms > 0

    # the late panels show what a window built at once shows
    eager = make_window(tiny_model)
    eager.build_late_panels()
    assert eager.panels_ready()
    qtbot.waitUntil(lambda: eager.session.sample is not None and not eager.bridge.busy(), timeout=60000)
    s = w.session
    assert w.pair_plot._xy is not None and len(w.pair_plot._xy) == len(s.latents)
    np.testing.assert_array_equal(w.pair_plot._xy, eager.pair_plot._xy)
    assert w.inspector.title.text() == eager.inspector.title.text() and "#0" in w.inspector.title.text()
    np.testing.assert_array_equal(w.pca_panel.bars.opts["height"], eager.pca_panel.bars.opts["height"])
    assert w.correlations.image.image is not None
    assert w.correlations.image.image.shape == (s.model.z_dim, s.model.z_dim)


def test_using_a_late_panel_builds_every_panel_at_once(make_window, qtbot, tiny_model):
    w = make_window(tiny_model)
    assert not w.panels_ready()
    built = []
    w.panels_built.connect(lambda: built.append(1))
    plot = w.pair_plot  # e.g. a test, a menu action or a script that reaches for a panel early
    assert w.panels_ready() and built == [1]
    assert w.docks["pairPlotDock"].widget() is plot
    w.build_late_panels()  # once only
    assert built == [1]
    qtbot.waitUntil(lambda: w.session.sample is not None and not w.bridge.busy(), timeout=60000)
    assert w.pair_plot._xy is not None  # the model that arrived after the build is drawn as usual


def test_a_window_without_a_model_builds_its_panels_too(make_window, qtbot, tmp_path):
    w = make_window(tmp_path / "no-such-model")
    qtbot.waitUntil(w.panels_ready, timeout=10000)  # the failed open leaves the worker idle: the panels follow
    assert w.session.model is None and w.last_error


def test_the_pair_plot_draws_a_cloud_once_per_axes(window, qtbot):
    w = window
    redraws = []
    w.pair_plot.redrawn.connect(redraws.append)
    w.session.replay()  # the same model, statistics and axes again: nothing to recompute
    assert redraws == []
    w.session.set_axes(("pca", 2), ("z", 1))  # both axes at once: one redraw, not one per half-set picker
    assert len(redraws) == 1
    assert w.pair_plot.x_pick.axis() == ("pca", 2) and w.pair_plot.y_pick.axis() == ("z", 1)
    w.pair_plot.x_pick.set_axis(("z", 3))  # set from code: no half-set axis is emitted to the session
    assert w.session.axes == (("pca", 2), ("z", 1)) and len(redraws) == 1


STAGE_ONE = r"""
import pathlib, sys
sys.path.insert(0, ROOT)
from gui.app import make_app
app = make_app()
from PySide6.QtCore import QSettings
from gui.main_window import MainWindow
w = MainWindow(model_dir=pathlib.Path(SETTINGS).parent / "no-model", settings=QSettings(SETTINGS, QSettings.Format.IniFormat), restore_state=False,
               auto_generate=False)
w.show()
app.processEvents()
print("HEAVY", [m for m in ("pyqtgraph", "torch", "scipy.stats", "sklearn", "matplotlib") if m in sys.modules])
w._closing = True
w.bridge.shutdown()
"""


def test_the_first_window_imports_no_plotting_or_torch(tmp_path):
    """The window at once: what is on screen before the first faces needs neither pyqtgraph nor torch."""
    code = f"ROOT = {str(ROOT)!r}\nSETTINGS = {str(tmp_path / 's.ini')!r}\n" + STAGE_ONE
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "LFS_CACHE_DIR": str(tmp_path / "cache")}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    line = next((ln for ln in res.stdout.splitlines() if ln.startswith("HEAVY ")), None)
    assert line is not None, res.stderr[-2000:]
    assert line == "HEAVY []"


def test_the_late_build_goes_step_by_step_and_any_use_finishes_it(make_window, qtbot, tiny_model):
    """One panel per turn of the event loop: the window answers between two panels; a panel asked for in the
    middle of it finishes the build at once (the same panels, not a second set)."""
    w = make_window(tiny_model)
    w._late_scheduled = True  # the window's own triggers are held back: this test steps by hand
    qtbot.waitUntil(lambda: w.session.sample is not None and not w.bridge.busy(), timeout=60000)
    w._late_steps = w._late_build_steps()
    next(w._late_steps)  # pyqtgraph
    next(w._late_steps)  # the first panel
    assert not w.panels_ready() and isinstance(w.docks["pairPlotDock"].widget(), QLabel)
    ticks = []
    from PySide6.QtCore import QTimer

    QTimer.singleShot(0, lambda: ticks.append(1))
    qtbot.wait(20)
    assert ticks == [1]  # the event loop ran between two steps
    inspector = w.inspector  # asked for in the middle: the rest is built now
    assert w.panels_ready() and w.docks["inspectorDock"].widget() is inspector
    assert "#0" in inspector.title.text()  # and brought up to the session's state
    assert next(w._late_steps, "done") == "done"


FIRST_FACES = r"""
import pathlib, sys, time
sys.path.insert(0, ROOT)
from gui.app import make_app
app = make_app()
from PySide6.QtCore import QSettings, QTimer
import gui.main_window as mw
mw.TORCH_PRELOAD_IDLE_MS = 200
w = mw.MainWindow(model_dir=pathlib.Path(MODEL), settings=QSettings(SETTINGS, QSettings.Format.IniFormat),
                  restore_state=False)
seen = {}
w.sample_ready.connect(lambda: seen.setdefault("torch at first grid", "torch" in sys.modules))
w.show()
end = time.monotonic() + 60
while time.monotonic() < end and not ("torch" in sys.modules and w.panels_ready() and not w.bridge.busy()):
    app.processEvents()
    time.sleep(0.01)
print("RESULT", seen.get("torch at first grid"), "torch" in sys.modules, w.panels_ready(), w.last_error)
w._closing = True
w.bridge.shutdown()
"""


def test_the_first_faces_come_without_torch_which_loads_afterwards(tmp_path, tiny_model):
    """A warm start (the model's export verified in the cache by an earlier launch): no torch before the first
    grid; torch is loaded once the window is complete and idle."""
    code = (f"ROOT = {str(ROOT)!r}\nMODEL = {str(tiny_model)!r}\nSETTINGS = {str(tmp_path / 's.ini')!r}\n"
            + FIRST_FACES)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "LFS_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("LFS_ONNX_RUNTIME", None)
    results = []
    for _launch in range(2):  # the first launch exports and verifies (torch), the second one is the warm start
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=180)
        line = next((ln for ln in res.stdout.splitlines() if ln.startswith("RESULT ")), None)
        assert line is not None, res.stderr[-2000:]
        results.append(line)
    assert results[0] == "RESULT True True True None"
    assert results[1] == "RESULT False True True None"
