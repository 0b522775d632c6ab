"""The inside of a real-window scenario: the window built in this process, driven by real X events.

Run by ``run_scenario`` (tests/realwindow/conftest.py) on a display with a window manager, never by pytest:

    python tests/realwindow/harness.py NAME [NAME …] --model FOLDER --out FOLDER

It builds the main window on the model (private settings, as on a first launch), waits for every panel, then
calls ``run(rw)`` of ``tests/realwindow/scenarios/NAME.py`` with a :class:`RealWindow`. The scenario moves the
real pointer, turns the wheel, presses keys and resizes the window through ``xdotool`` (so the X server, the
window manager and Qt handle them as they handle a person's), looks at the widgets in-process, and returns a
dict: the verdict, written to ``OUT/verdict.json`` for the outer test to assert. A scenario that raises writes
``{"error": traceback}``.

A new check is two pieces: ``scenarios/NAME.py`` with ``run(rw) -> dict`` (``rw.wheel_over(widget, -2)``,
``rw.click(widget)``, ``rw.key("F1")``, ``rw.resize_window(900, 560)``, ``rw.maximize()``, ``rw.shot("name")``,
``rw.wait_until(cond)``; ``rw.window`` is the main window), and a test in ``test_real_window.py`` that asserts
``run_scenario("NAME")``. Keep one under ~20 s: the window's start takes ~5 s of it. Several names run one
after the other in this one process (each on its own new window, the ones before closed): the tests run most
scenarios so, paying Python's and the libraries' start once (tests/realwindow/conftest.py).
"""
from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


