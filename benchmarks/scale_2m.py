#!/usr/bin/env python3
"""A model with 2,000,000 z-points: open it, and use every view and sampler on it (issue 26, part 2).

    nice python benchmarks/scale_2m.py --n 2000000 --dtype float16 --repeats 3 --accuracy 3 [--keep DIR] [--verbose]

Builds a synthetic model in a temp folder: the default model's network and fast path, and ``--n`` z-points drawn
from the default model's cloud Gaussian (its mean and covariance), written chunk by chunk (never in memory at
once) with names ``0000000.jpg``…. Then, each in a fresh subprocess (peak memory: ``VmHWM`` of /proc/self/status,
reset before each step through /proc/self/clear_refs, so that each step's peak is its own):

* open with statistics, the first time (statistics computed, an empty cache each run) and cached — goal ≤ 10 s
  (≤ 7 s of CPU on the busy development box), ≤ 2 GB;
* every view and sampler (``--view-repeats`` runs): generate 16 faces with every sampler, a path between the first
  and the last row, the pair plot's density image and sample, a 16×16 atlas, a lasso, a query with its statistics,
  the directions lab (pca, ica) — goal ≤ 2 GB each;
* ``--accuracy SEEDS``: the subsampled statistics against a full pass, and against each other over SEEDS seeds.

Prints medians with min–max and CPU seconds (what a quiet machine takes: the wall time of a busy one is longer).
``--keep DIR`` builds (or reuses) the model in DIR and keeps it (for ``main.py gui --model DIR``); otherwise the temp
folder is deleted at the end. About 9 minutes on the busy 2-core box with ``--repeats 2 --accuracy 3``.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: files of the default model that the synthetic one shares (the network and its shipped fast path)
SHARED = ("config.json", "weights.safetensors", "fast_path.json", "fast_path_decoder.onnx", "fast_path_encoder.onnx",
          "fast_path_probe.npz")


def build(folder: Path, n: int, dtype: str = "float16", seed: int = 0, chunk: int = 100_000) -> Path:
    """The synthetic model in ``folder`` (reused when its latents already hold ``n`` rows)."""
    from engine.resources import default_model_dir

    folder.mkdir(parents=True, exist_ok=True)
    lat = folder / "latents.npy"
    if lat.is_file() and (folder / "latents_files.txt").is_file():
        shape = np.load(lat, mmap_mode="r").shape
        if shape[0] == n:
            return folder
    src = default_model_dir()
    for name in SHARED:
        shutil.copy2(src / name, folder / name)
    z0 = np.load(src / "latents.npy").astype(np.float64)
    mean = z0.mean(axis=0, dtype=np.float64)
    chol = np.linalg.cholesky(np.cov(z0, rowvar=False) + 1e-9 * np.eye(z0.shape[1]))
    d = z0.shape[1]
    rng = np.random.default_rng(seed)
    tmp_z, tmp_n = folder / ".latents.build.npy", folder / ".names.build.txt"
    with open(tmp_z, "wb") as fz, open(tmp_n, "wb") as fn:
        np.lib.format.write_array_header_1_0(fz, {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)),
                                                  "fortran_order": False, "shape": (n, d)})
        for i in range(0, n, chunk):
            k = min(chunk, n - i)
            rows = (rng.standard_normal((k, d)) @ chol.T + mean).astype(dtype)
            fz.write(rows.tobytes())
            fn.write("".join(f"{j:07d}.jpg\n" for j in range(i, i + k)).encode())
    os.replace(tmp_n, folder / "latents_files.txt")
    os.replace(tmp_z, lat)
    return folder


# each probe runs in its own process: its peak memory is its own; ``step`` resets the peak (/proc/self/clear_refs)
# before each step, so that each step's peak is its own, over what the process held before it
PROBE = r"""
import json, os, sys, time
sys.stdout.reconfigure(line_buffering=True)
sys.path.insert(0, {root!r})
t0, c0 = time.perf_counter(), time.process_time()
def peak_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
out = {{}}
def step(name, fn):
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
    t, c = time.perf_counter(), time.process_time()
    r = fn()
    out[name] = [time.perf_counter() - t, time.process_time() - c, peak_mb()]
    print("STEP " + json.dumps([name] + out[name]))  # (seen as it happens with --verbose)
    return r
{body}
out["peak_mb"] = peak_mb()
print("RESULT " + json.dumps(out))
"""

OPEN = """
from engine.workflows.open_model import open_model
m = open_model({folder!r}, statistics=True)
out["seconds"] = time.perf_counter() - t0
out["cpu"] = time.process_time() - c0  # on a busy machine, what a quiet one would take (one thread)
out["n"] = len(m.latents); out["names"] = type(m.latent_files).__name__
out["sampled"] = m.stats.sample_rows
"""

VIEWS = """
import numpy as np
from engine.workflows.open_model import open_model
from engine.workflows.generate import generate, SamplerFits
from engine.samplers import SAMPLERS
from engine.latent_pairs import density_grid
from engine.atlas import atlas
m = step("open (cached statistics)", lambda: open_model({folder!r}, statistics=True))
n = len(m.latents)

