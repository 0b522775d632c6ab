"""No widget shows as a window of its own while the main window builds (a parentless widget made visible flashes
as a separate window on a real desktop and takes the keyboard focus from the main window: its shortcuts die)."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication, QWidget


class _ShownWindows(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.shown: list[str] = []

    def eventFilter(self, obj, ev) -> bool:  # noqa: N802
        if ev.type() == QEvent.Type.Show and isinstance(obj, QWidget) and obj.isWindow():
            self.shown.append(f"{type(obj).__name__}:{obj.objectName()}")
        return False


def test_only_the_main_window_shows_as_a_window(make_window, tiny_model, qtbot):
    spy = _ShownWindows()
    app = QApplication.instance()
    app.installEventFilter(spy)
    try:
        w = make_window(tiny_model)
        qtbot.waitUntil(lambda: w.panels_ready() and not w.bridge.busy(), timeout=60000)
        for key in ("explore", "photo", "directions", "compare", "generate"):
            w.switch_workspace(key)
            qtbot.wait(50)
    finally:
        app.removeEventFilter(spy)
    assert spy.shown == ["MainWindow:"], spy.shown
    assert QApplication.activeWindow() is w  # its shortcuts (Ctrl+1 … 5, B, F1) reach it