class RealWindow:
    """The window of a scenario and the real input it receives. Every action lets Qt handle the events it
    caused before it returns."""

    def __init__(self, window, out: Path) -> None:
        from PySide6.QtWidgets import QApplication

        self.app = QApplication.instance()
        self.window = window
        self.out = out
        self.shots: list[str] = []
        self.timings: list[tuple[str, float]] = []  # (xdotool command, seconds)

    # ---- time
    def process(self, ms: int = 150) -> None:
        """Let Qt handle what arrived (X events, timers, the worker's results) for ``ms`` milliseconds."""
        end = time.monotonic() + ms / 1000
        while True:
            self.app.processEvents()
            if time.monotonic() >= end:
                break
            time.sleep(0.005)

    def wait_until(self, cond, timeout_s: float = 20.0, what: str = "a condition") -> None:
        """Process events until ``cond()`` is true; an error naming ``what`` after ``timeout_s``."""
        end = time.monotonic() + timeout_s
        while not cond():
            if time.monotonic() > end:
                raise TimeoutError(f"waited {timeout_s:.0f} s for {what}")
            self.process(20)

    def wait_idle(self, timeout_s: float = 60.0) -> None:
        """Until every panel is built and the worker has nothing to do."""
        w = self.window
        self.wait_until(lambda: w.panels_ready() and not w.bridge.busy(), timeout_s, "the panels and the worker")

    # ---- real input (xdotool)
    def xdotool(self, *args) -> None:
        t = time.monotonic()
        subprocess.run(["xdotool", *map(str, args)], check=True, timeout=30)
        self.timings.append((" ".join(map(str, args[:3])), round(time.monotonic() - t, 3)))

    @staticmethod
    def centre(widget) -> tuple[int, int]:
        """The widget's centre on the screen."""
        from PySide6.QtCore import QPoint

        p = widget.mapToGlobal(QPoint(widget.width() // 2, widget.height() // 2))
        return p.x(), p.y()

    @staticmethod
    def point(widget, at: tuple[int, int] | None = None) -> tuple[int, int]:
        """A point of ``widget`` on the screen: its centre, or ``at`` (in the widget)."""
        from PySide6.QtCore import QPoint

        if at is None:
            return RealWindow.centre(widget)
        p = widget.mapToGlobal(QPoint(*at))
        return p.x(), p.y()

    def _move(self, widget, at) -> list:
        """xdotool's words that put the pointer on ``widget`` (its ``--sync`` waits ~15 s when the pointer is there
        already: then it only moves)."""
        from PySide6.QtGui import QCursor

        x, y = self.point(widget, at)
        here = QCursor.pos()
        return ["mousemove", x, y] if (here.x(), here.y()) == (x, y) else ["mousemove", "--sync", x, y]

    def move_to(self, widget, at: tuple[int, int] | None = None) -> None:
        """The pointer over ``widget``'s centre (or ``at``, a point inside it)."""
        self.xdotool(*self._move(widget, at))
        self.process(50)

    def wheel_over(self, widget, clicks: int, at=None) -> None:
        """Turn the wheel over ``widget``: ``clicks`` notches, positive away from the user (up), negative down."""
        self.xdotool(*self._move(widget, at), "sleep", 0.05,
                     "click", "--repeat", abs(clicks), "--delay", 30, 4 if clicks > 0 else 5)
        self.process(150)

    def click(self, widget, button: int = 1, at=None) -> None:
        """Click ``widget`` (its centre, or ``at`` inside it)."""
        self.xdotool(*self._move(widget, at), "sleep", 0.05, "click", button)
        self.process(200)

    def key(self, *keys: str) -> None:
        """Press keys (xdotool names: ``F1``, ``ctrl+g``, ``Escape``) in the active window."""
        self.xdotool("key", "--delay", 30, *keys)
        self.process(300)

    def open_palette(self, typed: str):
        """Ctrl+Shift+P, then ``typed`` typed with real keys into the command palette; returns the palette."""
        w = self.window
        self.key("ctrl+shift+p")
        self.wait_until(lambda: getattr(w, "_command_palette", None) is not None and w._command_palette.isVisible(),
                        10, "the palette after Ctrl+Shift+P")
        self.xdotool("type", "--delay", 60, typed)
        self.process(400)
        return w._command_palette

    def activate(self, widget=None) -> None:
        """Raise and focus the window (through the window manager)."""
        win = (widget or self.window).window()
        self.xdotool("windowactivate", "--sync", int(win.winId()))
        self.process(150)

    def resize_window(self, width: int, height: int, widget=None) -> tuple[int, int]:
        """Resize the window (its inside, as the window manager does when a user drags its corner), let the layout
        follow, and return the size it got (the window manager keeps it at least at the window's minimum size)."""
        win = (widget or self.window).window()
        self.xdotool("windowsize", "--sync", int(win.winId()), width, height)
        end, last, since = time.monotonic() + 10, None, time.monotonic()
        while time.monotonic() < end:  # until it has the size, or has kept another for half a second
            self.process(50)
            now = (win.width(), win.height())
            if now == (width, height):
                break
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since > 0.5:
                break
        self.process(400)
        return win.width(), win.height()

    def maximize(self, on: bool = True, widget=None) -> None:
        """Maximise (or restore) the window: a request the window manager carries out."""
        win = (widget or self.window).window()
        win.showMaximized() if on else win.showNormal()
        self.wait_until(lambda: win.isMaximized() == on, 10, "the window manager's maximise")
        self.process(400)

    # ---- looking
    def screen_rect(self):
        """The screen's rectangle (QRect)."""
        return self.window.screen().geometry()

    def shot(self, name: str) -> str:
        """A screenshot of the whole screen, ``OUT/NAME.png`` (the outer test keeps it for a person to look at)."""
        path = self.out / f"{name}.png"
        subprocess.run(["import", "-window", "root", str(path)], check=True, timeout=30)
        self.shots.append(str(path))
        return str(path)

    def visible_docks(self) -> dict:
        """Each dock a user sees (shown, not behind another tab): its name → its widget."""
        docks = {}
        for name, dock in self.window.docks.items():
            if dock.isVisible() and not dock.visibleRegion().isEmpty() and not dock.isFloating():
                docks[name] = dock
        return docks


def build_window(model: Path, out: Path, size: tuple[int, int] | None = None):
    """The main window on ``model`` with private, empty settings (a user's first launch), shown and complete."""
    from PySide6.QtCore import QSettings

    from gui.app import make_app
    from gui.main_window import MainWindow

    make_app()
    settings = QSettings(str(out / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(model_dir=model, settings=settings)
    if size is not None:
        window.resize(*size)
    window.show()
    return window


def run_one(name: str, model: Path, out: Path) -> dict:
    """Run scenario ``name`` on a new window on ``model``: its verdict, also written to ``OUT/verdict.json``. The
    window and every top-level window it left open are closed after."""
    from PySide6.QtWidgets import QApplication

    out.mkdir(parents=True, exist_ok=True)
    verdict: dict = {}
    t0 = time.monotonic()
    rw = None
    try:
        scenario = importlib.import_module(f"scenarios.{name}")
        if getattr(scenario, "MODEL", None) == "default":  # the packaged default model (its 40 labels, long names)
            from engine.resources import default_model_dir

            model = default_model_dir()
        window = build_window(model, out, getattr(scenario, "WINDOW_SIZE", None))
        rw = RealWindow(window, out)
        rw.wait_until(window.isVisible, 20, "the window on screen")
        rw.wait_idle(90)
        rw.activate()
        verdict["ready_s"] = round(time.monotonic() - t0, 2)
        verdict.update(scenario.run(rw) or {})
    except Exception:  # the outer test shows it
        verdict = {"error": traceback.format_exc()}
        if rw is not None:
            try:
                rw.shot("error")
            except Exception:  # noqa: BLE001 - the error above is the one to report
                pass
    verdict["seconds"] = round(time.monotonic() - t0, 2)
    verdict["shots"] = rw.shots if rw is not None else []
    verdict["xdotool"] = rw.timings if rw is not None else []
    (out / "verdict.json").write_text(json.dumps(verdict, indent=1, default=str))
    if rw is not None:
        rw.window.close()
        for top in QApplication.topLevelWidgets():  # dialogs, the help window …: the next scenario starts bare
            if top.isVisible():
                top.close()
        rw.window.deleteLater()
        rw.process(100)
    return verdict


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="run real-window scenarios, each on its own new window")
    ap.add_argument("names", nargs="+", help="scenario names; with several, OUT/NAME/ holds each one's verdict")
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    sys.path[:0] = [str(ROOT), str(HERE)]
    args.out.mkdir(parents=True, exist_ok=True)
    failed = False
    for name in args.names:
        out = args.out if len(args.names) == 1 else args.out / name
        failed |= "error" in run_one(name, args.model, out)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
