"""The Compare samplers panel arranges its table and two charts for the room it has: docked in a 1280×720
window (about 480×260 px) one at a time behind tabs, so that a chart is not squeezed to ~40 px; large, the
table beside the two charts stacked; wide and low, the three side by side. The bar chart's sampler names
never run into each other."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QApplication

pytestmark = pytest.mark.gui

PLOT_MIN = 120  # px: the least height a chart needs for its title, ticks and bars to read


def settle(qtbot, w, ms=50):
    for _ in range(5):
        QApplication.processEvents()
    qtbot.wait(ms)


def run_comparison(qtbot, w):
    cmp = w.compare
    cmp.n.setValue(16)
    cmp.sweep_sampler.setCurrentIndex(cmp.sweep_sampler.findData("pca-ellipse"))
    cmp.sweep_param.setCurrentIndex(cmp.sweep_param.findData("fact"))
    cmp.sweep_values.setText("0.4, 0.7, 0.9")
    with qtbot.waitSignal(cmp.report_ready, timeout=120000):
        cmp.run()
    qtbot.waitUntil(lambda: not w.bridge.busy(), timeout=60000)
    settle(qtbot, w)


def shown(cmp):
    return {name for name, widget in (("table", cmp.table), ("bars", cmp.bar_plot), ("sweep", cmp.sweep_plot))
            if widget.isVisible() and widget.width() > 0 and widget.height() > 0}


def assert_labels_do_not_overlap(cmp):
    ticks = cmp.bar_labels()
    assert ticks, "no labels under the bars"
    vb = cmp.bar_plot.getPlotItem().getViewBox()
    (x0, x1), _ = vb.viewRange()
    px = vb.width() / (x1 - x0)
    fm = QFontMetrics(cmp._tick_font)
    for (xa, a), (xb, b) in zip(ticks, ticks[1:]):
        assert (fm.horizontalAdvance(a) + fm.horizontalAdvance(b)) / 2 < (xb - xa) * px, (a, b, px)


def test_fit_labels_shortens_then_thins():
    from gui.qt_compare import fit_labels, label_forms

    names = ["held-out real", "reconstructions", "uniform", "box", "pca-ellipse", "normal", "gmm", "kde", "path"]
    width = lambda s: 6.0 * len(s)  # noqa: E731
    assert fit_labels(names, 200, width) == names  # room for every whole name
    mid = fit_labels(names, 52, width)  # the long names shortened, the short ones kept
    assert mid[:2] == ["real", "recon"] and mid[2] == "uniform" and mid[4] == "pca-ell."
    assert all(width(t) + 4 <= 52 for t in mid)
    tight = fit_labels(names, 12, width)  # not even four letters fit under each bar: every k-th only
    kept = [i for i, t in enumerate(tight) if t]
    assert 0 < len(kept) < len(names)
    assert all(tight[i] == label_forms(names[i])[-1] for i in kept)
    for a, b in zip(kept, kept[1:]):
        assert (width(tight[a]) + width(tight[b])) / 2 < (b - a) * 12


def test_compare_docked_small_shows_tabs_large_side_by_side(make_window, qtbot, tiny_model):
    w = make_window(tiny_model)
    qtbot.waitUntil(lambda: w.panels_ready() and not w.bridge.busy(), timeout=60000)
    w.resize(1280, 720)
    dock = w.docks["compareDock"]
    # in its workspace, a 1280×720 window shows the table, the bars and the sweep at once
    w.switch_workspace("compare")
    settle(qtbot, w, 300)
    cmp = w.compare
    assert cmp.mode() == "split", cmp.size()
    # a small panel (as the issue's, 540×320): one view at a time
    dock.setFloating(True)
    dock.resize(540, 320)
    settle(qtbot, w, 200)
    assert cmp.height() < 330 and cmp.width() < 560, cmp.size()

    # small: one view at a time, chosen by the tabs, each with a readable height
    assert cmp.mode() == "tabs"
    assert cmp.view_tabs.isVisible()
    assert [cmp.view_tabs.tabText(i) for i in range(cmp.view_tabs.count())] == ["table", "bars", "sweep"]
    run_comparison(qtbot, w)
    rep = cmp.report
    for name in ("table", "bars", "sweep"):
        cmp.show_view(name)
        settle(qtbot, w)
        assert shown(cmp) == {name}
        widget = {"table": cmp.table, "bars": cmp.bar_plot, "sweep": cmp.sweep_plot}[name]
        assert widget.height() >= PLOT_MIN, (name, widget.size())
        assert widget.width() >= cmp.width() - 20  # the whole panel's width
    # the results are there, behind their tabs
    assert cmp.table.rowCount() == len(rep.rows) >= 7
    cmp.metric.setCurrentIndex(cmp.metric.findData("inside_2s"))
    cmp.show_view("bars")
    settle(qtbot, w)
    finite = [r for r in rep.rows if np.isfinite(r["inside_2s"])]
    assert len(cmp.bars.opts["height"]) == len(finite)
    assert_labels_do_not_overlap(cmp)
    assert {x for x, _ in cmp.bar_labels()} <= set(range(len(finite)))
    xs, ys = cmp.sweep_curve.getData()
    assert list(xs) == [0.4, 0.7, 0.9] and len(ys) == 3
    # the export buttons and menus the window put on the two charts are still theirs
    assert cmp.bar_plot.export_button is not None and cmp.sweep_plot.export_button is not None
    assert w.export_menus["sampler-comparison"] is cmp.bar_plot.export_menu
    assert w.export_menus["sampler-sweep"] is cmp.sweep_plot.export_menu

    # a metric chosen while the table is in view: the bars' labels follow it
    cmp.show_view("table")
    settle(qtbot, w)
    other = next(k for k in range(cmp.metric.count())
                 if cmp.metric.model().item(k).isEnabled() and cmp.metric.itemData(k) != "inside_2s")
    cmp.metric.setCurrentIndex(other)
    cmp.show_view("bars")
    settle(qtbot, w)
    m = cmp.metric.currentData()
    rows = [r for r in rep.rows if isinstance(r.get(m), (int, float)) and np.isfinite(r[m])]
    assert {x for x, _ in cmp.bar_labels()} <= set(range(len(rows)))
    assert_labels_do_not_overlap(cmp)

    # large (floating): today's arrangement, the table beside the bars above the sweep
    dock.resize(1000, 700)
    settle(qtbot, w, 200)
    assert cmp.mode() == "split"
    assert not cmp.view_tabs.isVisible()
    assert shown(cmp) == {"table", "bars", "sweep"}
    t, b, s = (x.mapTo(cmp, x.rect().topLeft()) for x in (cmp.table, cmp.bar_plot, cmp.sweep_plot))
    assert t.x() < b.x() == s.x() and b.y() < s.y()
    assert cmp.bar_plot.height() >= PLOT_MIN and cmp.sweep_plot.height() >= PLOT_MIN
    assert_labels_do_not_overlap(cmp)

    # wide but low (as docked at the bottom of the window): the three side by side
    dock.resize(1200, 300)
    settle(qtbot, w, 200)
    assert cmp.mode() == "row"
    assert shown(cmp) == {"table", "bars", "sweep"}
    t, b, s = (x.mapTo(cmp, x.rect().topLeft()) for x in (cmp.table, cmp.bar_plot, cmp.sweep_plot))
    assert t.x() < b.x() < s.x() and b.y() == s.y()
    assert cmp.bar_plot.height() >= PLOT_MIN
    assert_labels_do_not_overlap(cmp)

    # small again: the tabs are back, on the view chosen before
    dock.resize(540, 320)
    settle(qtbot, w, 200)
    assert cmp.mode() == "tabs" and shown(cmp) == {"bars"}
    # a new run still fills the charts (behind their tabs) and Apply best value still works
    cmp.sweep_values.setText("0.5, 0.8")
    with qtbot.waitSignal(cmp.report_ready, timeout=120000):
        cmp.run()
    qtbot.waitUntil(lambda: not w.bridge.busy(), timeout=60000)
    xs, _ = cmp.sweep_curve.getData()
    assert list(xs) == [0.5, 0.8]
    best = cmp.best_value()
    if best is not None:
        cmp.apply_best()
        assert w.sampler_panel.sampler_name() == "pca-ellipse"
        assert w.sampler_panel.values()["fact"] == pytest.approx(best)
