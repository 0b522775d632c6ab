#!/usr/bin/env python3
"""Time the latent statistics on a synthetic correlated cloud of the blog's size (170,000 × 256).

Targets (issue 4): all statistics < 3 s on 2 cores; one pair's contour lines < 50 ms.
Also compares the engine's Gaussian fits (``fit_gaussians``) with scipy.optimize.curve_fit run per component,
alternated round by round in one run (``benchmarks/_fair.py``), medians with min–max.

    python benchmarks/bench_latent_stats.py [--n 170000] [--d 256] [--repeats 3]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _fair  # noqa: E402


def timed(fn, repeats):
    out, times = None, []
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return out, statistics.median(times), times


def span(times) -> str:
    """'min–max' of some times, in ms."""
    return f"{min(times) * 1000:.1f}–{max(times) * 1000:.1f}"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=170_000)
    ap.add_argument("--d", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    from engine import latent_stats as ls

    rng = np.random.default_rng(0)
    d = a.d
    centres = rng.normal(0, 0.5, d)
    sigmas = rng.uniform(0.3, 2.0, d)
    mix = np.eye(d) + rng.normal(0, 0.6 / np.sqrt(d), (d, d))  # correlated components
    z = np.empty((a.n, d), np.float32)
    for i in range(0, a.n, 20000):
        m = min(20000, a.n - i)
        z[i : i + m] = (rng.standard_normal((m, d)) @ mix) * sigmas + centres
    true_sig = sigmas * np.sqrt((mix**2).sum(axis=0))
    print(f"cloud {a.n} × {d} (float32, correlated)")

    stats, t_stats, all_t = timed(lambda: ls.compute_stats(z), a.repeats)
    print(f"compute_stats            median {t_stats:.2f} s ({min(all_t):.2f}–{max(all_t):.2f})  target < 3 s")
    print(f"  fitted centres |err| max {np.abs(stats.centres - centres).max():.3f}, σ rel err max "
          f"{np.abs(stats.sigmas / true_sig - 1).max():.3f}, median fit R² {np.median(stats.fit_quality):.4f}")
    print(f"  normality observed {np.round(stats.normality.observed, 4)} vs expected {np.round(stats.normality.expected, 4)}")

    # batched Levenberg–Marquardt vs scipy curve_fit per component
    from scipy.optimize import curve_fit

    hists = [stats.histogram(i) for i in range(d)]

    def per_component():
        return [curve_fit(ls.gaussian, h.centres, h.counts, p0=(h.counts.max(), z[:, i].mean(), z[:, i].std()))[0]
                for i, h in enumerate(hists)]

    counts, x, valid = ls._padded(stats.hist_lo, stats.hist_bins, np.concatenate([h.counts for h in hists]), stats.interval)
    out = {}

    def engine_fit():
        out["fit"] = ls.fit_gaussians(counts, x, valid)

    def scipy_loop():
        out["ref"] = np.array(per_component())

    # side by side in one run (benchmarks/_fair.py): alternated rounds, warm-up discarded, medians with min–max
    cmp = _fair.compare({"curve_fit loop": scipy_loop, "fit_gaussians": engine_fit}, rounds=a.repeats, warmup=1)
    fit, ref = out["fit"], out["ref"]
    print(f"Gaussian fits ×{d}, {a.repeats} rounds alternated: median (min–max)")
    print("\n".join(cmp.report(unit="ms", scale=1000, digits=0)))
    print(f"  max |Δσ|/σ of fit_gaussians vs curve_fit {np.abs(fit['sigma'] / ref[:, 2] - 1).max():.2e}")

    for axes in [(("z", 0), ("z", 1)), (("pca", 0), ("pca", 1))]:
        def contours():
            xy = ls.project(z, stats, axes)
            return ls.density_contours(ls.density_grid(xy))

        lines, t_c, all_c = timed(contours, max(5, a.repeats))
        grid_xy = ls.project(z, stats, axes)
        _, t_only, _ = timed(lambda: ls.density_contours(ls.density_grid(grid_xy)), max(5, a.repeats))
        print(f"contour lines {axes[0][0]}{axes[0][1]}/{axes[1][0]}{axes[1][1]}: median {t_c * 1000:.1f} ms "
              f"({span(all_c)}) incl. projection "
              f"({t_only * 1000:.1f} ms grid+contourpy), {sum(len(l) for _, l in lines)} polylines; target < 50 ms")
    proj, t_cache, _ = timed(lambda: ls.PairProjector(z, stats, 32), 3)
    for axes in [(("pca", 0), ("pca", 1)), (("pca", 3), ("z", 7))]:
        _, t_c, all_c = timed(lambda: ls.density_contours(ls.density_grid(proj.project(axes))), 7)
        print(f"contour lines {axes[0][0]}{axes[0][1]}/{axes[1][0]}{axes[1][1]} with PairProjector (32 PCA axes cached once in "
              f"{t_cache * 1000:.0f} ms): median {t_c * 1000:.1f} ms ({span(all_c)}) incl. projection")
    return 0


if __name__ == "__main__":
    sys.exit(main())
