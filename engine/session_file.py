"""A session file (``*.lfs-session.json``): everything needed to come back to an exploration, as plain JSON.

The file names its model by folder and by content (``model.content_sha256``, :func:`model_content_hash`: the
config and the network's files), and holds the exploration by value: the generated set by the record that made it
(sampler, parameters, seed) and its z-vectors, never as pictures (a set moved along a direction cannot be made
again from its seed alone; decoding its z again gives the same faces), the selection, axes, σ-levels, colouring,
the inspector's edit, photos by their framing and z (the picture itself optional), directions, the path, and the
window's workspace and layout. Fields a newer app adds are kept and ignored by an older one; ``version`` says which
reader is needed.

A session file from anyone is untrusted: read with a size cap (:data:`MAX_BYTES`) as JSON only (nesting bounded,
never unpickled), every field checked by type and range (:data:`SESSION`) before anything is used, and it never
makes the app read any file but the model folder it names, whose content must match. A refusal is one line naming
the file and the field.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Optional

from . import bookmarks
from .errors import DataError, EngineError
from .identity_memo import memo_path, recall, remember
from .formats.schema import Bool, Int, List, Num, Obj, SchemaError, Str, parse_json, validate

FORMAT = "latent-face-studio-session"
#: The reader this app is: files of a higher version are refused with one line, lower ones are read (and
#: :func:`migrate`\ d). Version 2 added the panels' own fields (``window.panels``: the selection's query line, the
#: atlas's grid, base and redraw), the docks shown (``window.docks``) and the sampler's "new seed each time".
VERSION = 2
SUFFIX = ".lfs-session.json"
#: The largest session file read (photos may carry their pictures, a few hundred KB each).
MAX_BYTES = 64 * 2**20
#: The most z-dimensions, photos, path points and selected faces a session may hold.
MAX_Z_DIM, MAX_PHOTOS, MAX_POINTS, MAX_FACES = 8192, 200, 10_000, 100_000
MAX_LAYOUT_BYTES = 256 * 2**10
#: The most training z-points a session's cloud selection may cover (a bit each, packed, base64).
MAX_POINTS_SELECTABLE = 50_000_000
#: The most named groups a session keeps.
MAX_GROUPS = 200
#: The most generated faces a session holds (their z-vectors: the faces are decoded again, exactly).
MAX_SAMPLE = 10_000
MAX_PHOTO_PNG = 8 * 2**20
#: The most directions a session holds inline (the direction lab's set).
MAX_DIRECTIONS = 4096

_Z = List(Num(lo=-1e6, hi=1e6), MAX_Z_DIM)
_FINITE = Num(lo=-1e12, hi=1e12)
_PARAMS = Obj({})  # a set's params.json or a sampler's values: an object; its values are checked where used

SESSION = Obj({
    "format": Str(64), "version": Int(1, 10_000), "app_version": Str(64), "saved": Str(64),
    "model": Obj({"folder": Str(4096), "model_id": Str(128), "content_sha256": Str(64)},
                 required=("folder", "content_sha256")),
    "window": Obj({"workspace": Str(64), "layout": Str(MAX_LAYOUT_BYTES * 2, null=True),
                   "geometry": Str(MAX_LAYOUT_BYTES * 2, null=True),
                   "zoom": Obj({"view_range": List(_FINITE, 4)}), "docks": List(Str(64), 256),
                   "panels": Obj({"selection": Obj({"query": Str(4096)}),
                                  "atlas": Obj({"side": Int(1, 256), "base": Str(64), "auto": Bool()})})}),
    "sampler": Obj({"name": Str(64), "values": _PARAMS, "n": Int(0, 1_000_000), "seed": Int(0, 2**32 - 1),
                    "where": Str(4096, null=True), "next_seed": Bool()}),
    "sample": Obj({"params": _PARAMS, "z": List(_Z, MAX_SAMPLE)}, required=("params",)),
    "selection": Obj({"current": Int(0, MAX_FACES, null=True), "selected": List(Int(0, MAX_FACES), MAX_FACES),
                      "photo_current": Int(0, MAX_PHOTOS, null=True)}),
    "levels": List(Num(above_lo=True, hi=100), 32),
    "colour_by": Str(256, null=True),
    "edit": Obj({"z": _Z}),
    "photos": List(Obj({"source": Str(4096), "face_index": Int(0, 10_000, null=True), "z": _Z,
                        "framing": Str(256), "transform": List(List(_FINITE, 3), 2),
                        "png": Str(MAX_PHOTO_PNG * 4 // 3 + 8, null=True),
                        "photo_size": List(Int(0, 1_000_000), 2), "faces_found": Int(0, 10_000),
                        "face_angle": Num(lo=-1e4, hi=1e4), "mse": Num(0, 1e6), "no_detect": Bool()},
                       required=("z",)), MAX_PHOTOS),
    "directions": Obj({"set_file": Str(4096, null=True), "name": Str(200, null=True),
                       "items": List(Obj({"name": Str(200), "method": Str(64), "label": Str(1000), "unit": _Z,
                                          "sigma": Num(above_lo=True, hi=1e6), "meta": Obj({})},
                                         required=("name", "method", "unit", "sigma")), MAX_DIRECTIONS)}),
    "bookmarks": List(bookmarks.SCHEMA, bookmarks.MAX_BOOKMARKS),
    "cloud_selection": Obj({"n": Int(1, MAX_POINTS_SELECTABLE), "bits": Str(MAX_POINTS_SELECTABLE // 6 + 8),
                            "how": Str(4096)}, required=("n", "bits")),
    "groups": List(Obj({"name": Str(200), "n": Int(1, MAX_POINTS_SELECTABLE), "bits": Str(MAX_POINTS_SELECTABLE // 6 + 8),
                        "how": Str(4096)}, required=("name", "n", "bits")), MAX_GROUPS),
    "path_vertices": List(List(_FINITE, 2), MAX_POINTS),
}, required=("format", "version", "model"))


#: The files a model's content hash covers, in this order (those present).
HASHED = ("config.json", "weights.safetensors", "encoder.onnx", "decoder.onnx", "latents.npy")
#: A file modified this recently is hashed but its hash is not remembered: a rewrite within the file system's
#: timestamp tick would keep the same identity (the "racy" case git's index has too).
RACY_SECONDS = 2.0


def model_content_hash(folder: str | os.PathLike) -> str:
    """sha256 over the model folder's config and network files (:data:`HASHED`: those present), each with its
    name and size: the same folder with other weights or other z-points has another hash. Only the folder's own
    files: a member linking out of it is refused first, as opening the model refuses it. The hash is remembered in
    the app's cache by the files' identity (path, device, inode, size, modification time), as the statistics
    cache remembers its key: a second save or open of a 2 GB model does not read it again; a changed file has
    another identity and is read."""
    from .formats.registry import refuse_links_out

    folder = Path(folder)
    refuse_links_out(folder)
    members = [(name, folder / name) for name in HASHED if (folder / name).is_file()]
    memo = _hash_memo_path(members)
    known = recall(memo, 64)
    if known is not None:
        return known
    h = hashlib.sha256()
    for name, path in members:
        h.update(f"{name}\0{path.stat().st_size}\0".encode())
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    digest = h.hexdigest()
    if memo is not None and _hash_memo_path(members) == memo:  # unchanged while it was read
        remember(memo, digest)
    return digest


def _hash_memo_path(members: list) -> Optional[Path]:
    """Where the content hash of files ``members`` with their identities now is remembered; None when one of
    them was modified too recently to be told apart from a rewrite in the same timestamp tick."""
    return memo_path("model-hash", members, salt="lfs-model-content-1", racy_seconds=RACY_SECONDS, ctime=True)


def session_bytes(record: dict) -> bytes:
    """The file's bytes for a session ``record`` (checked against the schema first: we never write a session
    we would refuse to read)."""
    record = {"format": FORMAT, "version": VERSION, **record}
    _check(record, "session")
    return (json.dumps(record, indent=1, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


def read_session(path: str | os.PathLike) -> dict:
    """The validated session record in ``path``; DataError (one line naming the file and the field) otherwise."""
    from .image_data import read_regular_file

    path = Path(path)
    data = read_regular_file(path, "session file", limit=MAX_BYTES)
    try:
        record = parse_json(data, str(path))
    except (ValueError, UnicodeDecodeError):
        raise DataError(f"{path}: not a session file (not JSON text)") from None
    except EngineError as exc:
        raise DataError(str(exc)) from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise DataError(f"{path}: not a Latent Face Studio session file (no \"format\": \"{FORMAT}\")")
    version = record.get("version")
    if isinstance(version, int) and not isinstance(version, bool) and version > VERSION:
        raise DataError(f"{path}: a session of a newer Latent Face Studio (version {version}; this one reads up to "
                        f"{VERSION}) — update the app to open it")
    _check(record, str(path))
    return migrate(record)


def migrate(record: dict) -> dict:
    """An older version's record as this version reads it: version 1 had no panel fields (the panels keep what
    they show) and no "new seed each time" (off)."""
    if record.get("version", 1) < 2:
        window = record.setdefault("window", {})
        window.setdefault("panels", {})
        if "sampler" in record:
            record["sampler"].setdefault("next_seed", False)
        record["version"] = 2
    return record


def _check(record: dict, source: str) -> None:
    try:
        validate(SESSION, record, "session")
    except SchemaError as exc:
        raise DataError(f"{source}: {exc}") from None
    axes = record.get("axes")
    if axes is not None and not _axes_ok(axes):
        raise DataError(f"{source}: session.axes must be two [\"pca\" or \"z\", an index] pairs")
    for key in ("layout", "geometry"):
        text = (record.get("window") or {}).get(key)
        if text is not None and _b64_size(text) is None:
            raise DataError(f"{source}: session.window.{key} is not base64 data")
    for i, v in enumerate(record.get("path_vertices") or []):
        if len(v) != 2:
            raise DataError(f"{source}: session.path_vertices[{i}] must be a point [x, y]")
    for i, photo in enumerate(record.get("photos") or []):
        t = photo.get("transform")
        if t is not None and (len(t) != 2 or any(len(row) != 3 for row in t)):
            raise DataError(f"{source}: session.photos[{i}].transform must be a 2×3 matrix")
        png = photo.get("png")
        if png is not None:
            size = _b64_size(png)
            if size is None or size > MAX_PHOTO_PNG:
                raise DataError(f"{source}: session.photos[{i}].png is not a base64 picture of at most "
                                f"{MAX_PHOTO_PNG // 2**20} MB")
        if len(photo.get("photo_size") or [0, 0]) != 2:
            raise DataError(f"{source}: session.photos[{i}].photo_size must be [width, height]")
    _check_directions(record, source)
    masks = [("cloud_selection", record.get("cloud_selection"))]
    masks += [(f"groups[{i}]", g) for i, g in enumerate(record.get("groups") or [])]
    for where, cs in masks:
        if cs is not None and _b64_size(cs["bits"]) != (cs["n"] + 7) // 8:
            raise DataError(f"{source}: session.{where}.bits must be base64 of {(cs['n'] + 7) // 8} bytes "
                            f"(one bit per z-point of {cs['n']})")
    for i, b in enumerate(record.get("bookmarks") or []):
        why = bookmarks.problem(b)
        if why is not None:
            raise DataError(f"{source}: session.bookmarks[{i}].{why}")


def _check_directions(record: dict, source: str) -> None:
    """The inline directions checked as a direction set's manifest and vectors are (engine.lab.set_file)."""
    items = (record.get("directions") or {}).get("items")
    if not items:
        return
    from .lab.set_file import check_vectors, parse_entries

    try:
        parse_entries(items, source, "session.directions.items")
        if len({len(d["unit"]) for d in items}) != 1:
            raise EngineError(f"{source}: session.directions.items hold unit vectors of different sizes")
        check_vectors([d["unit"] for d in items], f"{source}: session.directions.items")
    except EngineError as exc:
        raise DataError(str(exc)) from None


