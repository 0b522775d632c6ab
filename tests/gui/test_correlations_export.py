"""The correlation matrix is readable at any size (a sortable table of the strongest pairs drives it, a readout
names the cell under the pointer, a chosen row zooms onto its cell), and exported CSVs name their rows after the
plotted items."""
from __future__ import annotations

import csv
import io

import numpy as np
from PySide6.QtCore import QPointF, Qt


def _table_pairs(panel):
    t = panel.top
    return [(int(t.item(r, 0).text()), int(t.item(r, 1).text()), float(t.item(r, 2).text())) for r in range(t.rowCount())]


def test_the_table_lists_the_strongest_pairs_strongest_first(window):
    from gui.qt_correlations import TOP_PAIRS, strongest_pairs

    panel = window.correlations
    corr = np.asarray(window.session.stats.corr, float)
    d = corr.shape[0]
    rows = _table_pairs(panel)
    assert len(rows) == min(TOP_PAIRS, d * (d - 1) // 2)
    off = np.abs(corr - np.eye(d) * corr)  # the diagonal (r = 1) is not a pair
    i, j = np.unravel_index(np.argmax(np.triu(off, 1)), off.shape)
    assert rows[0][:2] == (i, j) and abs(rows[0][2] - corr[i, j]) < 5e-4
    strengths = [abs(r) for _i, _j, r in rows]
    assert strengths == sorted(strengths, reverse=True)
    assert all(a < b for a, b, _r in rows)
    assert strongest_pairs(corr, 3) == [(a, b, float(corr[a, b])) for a, b, _r in rows[:3]]
    assert f"{d * (d - 1) // 2:,} pairs" in panel.top_note.text()


def test_a_row_drives_the_cell_the_pair_plot_and_the_zoom(window, qtbot, monkeypatch):
    import gui.qt_correlations as qc

    panel = window.correlations
    panel.top.sortItems(2, Qt.SortOrder.AscendingOrder)  # by r: the most negative first
    rows = _table_pairs(panel)
    assert [r for _i, _j, r in rows] == sorted(r for _i, _j, r in rows)
    i, j, _r = rows[0]
    monkeypatch.setattr(qc, "CLICKABLE_PX", 1e9)  # as on a small screen: every cell too small to click
    panel.choose_row(0)
    assert window.session.axes == (("z", j), ("z", i))
    xs, ys = panel.marker.getData()
    assert list(xs) == [j + 0.5] and list(ys) == [i + 0.5]
    (x0, x1), (y0, y1) = panel.plot.getPlotItem().getViewBox().viewRange()
    assert x0 <= j + 0.5 <= x1 and y0 <= i + 0.5 <= y1
    assert x1 - x0 <= qc.ZOOM_CELLS * 1.5, (x0, x1)  # zoomed onto the cell, not the whole matrix
    panel.show_all()
    (x0, x1), _ = panel.plot.getPlotItem().getViewBox().viewRange()
    d = window.session.stats.corr.shape[0]
    assert x0 <= 0.5 and x1 >= d - 0.5
    # a cell chosen in the matrix selects its row in the table (sorted as the user left it)
    a, b, _r = rows[3]
    panel.select_cell(b, a)  # below the diagonal: the same pair
    assert panel.top.currentRow() == 3
    assert window.session.axes == (("z", a), ("z", b))


def test_the_hover_readout_names_row_column_and_r(window):
    panel = window.correlations
    corr = window.session.stats.corr
    vb = panel.plot.getPlotItem().getViewBox()
    panel.show_all()
    i, j = 3, 5
    scene = vb.mapViewToScene(QPointF(j + 0.5, i + 0.5))
    assert panel.cell_at(scene) == (i, j)
    panel._moved(scene)
    text = panel.hover.text()
    assert f"row i = {i}, column j = {j}" in text and f"r = {float(corr[i, j]):+.3f}" in text
    panel._moved(vb.mapViewToScene(QPointF(-50, -50)))
    assert "hover a cell" in panel.hover.text()


def _csv_rows(plot):
    from gui.qt_export import plot_csv_text

    return list(csv.reader(io.StringIO(plot_csv_text(plot))))


def test_csv_rows_are_named_after_the_plotted_items(window):
    w = window
    rows = _csv_rows(w.pair_plot.plot)
    names = {r[0] for r in rows[1:]}
    assert {"training z-points (a sample)", "generated faces", "density contours"} <= names, names
    assert not any(n.startswith("series ") for n in names), names
    assert sum(r[0] == "generated faces" for r in rows) == len(w.session.sample.z)
    assert any(n.startswith("2σ") for n in names)  # the ellipses keep their legend names
    for plot, expected in ((w.components.plot, {"Gaussian fit"}),
                           (w.pca_panel.norm_plot, {"observed share inside", "expected share inside (Gaussian)"}),
                           (w.inspector.z_plot, {"training mean + 2σ", "training mean − 2σ", "this face's z"})):
        names = {r[0] for r in _csv_rows(plot)[1:]}
        assert expected <= names, (plot.objectName(), names)
        assert not any(n.startswith("series ") for n in names), names


def test_an_unknown_item_is_named_by_its_kind_and_duplicates_are_numbered():
    import pyqtgraph as pg

    from gui.qt_export import plot_series

    plot = pg.PlotWidget()
    plot.addItem(pg.ScatterPlotItem(x=[1, 2], y=[3, 4]))
    plot.addItem(pg.PlotDataItem([0, 1], [1, 0], name="fit"))
    plot.addItem(pg.PlotDataItem([0, 1], [2, 2], name="fit"))
    assert [s[0] for s in plot_series(plot)] == ["points 1", "fit 1", "fit 2"]
