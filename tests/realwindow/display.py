"""A real X11 display for the tests: Xvfb with the openbox window manager and a fresh home folder.

Offscreen Qt has no window manager, no real resize and no mouse wheel; this display has all three, as a user's
desktop does. ``tools/install-test-display`` installs what it needs (``make test`` runs it).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Optional

#: The programs a real-window test runs (Debian packages: xvfb, openbox, xdotool, imagemagick, x11-utils).
TOOLS = ("Xvfb", "openbox", "xdotool", "import", "xwininfo", "xprop")


def missing_tools() -> list[str]:
    """What this machine lacks for a real-window test: programs, and Qt's X11 (xcb) libraries."""
    missing = [t for t in TOOLS if shutil.which(t) is None]
    from gui.app import missing_display_libraries

    return missing + missing_display_libraries()


class Display:
    """One Xvfb screen of ``size`` with openbox running on it and a fresh HOME; :meth:`stop` ends both."""

    def __init__(self, size: tuple[int, int] = (1280, 720), root: Optional[Path] = None) -> None:
        self.size = size
        self.root = Path(root or tempfile.mkdtemp(prefix="lfs-realwindow-"))
        self.home = self.root / "home"
        self.number: Optional[int] = None
        self._procs: list[subprocess.Popen] = []

    def start(self, timeout_s: float = 20.0) -> "Display":
        """Start Xvfb on a free display (it picks the number itself: no race with other displays), then openbox."""
        for sub in ("", ".config", ".cache"):
            (self.home / sub).mkdir(parents=True, exist_ok=True)
        read, write = os.pipe()
        w, h = self.size
        log = open(self.root / "xvfb.log", "wb")
        xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", f"{w}x{h}x24", "-nolisten", "tcp"],
                                pass_fds=(write,), stdout=log, stderr=subprocess.STDOUT, preexec_fn=_end_with_parent)
        self._procs.append(xvfb)
        os.close(write)
        try:
            self.number = int(_read_line(read, timeout_s, xvfb))
        finally:
            os.close(read)
        wm_log = open(self.root / "openbox.log", "wb")
        self._procs.append(subprocess.Popen(["openbox"], env=self.env(), stdout=wm_log, stderr=subprocess.STDOUT,
                                            preexec_fn=_end_with_parent))
        self._wait_for_window_manager(timeout_s)
        return self

    def env(self, base: Optional[dict] = None) -> dict:
        """The environment of a program shown on this display, with the fresh HOME and Qt's X11 plugin."""
        env = dict(os.environ if base is None else base)
        env.update(DISPLAY=f":{self.number}", HOME=str(self.home), XDG_CONFIG_HOME=str(self.home / ".config"),
                   XDG_CACHE_HOME=str(self.home / ".cache"), QT_QPA_PLATFORM="xcb")
        env.pop("WAYLAND_DISPLAY", None)
        return env

    def _wait_for_window_manager(self, timeout_s: float) -> None:
        """openbox is up once the root window names a window manager (_NET_SUPPORTING_WM_CHECK)."""
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            out = subprocess.run(["xprop", "-root", "_NET_SUPPORTING_WM_CHECK"], env=self.env(), capture_output=True,
                                 text=True).stdout
            if "window id" in out:
                return
            if self._procs[-1].poll() is not None:
                raise RuntimeError(f"openbox ended: {(self.root / 'openbox.log').read_text(errors='replace')[-500:]}")
            time.sleep(0.1)
        raise RuntimeError("openbox did not start")

    def screenshot(self, path: Path) -> Path:
        """The whole screen as a PNG."""
        subprocess.run(["import", "-window", "root", str(path)], env=self.env(), check=True, timeout=30)
        return path

    def stop(self) -> None:
        """End openbox and Xvfb (the processes this display started, by their ids)."""
        for p in reversed(self._procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(5)
        self._procs.clear()
        shutil.rmtree(self.root, ignore_errors=True)


def _end_with_parent() -> None:
    """In the child before it runs: its own session, and Linux ends it when the test process ends, however that
    ends (a killed test run leaves no display behind)."""
    import ctypes
    import signal

    os.setsid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: stop() still ends them
        pass


def _read_line(fd: int, timeout_s: float, proc: subprocess.Popen) -> str:
    """The first line written to ``fd`` (Xvfb's display number), or an error naming what Xvfb said."""
    import select

    buf = b""
    end = time.monotonic() + timeout_s
    while b"\n" not in buf:
        left = end - time.monotonic()
        if left <= 0 or proc.poll() is not None:
            raise RuntimeError(f"Xvfb did not start (exit {proc.poll()})")
        ready, _, _ = select.select([fd], [], [], min(left, 0.5))
        if ready:
            chunk = os.read(fd, 64)
            if not chunk:
                raise RuntimeError("Xvfb did not start")
            buf += chunk
    return buf.split(b"\n")[0].decode()
