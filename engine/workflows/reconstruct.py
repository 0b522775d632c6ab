"""Reconstruct: a folder of faces through the autoencoder, written as a reconstruction set."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from .. import __version__
from ..progress import CancelToken, ProgressCallback, no_progress


def _reconstruct_params():
    from ..params import Param

    return (
        Param("model", str, None, "", kind="path"),
        Param("data", str, None, "", kind="path", required=True),
        Param("out", str, None, "", kind="path", required=True),
        Param("n", int, None, "only the first N images", minimum=1),
        Param("overwrite", bool, False, "replace reconstructions written earlier into the output folder"),
    )


#: The reconstruct use case's options, declared once (the CLI's flags are built from them).
RECONSTRUCT_PARAMS = _reconstruct_params()


@dataclass
class Reconstructed:
    folder: Path
    n: int
    mse: float
    data_summary: str


def reconstruct_folder(model_folder: str | os.PathLike, data: str | os.PathLike, out: str | os.PathLike, *,
                       n: Optional[int] = None, overwrite: bool = False, progress: ProgressCallback = no_progress,
                       cancel: Optional[CancelToken] = None) -> Reconstructed:
    """The first ``n`` images of ``data`` (all by default), reconstructed, into the set ``out``
    (refused before any work if ``out`` may not be written: engine/output_folders.py)."""
    from ..encoding import mse
    from ..image_data import load_folder
    from ..formats import open_model
    from ..output_folders import check_output_folder
    from ..reconstructions import write_reconstructions

    inputs = [data, model_folder]
    check_output_folder(out, inputs=inputs, overwrite=overwrite, kind="reconstructions")
    codec = open_model(model_folder)
    faces = load_folder(data, codec.preprocess, progress=progress)
    k = len(faces) if n is None else max(0, min(n, len(faces)))
    images = np.asarray(faces.images[:k])
    recon = codec.reconstruct(images, cancel=cancel)
    err = mse(images, recon)
    params = {"model_id": codec.model_id, "model_folder": str(model_folder), "data": str(data), "n": k,
              "mse": err, "app_version": __version__}
    folder = write_reconstructions(out, faces.files[:k], images, recon, params, overwrite=overwrite, inputs=inputs)
    return Reconstructed(folder, k, err, faces.summary())
