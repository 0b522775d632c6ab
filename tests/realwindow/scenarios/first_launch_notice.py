"""A model that still needs its one-time preparation (its ONNX export: a new cache folder, as on a first launch)
says so on the status bar (its message line or the job's step), readable in full at 1280×720, until it is ready; the next open says nothing (issue 24,
finding 7)."""
from __future__ import annotations

NOTICE = "preparing this model for fast decoding (once, ~"


def _message_fits(w) -> dict:
    """The status bar's message and whether it is painted whole (left of the permanent widgets)."""
    from PySide6.QtWidgets import QWidget

    bar = w.statusBar()
    text = bar.currentMessage()
    right = min((c.x() for c in bar.findChildren(QWidget) if c.isVisible() and c.parent() is bar and c.x() > 0),
                default=bar.width())
    step = w.job_status.step  # the running job's step (an elided label: shown_text() is what is painted)
    if NOTICE in step.full_text() and step.shown_text() == step.full_text() and step.isVisible():
        text = step.full_text()  # the notice read whole in the job area
        return {"text": text, "text width": step.fontMetrics().horizontalAdvance(text), "room": step.width(),
                "where": "job step"}
    return {"text": text, "text width": bar.fontMetrics().horizontalAdvance(text), "room": right, "where": "message"}


def run(rw) -> dict:
    import os
    import tempfile

    w = rw.window
    model = w.session.model.folder
    os.environ["LFS_CACHE_DIR"] = tempfile.mkdtemp(prefix="lfs-rw-first-")  # as a first launch: nothing cached
    first = w.session.model  # (the tiny model opens in a moment: this one is the model before the open)
    w.window_actions.open_model(model, generate=True)
    seen: list[dict] = []

    def notice_shown() -> bool:
        m = _message_fits(w)
        if NOTICE in m["text"]:
            seen.append(m)
        return bool(seen)

    rw.wait_until(notice_shown, 60, "the preparation notice")
    rw.shot("preparing")
    rw.process(300)  # (the status bar lays its widgets out for the new job)
    seen.append(_message_fits(w))
    rw.wait_until(lambda: w.session.model is not first and not w.bridge.busy(), 120, "the model to open")
    rw.wait_idle(60)
    rw.shot("ready")
    after_first = _message_fits(w)["text"]
    again: list[str] = []
    second = w.session.model
    w.window_actions.open_model(model, generate=False)

    def reopened() -> bool:
        again.append(w.statusBar().currentMessage())
        return w.session.model is not second and not w.bridge.busy()

    rw.wait_until(reopened, 60, "the second open")
    return {"notice": next((m for m in reversed(seen) if NOTICE in m["text"]), seen[0]), "after": after_first, "second open": sorted(set(again))}
