"""The pair plot's controls and helpers: the axis picker (original z / PCA + component), the σ-levels
parser, and moving a scatter item's points in place. Used by :mod:`gui.qt_pair_plot`."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSpinBox, QWidget

from .session import Axis


def parse_levels(text: str) -> list[float]:
    """"2.0, 2.2 3" → [2.0, 2.2, 3.0]; bad or non-positive entries are dropped."""
    return parse_levels_report(text)[0]


def parse_levels_report(text: str) -> tuple[list[float], list[str]]:
    """The valid σ-levels of ``text`` and the entries that are not (not a number, ≤ 0, not finite)."""
    out, bad = [], []
    for part in text.replace(";", ",").replace(" ", ",").split(","):
        if not part.strip():
            continue
        try:
            v = float(part)
        except ValueError:
            bad.append(part.strip())
            continue
        if not (np.isfinite(v) and v > 0):
            bad.append(part.strip())
        elif v not in out:
            out.append(v)
    return out, bad


def move_points(item: pg.ScatterPlotItem, pts: np.ndarray) -> None:
    """New positions for a scatter item whose points all share one style.

    ``setData`` rebuilds every spot's style record (about 20 ms for 5,000 points); when only the
    positions change, writing them in place and invalidating the bounds is enough."""
    data = getattr(item, "data", None)
    if data is None or len(data) != len(pts) or len(pts) == 0 or "x" not in (data.dtype.names or ()):
        item.setData(pos=pts)
        return
    data["x"] = pts[:, 0]
    data["y"] = pts[:, 1]
    item.prepareGeometryChange()
    item.bounds = [None, None]
    item.informViewBoundsChanged()
    item.update()


class AxisPicker(QWidget):
    """Kind (original z / PCA) + component index. Emits ``changed`` with the new Axis."""

    changed = Signal(object)

    def __init__(self, label: str, parent=None) -> None:
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(3)
        self.kind = QComboBox()
        self.kind.addItem("original z", "z")
        self.kind.addItem("PCA", "pca")
        self.kind.setToolTip("original latent components z_i, or principal components of the training cloud")
        self.index = QSpinBox()
        self.index.setMinimumWidth(70)
        self.index.setKeyboardTracking(False)
        lay.addWidget(QLabel(label))
        lay.addWidget(self.kind)
        lay.addWidget(self.index)
        self._dim = 1
        self._block = False
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.index.valueChanged.connect(self._emit)
        self._kind_changed()

    def set_dim(self, d: int) -> None:
        self._dim = max(1, int(d))
        self._kind_changed(emit=False)

    def _kind_changed(self, *_, emit: bool = True) -> None:
        pca = self.kind.currentData() == "pca"
        was, self._block = self._block, True  # set_axis blocks across this call: no half-set axis is emitted
        v = self.axis()[1]
        self.index.setPrefix("PC" if pca else "z")
        self.index.setRange(1 if pca else 0, self._dim if pca else self._dim - 1)
        self.index.setValue(v + 1 if pca else v)
        self._block = was
        if emit:
            self._emit()

    def axis(self) -> Axis:
        kind = "pca" if self.index.prefix() == "PC" else "z"
        i = self.index.value() - (1 if kind == "pca" else 0)
        return (kind, max(0, i))

    def set_axis(self, axis: Axis) -> None:
        self._block = True
        self.kind.setCurrentIndex(1 if axis[0] == "pca" else 0)
        self._kind_changed(emit=False)
        self.index.setValue(axis[1] + 1 if axis[0] == "pca" else axis[1])
        self._block = False

    def _emit(self, *_) -> None:
        if not self._block:
            self.changed.emit(self.axis())
