"""numpy images ↔ Qt images (uint8 H×W×3 RGB)."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap


def to_qimage(image: np.ndarray) -> QImage:
    image = np.ascontiguousarray(image, dtype=np.uint8)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    h, w = image.shape[:2]
    return QImage(image.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def to_pixmap(image: np.ndarray, size: int | None = None, smooth: bool = True) -> QPixmap:
    pm = QPixmap.fromImage(to_qimage(image))
    if size is not None and size != pm.width():
        mode = Qt.TransformationMode.SmoothTransformation if smooth else Qt.TransformationMode.FastTransformation
        pm = pm.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio, mode)
    return pm


def qimage_to_array(img: QImage) -> np.ndarray:
    """A QImage → H×W×3 uint8 (for tests comparing what is shown)."""
    img = img.convertToFormat(QImage.Format.Format_RGB888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), np.uint8, count=bpl * h).reshape(h, bpl)
    return buf[:, : 3 * w].reshape(h, w, 3).copy()
