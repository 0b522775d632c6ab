"""Shrink the window as a window manager does (900×560) and grow it back, then maximise and restore: every visible
panel comes back where it was, within a few pixels (issue 24, finding 1)."""
from __future__ import annotations

SMALL = (900, 560)


def _geometry(rw) -> dict:
    """Each visible panel's rectangle in the window: name → [x, y, width, height]."""
    out = {}
    for name, dock in rw.visible_docks().items():
        g = dock.geometry()
        out[name] = [g.x(), g.y(), g.width(), g.height()]
    return out


def run(rw) -> dict:
    w = rw.window
    size = (w.width(), w.height())
    before = _geometry(rw)
    small = rw.resize_window(*SMALL)
    rw.shot("resize-small")
    at_small = _geometry(rw)
    back = rw.resize_window(*size)
    rw.shot("resize-back")
    after = _geometry(rw)
    rw.maximize(True)
    maximised = _geometry(rw)
    rw.maximize(False)
    restored = (w.width(), w.height())
    after_max = _geometry(rw)
    rw.shot("resize-restored")
    return {"size": list(size), "small": list(small), "back": list(back), "restored": list(restored),
            "before": before, "at_small": at_small, "after": after, "maximised": maximised, "after_max": after_max}
