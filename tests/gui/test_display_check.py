"""`make run` / `python main.py gui` on a desktop that lacks the X11 libraries Qt's xcb plugin needs: the
exact `apt install` line instead of Qt's abort (issue 18, item 14)."""
from __future__ import annotations

import pytest

from gui import app

LDD = """\
\tlinux-vdso.so.1 (0x00007ffd)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f45)
\tlibxcb-cursor.so.0 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb-util.so.1 => /lib/x86_64-linux-gnu/libxcb-util.so.1 (0x00007f45)
\tlibxcb-keysyms.so.1 => not found
\tlibxkbcommon-x11.so.0 => not found
"""


def test_ldd_output_names_the_missing_libraries_and_their_packages():
    missing = app.parse_ldd_missing(LDD)
    assert missing == ["libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libxkbcommon-x11.so.0"]
    assert [app.debian_package(m) for m in missing] == ["libxcb-cursor0", "libxcb-icccm4", "libxcb-keysyms1",
                                                         "libxkbcommon-x11-0"]
    msg = app.display_check_message(missing)
    assert "sudo apt install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxkbcommon-x11-0" in msg


@pytest.mark.parametrize("env, xcb", [
    ({"DISPLAY": ":0"}, True),
    ({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, False),  # Qt picks its Wayland plugin first
    ({"QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": "wayland-0"}, True),
    ({"QT_QPA_PLATFORM": "offscreen", "DISPLAY": ":0"}, False),
    ({}, False),
])
def test_the_check_runs_only_where_qt_would_use_xcb(env, xcb, monkeypatch):
    monkeypatch.setattr(app.sys, "platform", "linux")
    assert app.uses_xcb(env) is xcb


def test_run_gui_prints_the_install_line_and_does_not_start_qt(monkeypatch, capsys):
    monkeypatch.setattr(app, "uses_xcb", lambda environ=None: True)
    monkeypatch.delenv("LFS_SKIP_DISPLAY_CHECK", raising=False)
    monkeypatch.setattr(app, "missing_display_libraries", lambda: ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"])
    monkeypatch.setattr(app, "make_app", lambda: pytest.fail("Qt must not be started"))
    assert app.run_gui() == 3
    err = capsys.readouterr().err
    assert "sudo apt install libxcb-icccm4 libxcb-keysyms1" in err