def gen(name, values=None):
    g = generate(m, name, values, n=16, seed=1, fits=SamplerFits())  # its own fit, dropped after
    assert g.images.shape[0] == 16 and np.isfinite(g.z).all(), name
    return g

for name in {samplers!r} or SAMPLERS:
    step("generate 16: " + name, lambda: gen(name))
g = step("generate 16: path between rows 0 and n-1",
         lambda: gen("path", {{"mode": "points", "start": n - 1, "end": 0}}))
assert np.allclose(g.z[0], m.latents[n - 1].astype(np.float32), atol=1e-2), "path: the start is not row n-1"

def pair_plot():
    xy = m.pca_coords[:, :2]
    grid = density_grid(xy)
    idx = np.sort(np.random.default_rng(0).choice(len(xy), 20000, replace=False))
    assert grid.density.shape == (160, 160) and xy[idx].shape == (20000, 2)
step("pair plot: density image + 20k sample", pair_plot)
step("atlas 16x16", lambda: atlas(m.codec, m.stats, rows=16, cols=16))

def lasso():
    from engine.selection import from_polygon
    xy = m.pca_coords[:, :2]
    s = float(m.stats.pca.sigmas[0])
    mask = from_polygon(xy, [(-s, -s), (s, -s), (0.0, 2 * s)])
    assert mask.shape == (n,) and 0 < mask.sum() < n
step("selection: lasso on the pair plot", lasso)

def query():
    from engine.workflows.selection import select, selection_space
    res = select(selection_space(m, judges=False), "PC1 > 1 and z3 < 0", stats=True)
    assert res.mask.shape == (n,) and 0 < res.mask.sum() < n
step("selection: query PC1 > 1 and z3 < 0 (with its statistics)", query)

def lab(method):
    from engine.workflows.directions import DirectionOptions, compute_directions
    res = compute_directions(m.latents, DirectionOptions(method, k=8), model=m.codec)
    assert len(res.directions) == 8
for method in ("pca", "ica"):
    step("directions lab: " + method, lambda: lab(method))
"""

#: the statistics compared between the full pass and the subsample (``--accuracy``)
ACCURACY = """
import numpy as np
from engine import latent_stats as ls
from engine.formats.native import load_latents
z, _ = load_latents({folder!r}, 256)
full = step("statistics, every row (the old full pass)", lambda: ls.compute_stats(z, sample_rows=0))
parts = [step(f"statistics, subsample seed {{s}}", lambda: (setattr(ls, "STATS_SAMPLE_SEED", s),
         ls.compute_stats(z, sample_rows={k}))[1]) for s in range({seeds})]

def measures(st):
    lead = st.pca.components[:5]
    return {{
        "mean (max |Δ| / σ)": st.mean / full.std, "std (max relative Δ)": st.std / full.std,
        "correlations (max |Δ|)": st.corr,
        "covariance (relative Frobenius Δ)": st.cov,
        "explained variance, 16 leading (max relative Δ)":
            st.pca.explained_variance[:16] / full.pca.explained_variance[:16],
        "5 leading axes (1 − |cos|, max)": np.abs(np.sum(lead * full.pca.components[:5], axis=1)),
        "Gaussian fit centres (max |Δ| / σ)": st.centres / full.sigmas,
        "Gaussian fit σ (max relative Δ)": st.sigmas / full.sigmas,
        "fit quality R² (max |Δ|)": st.fit_quality,
        "normality: fraction inside 1/2/3σ (max |Δ|)": st.normality.observed,
    }}

def distance(key, a, b):
    if "Frobenius" in key:
        return float(np.linalg.norm(a - b) / np.linalg.norm(b))
    if "cos" in key:
        return float(np.max(np.abs(a - b)))
    return float(np.max(np.abs(a - b)))

ref = measures(full)
got = [measures(p) for p in parts]
out["accuracy"] = {{}}
for key in ref:
    if "cos" in key:
        errs = [float(np.max(1 - g[key])) for g in got]
        spread = float(np.max([np.max(np.abs(got[i][key] - got[j][key])) for i in range(len(got)) for j in range(i)]))
    else:
        errs = [distance(key, g[key], ref[key]) for g in got]
        spread = float(np.max([distance(key, got[i][key], got[j][key]) for i in range(len(got)) for j in range(i)]))
    out["accuracy"][key] = [float(np.median(errs)), max(errs), spread]
