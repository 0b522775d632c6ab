"""Opening another model leaves nothing of the previous one on screen (issue 24, finding 9): after model A was
used in every panel, opening model B shows exactly what a window that opened B directly shows.

``panel_values(window)`` collects what each panel displays — label texts, images shown, buttons' states, table
and list contents, combo box choices, every plot item's data and each plot's range — and the test compares it,
field by field, with a fresh window on B."""
from __future__ import annotations

import re
import shutil

import numpy as np
import pytest

pytestmark = pytest.mark.gui

#: Panels of the window and their attribute names (the sampler and the faces, then the late panels).
PANELS = ("sampler_panel", "face_grid", "model_panel", "pair_plot", "components", "correlations", "pca_panel",
          "inspector", "compare", "attributes", "photo_panel", "directions", "path_panel", "atlas_panel")


def _idle(qtbot, w, timeout=60000):
    qtbot.waitUntil(lambda: not w.bridge.busy(), timeout=timeout)


def _plot_values(plot) -> dict:
    """Every item's data in a pyqtgraph PlotWidget, its title and axis labels, and the view's range."""
    import pyqtgraph as pg

    pi = plot.getPlotItem()
    pi.getViewBox().prepareForPaint()  # the range it shows when painted (a hidden plot's auto range waits for that)
    out = {"range": np.round(np.asarray(pi.getViewBox().viewRange(), float), 3).tolist(),
           "title": pi.titleLabel.text if pi.titleLabel.isVisible() else ""}
    for name in ("bottom", "left"):
        out[f"axis {name}"] = pi.getAxis(name).labelText
    for k, it in enumerate(pi.items):
        key = f"{k}:{type(it).__name__}"
        if isinstance(it, (pg.PlotDataItem, pg.PlotCurveItem, pg.ScatterPlotItem)):
            x, y = it.getData()
            out[key] = None if x is None else np.nan_to_num(np.round(np.concatenate([np.ravel(x), np.ravel(y)]), 4),
                                                            nan=1e30).tolist()  # nan == nan: a break in a line
        elif isinstance(it, pg.ImageItem):
            out[key] = None if it.image is None else (it.image.shape, float(np.nanmean(it.image)))
        elif isinstance(it, pg.BarGraphItem):
            out[key] = np.round(np.asarray(it.opts.get("height", []), float), 4).tolist()
        elif isinstance(it, pg.TextItem):
            out[key] = it.toPlainText()
    out["empty"] = not any(v for k, v in out.items() if ":" in k)
    return out


def _key(wd, panel) -> str:
    """A widget's place in its panel: the chain of object names (or class and rank among its siblings)."""
    from PySide6.QtWidgets import QStackedWidget

    parts = []
    while wd is not None and wd is not panel:
        parent = wd.parentWidget()
        name = wd.objectName()
        if isinstance(parent, QStackedWidget):  # the pages of a tab widget: by index (the front one moves)
            name = f"page{parent.indexOf(wd)}"
        elif not name or name.startswith("qt_"):
            same = [c for c in (parent.children() if parent is not None else []) if type(c) is type(wd)]
            name = f"{type(wd).__name__}[{same.index(wd) if wd in same else 0}]"
        parts.append(name)
        wd = parent
    return "/".join(reversed(parts))


