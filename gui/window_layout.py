"""The main window's dock layout: the workspaces (``gui/workspaces.py``) built as designed, switched, remembered
and reset one by one; the layout's proportions kept across any resize; the first window size.

Proportions: when the user drags a separator (the drag ends with a mouse release on the window) or moves a dock,
every docked dock's width and height are recorded as fractions of the dock area (the window less its menu, bar
and status bar). After a window resize (the window manager's steps coalesced: the last one counts) they are applied
again with ``QMainWindow.resizeDocks``, both orientations, so a shrink that squeezed the docks to their minimums is
undone when the window grows back or is maximised. A workspace the user never changed keeps its design instead: the
designed widths at 1280 px, the extra width shared by the columns' ``grow`` weights.

:class:`DockLayout` works on the window's ``docks`` (object name → dock); the window owns one
(``window.dock_layout``) and forwards its resize and mouse-release events to it.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Optional

from PySide6.QtCore import QByteArray, QRect, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QGuiApplication
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QTabBar, QToolBar

from .workspaces import BY_KEY, WORKSPACES, Workspace, shortcut, workspace

#: The version of the saved dock states (6: workspaces, one saved state each). A state of another version is
#: not restored: the workspaces' designed layouts are used instead.
STATE_VERSION = 6
#: The first window size (when it fits the screen's available area; else that area, less a margin).
FIRST_SIZE = (1600, 1000)
#: Smallest useful widths/heights of the docks' contents: every workspace fits a 900×560 window.
DOCK_MINIMUM = {
    "samplerDock": (230, 200), "modelDataDock": (200, 150), "faceGridDock": (240, 150), "inspectorDock": (240, 160),
    "pairPlotDock": (280, 180), "componentsDock": (280, 150), "correlationsDock": (280, 150), "pcaDock": (280, 150),
    "compareDock": (280, 150), "attributesDock": (280, 150), "photoDock": (240, 150), "directionsDock": (280, 150),
    "pathDock": (280, 150), "atlasDock": (280, 150), "selectionDock": (280, 150), "twoModelsDock": (300, 200),
    "bookmarksDock": (200, 120),
}
#: A window manager resizes in steps (a drag, a maximise): the proportions are applied once this long after the last.
RESIZE_SETTLE_MS = 120
_H, _V = Qt.Orientation.Horizontal, Qt.Orientation.Vertical


@dataclass
class Memory:
    """What a workspace remembers: its dock state (``saveState``) and the user's proportions (none: the design's)."""
    state: Optional[QByteArray] = None
    fractions: dict = field(default_factory=dict)  # dock name -> (share of the dock area's width, of its height)
    shown: tuple = ()  # the docks the workspace shows (docked or floating): restoreState hides no other one


def parse_fractions(text, names) -> dict:
    """Saved proportions (JSON: dock name -> [width share, height share], each in (0, 1]); {} when damaged."""
    try:
        raw = json.loads(text) if isinstance(text, str) else {}
        out = {str(k): (float(v[0]), float(v[1])) for k, v in dict(raw).items()}
    except (TypeError, ValueError, KeyError, IndexError):
        return {}
    ok = all(k in names and all(math.isfinite(x) and 0 < x <= 1 for x in v) for k, v in out.items())
    return out if ok else {}


class DockLayout:
    """The workspaces of ``window``'s docks: their layouts, their memory, their proportions across resizes."""

    def __init__(self, window: QMainWindow) -> None:
        self.window = window
        self.current = WORKSPACES[0].key
        self.memory: dict[str, Memory] = {}
        self.actions: dict[str, QAction] = {}  # workspace key -> its checkable action (bar and View menu)
        self.last_size = None
        self.adjusting = False  # True while the window itself moves or resizes docks (not the user)
        self._adjust_timer = QTimer(window)
        self._adjust_timer.setSingleShot(True)
        self._adjust_timer.setInterval(RESIZE_SETTLE_MS + 150)
        self._adjust_timer.timeout.connect(self._end_adjusting)
        self._resize_timer = QTimer(window)
        self._resize_timer.setSingleShot(True)
        self._resize_timer.setInterval(RESIZE_SETTLE_MS)
        self._resize_timer.timeout.connect(self.reapply)
        for dock in self.docks.values():  # a dock the user moved, docked, floated or closed: new proportions
            dock.dockLocationChanged.connect(self._dock_moved)
            dock.topLevelChanged.connect(self._dock_moved)
            dock.toggleViewAction().toggled.connect(self._dock_moved)

    @property
    def docks(self) -> dict[str, QDockWidget]:
        return self.window.docks

    @property
    def spec(self) -> Workspace:
        return workspace(self.current)

    # ---- a workspace's designed layout
    def default_layout(self) -> None:
        """Arrange the current workspace as designed (columns, stacked groups, tabs) and size it; forget the
        user's proportions of this workspace (only this one)."""
        w, d, spec = self.window, self.docks, self.spec
        self.hold_adjusting()
        for dock in d.values():
            dock.setFloating(False)
            w.removeDockWidget(dock)
        tops = [d[col.groups[0].docks[0]] for col in spec.columns]
        w.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, tops[0])
        if len(tops) > 1:
            w.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, tops[1])
        for left, right in zip(tops[1:], tops[2:]):
            w.splitDockWidget(left, right, _H)
        for col in spec.columns:
            for upper, lower in zip(col.groups, col.groups[1:]):
                w.splitDockWidget(d[upper.docks[0]], d[lower.docks[0]], _V)
        for name in spec.dock_names():
            group = spec.group_of(name)
            if name != group.docks[0]:
                w.tabifyDockWidget(d[group.docks[0]], d[name])
            d[name].show()
        for col in spec.columns:
            for group in col.groups:
                d[group.docks[0]].raise_()
        self.memory[self.current] = Memory()
        self.default_sizes()
        self._later(0, self.reapply)  # once more after the window got its size

    def design_targets(self) -> dict:
        """The current workspace's designed sizes for this window: dock name -> (width, height) of its group."""
        spec, area = self.spec, self.area()
        seps = 6 * (len(spec.columns) - 1)
        targets = {}
        tab_bar = self._tab_bar_height()
        for col, width in zip(spec.columns, spec.widths(area.width() - seps)):
            avail = area.height() - 6 * (len(col.groups) - 1)
            for group in col.groups:
                tabs = len([n for n in group.docks if not self.docks[n].isHidden()]) > 1
                targets[group.docks[0]] = (width, int(avail * group.share) - (tab_bar if tabs else 0))
        return targets

    def _tab_bar_height(self) -> int:
        """The height of the tab bar under a group of tabbed docks (26 px until the window has one)."""
        bars = [b for b in self.window.findChildren(QTabBar, options=Qt.FindChildOption.FindDirectChildrenOnly)
                if b.isVisible() and b.count() > 1]
        return bars[0].height() if bars else 26

    def default_sizes(self) -> None:
        self.apply_sizes(self.design_targets())

    # ---- switching, resetting, showing a panel
    def switch(self, key: str) -> None:
        """Show workspace ``key`` as the user left it (or as designed, the first time); the one left is
        remembered as it is."""
        if key not in BY_KEY:
            return
        if key != self.current:
            self.stash()
            self.enter(key)
        self._check_action()

    def enter(self, key: str) -> None:
        """Arrange workspace ``key`` from its memory (its saved dock state and proportions) or its design."""
        self.current = key
        self.hold_adjusting()
        mem = self.memory.get(key)
        if mem is not None and mem.state is not None:
            for name, dock in self.docks.items():  # (restoreState keeps a dock its state does not hold in place)
                if name not in mem.shown:
                    self.window.removeDockWidget(dock)
        if mem is not None and mem.state is not None and self._restore_state(mem.state):
            self.reapply()
        else:
            self.default_layout()
        self._check_action()

    def _restore_state(self, state: QByteArray) -> bool:
        """``restoreState``, the window kept at its size (a state restored grows the window a moment, as its
        docks are put back one by one with their saved sizes)."""
        w = self.window
        size = w.size()
        try:
            return w.restoreState(state, STATE_VERSION)
        finally:
            for name, dock in self.docks.items():
                if name not in self.memory[self.current].shown and not dock.isHidden():
                    w.removeDockWidget(dock)
            w.layout().activate()  # (the window's minimum size follows the docks now shown)
            if w.size() != size and not (w.isMaximized() or w.isFullScreen()):
                w.resize(size)

    def reset_current(self) -> None:
        """The current workspace back to its design; the other workspaces keep what the user made of them."""
        self.memory.pop(self.current, None)
        self.default_layout()

    def stash(self) -> None:
        """Remember the current workspace's dock state (its proportions are recorded as the user changes them)."""
        mem = self.memory.setdefault(self.current, Memory())
        mem.state = self.window.saveState(STATE_VERSION)
        mem.shown = tuple(n for n, d in self.docks.items() if not d.isHidden())

    def show_dock(self, name: str) -> None:
        """Show the dock ``name`` in the current workspace and raise it above its tab group: where it already is,
        else tabbed with its own group of this workspace, else with the workspace's guest dock."""
        dock = self.docks[name]
        self.hold_adjusting()
        if not dock.isFloating() and dock.isHidden():
            host = self._host_for(name)
            if host is not None:
                self.window.tabifyDockWidget(host, dock)
            else:
                self.window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        dock.show()
        dock.raise_()
        self._later(0, self.show_tab_bars)

    def view_toggled(self, name: str) -> None:
        """View ▸ a panel: shown and raised when it is hidden or behind another tab; closed when it is in view."""
        dock = self.docks[name]
        if dock.isVisible() and not dock.visibleRegion().isEmpty():
            dock.close()
        else:
            self.show_dock(name)

    def _host_for(self, name: str) -> Optional[QDockWidget]:
        spec = self.spec
        group = spec.group_of(name)
        candidates = [n for n in (group.docks if group else ()) if n != name] + [spec.guest]
        candidates += [n for n in spec.dock_names() if n not in candidates]
        for n in candidates:
            dock = self.docks[n]
            if n != name and not dock.isHidden() and not dock.isFloating():
                return dock
        return None

    def _check_action(self) -> None:
        action = self.actions.get(self.current)
        if action is not None and not action.isChecked():
            action.setChecked(True)

    # ---- memory across restarts
    def restore(self, st: QSettings) -> bool:
        """The workspaces' saved states and proportions, and the workspace the user was in; False (and nothing
        restored) when the settings hold none of this version."""
        try:
            version = int(st.value("workspaces/version", 0) or 0)
        except (TypeError, ValueError):
            version = 0
        if version != STATE_VERSION:
            return False
        for ws in WORKSPACES:
            state = st.value(f"workspaces/{ws.key}/state")
            fractions = parse_fractions(st.value(f"workspaces/{ws.key}/fractions"), self.docks)
            shown = str(st.value(f"workspaces/{ws.key}/shown") or "").split(",")
            if isinstance(state, (QByteArray, bytes)):
                self.memory[ws.key] = Memory(QByteArray(state), fractions, tuple(n for n in shown if n in self.docks))
        key = st.value("workspaces/current")
        self.enter(key if isinstance(key, str) and key in BY_KEY else WORKSPACES[0].key)
        return True

    def save(self, st: QSettings) -> None:
        self.stash()
        st.setValue("workspaces/version", STATE_VERSION)
        st.setValue("workspaces/current", self.current)
        for ws in WORKSPACES:
            mem = self.memory.get(ws.key)
            if mem is None or mem.state is None:
                st.remove(f"workspaces/{ws.key}")
                continue
            st.setValue(f"workspaces/{ws.key}/state", mem.state)
            st.setValue(f"workspaces/{ws.key}/fractions", json.dumps(mem.fractions))
            st.setValue(f"workspaces/{ws.key}/shown", ",".join(mem.shown))

    # ---- the first size
    def keep_on_screen(self) -> None:
        """Shrunk onto the available area of the screen it is on when it is larger (a window restored from another
        screen, or grown by a restored dock layout), so the status bar and its Cancel button stay on the screen; a
        window on a screen that is gone gets the first size."""
        w = self.window
        if w.isMaximized() or w.isFullScreen():
            return
        screen = QGuiApplication.screenAt(w.frameGeometry().center())
        if screen is None:
            self.fit_to_screen()
            return
        avail, frame = screen.availableGeometry(), w.frameGeometry()
        if frame.width() > avail.width() or frame.height() > avail.height():
            self.fit_to_screen()

    def fit_to_screen(self) -> None:
        """The first size: FIRST_SIZE where the screen's available area holds it, else that area (less a margin),
        centred on it, so the status bar and its Cancel button are on the screen."""
        w = self.window
        screen = w.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            w.resize(*FIRST_SIZE)
            return
        avail = screen.availableGeometry()
        width = min(FIRST_SIZE[0], max(640, avail.width() - 24))
        height = min(FIRST_SIZE[1], max(480, avail.height() - 48))
        w.resize(width, height)
        w.move(avail.x() + max(0, (avail.width() - width) // 2), avail.y() + max(0, (avail.height() - height) // 3))

    # ---- the proportions
    def area(self) -> QRect:
        """The dock area: the window less its menu bar, its tool bars at the top and its status bar."""
        w = self.window
        top = w.menuBar().geometry().bottom() + 1 if w.menuBar().isVisible() else 0
        for bar in w.findChildren(QToolBar, options=Qt.FindChildOption.FindDirectChildrenOnly):
            if bar.isVisible() and w.toolBarArea(bar) == Qt.ToolBarArea.TopToolBarArea:
                top = max(top, bar.geometry().bottom() + 1)
        sb = w.statusBar()
        bottom = sb.geometry().top() if sb.isVisible() else w.height()
        return QRect(0, top, max(1, w.width()), max(1, bottom - top))

    def docked(self) -> dict[str, QDockWidget]:
        """The docks shown in the window (not floating, not behind another tab)."""
        w = self.window
        inside = w.rect()
        return {n: d for n, d in self.docks.items() if d.isVisible() and not d.isFloating()
                and w.dockWidgetArea(d) != Qt.DockWidgetArea.NoDockWidgetArea and inside.contains(d.geometry())}

    def record(self) -> None:
        """The user's proportions of the current workspace: each shown dock's size as a share of the dock area."""
        area = self.area()
        shown = self.docked()
        if not shown:
            return
        mem = self.memory.setdefault(self.current, Memory())
        mem.fractions = {n: (d.width() / area.width(), d.height() / area.height()) for n, d in shown.items()}

    def fraction_targets(self) -> dict:
        """The remembered proportions in this window's pixels: dock name -> (width, height), for each shown dock
        (a tab raised since: its group's proportions)."""
        fr, area = self.memory[self.current].fractions, self.area()
        w, targets = self.window, {}
        for name, dock in self.docked().items():
            share = fr.get(name) or next((fr[t.objectName()] for t in w.tabifiedDockWidgets(dock)
                                          if t.objectName() in fr), None)
            if share is not None:
                targets[name] = (round(share[0] * area.width()), round(share[1] * area.height()))
        return targets

    def targets(self) -> dict:
        mem = self.memory.get(self.current)
        return self.fraction_targets() if mem is not None and mem.fractions else self.design_targets()

    def reapply(self) -> None:
        """After a resize (or a switch, a reset, the panels built): the proportions the user left, or the design."""
        if self.window.isVisible():
            self.apply_sizes(self.targets())

    def apply_sizes(self, targets: dict) -> None:
        """Give each dock its target size (dock name -> (width, height)); a dock's group (its tab bar) and the
        separators are measured and made up for in up to three passes."""
        w = self.window
        self.hold_adjusting()
        shown = {n: self._shown(n) for n in targets}
        names = [n for n, d in shown.items() if d is not None]
        if not names:
            return
        ask = {n: list(targets[n]) for n in names}
        for _ in range(3):
            docks = [self.docks[n] for n in names]
            w.resizeDocks(docks, [max(1, ask[n][0]) for n in names], _H)
            w.resizeDocks(docks, [max(1, ask[n][1]) for n in names], _V)
            w.layout().activate()
            off = False
            for n in names:
                got = shown[n].size()
                for k, size in enumerate((got.width(), got.height())):
                    miss = targets[n][k] - size
                    if abs(miss) > 2 and abs(ask[n][k] - targets[n][k]) < 80:  # (not past what a tab bar takes)
                        ask[n][k] += miss
                        off = True
            if not off:
                break
        self.show_tab_bars()

    def show_tab_bars(self) -> None:
        """The tab bars of the groups of tabbed docks on screen, shown (a tab bar the main window takes again from
        the ones it keeps, after a workspace was built anew, stays hidden otherwise)."""
        inside = self.window.rect()
        for bar in self.window.findChildren(QTabBar, options=Qt.FindChildOption.FindDirectChildrenOnly):
            if bar.isHidden() and bar.count() > 1 and inside.contains(bar.geometry()):
                bar.show()

    def _shown(self, name: str) -> Optional[QDockWidget]:
        """The dock shown in ``name``'s place: itself, or the raised tab of its group (docked, not floating)."""
        dock, inside = self.docks[name], self.window.rect()
        for d in [dock, *self.window.tabifiedDockWidgets(dock)]:  # (a tab behind another lies outside the window)
            if d.isVisible() and not d.isFloating() and inside.contains(d.geometry()):
                return d
        return None

    # ---- events the window forwards
    def window_resized(self) -> None:
        size = self.window.size()
        if self.last_size != size:  # (the first show too: a restored workspace gets its proportions then)
            self.hold_adjusting()  # the docks' resizes that follow are the window's doing, not a drag
            self._resize_timer.start()
        self.last_size = size

    def mouse_released(self) -> None:
        """The end of a drag of a separator between docks (the main window handles those itself)."""
        self._later(0, self._record_if_user)

    def _dock_moved(self, *_) -> None:
        if not self.adjusting:
            self._later(50, self._record_if_user)

    def _record_if_user(self) -> None:
        if not self._resize_timer.isActive() and self.window.isVisible():
            self.record()

    def _later(self, ms: int, slot) -> None:
        """Call ``slot`` in ``ms`` milliseconds, unless the window is gone by then."""
        QTimer.singleShot(ms, self.window, slot)

    def hold_adjusting(self) -> None:
        """Dock moves and resizes during the next moments are the window's doing, not the user's."""
        self.adjusting = True
        self._adjust_timer.start()

    def _end_adjusting(self) -> None:
        self.adjusting = False


def build_workspace_bar(window: QMainWindow, layout: DockLayout, menu: QMenu) -> QToolBar:
    """The workspace bar under the menu (one checkable button a workspace, Ctrl+1…), the same actions in
    ``menu``, and the bar's own menu with "Reset this workspace"."""
    bar = QToolBar("Workspaces", window)
    bar.setObjectName("workspaceBar")
    bar.setMovable(False)
    bar.setFloatable(False)
    bar.toggleViewAction().setEnabled(False)  # never hidden: the workspaces are reached by it
    bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    group = QActionGroup(window)
    group.setExclusive(True)
    for i, ws in enumerate(WORKSPACES):
        a = QAction(ws.title, window)
        a.setCheckable(True)
        a.setShortcut(shortcut(i))
        a.setToolTip(f"{ws.title.replace('&&', '&')} ({shortcut(i)}): {ws.help}")
        a.setStatusTip(ws.help)
        a.setData(ws.key)
        a.triggered.connect(lambda _checked=False, key=ws.key: layout.switch(key))
        group.addAction(a)
        bar.addAction(a)
        menu.addAction(a)
        window.addAction(a)  # (listed with the window's shortcuts)
        layout.actions[ws.key] = a
    bar.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)

    def bar_menu(pos) -> None:
        m = QMenu(bar)
        m.addAction("Reset this workspace", layout.reset_current)
        m.exec(bar.mapToGlobal(pos))

    bar.customContextMenuRequested.connect(bar_menu)
    window.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
    layout._check_action()
    return bar


def add_panel_actions(layout: DockLayout, menu: QMenu) -> dict[str, QAction]:
    """One checkable item a panel in ``menu`` (checked: the panel is part of the current workspace): a panel
    not shown, or buried behind another tab, is shown and raised (:meth:`DockLayout.show_dock`); a panel in
    view is closed. They follow the docks' own close buttons."""
    actions = {}
    for name, dock in layout.docks.items():
        a = QAction(dock.windowTitle(), menu)
        a.setCheckable(True)
        a.setChecked(dock.toggleViewAction().isChecked())
        a.setObjectName(f"view-{name}")
        a.triggered.connect(lambda _checked=False, n=name, act=a: (
            layout.view_toggled(n), act.setChecked(layout.docks[n].toggleViewAction().isChecked())))
        dock.toggleViewAction().toggled.connect(a.setChecked)
        menu.addAction(a)
        actions[name] = a
    return actions
