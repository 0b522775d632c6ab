"""Application start-up: QApplication, the main window, and the headless ``--screenshot`` mode."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional


def run_gui(model_dir: Optional[Path] = None, screenshot: Optional[str] = None, sampler: Optional[str] = None) -> int:
    import os

    if screenshot and not os.environ.get("QT_QPA_PLATFORM"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtWidgets import QApplication

    from .main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Latent Face Studio")
    app.setOrganizationName("LatentFaceStudio")
    window = MainWindow(model_dir=model_dir, sampler=sampler)
    if screenshot:
        window.resize(1280, 800)
        window.show()
        window.generate_now()
        app.processEvents()
        ok = window.grab().save(str(screenshot))
        window.close()
        return 0 if ok else 1
    window.show()
    return app.exec()
