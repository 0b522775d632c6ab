#!/usr/bin/env python3
"""Time the two-model comparison's steps (issue 27: align two models' latents on 9k shared faces ≤ 2 s).

Two pairs: a synthetic one (9,000 faces, 256 dims each: B = A·R + noise, answer known), and, when given, two real
model folders encoded on the same images (the default model and a second one): matching by name, the alignment
(standardise, Procrustes, linear map both ways, CCA, held-out measures), the neighbourhood overlap (k = 10).
Medians of ``--repeats`` runs; the machine's load is printed beside them (the CPU is shared).

    python benchmarks/compare_models.py [--model-b /tmp/compare-model-b] [--repeats 5] [--json out.json]
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

GOAL_ALIGN_S = 2.0


def timed(fn, repeats, cpu=None):
    """(result, median wall seconds, wall seconds of each run); ``cpu``: a list that gets each run's CPU seconds
    (all threads: on a shared, overloaded machine the wall time mostly measures the wait)."""
    out, times = None, []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        times.append(time.perf_counter() - t)
        if cpu is not None:
            cpu.append(time.process_time() - c)
    return out, statistics.median(times), times


def measure(label, za, zb, files_a, files_b, repeats, rows):
    from engine.model_compare import align, match_faces, neighbour_overlap

    shared, t_match, _ = timed(lambda: match_faces(files_a, files_b), repeats)
    a, b = za[shared.rows_a], zb[shared.rows_b]
    cpu: list = []
    al, t_align, all_align = timed(lambda: align(a, b), repeats, cpu)
    ov, t_overlap, _ = timed(lambda: neighbour_overlap(a, b, 10), max(1, repeats // 2))
    rows.append({"pair": label, "shared": len(shared), "dims": f"{a.shape[1]}→{b.shape[1]}",
                 "match_s": round(t_match, 4), "align_s": round(t_align, 3), "align_runs_s": [round(t, 3) for t in all_align],
                 "align_cpu_s": round(statistics.median(cpu), 3),
                 "overlap_s": round(t_overlap, 3), "linear_r2": round(al.linear_r2, 4),
                 "procrustes_r2": round(al.procrustes_r2, 4),
                 "cca_top3_held_out": [round(float(c), 4) for c in al.canonical_held_out[:3]],
                 "overlap_median": round(float(np.median(ov)), 4)})


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-a", default=None, help="default: the embedded default model")
    ap.add_argument("--model-b", default=None, help="a second model encoded on the same images")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    rows: list[dict] = []
    rng = np.random.default_rng(0)
    n, d = 9000, 256
    za = rng.standard_normal((n, d)).astype(np.float32)
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    zb = (za @ (q * np.sign(np.diag(r))) + 0.1 * rng.standard_normal((n, d))).astype(np.float32)
    names = [f"{i:06d}.jpg" for i in range(1, n + 1)]
    measure("synthetic 9k×256, B = A·R + noise", za, zb, names, names, a.repeats, rows)
    if a.model_b:
        from engine.resources import default_model_dir
        from engine.workflows.open_model import open_model

        ma = open_model(a.model_a or default_model_dir(), labels=False)
        mb = open_model(a.model_b, labels=False)
        measure(f"{ma.folder.name} vs {mb.folder.name}", ma.latents, mb.latents, ma.latent_files, mb.latent_files,
                a.repeats, rows)
    load = os.getloadavg()[0]
    print(f"load average {load:.1f} on {os.cpu_count()} CPUs; medians of {a.repeats} runs; goal: align ≤ {GOAL_ALIGN_S} s")
    for row in rows:
        print(json.dumps(row))
    if a.json:
        Path(a.json).write_text(json.dumps({"load": load, "cpus": os.cpu_count(), "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
