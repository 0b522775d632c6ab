"""Draws the application icon (a face made of a Gaussian cloud with its confidence ellipses).

    python -m gui.app_icon resources/icons/app.png
"""
from __future__ import annotations

import sys
from pathlib import Path


def draw_icon(size: int = 256):
    import numpy as np
    from PySide6.QtCore import QPointF, QRectF, Qt
    from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPen, QRadialGradient

    img = QImage(size, size, QImage.Format.Format_ARGB32)
    img.fill(Qt.GlobalColor.transparent)
    p = QPainter(img)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    s = size / 256.0
    # rounded tile
    grad = QRadialGradient(QPointF(110 * s, 90 * s), 200 * s)
    grad.setColorAt(0, QColor(255, 255, 255))
    grad.setColorAt(1, QColor(214, 228, 240))
    p.setBrush(QBrush(grad))
    p.setPen(QPen(QColor(8, 48, 107), 6 * s))
    p.drawRoundedRect(QRectF(8 * s, 8 * s, 240 * s, 240 * s), 44 * s, 44 * s)
    # a cloud of points (the latent space), tilted
    rng = np.random.default_rng(3)
    pts = rng.standard_normal((260, 2)) * [38, 22]
    c, si = np.cos(-0.5), np.sin(-0.5)
    pts = pts @ np.array([[c, -si], [si, c]]) + [128, 136]
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor(31, 119, 180, 120))
    for x, y in pts:
        p.drawEllipse(QPointF(x * s, y * s), 3.2 * s, 3.2 * s)
    # two confidence ellipses
    p.save()
    p.translate(128 * s, 136 * s)
    p.rotate(-np.degrees(0.5))
    for k, col in ((2.0, QColor(214, 39, 40)), (3.0, QColor(148, 103, 189))):
        pen = QPen(col, 7 * s)
        pen.setStyle(Qt.PenStyle.DashLine if k == 3.0 else Qt.PenStyle.SolidLine)
        p.setPen(pen)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawEllipse(QPointF(0, 0), 38 * k * s * 0.95, 22 * k * s * 0.95)
    p.restore()
    # generated points in orange: two eyes and a smile
    p.setPen(QPen(QColor(120, 50, 0), 3 * s))
    p.setBrush(QColor(255, 127, 14))
    for x, y in ((98, 112), (158, 112)):
        p.drawEllipse(QPointF(x * s, y * s), 13 * s, 13 * s)
    for t in np.linspace(-0.9, 0.9, 7):
        p.drawEllipse(QPointF((128 + 44 * np.sin(t)) * s, (158 + 22 * np.cos(t)) * s), 7 * s, 7 * s)
    p.end()
    return img


def main(argv=None) -> int:
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841
    out = Path((argv or sys.argv[1:] or ["resources/icons/app.png"])[0])
    out.parent.mkdir(parents=True, exist_ok=True)
    ok = draw_icon(256).save(str(out))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
