"""Where results go, and the questions asked before they are written — shared by the window, its actions and the
panels (none of them imports the window for these):

* :func:`pictures_folder` — the user's pictures folder (or home): where saved faces, sets and direction sets
  start unless the user chose a folder before;
* :func:`unique_child` — a new name inside a folder (``name``, ``name-2`` …);
* :func:`inspect_folder_quietly` — what a folder holds (the engine's folder rules), or None;
* :func:`offer_subfolder` — "save into a new folder inside it instead?" when results were refused a folder of
  the user's own files.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import QMessageBox, QWidget


def pictures_folder() -> Path:
    """The user's pictures folder (or home): where saved faces and sets go unless the user chose before."""
    loc = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)
    p = Path(loc) if loc else Path.home()
    return p if p.is_dir() else Path.home()


def unique_child(parent: Path, name: str) -> Path:
    """``parent/name``, or ``parent/name-2`` … when that exists already."""
    cand, k = parent / name, 2
    while cand.exists():
        cand, k = parent / f"{name}-{k}", k + 1
    return cand


def inspect_folder_quietly(folder: Path):
    """What ``folder`` holds (engine.output_folders.inspect_folder), or None when it cannot be read."""
    from engine.errors import EngineError
    from engine.output_folders import inspect_folder

    try:
        return inspect_folder(folder) if Path(folder).is_dir() else None
    except (EngineError, OSError):
        return None


def offer_subfolder(parent: QWidget, title: str, problem: str, sub: Path) -> Optional[Path]:
    """Results refused a folder of the user's own files: ask to save into the new folder ``sub`` inside it
    instead; ``sub``, or None (and "not saved" in the window's status bar) when the user declines."""
    ans = QMessageBox.question(parent, title, f"{problem}\n\nSave into a new folder inside it instead?\n{sub}",
                               QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                               QMessageBox.StandardButton.Yes)
    if ans != QMessageBox.StandardButton.Yes:
        window = parent.window()
        if hasattr(window, "statusBar"):
            window.statusBar().showMessage("not saved", 5000)
        return None
    return sub
