"""Correlations panel: the Pearson matrix of the latent components as an image with a colour bar, readable at
any size — the wheel zooms it (once clicked) and a drag moves it, a readout under it names the cell under the
pointer (row i, column j, r), and a sortable table of the strongest pairs drives it.

Clicking a cell (i, j) of the matrix, or a row of the table, marks that cell, selects it in the other one and
shows the pair in the pair plot (z_j on x, z_i on y). A row chosen in the table also zooms the matrix onto its
cell when the matrix is too small to click one cell (fewer than ``CLICKABLE_PX`` pixels per cell).
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QHeaderView, QLabel, QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from . import plot_style as ps
from .qt_widgets import column, ElidedLabel, plot_widget, setup_plot
from .session import Session

#: how many of the strongest off-diagonal pairs the table lists
TOP_PAIRS = 200
#: a cell narrower than this (screen pixels) cannot be clicked on purpose: choosing a row zooms in
CLICKABLE_PX = 6
#: cells shown around a row's cell when it zooms in
ZOOM_CELLS = 24
COLUMNS = ("i", "j", "r", "|r|")
TIPS = ("the row's component z_i (the pair plot's vertical axis)",
        "the column's component z_j (the pair plot's horizontal axis)",
        "correlation from −1 to +1: how much z_i and z_j rise and fall together (0 = not at all)",
        "the strength, whatever the sign; the table is sorted by it first")
HOVER_HINT = "hover a cell to read it · click: show that pair in the pair plot · wheel (after a click): zoom"


class _Number(QTableWidgetItem):
    """A cell that sorts by its number."""

    def __init__(self, value: float, text: str) -> None:
        super().__init__(text)
        self.value = float(value)
        self.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    def __lt__(self, other) -> bool:  # noqa: D105
        return self.value < other.value if isinstance(other, _Number) else super().__lt__(other)


def strongest_pairs(corr: np.ndarray, n: int = TOP_PAIRS) -> list[tuple[int, int, float]]:
    """The ``n`` off-diagonal pairs (i < j) with the largest |r|, strongest first."""
    d = corr.shape[0]
    iu = np.triu_indices(d, 1)
    vals = corr[iu]
    order = np.argsort(-np.abs(vals), kind="stable")[:n]
    return [(int(iu[0][k]), int(iu[1][k]), float(vals[k])) for k in order]


class CorrelationsPanel(QWidget):
    cell_clicked = Signal(int, int)

    def __init__(self, session: Session, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self._d = 0
        self._build_plot()
        self._build_table()
        left = column(self.plot, self.hover)
        right = column(self.top_note, self.top, grow=1)
        self.split = QSplitter(Qt.Orientation.Horizontal)
        self.split.addWidget(left)
        self.split.addWidget(right)
        self.split.setStretchFactor(0, 3)
        self.split.setStretchFactor(1, 2)
        self.split.setChildrenCollapsible(False)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.split)

        self.plot.scene().sigMouseClicked.connect(self._clicked)
        self.plot.scene().sigMouseMoved.connect(self._moved)
        session.stats_changed.connect(self.redraw)
        session.axes_changed.connect(self._mark)

    def _build_plot(self) -> None:
        """The matrix (an image, y down), its colour bar, the marker of the chosen cell and the hover readout."""
        self.plot = plot_widget()
        self.plot.setObjectName("correlationsPlot")
        pi = self.plot.getPlotItem()
        vb = pi.getViewBox()
        vb.setAspectLocked(True)
        vb.invertY(True)
        pi.setLabel("bottom", "column j (component z_j)")
        pi.setLabel("left", "row i (component z_i)")
        self.image = pg.ImageItem()
        pi.addItem(self.image)
        self.colorbar = pg.ColorBarItem(values=(-1, 1), colorMap=ps.diverging_colormap(), interactive=False,
                                        width=12, label="correlation r")
        self.colorbar.setImageItem(self.image, insert_in=pi)
        self.marker = pg.ScatterPlotItem(size=12, symbol="s", pen=ps.pen((0, 0, 0), 1.5), brush=None)
        self.marker.setZValue(5)
        pi.addItem(self.marker)
        setup_plot(self.plot, reset=self.show_all)
        self.hover = ElidedLabel(HOVER_HINT)
        self.hover.setObjectName("correlationsHover")

    def _build_table(self) -> None:
        """The strongest pairs, sortable by any column; choosing a row chooses its cell."""
        self.top_note = QLabel("strongest pairs (click a column title to sort)")
        self.top_note.setWordWrap(True)
        self.top_note.setStyleSheet("color: #444;")
        self.top = QTableWidget(0, len(COLUMNS))
        self.top.setObjectName("correlationsTable")
        self.top.setHorizontalHeaderLabels(COLUMNS)
        for c, tip in enumerate(TIPS):
            self.top.horizontalHeaderItem(c).setToolTip(tip + "\nclick: sort by this column (again: reverse)")
        self.top.setToolTip("the strongest correlations between two different components; click a row to mark its\n"
                            "cell in the matrix and show the pair in the pair plot")
        self.top.verticalHeader().setVisible(False)
        self.top.verticalHeader().setDefaultSectionSize(20)
        self.top.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.top.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.top.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.top.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        hh = self.top.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        hh.setStretchLastSection(True)
        hh.setSortIndicatorShown(True)
        self.top.setSortingEnabled(True)
        self.top.itemClicked.connect(lambda item: self.choose_row(item.row()))
        self.top.currentCellChanged.connect(lambda row, *_: self._keyboard_row(row))
        self._filling = False

    # ---- data
    def redraw(self) -> None:
        st = self.session.stats
        self._filling = True
        self.top.setSortingEnabled(False)
        self.top.setRowCount(0)
        if st is None:
            self._d = 0
            self.image.clear()
            self.marker.setData([], [])
            self.top_note.setText("strongest pairs")
            self._filling = False
            return
        corr = np.asarray(st.corr, float)
        d = self._d = corr.shape[0]
        self.image.setImage(corr, autoLevels=False, levels=(-1, 1))  # symmetric: x = j, y = i
        self.image.setRect(QRectF(0, 0, d, d))
        # zoomed in no further than 4 cells (a panel of any shape still shows all of it: no x/y limits, ⟲ returns)
        self.plot.getPlotItem().getViewBox().setLimits(minXRange=4, minYRange=4)
        pairs = strongest_pairs(corr)
        self.top.setRowCount(len(pairs))
        for r, (i, j, v) in enumerate(pairs):
            for c, item in enumerate((_Number(i, str(i)), _Number(j, str(j)), _Number(v, f"{v:+.3f}"),
                                      _Number(abs(v), f"{abs(v):.3f}"))):
                item.setData(Qt.ItemDataRole.UserRole, (i, j))
                self.top.setItem(r, c, item)
        self.top.setSortingEnabled(True)
        self.top.sortItems(3, Qt.SortOrder.DescendingOrder)
        total = d * (d - 1) // 2
        self.top_note.setText(f"the {len(pairs)} strongest of {total:,} pairs; click a title to sort")
        self._fit_table()
        self._filling = False
        self.show_all()
        self._mark()

    def _fit_table(self) -> None:
        """The table as wide as its columns (its numbers were cut off beside the matrix, which is square and
        leaves room to spare); the note above wraps to that width."""
        fm = self.top.fontMetrics()
        cols = 0
        for c in range(self.top.columnCount()):
            texts = [self.top.item(r, c).text() for r in range(min(self.top.rowCount(), TOP_PAIRS))]
            cell = max((fm.horizontalAdvance(t) for t in texts), default=0) + 14
            head = fm.horizontalAdvance(COLUMNS[c]) + 28  # and the sort arrow
            self.top.setColumnWidth(c, max(cell, head))
            cols += max(cell, head)
        bar = self.top.verticalScrollBar().sizeHint().width()
        self.top.setMinimumWidth(cols + bar + 2 * self.top.frameWidth() + 4)
        self.top_note.setMaximumWidth(max(self.top.minimumWidth(), 160))

    def show_all(self) -> None:
        """The whole matrix in view (the ⟲ button)."""
        if self._d:
            self.plot.getPlotItem().getViewBox().setRange(xRange=(0, self._d), yRange=(0, self._d), padding=0.01)

    # ---- the cell under the pointer, clicked, chosen
    def cell_at(self, scene_pos) -> Optional[tuple[int, int]]:
        if self.session.stats is None:
            return None
        p = self.plot.getPlotItem().getViewBox().mapSceneToView(scene_pos)
        j, i = int(np.floor(p.x())), int(np.floor(p.y()))
        return (i, j) if 0 <= i < self._d and 0 <= j < self._d else None

    def readout(self, i: int, j: int) -> str:
        r = float(self.session.stats.corr[i, j])
        return f"row i = {i}, column j = {j}:  r = {r:+.3f}" + ("  (a component with itself)" if i == j else "")

    def _moved(self, pos) -> None:
        cell = self.cell_at(pos)
        self.hover.setText(self.readout(*cell) if cell is not None else HOVER_HINT)

    def _clicked(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton:
            return
        cell = self.cell_at(ev.scenePos())
        if cell is not None:
            self.select_cell(*cell)

    def select_cell(self, i: int, j: int) -> None:
        """Show the pair (z_j on x, z_i on y) in the pair plot; the table selects its row when it lists it."""
        self.cell_clicked.emit(i, j)
        self.session.set_axes(("z", j), ("z", i))
        self._select_row(i, j)

    def choose_row(self, row: int) -> None:
        """The table's row ``row`` (as shown, sorted): its cell chosen, and zoomed onto if too small to see."""
        item = self.top.item(row, 0)
        if item is None:
            return
        i, j = item.data(Qt.ItemDataRole.UserRole)
        self.select_cell(i, j)
        if self.cell_pixels() < CLICKABLE_PX:
            self.zoom_to(i, j)

    def _keyboard_row(self, row: int) -> None:
        if not self._filling and row >= 0 and self.top.hasFocus():
            self.choose_row(row)

    def _select_row(self, i: int, j: int) -> None:
        a, b = min(i, j), max(i, j)
        for r in range(self.top.rowCount()):
            if self.top.item(r, 0).data(Qt.ItemDataRole.UserRole) == (a, b):
                if self.top.currentRow() != r:
                    self._filling = True
                    self.top.setCurrentCell(r, 0)
                    self._filling = False
                self.top.scrollToItem(self.top.item(r, 0))
                return
        self.top.clearSelection()

    def cell_pixels(self) -> float:
        """How many screen pixels one cell is wide now."""
        vb = self.plot.getPlotItem().getViewBox()
        (x0, x1), _ = vb.viewRange()
        return vb.width() / max(1e-9, x1 - x0)

    def zoom_to(self, i: int, j: int, cells: int = ZOOM_CELLS) -> None:
        """Centre the matrix on cell (i, j), ``cells`` cells across."""
        h = cells / 2
        self.plot.getPlotItem().getViewBox().setRange(xRange=(j + 0.5 - h, j + 0.5 + h),
                                                      yRange=(i + 0.5 - h, i + 0.5 + h), padding=0)

    def _mark(self) -> None:
        (kx, jx), (ky, iy) = self.session.axes
        if self.session.stats is not None and kx == "z" and ky == "z":
            self.marker.setData([jx + 0.5], [iy + 0.5])
        else:
            self.marker.setData([], [])

    def clear_model_state(self) -> None:
        """Another model (``Session.model_reset``): no hover readout of the previous matrix."""
        from .qt_widgets import empty_view

        self.hover.setText(HOVER_HINT)
        self.image.clear()
        self.image.resetTransform()  # an empty image keeps its place: autoRange would centre the view on it
        self.marker.setData([], [])
        self._d = 0
        self.top.setRowCount(0)  # (clear() would take the column titles too)
        self.top_note.setText("strongest pairs")
        self.top.setMinimumWidth(120)  # not the previous model's widest entry
        self.top_note.setMaximumWidth(16777215)
        vb = self.plot.getPlotItem().getViewBox()  # no limits of the previous matrix's size
        vb.setLimits(xMin=None, xMax=None, yMin=None, yMax=None, minXRange=None, minYRange=None)
        empty_view(self.plot)
