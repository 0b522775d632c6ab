"""The wheel never changes a value the user did not pick: an unfocused slider, spin box or combo box hands the
wheel to its scroll area (gui/wheel_guard.py). Offscreen: the events are sent, not made by a mouse (the real-window
scenario in tests/realwindow/ sends real ones)."""
from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")


def wheel(widget, clicks: int = -1, alt: bool = False):
    """Send ``clicks`` wheel notches (negative: towards the user, i.e. scroll down) to ``widget``'s centre."""
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    centre = QPointF(widget.width() / 2, widget.height() / 2)
    ev = QWheelEvent(centre, QPointF(widget.mapToGlobal(centre.toPoint())), QPoint(0, 0), QPoint(0, 120 * clicks),
                     Qt.MouseButton.NoButton,
                     Qt.KeyboardModifier.AltModifier if alt else Qt.KeyboardModifier.NoModifier,
                     Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, ev)
    QApplication.processEvents()
    return ev


@pytest.fixture
def small_inspector(window, qtbot):
    """The inspector floating in a small window: its scroll area has room to scroll."""
    dock = window.docks["inspectorDock"]
    dock.setFloating(True)
    dock.show()
    dock.resize(520, 300)
    qtbot.waitUntil(lambda: window.inspector.sliders[0].isVisible(), timeout=5000)
    from gui.wheel_guard import scroll_area_of

    area = scroll_area_of(window.inspector.sliders[0])
    assert area is not None
    qtbot.waitUntil(lambda: area.verticalScrollBar().maximum() > 50, timeout=5000)
    return window.inspector, area


def test_unfocused_controls_in_the_inspector_scroll_it(small_inspector):
    insp, area = small_inspector
    bar = area.verticalScrollBar()
    for control in (insp.sliders[0], insp.zoom, insp.sliders[1]):
        bar.setValue(0)
        control.clearFocus()
        before = control.value() if hasattr(control, "value") else control.currentIndex()
        wheel(control, -1)
        after = control.value() if hasattr(control, "value") else control.currentIndex()
        assert after == before, f"{control.objectName() or type(control).__name__} changed {before} → {after}"
        assert bar.value() > 0, f"the wheel over {type(control).__name__} did not scroll the inspector"
    down = bar.value()
    wheel(insp.sliders[0], +1)
    assert bar.value() < down  # and back up


@pytest.mark.parametrize("reason", ["MouseFocusReason", "TabFocusReason"])
def test_a_control_the_user_focused_takes_the_wheel(small_inspector, qtbot, reason):
    from PySide6.QtCore import Qt

    insp, area = small_inspector
    slider = insp.sliders[0]
    slider.window().activateWindow()
    slider.setFocus(getattr(Qt.FocusReason, reason))
    qtbot.waitUntil(slider.hasFocus, timeout=3000)
    bar = area.verticalScrollBar()
    bar.setValue(0)
    before = slider.value()
    wheel(slider, +1)
    assert slider.value() != before
    assert bar.value() == 0


def test_a_focus_the_user_did_not_give_leaves_the_value_alone(small_inspector, qtbot):
    """The focus a window gives its first control when it opens (or a program's setFocus) is no user's pick."""
    from PySide6.QtCore import Qt

    insp, area = small_inspector
    slider = insp.sliders[0]
    slider.window().activateWindow()
    for reason in (Qt.FocusReason.ActiveWindowFocusReason, Qt.FocusReason.OtherFocusReason):
        slider.clearFocus()
        slider.setFocus(reason)
        qtbot.waitUntil(slider.hasFocus, timeout=3000)
        before = slider.value()
        wheel(slider, -1)
        assert slider.value() == before, reason


def test_value_controls_are_never_focused_by_the_wheel(window):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QAbstractSlider, QAbstractSpinBox, QComboBox, QScrollBar

    controls = [w for t in (QAbstractSlider, QAbstractSpinBox, QComboBox) for w in window.findChildren(t)
                if not isinstance(w, QScrollBar)]
    assert len(controls) > 20
    wheel_focus = [f"{type(w).__name__} {w.objectName()}" for w in controls
                   if w.focusPolicy() == Qt.FocusPolicy.WheelFocus]
    assert not wheel_focus


def test_sampler_values_ignore_the_wheel(window):
    from gui.wheel_guard import scroll_area_of

    sp = window.sampler_panel
    fields = [sp.count, sp.seed, sp.picker] + [w for w in sp.controls.values()]
    assert len(fields) >= 4
    for control in fields:
        control.clearFocus()
        read = (lambda c=control: c.currentIndex()) if hasattr(control, "currentIndex") else \
            (lambda c=control: c.value()) if hasattr(control, "value") else (lambda c=control: c.text())
        before = read()
        area = scroll_area_of(control)
        at = area.verticalScrollBar().value() if area is not None else None
        wheel(control, -2)
        wheel(control, +1)
        assert read() == before, f"{type(control).__name__} changed {before} → {read()}"
        if area is not None and area.verticalScrollBar().maximum() > 0:
            assert area.verticalScrollBar().value() != at or at == area.verticalScrollBar().maximum()


def test_a_dialog_opened_later_is_guarded_too(window, qtbot):
    """Any spin box made after the window (a dialog's) is calm and scrolls its dialog's scroll area."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QDialog, QScrollArea, QSpinBox, QVBoxLayout, QWidget

    dlg = QDialog(window)
    qtbot.addWidget(dlg)
    inner = QWidget()
    lay = QVBoxLayout(inner)
    boxes = []
    for _ in range(12):
        b = QSpinBox()
        b.setRange(0, 100)
        b.setValue(50)
        lay.addWidget(b)
        boxes.append(b)
    area = QScrollArea()
    area.setWidget(inner)
    QVBoxLayout(dlg).addWidget(area)
    dlg.resize(200, 120)
    dlg.show()
    qtbot.waitUntil(lambda: area.verticalScrollBar().maximum() > 0, timeout=3000)
    assert boxes[0].focusPolicy() == Qt.FocusPolicy.StrongFocus
    wheel(boxes[0], -1)
    assert [b.value() for b in boxes] == [50] * 12
    assert area.verticalScrollBar().value() > 0
    dlg.close()


def test_the_wheel_over_a_tab_bar_never_changes_the_tab(window, qtbot):
    """A group of docked panels shows its tabs in a tab bar: the wheel passing over it must not switch panels."""
    from PySide6.QtWidgets import QTabBar

    bars = [b for b in window.findChildren(QTabBar) if b.isVisible() and b.count() > 1]
    assert bars, "the window shows no tabbed group of panels"
    for bar in bars:
        bar.setCurrentIndex(0)
        for clicks in (-1, -3, +2):
            wheel(bar, clicks)
            assert bar.currentIndex() == 0, f"the wheel switched tabs in {bar.tabText(0)!r}'s group"
