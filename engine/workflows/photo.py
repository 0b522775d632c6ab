"""The photo use case: your own photos framed like the training faces, encoded, placed in the cloud, written.

One workflow for both fronts (the CLI's ``photo``, the GUI's File ▸ Open photo… and Save photo results):

* :func:`place_photos` frames, encodes and places photos on an opened model (nothing written; every face found
  is kept on the result, for the GUI's choice among them — the faces are detected once);
* :func:`save_photos` writes ``OUT/<stem>/`` per photo with the one ``photo.json`` schema (:func:`photo_record`),
  never inside an input folder (the model's, a photo's);
* :func:`photos_to_folder` is the two in one, the output checked before any work (the CLI).

Old ``photo.json`` files (the GUI wrote ``model`` for the model folder) are read by :func:`read_photo_json`.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Sequence

import numpy as np

from .. import __version__
from ..attributes import DEFAULT_EDIT_METHOD, EDIT_METHODS
from ..params import Param
from ..progress import CancelToken, ProgressCallback, no_progress

if TYPE_CHECKING:  # the framing modules load when a run starts, not when the CLI builds its parser
    from ..photo import PhotoResult

DEFAULT_AMOUNTS = "-2:2:5"

#: The photo use case's options, declared once (the CLI's flags are built from them).
PHOTO_PARAMS: tuple[Param, ...] = (
    Param("photo", str, None, "a photo (repeat for several)", kind="path", required=True, metavar="FILE",
          repeat=True),
    Param("model", str, None, "", kind="path"),
    Param("out", str, None, "", kind="path", required=True),
    Param("face", int, None, "which face when several are found (0 = the first: eyes found, largest)", minimum=0),
    Param("no_detect", bool, False, "no face detection: frame the photo's centre square"),
    Param("attribute", str, None, "also write an edit strip along this attribute (e.g. Smiling)"),
    Param("amount", str, None, f"edit amounts START:STOP:COUNT (default {DEFAULT_AMOUNTS})", kind="text"),
    Param("method", str, None, "", choices=tuple(sorted(EDIT_METHODS, key=lambda m: m != DEFAULT_EDIT_METHOD))),
    Param("overwrite", bool, False, "replace photo results already in the output folder"),
)


@dataclass
class PhotoOptions:
    """How photos are framed, and the optional edit strip (``amounts``: the edit's amounts, None: no strip)."""

    no_detect: bool = False
    face: Optional[int] = None
    attribute: Optional[str] = None
    amounts: Optional[Sequence[float]] = None
    method: Optional[str] = None


@dataclass
class PhotoRun:
    """What :func:`photos_to_folder` did: the placed photos and the folder written for each."""

    results: list  # engine.photo.PhotoResult each
    folders: list[Path] = field(default_factory=list)


def photo_record(opened, edited_z: Optional[np.ndarray] = None) -> dict:
    """The fields every ``photo.json`` (and its set's manifest) holds beside the photo's own: the one schema."""
    params = {"model_id": opened.model_id, "model_folder": str(opened.folder), "app_version": __version__}
    if edited_z is not None:
        params["edited_z"] = [round(float(v), 6) for v in np.asarray(edited_z).reshape(-1)]
        params["edited_note"] = "the face inspector's edit of z (decode it with the model to see it)"
    return params


def read_photo_json(path: str | os.PathLike) -> dict:
    """A ``photo.json`` as written now; an old one's ``model`` (the GUI's name for the folder) as ``model_folder``."""
    record = json.loads(Path(path).read_text("utf-8"))
    if "model_folder" not in record and "model" in record:
        record["model_folder"] = record.pop("model")
    return record


def photo_inputs(model_folder, photos: Sequence) -> list:
    """The folders nothing may be written into: the model's and each photo's own folder."""
    return [model_folder, *photos]


def place_photos(opened, photos: Sequence[str | os.PathLike], options: Optional[PhotoOptions] = None, *,
                 keep_photo: bool = False, progress: Optional[ProgressCallback] = None,
                 cancel: Optional[CancelToken] = None) -> list[PhotoResult]:
    """Frame, encode and place each photo in the opened model's cloud (its latents); nothing is written."""
    from ..photo import frame_and_encode_photos

    options = options or PhotoOptions()
    return frame_and_encode_photos(opened.codec, opened.config, opened.require_latents(), opened.latent_files,
                                   photos, stats=opened.stats, keep_photo=keep_photo, model_dir=opened.folder,
                                   no_detect=options.no_detect, face_index=options.face,
                                   progress=progress or no_progress, cancel=cancel)


def _direction(opened, options: PhotoOptions):
    if not options.attribute:
        return None
    from ..attributes import attribute_direction, require_labels

    table = opened.labels if opened.labels is not None else require_labels(opened.folder, opened.latent_files)
    return attribute_direction(opened.require_latents(), table, options.attribute,
                               options.method or DEFAULT_EDIT_METHOD)


def check_photos_output(model_folder, out, photos: Sequence, *, overwrite: bool = False) -> Path:
    """Refuse, before any work (before the model is opened, even), an output folder the results of ``photos``
    from the model in ``model_folder`` cannot go to."""
    from ..photo import check_photo_output, stems_for

    return check_photo_output(out, stems_for(photos), inputs=photo_inputs(model_folder, photos), overwrite=overwrite)


def save_photos(opened, out, results: Sequence[PhotoResult], options: Optional[PhotoOptions] = None, *,
                edited_z: Optional[np.ndarray] = None, overwrite: bool = False,
                cancel: Optional[CancelToken] = None) -> list[Path]:
    """Write ``out/<stem>/`` per placed photo (engine.photo's files; an edit strip when ``options.attribute``)."""
    options = options or PhotoOptions()
    return _write(opened, out, results, options, _direction(opened, options), edited_z, overwrite, cancel)


def _write(opened, out, results, options: PhotoOptions, direction, edited_z, overwrite, cancel) -> list[Path]:
    from ..photo import write_photo_results

    amounts = options.amounts
    if direction is not None and amounts is None:
        from ..editing import parse_amounts

        amounts = parse_amounts(DEFAULT_AMOUNTS)
    return write_photo_results(out, results, model=opened.codec, direction=direction,
                               attribute=options.attribute, amounts=amounts,
                               params=photo_record(opened, edited_z), overwrite=overwrite,
                               inputs=photo_inputs(opened.folder, [r.source for r in results]), cancel=cancel)


def photos_to_folder(opened, photos: Sequence[str | os.PathLike], out, options: Optional[PhotoOptions] = None, *,
                     overwrite: bool = False, progress: Optional[ProgressCallback] = None,
                     cancel: Optional[CancelToken] = None) -> PhotoRun:
    """Place the photos and write their results to ``out`` (checked first, before any work)."""
    options = options or PhotoOptions()
    check_photos_output(opened.folder, out, photos, overwrite=overwrite)
    direction = _direction(opened, options)  # unknown attribute, no labels: refused before the photos are framed
    results = place_photos(opened, photos, options, progress=progress, cancel=cancel)
    folders = _write(opened, out, results, options, direction, None, overwrite, cancel)
    return PhotoRun(results, folders)


__all__ = ["PHOTO_PARAMS", "PhotoOptions", "PhotoRun", "check_photos_output", "photo_record",
           "photos_to_folder", "place_photos", "read_photo_json", "save_photos"]
