"""The plot tools (gui/plot_tools.py): decode and path without modifier keys, the keys of the modes, the path's faces
all visible, the hover preview of a training face."""
from __future__ import annotations

import statistics
import time

import numpy as np
import pytest

pytest.importorskip("pytestqt")


def _idle(qtbot, w) -> None:
    qtbot.waitUntil(lambda: not w.bridge.busy(), timeout=60000)


def _widget_pos(plot, x: float, y: float):
    """The plot's viewport position (QPoint) of data point (x, y)."""
    import pyqtgraph as pg

    vb = plot.getPlotItem().getViewBox()
    return plot.mapFromScene(vb.mapViewToScene(pg.Point(float(x), float(y))))


def _mouse(plot, kind: str, pos, buttons=None) -> None:
    """A left-button press / move / release on the plot's viewport, with no modifier key."""
    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    t = {"press": QEvent.Type.MouseButtonPress, "move": QEvent.Type.MouseMove,
         "release": QEvent.Type.MouseButtonRelease}[kind]
    left = Qt.MouseButton.LeftButton
    button = Qt.MouseButton.NoButton if kind == "move" else left
    held = buttons if buttons is not None else (Qt.MouseButton.NoButton if kind == "release" else left)
    vp = plot.viewport()
    local = QPointF(pos)
    ev = QMouseEvent(t, local, QPointF(vp.mapToGlobal(pos)), button, held, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(vp, ev)


def _view_point(plot, fx: float, fy: float) -> tuple[float, float]:
    (x0, x1), (y0, y1) = plot.getPlotItem().getViewBox().viewRange()
    return x0 + fx * (x1 - x0), y0 + fy * (y1 - y0)


@pytest.fixture
def explore(window, qtbot):
    """The window in its "Explore the cloud" workspace: the pair plot and the Atlas panel on screen."""
    window.switch_workspace("explore")
    qtbot.wait(100)
    return window


def _key(qtbot, widget, key) -> None:
    from PySide6.QtCore import Qt

    widget.window().activateWindow()
    widget.setFocus(Qt.FocusReason.OtherFocusReason)
    qtbot.keyClick(widget, key)


def test_keys_and_buttons_switch_modes(explore, qtbot):
    window = explore
    from PySide6.QtCore import Qt

    from gui.plot_tools import PlotMode

    pp = window.pair_plot
    tools, bar = pp.tools, pp.tool_bar
    assert tools.mode is PlotMode.PAN and bar.buttons[PlotMode.PAN].isChecked()
    assert bar.buttons[PlotMode.SELECT].isVisible() and not bar.shape_buttons["lasso"].isVisible()  # shapes: in Select
    assert "D" in bar.buttons[PlotMode.DECODE].toolTip() and "Esc" in bar.buttons[PlotMode.PATH].toolTip()
    for key, mode, cursor in ((Qt.Key.Key_D, PlotMode.DECODE, Qt.CursorShape.CrossCursor),
                              (Qt.Key.Key_T, PlotMode.PATH, Qt.CursorShape.PointingHandCursor),
                              (Qt.Key.Key_Escape, PlotMode.PAN, Qt.CursorShape.ArrowCursor),
                              (Qt.Key.Key_D, PlotMode.DECODE, Qt.CursorShape.CrossCursor),
                              (Qt.Key.Key_P, PlotMode.PAN, Qt.CursorShape.ArrowCursor)):
        _key(qtbot, pp.plot, key)
        assert tools.mode is mode, key
        assert bar.buttons[mode].isChecked()
        assert pp.plot.viewport().cursor().shape() == cursor
    bar.buttons[PlotMode.PATH].click()
    assert tools.mode is PlotMode.PATH
    # the atlas panel offers pan, decode and select (no path)
    ap = window.atlas_panel
    assert ap.tools.modes == (PlotMode.PAN, PlotMode.DECODE, PlotMode.SELECT)
    assert not ap.tool_bar.buttons[PlotMode.PATH].isVisible()


def test_decode_mode_press_and_drag_without_modifiers(explore, qtbot):
    window = explore
    from engine.atlas import z_at
    from gui.plot_tools import PlotMode

    pp, s = window.pair_plot, window.session
    x, y = _view_point(pp.plot, 0.3, 0.6)
    # pan/zoom (the default): a plain press decodes nothing
    _mouse(pp.plot, "press", _widget_pos(pp.plot, x, y))
    _mouse(pp.plot, "release", _widget_pos(pp.plot, x, y))
    assert pp.probe is None
    pp.tool_bar.buttons[PlotMode.DECODE].click()
    before = pp.plot.getPlotItem().getViewBox().viewRange()
    _mouse(pp.plot, "press", _widget_pos(pp.plot, x, y))
    p = pp.probe
    assert p is not None and pp.probe_float.isVisible()
    tol = 0.02 * abs(before[0][1] - before[0][0])  # within a pixel or so of the pressed point
    np.testing.assert_allclose(p.xy, (x, y), atol=tol)
    np.testing.assert_array_equal(p.z, z_at(p.xy, pp.plane()))
    np.testing.assert_array_equal(p.image, s.model.codec.decode(p.z[None, :])[0])
    # a drag follows the pointer live, and does not pan the view
    seen = []
    for k in range(1, 8):
        xk, _ = _view_point(pp.plot, 0.3 + 0.05 * k, 0.6)
        _mouse(pp.plot, "move", _widget_pos(pp.plot, xk, y))
        seen.append(pp.probe.xy[0])
        np.testing.assert_allclose(pp.probe.xy[0], xk, atol=tol)
    _mouse(pp.plot, "release", _widget_pos(pp.plot, seen[-1], y))
    assert np.all(np.diff(seen) > 0)
    assert pp.plot.getPlotItem().getViewBox().viewRange() == before
    # outside the data area (on the left axis): nothing
    n = len(pp.clicks.last_ms)
    _mouse(pp.plot, "press", pp.plot.mapFromScene(pp.plot.getPlotItem().getAxis("left").sceneBoundingRect().center()))
    assert len(pp.clicks.last_ms) == n
    _mouse(pp.plot, "release", pp.plot.mapFromScene(pp.plot.getPlotItem().getAxis("left").sceneBoundingRect().center()))


def test_alt_and_shift_stay_as_accelerators(explore, qtbot):
    """In pan/zoom, Alt+press decodes and Shift+click adds a point to the line (a bend once it has two)."""
    window = explore
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    w = window
    pp, s = w.pair_plot, w.session
    x, y = _view_point(pp.plot, 0.4, 0.4)
    QTest.mousePress(pp.plot.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.AltModifier,
                     _widget_pos(pp.plot, x, y))
    QTest.mouseRelease(pp.plot.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.AltModifier,
                       _widget_pos(pp.plot, x, y))
    assert pp.probe is not None and abs(pp.probe.xy[0] - x) < 0.02 * abs(x) + 0.5
    for fx in (0.2, 0.5, 0.8):
        pos = _widget_pos(pp.plot, *_view_point(pp.plot, fx, 0.5))
        QTest.mouseClick(pp.plot.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, pos)
    assert len(s.path_vertices) == 3
    qtbot.waitUntil(lambda: w.path_panel.path is not None and len(w.path_panel.path.xy) == 12, timeout=30000)
    _idle(qtbot, w)


def test_atlas_panel_decodes_without_modifiers(explore, qtbot):
    window = explore
    from gui.plot_tools import PlotMode

    w = window
    w.raise_dock("atlasDock")
    ap = w.atlas_panel
    qtbot.waitUntil(lambda: ap.stats is not None, timeout=30000)
    _idle(qtbot, w)
    ap.tool_bar.buttons[PlotMode.DECODE].click()
    x, y = _view_point(ap.plot, 0.5, 0.5)
    _mouse(ap.plot, "press", _widget_pos(ap.plot, x, y))
    _mouse(ap.plot, "release", _widget_pos(ap.plot, x, y))
    assert ap.decoded_float.isVisible() and "Mahalanobis" in ap.info.text()


def _draw_line(qtbot, w, a, b) -> None:
    from gui.plot_tools import PlotMode

    pp = w.pair_plot
    pp.tool_bar.buttons[PlotMode.PATH].click()
    for p in (a, b):
        pos = _widget_pos(pp.plot, *p)
        _mouse(pp.plot, "press", pos)
        _mouse(pp.plot, "release", pos)
    _idle(qtbot, w)


def test_path_decodes_at_its_second_point(explore, qtbot):
    window = explore
    w = window
    pp, s, panel = w.pair_plot, w.session, w.path_panel
    w.raise_dock("componentsDock")  # the Path panel buried under another tab
    clicked = []
    panel.go.clicked.connect(lambda *_: clicked.append(1))
    a, b = _view_point(pp.plot, 0.25, 0.3), _view_point(pp.plot, 0.75, 0.7)
    pp.tool_bar.buttons[next(m for m in pp.tool_bar.buttons if m.value == "path")].click()
    _mouse(pp.plot, "press", _widget_pos(pp.plot, *a))
    _mouse(pp.plot, "release", _widget_pos(pp.plot, *a))
    assert len(s.path_vertices) == 1 and panel.path is None  # one point: nothing decoded yet
    assert "second point" in panel.info.text()
    _mouse(pp.plot, "press", _widget_pos(pp.plot, *b))
    _mouse(pp.plot, "release", _widget_pos(pp.plot, *b))
    qtbot.waitUntil(lambda: panel.path is not None, timeout=30000)
    _idle(qtbot, w)
    assert not clicked  # no "Decode path" press
    path = panel.path
    assert len(path) == panel.n.value() == 12
    v = np.asarray(s.path_vertices)
    np.testing.assert_allclose(v, [a, b], atol=0.02 * abs(a[0] - b[0]) + 1e-9)
    np.testing.assert_array_equal(path.z[0], pp.plane().lift(v[:1])[0].astype(np.float32))
    # the Path panel came up above its tab group
    dock = w.docks["pathDock"]
    assert dock.isVisible() and not dock.visibleRegion().isEmpty()
    # a third click starts a new line; its second point decodes it again
    c, d = _view_point(pp.plot, 0.4, 0.8), _view_point(pp.plot, 0.6, 0.2)
    _draw_line(qtbot, w, c, d)
    qtbot.waitUntil(lambda: panel.path is not path, timeout=30000)
    _idle(qtbot, w)
    assert len(s.path_vertices) == 2
    np.testing.assert_allclose(panel.path.xy[[0, -1]], [c, d], atol=0.02 * abs(c[0] - d[0]) + 1e-9)
    # more faces: the shown path again, by itself
    old = panel.path
    panel.n.setValue(9)
    qtbot.waitUntil(lambda: panel.path is not old and len(panel.path) == 9, timeout=30000)


def test_path_strip_shows_every_face_at_1280x720(window, qtbot):
    w = window
    w.resize(1280, 720)
    w.switch_workspace("directions")  # the pair plot and the Path panel, designed for 1280×720
    w.reset_layout()
    qtbot.wait(200)
    pp, panel = w.pair_plot, w.path_panel
    _draw_line(qtbot, w, _view_point(pp.plot, 0.2, 0.2), _view_point(pp.plot, 0.8, 0.8))
    qtbot.waitUntil(lambda: panel.path is not None, timeout=30000)
    qtbot.wait(100)
    strip = panel.strip
    rects = strip.face_rects()
    assert len(rects) == len(panel.path) == 12
    assert strip.isVisible() and not strip.visibleRegion().isEmpty()
    inside = strip.rect()
    for r in rects:
        assert inside.contains(r), (r, inside)
        assert r.width() >= 24, r  # large enough to see the face
    top_left = strip.mapTo(panel, strip.rect().topLeft())
    bottom_right = strip.mapTo(panel, strip.rect().bottomRight())
    assert panel.rect().contains(top_left) and panel.rect().contains(bottom_right)
    # the faces drawn are the path's
    assert np.array_equal(strip.images[3], panel.path.images[3])


def test_a_path_drawn_in_a_guest_pair_plot_keeps_the_plot_in_view(window, qtbot):
    """The generating workspace has no pair plot: shown there (View ▸ Pair plot), a path drawn in it brings the Path
    panel up beside it, not over it."""
    w = window
    w.switch_workspace("generate")
    w.raise_dock("pairPlotDock")
    qtbot.wait(200)
    plot_dock, path_dock = w.docks["pairPlotDock"], w.docks["pathDock"]
    assert not plot_dock.visibleRegion().isEmpty()
    pp = w.pair_plot
    _draw_line(qtbot, w, _view_point(pp.plot, 0.3, 0.3), _view_point(pp.plot, 0.7, 0.6))
    qtbot.waitUntil(lambda: w.path_panel.path is not None, timeout=30000)
    qtbot.wait(200)
    assert not plot_dock.visibleRegion().isEmpty() and not path_dock.visibleRegion().isEmpty()


def test_strip_layout_wraps_to_make_faces_larger():
    from gui.qt_path import strip_layout

    assert strip_layout(12, 1200, 100) == (1, 12, 98)  # a wide strip: one row
    rows, cols, side = strip_layout(12, 420, 100)
    assert (rows, cols) == (2, 6) and side == 49  # one row would give 33 px faces
    rows, cols, side = strip_layout(64, 400, 300)
    assert rows * cols >= 64 and side * cols <= 400 and side * rows <= 300


def _hover(qtbot, pp, x, y):
    pos = _widget_pos(pp.plot, x, y)
    from PySide6.QtTest import QTest

    QTest.mouseMove(pp.plot.viewport(), pos)
    qtbot.wait(40)  # the debounce
    return pp.hover.update_preview(pp.plot.mapToScene(pos))


def _preview_times(pp, xy, count: int = 20) -> list[float]:
    """Pointer stop → preview shown (ms) for the first ``count`` drawn points, nothing kept from before."""
    import pyqtgraph as pg

    vb = pp.plot.getPlotItem().getViewBox()
    times = []
    for k in range(min(count, len(xy))):
        pp.hover.clear()
        pos = vb.mapViewToScene(pg.Point(*map(float, xy[k])))
        t0 = time.perf_counter()
        pp.hover.update_preview(pos)
        times.append((time.perf_counter() - t0) * 1000)
    return times


def test_hover_shows_the_training_face(explore, qtbot, tiny_data):
    window = explore
    import pyqtgraph as pg

    w = window
    pp, s = w.pair_plot, w.session
    pp.layer_boxes["generated"].setChecked(False)
    idx = pp._sample_idx
    xy = pp._xy[idx]
    # a point whose neighbours are farther than the hover radius on screen
    from gui.qt_cloud_hover import HOVER_RADIUS, pixel_d2

    vb = pp.plot.getPlotItem().getViewBox()
    gen = [] if pp._gen_xy is None else pp._gen_xy
    pick = None
    for k in range(len(idx)):
        pos = vb.mapViewToScene(pg.Point(*map(float, xy[k])))
        d2 = pixel_d2(vb, xy, pos)
        if np.sort(d2)[1] > (2 * HOVER_RADIUS) ** 2 and vb.sceneBoundingRect().contains(pos) and (
                not len(gen) or pixel_d2(vb, gen, pos).min() > 20 ** 2):
            pick = k
            break
    assert pick is not None
    i = int(idx[pick])
    got = _hover(qtbot, pp, *xy[pick])
    assert got == i and pp.hover.index == i and pp.hover.label.isVisible()
    # no dataset open: its decode
    np.testing.assert_array_equal(pp.hover.image.pixmap().toImage().width(), 80)
    img, from_dataset = s.state.training_face(i)
    assert not from_dataset
    np.testing.assert_array_equal(img, s.model.codec.decode(s.latents[i:i + 1])[0])
    assert f"#{i}" in pp.hover.caption.text() and f"#{i}" in pp.coords.text()
    # away from every point: hidden
    x0 = _view_point(pp.plot, 0.01, 0.99)
    if pixel_d2(vb, xy, vb.mapViewToScene(pg.Point(*x0))).min() > HOVER_RADIUS ** 2:
        assert _hover(qtbot, pp, *x0) is None and not pp.hover.label.isVisible()
    decoded = _preview_times(pp, xy)
    # the dataset open: its image
    w.open_dataset(tiny_data)
    _idle(qtbot, w)
    img, from_dataset = s.state.training_face(i)
    assert from_dataset
    k = s.dataset.files.index(s.model.latent_files[i])
    np.testing.assert_array_equal(img, s.dataset.images[k])
    assert _hover(qtbot, pp, *xy[pick]) == i and "image" in pp.hover.caption.text()
    opened = _preview_times(pp, xy)
    print(f"hover preview (tiny model): dataset open median {statistics.median(opened):.1f} ms "
          f"(worst {max(opened):.1f}); decoded median {statistics.median(decoded):.1f} ms (worst {max(decoded):.1f})")
    assert statistics.median(opened) < 30 and statistics.median(decoded) < 30