def panel_values(panel) -> dict:
    """What ``panel`` displays, by widget: texts, images, enabled and hidden states, table and list contents, the
    plots' data and ranges (not which tab or page is in front: that is the user's)."""
    import pyqtgraph as pg
    from PySide6.QtWidgets import (
        QAbstractButton, QAbstractSpinBox, QComboBox, QLabel, QLineEdit, QListWidget, QProgressBar, QTableWidget,
        QWidget,
    )

    out = {}
    for wd in panel.findChildren(QWidget):
        key = _key(wd, panel)
        if isinstance(wd, pg.PlotWidget):
            out[key] = _plot_values(wd)
        elif isinstance(wd, QLabel):
            pm = wd.pixmap()
            # the model card's "runs on" says whether ONNX Runtime's checked export was ready: not the model's data
            text = re.sub(r"runs on</td><td>[^<]*", "runs on", wd.text())
            out[key] = (re.sub(r"\d+ ms", "N ms", text), None if pm is None or pm.isNull() else (pm.width(), pm.height()), wd.isHidden())
        elif isinstance(wd, QAbstractButton):
            out[key] = (wd.text(), wd.isEnabled(), wd.isHidden())
        elif isinstance(wd, QLineEdit):
            out[key] = wd.text()
        elif isinstance(wd, QComboBox):
            out[key] = ([wd.itemText(i) for i in range(wd.count())], wd.currentIndex(), wd.isEnabled())
        elif isinstance(wd, QAbstractSpinBox):
            out[key] = (wd.text(), wd.isEnabled())
        elif isinstance(wd, QProgressBar):
            out[key] = (wd.value(), wd.maximum(), wd.format())
        elif isinstance(wd, QTableWidget):
            out[key] = [[wd.item(r, c).text() if wd.item(r, c) else "" for c in range(wd.columnCount())]
                        for r in range(wd.rowCount())]
        elif isinstance(wd, QListWidget):
            out[key] = [wd.item(i).text() for i in range(wd.count())]
    return out


def window_values(w) -> dict:
    return {name: panel_values(getattr(w, name)) for name in PANELS}


def _same(field: str, va, vb, empty: bool = False) -> bool:
    """Equal; a view's range within 2 % of its span (15 % for an empty plot: its padding follows its size)."""
    if field == "range" and va is not None and vb is not None:
        a, b = np.asarray(va, float), np.asarray(vb, float)
        span = np.maximum(np.abs(b[:, 1] - b[:, 0]), 1e-9)[:, None]
        return bool(np.all(np.abs(a - b) <= (0.15 if empty else 0.02) * span))
    return va == vb


def differences(a: dict, b: dict) -> list[str]:
    """Every field that differs between two ``window_values``: "panel / widget: A-value ≠ B-value"."""
    out = []
    for panel in a:
        for key in sorted(set(a[panel]) | set(b[panel])):
            va, vb = a[panel].get(key, "<absent>"), b[panel].get(key, "<absent>")
            if isinstance(va, dict) and isinstance(vb, dict):
                out += [f"{panel} / {key} / {f}: {va.get(f)!r:.300} ≠ {vb.get(f)!r:.300}"
                        for f in sorted(set(va) | set(vb))
                        if not _same(f, va.get(f), vb.get(f), bool(va.get("empty") and vb.get("empty")))]
            elif va != vb:
                out.append(f"{panel} / {key}: {va!r:.1000} ≠ {vb!r:.1000}")
    return out


def _use_every_panel(qtbot, w, data_dir) -> None:
    """Model A in every panel: a dataset, a grid, a decoded point and the hover readout, a drawn and decoded path,
    directions and their map with a face picked, the atlas, the inspector editing, a component picked."""
    import pyqtgraph as pg

    s = w.session
    w.open_dataset(data_dir)
    _idle(qtbot, w)
    w.sampler_panel.set_sampler("pca-ellipse")  # a sampler with fit diagnostics
    w.generate_now()
    _idle(qtbot, w)
    assert s.sample is not None and w.sampler_panel.diagnostics.text()
    pp = w.pair_plot
    vb = pp.plot.getPlotItem().getViewBox()
    (x0, x1), (y0, y1) = vb.viewRange()
    point = pg.Point(0.6 * x0 + 0.4 * x1, 0.5 * (y0 + y1))
    probe = pp.clicks.decode_scene_pos(vb.mapViewToScene(point))
    assert probe is not None and pp.probe_btn.isEnabled()
    pp._mouse_moved(vb.mapViewToScene(point))
    assert "=" in pp.coords.text()
    pp.add_path_vertex(x0 * 0.5, y0 * 0.5)
    pp.add_path_vertex(x1 * 0.5, y1 * 0.5)
    w.path_panel.run()
    _idle(qtbot, w)
    assert w.path_panel.path is not None
    w.directions.compute("pca", 10)
    _idle(qtbot, w)
    w.directions.compute_map("pca")
    _idle(qtbot, w)
    w.directions.show_map_point(0)
    _idle(qtbot, w)
    assert "z-points" in w.directions.map_note.text()
    w.raise_dock("atlasDock")
    w.window_actions.atlas_panel_follow()
    w.atlas_panel.set_model(s.model.codec, s.stats, s.axes, s.current_z())
    _idle(qtbot, w)
    w.atlas_panel.clicks.decode_scene_pos(w.atlas_panel.plot.getPlotItem().getViewBox().mapViewToScene(point))
    w.components.set_component(5)
    w.correlations._moved(w.correlations.plot.getPlotItem().getViewBox().mapViewToScene(pg.Point(1.5, 2.5)))
    sl = w.inspector.sliders[0]
    sl.setValue(sl.value() + (100 if sl.value() < 0 else -100))
    qtbot.waitUntil(lambda: s.edited_z is not None and not w.bridge.busy(), timeout=30000)
    pp.probe_btn.click()
    _idle(qtbot, w)


