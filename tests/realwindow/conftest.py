"""Real-window tests: a display with a window manager for the session, and ``run_scenario`` to run a scenario on it.

A scenario (``tests/realwindow/scenarios/NAME.py``, a ``run(rw) -> dict``) runs in its own process on that display
with Qt's X11 plugin (tests/realwindow/harness.py); the test asserts the dict it returns. Without Xvfb, openbox,
xdotool, ImageMagick or Qt's X11 libraries the tests skip, saying what to install (``tools/install-test-display``),
except on CI (the environment variable ``CI`` set), where a missing tool fails them.
"""
from __future__ import annotations

import inspect
import json
import os
import re
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


#: Scenarios that change their process (an import blocked, the cache folder moved): each runs in a process of its
#: own. The others run one after the other in one process, on a new window each (harness.py), started by the first
#: test that asks for one of them: Python's and the libraries' start is paid once, not once per scenario.
ALONE = {"lean_train", "first_launch_notice"}
_SCENARIO_CALL = re.compile(r"run_scenario\(\s*[\"'](\w+)[\"']")


def _scenarios_of(items) -> list[str]:
    """The scenarios the real-window tests among ``items`` run, in their order (each test's
    ``run_scenario("NAME"…)``)."""
    names: list[str] = []
    for item in items:
        fn = getattr(item, "function", None)
        if fn is None or HERE not in Path(item.path).resolve().parents:
            continue
        try:
            found = _SCENARIO_CALL.findall(inspect.getsource(fn))
        except (OSError, TypeError):
            continue
        names.extend(n for n in found if n not in names)
    return names


def _harness(names, model: Path, out: Path, env: dict, timeout_s: float):
    """Run the harness on ``names``: the finished process, or the output it left when it ran past ``timeout_s``."""
    cmd = [sys.executable, str(HERE / "harness.py"), *names, "--model", str(model), "--out", str(out)]
    try:
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as e:
        return e


@pytest.fixture(scope="session")
def _scenario_batch(request, real_display, tiny_model, tmp_path_factory):
    """``verdict(name) -> dict | None``: the batch's verdict of a scenario, the batch run on the first call. None
    for a scenario that runs alone, or one the batch did not reach (it then runs alone: its own failure is shown)."""
    batch = [n for n in _scenarios_of(request.session.items) if n not in ALONE]  # the selected tests' only
    out = tmp_path_factory.mktemp("rw-batch")
    done: dict = {}

    def verdict(name: str):
        if name not in batch or len(batch) < 2:  # (one alone: harness.py writes its verdict in OUT itself)
            return None
        if not done:
            env = real_display.env()
            env.setdefault("OMP_NUM_THREADS", "1")
            done["run"] = _harness(batch, tiny_model, out, env, 90.0 * len(batch) + 60)
        f = out / name / "verdict.json"
        return json.loads(f.read_text()) if f.is_file() else None

    return verdict


@pytest.fixture
def run_scenario(real_display, tiny_model, tmp_path, _scenario_batch):
    """``run_scenario(name, timeout_s=60) -> dict``: run ``scenarios/NAME.py`` on the tiny model in a real window;
    its verdict, with ``"shots"`` (screenshots under pytest's tmp path). A scenario that failed to run fails the
    test with its traceback and output."""

    def run(name: str, timeout_s: float = 60.0) -> dict:
        verdict = _scenario_batch(name)
        res = None
        if verdict is None:  # alone, or not reached by the batch
            out = tmp_path / f"rw-{name}"
            env = real_display.env()
            env.setdefault("OMP_NUM_THREADS", "1")
            res = _harness([name], tiny_model, out, env, timeout_s)
            if isinstance(res, subprocess.TimeoutExpired):
                pytest.fail(f"scenario {name} ran past {timeout_s:.0f} s\n{_tail(res.stdout)}{_tail(res.stderr)}")
            verdict_file = out / "verdict.json"
            verdict = json.loads(verdict_file.read_text()) if verdict_file.is_file() else {}
        keep = os.environ.get(SHOTS_ENV)
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            for shot in verdict.get("shots", []):
                shutil.copy(shot, Path(keep) / f"{name}-{Path(shot).name}")
        if "error" in verdict or (res is not None and res.returncode != 0):
            output = f"{_tail(res.stdout)}{_tail(res.stderr)}" if res is not None else ""
            pytest.fail(f"scenario {name} failed:\n{verdict.get('error', '')}{output}", pytrace=False)
        return verdict

    return run


def _tail(text, n: int = 3000) -> str:
    if not text:
        return ""
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return "\n--- output ---\n" + text[-n:]
