"""How long ``python main.py report --out DIR`` takes without a dataset on the default model, a user's first time
(a new, empty cache folder: the samplers are fitted) against a later time (the cache of an earlier run kept).

Each run is a fresh process through the CLI, as a user runs it; the two cases alternate round by round in one run
(``benchmarks/_fair.py``: cold warm, warm cold, …; one unrecorded run first warms the bytecode and the warm cache),
with the same thread count for both. Prints the medians (min–max) and their ratio.

    python benchmarks/report_time.py [--rounds 3] [--threads 2] [--parts statistics,faces,atlas]
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _fair  # noqa: E402

ROOT = _fair.ROOT


def report_once(base: Path, cache: Path, threads: int, parts: str) -> float:
    out = Path(tempfile.mkdtemp(dir=base))
    shutil.rmtree(out)  # `report --out` wants a new or empty folder
    env = _fair.thread_env(threads)
    env.update(LFS_CACHE_DIR=str(cache), LFS_CONFIG_DIR=str(base / "config"), QT_QPA_PLATFORM="offscreen")
    cmd = [sys.executable, str(ROOT / "main.py"), "report", "--out", str(out)] + (["--parts", parts] if parts else [])
    t = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    took = time.perf_counter() - t
    if res.returncode != 0:
        raise SystemExit(f"report failed ({res.returncode}):\n{res.stderr[-2000:]}")
    shutil.rmtree(out, ignore_errors=True)
    return took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--parts", default="", help="the report's --parts (default: all but the comparison)")
    a = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="lfs-report-time-"))
    try:
        warm = base / "warm-cache"
        fresh = iter(range(1000))
        runners = {"first (empty cache)": lambda: report_once(base, base / f"cold-{next(fresh)}", a.threads, a.parts),
                   "again (cache kept)": lambda: report_once(base, warm, a.threads, a.parts)}
        report_once(base, warm, a.threads, a.parts)  # unrecorded: fills the warm cache and the .pyc files
        cmp = _fair.compare(runners, rounds=a.rounds, warmup=0)
        print(f"python main.py report (no --data{', --parts ' + a.parts if a.parts else ''}), default model, "
              f"{a.threads} threads, fresh process each, {a.rounds} rounds alternated; {_fair.load_average()}")
        print("\n".join(cmp.report(unit="s", digits=1)))
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
