"""Colours and pyqtgraph settings shared by every plot, so the panels read as one figure set."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor

pg.setConfigOptions(background="w", foreground="#222", antialias=False, imageAxisOrder="col-major")

ORANGE = (255, 127, 14)  # the generated z-points, as in the seed's figures
SELECTED = (214, 39, 40)
EDITED = (148, 103, 189)
TRAIN = (60, 60, 60)
BLUE = (31, 119, 180)
GREEN = (44, 160, 44)
CONTOUR = (25, 60, 130)
ELLIPSE_COLOURS = [(214, 39, 40), (148, 103, 189), (140, 86, 75), (227, 119, 194), (23, 190, 207), (188, 189, 34)]


def density_lut(n: int = 256) -> np.ndarray:
    """White (transparent) → light blue → dark blue: low density fades into the background."""
    t = np.linspace(0.0, 1.0, n)
    c0 = np.array([255, 255, 255], float)
    c1 = np.array([158, 202, 225], float)
    c2 = np.array([8, 48, 107], float)
    rgb = np.where(t[:, None] < 0.5, c0 + (c1 - c0) * (t[:, None] / 0.5), c1 + (c2 - c1) * ((t[:, None] - 0.5) / 0.5))
    alpha = np.clip(t * 6, 0, 1) * 255
    return np.concatenate([rgb, alpha[:, None]], axis=1).astype(np.uint8)


def diverging_colormap() -> pg.ColorMap:
    """Blue – white – red for correlations in [-1, 1]."""
    return pg.ColorMap([0.0, 0.5, 1.0], [(33, 102, 172), (247, 247, 247), (178, 24, 43)], name="corr")


def pen(colour, width: float = 1.0, style=None, alpha: int = 255):
    c = QColor(*colour[:3], alpha)
    p = pg.mkPen(c, width=width)
    if style is not None:
        p.setStyle(style)
    p.setCosmetic(True)
    return p


def brush(colour, alpha: int = 255):
    return pg.mkBrush(QColor(*colour[:3], alpha))


def polylines_to_curve(lines) -> tuple[np.ndarray, np.ndarray]:
    """Many (k, 2) polylines → one x/y pair with NaN gaps (one PlotDataItem, connect='finite')."""
    parts_x, parts_y = [], []
    for line in lines:
        line = np.asarray(line, float)
        if len(line) < 2:
            continue
        parts_x += [line[:, 0], [np.nan]]
        parts_y += [line[:, 1], [np.nan]]
    if not parts_x:
        return np.empty(0), np.empty(0)
    return np.concatenate(parts_x), np.concatenate(parts_y)


def set_log_ticks(axis, values) -> None:
    """Readable ticks for a log-scaled axis: 1-1.5-2-3-5-7 steps over the data's range (values in data units)."""
    v = np.asarray([x for x in np.ravel(values) if np.isfinite(x) and x > 0], float)
    if v.size == 0:
        axis.setTicks(None)
        return
    lo, hi = np.floor(np.log10(v.min())), np.ceil(np.log10(v.max()))
    ticks = [m * 10.0 ** e for e in np.arange(lo, hi + 1) for m in (1, 1.5, 2, 3, 5, 7)]
    ticks = [t for t in ticks if v.min() / 1.6 <= t <= v.max() * 1.6] or [float(v.min())]
    axis.setTicks([[(float(np.log10(t)), f"{t:g}") for t in ticks], []])
