"""F1 opens the help, and all of it (its frame, its buttons) is on the 1280×720 screen (issue 24, finding 8)."""
from __future__ import annotations


def _windows(rw) -> dict:
    """The visible top-level windows (no tool tips or menus): id → the widget."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    out = {}
    for t in QApplication.topLevelWidgets():
        kind = t.windowType()
        if t.isVisible() and kind not in (Qt.WindowType.ToolTip, Qt.WindowType.Popup):
            out[id(t)] = t
    return out


def run(rw) -> dict:
    from PySide6.QtWidgets import QAbstractButton

    w = rw.window
    open_before = _windows(rw)
    help_docks_before = {n for n, d in w.docks.items() if d.isVisible()}
    rw.activate()
    rw.key("F1")
    rw.wait_until(lambda: len(_windows(rw)) > len(open_before) or
                  {n for n, d in w.docks.items() if d.isVisible()} != help_docks_before, 10, "the help after F1")
    rw.process(500)
    rw.shot("help")
    screen = rw.screen_rect()
    new = [t for k, t in _windows(rw).items() if k not in open_before]
    windows = []
    for t in new:
        f = t.frameGeometry()
        buttons = [b for b in t.findChildren(QAbstractButton) if b.isVisible()]
        outside = [b.text() or b.objectName() for b in buttons
                   if not screen.contains(b.mapToGlobal(b.rect().center()))]
        windows.append({"title": t.windowTitle(), "frame": [f.x(), f.y(), f.width(), f.height()],
                        "inside": screen.contains(f), "buttons outside": outside})
    new_docks = sorted({n for n, d in w.docks.items() if d.isVisible()} - help_docks_before)
    return {"screen": [screen.x(), screen.y(), screen.width(), screen.height()], "windows": windows,
            "docks shown": new_docks}
