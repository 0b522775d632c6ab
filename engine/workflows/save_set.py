"""Saving a generated set: the one use case behind the CLI's ``generate`` (its writing) and the GUI's Save image set.

The folder rules are the same for both: new, empty or a set we wrote (replaced only with ``overwrite``), never
among the user's own files, never inside the model's folder (:func:`check_set_folder`, before any work). The set
is written in the CLI format (``z.npy``, ``params.json``, one PNG per face, ``grid.png``: :mod:`engine.image_sets`); a
selection of rows is saved with its row numbers in ``params.json`` (``selection``), so it can be regenerated.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional, Sequence, Union

import numpy as np

from ..image_sets import write_image_set
from ..output_folders import FolderState, check_output_folder


@dataclass
class SavedSet:
    folder: Path
    count: int  # faces (z-vectors) written


def check_set_folder(folder: str | os.PathLike, model_folder, *, overwrite: bool = False,
                     label: str = "out") -> FolderState:
    """Refuse, before any work, a folder a set from the model in ``model_folder`` may not be written to; the
    folder's state (``ours``: it holds a set we wrote, replaced only with ``overwrite``)."""
    return check_output_folder(folder, inputs=[model_folder], overwrite=overwrite, label=label)


def save_set(folder: str | os.PathLike, model_folder, z: np.ndarray, params: dict,
             images: Union[np.ndarray, Iterable[np.ndarray], None] = None, *, rows: Optional[Sequence[int]] = None,
             overwrite: bool = False, grid_columns: Optional[int] = None) -> SavedSet:
    """Write ``z`` (and ``images``: an array, decoded batches, or None for z only) as an image set of the model
    in ``model_folder``; ``rows``: only these rows of an array set (a selection), recorded in ``params.json``."""
    params = dict(params)
    z = np.asarray(z, np.float32)
    if rows is not None:
        rows = [int(r) for r in rows]
        z = z[rows]
        images = None if images is None else np.asarray(images)[rows]
        params["selection"] = rows  # regenerate: the full set for seed/n, then these rows
    written = write_image_set(folder, z, params, images, overwrite=overwrite, grid_columns=grid_columns,
                              inputs=[model_folder])
    return SavedSet(Path(written), len(z))