def _axes_ok(axes) -> bool:
    return (isinstance(axes, list) and len(axes) == 2 and all(
        isinstance(a, list) and len(a) == 2 and a[0] in ("pca", "z") and isinstance(a[1], int)
        and not isinstance(a[1], bool) and 0 <= a[1] < MAX_Z_DIM for a in axes))


def _b64_size(text: str) -> Optional[int]:
    """The decoded size of base64 ``text``, or None when it is not base64."""
    try:
        return len(base64.b64decode(text.encode("ascii"), validate=True))
    except (ValueError, UnicodeEncodeError):
        return None


def axes_of(record: dict) -> Optional[tuple]:
    """The session's pair-plot axes as the state holds them (``(("pca", 0), ("pca", 1))``), or None."""
    axes = record.get("axes")
    if not axes or len(axes) != 2:
        return None
    return tuple((str(kind), int(i)) for kind, i in axes)


def layout_bytes(record: dict, key: str = "layout") -> Optional[bytes]:
    text = (record.get("window") or {}).get(key)
    return None if text is None else base64.b64decode(text.encode("ascii"))


def encode_bytes(data: Optional[bytes]) -> Optional[str]:
    return None if data is None else base64.b64encode(bytes(data)).decode("ascii")


def model_matches(record: dict, folder: Optional[str | os.PathLike] = None) -> tuple[Path, bool]:
    """(the model folder to open, whether its content is the session's): ``folder`` re-points a session to a
    model moved elsewhere; the content must still match for the session to be restored as it was."""
    target = Path(folder) if folder is not None else Path(record["model"]["folder"])
    if not target.is_dir():
        return target, False
    return target, model_content_hash(target) == record["model"]["content_sha256"]


def mask_record(mask, how: str = "") -> dict:
    """A boolean mask over the z-points as the session keeps it: its length and its bits, packed."""
    import numpy as np

    mask = np.asarray(mask, bool).reshape(-1)
    return {"n": int(len(mask)), "bits": encode_bytes(np.packbits(mask).tobytes()), "how": str(how)}


def mask_of(record: dict):
    """The boolean mask of :func:`mask_record`'s dict (checked by :func:`read_session`)."""
    import numpy as np

    bits = np.frombuffer(base64.b64decode(record["bits"].encode("ascii")), np.uint8)
    return np.unpackbits(bits, count=int(record["n"])).astype(bool)
