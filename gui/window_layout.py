"""The main window's dock layout: the default arrangement and its sizes, the first window size, and the layout's
proportions kept across resizes (the sampler column its width, the faces and plots columns their share of the rest,
each column its split between top and bottom, as the user last dragged them; a shrink that squeezed them to their
minimums is undone when the window grows back).

:class:`DockLayout` works on the window's ``docks`` (object name → dock); the window owns one
(``window.dock_layout``) and forwards its resize, mouse-release and sampler-dock events to it.
"""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDockWidget, QMainWindow

#: The first window size (when it fits the screen's available area; else that area, less a margin).
FIRST_SIZE = (1600, 1000)
#: Preferred width of the sampler column; a larger window gives the extra width to the faces and plots.
SAMPLER_WIDTH = 290
#: Smallest useful widths/heights of the docks' contents: together they fit a 1280×720 screen.
DOCK_MINIMUM = {
    "samplerDock": (230, 200), "modelDataDock": (200, 150), "faceGridDock": (240, 150), "inspectorDock": (240, 160),
    "pairPlotDock": (280, 180), "componentsDock": (280, 150), "correlationsDock": (280, 150), "pcaDock": (280, 150),
    "compareDock": (280, 150), "attributesDock": (280, 150), "photoDock": (240, 150), "directionsDock": (280, 150),
    "pathDock": (280, 150), "atlasDock": (280, 150),
}


def parse_split(value) -> Optional[tuple]:
    """A saved ``window/split`` ("0.5,0.45,0.55": three shares between 0.05 and 0.95), or None when it is not one."""
    try:
        parts = tuple(float(v) for v in str(value).split(","))
    except (TypeError, ValueError):
        return None
    return parts if len(parts) == 3 and all(0.05 <= v <= 0.95 for v in parts) else None


