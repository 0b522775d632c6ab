#!/usr/bin/env python3
"""pca-ellipse: the vectorised construction against the blog's per-vector Python loop over all pairs.

Targets (issue 4): ≥ 500× faster than the loop; 100,000 vectors of 100 components in < 2 s.
The loop is timed on fewer vectors and its per-vector time scaled, alternated round by round with the vectorised
construction in one run (``_fair.compare``: medians with min–max, warm-up discarded); a KS test compares the |u|
distributions of both (u = v / (fact·level·σ)).

    python benchmarks/bench_pca_ellipse.py [--n 100000] [--k 100] [--loop-n 300]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _fair  # noqa: E402


PER_VECTOR = {
    "|u_0|": lambda u: np.abs(u[:, 0]),
    "|u_k-1|": lambda u: np.abs(u[:, -1]),
    "max |u|": lambda u: np.abs(u).max(axis=1),
    "mean |u|": lambda u: np.abs(u).mean(axis=1),
}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--loop-n", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    from scipy.stats import ks_2samp

    from engine.samplers import make_sampler
    from engine.samplers.pca_ellipse import ellipse_values, ellipse_values_loop, pair_conditions_hold

    # timed side by side in one run (benchmarks/_fair.py): each round runs the vectorised construction on n vectors
    # and the loop on loop_n vectors, alternating which goes first; the per-vector times are compared
    seeds = iter(range(10_000))
    last = {}

    def vectorised():
        t = time.perf_counter()
        last["vec"] = ellipse_values(a.n, a.k, np.random.default_rng(next(seeds)))
        return (time.perf_counter() - t) / a.n

    def loop():
        t = time.perf_counter()
        last["loop"] = ellipse_values_loop(a.loop_n, a.k, np.random.default_rng(next(seeds)))
        return (time.perf_counter() - t) / a.loop_n

    cmp = _fair.compare({"blog loop": loop, "vectorised": vectorised}, rounds=a.repeats, warmup=1)
    u, ul = last["vec"], last["loop"]
    vec, lp = cmp.spread("vectorised"), cmp.spread("blog loop")
    pvalues = []
    for r in range(3):
        ul_r = ellipse_values_loop(a.loop_n, a.k, np.random.default_rng(100 + r))
        uv = ellipse_values(20 * a.loop_n, a.k, np.random.default_rng(200 + r))
        # one value per vector, so the samples are independent (pooling all |u| of a vector is not:
        # its values share the running maximum, and a pooled KS test gives far too small p-values)
        pvalues.append([ks_2samp(f(uv), f(ul_r)).pvalue for f in PER_VECTOR.values()])
    print(f"side by side, 1 warm-up + {a.repeats} rounds alternated ({_fair.load_average()}): median (min–max)")
    print(f"vectorised: {a.n} vectors × {a.k} components in {vec.text(a.n, 3, ' s')}; target < 2 s")
    print(f"blog loop:  {lp.text(1e3, 2, ' ms')} per vector (rounds of {a.loop_n} vectors) → "
          f"{lp.median * a.n:.0f} s for {a.n}")
    rr = cmp.round_ratios("blog loop", "vectorised")
    print(f"speed-up:   ×{cmp.ratio('blog loop', 'vectorised'):.0f} per vector (ratio of medians; per round "
          f"{rr.text(digits=0)}); target ≥ 500×")
    for j, name in enumerate(PER_VECTOR):
        print(f"KS {name:>10} vectorised vs loop, 3 independent pairs of runs: p = "
              f"{', '.join(f'{p[j]:.3f}' for p in pvalues)} (same distribution: none ≪ 0.01)")
    print(f"all pair conditions hold: vectorised {bool(pair_conditions_hold(u).all())}, loop {bool(pair_conditions_hold(ul).all())}")

    # the whole sampler on a 256-d cloud, with the back-transformation
    rng = np.random.default_rng(0)
    d = 256
    cloud = (rng.standard_normal((20000, d)) @ (np.eye(d) + rng.normal(0, 0.05, (d, d)))).astype(np.float32)
    for residual in ("centre", "gaussian"):
        s = make_sampler("pca-ellipse", {"residual": residual}).fit(cloud)
        t = time.perf_counter()
        s.sample(a.n, seed=0)
        t_s = time.perf_counter() - t
        diag = s.diagnostics()
        sp = np.array([np.nan if v is None else v for v in diag["spread_per_axis"]])
        print(f"sampler residual={residual}: {a.n} × {d} z-vectors in {t_s:.2f} s; spread/σ on drawn axes: "
              f"mean {diag['mean_spread_drawn']:.3f} (axis 0 {sp[0]:.3f}, axis 99 {sp[99]:.3f}; a uniform box without pair "
              f"conditions would give {diag['uniform_spread_without_pair_conditions']:.3f}); dropped axes {np.nanmean(sp[100:]):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
