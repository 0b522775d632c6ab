"""Ctrl+Shift+P opens the command palette on the 1280×720 screen; typing finds a command and Enter runs it
(issue 28, part 3)."""
from __future__ import annotations


def run(rw) -> dict:
    w = rw.window
    rw.activate()
    start = w.workspace()
    pal = rw.open_palette("explore the cloud")
    rw.shot("palette")
    screen = rw.screen_rect()
    f = pal.frameGeometry()
    found = pal.shown_paths()[:3]
    chosen = pal.list.currentItem().text(0) if pal.list.currentItem() else None
    focused = pal.search.hasFocus()
    rw.key("Return")
    rw.wait_until(lambda: not pal.isVisible(), 5, "the palette to close after Enter")
    rw.process(500)
    after = w.workspace()
    rw.key("ctrl+shift+p")
    rw.wait_until(pal.isVisible, 5, "the palette again")
    rw.key("Escape")
    rw.process(300)
    return {"start": start, "after": after, "found": found, "chosen": chosen, "search focused": focused,
            "inside": screen.contains(f), "frame": [f.x(), f.y(), f.width(), f.height()],
            "closed by Esc": not pal.isVisible()}
