"""The image-set format shared by ``main.py generate`` and the GUI's "save image set".

A set is a folder: ``0000.png …`` (one per z-vector), ``grid.png``, ``z.npy`` (N×z_dim float32) and
``params.json`` (sampler, parameters, seed, model id, app version, …) — enough to regenerate it
exactly; ``params.json`` also lists every file of the set (``set_files``), so the app can tell its
own files from a user's.

Where a set may be written, and how it is staged and moved into place so that a full disk, a crash
or a race between two saves never loses or mixes files, is :mod:`engine.output_folders`.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Optional

import numpy as np

from . import __version__, atomic_io, output_folders
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
    """True when ``folder`` holds an image set (or another set) that Latent Face Studio wrote."""
    return output_folders.inspect_folder(folder).ours


def write_image_set(
    folder: str | os.PathLike,
    z: np.ndarray,
    params: dict,
    images: Optional[np.ndarray] = None,
    *,
    overwrite: bool = False,
    grid_columns: Optional[int] = None,
    inputs=(),
) -> Path:
    """Write a set; ``images=None`` writes only ``z.npy`` and ``params.json`` (``--z-only``).

    ``images`` is an N×S×S×3 uint8 array or an iterable of such batches (e.g. decoded lazily, so
    a set of any size is written in bounded memory); there must be one image per z-vector. The
    folder rules (new, empty or a set we wrote; never inside ``inputs``) are those of
    :mod:`engine.output_folders`.
    """
    return output_folders.write_owned_set(
        folder, "image-set", lambda stage: _write_files(stage, z, params, images, grid_columns),
        overwrite=overwrite, inputs=inputs,
    )


#: grid.png shows at most this many faces (32×32 tiles), so a huge set never needs a huge picture.
GRID_MAX = 1024


def _write_files(folder: Path, z, params: dict, images, grid_columns) -> dict:
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
    return meta


def read_params(folder: str | os.PathLike) -> dict:
    from .image_data import read_regular_file

    path = Path(folder) / PARAMS
    if not path.exists():
        raise EngineError(f"{path}: missing — not an image set")
    try:  # a regular file of sane size: a FIFO or a device named params.json never blocks or fills memory
        return json.loads(read_regular_file(path, "image-set params.json", limit=64 * 2**20, error=EngineError))
    except (ValueError, RecursionError) as exc:
        raise EngineError(f"{path}: not valid JSON ({exc})") from None
