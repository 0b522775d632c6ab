"""While a job runs, the status bar shows its whole name at 1280×720 (issue 24, finding 5)."""
from __future__ import annotations

NAME = "compare samplers"
TITLE = "Comparing 7 samplers on 256 faces each"  # what the status bar names it (Job.title)
STEP = "fitting gmm"


def _rect(widget, bar):
    from PySide6.QtCore import QRect

    return QRect(widget.mapTo(bar, widget.rect().topLeft()), widget.size())


def _clear_width(label, bar, parts) -> int:
    """How much of ``label``'s width no other part of the status bar covers (a squeezed layout overlaps them)."""
    g = _rect(label, bar)
    covered = set()
    for other in parts:
        if other is label or other.isAncestorOf(label) or label.isAncestorOf(other):
            continue
        o = _rect(other, bar)
        if o.intersects(g):
            covered.update(range(max(g.left(), o.left()), min(g.right(), o.right()) + 1))
    return g.width() - len(covered)


def run(rw) -> dict:
    import time

    from PySide6.QtWidgets import QLabel, QWidget

    from engine.progress import Progress
    from gui.engine_bridge import Job

    w = rw.window

    def fn(progress, cancel):
        for i in range(40):
            if cancel.cancelled:
                return None
            progress(Progress(NAME, i, 40, message=STEP if i else ""))
            time.sleep(0.1)
        return None

    job = w.bridge.submit(Job(NAME, fn, title=TITLE))
    rw.wait_until(lambda: w.bridge.current is job, 10, "the job to start")
    rw.process(800)
    rw.shot("job-label")
    bar = w.statusBar()
    parts = [c for c in bar.findChildren(QWidget) if c.isVisible()]
    shown = []
    for label in parts:
        if isinstance(label, QLabel):
            text = QLabel.text(label)  # what is painted (an elided label's text() is its full text)
            shown.append({"text": text, "width": label.width(), "text width": label.fontMetrics().horizontalAdvance(text),
                          "clear width": _clear_width(label, bar, parts)})
    job.cancel.cancel()
    rw.wait_idle(20)
    # the name as the window titles it ("Comparing the samplers"), where jobs have such a title
    return {"name": getattr(job, "label", NAME), "labels": shown, "window": [w.width(), w.height()]}
