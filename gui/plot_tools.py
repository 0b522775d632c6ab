"""Plot tools: what the mouse does on a 2-D plot, chosen from a small tool bar or by a key.

:class:`PlotTools` holds the mode of one ``pg.PlotWidget`` (:class:`PlotMode`: pan/zoom, decode, path, select) and
wires the plot: the keys of the modes while the plot has focus (P, D, T, S; Esc goes back to pan/zoom), the cursor
of the mode, and the mouse. In Decode a press decodes the point under the mouse and a drag follows it
(``decode_at``); in Path a click places a point (``path_point``). In Select the shape (``select_shape``: a box or a
lasso dragged, a polygon clicked vertex by vertex and closed by a double-click, a click on its first vertex or
Enter) is drawn as an outline and handed over in view coordinates (``selection_drawn``) with how it meets the
current selection: the tool bar's choice, or Shift (add), Ctrl (subtract), Shift+Ctrl (intersect) held at the
press; Esc drops an unfinished polygon, else clears the selection (``selection_cleared``) and goes back to pan/zoom.
Alt (decode) and Shift (a path point that adds a bend, outside Select) work in any mode, as accelerators only.
:class:`PlotToolBar` shows the modes as checkable buttons, and in Select the shapes and operations. The plot's
owner decides what a decode, a path point or a drawn selection means.
"""
from __future__ import annotations

import enum
from typing import Optional

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QToolButton, QWidget


class PlotMode(enum.Enum):
    """What a left click or drag does on the plot."""

    PAN = "pan"
    DECODE = "decode"
    PATH = "path"
    SELECT = "select"


#: Each mode's button text, key and what it does (the button's tooltip).
MODE_INFO = {
    PlotMode.PAN: ("Pan", "P", "Pan/zoom: drag to move the view; the wheel zooms once the plot was clicked"),
    PlotMode.DECODE: ("Decode", "D", "Decode: click or drag to see the face at that point of the plane "
                                     "(Alt+click does the same in any mode)"),
    PlotMode.PATH: ("Path", "T", "Path: click a first point, then a second; the faces along the line are decoded "
                                 "at once in the Path panel (Shift+click adds a bend to the line)"),
    PlotMode.SELECT: ("Select", "S", "Select training z-points: drag a box or a lasso, or click a polygon's "
                                     "vertices (double-click closes it); Shift: add, Ctrl: subtract, Shift+Ctrl: "
                                     "intersect; Esc clears"),
}

#: The shapes of the Select mode: (button text, tooltip).
SELECT_SHAPES = {
    "box": ("Box", "drag a rectangle"),
    "lasso": ("Lasso", "drag around the points (the outline closes itself)"),
    "polygon": ("Polygon", "click the vertices; double-click, Enter or a click on the first vertex closes it"),
}
#: The operations of the Select mode: (button text, tooltip); a modifier held at the press wins.
SELECT_OPS = {
    "replace": ("New", "a new selection replaces the old one"),
    "add": ("+", "add to the selection (or hold Shift)"),
    "subtract": ("−", "subtract from the selection (or hold Ctrl)"),
    "intersect": ("∩", "keep what is in both (or hold Shift+Ctrl)"),
}
#: Pixels the pointer moves before a lasso takes a new vertex; a drag shorter than this selects nothing.
LASSO_STEP_PX = 3.0
#: A click this close (pixels) to a polygon's first vertex closes it.
CLOSE_PX = 8.0

#: The cursor over the plot in each mode.
MODE_CURSOR = {
    PlotMode.PAN: Qt.CursorShape.ArrowCursor,
    PlotMode.DECODE: Qt.CursorShape.CrossCursor,
    PlotMode.PATH: Qt.CursorShape.PointingHandCursor,
    PlotMode.SELECT: Qt.CursorShape.CrossCursor,
}


def mode_tooltip(mode: PlotMode) -> str:
    text, key, what = MODE_INFO[mode]
    return f"{what}\nKey: {key} (while the plot has focus); Esc: back to Pan"


