"""Edit: faces of a folder moved along an attribute direction, written as edit strips."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

from .. import __version__
from ..errors import DataError
from ..progress import CancelToken, ProgressCallback, no_progress

#: Faces edited when the caller does not say.
DEFAULT_FACES = 8


def _edit_params():
    from ..attributes import EDIT_METHODS
    from ..params import Param

    return (
        Param("model", str, None, "", kind="path"),
        Param("data", str, None, f"folder of face images (the first {DEFAULT_FACES} by name are edited unless told)",
              kind="path"),
        Param("set", str, None, "an image set written by generate (instead of a folder of images): every face is "
              "moved by one amount and written as a new image set", metavar="FOLDER", kind="path"),
        Param("attribute", str, None, "attribute name from the model's labels.csv, e.g. Smiling"),
        Param("axis", str, None, "with a set: move along this axis of the cloud (amount in σ along it)",
              metavar="PC1|z12", kind="text"),
        Param("direction", str, None, "a saved direction set (instead of an attribute)", metavar="FILE", kind="path"),
        Param("index", int, 1, "with a direction set: which direction (the table's #, from 1)", minimum=1),
        Param("force", bool, False, "with a direction set: use a set saved for another model anyway"),
        Param("amount", str, "-2:2:5", "START:STOP:COUNT or a list -1,0,1 (1 = the gap between the class means)",
              kind="text"),
        Param("out", str, None, "", kind="path", required=True),
        Param("n", int, None, f"faces to edit (default {DEFAULT_FACES})", minimum=1),
        Param("method", str, None, "direction: linear probe (the default: same effect, less collateral change — "
              "measured) or difference of class means", choices=EDIT_METHODS),
        Param("overwrite", bool, False, "replace edit strips already in the output folder"),
    )


#: The edit use case's options, declared once (the CLI's flags are built from them).
EDIT_PARAMS = _edit_params()


@dataclass
class EditedFaces:
    folder: Path
    names: list[str]
    amounts: list[float]
    method: str
    skipped: list[tuple[str, str]] = field(default_factory=list)


def edit_folder(model_folder: str | os.PathLike, data: str | os.PathLike, attribute: Optional[str],
                amounts: Sequence[float], out: str | os.PathLike, *, n: Optional[int] = None,
                method: Optional[str] = None, direction_file: Optional[str | os.PathLike] = None, index: int = 1,
                force: bool = False, overwrite: bool = False, progress: ProgressCallback = no_progress,
                cancel: Optional[CancelToken] = None) -> EditedFaces:
    """The first ``n`` faces of ``data`` (by name), each decoded after moving by every amount along the
    attribute's direction (amount 1 = the gap between the class means) — or along direction ``index`` of a
    saved direction set (``direction_file``; amounts in σ of the cloud) — as strips in ``out``."""
    from ..attributes import DEFAULT_EDIT_METHOD, attribute_direction, require_labels
    from ..editing import edit_strips, write_edit_strips
    from ..image_data import image_folder_listing, load_files
    from ..output_folders import check_output_folder
    from .open_model import open_model

    inputs = [data, model_folder]
    check_output_folder(out, inputs=inputs, overwrite=overwrite, kind="edit-strips")  # before any work
    opened = open_model(model_folder, labels=False)
    z_all = opened.require_latents()
    if direction_file is not None:
        from ..lab import direction_for_edit, edit_params

        direction = direction_for_edit(direction_file, index, model_id=opened.model_id, z_dim=opened.z_dim,
                                       force=force, z=z_all)
        described = edit_params(direction, direction_file, index)
        method = "saved direction"
    else:
        table = require_labels(opened.folder, opened.latent_files)
        method = method or DEFAULT_EDIT_METHOD
        direction = attribute_direction(z_all, table, attribute, method)
        described = {
            "attribute": attribute, "method": method,
            "amount_unit": "class-mean gaps along the direction (1 = from the mean without to the mean with the "
                           "attribute)",
            "step": float(direction.step), "n_present": direction.n_present, "n_absent": direction.n_absent,
        }
    folder, paths, _ = image_folder_listing(data)
    images, names, skipped = load_files(paths[: n or DEFAULT_FACES], opened.codec.preprocess)
    if not len(images):
        raise DataError(f"{folder}: none of the first {len(paths[: n or DEFAULT_FACES])} images could be read")
    z = opened.codec.encode(images, cancel=cancel)
    strips = edit_strips(opened.codec, z, direction, amounts, cancel=cancel)
    params = {
        "command": "edit", **described, "amounts": [float(x) for x in amounts],
        "columns": ["original"] + [f"{x:g}" for x in amounts], "data": str(folder),
        "model_id": opened.model_id, "model_folder": str(model_folder), "app_version": __version__,
    }
    out_folder = write_edit_strips(out, names, strips, images, params, overwrite=overwrite, inputs=inputs)
    return EditedFaces(out_folder, list(names), [float(x) for x in amounts], method, list(skipped))
