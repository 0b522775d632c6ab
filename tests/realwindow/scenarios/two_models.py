"""Two models side by side at 1280×720 (issue 27, part 5): Ctrl+5 (Compare & report), a second model (the tiny
model's copy with its z-points turned) compared on the worker while the window keeps answering, the Two models
panel raised with its table, histogram and faces on screen, and a real click on *Least overlap* decoding another
face."""
from __future__ import annotations

import shutil
import time

import numpy as np


def _turned_copy(model, out):
    folder = out / "model-b"
    shutil.copytree(model, folder, ignore=shutil.ignore_patterns(".*", "labels.csv"))
    z = np.load(folder / "latents.npy").astype(np.float64)
    q, r = np.linalg.qr(np.random.default_rng(1).standard_normal((z.shape[1], z.shape[1])))
    np.save(folder / "latents.npy", (z @ (q * np.sign(np.diag(r)))).astype(np.float32))
    return folder


def _on_screen(rw, widget) -> bool:
    screen = rw.screen_rect()
    seen = widget.viewport() if hasattr(widget, "viewport") else widget  # a plot's view paints in its viewport
    r = widget.rect()
    return (widget.isVisible() and not seen.visibleRegion().boundingRect().isEmpty()
            and screen.contains(widget.mapToGlobal(r.topLeft())) and screen.contains(widget.mapToGlobal(r.bottomRight())))


def run(rw) -> dict:
    from PySide6.QtCore import QTimer

    from engine.workflows.compare_models import CompareOptions

    w = rw.window
    verdict: dict = {}
    rw.key("ctrl+5")
    verdict["workspace"] = w.dock_layout.current
    second = _turned_copy(w.session.model.folder, rw.out)
    gaps, last = [], [time.monotonic()]

    def beat():  # the event loop's heartbeat while the comparison runs on the worker
        now = time.monotonic()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.timeout.connect(beat)
    timer.start(20)
    panel = w.model_compare
    w.compare_with_model(second, CompareOptions(samplers=("normal",), n=16, k=5))
    rw.wait_until(lambda: panel.comparison is not None, 120, "the comparison")
    rw.wait_idle(120)
    timer.stop()
    verdict["longest gap ms"] = round(1000 * max(gaps[1:] or [0]), 1)
    rw.process(300)
    verdict["dock shown"] = w.docks["twoModelsDock"].isVisible()
    verdict["rows"] = panel.table.rowCount()
    verdict["shared"] = panel.table.item(1, 1).text()
    verdict["on screen"] = {name: _on_screen(rw, wd) for name, wd in (
        ("button", panel.open_btn), ("table", panel.table), ("histogram", panel.hist), ("face spin", panel.face_spin),
        ("least", panel.least_btn), *((f"face {k}", v) for k, v in panel.face_labels.items() if k != "original"))}
    rw.shot("two-models")
    before = panel.face_name.text()
    rw.click(panel.least_btn)
    target = panel.comparison.numbers["overlap"]["least"][0]["face"]
    rw.wait_until(lambda: panel.face_name.text().startswith(target), 30, "the least-overlap face decoded")
    verdict["face after click"] = panel.face_name.text()
    verdict["face before"] = before
    verdict["least"] = target
    return verdict
