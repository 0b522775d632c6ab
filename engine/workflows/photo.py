"""The photo use case: your own photos framed like the training faces, encoded, placed in the cloud, written.

One workflow for both fronts (the CLI's ``photo``, the GUI's File ▸ Open photo… and Save photo results):

* :func:`place_photos` frames, encodes and places photos on an opened model (nothing written; every face found
  is kept on the result, for the GUI's choice among them — the faces are detected once);
* :func:`save_photos` writes ``OUT/<stem>/`` per photo with the one ``photo.json`` schema (:func:`photo_record`),
  never inside an input folder (the model's, a photo's);
* :func:`photos_to_folder` is the two in one, the output checked before any work (the CLI). A batch never fails
  whole: every face found is written, and each photo missed (no face, unreadable, refused) is listed with the
  engine's reason on the run (:class:`PhotoMiss`) and in ``OUT/photos.json`` (:func:`batch_record`);
* :func:`photo_files` reads the inputs: a photo file as given, a folder as its image files (sorted, not recursive,
  read as untrusted input: regular files only, no link out of it; other entries listed as skipped).

``PhotoOptions.face = "all"`` places every face found in a photo (a group photo), each in ``OUT/<stem>-face<K>/``.
``PhotoOptions.put_back`` also writes ``OUT/<stem>/put-back.png``: the photo at its own size with the reconstruction
put back, or (``put_back_amount``) the edit along the attribute added to the photo's own face
(:func:`engine.photo.put_back_photo`).

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
from ..errors import DataError, EngineError
from ..params import Param
from ..photo import DEFAULT_DETECTOR, DETECTORS
from ..progress import CancelToken, ProgressCallback, no_progress

if TYPE_CHECKING:  # the framing modules load when a run starts, not when the CLI builds its parser
    from ..photo import PhotoResult

DEFAULT_AMOUNTS = "-2:2:5"

#: The photo use case's options, declared once (the CLI's flags are built from them).
PHOTO_PARAMS: tuple[Param, ...] = (
    Param("photo", str, None, "a photo, or a folder of photos (its image files; repeat for several)", kind="path",
          required=True, metavar="FILE|FOLDER", repeat=True),
    Param("model", str, None, "", kind="path"),
    Param("out", str, None, "", kind="path", required=True),
    Param("face", str, None, "which face when several are found (0 = the first: eyes found, largest), or all: "
          "every face, each written as <name>-face<K>", kind="text", metavar="K|all"),
    Param("no_detect", bool, False, "no face detection: frame the photo's centre square"),
    Param("detector", str, DEFAULT_DETECTOR, "the face detector: mtcnn (five landmarks) or haar (OpenCV's Haar "
          "cascades, an optional extra kept for comparison)", choices=DETECTORS),
    Param("attribute", str, None, "also write an edit strip along this attribute (e.g. Smiling)"),
    Param("amount", str, None, f"edit amounts START:STOP:COUNT (default {DEFAULT_AMOUNTS})", kind="text"),
    Param("method", str, None, "", choices=tuple(sorted(EDIT_METHODS, key=lambda m: m != DEFAULT_EDIT_METHOD))),
    Param("put_back", bool, False, "also write put-back.png: the photo at its own size with the model's face put "
          "back in, feathered (the reconstruction; edited when an amount to put back is given)"),
    Param("put_back_amount", float, None, "put back the face moved by this amount along the attribute (e.g. 1.5): "
          "the edit's change is added to the photo's own face, whose detail stays", metavar="AMOUNT"),
    Param("put_back_whole", bool, False, "put back the whole decoded edited face instead of only the edit's change"),
    Param("overwrite", bool, False, "replace photo results already in the output folder"),
)


def parse_face(text) -> Optional[int | str]:
    """The face option as given (``"2"``, ``"all"``, None) → a face index, ``"all"`` (every face) or None."""
    from ..photo import ALL_FACES

    if text is None or isinstance(text, int):
        return text
    value = str(text).strip().lower()
    if value == ALL_FACES:
        return ALL_FACES
    if not value.isdigit():
        raise EngineError(f"{text!r}: a face index is a whole number ≥ 0 (0 = the largest face), or all", param="face")
    return int(value)


@dataclass
class PhotoOptions:
    """How photos are framed (``face``: an index, ``"all"`` for every face, None for the first), the optional
    edit strip (``amounts``: the edit's amounts, None: no strip) and the optional face put back into the photo
    (``put_back``; with ``put_back_amount`` the face edited along the attribute by that amount)."""

    no_detect: bool = False
    detector: Optional[str] = None  # None: the default (engine.photo.DEFAULT_DETECTOR)
    face: Optional[int | str] = None
    attribute: Optional[str] = None
    amounts: Optional[Sequence[float]] = None
    method: Optional[str] = None
    put_back: bool = False
    put_back_amount: Optional[float] = None  # None: the reconstruction is put back; else the edited face
    put_back_whole: bool = False  # the edited decoded face itself, not its change on the photo's face


#: The most entries a photo folder may hold (a folder is listed whole before any work).
MAX_FOLDER_ENTRIES = 100_000


@dataclass
class PhotoMiss:
    """An input that gave no result: ``status`` "missed" (an image tried and refused, or without a face) or
    "skipped" (a folder's entry that is not an image file); ``error`` the engine's typed error."""

    file: str
    status: str
    error: EngineError

    @property
    def reason(self) -> str:
        return str(self.error)


@dataclass
class PhotoInputs:
    """The inputs read (:func:`photo_files`): the photo files to try, in order, and the entries refused or skipped
    while reading the folders."""

    files: list[Path] = field(default_factory=list)
    misses: list[PhotoMiss] = field(default_factory=list)
    order: list[str] = field(default_factory=list)  # every entry read (files, misses), as read

    def sorted(self, misses: Sequence[PhotoMiss]) -> list[PhotoMiss]:
        """``misses`` in the order their inputs were read."""
        rank = {name: i for i, name in enumerate(self.order)}
        return sorted(misses, key=lambda m: rank.get(m.file, len(rank)))


@dataclass
class PhotoRun:
    """What :func:`photos_to_folder` did: the placed photos, the folder written for each, the inputs without a
    result, and the batch summary written (None when nothing was: every photo missed)."""

    results: list  # engine.photo.PhotoResult each
    folders: list[Path] = field(default_factory=list)
    misses: list[PhotoMiss] = field(default_factory=list)
    summary: Optional[Path] = None

    @property
    def missed(self) -> list[PhotoMiss]:
        """The photos tried without a result (a folder's skipped non-images left out)."""
        return [m for m in self.misses if m.status == "missed"]


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


def photo_files(photos: Sequence[str | os.PathLike]) -> PhotoInputs:
    """The photo files of the inputs: a file as given (read when it is tried), a folder as its image files by
    name (see :func:`_folder_photos`). No input at all, or folders without a single image file and nothing else,
    is a :class:`DataError`."""
    found = PhotoInputs()
    for given in photos:
        path = Path(given)
        if path.is_dir():
            files, misses, order = _folder_photos(path)
            found.files += files
            found.misses += misses
            found.order += order
            if not files:
                found.misses.append(PhotoMiss(str(path), "missed",
                                              DataError(f"{path}: no image files (.jpg, .png, …) in this folder",
                                                        path=path)))
        else:
            found.files.append(path)
            found.order.append(str(path))
    if not found.files:
        missed = [m for m in found.misses if m.status == "missed"]
        if not missed:
            raise DataError("{opt:photo}: no photo given")
        if len(missed) == 1:
            raise missed[0].error
        raise DataError(f"no photo to place: {'; '.join(m.reason for m in missed[:3])}"
                        + (f" and {len(missed) - 3} more" if len(missed) > 3 else ""))
    return found


def _folder_photos(folder: Path) -> tuple[list[Path], list[PhotoMiss], list[str]]:
    """A folder's photos, read as untrusted input: its image files by name (not its subfolders'), only regular
    files (after a link, one that stays inside the folder); hidden entries are passed over, other entries listed."""
    from ..image_data import IMAGE_SUFFIXES, LINE_BREAK_REASON, has_line_break, printable_name

    try:
        with os.scandir(folder) as it:
            entries = []
            for entry in it:
                entries.append(entry)
                if len(entries) > MAX_FOLDER_ENTRIES:
                    raise DataError(f"{folder}: more than {MAX_FOLDER_ENTRIES:,} entries; give a smaller folder",
                                    path=folder)
    except OSError as exc:
        raise DataError(f"{folder}: cannot read the folder ({exc.strerror or exc})", path=folder) from None
    root = folder.resolve()
    files, misses, order = [], [], []
    for entry in sorted(entries, key=lambda e: e.name):
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        shown = Path(folder, printable_name(entry.name))
        order.append(str(shown))

        def miss(status: str, why: str, shown=shown, path=path) -> None:
            misses.append(PhotoMiss(str(shown), status, DataError(f"{shown}: {why}", path=path)))

        if has_line_break(entry.name):
            miss("skipped", LINE_BREAK_REASON)
        elif Path(entry.name).suffix.lower() not in IMAGE_SUFFIXES:
            what = "a folder (folders inside are not read)" if _is_dir(entry) else "not an image file by its name"
            miss("skipped", what)
        else:
            problem = _entry_problem(entry, root)
            if problem:
                miss("missed", problem)
            else:
                files.append(path)
    return files, misses, order


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def _entry_problem(entry: os.DirEntry, root: Path) -> Optional[str]:
    """Why a folder's entry named like an image is refused before it is opened, or None."""
    import stat

    try:
        if entry.is_symlink():
            target = Path(entry.path).resolve(strict=True)
            if root not in target.parents:
                return "a link leading out of the folder; refused"
        st = os.stat(entry.path)
    except (OSError, RuntimeError):
        return "a link whose target is missing, or a link loop"
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file (a folder, a device or a pipe); refused"
    return None


def place_photos(opened, photos: Sequence[str | os.PathLike], options: Optional[PhotoOptions] = None, *,
                 keep_photo: bool = False, progress: Optional[ProgressCallback] = None,
                 cancel: Optional[CancelToken] = None, misses: Optional[list] = None) -> list[PhotoResult]:
    """Frame, encode and place each photo in the opened model's cloud (its latents); nothing is written. With
    ``misses`` (a list) a photo that gives no result is added to it (:class:`PhotoMiss`) and the others go on;
    without, its error is raised."""
    from ..photo import frame_and_encode_photos

    def missed(_i, path, error: EngineError) -> None:
        misses.append(PhotoMiss(str(path), "missed", error))

    options = options or PhotoOptions()
    return frame_and_encode_photos(opened.codec, opened.config, opened.require_latents(), opened.latent_files,
                                   photos, stats=opened.stats, keep_photo=keep_photo, model_dir=opened.folder,
                                   no_detect=options.no_detect, face_index=options.face, detector=options.detector,
                                   progress=progress or no_progress, cancel=cancel,
                                   on_miss=None if misses is None else missed)


def _direction(opened, options: PhotoOptions):
    if options.put_back_amount is not None and not options.attribute:
        raise EngineError(": an amount to put back moves the face along an attribute; name it with {opt:attribute}",
                          param="put_back_amount")
    if not options.attribute:
        return None
    from ..attributes import attribute_direction, require_labels

    table = opened.labels if opened.labels is not None else require_labels(opened.folder, opened.latent_files)
    return attribute_direction(opened.require_latents(), table, options.attribute,
                               options.method or DEFAULT_EDIT_METHOD)


def check_photos_output(model_folder, out, photos: Sequence, *, overwrite: bool = False,
                        batch: bool = False) -> Path:
    """Refuse, before any work (before the model is opened, even), an output folder the results of ``photos``
    from the model in ``model_folder`` cannot go to; with ``batch``, ``photos`` may name folders (their photos are
    read) and the batch summary ``photos.json`` must be writable too."""
    from ..output_folders import check_output_file
    from ..photo import BATCH_FILE, BATCH_KIND, check_photo_output, stems_for

    files = photo_files(photos).files if batch else list(photos)
    inputs = photo_inputs(model_folder, [*photos, *files])
    out = check_photo_output(out, stems_for(files), inputs=inputs, overwrite=overwrite)
    if batch:
        check_output_file(out / BATCH_FILE, inputs=inputs, overwrite=overwrite, kind=BATCH_KIND, what="batch summary")
    return out


def save_photos(opened, out, results: Sequence[PhotoResult], options: Optional[PhotoOptions] = None, *,
                edited_z: Optional[np.ndarray] = None, overwrite: bool = False,
                cancel: Optional[CancelToken] = None) -> list[Path]:
    """Write ``out/<stem>/`` per placed photo (engine.photo's files; an edit strip when ``options.attribute``). With
    ``options.put_back`` and ``edited_z`` (one result) the edit from its z to ``edited_z`` is put back into the photo."""
    options = options or PhotoOptions()
    return _write(opened, out, results, options, _direction(opened, options), edited_z, overwrite, cancel)


def _write(opened, out, results, options: PhotoOptions, direction, edited_z, overwrite, cancel,
           inputs=None) -> list[Path]:
    from ..photo import write_photo_results

    amounts = options.amounts
    if direction is not None and amounts is None:
        from ..editing import parse_amounts

        amounts = parse_amounts(DEFAULT_AMOUNTS)
    return write_photo_results(out, results, model=opened.codec, direction=direction,
                               attribute=options.attribute, amounts=amounts,
                               params=photo_record(opened, edited_z), overwrite=overwrite,
                               inputs=inputs or photo_inputs(opened.folder, [r.source for r in results]),
                               cancel=cancel, put_back=options.put_back or options.put_back_amount is not None,
                               put_back_amount=options.put_back_amount, put_back_whole=options.put_back_whole,
                               put_back_z=edited_z if options.put_back_amount is None else None)


def photos_to_folder(opened, photos: Sequence[str | os.PathLike], out, options: Optional[PhotoOptions] = None, *,
                     overwrite: bool = False, progress: Optional[ProgressCallback] = None,
                     cancel: Optional[CancelToken] = None) -> PhotoRun:
    """Place the photos (files, or folders of them) and write each face found to ``out`` (checked first, before
    any work), then the batch summary ``out/photos.json``. A photo missed is listed, never fails the batch; when
    every photo is missed nothing is written (``PhotoRun.summary`` None)."""
    from ..photo import BATCH_FILE

    options = options or PhotoOptions()
    inputs = photo_files(photos)
    out = check_photos_output(opened.folder, out, photos, overwrite=overwrite, batch=True)
    direction = _direction(opened, options)  # unknown attribute, no labels: refused before the photos are framed
    misses = list(inputs.misses)
    results = place_photos(opened, inputs.files, options, progress=progress, cancel=cancel, misses=misses)
    misses = inputs.sorted(misses)
    if not results:
        return PhotoRun([], [], misses)
    folders = _write(opened, out, results, options, direction, None, overwrite, cancel,
                     inputs=photo_inputs(opened.folder, [*photos, *inputs.files]))
    run = PhotoRun(results, folders, misses)
    record = batch_record(opened, inputs, run, options)
    from ..output_folders import writing_owned_file
    from ..photo import BATCH_KIND

    with writing_owned_file(out / BATCH_FILE, BATCH_KIND) as tmp:
        tmp.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", "utf-8")
    run.summary = out / BATCH_FILE
    return run


def put_back_view(opened, result: PhotoResult, edited_z: Optional[np.ndarray] = None, *,
                  max_side: Optional[int] = None, cancel: Optional[CancelToken] = None) -> np.ndarray:
    """The photo with the model's face put back at the photo's own resolution (:func:`engine.photo.put_back_photo`):
    the reconstruction, or with ``edited_z`` (the face inspector's edit of this face) the edit's change added to the
    photo's own face, as Save puts it back. ``max_side``: the picture then reduced (area average) to fit it, for a
    view. The "after" of the photo panel's before/after."""
    from ..photo import put_back_photo

    if edited_z is None:
        picture, _ = put_back_photo(result)
    else:
        from ..encoding import decode_latents

        face = decode_latents(opened.codec, np.asarray(edited_z, np.float32).reshape(1, -1), cancel=cancel)[0]
        picture, _ = put_back_photo(result, face, base=result.reconstruction)
    if cancel is not None:
        cancel.raise_if_cancelled()
    h, w = picture.shape[:2]
    if max_side is not None and max(h, w) > max_side:
        from ..resample import resize_area

        f = max_side / max(h, w)
        picture = resize_area(picture, (max(1, round(w * f)), max(1, round(h * f))))
    return picture


def batch_record(opened, inputs: PhotoInputs, run: PhotoRun, options: Optional[PhotoOptions] = None) -> dict:
    """``photos.json``: each input (in the order read) with its status (found, missed, skipped), the engine's
    reason for a miss, and the folder written for a face found (a row per face when every face was placed)."""
    written: dict[str, list[tuple]] = {}
    for r, folder in zip(run.results, run.folders):
        written.setdefault(r.source, []).append((r, folder))
    missed: dict[str, list[PhotoMiss]] = {}
    for m in run.misses:
        missed.setdefault(m.file, []).append(m)
    rows = []
    for key in inputs.order:  # a photo given twice is listed twice
        if written.get(key):  # every face of a photo placed whole (all faces) at once
            several = len({r.face_index for r, _ in written[key]}) > 1
            faces = written[key] if several else written[key][:1]
            rows += [{"file": key, "status": "found", "reason": None, "folder": str(folder), "face": r.face_index}
                     for r, folder in faces]
            del written[key][:len(faces)]
        elif missed.get(key):
            m = missed[key].pop(0)
            rows.append({"file": key, "status": m.status, "reason": m.reason, "folder": None, "face": None})
    counts = {k: sum(row["status"] == k for row in rows) for k in ("found", "missed", "skipped")}  # found: faces
    record = {"command": "photo", **counts, "photos": rows, **photo_record(opened)}
    if options is not None and (options.put_back or options.put_back_amount is not None):
        from ..photo import PUT_BACK_FILE

        record["put_back"] = {"file": PUT_BACK_FILE, "attribute": options.attribute if options.put_back_amount
                              is not None else None, "amount": options.put_back_amount,
                              "whole": bool(options.put_back_whole)}
    return record


__all__ = ["PHOTO_PARAMS", "parse_face", "PhotoInputs", "PhotoMiss", "PhotoOptions", "PhotoRun", "batch_record",
           "check_photos_output", "photo_files", "photo_record", "photos_to_folder", "place_photos",
           "put_back_view", "read_photo_json", "save_photos"]
