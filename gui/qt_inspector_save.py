"""The inspector's "Save this face…": the shown face as a PNG and its z-vector beside it (a mixin of
``gui.qt_inspector.InspectorPanel``: it reads ``session``, ``face``, ``settings`` and emits ``face_saved``)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
from PySide6.QtWidgets import QFileDialog, QMessageBox


class FaceSaving:
    def save_dialog(self) -> None:
        if self.face.image is None:
            return
        s = self.session
        ph = s.inspected_photo()
        if ph is not None:
            name = f"{Path(ph.name).stem}-edited.png"
        else:
            name = f"face-{s.current:04d}-seed{s.sample.params.get('seed')}.png" if s.sample and s.current is not None else "face.png"
        path, _ = QFileDialog.getSaveFileName(self, "Save this face", str(self.face_folder() / name), "PNG image (*.png)")
        if path:
            self.save_face(path)

    def face_folder(self) -> Path:
        """Where "Save this face" starts: the folder of the last saved face, else the user's pictures folder
        (never the process's working directory)."""
        from .dialogs import pictures_folder

        last = self.settings.value("save/faces", "") if self.settings is not None else ""
        if last and Path(str(last)).is_dir():
            return Path(str(last))
        return pictures_folder()

    def save_face(self, path: str | Path) -> Optional[Path]:
        """Write the shown face as PNG and its z-vector beside it (``NAME.z.npy``), atomically."""
        from engine import atomic_io

        path = Path(path)
        if path.suffix.lower() != ".png":
            path = path.with_suffix(".png")
        z = self.session.current_z()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)  # a new folder typed in the dialog is created
            atomic_io.save_png(path, self.face.image)
            if z is not None:
                atomic_io.save_npy(path.with_suffix(".z.npy"), np.asarray(z, np.float32)[None, :])
        except OSError as exc:
            QMessageBox.critical(self, "Save this face", f"could not write {exc.filename or path}: {exc.strerror or exc}")
            return None
        if self.settings is not None:
            self.settings.setValue("save/faces", str(path.parent))
        self.face_saved.emit(str(path))
        return path

