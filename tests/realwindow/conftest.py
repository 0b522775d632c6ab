"""Real-window tests: a display with a window manager for the session, and ``run_scenario`` to run a scenario on it.

A scenario (``tests/realwindow/scenarios/NAME.py``, a ``run(rw) -> dict``) runs in its own process on that display
with Qt's X11 plugin (tests/realwindow/harness.py); the test asserts the dict it returns. Without Xvfb, openbox,
xdotool, ImageMagick or Qt's X11 libraries the tests skip, saying what to install (``tools/install-test-display``),
except on CI (the environment variable ``CI`` set), where a missing tool fails them.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
#: Screenshots of the scenarios are kept here when set (a folder), for a person to look at.
SHOTS_ENV = "LFS_REALWINDOW_SHOTS"


@pytest.fixture(scope="session")
def real_display():
    """Xvfb at 1280×720 with openbox and a fresh HOME, for the whole session."""
    sys.path.insert(0, str(HERE))
    from display import Display, missing_tools

    missing = missing_tools()
    if missing:
        message = (f"the real-window tests need {', '.join(missing)}: run tools/install-test-display as root "
                   "(make test does)")
        if os.environ.get("CI"):
            pytest.fail(f"CI: {message}", pytrace=False)
        pytest.skip(message)
    display = Display((1280, 720)).start()
    yield display
    display.stop()


@pytest.fixture
def run_scenario(real_display, tiny_model, tmp_path):
    """``run_scenario(name, timeout_s=60) -> dict``: run ``scenarios/NAME.py`` on the tiny model in a real window;
    its verdict, with ``"shots"`` (screenshots under pytest's tmp path). A scenario that failed to run fails the
    test with its traceback and output."""

    def run(name: str, timeout_s: float = 60.0) -> dict:
        out = tmp_path / f"rw-{name}"
        env = real_display.env()
        env.setdefault("OMP_NUM_THREADS", "1")
        cmd = [sys.executable, str(HERE / "harness.py"), name, "--model", str(tiny_model), "--out", str(out)]
        try:
            res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired as e:
            pytest.fail(f"scenario {name} ran past {timeout_s:.0f} s\n{_tail(e.stdout)}{_tail(e.stderr)}")
        verdict_file = out / "verdict.json"
        verdict = json.loads(verdict_file.read_text()) if verdict_file.is_file() else {}
        keep = os.environ.get(SHOTS_ENV)
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            for shot in verdict.get("shots", []):
                shutil.copy(shot, Path(keep) / f"{name}-{Path(shot).name}")
        if res.returncode != 0 or "error" in verdict:
            pytest.fail(f"scenario {name} failed (exit {res.returncode}):\n{verdict.get('error', '')}"
                        f"{_tail(res.stdout)}{_tail(res.stderr)}", pytrace=False)
        return verdict

    return run


def _tail(text, n: int = 3000) -> str:
    if not text:
        return ""
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return "\n--- output ---\n" + text[-n:]
