"""Start-up timeline of the desktop app: process start → window shown → model open → first grid → all panels.

Each run is a fresh process (``python -c`` with the app's own start-up code, offscreen), so imports are
measured as a user's launch pays them; the parent takes the time before it starts the child, the child
prints wall-clock stamps at each step. A warm machine is measured: one unrecorded run first writes the
bytecode caches and the model's verified ONNX Runtime export (the cache a user's first launch leaves).

Side by side in one run, alternating (``benchmarks/_fair.py``: staged eager, then eager staged, …):
- ``staged``: the app as it starts (the window with the sampler and the face grid first, the plots built once
  the first faces are on screen);
- ``eager``: every panel built before the window is shown (how the app started before).

Prints each step's median over the runs (and min–max) for both, and the ratios; "longest stall" is the longest the
window could not answer (a 10 ms heartbeat on the GUI thread) between being shown and having every panel.

    python benchmarks/startup_timeline.py [--runs 5] [--model MODEL_DIR] [--cache DIR] [--xvfb]

``--xvfb`` measures a real X11 window (Qt's xcb plugin) on a virtual screen started for the run (Debian's ``xvfb``).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _fair  # noqa: E402

CHILD = r"""
import json, sys, time
stamps = {}
def mark(name):
    stamps.setdefault(name, time.time())
sys.path.insert(0, ROOT)
mark("python up")
from gui.app import make_app
app = make_app()
mark("Qt imported")
from gui.main_window import MainWindow
mark("GUI modules imported")
from PySide6.QtCore import QSettings, QTimer
import tempfile, pathlib
settings = QSettings(str(pathlib.Path(tempfile.mkdtemp()) / "s.ini"), QSettings.Format.IniFormat)
model_dir = MODEL or None
if model_dir is None:
    from engine.resources import default_model_dir
    model_dir = default_model_dir()
w = MainWindow(model_dir=pathlib.Path(model_dir), settings=settings, restore_state=False)
if EAGER:
    w.build_late_panels()
done = {"grid": False, "panels": False}
beats = []
heart = QTimer()
heart.setInterval(10)
heart.timeout.connect(lambda: beats.append(time.time()))
def finish(what):
    if what == "grid":
        stamps["torch at first grid"] = float("torch" in sys.modules)
    done[what] = True
    mark("first grid" if what == "grid" else "all panels")
    if all(done.values()):
        QTimer.singleShot(50, app.quit)
w.model_loaded.connect(lambda: mark("model open"))
w.sample_ready.connect(lambda: finish("grid"))
w.panels_built.connect(lambda: finish("panels"))
if w.panels_ready():
    finish("panels")
w.resize(1600, 1000)
w.show()
app.processEvents()
mark("window shown")
heart.start()  # the longest the window could not answer, from now to the end
QTimer.singleShot(120000, app.quit)
app.exec()
gaps = [b - a for a, b in zip(beats, beats[1:])]
stamps["longest stall"] = max(gaps) if gaps else 0.0
print("STAMPS " + json.dumps(stamps))
"""

STEPS = ("python up", "Qt imported", "GUI modules imported", "window shown", "model open", "first grid", "all panels",
         "longest stall")


def run_once(model: str | None, eager: bool, cache: str, display: str | None = None) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # a user's Python writes .pyc
    env.update(QT_QPA_PLATFORM="offscreen", LFS_CACHE_DIR=cache)
    if display:
        env.update(QT_QPA_PLATFORM="xcb", DISPLAY=display, LFS_SKIP_DISPLAY_CHECK="1")
    t0 = time.time()
    code = f"ROOT = {str(ROOT)!r}\nMODEL = {model!r}\nEAGER = {eager!r}\n" + CHILD
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    line = next((ln for ln in res.stdout.splitlines() if ln.startswith("STAMPS ")), None)
    if line is None:
        raise SystemExit(f"the child failed:\n{res.stderr[-2000:]}")
    stamps = json.loads(line[7:])
    torch = stamps.pop("torch at first grid")
    stall = stamps.pop("longest stall")
    out = {k: v - t0 for k, v in stamps.items()}
    out["torch at first grid"] = torch
    out["longest stall"] = stall
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--model")
    p.add_argument("--cache", help="the cache folder (default: a new temporary one, warmed by one unrecorded run)")
    p.add_argument("--xvfb", action="store_true", help="a real X11 window on a virtual screen (Xvfb) instead of offscreen")
    a = p.parse_args()
    cache = a.cache or tempfile.mkdtemp(prefix="lfs-startup-cache-")
    xvfb, display = None, None
    if a.xvfb:
        display = ":93"
        xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)
    try:
        run_once(a.model, False, cache, display)  # warm-up: .pyc files and the verified ONNX Runtime export
        runs: dict[str, list] = {"staged": [], "eager": []}
        for round_ in _fair.schedule(list(runs), a.runs):  # staged eager, eager staged, …
            for mode in round_:
                runs[mode].append(run_once(a.model, mode == "eager", cache, display))
    finally:
        if xvfb is not None:
            xvfb.terminate()
    where = "an X11 window on Xvfb" if a.xvfb else "offscreen"
    print(f"start-up timeline, {a.runs} fresh processes per mode ({where}, warm caches), "
          "seconds since the process was started: median (min–max)")
    print(f"  {'step':<22} {'staged':>20} {'eager':>20}   staged ÷ eager")
    for step in STEPS:
        med = {}
        cells = []
        for mode, rs in runs.items():
            vals = [r[step] for r in rs if step in r]
            if vals:
                med[mode] = statistics.median(vals)
                cells.append(f"{med[mode]:5.2f} ({min(vals):.2f}–{max(vals):.2f})")
            else:
                cells.append("—")
        ratio = f"{med['staged'] / med['eager']:.2f}" if len(med) == 2 and med["eager"] > 0 else ""
        print(f"  {step:<22} {cells[0]:>20} {cells[1]:>20}   {ratio}")
    for mode, rs in runs.items():
        print(f"  torch loaded before the first grid ({mode}): {sum(r['torch at first grid'] for r in rs):.0f} of "
              f"{len(rs)} runs")


if __name__ == "__main__":
    main()
