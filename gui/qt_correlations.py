"""Correlations panel: the Pearson matrix of the latent components as an image with a colour bar.

Clicking a cell (i, j) shows that pair in the pair plot; the strongest off-diagonal pairs are listed
beside the matrix.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QSplitter, QVBoxLayout, QWidget

from . import plot_style as ps
from .qt_widgets import ElidedLabel, setup_plot
from .session import Session


class CorrelationsPanel(QWidget):
    cell_clicked = Signal(int, int)

    def __init__(self, session: Session, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        pi = self.plot.getPlotItem()
        pi.getViewBox().setAspectLocked(True)
        pi.getViewBox().invertY(True)
        pi.setLabel("bottom", "component j")
        pi.setLabel("left", "component i")
        self.image = pg.ImageItem()
        pi.addItem(self.image)
        self.colorbar = pg.ColorBarItem(values=(-1, 1), colorMap=ps.diverging_colormap(), interactive=False,
                                        width=12, label="Pearson r")
        self.colorbar.setImageItem(self.image, insert_in=pi)
        self.marker = pg.ScatterPlotItem(size=12, symbol="s", pen=ps.pen((0, 0, 0), 1.5), brush=None)
        pi.addItem(self.marker)
        setup_plot(self.plot)
        self.hover = ElidedLabel("click a cell to show that pair in the pair plot")
        self.top = QListWidget()
        self.top.setToolTip("the strongest correlations between different components")
        self.top.setMinimumWidth(120)
        self.top.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.top.itemClicked.connect(self._top_clicked)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.plot, 1)
        ll.addWidget(self.hover)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(QLabel("strongest pairs"))
        rl.addWidget(self.top, 1)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(split)

        self.plot.scene().sigMouseClicked.connect(self._clicked)
        self.plot.scene().sigMouseMoved.connect(self._moved)
        session.stats_changed.connect(self.redraw)
        session.axes_changed.connect(self._mark)

    def redraw(self) -> None:
        st = self.session.stats
        self.top.clear()
        if st is None:
            self.image.clear()
            self.marker.setData([], [])
            return
        corr = np.asarray(st.corr, float)
        d = corr.shape[0]
        self.image.setImage(corr, autoLevels=False, levels=(-1, 1))  # symmetric: x = j, y = i
        self.image.setRect(QRectF(0, 0, d, d))
        off = np.abs(corr.copy())
        iu = np.triu_indices(d, 1)
        vals = off[iu]
        order = np.argsort(vals)[::-1][:30]
        for k in order:
            i, j = int(iu[0][k]), int(iu[1][k])
            it = QListWidgetItem(f"z{i} – z{j}:  r = {corr[i, j]:+.3f}")
            it.setData(Qt.ItemDataRole.UserRole, (i, j))
            self.top.addItem(it)
        self._fit_list()
        self._mark()

    def _fit_list(self) -> None:
        """The list as wide as its widest entry (its r values were cut off beside the matrix, which is square
        and leaves room to spare)."""
        fm = self.top.fontMetrics()
        text = max((self.top.item(k).text() for k in range(self.top.count())), key=fm.horizontalAdvance, default="")
        bar = self.top.verticalScrollBar().sizeHint().width()
        self.top.setMinimumWidth(max(120, fm.horizontalAdvance(text) + bar + 2 * self.top.frameWidth() + 12))

    def _cell_at(self, scene_pos):
        st = self.session.stats
        if st is None:
            return None
        p = self.plot.getPlotItem().getViewBox().mapSceneToView(scene_pos)
        j, i = int(np.floor(p.x())), int(np.floor(p.y()))
        d = st.corr.shape[0]
        if 0 <= i < d and 0 <= j < d:
            return i, j
        return None

    def _moved(self, pos) -> None:
        cell = self._cell_at(pos)
        if cell is not None:
            i, j = cell
            self.hover.setText(f"z{i} – z{j}:  r = {float(self.session.stats.corr[i, j]):+.3f}   (click: show in pair plot)")

    def _clicked(self, ev) -> None:
        cell = self._cell_at(ev.scenePos())
        if cell is not None:
            self.select_cell(*cell)

    def select_cell(self, i: int, j: int) -> None:
        """Show the pair (z_j on x, z_i on y) in the pair plot."""
        self.cell_clicked.emit(i, j)
        self.session.set_axes(("z", j), ("z", i))

    def _top_clicked(self, item: QListWidgetItem) -> None:
        i, j = item.data(Qt.ItemDataRole.UserRole)
        self.select_cell(i, j)

    def _mark(self) -> None:
        (kx, jx), (ky, iy) = self.session.axes
        if self.session.stats is not None and kx == "z" and ky == "z":
            self.marker.setData([jx + 0.5], [iy + 0.5])
        else:
            self.marker.setData([], [])

    def clear_model_state(self) -> None:
        """Another model (``Session.model_reset``): no hover readout of the previous matrix."""
        from .qt_widgets import empty_view

        self.hover.setText("click a cell to show that pair in the pair plot")
        self.image.clear()
        self.image.resetTransform()  # an empty image keeps its place: autoRange would centre the view on it
        self.marker.setData([], [])
        self.top.clear()
        self.top.setMinimumWidth(120)  # not the previous model's widest entry
        empty_view(self.plot)
