"""Bookmarks in a real window (issue 27, part 4): Ctrl+B keeps the view, a real click on the bookmark brings back its
axes, face and zoom after they changed, F2 renames it by typing, and the panel fits the 1280×720 screen."""
from __future__ import annotations


def run(rw) -> dict:
    w, s = rw.window, rw.window.session
    rw.activate()
    w.switch_workspace("explore")
    rw.process(300)
    s.set_axes(("pca", 2), ("pca", 5))
    s.select(3, [3])
    w.window_actions._set_view_range((-1.0, 1.0, -0.5, 0.5))
    rw.process(200)
    rw.activate(w.pair_plot)
    rw.key("ctrl+b")
    rw.wait_until(lambda: len(s.bookmarks) == 1, 5, "a bookmark after Ctrl+B")
    panel = w.bookmarks
    w.raise_dock("bookmarksDock")
    rw.process(300)
    rw.shot("bookmarks")
    name = panel.list.item(0).text()
    s.set_axes(("pca", 0), ("pca", 1))
    s.select(1, [1])
    rw.process(300)
    item = panel.list.item(0)
    rw.click(panel.list.viewport(), at=panel.list.visualItemRect(item).center().toTuple())
    rw.process(500)
    restored = {"axes": [list(a) for a in s.axes], "current": s.current,
                "view_range": [round(v, 4) for v in w.window_actions._view_range()]}
    rw.key("F2")
    rw.process(200)
    rw.xdotool("key", "ctrl+a")
    rw.xdotool("type", "--delay", 40, "mine")
    rw.key("Return")
    rw.process(400)
    screen = rw.screen_rect()
    corners = [panel.mapToGlobal(p) for p in (panel.rect().topLeft(), panel.rect().bottomRight())]
    visible = all(screen.contains(c) for c in corners) and panel.add_btn.isVisible() and panel.list.height() >= 40
    return {"name": name, "restored": restored, "renamed": [b.name for b in s.bookmarks], "visible": visible,
            "undo": w.undo_action.text()}
