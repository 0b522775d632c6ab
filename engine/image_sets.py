"""The image-set format shared by ``main.py generate`` and the GUI's "save image set".

A set is a folder: ``0000.png …`` (one per z-vector), ``grid.png``, ``z.npy`` (N×z_dim float32) and
``params.json`` (sampler, parameters, seed, model id, app version, …) — enough to regenerate it
exactly. A folder that already holds a set is never overwritten unless asked; every file is
written atomically, and ``params.json`` last, so a failed save never passes for a complete one.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Optional

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
    """Write a set; ``images=None`` writes only ``z.npy`` and ``params.json`` (``--z-only``)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise EngineError(f"{folder}: exists and is not a folder")
    if holds_image_set(folder) and not overwrite:
        raise EngineError(f"{folder}: already holds an image set; choose another folder or allow overwriting (--overwrite)")
    folder.mkdir(parents=True, exist_ok=True)
    if overwrite and (folder / PARAMS).exists():
        (folder / PARAMS).unlink()  # the set is incomplete until params.json is rewritten last
    z = np.asarray(z, dtype=np.float32)
    meta = dict(params)
    meta.setdefault("app_version", __version__)
    meta["n"] = int(len(z))
    meta["z_dim"] = int(z.shape[1]) if z.ndim == 2 else None
    atomic_io.save_npy(folder / Z, z)
    if images is not None:
        width = max(4, len(str(max(0, len(images) - 1))))
        for i, img in enumerate(images):
            atomic_io.save_png(folder / f"{i:0{width}d}.png", img)
        atomic_io.save_png(folder / GRID, make_grid(images, grid_columns))
        meta["files"] = [f"{i:0{width}d}.png" for i in range(len(images))]
    atomic_io.write_json(folder / PARAMS, meta)
    return folder


def read_params(folder: str | os.PathLike) -> dict:
    path = Path(folder) / PARAMS
    try:
        return json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise EngineError(f"{path}: missing — not an image set") from None
    except ValueError as exc:
        raise EngineError(f"{path}: not valid JSON ({exc})") from None
