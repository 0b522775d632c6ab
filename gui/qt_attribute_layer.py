"""Colour the z-point cloud by one attribute: the two groups in two colours, each with its confidence
ellipse, and a legend entry per group. Shared by the pair plot and the PCA panel.

The numbers come from the engine: ``AttributeTable.groups`` splits the z-points, and
``attributes.group_moments`` + ``latent_stats.confidence_ellipse`` give each group's ellipse in the
projected plane. This module only places scatter items and curves.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from . import plot_style as ps
from .session import Session

# ColorBrewer Dark2 pink / teal: apart from the blue density, the red-purple-brown cloud ellipses and the
# orange generated points
PRESENT = (231, 41, 138)  # pink: the faces that have the attribute
ABSENT = (27, 158, 119)  # teal: the faces that lack it
GROUP_COLOURS = (PRESENT, ABSENT)


class ColourByPicker(QWidget):
    """"colour by: none / <attribute>" bound to ``session.colour_by`` (every picker shows the same)."""

    def __init__(self, session: Session, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(3)
        lay.addWidget(QLabel("colour by"))
        self.combo = QComboBox()
        self.combo.setObjectName("colourByCombo")
        self.combo.setToolTip("split the cloud by one attribute of the model's labels.csv: the faces with it in pink,\n"
                              "the faces without it in teal, each group with its own confidence ellipse")
        self.combo.setMinimumContentsLength(12)
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        lay.addWidget(self.combo)
        self._block = False
        self.combo.currentIndexChanged.connect(self._picked)
        session.model_changed.connect(self._refill)
        session.colour_by_changed.connect(self._from_session)
        self._refill()

    def _refill(self) -> None:
        self._block = True
        self.combo.clear()
        self.combo.addItem("none", None)
        labels = self.session.labels
        names = list(labels.names) if labels is not None else []
        for n in names:
            self.combo.addItem(n, n)
        self.combo.setEnabled(bool(names))
        if not names:
            self.combo.setToolTip("the model has no labels.csv (attach labels with File ▸ Import labels…)")
        self._block = False
        self._from_session()

    def _from_session(self) -> None:
        self._block = True
        i = self.combo.findData(self.session.colour_by) if self.session.colour_by else 0
        self.combo.setCurrentIndex(max(0, i))
        self._block = False

    def _picked(self, *_) -> None:
        if not self._block:
            self.session.set_colour_by(self.combo.currentData())


class AttributeLayer:
    """Two scatter items (present / absent) and two group ellipses on one plot item."""

    def __init__(self, plot_item: pg.PlotItem, legend: Optional[pg.LegendItem], point_size: float = 3.0,
                 alpha: int = 110, z: float = -4) -> None:
        self.plot_item = plot_item
        self.legend = legend
        self.points = [pg.ScatterPlotItem(size=point_size, pen=None, brush=ps.brush(c, alpha)) for c in GROUP_COLOURS]
        self.ellipses = [pg.PlotDataItem(pen=ps.pen(c, 2.5)) for c in GROUP_COLOURS]
        self.points[1].setZValue(z)  # absent below present
        self.points[0].setZValue(z + 0.1)
        for e in self.ellipses:
            e.setZValue(4)
        for it in self.points + self.ellipses:
            plot_item.addItem(it)
        self.name: Optional[str] = None
        self.group_labels: list[str] = []
        self.moments: list[tuple[np.ndarray, np.ndarray]] = []
        self._in_legend = False
        self.set_visible(False)

    @property
    def active(self) -> bool:
        return self.name is not None

    def clear(self) -> None:
        self.name = None
        self.moments = []
        self.group_labels = []
        for it in self.points + self.ellipses:
            it.setData([], [])
        self._legend_off()
        self.set_visible(False)

    def _legend_off(self) -> None:
        if self.legend is not None and self._in_legend:
            for it in self.points + self.ellipses:
                self.legend.removeItem(it)
        self._in_legend = False

    def set_groups(self, name: str, group_names: tuple[str, str], xy: np.ndarray, masks: tuple[np.ndarray, np.ndarray],
                   shown: Optional[np.ndarray] = None, level: float = 2.0, scaling: str = "sigma") -> None:
        """``xy`` (N, 2) projected z-points, ``masks`` (present, absent) over them, ``shown`` the indices
        drawn as points (a capped sample; the ellipses use every point of a group)."""
        from engine.attributes import group_moments
        from engine.latent_stats import confidence_ellipse

        self._legend_off()
        self.name = name
        self.moments, self.group_labels = [], []
        idx = np.arange(len(xy)) if shown is None else np.asarray(shown)
        for k, (mask, gname) in enumerate(zip(masks, group_names)):
            mask = np.asarray(mask, bool)
            pts = xy[idx[mask[idx]]]
            self.points[k].setData(pos=pts)
            n = int(mask.sum())
            label = f"{gname} ({n:,} z-points)"
            if n >= 3:
                mean2, cov2 = group_moments(xy, mask)
                self.moments.append((mean2, cov2))
                poly = confidence_ellipse(mean2, cov2, level, scaling=scaling)
                self.ellipses[k].setData(poly[:, 0], poly[:, 1])
                label += f", {level:g}σ ellipse"
            else:
                self.moments.append((np.zeros(2), np.eye(2)))
                self.ellipses[k].setData([], [])
            self.group_labels.append(label)
        if self.legend is not None:
            for k in range(2):
                self.legend.addItem(self.ellipses[k], self.group_labels[k])
            self._in_legend = True
        self.set_visible(True)

    def set_visible(self, on: bool, ellipses: bool = True) -> None:
        on = bool(on and self.name is not None)
        for it in self.points:
            it.setVisible(on)
        for it in self.ellipses:
            it.setVisible(on and ellipses)
