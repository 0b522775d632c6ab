"""The image-set format shared by ``main.py generate`` and the GUI's "save image set".

A set is a folder: ``0000.png …`` (one per z-vector), ``grid.png``, ``z.npy`` (N×z_dim float32) and
``params.json`` (sampler, parameters, seed, model id, app version, …) — enough to regenerate it
exactly. A folder that already holds a set is never overwritten unless asked.

Nothing is lost on a failed save: the files are first written into a hidden staging folder inside
the target, and only when every one is complete are they renamed into place (renames on one file
system need no space), ``params.json`` last; files of the previous set that the new one lacks are
removed after. A full disk or a crash while writing leaves the previous set exactly as it was. The
move is done under a lock file, and the "already holds a set" check is repeated under it, so two
saves racing into one folder never mix their files: the second one is refused (or, with
``overwrite``, replaces the first whole).
"""
from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import numpy as np

from . import __version__, atomic_io
from .errors import EngineError

PARAMS = "params.json"
Z = "z.npy"
GRID = "grid.png"


def make_grid(images: np.ndarray, columns: Optional[int] = None, pad: int = 2, background: int = 255) -> np.ndarray:
    """Tile N×H×W×3 uint8 images into one uint8 picture (``columns`` default: about square)."""
    n = len(images)
    if n == 0:
        return np.full((8, 8, 3), background, np.uint8)
    h, w = images.shape[1:3]
    cols = columns or int(math.ceil(math.sqrt(n)))
    cols = max(1, min(cols, n))
    rows = int(math.ceil(n / cols))
    grid = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, 3), background, np.uint8)
    for i, img in enumerate(images):
        r, c = divmod(i, cols)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        grid[y : y + h, x : x + w] = img
    return grid


def holds_image_set(folder: Path) -> bool:
    folder = Path(folder)
    return (folder / PARAMS).exists() or (folder / Z).exists() or (folder / GRID).exists() or (folder / "0000.png").exists()


def write_image_set(
    folder: str | os.PathLike,
    z: np.ndarray,
    params: dict,
    images: Optional[np.ndarray] = None,
    *,
    overwrite: bool = False,
    grid_columns: Optional[int] = None,
) -> Path:
    """Write a set; ``images=None`` writes only ``z.npy`` and ``params.json`` (``--z-only``).

    ``images`` is an N×S×S×3 uint8 array or an iterable of such batches (e.g. decoded lazily, so
    a set of any size is written in bounded memory); there must be one image per z-vector.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise EngineError(f"{folder}: exists and is not a folder")
    if holds_image_set(folder) and not overwrite:
        raise EngineError(f"{folder}: already holds an image set; choose another folder or allow overwriting (--overwrite)")
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_stages(folder)
    stage = None
    try:
        stage = Path(tempfile.mkdtemp(prefix=STAGE_PREFIX, dir=folder))
        atomic_io.FolderLock(stage, STAGE_OWNER).acquire()  # marks the stage as this live process's
        _write_files(stage, z, params, images, grid_columns)
        atomic_io.sync_staged(sorted(stage.glob("*.png")))  # the faces were written without an fsync each
        with _folder_lock(folder):
            if not overwrite and holds_image_set(folder):
                raise EngineError(f"{folder}: another save wrote an image set here first; nothing was overwritten")
            new_names = sorted(p.name for p in stage.iterdir() if p.name != PARAMS and not p.name.startswith("."))
            old = [p for p in _set_files(folder) if p.name not in new_names and p.name != PARAMS]
            if (folder / PARAMS).exists():
                (folder / PARAMS).unlink()  # no complete set until the new params.json lands
            for name in new_names:
                os.replace(stage / name, folder / name)
            os.replace(stage / PARAMS, folder / PARAMS)
            for p in old:
                try:
                    p.unlink()
                except OSError:
                    pass
    except BaseException:
        if stage is not None:
            shutil.rmtree(stage, ignore_errors=True)
        if created:
            try:
                folder.rmdir()  # only if nothing else is in it
            except OSError:
                pass
        raise
    shutil.rmtree(stage, ignore_errors=True)
    return folder


STAGE_PREFIX = ".saving-"
STAGE_OWNER = ".owner"


def _remove_abandoned_stages(folder: Path) -> None:
    """Delete staging folders whose save died (kill -9, power loss) — never a live save's."""
    for d in folder.glob(STAGE_PREFIX + "*"):
        if d.is_dir() and not d.is_symlink() and atomic_io.FolderLock(d, STAGE_OWNER).is_stale():
            shutil.rmtree(d, ignore_errors=True)

#: grid.png shows at most this many faces (32×32 tiles), so a huge set never needs a huge picture.
GRID_MAX = 1024
LOCK = ".image-set.lock"


@contextmanager
def _folder_lock(folder: Path, wait_s: float = 30.0) -> Iterator[None]:
    """The lock of the short move phase; another save waits for it (a dead holder's is taken over)."""
    lock = atomic_io.FolderLock(folder, LOCK)
    try:
        lock.acquire(wait_s)
    except atomic_io.FolderBusy as exc:
        raise EngineError(f"{folder}: another save into this folder is in progress ({exc.holder}, lock {LOCK})") from None
    try:
        yield
    finally:
        lock.release()


def _write_files(folder: Path, z, params: dict, images, grid_columns) -> None:
    z = np.asarray(z, dtype=np.float32)
    meta = dict(params)
    meta.setdefault("app_version", __version__)
    meta["n"] = int(len(z))
    meta["z_dim"] = int(z.shape[1]) if z.ndim == 2 else None
    atomic_io.save_npy(folder / Z, z)
    if images is not None:
        n = len(z)
        width = max(4, len(str(max(0, n - 1))))
        batches = [images] if isinstance(images, np.ndarray) else images
        first: list[np.ndarray] = []  # the grid's faces: at most GRID_MAX
        i = 0
        for batch in batches:  # an array, or batches decoded one at a time: memory stays bounded
            for img in batch:
                if i >= n:
                    raise EngineError(f"more images than the {n} z-vectors of this set")
                atomic_io.write_staged(folder / f"{i:0{width}d}.png", atomic_io.png_bytes(img))
                if i < GRID_MAX:
                    first.append(np.asarray(img))
                i += 1
        if i != n:
            raise EngineError(f"{i} images for {n} z-vectors")
        grid_images = np.stack(first) if first else np.empty((0, 1, 1, 3), np.uint8)
        atomic_io.save_png(folder / GRID, make_grid(grid_images, grid_columns))
        meta["files"] = [f"{i:0{width}d}.png" for i in range(n)]
        if n > GRID_MAX:
            meta["grid"] = f"the first {GRID_MAX} faces"
    atomic_io.write_json(folder / PARAMS, meta)


def _set_files(folder: Path) -> list[Path]:
    """The files of the set in ``folder`` (listed in its params.json, or named like one)."""
    names = {PARAMS, Z, GRID}
    try:
        meta = json.loads((folder / PARAMS).read_text("utf-8"))
        names.update(str(f) for f in meta.get("files", []) if "/" not in str(f) and "\\" not in str(f))
    except (OSError, ValueError, AttributeError):
        pass
    names.update(p.name for p in folder.glob("[0-9][0-9][0-9][0-9]*.png"))
    return [folder / n for n in names if (folder / n).is_file()]


def read_params(folder: str | os.PathLike) -> dict:
    path = Path(folder) / PARAMS
    try:
        return json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise EngineError(f"{path}: missing — not an image set") from None
    except ValueError as exc:
        raise EngineError(f"{path}: not valid JSON ({exc})") from None