class PlotTools(QObject):
    """The mode of one plot and its mouse gestures (see the module's text)."""

    mode_changed = Signal(object)  # the new PlotMode
    decode_at = Signal(object)  # a scene position (QPointF) to decode: the press, then each move of a drag
    decode_ended = Signal()  # the button released after a decode press or drag
    path_point = Signal(object, bool)  # a scene position placed on the path; True: Shift (add a bend)
    selection_drawn = Signal(str, object, str)  # shape, its vertices (k, 2) in view coordinates, operation
    selection_cleared = Signal()  # Esc in Select (no polygon being drawn)

    def __init__(self, plot, modes=(PlotMode.PAN, PlotMode.DECODE, PlotMode.PATH), parent=None) -> None:
        super().__init__(parent or plot)
        self.plot = plot
        self.modes = tuple(modes)
        self._mode = PlotMode.PAN
        self._held: Optional[str] = None  # "decode", "path" or "select" while the left button is held
        self.select_shape = "lasso"
        self.select_op = "replace"
        self._drawn: list = []  # the Select outline being drawn (scene positions)
        self._draw_op = "replace"
        self._outline = None  # its pg.PlotCurveItem
        #: The keys of the modes (read while the plot has focus, so typing elsewhere is never taken).
        self.keys = {QKeySequence(MODE_INFO[m][1])[0].key(): m for m in self.modes}
        self.keys[Qt.Key.Key_Escape] = PlotMode.PAN
        self.keys[Qt.Key.Key_Return] = self.keys[Qt.Key.Key_Enter] = None  # (closes a polygon: see _key_press)
        plot.installEventFilter(self)
        plot.viewport().installEventFilter(self)
        self._apply_cursor()

    @property
    def mode(self) -> PlotMode:
        return self._mode

    def set_mode(self, mode: PlotMode) -> None:
        """Switch to ``mode`` (a mode this plot does not offer is ignored)."""
        mode = PlotMode(mode)
        if mode not in self.modes or mode is self._mode:
            return
        self._mode = mode
        self._held = None
        self._drop_outline()
        self._apply_cursor()
        self.mode_changed.emit(mode)

    def _apply_cursor(self) -> None:
        self.plot.viewport().setCursor(MODE_CURSOR[self._mode])

    def in_view(self, scene_pos) -> bool:
        """True when ``scene_pos`` lies inside the plot's data area (not on an axis or label)."""
        return self.plot.getPlotItem().getViewBox().sceneBoundingRect().contains(scene_pos)

    def eventFilter(self, obj, ev) -> bool:  # noqa: N802
        t = ev.type()
        if t == QEvent.Type.ShortcutOverride and obj is self.plot and self._key_mode(ev) is not None:
            ev.accept()  # the key is the plot's (Esc leaving a tool before the window's "Cancel running job")
            return True
        if t == QEvent.Type.KeyPress and obj is self.plot and self._key_mode(ev) is not None:
            return self._key_press(ev)
        if obj is self.plot:
            return False
        if t == QEvent.Type.MouseButtonDblClick and self._polygon_open():
            self._finish_select()  # (the double-click's first click placed the last vertex)
            return True
        if t == QEvent.Type.MouseButtonPress and ev.button() == Qt.MouseButton.LeftButton:
            return self._pressed(ev)
        if t == QEvent.Type.MouseMove and self._polygon_open():
            self._show_outline(self._drawn + [self.plot.mapToScene(ev.position().toPoint())])
            return False
        if self._held is None or t not in (QEvent.Type.MouseMove, QEvent.Type.MouseButtonRelease):
            return False
        if t == QEvent.Type.MouseMove:
            pos = self.plot.mapToScene(ev.position().toPoint())
            if self._held == "decode":
                self.decode_at.emit(pos)
            elif self._held == "select":
                self._drag_to(pos)
            return True  # no panning while a tool holds the button
        if ev.button() == Qt.MouseButton.LeftButton:
            held, self._held = self._held, None
            if held == "decode":
                self.decode_ended.emit()
            elif held == "select":
                self._finish_select()
        return True

    def _key_press(self, ev) -> bool:
        """A key of the modes; in Select, Esc drops an unfinished polygon or clears the selection, Enter closes it."""
        key = ev.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._finish_select()
            return True
        if key == Qt.Key.Key_Escape and self._mode is PlotMode.SELECT:
            if self._drawn:
                self._drop_outline()
                return True
            self.selection_cleared.emit()
        self.set_mode(self._key_mode(ev))
        return True

    def _key_mode(self, ev) -> Optional[PlotMode]:
        """The mode a key press asks for (None: not a key of the modes; Esc in pan/zoom is left to others)."""
        mods = ev.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        key = Qt.Key(ev.key())
        if mods != Qt.KeyboardModifier.NoModifier or key not in self.keys:
            return None
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            return self._mode if self._polygon_open() else None
        if key == Qt.Key.Key_Escape and self._mode is PlotMode.PAN:
            return None
        return self.keys[key]

    def _pressed(self, ev) -> bool:
        pos = self.plot.mapToScene(ev.position().toPoint())
        if not self.in_view(pos):
            return False
        mods = ev.modifiers()
        alt, shift = bool(mods & Qt.KeyboardModifier.AltModifier), bool(mods & Qt.KeyboardModifier.ShiftModifier)
        if self._mode is PlotMode.SELECT and not alt:
            self.plot.setFocus(Qt.FocusReason.MouseFocusReason)
            return self._select_press(pos, mods)
        if alt or (self._mode is PlotMode.DECODE and not shift):
            held = "decode"
        elif shift or self._mode is PlotMode.PATH:
            held = "path"
        else:
            return False  # pan/zoom: pyqtgraph's own handling (and clicks on points)
        self.plot.setFocus(Qt.FocusReason.MouseFocusReason)  # the keys of the modes work from here on
        self._held = held
        if held == "decode":
            self.decode_at.emit(pos)
        else:
            self.path_point.emit(pos, shift)
        return True


    # ---- the Select mode
    @staticmethod
    def op_of(mods, default: str = "replace") -> str:
        """The operation modifier keys ask for: Shift add, Ctrl subtract, both intersect; none: ``default``."""
        shift = bool(mods & Qt.KeyboardModifier.ShiftModifier)
        ctrl = bool(mods & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.MetaModifier))
        return "intersect" if shift and ctrl else "add" if shift else "subtract" if ctrl else default

    def set_select_shape(self, shape: str) -> None:
        if shape in SELECT_SHAPES:
            self._drop_outline()
            self.select_shape = shape
            self.mode_changed.emit(self._mode)  # (the tool bar shows it)

    def set_select_op(self, op: str) -> None:
        if op in SELECT_OPS:
            self.select_op = op
            self.mode_changed.emit(self._mode)

    def _polygon_open(self) -> bool:
        return self._mode is PlotMode.SELECT and self.select_shape == "polygon" and bool(self._drawn)

    def _select_press(self, pos, mods) -> bool:
        if self.select_shape == "polygon":
            if not self._drawn:
                self._draw_op = self.op_of(mods, self.select_op)
            elif self._pixels(self._drawn[0], pos) <= CLOSE_PX and len(self._drawn) >= 3:
                self._finish_select()
                return True
            self._drawn.append(pos)
            self._show_outline(self._drawn)
            return True
        self._draw_op = self.op_of(mods, self.select_op)
        self._drawn = [pos]
        self._held = "select"
        return True

    @staticmethod
    def _pixels(a, b) -> float:
        return float(np.hypot(a.x() - b.x(), a.y() - b.y()))

    def _drag_to(self, pos) -> None:
        if self.select_shape == "box":
            self._drawn = [self._drawn[0], pos]
        elif self._pixels(self._drawn[-1], pos) >= LASSO_STEP_PX:
            self._drawn.append(pos)
        self._show_outline(self._drawn)

    def _scene_polygon(self, pts) -> list:
        if self.select_shape == "box" and len(pts) == 2:
            (a, b), t = pts, type(pts[0])
            return [a, t(b.x(), a.y()), b, t(a.x(), b.y())]
        return list(pts)

    def _show_outline(self, pts) -> None:
        import pyqtgraph as pg

        pi = self.plot.getPlotItem()
        if self._outline is None:
            self._outline = pg.PlotCurveItem(pen=pg.mkPen((20, 20, 20), width=1.5, style=Qt.PenStyle.DashLine))
            self._outline.setZValue(50)
            pi.addItem(self._outline)
        v = self._to_view(self._scene_polygon(pts))
        if len(v) and self.select_shape != "polygon" or len(v) > 2:
            v = np.vstack([v, v[:1]])
        self._outline.setData(v[:, 0], v[:, 1]) if len(v) else self._outline.setData([], [])

    def _to_view(self, pts) -> np.ndarray:
        vb = self.plot.getPlotItem().getViewBox()
        return np.array([(q.x(), q.y()) for q in (vb.mapSceneToView(p) for p in pts)], float).reshape(-1, 2)

    def _drop_outline(self) -> None:
        self._drawn = []
        if self._outline is not None:
            self._outline.setData([], [])

    def _finish_select(self) -> None:
        """The drawn shape, closed, handed over (a click without a drag, or a polygon of under 3 vertices: nothing)."""
        pts, shape = self._scene_polygon(self._drawn), self.select_shape
        big = len(pts) >= 3 and max(self._pixels(pts[0], p) for p in pts) >= LASSO_STEP_PX
        v = self._to_view(pts) if big else None
        self._drop_outline()
        if v is not None:
            self.selection_drawn.emit(shape, v, self._draw_op)


