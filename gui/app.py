"""Application start-up: QApplication, the main window, and the headless ``--screenshot`` mode."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional


def make_app():
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Latent Face Studio")
    app.setOrganizationName("LatentFaceStudio")
    return app


def render_screenshot(window, path: str | Path, size=(1600, 1000), timeout_s: float = 180.0) -> bool:
    """Show ``window`` (offscreen), wait for its jobs, then grab it to ``path``."""
    from PySide6.QtWidgets import QApplication

    window.resize(*size)
    window.show()
    window.wait_idle(timeout_s)
    QApplication.processEvents()
    return bool(window.grab().save(str(path)))


# ---------------------------------------------------------------------------------------------- display check
#: Qt's X11 plugin and the library it loads: a missing system library makes Qt abort with a message that
#: does not name the package to install.
XCB_PLUGIN = ("plugins", "platforms", "libqxcb.so")
XCB_QPA = ("lib", "libQt6XcbQpa.so.6")
#: What Qt 6's xcb plugin needs beyond a plain X11 desktop, for the check without ``ldd``.
XCB_SONAMES = ("libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libxcb-image.so.0",
               "libxcb-render-util.so.0", "libxcb-randr.so.0", "libxcb-shape.so.0", "libxcb-xfixes.so.0",
               "libxcb-xkb.so.1", "libxkbcommon-x11.so.0", "libxkbcommon.so.0")


def debian_package(soname: str) -> str:
    """The Debian/Ubuntu package that ships a library: ``libxcb-icccm.so.4`` → ``libxcb-icccm4``,
    ``libxkbcommon-x11.so.0`` → ``libxkbcommon-x11-0`` (Debian's library package naming)."""
    stem, _, version = soname.partition(".so.")
    version = version.split(".")[0]
    stem = stem.lower()
    return f"{stem}-{version}" if stem[-1:].isdigit() else f"{stem}{version}"


def uses_xcb(environ=None) -> bool:
    """True when Qt will use its X11 (xcb) plugin: QT_QPA_PLATFORM=xcb, or unset on an X11 session."""
    import os
    import sys

    env = os.environ if environ is None else environ
    if not sys.platform.startswith("linux"):
        return False
    plat = env.get("QT_QPA_PLATFORM", "").strip()
    if plat:
        return plat.split(";")[0].split(":")[0] == "xcb"
    return bool(env.get("DISPLAY")) and not env.get("WAYLAND_DISPLAY")


def parse_ldd_missing(text: str) -> list[str]:
    """The sonames ``ldd`` reports as "not found"."""
    out = []
    for line in text.splitlines():
        name, sep, rest = line.strip().partition(" => ")
        if sep and "not found" in rest and name not in out:
            out.append(name)
    return out


def missing_display_libraries() -> list[str]:
    """Sonames the xcb plugin needs that this system lacks ([] when all are there or it cannot be told)."""
    import shutil
    import subprocess

    try:
        import PySide6
    except ImportError:
        return []
    qt = Path(PySide6.__file__).resolve().parent / "Qt"
    targets = [p for p in (qt.joinpath(*XCB_PLUGIN), qt.joinpath(*XCB_QPA)) if p.is_file()]
    if targets and shutil.which("ldd"):
        missing: list[str] = []
        for t in targets:
            try:
                res = subprocess.run(["ldd", str(t)], capture_output=True, text=True, timeout=20)
            except (OSError, subprocess.SubprocessError):
                return []
            missing += [m for m in parse_ldd_missing(res.stdout) if m not in missing and not m.startswith("libQt6")]
        return missing
    import ctypes.util

    return [s for s in XCB_SONAMES if ctypes.util.find_library(s[3:].split(".so")[0]) is None]


def display_check_message(missing: list[str]) -> str:
    pkgs = " ".join(debian_package(m) for m in missing)
    return (f"error: the desktop window cannot start: Qt's X11 plugin (xcb) needs system libraries that are "
            f"missing: {', '.join(missing)}.\n"
            f"Install them (Debian/Ubuntu):\n\n    sudo apt install {pkgs}\n\n"
            "(other distributions: the packages that provide these files). Without a display, "
            "`QT_QPA_PLATFORM=offscreen python main.py gui --screenshot FILE` still renders the window to a PNG.")


def check_display() -> Optional[str]:
    """The message to print instead of Qt's abort when the window cannot start on this display (or None).
    ``LFS_SKIP_DISPLAY_CHECK=1`` skips the check."""
    import os

    if os.environ.get("LFS_SKIP_DISPLAY_CHECK") or not uses_xcb():
        return None
    missing = missing_display_libraries()
    return display_check_message(missing) if missing else None


def run_gui(model_dir: Optional[Path] = None, screenshot: Optional[str] = None, sampler: Optional[str] = None,
            session: Optional[Path] = None) -> int:
    import os

    if screenshot and not os.environ.get("QT_QPA_PLATFORM"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    problem = check_display()
    if problem:
        print(problem, file=sys.stderr)
        return 3
    app = make_app()
    from PySide6.QtCore import QSettings

    from .main_window import MainWindow

    if screenshot:
        # a clean window: the default layout, not the user's saved one, and nothing written to their settings
        import tempfile

        tmp = tempfile.mkdtemp(prefix="lfs-shot-")
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(model_dir=model_dir, sampler=sampler, settings=settings, restore_state=False)
        window.resize(1600, 1000)
        window.show()
        window.wait_idle(300)
        if window.session.sample is None and window.session.model is not None:
            window.generate_now()
        ok = render_screenshot(window, screenshot)
        failed = window.last_error
        window.close()
        if failed:
            print(f"error: {failed}", file=sys.stderr)
        return 0 if ok and not failed else (2 if failed else 1)
    window = MainWindow(model_dir=model_dir, sampler=sampler)
    window.show()
    if session is not None:  # after the model's own open (the same worker): the session's state on top
        window.window_actions.open_session(session, model_folder=model_dir)
    return app.exec()
