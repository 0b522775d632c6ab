"""Shrink the window as a window manager does (900×560) and grow it back, then maximise and restore, in every
workspace: every visible panel comes back where it was, within a few pixels (issue 24, finding 1)."""
from __future__ import annotations

SMALL = (900, 560)


def _geometry(rw) -> dict:
    """Each visible panel's rectangle in the window: name → [x, y, width, height]."""
    out = {}
    for name, dock in rw.visible_docks().items():
        g = dock.geometry()
        out[name] = [g.x(), g.y(), g.width(), g.height()]
    return out


def _round_trip(rw, tag: str) -> dict:
    w = rw.window
    size = (w.width(), w.height())
    before = _geometry(rw)
    small = rw.resize_window(*SMALL)
    rw.shot(f"{tag}-small")
    back = rw.resize_window(*size)
    after = _geometry(rw)
    rw.maximize(True)
    maximised = _geometry(rw)
    rw.maximize(False)
    if (w.width(), w.height()) != size:  # (a window manager may restore a few pixels off)
        rw.resize_window(*size)
    restored = (w.width(), w.height())
    after_max = _geometry(rw)
    rw.shot(f"{tag}-restored")
    return {"size": list(size), "small": list(small), "back": list(back), "restored": list(restored),
            "before": before, "after": after, "maximised": maximised, "after_max": after_max}


def run(rw) -> dict:
    from gui.workspaces import WORKSPACES

    out = {}
    for ws in WORKSPACES:
        rw.window.switch_workspace(ws.key)
        rw.process(600)
        out[ws.key] = _round_trip(rw, ws.key)
    return {"workspaces": out}
