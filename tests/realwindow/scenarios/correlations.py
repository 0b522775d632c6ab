"""The correlation matrix with a real pointer and wheel at 1280×720 (issue 24, finding 13): hovering a cell reads
it out, a click chooses that cell, the wheel (after the click) zooms the matrix in, and a row of the strongest
pairs' table chooses its cell and zooms onto it when the cells are too small to click."""
from __future__ import annotations


def _view_point(panel, i: int, j: int):
    """Where the centre of cell (i, j) is inside the plot widget (widget pixels)."""
    from PySide6.QtCore import QPointF

    vb = panel.plot.getPlotItem().getViewBox()
    p = panel.plot.mapFromScene(vb.mapViewToScene(QPointF(j + 0.5, i + 0.5)))
    return int(p.x()), int(p.y())


def run(rw) -> dict:
    w = rw.window
    if hasattr(w, "switch_workspace"):
        w.switch_workspace("explore")
    w.raise_dock("correlationsDock")
    rw.process(400)
    panel = w.correlations
    panel.show_all()
    rw.process(200)
    rw.activate()
    d = w.session.stats.corr.shape[0]
    i, j = d // 3, (2 * d) // 3
    out = {"d": d, "cell px before": panel.cell_pixels()}
    rw.move_to(panel.plot, _view_point(panel, i, j))
    rw.process(200)
    out["hover"] = panel.hover.text()
    out["hover wanted"] = f"row i = {i}, column j = {j}"
    rw.click(panel.plot, at=_view_point(panel, i, j))
    out["axes after click"] = [list(a) for a in w.session.axes]
    out["wanted axes"] = [["z", j], ["z", i]]
    (x0, x1), _ = panel.plot.getPlotItem().getViewBox().viewRange()
    rw.wheel_over(panel.plot, 3, at=_view_point(panel, i, j))
    (z0, z1), _ = panel.plot.getPlotItem().getViewBox().viewRange()
    out["width before wheel"], out["width after wheel"] = x1 - x0, z1 - z0
    rw.shot("correlations-zoomed")
    panel.show_all()
    rw.process(200)
    table = panel.top
    out["titles"] = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    table.scrollToTop()
    rw.process(100)
    rect = table.visualItemRect(table.item(1, 2))
    rw.click(table.viewport(), at=(rect.center().x(), rect.center().y()))
    a, b = table.item(1, 0).data(0x0100)  # Qt.UserRole: the pair of the row
    out["row pair"] = [a, b]
    out["axes after row"] = [list(x) for x in w.session.axes]
    out["cell px after row"] = panel.cell_pixels()
    out["marker"] = [float(v[0]) for v in panel.marker.getData()]
    out["table fits"] = all(table.fontMetrics().horizontalAdvance(table.item(r, c).text()) <= table.columnWidth(c)
                            for r in range(5) for c in range(table.columnCount()))
    rw.shot("correlations-row")
    return out
