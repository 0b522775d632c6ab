"""Without torch (a lean install, issue 26 part 4): the window shows faces on the default model, the torch preload
passes quietly, and File ▸ Train… (Ctrl+T, a real key press) says in one line what to install, Start greyed."""
from __future__ import annotations

import sys

MODEL = "default"  # it ships its checked ONNX export: no torch needed to open it


class _NoTorch:
    """Imported before the window is built: ``import torch`` fails as in an install without the extra."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "torch":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _NoTorch())


def run(rw) -> dict:
    from gui.main_window import TORCH_PRELOAD_IDLE_MS

    w = rw.window
    rw.process(TORCH_PRELOAD_IDLE_MS + 1500)  # past the moment the preload would load torch
    images = w.session.sample.images if w.session.sample is not None else None
    rw.shot("faces")
    rw.key("ctrl+t")
    rw.wait_until(lambda: w.train_dialog is not None and w.train_dialog.isVisible(), 15, "the Train dialog")
    rw.process(300)
    d = w.train_dialog
    rw.shot("train")
    verdict = {"faces": None if images is None else list(images.shape),
               "faces_std": None if images is None else float(images.std()),
               "torch_loaded": "torch" in sys.modules, "torch_asked": w._torch_asked, "last_error": w.last_error,
               "status": d.status.text(), "status_fits": d.status.width() >= d.status.sizeHint().width(),
               "start_enabled": d.start_btn.isEnabled()}
    d.close()
    return verdict
