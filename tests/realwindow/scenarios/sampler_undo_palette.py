"""A sampler field typed with real keys is one undo step named after it, Ctrl+Z puts the field back; a panel's
button run from the command palette (issue 28: sampler parameters as undo steps, panel buttons in the palette)."""
from __future__ import annotations


def run(rw) -> dict:
    w = rw.window
    s, sp = w.session, w.sampler_panel
    rw.activate()
    w.switch_workspace("generate")
    rw.process(300)
    box = sp.controls["scale"]
    before, steps = box.value(), len(s.history.done)
    rw.click(box.lineEdit())
    rw.key("ctrl+a")
    rw.xdotool("type", "--delay", 80, "0.55")
    rw.process(300)
    typing = len(s.history.done) - steps  # no step while typing
    rw.key("Return")
    rw.wait_idle(60)  # (Enter in a field also generates)
    rw.process(300)
    typed = (box.value(), w.undo_action.text(), len(s.history.done) - steps)
    while w.undo_action.text() != "Undo: scale to 0.55" and s.history.done:
        s.undo()  # the grid Enter made, if it was a step
    rw.activate()
    focused = box.lineEdit().hasFocus()
    rw.key("ctrl+z")  # the keyboard still in the field, its value entered: the window's undo
    rw.process(400)
    undone = (box.value(), box.text(), s.state.sampler["values"]["scale"], w.undo_action.text(), focused)
    rw.key("ctrl+shift+z")
    rw.process(400)
    redone = (box.value(), w.undo_action.text())
    rw.key("alt+e")  # Edit ▸ Undo: scale to 0.55, the menu's first item
    rw.process(400)
    menu_text = w.undo_action.text()
    rw.key("Return")
    rw.process(400)
    by_menu = (box.value(), box.text(), s.state.sampler["values"]["scale"], w.undo_action.text())
    pal = rw.open_palette("bookmarks add")
    rw.shot("palette-panel-button")
    chosen = pal.list.currentItem().text(0) if pal.list.currentItem() else None
    n = len(s.bookmarks)
    rw.key("Return")
    rw.wait_until(lambda: not pal.isVisible(), 5, "the palette to close after Enter")
    rw.process(500)
    return {"before": before, "typing steps": typing, "redone": list(redone), "menu": menu_text, "by menu": list(by_menu), "typed": list(typed), "undone": list(undone),
            "chosen": chosen, "bookmarks added": len(s.bookmarks) - n,
            "bookmarks shown": w.docks["bookmarksDock"].isVisible()}
