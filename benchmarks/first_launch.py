"""First launch: the time to the first faces from a cold cache, and the slow fits a new user meets first.

Part ``launch`` (the window, offscreen, each run a fresh process as in ``startup_timeline.py``), side by side:
- ``shipped``: the default model as packaged, its checked ONNX export shipped beside the weights
  (``engine/formats/fast_path_shipped.py``): opened without torch, nothing exported;
- ``export``: the same model without the shipped files (the path every model took before, and a user's model
  takes now): torch loads, the network is exported to ONNX and checked, the export is cached and sealed.
Each ``cold`` run has a new, empty cache and config folder (a first launch on a fresh home folder); ``warm`` runs share
one cache folder, warmed by an unrecorded run. The four cells run once per round, the order flipped every round
(``benchmarks/_fair.py``); medians (min–max) over ``--runs``.

Part ``caches``: the gmm sampler's fit (first vs second, a fresh cache) and a Directions compute (first vs second,
with and without the default model's shipped attribute judges), each in a fresh process; the ratios second ÷ first.

    python benchmarks/first_launch.py [--runs 3] [--part launch|caches|all]
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import _fair  # noqa: E402
from startup_timeline import CHILD  # noqa: E402

from engine.formats.fast_path_shipped import MANIFEST, SHIPPED_CACHES, SHIPPED_FILES  # noqa: E402
from engine.resources import default_model_dir  # noqa: E402


def _env(cache: Path, config: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "LFS_ONNX_RUNTIME")}
    env.update(QT_QPA_PLATFORM="offscreen", LFS_CACHE_DIR=str(cache), LFS_CONFIG_DIR=str(config), **extra)
    return env


def launch_once(model: Path, cache: Path, config: Path) -> dict:
    """Seconds since the process started to each step of the window's start (startup_timeline's child)."""
    t0 = time.time()
    code = f"ROOT = {str(ROOT)!r}\nMODEL = {str(model)!r}\nEAGER = False\n" + CHILD
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(cache, config),
                         timeout=600)
    line = next((ln for ln in res.stdout.splitlines() if ln.startswith("STAMPS ")), None)
    if line is None:
        raise SystemExit(f"the child failed:\n{res.stderr[-2000:]}")
    stamps = json.loads(line[7:])
    torch = stamps.pop("torch at first grid")
    stamps.pop("longest stall")
    out = {k: v - t0 for k, v in stamps.items()}
    out["torch"] = torch
    return out


def model_without_shipped(base: Path) -> Path:
    """A copy of the default model without its shipped export and caches (how a user's model opens)."""
    dst = base / "model-without-shipped"
    shutil.copytree(default_model_dir(), dst, ignore=shutil.ignore_patterns(MANIFEST, *SHIPPED_FILES, SHIPPED_CACHES))
    return dst


def part_launch(runs: int, base: Path) -> None:
    models = {"shipped": default_model_dir(), "export": model_without_shipped(base)}
    results: dict[tuple[str, str], list[dict]] = {}
    warm = {name: (base / f"warm-{name}" / "cache", base / f"warm-{name}" / "config") for name in models}
    for name, model in models.items():
        launch_once(model, *warm[name])  # warm-up: .pyc files, and the export path's sealed cache
    results.update({(n, c): [] for n in models for c in ("cold", "warm")})
    cells = list(results)
    for i, round_ in enumerate(_fair.schedule(cells, runs)):  # every cell once per round, the order flipped each round
        for name, kind in round_:
            if kind == "cold":
                cold = base / f"cold-{name}-{i}"
                results[(name, "cold")].append(launch_once(models[name], cold / "cache", cold / "config"))
            else:
                results[(name, "warm")].append(launch_once(models[name], *warm[name]))
    print(f"first launch, {runs} fresh processes per cell (offscreen window): seconds from process start, "
          "median (min–max)")
    print(f"  {'':<22}" + "".join(f"{f'{n} {c}':>22}" for n, c in results))
    for step in ("window shown", "model open", "first grid"):
        cells = []
        for rs in results.values():
            vals = [r[step] for r in rs]
            cells.append(f"{statistics.median(vals):5.2f} ({min(vals):.2f}–{max(vals):.2f})")
        print(f"  {step:<22}" + "".join(f"{c:>22}" for c in cells))
    counts = [f"{sum(r['torch'] for r in rs):.0f} of {len(rs)}" for rs in results.values()]
    print(f"  {'torch before 1st grid':<22}" + "".join(f"{c:>22}" for c in counts))
    first = {k: statistics.median(r["first grid"] for r in rs) for k, rs in results.items()}
    print(f"  cold first faces: shipped {first[('shipped', 'cold')]:.2f} s vs export {first[('export', 'cold')]:.2f} s "
          f"(÷ {first[('export', 'cold')] / first[('shipped', 'cold')]:.1f}); warm: shipped "
          f"{first[('shipped', 'warm')]:.2f} s, export {first[('export', 'warm')]:.2f} s")
    added = sum((default_model_dir() / n).stat().st_size for n in (MANIFEST, *SHIPPED_FILES))
    added += sum(f.stat().st_size for f in (default_model_dir() / SHIPPED_CACHES).glob("*"))
    print(f"  size of the shipped files in the repository: {added / 1e6:.1f} MB")


CACHES_CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from engine.workflows.open_model import open_model
from engine.workflows.generate import generate
from engine.workflows.directions import DirectionOptions, compute_directions
from engine.workflows.estimates import expected_directions, expected_generate
opened = open_model(sys.argv[2])
out = {}
if sys.argv[3] == "gmm":
    for i in (1, 2):
        e = expected_generate(opened, "gmm", {}, 32)
        est = (e.seconds, not e.first_time)
        t = time.perf_counter()
        generate(opened, "gmm", {}, n=32, seed=i)  # a new SamplerFits each time: only the disk cache is shared
        out[f"gmm {i}"] = [time.perf_counter() - t, est[0], est[1]]
else:
    for i in (1, 2):
        e = expected_directions(opened.latents, opened.labels, "pca")
        est = (e.seconds, not e.first_time)
        t = time.perf_counter()
        compute_directions(opened.latents, DirectionOptions("pca"), model=opened.codec, table=opened.labels)
        out[f"directions {i}"] = [time.perf_counter() - t, est[0], est[1]]
print("CACHES " + json.dumps(out))
"""


def caches_once(what: str, base: Path, tag: str, resources: Path | None = None) -> dict:
    env = _env(base / f"cache-{tag}", base / f"config-{tag}")
    model = default_model_dir()
    if resources is not None:
        env["LFS_RESOURCES"] = str(resources)
        model = resources / "models" / model.name
    res = subprocess.run([sys.executable, "-c", CACHES_CHILD, str(ROOT), str(model), what], capture_output=True,
                         text=True, env=env, timeout=1200)
    line = next((ln for ln in res.stdout.splitlines() if ln.startswith("CACHES ")), None)
    if line is None:
        raise SystemExit(f"the child failed:\n{res.stderr[-2000:]}")
    return json.loads(line[7:])


def part_caches(base: Path) -> None:
    bare = base / "resources-without-caches"
    shutil.copytree(default_model_dir().parent.parent, bare, ignore=shutil.ignore_patterns(SHIPPED_CACHES))
    rows = [("gmm generate (fresh cache)", caches_once("gmm", base, "gmm")),
            ("Directions, judges shipped", caches_once("directions", base, "dir-shipped")),
            ("Directions, not shipped", caches_once("directions", base, "dir-bare", bare))]
    print("slow fits, first vs second (fresh processes, fresh cache): seconds [engine.workflows.estimates' estimate, cached?]")
    for label, r in rows:
        (k1, (t1, e1, c1)), (k2, (t2, e2, c2)) = r.items()
        print(f"  {label:<28} first {t1:6.1f} s [est. {e1:5.1f} s, {'cached' if c1 else 'not cached'}]   "
              f"second {t2:6.2f} s [est. {e2:5.1f} s, {'cached' if c2 else 'not cached'}]   "
              f"second ÷ first {t2 / t1:.3f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--part", choices=("launch", "caches", "all"), default="all")
    a = p.parse_args()
    base = Path(tempfile.mkdtemp(prefix="lfs-first-launch-"))
    try:
        if a.part in ("launch", "all"):
            part_launch(a.runs, base)
        if a.part in ("caches", "all"):
            part_caches(base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
