"""The photo panel's before/after and detector control in a real window at 1280×720 (issue 25): a photo opened, the
"face put back" box clicked with the real pointer, the "after" computed on the worker while the window stays live,
shown unmarked; clicked again, the marked photo is back. The detector's choices are the engine's."""
from __future__ import annotations


def _photo(path):
    """A synthetic face pasted into a larger canvas (the tiny model's kind of face)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(3)
    canvas = np.zeros((170, 220, 3), np.uint8)
    canvas[:] = (30, 90, 160)
    canvas[40:136, 70:166] = rng.integers(60, 200, (96, 96, 3), dtype=np.uint8)
    Image.fromarray(canvas).save(path)
    return path


def run(rw) -> dict:
    import tempfile
    from pathlib import Path

    import numpy as np

    from engine.photo import DETECTORS

    w = rw.window
    rw.resize_window(1280, 720)
    path = _photo(Path(tempfile.mkdtemp()) / "me.png")
    w.open_photo(path, no_detect=True)
    rw.wait_idle(60)
    panel = w.photo_panel
    w.raise_dock("photoDock")
    rw.process(400)
    box = panel.put_back
    verdict = {"detectors": [panel.detector.itemData(k) for k in range(panel.detector.count())],
               "engine detectors": list(DETECTORS), "box visible": box.isVisible(),
               "box inside window": w.rect().contains(box.mapTo(w, box.rect().center())),
               "detector visible": panel.detector.isVisible()}
    before = panel.view.pixmap().toImage().copy()
    rw.click(box)
    rw.wait_until(lambda: panel.view.after is not None, 30, "the face put back")
    rw.process(300)
    rw.shot("photo-after")
    after, photo = panel.view.after, panel.entry().result.photo
    verdict["after shape"] = list(after.shape)
    verdict["photo shape"] = list(photo.shape)
    verdict["after differs"] = bool(np.abs(after.astype(int) - photo.astype(int)).max() > 0)
    verdict["view changed"] = panel.view.pixmap().toImage() != before
    rw.click(box)
    rw.process(300)
    verdict["back to before"] = panel.view.after is None and panel.view.pixmap().toImage() == before
    rw.shot("photo-before")
    return verdict
