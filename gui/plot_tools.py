"""Plot tools: what the mouse does on a 2-D plot, chosen from a small tool bar or by a key.

:class:`PlotTools` holds the mode of one ``pg.PlotWidget`` (:class:`PlotMode`: pan/zoom, decode, path; a select
mode is declared for later work) and wires the plot: the keys of the modes while the plot has focus (P, D, T; Esc
goes back to pan/zoom), the cursor of the mode, and the mouse. In Decode a press decodes the point under the
mouse and a drag follows it (``decode_at``); in Path a click places a point (``path_point``). Alt (decode) and
Shift (a path point that adds a bend) work in any mode, as accelerators only. :class:`PlotToolBar` shows the
modes as checkable buttons. The plot's owner decides what a decode or a path point means.
"""
from __future__ import annotations

import enum
from typing import Optional

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QToolButton, QWidget


class PlotMode(enum.Enum):
    """What a left click or drag does on the plot."""

    PAN = "pan"
    DECODE = "decode"
    PATH = "path"
    SELECT = "select"  # declared for the selection tools of later work: not offered yet


#: Each mode's button text, key and what it does (the button's tooltip).
MODE_INFO = {
    PlotMode.PAN: ("Pan", "P", "Pan/zoom: drag to move the view; the wheel zooms once the plot was clicked"),
    PlotMode.DECODE: ("Decode", "D", "Decode: click or drag to see the face at that point of the plane "
                                     "(Alt+click does the same in any mode)"),
    PlotMode.PATH: ("Path", "T", "Path: click a first point, then a second; the faces along the line are decoded "
                                 "at once in the Path panel (Shift+click adds a bend to the line)"),
    PlotMode.SELECT: ("Select", "S", "Select points (not available yet)"),
}

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

    def __init__(self, plot, modes=(PlotMode.PAN, PlotMode.DECODE, PlotMode.PATH), parent=None) -> None:
        super().__init__(parent or plot)
        self.plot = plot
        self.modes = tuple(modes)
        self._mode = PlotMode.PAN
        self._held: Optional[str] = None  # "decode" or "path" while the left button is held after a press
        #: The keys of the modes (read while the plot has focus, so typing elsewhere is never taken).
        self.keys = {QKeySequence(MODE_INFO[m][1])[0].key(): m for m in self.modes}
        self.keys[Qt.Key.Key_Escape] = PlotMode.PAN
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
            self.set_mode(self._key_mode(ev))
            return True
        if obj is self.plot:
            return False
        if t == QEvent.Type.MouseButtonPress and ev.button() == Qt.MouseButton.LeftButton:
            return self._pressed(ev)
        if self._held is None or t not in (QEvent.Type.MouseMove, QEvent.Type.MouseButtonRelease):
            return False
        if t == QEvent.Type.MouseMove:
            if self._held == "decode":
                self.decode_at.emit(self.plot.mapToScene(ev.position().toPoint()))
            return True  # no panning while a tool holds the button
        if ev.button() == Qt.MouseButton.LeftButton:
            held, self._held = self._held, None
            if held == "decode":
                self.decode_ended.emit()
        return True

    def _key_mode(self, ev) -> Optional[PlotMode]:
        """The mode a key press asks for (None: not a key of the modes; Esc in pan/zoom is left to others)."""
        mods = ev.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        mode = self.keys.get(Qt.Key(ev.key())) if mods == Qt.KeyboardModifier.NoModifier else None
        if ev.key() == Qt.Key.Key_Escape and self._mode is PlotMode.PAN:
            return None
        return mode

    def _pressed(self, ev) -> bool:
        pos = self.plot.mapToScene(ev.position().toPoint())
        if not self.in_view(pos):
            return False
        mods = ev.modifiers()
        alt, shift = bool(mods & Qt.KeyboardModifier.AltModifier), bool(mods & Qt.KeyboardModifier.ShiftModifier)
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
            btn.setHidden(mode not in tools.modes)  # Select: declared, not offered yet
            self.group.addButton(btn)
            lay.addWidget(btn)
            self.buttons[mode] = btn
        tools.mode_changed.connect(self._show_mode)
        self._show_mode(tools.mode)

    def _show_mode(self, mode: PlotMode) -> None:
        self.buttons[mode].setChecked(True)