"""


VERBOSE = False


def probe(body: str, env: dict) -> dict:
    code = PROBE.format(root=str(ROOT), body=body)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    result = None
    for line in proc.stdout:
        if line.startswith("RESULT "):
            result = json.loads(line[7:])
        elif VERBOSE and line.startswith("STEP "):
            name, wall, cpu, peak = json.loads(line[5:])
            print(f"    … {name}: {wall:.1f} s, CPU {cpu:.1f} s, peak {peak:.0f} MB", flush=True)
    err = proc.stderr.read()
    if proc.wait() != 0 or result is None:
        raise RuntimeError(f"probe failed ({proc.returncode}):\n{err[-3000:]}")
    return result


def spread(values) -> str:
    return f"{statistics.median(values):7.2f}  ({min(values):.2f}–{max(values):.2f})"


def goal(ok: bool) -> str:
    return "ok" if ok else "OVER"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=2_000_000)
    ap.add_argument("--dtype", default="float16", choices=("float16", "float32"))
    ap.add_argument("--repeats", type=int, default=3, help="runs of the first and the cached open")
    ap.add_argument("--keep", type=Path, default=None, help="build (or reuse) the model here and keep it")
    ap.add_argument("--view-repeats", type=int, default=1, help="runs of the views and samplers")
    ap.add_argument("--samplers", default="", help="comma-separated samplers to time (default: all)")
    ap.add_argument("--accuracy", type=int, default=0, metavar="SEEDS",
                    help="also compare the subsampled statistics with a full pass, over SEEDS subsample seeds")
    ap.add_argument("--verbose", action="store_true", help="print each step as it ends")
    a = ap.parse_args()
    global VERBOSE
    VERBOSE = a.verbose
    tmp = Path(tempfile.mkdtemp(prefix="lfs-scale2m-"))
    folder = a.keep or tmp / "model"
    try:
        t = time.perf_counter()
        build(folder, a.n, a.dtype)
        print(f"model: {folder} ({a.n:,} × 256 {a.dtype}, {(folder / 'latents.npy').stat().st_size / 2**30:.2f} GiB), "
              f"built in {time.perf_counter() - t:.1f} s; load average {os.getloadavg()[0]:.1f}")
        env = dict(os.environ, OMP_NUM_THREADS="2")
        first = []
        for r in range(a.repeats):  # each with an empty cache: the statistics are computed
            first.append(probe(OPEN.format(folder=str(folder)), dict(env, LFS_CACHE_DIR=str(tmp / f"cache{r}"))))
        env["LFS_CACHE_DIR"] = str(tmp / "cache0")
        cached = [probe(OPEN.format(folder=str(folder)), env) for _ in range(a.repeats)]
        print(f"\n{'open with statistics':34s} {'wall s':>22s} {'CPU s':>22s} {'peak MB':>24s}")
        for label, runs in (("first time (statistics computed)", first), ("cached", cached)):
            w, c, p = ([r[k] for r in runs] for k in ("seconds", "cpu", "peak_mb"))
            print(f"  {label:32s} {spread(w):>22s} {spread(c):>22s} {spread(p):>24s}")
        w, c, p = (statistics.median(r[k] for r in first) for k in ("seconds", "cpu", "peak_mb"))
        print(f"  goal: first open ≤ 10 s (≤ 7 s CPU here) and ≤ 2,048 MB — wall {goal(w <= 10)}, "
              f"CPU {goal(c <= 7)}, "
              f"memory {goal(p <= 2048)}; statistics on {first[0]['sampled'] or first[0]['n']:,} of "
              f"{first[0]['n']:,} z-points (names: {first[0]['names']})")
        body = VIEWS.format(folder=str(folder), samplers=[x for x in a.samplers.split(",") if x])
        runs = [probe(body, env) for _ in range(a.view_repeats)]
        print(f"\n{'view or sampler':58s} {'wall s':>10s} {'CPU s':>8s} {'peak MB':>8s}   (median of {a.view_repeats})")
        worst = 0.0
        for key in runs[0]:
            if key != "peak_mb":
                w, c, p = (statistics.median(r[key][i] for r in runs) for i in range(3))
                worst = max(worst, p)
                print(f"  {key:56s} {w:10.2f} {c:8.2f} {p:8.0f}")
        print(f"  goal: every view and sampler ≤ 2,048 MB — the highest peak {worst:.0f} MB: {goal(worst <= 2048)}")
        if a.accuracy:
            acc = probe(ACCURACY.format(folder=str(folder), k=200_000, seeds=max(2, a.accuracy)), env)
            print(f"\nsubsampled statistics (200,000 rows) against a full pass over {a.n:,}; 'spread': the largest "
                  f"difference between two subsample seeds (run-to-run noise), over {max(2, a.accuracy)} seeds")
            print(f"  {'statistic':52s} {'median Δ':>10s} {'max Δ':>10s} {'spread':>10s}")
            for key, (med, most, noise) in acc["accuracy"].items():
                print(f"  {key:52s} {med:10.2e} {most:10.2e} {noise:10.2e}")
            for key, v in acc.items():
                if key.startswith("statistics"):
                    print(f"  {key}: {v[0]:.1f} s wall, {v[1]:.1f} s CPU, peak {v[2]:.0f} MB")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
