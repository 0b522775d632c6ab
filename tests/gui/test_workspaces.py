"""Workspaces (issue 24): task layouts switched in one click, each remembering the user's changes and reset on its
own; View ▸ a panel shows and raises it in the current workspace; at 1280×720 the faces are the largest panel of
Generate & inspect (three rows and more) and no group of tabs needs scroll arrows; the proportions survive a
shrink and a grow, and a restart. (Offscreen: a real window manager's resizes are the real-window scenario's.)"""
from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QTabBar, QToolButton

from gui.window_layout import STATE_VERSION, parse_fractions
from gui.workspaces import WORKSPACES, workspace

TOL = 6  # px


def settle(qtbot, w, ms: int = 400) -> None:
    qtbot.wait(ms)


def geometry(w) -> dict:
    """Each shown dock's rectangle in the dock area."""
    top = w.dock_layout.area().top()
    return {n: (d.x(), d.y() - top, d.width(), d.height()) for n, d in w.dock_layout.docked().items()}


def close_to(a: dict, b: dict, tol: int = TOL) -> bool:
    return set(a) == set(b) and all(abs(x - y) <= tol for n in a for x, y in zip(a[n], b[n]))


def user_drag(w, qtbot, first: str, second: str, first_size: int, orientation=Qt.Orientation.Horizontal) -> None:
    """As a drag of the separator between two docks: their new sizes, then the mouse released on the window."""
    d = w.docks
    w.resizeDocks([d[first], d[second]], [first_size, 2000 - first_size], orientation)
    qtbot.wait(50)
    QTest.mouseRelease(w, Qt.MouseButton.LeftButton, pos=d[first].geometry().bottomRight())
    qtbot.wait(100)


@pytest.fixture
def win(window, qtbot):
    window.resize(1280, 720)
    settle(qtbot, window)
    return window


def test_each_workspace_shows_its_docks_and_only_them(win, qtbot):
    w = win
    assert w.workspace() == "generate"
    assert [a.text() for a in w.workspace_bar.actions()] == [ws.title for ws in WORKSPACES]
    for i, ws in enumerate(WORKSPACES):
        QTest.keyClick(w, Qt.Key(Qt.Key.Key_1 + i), Qt.KeyboardModifier.ControlModifier)  # Ctrl+1 … Ctrl+5
        settle(qtbot, w, 200)
        assert w.workspace() == ws.key
        assert w.dock_layout.actions[ws.key].isChecked()
        shown = set(w.dock_layout.docked())
        assert shown <= set(ws.dock_names()), (ws.key, shown)
        for col in ws.columns:  # every group of the design is on screen, its first dock raised
            for group in col.groups:
                assert group.docks[0] in shown, (ws.key, group.docks)
        tabs = [[b.tabText(k) for k in range(b.count())] for b in
                w.findChildren(QTabBar, options=Qt.FindChildOption.FindDirectChildrenOnly) if b.isVisible()]
        for col in ws.columns:  # each group of tabbed docks has its tab bar on screen, every tab named
            for group in col.groups:
                if len(group.docks) > 1:
                    assert [w.docks[n].windowTitle() for n in group.docks] in tabs, (ws.key, group.docks, tabs)
        hidden = set(w.docks) - set(ws.dock_names())
        assert not any(w.docks[n].isVisible() for n in hidden), (ws.key, hidden)
        assert (w.width(), w.height()) == (1280, 720)  # a switch never grows the window


