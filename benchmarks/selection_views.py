#!/usr/bin/env python3
"""Lasso → every linked view updated, and hover → face, on a CelebA-sized cloud (issue 27's speed table).

    QT_QPA_PLATFORM=offscreen python benchmarks/selection_views.py [--n 202599] [--repeats 15]

The cloud: the default model's own z-points (its ~9k encoded rows) plus draws from its fitted Gaussian (mean and
covariance of those rows) up to ``--n`` points; its labels likewise (the real rows' labels, then real rows' labels
drawn at random for the synthetic points). The whole window is built on it (every panel connected to the session),
the Explore workspace shown, and lassos of several sizes are drawn on the pair plot as its Select tool hands them
over. Measured per lasso, in the GUI thread: the mask over all N points (``engine.selection``, the points sorted by
y once per pair of axes), the pair plot's
highlight, the components histogram's overlay, the Selection panel's count and prevalence bars, and the sum of
them plus one repaint of the window ("every linked view updated"); the Selection panel's faces come from the
worker (measured too: lasso → faces shown). Hover: pointer stop → the training face shown (decoded, no dataset
open: the slower case), with the preview cache emptied before each. Medians and min–max, milliseconds.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def big_model(n: int, seed: int = 0):
    """The default model opened, its z-points (and labels) grown to ``n`` rows as the module's text says."""
    import numpy as np

    from engine.attributes.labels import AttributeTable
    from engine.latent_stats import compute_stats
    from engine.resources import default_model_dir
    from engine.workflows.open_model import LEADING_PCS, leading_pca_coords, open_model

    m = open_model(default_model_dir(), statistics=False)
    z = np.asarray(m.latents, np.float32)
    rng = np.random.default_rng(seed)
    extra = max(0, n - len(z))
    mean, cov = z.mean(axis=0), np.cov(z, rowvar=False)
    draws = rng.multivariate_normal(mean, cov, size=extra, method="cholesky").astype(np.float32)
    zz = np.concatenate([z, draws])[:n]
    files = list(m.latent_files) + [f"synthetic_{i:06d}" for i in range(extra)]
    labels = None
    if m.labels is not None:
        rows = np.concatenate([np.arange(len(z)), rng.integers(0, len(z), size=extra)])[:n]
        labels = AttributeTable(list(m.labels.names), m.labels.values[rows], files[:n])
    t = time.perf_counter()
    stats = compute_stats(zz)
    pcs = leading_pca_coords(zz, stats, LEADING_PCS)
    print(f"cloud: {len(z):,} real + {extra:,} drawn = {len(zz):,} z-points × {zz.shape[1]}; labels "
          f"{'yes' if labels is not None else 'no'}; statistics {time.perf_counter() - t:.1f} s (once)")
    m.latents, m.latent_files, m.labels, m.stats, m.pca_coords = zz, files[:n], labels, stats, pcs
    return m


def _ms(values) -> str:
    return f"median {statistics.median(values):6.1f}  min {min(values):6.1f}  max {max(values):6.1f}"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=202_599)
    ap.add_argument("--repeats", type=int, default=15)
    a = ap.parse_args()
    import numpy as np
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from engine.selection import from_polygon
    from gui.app import make_app
    from gui.main_window import MainWindow

    app = make_app()
    model = big_model(a.n)
    settings = QSettings(str(Path("/tmp") / f"lfs-bench-sel-{os.getpid()}.ini"), QSettings.Format.IniFormat)
    w = MainWindow(model_dir=None, settings=settings, restore_state=False)
    w.resize(1280, 720)
    w.show()
    t = time.perf_counter()
    while not (w.panels_ready() and not w.bridge.busy()) and time.perf_counter() - t < 180:
        app.processEvents()  # the default model opened and its first faces: then the big cloud replaces it
        time.sleep(0.01)
    w.switch_workspace("explore")
    w.session.set_model(model, model.stats)
    for _ in range(20):
        app.processEvents()
    pp, comp, panel = w.pair_plot, w.components, w.selection_panel
    xy = pp._xy
    centre, spread_ = np.median(xy, axis=0), np.std(xy, axis=0)
    t = time.perf_counter()
    index = pp.selector.index(xy)  # the points sorted by y: once per pair of axes
    print(f"points sorted by y for the lasso test (once per pair of axes): {1000 * (time.perf_counter() - t):.0f} ms")
    parts = {k: [] for k in ("mask", "pair plot", "components", "selection panel", "repaint", "total", "faces")}
    counts = []
    rng = np.random.default_rng(1)
    for r in range(a.repeats):
        k = 60 + 10 * (r % 5)  # a hand-drawn lasso's vertices
        t = np.linspace(0, 2 * np.pi, k, endpoint=False)
        radius = (0.3 + 0.9 * rng.random()) * (1 + 0.15 * np.sin(5 * t))
        ring = np.column_stack([centre[0] + spread_[0] * radius * np.cos(t) + rng.normal() * 0.3 * spread_[0],
                                centre[1] + spread_[1] * radius * np.sin(t)])
        t0 = time.perf_counter()
        mask = from_polygon(xy, ring, index=index)
        t1 = time.perf_counter()
        from engine.selection import apply

        sel = apply(None, mask, "replace", "lasso")
        w.session.state.set_cloud_selection(sel)  # the state alone; each view is then timed on its own
        t2 = time.perf_counter()
        pp.selector.redraw()
        t3 = time.perf_counter()
        comp.draw_selection()
        t4 = time.perf_counter()
        panel.count_label.setText(f"{sel.count:,}")
        panel._bars()
        t5 = time.perf_counter()
        w.repaint()
        t6 = time.perf_counter()
        w.session.set_cloud_selection(None)
        # the whole gesture, as the Select tool hands it over: mask + every view through the session's signal
        s0 = time.perf_counter()
        pp.selector.select_shape("lasso", ring, "replace")
        w.repaint()
        s1 = time.perf_counter()
        while w.bridge.busy() or panel.faces.count() == 0:
            app.processEvents()
            time.sleep(0.001)
        s2 = time.perf_counter()
        counts.append(sel.count)
        for key, v in (("mask", t1 - t0), ("pair plot", t3 - t2), ("components", t4 - t3),
                       ("selection panel", t5 - t4), ("repaint", t6 - t5), ("total", s1 - s0), ("faces", s2 - s0)):
            parts[key].append(1000 * v)
        w.session.set_cloud_selection(None)
        app.processEvents()
    print(f"lassos on {len(xy):,} points, {a.repeats} repeats, selections of {min(counts):,}–{max(counts):,} points")
    for key, v in parts.items():
        label = {"total": "lasso → every linked view updated (goal ≤ 100 ms)",
                 "faces": "lasso → its 24 faces shown (worker, decoded)"}.get(key, key)
        print(f"  {label:52s} {_ms(v)}")
    # hover: pointer stop → the training face shown (no dataset: decoded), the cache emptied before each
    hover = pp.hover
    vb = pp.plot.getPlotItem().getViewBox()
    import pyqtgraph as pg

    idx = pp._sample_idx
    hover_ms = []
    for i in rng.choice(len(idx), size=a.repeats, replace=False):
        hover.clear()
        pos = vb.mapViewToScene(pg.Point(*xy[idx[i]]))
        hover._pos, hover._t0 = pos, time.perf_counter()
        got = hover.update_preview()
        if got is not None:
            hover_ms.append(hover.last_ms[-1])
    print(f"  {'hover → face shown (decoded; goal ≤ 30 ms)':52s} {_ms(hover_ms)}  ({len(hover_ms)} hovers)")
    w.close()
    QApplication.processEvents()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
