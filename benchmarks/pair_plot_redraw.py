#!/usr/bin/env python3
"""Pair-plot redraw time for a CelebA-sized cloud: 170,000 × 256 synthetic z-points (correlated Gaussian).

    QT_QPA_PLATFORM=offscreen python benchmarks/pair_plot_redraw.py [--n 170000] [--d 256]

Prints the time of a full redraw (project onto the axes + density image + contours + ellipses + capped
scatter + generated overlay) for several axis pairs — the first draw of a pair apart, then the median (min–max) of
the others — and of a layer toggle. Target: < 50 ms per redraw.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def synthetic_cloud(n: int, d: int, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    a = rng.normal(size=(d, d)) / np.sqrt(d)
    scales = np.linspace(2.0, 0.2, d)
    return (rng.standard_normal((n, d), dtype=np.float32) * scales.astype(np.float32)) @ a.astype(np.float32) + 0.3


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=170_000)
    ap.add_argument("--d", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    import numpy as np

    from engine.latent_stats import compute_stats
    from gui.app import make_app
    from gui.qt_pair_plot import PairPlotPanel
    from gui.session import LoadedModel, Sample, Session

    app = make_app()
    z = synthetic_cloud(a.n, a.d)
    t = time.perf_counter()
    stats = compute_stats(z)
    print(f"compute_stats on {a.n}×{a.d}: {time.perf_counter() - t:.1f} s (once per model, cached)")
    session = Session()

    class _Cfg:  # only the fields the pair plot reads
        class arch:
            z_dim = a.d
            image_size = 8

    from gui.session import leading_pca_coords

    t = time.perf_counter()
    pcs = leading_pca_coords(z, stats)  # done by the worker when a model is opened
    print(f"leading PCA coordinates (worker, once per model): {1000 * (time.perf_counter() - t):.0f} ms")
    session.model = LoadedModel(Path("."), None, _Cfg(), z, [], pca_coords=pcs)
    session.stats = stats
    panel = PairPlotPanel(session)
    panel.resize(800, 700)
    panel.show()
    session.sample = Sample(z[:64].copy(), np.zeros((64, 8, 8, 3), np.uint8), {})
    app.processEvents()
    rows = []
    for axes in ((("pca", 0), ("pca", 1)), (("z", 0), ("z", 1)), (("pca", 2), ("z", 7)), (("z", 10), ("pca", 5))):
        times, cpu = [], []
        panel.invalidate()  # first draw of these axes: no cached coordinates
        for _ in range(a.repeats):
            session.axes = axes
            t, c = time.perf_counter(), time.thread_time()
            panel.recompute()
            panel.plot.repaint()  # the paint that follows
            app.processEvents()
            times.append((time.perf_counter() - t) * 1000)
            cpu.append((time.thread_time() - c) * 1000)
        rows.append((axes, times, cpu))
    for axes, times, cpu in rows:
        med = float(np.median(times))
        med = float(np.median(times[1:])) if len(times) > 1 else med  # the first draw (no cached coordinates) apart
        print(f"redraw {axes[0][0]}{axes[0][1]} × {axes[1][0]}{axes[1][1]}: first {times[0]:6.1f} ms, then median {med:6.1f} ms "
              f"({min(times[1:] or times):.1f}–{max(times[1:] or times):.1f}) wall / {float(np.median(cpu[1:] or cpu)):5.1f} ms "
              f"GUI-thread CPU  (target < 50 ms: {'ok' if med < 50 else 'SLOW'})")
    t = time.perf_counter()
    for _ in range(10):
        panel.layer_boxes["density"].toggle()
        app.processEvents()
    print(f"layer toggle (no recompute): {(time.perf_counter() - t) * 100:.1f} ms each")
    return 0


if __name__ == "__main__":
    sys.exit(main())
