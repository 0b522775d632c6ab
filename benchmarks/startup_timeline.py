"""Start-up timeline of the desktop app: process start → window shown → model open → first grid.

Each run is a fresh process (``python -c`` with the app's own start-up code, offscreen), so imports are
measured as a user's launch pays them; the parent takes the time before it starts the child, the child
prints wall-clock stamps at each step. Prints each step's median over the runs (and min–max).

    python benchmarks/startup_timeline.py [--runs 5] [--model MODEL_DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time
stamps = {}
def mark(name):
    stamps[name] = time.time()
sys.path.insert(0, ROOT)
mark("python up")
from gui.app import make_app
mark("Qt imported")
app = make_app()
from gui.main_window import MainWindow
mark("GUI modules imported")
from PySide6.QtCore import QSettings
import tempfile, pathlib
settings = QSettings(str(pathlib.Path(tempfile.mkdtemp()) / "s.ini"), QSettings.Format.IniFormat)
model_dir = MODEL or None
if model_dir is None:
    from engine.resources import default_model_dir
    model_dir = default_model_dir()
w = MainWindow(model_dir=pathlib.Path(model_dir), settings=settings, restore_state=False)
w.model_loaded.connect(lambda: mark("model open"))
w.sample_ready.connect(lambda: (mark("first grid"), app.quit()))
w.show()
app.processEvents()
mark("window shown")
app.exec()
print("STAMPS " + json.dumps(stamps))
"""


def run_once(model: str | None) -> dict[str, float]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    t0 = time.time()
    code = f"ROOT = {str(ROOT)!r}\nMODEL = {model!r}\n" + CHILD
    res = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, env=env, timeout=300)
    line = next((ln for ln in res.stdout.splitlines() if ln.startswith("STAMPS ")), None)
    if line is None:
        raise SystemExit(f"the child failed:\n{res.stderr[-2000:]}")
    return {k: v - t0 for k, v in json.loads(line[7:]).items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--model")
    a = p.parse_args()
    runs = [run_once(a.model) for _ in range(a.runs)]
    print(f"start-up timeline, {a.runs} fresh processes (offscreen), seconds since the process was started:")
    for step in ("python up", "Qt imported", "GUI modules imported", "window shown", "model open", "first grid"):
        vals = [r[step] for r in runs if step in r]
        if vals:
            print(f"  {step:<22} median {statistics.median(vals):5.2f}   ({min(vals):.2f}–{max(vals):.2f})")


if __name__ == "__main__":
    main()