def test_a_workspace_remembers_the_users_changes_and_resets_alone(win, qtbot):
    w = win
    design = geometry(w)
    user_drag(w, qtbot, "faceGridDock", "inspectorDock", 700)
    mine = geometry(w)
    assert abs(mine["faceGridDock"][2] - design["faceGridDock"][2]) > 100  # really another split
    w.switch_workspace("explore")
    settle(qtbot, w)
    w.docks["correlationsDock"].close()
    user_drag(w, qtbot, "pairPlotDock", "componentsDock", 500)
    explore_mine = geometry(w)
    w.switch_workspace("generate")
    settle(qtbot, w)
    assert close_to(geometry(w), mine), (geometry(w), mine)
    # a dock closed by the user: the others' new sizes are the proportions a resize keeps
    w.docks["samplerDock"].close()
    settle(qtbot, w, 200)
    assert set(w.dock_layout.memory["generate"].fractions) == {"modelDataDock", "faceGridDock", "inspectorDock"}
    w.docks["samplerDock"].show()
    settle(qtbot, w, 200)
    # View ▸ Reset layout: this workspace as designed; the other keeps its changes
    w.reset_layout()
    settle(qtbot, w)
    assert close_to(geometry(w), design), (geometry(w), design)
    w.switch_workspace("explore")
    settle(qtbot, w)
    assert close_to(geometry(w), explore_mine), (geometry(w), explore_mine)
    assert w.docks["correlationsDock"].isHidden()


def test_view_panel_shows_and_raises_it_in_the_current_workspace(win, qtbot):
    w = win
    path = w.docks["pathDock"]
    assert path.isHidden()  # not part of Generate & inspect
    w.panel_actions["pathDock"].trigger()
    settle(qtbot, w, 200)
    assert w.workspace() == "generate"
    assert path.isVisible() and not path.visibleRegion().isEmpty() and "pathDock" in w.dock_layout.docked()
    assert w.panel_actions["pathDock"].isChecked()
    # a panel buried behind another tab of its group: raised, not hidden (it was hidden before)
    w.switch_workspace("explore")
    settle(qtbot, w, 200)
    corr = w.docks["correlationsDock"]
    assert not corr.isHidden() and corr.visibleRegion().isEmpty()  # behind Components
    w.panel_actions["correlationsDock"].trigger()
    settle(qtbot, w, 200)
    assert corr.isVisible() and not corr.visibleRegion().isEmpty()
    assert w.panel_actions["correlationsDock"].isChecked()
    # in view: the menu item closes it
    w.panel_actions["correlationsDock"].trigger()
    settle(qtbot, w, 200)
    assert corr.isHidden() and not w.panel_actions["correlationsDock"].isChecked()
    # a use that needs a panel (double-click a face: the inspector) shows it in the workspace the user is in
    w.inspect_face(0)
    settle(qtbot, w, 200)
    assert w.workspace() == "explore" and "inspectorDock" in w.dock_layout.docked()


def test_generate_workspace_at_1280x720_shows_three_rows_of_faces(win, qtbot):
    w = win
    grid = w.face_grid
    assert grid.count() == 32
    assert grid.visible_rows() >= 3 and len(grid.visible_faces()) >= 12, (grid.visible_rows(), grid.visible_faces())
    shown = w.dock_layout.docked()
    area = {n: d.width() * d.height() for n, d in shown.items()}
    assert max(area, key=area.get) == "faceGridDock", area  # the faces are the largest panel


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_no_group_of_tabs_needs_scroll_arrows(win, qtbot, size):
    w = win
    w.resize(*size)
    for ws in WORKSPACES:
        w.switch_workspace(ws.key)
        settle(qtbot, w, 300)
        bars = [b for b in w.findChildren(QTabBar, options=Qt.FindChildOption.FindDirectChildrenOnly)
                if b.isVisible() and b.count() > 1]
        for bar in bars:
            need = sum(bar.tabSizeHint(i).width() for i in range(bar.count()))
            assert need <= bar.width(), (ws.key, [bar.tabText(i) for i in range(bar.count())], need, bar.width())
            assert not any(b.isVisible() for b in bar.findChildren(QToolButton)), ws.key
        # no dock squeezed under its content's minimum
        for name, dock in w.dock_layout.docked().items():
            assert dock.widget().width() >= dock.widget().minimumSizeHint().width() - 1, (ws.key, name)


