"""Application start-up: QApplication, the main window, and the headless ``--screenshot`` mode."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional


def make_app():
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Latent Face Studio")
    app.setOrganizationName("LatentFaceStudio")
    return app


def render_screenshot(window, path: str | Path, size=(1600, 1000), timeout_s: float = 180.0) -> bool:
    """Show ``window`` (offscreen), wait for its jobs, then grab it to ``path``."""
    from PySide6.QtWidgets import QApplication

    window.resize(*size)
    window.show()
    window.wait_idle(timeout_s)
    QApplication.processEvents()
    return bool(window.grab().save(str(path)))


def run_gui(model_dir: Optional[Path] = None, screenshot: Optional[str] = None, sampler: Optional[str] = None) -> int:
    import os

    if screenshot and not os.environ.get("QT_QPA_PLATFORM"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    app = make_app()
    from PySide6.QtCore import QSettings

    from .main_window import MainWindow

    if screenshot:
        # a clean window: the default layout, not the user's saved one, and nothing written to their settings
        import tempfile

        tmp = tempfile.mkdtemp(prefix="lfs-shot-")
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(model_dir=model_dir, sampler=sampler, settings=settings, restore_state=False)
        window.resize(1600, 1000)
        window.show()
        window.wait_idle(300)
        if window.session.sample is None and window.session.model is not None:
            window.generate_now()
        ok = render_screenshot(window, screenshot)
        failed = window.last_error
        window.close()
        if failed:
            print(f"error: {failed}", file=sys.stderr)
        return 0 if ok and not failed else (2 if failed else 1)
    window = MainWindow(model_dir=model_dir, sampler=sampler)
    window.show()
    return app.exec()
