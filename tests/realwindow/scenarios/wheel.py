"""The real mouse wheel over the inspector's and the sampler's values changes none of them; the inspector scrolls.
Then a control the user clicked takes the wheel (issue 24, finding 2)."""
from __future__ import annotations


def _value(control):
    return control.currentIndex() if hasattr(control, "currentIndex") else control.value()


def _wheel_changes(rw, controls: dict, clicks: int) -> dict:
    """Wheel over each control (unfocused by the user): {name: [before, after, scroll before, scroll after]}."""
    from gui.wheel_guard import scroll_area_of

    out = {}
    for name, control in controls.items():
        area = scroll_area_of(control)
        bar = area.verticalScrollBar() if area is not None else None
        if bar is not None and bar.value():
            bar.setValue(0)
            rw.process(100)
        before, at = _value(control), bar.value() if bar is not None else None
        rw.wheel_over(control, clicks)
        out[name] = [before, _value(control), at, bar.value() if bar is not None else None,
                     bar.maximum() if bar is not None else None]
    return out


def _dialog_with_spin_boxes(rw):
    """A dialog made after the window, whose spin boxes sit in a scroll area (no panel has one today)."""
    from PySide6.QtWidgets import QDialog, QScrollArea, QSpinBox, QVBoxLayout, QWidget

    dlg = QDialog(rw.window)
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
    dlg.resize(220, 160)
    dlg.show()
    rw.wait_until(lambda: area.verticalScrollBar().maximum() > 0, 10, "the dialog's scroll bar")
    rw.activate(dlg)
    return dlg, boxes


def run(rw) -> dict:
    w = rw.window
    insp, sp = w.inspector, w.sampler_panel
    w.docks["inspectorDock"].raise_()
    rw.process(200)
    inspector = {"PC1 slider": insp.sliders[0], "zoom combo": insp.zoom}


    def sampler(every: bool = True):  # the picker last: a new sampler rebuilds the parameter fields
        fields = {"faces spin box": sp.count}
        fields.update({f"{k} field": c for k, c in list(sp.controls.items())[:None if every else 1]})
        return {**fields, "sampler combo": sp.picker}

    verdict = {"inspector": _wheel_changes(rw, inspector, -2), "sampler": _wheel_changes(rw, sampler(), -2)}
    verdict["sampler up"] = _wheel_changes(rw, sampler(every=False), +2)
    rw.wheel_over(insp.sliders[0], -3)
    rw.shot("inspector-scrolled")
    dlg, boxes = _dialog_with_spin_boxes(rw)
    verdict["dialog"] = _wheel_changes(rw, {"spin box 1": boxes[0], "spin box 2": boxes[1]}, -2)
    dlg.close()
    rw.activate()
    # a spin box the user clicked (in its text, away from the arrows) takes the wheel
    rw.click(sp.count, at=(12, sp.count.height() // 2))
    before = sp.count.value()
    rw.wheel_over(sp.count, +1, at=(12, sp.count.height() // 2))
    verdict["clicked faces spin box"] = [before, sp.count.value(), sp.count.hasFocus()]
    verdict["dock tabs"] = _tab_bars_under_the_wheel(rw)
    return verdict


def _tab_bars_under_the_wheel(rw) -> dict:
    """The real wheel over each visible group of tabbed panels: {its first tab: [index before, after]}."""
    from PySide6.QtWidgets import QTabBar

    out = {}
    for bar in [b for b in rw.window.findChildren(QTabBar) if b.isVisible() and b.count() > 1]:
        bar.setCurrentIndex(0)
        rw.process(100)
        rw.wheel_over(bar, -2, at=(min(bar.width() - 4, 20), bar.height() // 2))
        out[bar.tabText(0)] = [0, bar.currentIndex()]
    return out
