"""Selection speed at CelebA's size (issue 27): query → mask + group statistics, and "generate like it".

202,599 z-points built in memory: the default model's 9,000 rows plus draws from its Gaussian (the cloud's mean and
covariance); labels drawn consistently: each drawn point gets each attribute with the probability its judge
(engine.lab.probes) gives it, the 9,000 keep their own labels.

* query → mask + group statistics (against the rest): each query on a fresh column cache (its columns computed
  again: the worst case of a new query), R repetitions, median and min–max. The one-time work per model
  (``cloud_basis``: the whole cloud's histograms, the judges' scores of every point) is reported apart.
* Every time is given as wall time and as this process's CPU time (``time.process_time``): on a machine shared with
  other work, with one BLAS thread (``OMP_NUM_THREADS=1``), the CPU time is what the same run takes on an idle core.
  Warm: the same query again on the kept column cache (what the window does while a query is edited).
* fit a sampler to a selection of 10,000 points and make 32 faces (decoded): every registered sampler, with the
  workflow's own subsampling (``FIT_MAX``); the quality measurement is timed apart.

    python benchmarks/selection_speed.py [--repeat 7] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # one thread: CPU time = idle-core time
    os.environ.setdefault(_var, "1")

N_TOTAL = 202_599
QUERIES = (
    "Smiling and not Male and p(Eyeglasses) > 0.8 and PC3 > 1",
    "Smiling and not Male and p(Eyeglasses) > 0.5",
    "z12 < -1.5 or (Blond_Hair and Young)",
    "Male",
    "not Male and Young and PC1 > 0",
)


def build(seed: int = 0):
    """(the opened default model with 202,599 z-points and labels, the judges, the PCA)."""
    from engine.attributes import AttributeTable
    from engine.lab.probes import attribute_probes
    from engine.latent_stats import pca_of
    from engine.resources import default_model_dir
    from engine.workflows.open_model import open_model

    opened = open_model(default_model_dir())
    z0 = opened.require_latents().astype(np.float64)
    labels = opened.labels
    judges = attribute_probes(z0, labels)
    rng = np.random.default_rng(seed)
    extra = N_TOTAL - len(z0)
    mean, cov = z0.mean(axis=0), np.cov(z0, rowvar=False)
    zx = rng.multivariate_normal(mean, cov, size=extra, method="cholesky").astype(np.float32)
    vals = np.empty((extra, len(labels.names)), np.float32)
    for a, nm in enumerate(labels.names):
        if nm in judges.names:
            j = judges.names.index(nm)
            p = 1 / (1 + np.exp(-(zx @ judges.weights[j].astype(np.float32) + judges.bias[j])))
        else:
            p = np.full(extra, (labels.column(nm) > 0).mean())
        col = labels.column(nm)
        absent = float(np.nanmin(col))  # the table's own spelling of "absent" (labels.csv: 0; CelebA's file: -1)
        vals[:, a] = np.where(rng.random(extra) < p, 1.0, absent)
    z = np.concatenate([z0.astype(np.float32), zx])
    table = AttributeTable(list(labels.names), np.concatenate([labels.values, vals]),
                           list(labels.files) + [f"drawn_{i:06d}" for i in range(extra)])
    opened.latents, opened.labels = z, table
    opened.latent_files = list(opened.latent_files) + [f"drawn_{i:06d}" for i in range(extra)]
    opened.stats = None
    return opened, judges, pca_of(z.astype(np.float64))


def summary(times: list[float]) -> dict:
    ms = [1000 * t for t in times]
    return {"median_ms": statistics.median(ms), "min_ms": min(ms), "max_ms": max(ms), "runs": len(ms)}


def bench_queries(opened, judges, pca, repeat: int) -> dict:
    from engine.group_stats import cloud_basis, group_stats
    from engine.query import QuerySpace, evaluate

    out: dict = {}
    t = time.perf_counter()
    basis = cloud_basis(opened.latents, labels=opened.labels, judges=judges, pca=pca)
    out["cloud_basis_once_s"] = time.perf_counter() - t
    for q in QUERIES:
        q_t, s_t, both, cpu, warm, warm_cpu = [], [], [], [], [], []
        count = 0
        for _ in range(repeat):
            space = QuerySpace(opened.latents, labels=opened.labels, judges=judges, pca=pca)  # no cached columns
            c0, t0 = time.process_time(), time.perf_counter()
            mask = evaluate(q, space)
            t1 = time.perf_counter()
            st = group_stats(basis, mask) if mask.any() else None  # an empty selection has no statistics
            if st is not None:
                st.histogram(0)  # the component a histogram view shows
            t2, c2 = time.perf_counter(), time.process_time()
            q_t.append(t1 - t0)
            s_t.append(t2 - t1)
            both.append(t2 - t0)
            cpu.append(c2 - c0)
            c0, t0 = time.process_time(), time.perf_counter()
            mask = evaluate(q, space)  # warm: the columns kept
            if mask.any():
                group_stats(basis, mask).histogram(0)
            warm.append(time.perf_counter() - t0)
            warm_cpu.append(time.process_time() - c0)
            count = int(mask.sum())
        out[q] = {"count": count, "query": summary(q_t), "stats": summary(s_t), "total": summary(both),
                  "total_cpu": summary(cpu), "warm": summary(warm), "warm_cpu": summary(warm_cpu)}
        r = out[q]
        print(f"{q!r}: {count:,} points; query+stats wall median {r['total']['median_ms']:.0f} ms (min "
              f"{r['total']['min_ms']:.0f}, max {r['total']['max_ms']:.0f}; query {r['query']['median_ms']:.0f}, stats "
              f"{r['stats']['median_ms']:.0f}); CPU {r['total_cpu']['median_ms']:.0f} ms (min "
              f"{r['total_cpu']['min_ms']:.0f}, max {r['total_cpu']['max_ms']:.0f}); warm wall "
              f"{r['warm']['median_ms']:.0f}, CPU {r['warm_cpu']['median_ms']:.0f} ms", flush=True)
    return out


def bench_generate(opened, repeat: int, samplers=None) -> dict:
    from engine.samplers import SAMPLERS
    from engine.workflows.selection import generate_like

    z = opened.latents
    pc1 = (z - z.mean(0)) @ np.linalg.eigh(np.cov(z[:20000].T))[1][:, -1]
    rows = np.argsort(-pc1)[:10_000]  # a 10k selection: one end of the main axis
    mask = np.zeros(len(z), bool)
    mask[rows] = True
    opened.codec.decode(z[:32])  # warm the decoder (the window has it warm)
    out = {}
    for name in samplers or [s for s in SAMPLERS if s != "path"]:
        tt, parts, cpu = [], [], []
        for r in range(repeat):
            c, t = time.process_time(), time.perf_counter()
            g = timed = generate_like(opened, mask, name, 32, seed=r, quality=False)
            tt.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
            parts.append(g.seconds)
        t = time.perf_counter()
        g = generate_like(opened, mask, name, 32, seed=0, quality=True)
        q_s = time.perf_counter() - t - sum(v for k, v in g.seconds.items() if k != "quality")
        out[name] = {"fit_points": timed.fit_points, **summary(tt), "cpu": summary(cpu),
                     "fit_ms": statistics.median(1000 * p["fit"] for p in parts),
                     "decode_ms": statistics.median(1000 * p["decode"] for p in parts),
                     "quality_ms": 1000 * g.seconds.get("quality", q_s)}
        print(f"{name}: fit on {timed.fit_points:,} + 32 faces: wall median {out[name]['median_ms']:.0f} ms (min "
              f"{out[name]['min_ms']:.0f}, max {out[name]['max_ms']:.0f}), CPU {out[name]['cpu']['median_ms']:.0f} ms "
              f"(min {out[name]['cpu']['min_ms']:.0f}, max {out[name]['cpu']['max_ms']:.0f}); fit "
              f"{out[name]['fit_ms']:.0f}, decode "
              f"{out[name]['decode_ms']:.0f}; quality (apart) {out[name]['quality_ms']:.0f} ms", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--samplers", default=None)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    t = time.perf_counter()
    opened, judges, pca = build()
    print(f"built {len(opened.latents):,} z-points × {opened.z_dim} with {len(opened.labels.names)} labels in "
          f"{time.perf_counter() - t:.1f} s", flush=True)
    res = {"points": len(opened.latents), "queries": bench_queries(opened, judges, pca, a.repeat)}
    print(f"cloud_basis (once per model): {res['queries']['cloud_basis_once_s']:.2f} s", flush=True)
    res["generate"] = bench_generate(opened, max(1, a.repeat // 2),
                                     a.samplers.split(",") if a.samplers else None)
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
