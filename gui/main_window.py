"""The main window. (Spine version: the default model's faces in a grid; the panels come with the GUI issue.)"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QLabel, QMainWindow, QMessageBox


def to_pixmap(image: np.ndarray, scale: int = 1) -> QPixmap:
    image = np.ascontiguousarray(image)
    h, w = image.shape[:2]
    q = QImage(image.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
    pm = QPixmap.fromImage(q)
    if scale != 1:
        pm = pm.scaled(w * scale, h * scale, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation)
    return pm


class MainWindow(QMainWindow):
    def __init__(self, model_dir: Optional[Path] = None, sampler: Optional[str] = None):
        super().__init__()
        from engine.resources import default_model_dir

        self.model_dir = Path(model_dir) if model_dir else default_model_dir()
        self.sampler = sampler or "uniform"
        self.setWindowTitle(f"Latent Face Studio — {self.model_dir.name}")
        self.label = QLabel("No faces yet", alignment=Qt.AlignmentFlag.AlignCenter)
        self.setCentralWidget(self.label)

    def generate_now(self) -> None:
        from engine.errors import EngineError
        from engine.generation import generate
        from engine.image_sets import make_grid

        try:
            result = generate(self.model_dir, self.sampler, n=32, seed=0)
        except EngineError as exc:
            QMessageBox.critical(self, "Latent Face Studio", str(exc))
            return
        self.label.setPixmap(to_pixmap(make_grid(result.images, columns=8), scale=2))
