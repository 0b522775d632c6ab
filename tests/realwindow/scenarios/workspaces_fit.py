"""Every workspace at 1280×720: no control outside the screen, none cut off by its panel, no panel that scrolls
sideways, and the faces of Generate & inspect in at least three full rows (issue 24, findings 4 and 14)."""
from __future__ import annotations

#: On the packaged default model: its 40 attribute names and 9,000 z-points, as a new user sees it.
MODEL = "default"


def _name(widget) -> str:
    text = getattr(widget, "text", None)
    label = text() if callable(text) else ""
    return f"{type(widget).__name__}:{widget.objectName() or label or '?'}"


def _controls(dock):
    from PySide6.QtWidgets import QAbstractButton, QAbstractSlider, QAbstractSpinBox, QComboBox, QLineEdit, QScrollBar

    kinds = (QAbstractButton, QAbstractSlider, QAbstractSpinBox, QComboBox, QLineEdit)
    for c in dock.findChildren(QWidget_()):
        if isinstance(c, kinds) and not isinstance(c, QScrollBar) and c.isVisible() and c.window() is dock.window():
            yield c


def QWidget_():  # noqa: N802 - the class, imported late (Qt is made by the harness)
    from PySide6.QtWidgets import QWidget

    return QWidget


def _in_vertical_scroll(widget) -> bool:
    """Inside a panel's scroll area that scrolls up and down (a control scrolled out of view there is reachable)."""
    from PySide6.QtWidgets import QScrollArea

    p = widget.parentWidget()
    while p is not None:
        if isinstance(p, QScrollArea):
            return True
        p = p.parentWidget()
    return False


def _check(rw, key: str) -> dict:
    from PySide6.QtWidgets import QAbstractButton, QScrollArea

    screen = rw.screen_rect()
    problems = []
    for name, dock in rw.visible_docks().items():
        for area in dock.findChildren(QScrollArea):
            if area.isVisible() and area.horizontalScrollBar().isVisible():
                problems.append(f"{name}: scrolls sideways ({area.objectName() or type(area.widget()).__name__})")
        for c in _controls(dock):
            r = c.rect()
            seen = c.visibleRegion().boundingRect()
            if seen.isEmpty():
                if not _in_vertical_scroll(c):
                    problems.append(f"{name}: {_name(c)} hidden by its panel")
                continue
            g = c.mapToGlobal(r.topLeft())
            if not screen.contains(g) or not screen.contains(c.mapToGlobal(r.bottomRight())):
                problems.append(f"{name}: {_name(c)} outside the screen at {g.x()},{g.y()}")
            if seen.width() < r.width() - 2:
                problems.append(f"{name}: {_name(c)} cut off ({seen.width()} of {r.width()} px shown)")
            if isinstance(c, QAbstractButton) and c.text():
                need = c.fontMetrics().horizontalAdvance(c.text().replace("&", "")) + 6
                if c.width() < need:
                    problems.append(f"{name}: {_name(c)} too narrow for its text ({c.width()} < {need} px)")
        problems += _labels_cut(name, dock)
    return {"problems": problems, "docks": sorted(rw.visible_docks())}


def _labels_cut(name: str, dock) -> list:
    """Plain one-line labels whose text is wider than the label (an elided label says "…" itself: not counted)."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QLabel

    out = []
    for label in dock.findChildren(QLabel):
        text = QLabel.text(label)
        if (not label.isVisible() or not text or label.wordWrap() or label.textFormat() == Qt.TextFormat.RichText
                or "<" in text or label.visibleRegion().isEmpty()):
            continue
        need = max(label.fontMetrics().horizontalAdvance(line) for line in text.splitlines() or [text])
        room = label.contentsRect().width() - 2 * label.margin() - 2 * label.indent() * (label.indent() > 0)
        if need > room + 2:
            out.append(f"{name}: label {text[:40]!r} cut ({room} of {need} px)")
    return out


def run(rw) -> dict:
    from gui.workspaces import WORKSPACES

    w = rw.window
    out = {}
    for ws in WORKSPACES:
        w.switch_workspace(ws.key)
        rw.process(700)
        out[ws.key] = _check(rw, ws.key)
        rw.shot(f"workspace-{ws.key}")
    w.switch_workspace("generate")
    rw.process(500)
    grid = w.face_grid
    return {"workspaces": out, "screen": [rw.screen_rect().width(), rw.screen_rect().height()],
            "window": [w.width(), w.height()], "face rows": grid.visible_rows(), "faces": len(grid.visible_faces())}