class DockLayout:
    """The arrangement and the proportions of ``window``'s docks."""

    def __init__(self, window: QMainWindow) -> None:
        self.window = window
        self.sampler_pref = SAMPLER_WIDTH  # the sampler column's width, as the user last dragged it
        self.last_size = None
        # (faces share of the width, faces share of its column, plots share of theirs)
        self.split: Optional[tuple] = None
        self.defaults_pending = False
        self.adjusting = False  # True while the window itself resizes docks (not the user)
        self._adjust_timer = QTimer(window)
        self._adjust_timer.setSingleShot(True)
        self._adjust_timer.setInterval(150)
        self._adjust_timer.timeout.connect(self._end_adjusting)

    @property
    def docks(self) -> dict[str, QDockWidget]:
        return self.window.docks

    # ---- the default layout
    def default_layout(self) -> None:
        w, d = self.window, self.docks
        for dock in d.values():
            dock.setFloating(False)
            w.removeDockWidget(dock)
        L, R = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        w.addDockWidget(L, d["samplerDock"])
        # the sampler needs the whole left column (parameters, conditions, diagnostics): model & data is a tab
        w.tabifyDockWidget(d["samplerDock"], d["modelDataDock"])
        w.addDockWidget(R, d["faceGridDock"])
        w.splitDockWidget(d["faceGridDock"], d["pairPlotDock"], Qt.Orientation.Horizontal)
        w.splitDockWidget(d["faceGridDock"], d["inspectorDock"], Qt.Orientation.Vertical)
        w.splitDockWidget(d["pairPlotDock"], d["componentsDock"], Qt.Orientation.Vertical)
        tabs = ("componentsDock", "correlationsDock", "pcaDock", "compareDock", "attributesDock", "directionsDock",
                "pathDock", "atlasDock")
        for first, second in zip(tabs, tabs[1:]):
            w.tabifyDockWidget(d[first], d[second])
        w.tabifyDockWidget(d["faceGridDock"], d["photoDock"])  # a photo opened is shown in the grid's place
        for dock in d.values():
            dock.show()
        d["faceGridDock"].raise_()
        d["componentsDock"].raise_()
        d["samplerDock"].raise_()
        self.sampler_pref = SAMPLER_WIDTH
        self.default_sizes()
        self.defaults_pending = True
        QTimer.singleShot(0, self._pending_default_sizes)  # once more after the window got its size

    def _pending_default_sizes(self) -> None:
        if self.defaults_pending:  # (not when a saved layout was restored meanwhile)
            self.defaults_pending = False
            self.default_sizes()

    def default_sizes(self) -> None:
        """Split the window's size between the docks: the sampler column at its preferred width, the rest
        shared by the faces/inspector and the plots columns; nothing below its minimum."""
        w, d = self.window, self.docks
        self.hold_adjusting()
        W, H = max(w.width(), 800), max(w.height(), 500)
        left = min(self.sampler_pref, int(0.3 * W))
        rest = max(2 * 260, W - left - 16)
        w.resizeDocks([d["samplerDock"], d["faceGridDock"], d["pairPlotDock"]], [left, rest // 2, rest - rest // 2],
                      Qt.Orientation.Horizontal)
        col = max(2 * 180, H - 90)
        w.resizeDocks([d["faceGridDock"], d["inspectorDock"]], [int(0.45 * col), col - int(0.45 * col)],
                      Qt.Orientation.Vertical)
        w.resizeDocks([d["pairPlotDock"], d["componentsDock"]], [int(0.55 * col), col - int(0.55 * col)],
                      Qt.Orientation.Vertical)
        self.split = (0.5, 0.45, 0.55)

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

    # ---- layout memory
    def restore(self, st: QSettings) -> None:
        """The sampler column's width and the split proportions saved with a restored window state."""
        pref = st.value("window/samplerWidth")
        try:
            self.sampler_pref = max(DOCK_MINIMUM["samplerDock"][0], int(pref)) if pref is not None else SAMPLER_WIDTH
        except (TypeError, ValueError):
            pass
        split = parse_split(st.value("window/split"))
        if split is not None:
            self.split = split

    def save(self, st: QSettings) -> None:
        st.setValue("window/samplerWidth", int(self.sampler_pref))
        if self.split is not None:
            st.setValue("window/split", ",".join(f"{v:.4f}" for v in self.split))

    # ---- events the window forwards
    def sampler_resized(self, dock: QDockWidget) -> None:
        """A sampler dock resized while the window kept its size: the user dragged the separator."""
        if (self.last_size is not None and self.window.size() == self.last_size and not self.adjusting
                and self.sampler_docked()):
            self.sampler_pref = max(DOCK_MINIMUM["samplerDock"][0], dock.width())

    def window_resized(self) -> None:
        size = self.window.size()
        if self.last_size is not None and self.last_size != size:
            self.hold_adjusting()  # the docks' resizes that follow are the window's doing, not a drag
            QTimer.singleShot(0, self.keep_proportions)
        self.last_size = size

    # ---- the proportions
    def sampler_docked(self) -> bool:
        dock = self.docks["samplerDock"]
        return (dock.isVisible() and not dock.isFloating()
                and self.window.dockWidgetArea(dock) in (Qt.DockWidgetArea.LeftDockWidgetArea,
                                                         Qt.DockWidgetArea.RightDockWidgetArea))

    def shown_in_group(self, name: str) -> Optional[QDockWidget]:
        """The dock shown in ``name``'s place: itself, or the raised tab of its tab group (docked, not floating)."""
        dock = self.docks[name]
        for d in [dock, *self.window.tabifiedDockWidgets(dock)]:
            if d.isVisible() and not d.isFloating():
                return d
        return None

    def grid(self) -> Optional[tuple]:
        """(faces, inspector, plots, analysis) docks as they are shown when the four stand as the default layout
        puts them (faces left of plots, each above its partner); None after the user rearranged them."""
        docks = [self.shown_in_group(n) for n in ("faceGridDock", "inspectorDock", "pairPlotDock", "componentsDock")]
        if any(d is None for d in docks) or len({id(d) for d in docks}) < 4:
            return None
        f, i, p, c = (d.geometry() for d in docks)
        side_by_side = f.right() < p.left() and abs(f.top() - p.top()) <= 8
        stacked = (abs(i.left() - f.left()) <= 8 and i.top() >= f.bottom() - 8
                   and abs(c.left() - p.left()) <= 8 and c.top() >= p.bottom() - 8)
        return tuple(docks) if side_by_side and stacked else None

    def docks_bottom(self) -> int:
        """The y where the docks end (the status bar's top): a column's lower group, tab bar included, ends there."""
        sb = self.window.statusBar()
        return sb.geometry().top() if sb.isVisible() else self.window.height()

    def remember_split(self) -> None:
        """The faces column's share of the width and each column's upper share of its height, measured from the
        groups' positions (a group's tab bar belongs to its share, as ``resizeDocks`` counts it)."""
        grid = self.grid()
        if grid is None:
            return
        f, i, p, c = (d.geometry() for d in grid)
        bottom = self.docks_bottom()
        self.split = (f.width() / max(1, f.width() + p.width()), (i.top() - f.top()) / max(1, bottom - f.top()),
                      (c.top() - p.top()) / max(1, bottom - p.top()))

    def keep_proportions(self) -> None:
        """After a window resize: the sampler column back at its width (at most 35 % of the window), the faces and
        plots columns at their remembered share of the rest, each column's top/bottom split as remembered."""
        w = self.window
        self.hold_adjusting()
        sampler = self.docks["samplerDock"]
        want = max(DOCK_MINIMUM["samplerDock"][0], min(self.sampler_pref, int(0.35 * w.width())))
        grid = self.grid()
        if grid is None or self.split is None:
            if self.sampler_docked() and abs(sampler.width() - want) > 4:
                w.resizeDocks([sampler], [want], Qt.Orientation.Horizontal)
            return
        faces, insp, plots, analysis = grid
        wf, hf, hp = self.split
        if self.sampler_docked() and w.dockWidgetArea(sampler) != w.dockWidgetArea(faces):
            spare = faces.width() + plots.width() + sampler.width() - want
            w.resizeDocks([sampler, faces, plots], [want, int(spare * wf), spare - int(spare * wf)],
                          Qt.Orientation.Horizontal)
        else:
            spare = faces.width() + plots.width()
            w.resizeDocks([faces, plots], [int(spare * wf), spare - int(spare * wf)], Qt.Orientation.Horizontal)
        bottom = self.docks_bottom()
        for top, low, share in ((faces, insp, hf), (plots, analysis, hp)):
            col = bottom - top.geometry().top()
            w.resizeDocks([top, low], [int(col * share), col - int(col * share)], Qt.Orientation.Vertical)

    def hold_adjusting(self) -> None:
        """Dock resizes during the next moments are the window's doing, not the user's drag."""
        self.adjusting = True
        self._adjust_timer.start()

    def _end_adjusting(self) -> None:
        self.adjusting = False
