"""The mouse wheel never changes a value the user did not pick.

Sliders, spin boxes and combo boxes anywhere in the app (every panel and dialog) take the wheel only while they
have the keyboard focus the user gave them: a click, Tab or a shortcut (not the focus a window hands its first
control when it opens, nor the wheel itself). Over any other the wheel scrolls the scroll area it sits in (the panel
scrolls as the user meant), or does nothing. A tab bar (a group of docked panels, a panel's tabs) never changes
its tab on the wheel: the wheel over it only scrolls what it sits in. Plots follow the same
rule with their own filter (:func:`gui.qt_widgets.setup_plot`): unfocused inside a scroll area, the wheel scrolls
the area; otherwise it zooms.

:func:`install_wheel_guard` puts one filter on the application (the window does it once, at its creation).
"""
from __future__ import annotations

import sys
from typing import Optional

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import (
    QAbstractScrollArea, QAbstractSlider, QAbstractSpinBox, QApplication, QComboBox, QScrollBar, QTabBar, QWidget,
)

#: The controls whose value the wheel changes (scroll bars are sliders too, and keep the wheel).
VALUE_CONTROLS = (QAbstractSlider, QAbstractSpinBox, QComboBox)
#: How a user gives a control the focus (the others: a window opening or coming back, a program's setFocus).
PICKED = (Qt.FocusReason.MouseFocusReason, Qt.FocusReason.TabFocusReason, Qt.FocusReason.BacktabFocusReason,
          Qt.FocusReason.ShortcutFocusReason)
#: Focus changes that keep what the user picked: the window left and came back, a combo box's list opened.
KEEP = (Qt.FocusReason.ActiveWindowFocusReason, Qt.FocusReason.PopupFocusReason)
#: The dynamic property that marks a control the user gave the focus to.
PICKED_PROPERTY = "wheelPicked"


def is_value_control(obj) -> bool:
    """True for a slider, spin box or combo box (not a scroll bar)."""
    return isinstance(obj, VALUE_CONTROLS) and not isinstance(obj, QScrollBar)


def _is_plot(w) -> bool:
    """A pyqtgraph plot (a scroll area of Qt's, which zooms with the wheel, never scrolls)."""
    pg = sys.modules.get("pyqtgraph")  # not imported yet: no plot exists (and the start stays light)
    return pg is not None and isinstance(w, pg.GraphicsView)


def scroll_area_of(widget: QWidget) -> Optional[QAbstractScrollArea]:
    """The nearest scroll area (QScrollArea, a list, a table …) that ``widget`` sits inside, if any."""
    p = widget.parentWidget()
    while p is not None:
        if isinstance(p, QAbstractScrollArea) and not _is_plot(p):
            return p
        p = p.parentWidget()
    return None


def scroll_instead(widget: QWidget, ev) -> bool:
    """Give the wheel event ``ev`` to the scroll bar of the scroll area around ``widget`` (the horizontal one for
    a sideways wheel or Alt+wheel). False when ``widget`` is in no scroll area."""
    area = scroll_area_of(widget)
    if area is None:
        return False
    delta = ev.angleDelta()
    sideways = bool(ev.modifiers() & Qt.KeyboardModifier.AltModifier) or abs(delta.x()) > abs(delta.y())
    bar = area.horizontalScrollBar() if sideways else area.verticalScrollBar()
    QApplication.sendEvent(bar, ev)
    return True


def takes_wheel(control: QWidget) -> bool:
    """True when the wheel may change ``control``: it has the focus, and the user gave it."""
    return control.hasFocus() and bool(control.property(PICKED_PROPERTY))


def calm_focus(widget: QWidget) -> None:
    """Take the wheel out of the widget's focus policy (Qt's spin and combo boxes take the focus on a wheel)."""
    policy = widget.focusPolicy()
    if policy == Qt.FocusPolicy.WheelFocus:
        widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)


class WheelGuard(QObject):
    """The application's filter: a value control the user did not pick hands the wheel to its scroll area."""

    def eventFilter(self, obj, ev) -> bool:  # noqa: N802
        kind = ev.type()
        if kind == QEvent.Type.Wheel:
            if isinstance(obj, QTabBar) or (is_value_control(obj) and not takes_wheel(obj)):
                if scroll_instead(obj, ev):
                    ev.accept()
                else:
                    ev.ignore()  # a real wheel goes on to the parents; the control never sees it
                return True
        elif kind in (QEvent.Type.FocusIn, QEvent.Type.FocusOut):
            if ev.reason() not in KEEP and is_value_control(obj):
                obj.setProperty(PICKED_PROPERTY, kind == QEvent.Type.FocusIn and ev.reason() in PICKED)
        elif kind == QEvent.Type.Polish and is_value_control(obj):
            calm_focus(obj)
        return False


def install_wheel_guard(app: Optional[QApplication] = None) -> WheelGuard:
    """Put the guard on the application, once (later calls return the same guard). Controls that exist already
    get their calm focus policy now; later ones when Qt polishes them, before they are first shown."""
    app = app or QApplication.instance()
    guard = app.findChild(WheelGuard, "wheelGuard")
    if guard is None:
        guard = WheelGuard(app)
        guard.setObjectName("wheelGuard")
        app.installEventFilter(guard)
        for w in QApplication.allWidgets():
            if is_value_control(w):
                calm_focus(w)
    return guard
