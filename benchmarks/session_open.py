"""How long opening a session takes on the default model (issue 28's goal: ≤ 2 s to the restored window).

Measures, alternated over rounds in one run: ``open_session`` (read and check the file, open the model with its
statistics from the cache, decode the faces again) and, offscreen, the whole window path (a window on the default
model, then File ▸ Open session until the faces are back). Prints medians with min–max.

    python benchmarks/session_open.py [--rounds 5] [--faces 32]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _make_session(folder: Path, faces: int) -> Path:
    from engine.explore_state import ExplorationState, Sample
    from engine.resources import default_model_dir
    from engine.workflows.generate import generate
    from engine.workflows.open_model import open_model
    from engine.workflows.session import WindowView, save_session

    opened = open_model(default_model_dir(), statistics=True)
    state = ExplorationState()
    state.set_model(opened, opened.stats)
    made = generate(opened, "normal", None, faces, seed=3)
    state.set_sample(Sample(made.z, made.images, made.params))
    state.select(2, [2])
    state.set_axes(("pca", 2), ("pca", 4))
    return save_session(folder / "bench.lfs-session.json", state, WindowView("explore", None, None, [2.0, 3.0]))


def _engine_open(path: Path) -> float:
    from engine.workflows.session import open_session

    t = time.perf_counter()
    open_session(path)
    return time.perf_counter() - t


def _window_open(path: Path) -> float:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings

    from gui.app import make_app
    from gui.main_window import MainWindow

    app = make_app()
    settings = QSettings(str(path.parent / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings=settings, restore_state=False)
    w.show()
    w.wait_idle(60)
    applied = []
    actions = w.window_actions
    apply = actions.apply_session
    actions.apply_session = lambda opened: (apply(opened), applied.append(time.perf_counter()))
    t = time.perf_counter()
    actions.open_session(path)
    while not applied and time.perf_counter() - t < 60:
        app.processEvents()
        time.sleep(0.002)
    seconds = applied[0] - t if applied else float("inf")  # the restored state is in every panel's hands
    w.wait_idle(60)
    ok = w.session.sample is not None and w.workspace() == "explore"
    w.close()
    app.processEvents()
    if not ok:
        raise SystemExit(f"the session was not restored: {w.last_error}")
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--faces", type=int, default=32)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = _make_session(Path(tmp), a.faces)
        print(f"session file: {path.stat().st_size / 1024:.0f} KB ({a.faces} faces)")
        _engine_open(path)  # warm: imports, the statistics cache
        eng, win = [], []
        for _ in range(a.rounds):
            eng.append(_engine_open(path))
            win.append(_window_open(path))
        for name, xs in (("open_session (engine)", eng), ("File ▸ Open session → state shown (window)", win)):
            print(f"{name:42s} median {statistics.median(xs):.2f} s  (min {min(xs):.2f}, max {max(xs):.2f}, "
                  f"{len(xs)} rounds)")


if __name__ == "__main__":
    main()
