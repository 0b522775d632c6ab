"""Saving an image set from the window without ever damaging what was there (no Qt here).

The set is written by ``engine.image_sets.write_image_set`` (the CLI ``generate`` format) into a
hidden staging folder inside the target; only when every file is complete are the files renamed
into place (same file system: renames need no space), ``params.json`` last, and files of the
previous set that the new one does not have are removed. A failure while writing (permissions, a
full disk) removes the staging folder and leaves the previous set exactly as it was.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Optional

import numpy as np

from engine.errors import EngineError
from engine.image_sets import GRID, PARAMS, Z, holds_image_set, write_image_set


def _old_set_files(folder: Path) -> list[Path]:
    names = {PARAMS, Z, GRID}
    try:
        meta = json.loads((folder / PARAMS).read_text("utf-8"))
        names.update(str(f) for f in meta.get("files", []) if "/" not in str(f) and "\\" not in str(f))
    except (OSError, ValueError, AttributeError):
        pass
    names.update(p.name for p in folder.glob("[0-9][0-9][0-9][0-9]*.png"))
    return [folder / n for n in names if (folder / n).is_file()]


def save_image_set(folder: str | os.PathLike, z: np.ndarray, params: dict, images: Optional[np.ndarray], *,
                   overwrite: bool = False, grid_columns: Optional[int] = None) -> Path:
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise EngineError(f"{folder}: exists and is not a folder")
    had_set = holds_image_set(folder)
    if had_set and not overwrite:
        raise EngineError(f"{folder}: already holds an image set; choose another folder or allow overwriting")
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".saving-", dir=folder))
    try:
        write_image_set(stage, z, params, images, grid_columns=grid_columns)
        new_names = sorted(p.name for p in stage.iterdir() if p.name != PARAMS)
        old = [p for p in _old_set_files(folder) if p.name not in new_names and p.name != PARAMS] if had_set else []
        if had_set and (folder / PARAMS).exists():
            (folder / PARAMS).unlink()  # the folder is no complete set until the new params.json lands
        for name in new_names:
            os.replace(stage / name, folder / name)
        os.replace(stage / PARAMS, folder / PARAMS)
        for p in old:
            try:
                p.unlink()
            except OSError:
                pass
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        if created:
            try:
                folder.rmdir()
            except OSError:
                pass
        raise
    shutil.rmtree(stage, ignore_errors=True)
    return folder
