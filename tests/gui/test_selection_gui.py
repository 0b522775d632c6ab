"""Selecting training z-points in the window (issue 27 parts 1–2): a lasso, a box with modifier keys, a polygon and
a component's range, each through the plots' real mouse events; the selection in every linked view (the pair plot's
highlight with the rest greyed, the components histogram, the Selection panel's count, faces and prevalence)."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")


def _idle(qtbot, w) -> None:
    qtbot.waitUntil(lambda: not w.bridge.busy(), timeout=60000)


def _send(plot, kind: str, pos, mods=None) -> None:
    """A left-button mouse event on the plot's viewport at widget position ``pos`` (QPoint) with modifier keys."""
    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    t = {"press": QEvent.Type.MouseButtonPress, "move": QEvent.Type.MouseMove,
         "release": QEvent.Type.MouseButtonRelease, "double": QEvent.Type.MouseButtonDblClick}[kind]
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    button = none if kind == "move" else left
    held = none if kind == "release" else left
    vp = plot.viewport()
    ev = QMouseEvent(t, QPointF(pos), QPointF(vp.mapToGlobal(pos)), button, held,
                     mods if mods is not None else Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(vp, ev)


def _at(plot, x: float, y: float):
    import pyqtgraph as pg

    vb = plot.getPlotItem().getViewBox()
    return plot.mapFromScene(vb.mapViewToScene(pg.Point(float(x), float(y))))


def _drag(plot, points, mods=None) -> None:
    """Press at the first data point, move through the others, release at the last (a lasso or a box)."""
    _send(plot, "press", _at(plot, *points[0]), mods)
    for p in points[1:]:
        _send(plot, "move", _at(plot, *p), mods)
    _send(plot, "release", _at(plot, *points[-1]), mods)


def _ring(cx, cy, r, k=24):
    t = np.linspace(0, 2 * np.pi, k)
    return [(cx + r * np.cos(a), cy + r * np.sin(a)) for a in t]


@pytest.fixture
def explore(window, qtbot):
    window.switch_workspace("explore")
    qtbot.wait(100)
    return window


def test_lasso_in_the_pair_plot_updates_every_linked_view(explore, qtbot):
    from engine.selection import from_polygon
    from gui.plot_tools import PlotMode

    w = explore
    pp, s = w.pair_plot, w.session
    pp.tools.set_mode(PlotMode.SELECT)
    assert pp.tool_bar.shape_buttons["lasso"].isVisible() and pp.tools.select_shape == "lasso"
    xy = pp._xy
    c, r = np.median(xy, axis=0), float(np.std(xy[:, 0]))
    ring = _ring(c[0], c[1], r)
    _drag(pp.plot, ring)
    sel = s.cloud_selection
    assert sel is not None and 0 < sel.count < len(s.latents)
    # the same points the engine's polygon test finds for the drawn outline (a pixel's rounding aside)
    expected = from_polygon(xy, ring)
    assert abs(sel.count - int(expected.sum())) <= max(2, sel.count // 20)
    assert sel.how.startswith("lasso on PC1 × PC2")
    # the pair plot: the selected points drawn in colour, the rest greyed
    assert pp.selector.drawn_points() == sel.count and pp.points_item.opacity() < 1.0
    # the components histogram: the selection's own histogram beside the cloud's
    x, y = w.components.sel_item.getData()
    assert x is not None and len(x) > 1 and float(np.sum(y)) > 0
    # the Selection panel: the count, and its faces (from the worker)
    panel = w.selection_panel
    assert f"{sel.count:,} of {len(s.latents):,}" in panel.count_label.text()
    _idle(qtbot, w)
    qtbot.waitUntil(lambda: panel.faces.count() == min(sel.count, 24), timeout=20000)
    assert sel.mask[panel.shown_indices].all()
    # the query line and the actions wait for their workflows, disabled and saying so
    assert panel.query.isEnabled() and all(b.isEnabled() for b in panel.action_buttons.values())


def test_modifiers_add_subtract_intersect_and_esc_clears(explore, qtbot):
    from PySide6.QtCore import Qt

    from engine.selection import from_box
    from gui.plot_tools import PlotMode

    w = explore
    pp, s = w.pair_plot, w.session
    pp.tools.set_mode(PlotMode.SELECT)
    pp.tool_bar.shape_buttons["box"].click()
    assert pp.tools.select_shape == "box"
    xy = pp._xy
    lo, hi = np.percentile(xy, 10, axis=0), np.percentile(xy, 90, axis=0)
    mid = (lo + hi) / 2
    boxes = {"a": (lo, mid), "b": ((lo + mid) / 2, hi)}
    masks = {k: from_box(xy, a[0], b[0], a[1], b[1]) for k, (a, b) in boxes.items()}
    mods = Qt.KeyboardModifier
    _drag(pp.plot, [tuple(boxes["a"][0]), tuple(boxes["a"][1])])
    first = s.cloud_selection.mask.copy()
    assert abs(first.sum() - masks["a"].sum()) <= 2
    _drag(pp.plot, [tuple(boxes["b"][0]), tuple(boxes["b"][1])], mods.ShiftModifier)  # add
    added = s.cloud_selection.mask.copy()
    assert abs(added.sum() - (masks["a"] | masks["b"]).sum()) <= 3 and added.sum() > first.sum()
    _drag(pp.plot, [tuple(boxes["b"][0]), tuple(boxes["b"][1])], mods.ControlModifier)  # subtract
    sub = s.cloud_selection.mask.copy()
    assert abs(sub.sum() - (masks["a"] & ~masks["b"]).sum()) <= 3 and not (sub & masks["b"]).any() or sub.sum() < added.sum()
    _drag(pp.plot, [tuple(boxes["a"][0]), tuple(boxes["a"][1])], mods.ShiftModifier)  # add a back
    _drag(pp.plot, [tuple(boxes["b"][0]), tuple(boxes["b"][1])], mods.ShiftModifier | mods.ControlModifier)
    inter = s.cloud_selection.mask
    assert abs(inter.sum() - (masks["a"] & masks["b"]).sum()) <= 3 and "intersect" in s.cloud_selection.how
    # the tool bar's operation without a key: "+" adds
    pp.tool_bar.op_buttons["add"].click()
    assert pp.tools.select_op == "add"
    pp.tool_bar.op_buttons["replace"].click()
    # Esc in Select: cleared, back to pan/zoom; the views follow
    pp.plot.setFocus()
    qtbot.keyClick(pp.plot, Qt.Key.Key_Escape)
    assert s.cloud_selection is None and pp.tools.mode is PlotMode.PAN
    assert pp.selector.drawn_points() == 0 and pp.points_item.opacity() == 1.0
    assert w.components.sel_item.getData()[0] is None or len(w.components.sel_item.getData()[0]) == 0


def test_polygon_clicks_and_double_click_close_it(explore, qtbot):
    from engine.selection import from_polygon
    from gui.plot_tools import PlotMode

    w = explore
    pp, s = w.pair_plot, w.session
    pp.tools.set_mode(PlotMode.SELECT)
    pp.tool_bar.shape_buttons["polygon"].click()
    xy = pp._xy
    lo, hi = np.percentile(xy, 5, axis=0), np.percentile(xy, 70, axis=0)
    tri = [(lo[0], lo[1]), (hi[0], lo[1]), (hi[0], hi[1])]
    for p in tri:
        _send(pp.plot, "press", _at(pp.plot, *p))
        _send(pp.plot, "release", _at(pp.plot, *p))
        assert s.cloud_selection is None  # not closed yet
    _send(pp.plot, "double", _at(pp.plot, *tri[-1]))
    sel = s.cloud_selection
    assert sel is not None and abs(sel.count - int(from_polygon(xy, tri).sum())) <= 2
    assert sel.how.startswith("polygon")


def test_range_on_the_components_histogram_and_invert(explore, qtbot):
    from engine.selection import from_range
    from gui.plot_tools import PlotMode

    w = explore
    comp, s = w.components, w.session
    w.raise_dock("componentsDock")
    comp.set_component(1)
    comp.tools.set_mode(PlotMode.SELECT)
    assert not comp.tool_bar.shape_buttons["lasso"].isEnabled()
    v = s.latents[:, 1]
    qtbot.wait(50)
    (x0, x1), (y0, y1) = comp.plot.getPlotItem().getViewBox().viewRange()
    a, b = x0 + 0.3 * (x1 - x0), x0 + 0.7 * (x1 - x0)
    _drag(comp.plot, [(a, y0 + 0.2 * (y1 - y0)), (b, y0 + 0.6 * (y1 - y0))])
    sel = s.cloud_selection
    assert sel is not None and sel.how.startswith("z1 in")
    assert 0 < sel.count and abs(sel.count - int(from_range(v, a, b).sum())) <= 2
    w.selection_panel.invert_btn.click()
    assert s.cloud_selection.count == len(v) - sel.count
    w.selection_panel.clear_btn.click()
    assert s.cloud_selection is None


def test_map_and_atlas_select_in_the_same_cloud(explore, qtbot):
    from engine.lab.maps import LatentMap
    from engine.selection import from_box

    w = explore
    s = w.session
    d = w.directions
    rng = np.random.default_rng(0)
    d.latent_map = LatentMap(xy=rng.normal(size=(len(s.latents), 2)).astype(np.float32), method="pca", params={},
                             seconds=0.0)
    d._draw_map()
    verts = np.array([(-1, -1), (1, -1), (1, 1), (-1, 1)], float)
    n = d.map_selector.select_shape("box", verts)
    assert n == int(from_box(np.asarray(d.latent_map.xy, float), -1, 1, -1, 1).sum()) > 0
    assert d.map_selector.drawn_points() == n and w.pair_plot.selector.drawn_points() == n  # linked
    assert all(it.opacity() < 1 for it in d.map_items)
    # hovering a map point shows its training face
    import pyqtgraph as pg

    w.raise_dock("directionsDock")
    d.tabs.setCurrentIndex(1)
    qtbot.wait(100)
    vb = d.map_plot.getPlotItem().getViewBox()
    d.map_hover.points()  # (the spread is made on first use)
    k = int(d.map_hover.points()[1][0])
    got = d.map_hover.update_preview(vb.mapViewToScene(pg.Point(*map(float, d.latent_map.xy[k]))))
    assert got is not None and d.map_hover.image.pixmap() is not None
    # the atlas: its plane's coordinates are the pair plot's (PC1 × PC2)
    w.raise_dock("atlasDock")
    qtbot.waitUntil(lambda: w.atlas_panel.stats is s.stats, timeout=20000)
    xy = w.pair_plot._xy
    lo, hi = np.percentile(xy, 25, axis=0), np.percentile(xy, 75, axis=0)
    box = np.array([lo, (hi[0], lo[1]), hi, (lo[0], hi[1])])
    n = w.atlas_panel.selector.select_shape("box", box, "replace")
    assert n == int(from_box(xy, lo[0], hi[0], lo[1], hi[1]).sum()) > 0
    assert "atlas" in s.cloud_selection.how and w.atlas_panel.selector.drawn_points() == n


def test_prevalence_against_the_whole_set(make_window, labelled_model, qtbot):
    from engine.selection import CloudSelection

    w = make_window(labelled_model)
    qtbot.waitUntil(lambda: w.panels_ready() and not w.bridge.busy(), timeout=60000)
    s = w.session
    left = s.latents[:, 0] > 0
    s.set_cloud_selection(CloudSelection(left, "z0 > 0"))
    p = w.selection_panel.prevalence
    assert p is not None and p.names == ["Left"]
    assert p.selected[0] == pytest.approx(1.0) and p.overall[0] == pytest.approx(left.mean())
    _idle(qtbot, w)
    qtbot.waitUntil(lambda: w.selection_panel.faces.count() > 0, timeout=20000)
    assert w.selection_panel.faces_from_dataset is False  # no dataset open: their reconstructions
    assert "reconstructions" in w.selection_panel.faces_caption.text()


def test_a_query_selects_and_the_actions_run_on_the_selection(make_window, labelled_model, qtbot, tmp_path):
    """The query line (Enter) selects; Generate like these fills the grid from the selection; Distinguish lists
    what separates it; Export writes its files (issue 27, parts 1 and 3)."""
    w = make_window(labelled_model)
    qtbot.waitUntil(lambda: w.panels_ready() and not w.bridge.busy(), timeout=60000)
    s, panel = w.session, w.selection_panel
    panel.query.setText("Left")
    panel.query.returnPressed.emit()
    qtbot.waitUntil(lambda: s.cloud_selection is not None and not w.bridge.busy(), timeout=30000)
    assert np.array_equal(s.cloud_selection.mask, s.latents[:, 0] > 0)
    assert s.cloud_selection.how.startswith("query")
    panel.query.setText("Lfet and")
    panel.query.returnPressed.emit()
    qtbot.waitUntil(lambda: panel.query_note.text() != "", timeout=30000)
    assert "Lfet" in panel.query_note.text() and s.cloud_selection.how.startswith("query")
    w.sampler_panel.set_sampler("normal")
    w.sampler_panel.count.setValue(6)
    before = s.sample
    panel.action_buttons["generate"].click()
    qtbot.waitUntil(lambda: s.sample is not before and not w.bridge.busy(), timeout=30000)
    assert len(s.sample.z) == 6 and s.sample.params["like"]["points"] == int((s.latents[:, 0] > 0).sum())
    z0 = s.latents[:, 0]  # faces like the selected (z0 > 0) points, not like the others
    assert s.sample.z[:, 0].mean() > z0[z0 <= 0].mean()
    q = w.window_actions.last_like_quality  # measured against the selection's own held-out members
    assert 0 <= q["generated"]["inside_2s"] <= 1 and q["held_out"]["nn_ratio"] > 0
    assert "held-out members" in w.last_notice
    panel.action_buttons["distinguish"].click()
    qtbot.waitUntil(lambda: getattr(w, "_distinguish_dialog", None) is not None, timeout=30000)
    table = w._distinguish_dialog.findChild(__import__("PySide6.QtWidgets", fromlist=["QTableWidget"]).QTableWidget)
    names = [table.item(i, 2).text() for i in range(table.rowCount())]
    assert names and ("Left" in names[:3] or "z0" in names[:3] or "PC1" in names[:3]), names[:5]
    w._distinguish_dialog.close()
    out = tmp_path / "sel"
    w.window_actions.export_selection(s.cloud_selection, out)
    qtbot.waitUntil(lambda: (out / "selection.json").exists() and not w.bridge.busy(), timeout=60000)
    assert {"selection.csv", "grid.png", "distinguish.csv"} <= {p.name for p in out.iterdir()}


def test_a_selection_kept_as_a_group_is_chosen_again_and_distinguished_against(make_window, labelled_model, qtbot,
                                                                              tmp_path):
    """Keep as group: a named group, chosen again from the list; Distinguish against it; undoable; in sessions."""
    from engine.selection import CloudSelection

    w = make_window(labelled_model)
    qtbot.waitUntil(lambda: w.panels_ready() and not w.bridge.busy(), timeout=60000)
    s, panel, acts = w.session, w.selection_panel, w.window_actions
    z0 = s.latents[:, 0]
    left, right = CloudSelection(z0 > 0, "left"), CloudSelection(z0 <= 0, "right")
    s.set_cloud_selection(left)
    assert acts.keep_selection(s.cloud_selection, "left half") == "left half"
    s.set_cloud_selection(right)
    acts.keep_selection(s.cloud_selection, "right half")
    assert [n for n, _ in s.groups] == ["left half", "right half"]
    assert [panel.groups.itemText(i) for i in range(panel.groups.count())] == ["groups: 2", "left half", "right half"]
    panel._group_chosen(1)
    assert np.array_equal(s.cloud_selection.mask, left.mask)
    panel.against.setCurrentIndex(2)  # vs "right half"
    assert panel.against_group()[0] == "right half"
    panel.action_buttons["distinguish"].click()
    qtbot.waitUntil(lambda: getattr(w, "_distinguish_dialog", None) is not None, timeout=30000)
    assert w._distinguish_dialog.windowTitle().endswith("from right half")
    d = w._distinguish_dialog.direction  # from the right half to the left half: along +z0
    assert d.vector[0] > 0 and d.meta["amount"] > 0
    before = len(w.inspector.direction_sliders)
    w._distinguish_dialog.findChild(__import__("PySide6.QtWidgets", fromlist=["QPushButton"]).QPushButton,
                                    "directionBetweenButton").click()
    assert len(w.inspector.direction_sliders) == before + 1
    w._distinguish_dialog.close()
    assert w.undo_action.text().startswith("Undo: Select ")  # choosing a group again is a selection step
    while s.groups and w.undo_action.isEnabled():  # undo back through the steps: the groups go
        w.undo_action.trigger()
    assert s.groups == []
    w.redo_action.trigger()
    w.redo_action.trigger()
    path = tmp_path / "g.lfs-session.json"
    w.window_actions.save_session(path)
    qtbot.waitUntil(lambda: path.exists() and not w.bridge.busy(), timeout=30000)
    from engine.workflows.session import open_session

    back = open_session(path)
    assert [n for n, _ in back.state.groups] == [n for n, _ in s.groups]
    for (_, a), (_, b) in zip(back.state.groups, s.groups):
        assert np.array_equal(a.mask, b.mask)