def test_design_grows_the_faces_and_plots_not_the_sampler(win, qtbot):
    w = win
    small = geometry(w)
    w.resize(1920, 1080)
    settle(qtbot, w)
    big = geometry(w)
    assert abs(big["samplerDock"][2] - small["samplerDock"][2]) <= TOL
    assert big["faceGridDock"][2] - small["faceGridDock"][2] > 300
    spec = workspace("generate")
    assert spec.widths(1280) == [c.width for c in spec.columns]


def test_shrink_and_grow_back_keeps_every_share(win, qtbot):
    w = win
    for ws in WORKSPACES:
        w.switch_workspace(ws.key)
        settle(qtbot, w)
        before = geometry(w)
        w.resize(900, 560)
        settle(qtbot, w)
        w.resize(1280, 720)
        settle(qtbot, w)
        assert close_to(geometry(w), before), (ws.key, geometry(w), before)
    # the user's own proportions come back too, also after growing to a larger window and back
    w.switch_workspace("photo")
    settle(qtbot, w)
    user_drag(w, qtbot, "photoDock", "pairPlotDock", 700)
    mine = geometry(w)
    w.resize(900, 560)
    settle(qtbot, w)
    w.resize(1600, 1000)
    settle(qtbot, w)
    grown = geometry(w)
    assert abs(grown["photoDock"][2] / 1600 - mine["photoDock"][2] / 1280) < 0.01  # the same share of the width
    w.resize(1280, 720)
    settle(qtbot, w)
    assert close_to(geometry(w), mine), (geometry(w), mine)


def test_workspaces_are_remembered_across_a_restart(make_window, qtbot, tiny_model, gui_settings):
    w = make_window(tiny_model)
    qtbot.waitUntil(lambda: w.panels_ready() and not w.bridge.busy(), timeout=60000)
    w.resize(1280, 720)
    settle(qtbot, w)
    user_drag(w, qtbot, "faceGridDock", "inspectorDock", 650)
    generate = geometry(w)
    w.switch_workspace("explore")
    settle(qtbot, w)
    user_drag(w, qtbot, "componentsDock", "atlasDock", 200, Qt.Orientation.Vertical)
    explore = geometry(w)
    w.save_settings()
    assert int(gui_settings.value("workspaces/version")) == STATE_VERSION
    w2 = make_window(tiny_model, restore_state=True)
    qtbot.waitUntil(lambda: w2.panels_ready() and not w2.bridge.busy(), timeout=60000)
    w2.resize(1280, 720)
    settle(qtbot, w2)
    assert w2.workspace() == "explore"
    assert close_to(geometry(w2), explore), (geometry(w2), explore)
    w2.switch_workspace("generate")
    settle(qtbot, w2)
    assert close_to(geometry(w2), generate), (geometry(w2), generate)


def test_an_older_saved_layout_is_not_restored(make_window, qtbot, tiny_model, tmp_path):
    old = QSettings(str(tmp_path / "old.ini"), QSettings.Format.IniFormat)
    old.setValue("window/state", b"\x00\x00\x00\xff garbage")
    old.setValue("window/stateVersion", 5)
    old.setValue("workspaces/version", STATE_VERSION - 1)
    old.setValue("workspaces/current", "explore")
    w = make_window(tiny_model, settings=old, restore_state=True)
    qtbot.waitUntil(lambda: w.panels_ready() and not w.bridge.busy(), timeout=60000)
    assert w.workspace() == "generate"
    assert set(w.dock_layout.docked()) == {"samplerDock", "faceGridDock", "inspectorDock"}


def test_damaged_proportions_are_ignored():
    names = {"faceGridDock": None}
    assert parse_fractions('{"faceGridDock": [0.4, 0.9]}', names) == {"faceGridDock": (0.4, 0.9)}
    for bad in ('{"faceGridDock": [0, 0.9]}', '{"faceGridDock": [NaN, 0.5]}', '{"nope": [0.4, 0.5]}', "[1, 2]",
                "{", None, '{"faceGridDock": [0.4]}'):
        assert parse_fractions(bad, names) == {}, bad
