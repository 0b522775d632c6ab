"""Reconstruction sets (``python main.py reconstruct``): each image through the autoencoder.

A set is a folder: ``<stem>.png`` per image (its reconstruction; ``face.jpg`` and ``face.png`` get
distinct names), ``grid.png`` (up to 16 originals above their reconstructions) and ``params.json``
(model id, data folder, the source file of every output, the MSE) — written by the rules of
:mod:`engine.output_folders`: never into the data folder, never over a file we did not write.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from . import atomic_io, output_folders
from .image_sets import make_grid

GRID = "grid.png"
PARAMS = "params.json"


def write_reconstructions(folder: str | os.PathLike, names: Sequence[str], originals: np.ndarray,
                          recon: np.ndarray, params: dict, *, overwrite: bool = False, inputs=()) -> Path:
    def fill(stage: Path) -> dict:
        out_files = output_folders.unique_file_names((Path(n).stem for n in names), reserved=(GRID, PARAMS))
        for fname, img in zip(out_files, recon):
            atomic_io.write_staged(stage / fname, atomic_io.png_bytes(img))
        k = min(len(recon), 16)
        grid = np.concatenate([make_grid(originals[:k], columns=k), make_grid(recon[:k], columns=k)], axis=0)
        atomic_io.save_png(stage / GRID, grid)
        return {**params, "command": "reconstruct", "files": out_files, "sources": list(names)}

    return output_folders.write_owned_set(folder, "reconstructions", fill, overwrite=overwrite, inputs=inputs)
