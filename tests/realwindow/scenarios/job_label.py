"""While a job runs, the status bar shows its whole name at 1280×720 (issue 24, finding 5)."""
from __future__ import annotations

NAME = "compare samplers"
STEP = "fitting gmm"


def run(rw) -> dict:
    import time

    from PySide6.QtWidgets import QLabel

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

    job = w.bridge.submit(Job(NAME, fn))
    rw.wait_until(lambda: w.bridge.current is job, 10, "the job to start")
    rw.process(800)
    rw.shot("job-label")
    shown = []
    for label in w.statusBar().findChildren(QLabel):
        if label.isVisible():
            text = QLabel.text(label)  # what is painted (an elided label's text() is its full text)
            fm = label.fontMetrics()
            shown.append({"text": text, "width": label.width(), "text width": fm.horizontalAdvance(text)})
    job.cancel.cancel()
    rw.wait_idle(20)
    return {"name": NAME, "labels": shown, "window": [w.width(), w.height()]}