def test_a_model_switch_leaves_nothing_of_the_previous_model(make_window, qtbot, tiny_model, tiny_data, other_model,
                                                            tmp_path):
    w = make_window(tiny_model, auto_generate=False)
    w.wait_idle()
    before = window_values(w)
    _use_every_panel(qtbot, w, tiny_data)
    used = window_values(w)
    # the use showed something in every panel that holds model A's results
    changed = {p for p in PANELS if differences({p: before[p]}, {p: used[p]})}
    assert changed >= {"sampler_panel", "face_grid", "pair_plot", "components", "correlations", "inspector",
                       "directions", "path_panel", "atlas_panel", "model_panel"}, changed

    w.open_model(other_model)
    _idle(qtbot, w)
    assert w.session.model.z_dim == 6 and w.session.dataset is None
    switched = window_values(w)
    fresh = make_window(other_model, auto_generate=False)
    fresh.sampler_panel.set_sampler("pca-ellipse")  # the user's choices in the first window: the same here
    qtbot.wait(20)  # the sampler's previous rows go (deleteLater)
    fresh.directions.map_method.setCurrentIndex(fresh.directions.map_method.findData("pca"))
    fresh.directions.tabs.setCurrentIndex(w.directions.tabs.currentIndex())
    fresh.raise_dock("atlasDock")
    fresh.window_actions.atlas_panel_follow()
    _idle(qtbot, fresh)
    fresh.wait_idle()
    _idle(qtbot, fresh)
    expected = window_values(fresh)
    diff = differences(switched, expected)
    assert diff == [], "\n".join(diff)
    # then a model without z-points (as a model just imported is): empty views, as a fresh window shows them
    bare = tmp_path / "bare"
    shutil.copytree(other_model, bare)
    for name in ("latents.npy", "latent_names.txt"):
        (bare / name).unlink(missing_ok=True)
    w.open_model(bare)
    _idle(qtbot, w)
    assert w.session.model.folder == bare and w.session.stats is None, w.last_error
    fresh_bare = make_window(bare, auto_generate=False)
    fresh_bare.wait_idle()
    fresh_bare.sampler_panel.set_sampler("pca-ellipse")
    qtbot.wait(20)  # the sampler's previous rows go (deleteLater)
    fresh_bare.directions.map_method.setCurrentIndex(fresh_bare.directions.map_method.findData("pca"))
    fresh_bare.directions.tabs.setCurrentIndex(w.directions.tabs.currentIndex())
    fresh_bare.raise_dock("atlasDock")
    _idle(qtbot, fresh_bare)
    diff = differences(window_values(w), window_values(fresh_bare))
    assert diff == [], "\n".join(diff)
    w.open_model(other_model)  # back to B for the checks by name
    _idle(qtbot, w)
    # the findings of issue 24, by name
    pp = w.pair_plot
    assert pp.probe is None and not pp.probe_btn.isEnabled() and pp.coords.text().strip() == ""
    assert w.sampler_panel.diagnostics.text() == ""
    assert "9" not in w.directions.map_note.text() and w.directions.latent_map is None
    assert w.path_panel.path is None and len(w.path_panel.curve.getData()[0] or []) == 0
    assert w.atlas_panel.layer.atlas is None and w.atlas_panel.stats is None or w.atlas_panel.stats is w.session.stats