class PlotToolBar(QWidget):
    """The modes of a :class:`PlotTools` as small checkable buttons (exactly one checked)."""

    def __init__(self, tools: PlotTools, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("plotToolBar")
        self.tools = tools
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(1)
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.buttons: dict[PlotMode, QToolButton] = {}
        for mode in PlotMode:
            text, key, _what = MODE_INFO[mode]
            btn = QToolButton(self)  # a parent before setVisible: a parentless one would show as a window
            btn.setObjectName(f"plotTool_{mode.value}")
            btn.setText(text)
            btn.setCheckable(True)
            btn.setToolTip(mode_tooltip(mode))
            btn.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the plot keeps the focus (and its keys)
            btn.setStyleSheet("QToolButton { padding: 1px 5px; } QToolButton:checked { background: #cfe0f5;"
                              " border: 1px solid #5b8fd0; border-radius: 2px; }")
            btn.clicked.connect(lambda _on=False, m=mode: tools.set_mode(m))
            btn.setHidden(mode not in tools.modes)  # a mode this plot does not offer
            self.group.addButton(btn)
            lay.addWidget(btn)
            self.buttons[mode] = btn
        self.shape_buttons = self._choices(lay, SELECT_SHAPES, "selectShape", tools.set_select_shape)
        self.op_buttons = self._choices(lay, SELECT_OPS, "selectOp", tools.set_select_op)
        tools.mode_changed.connect(self._show_mode)
        self._show_mode(tools.mode)

    def _choices(self, lay, table: dict, name: str, choose) -> dict:
        """The Select mode's shapes or operations: exclusive small buttons, shown only in Select."""
        group = QButtonGroup(self)
        group.setExclusive(True)
        out = {}
        for key, (text, tip) in table.items():
            btn = QToolButton(self)
            btn.setObjectName(f"{name}_{key}")
            btn.setText(text)
            btn.setToolTip(tip)
            btn.setCheckable(True)
            btn.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            btn.setStyleSheet("QToolButton { padding: 1px 3px; color: #234; } QToolButton:checked {"
                              " background: #e4ecf7; border: 1px solid #7fa3d6; border-radius: 2px; }")
            btn.clicked.connect(lambda _on=False, k=key: choose(k))
            group.addButton(btn)
            lay.addWidget(btn)
            out[key] = btn
        return out

    def _show_mode(self, mode: PlotMode) -> None:
        self.buttons[mode].setChecked(True)
        select = mode is PlotMode.SELECT
        for key, btn in {**self.shape_buttons, **self.op_buttons}.items():
            btn.setVisible(select)
        self.shape_buttons[self.tools.select_shape].setChecked(True)
        self.op_buttons[self.tools.select_op].setChecked(True)
