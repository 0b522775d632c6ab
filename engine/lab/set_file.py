"""The direction-set file: ``NAME.json`` + ``NAME.npy``.

``NAME.json`` (format, version, model id, z_dim, per-direction name/method/label/σ/meta) and ``NAME.npy``
(k × z_dim float32, the σ-scaled vectors, written first; the JSON is the manifest, written last).
Written only where new or holding a set we wrote (``overwrite``), never over a user's file. Loading
validates like every user file (size-capped regular files, no pickle, types, shapes, finite values, a
method the registry knows) and refuses another model's set unless ``force=True`` (a z_dim mismatch is
refused always).
"""
from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from .. import __version__, atomic_io
from ..errors import EngineError, OtherModelsFile
from .direction import UNIT_TEXT, Direction, json_safe
from .methods import method_names

FORMAT_NAME = "latent-face-studio-directions"
FORMAT_VERSION = 1
WRITTEN_BY = "latent-face-studio"
#: a direction set's JSON is a few kB; anything far larger is not ours
MAX_SET_JSON_BYTES = 4 * 2**20
#: the vectors file: MAX_DIRECTIONS × z_dim float64 at most
MAX_DIRECTIONS = 4096
MAX_VECTOR_BYTES = 256 * 2**20
MAX_NAME_CHARS = 200
#: the largest |entry| of a stored vector (z-points are never beyond model_store.LATENT_LIMIT)
VECTOR_LIMIT = 1e6


@dataclass
class DirectionSet:
    name: str
    model_id: str
    z_dim: int
    directions: list[Direction]
    path: Optional[Path] = None  # the JSON file it was loaded from / saved to
    foreign: bool = False  # loaded with force onto a model other than its own

    @property
    def vectors(self) -> np.ndarray:
        return np.stack([d.vector for d in self.directions]) if self.directions else np.zeros((0, self.z_dim))


def set_paths(path) -> tuple[Path, Path]:
    """``x`` / ``x.json`` / ``x.npy`` → (``x.json``, ``x.npy``)."""
    p = Path(path)
    if p.suffix.lower() in (".json", ".npy"):
        p = p.with_suffix("")
    return p.with_name(p.name + ".json"), p.with_name(p.name + ".npy")


#: The kinds the folder's record of our files (engine/output_folders.py) keeps for a set's two files.
SET_KINDS = ("direction set", "direction set vectors")


def _is_our_set(jpath: Path, npath: Path) -> bool:
    """Both files are ours, unchanged since we wrote them: by their folder's record (name, size, sha256), never by
    what a file says of itself (a user's JSON may carry our format's keys)."""
    from ..output_folders import is_owned_file

    return all(not p.exists() or is_owned_file(p, kind) for p, kind in zip((jpath, npath), SET_KINDS)) \
        and (jpath.exists() or npath.exists())


def check_set_output(path, *, overwrite: bool = False, inputs: Sequence = (), label: str = "out") -> tuple[Path, Path]:
    """Refuse, before any work, a set path that may not be written: (``NAME.json``, ``NAME.npy``) when both are
    new, or (with ``overwrite``) a set we wrote; a user's file of either name is never replaced."""
    from .. import output_folders

    jpath, npath = set_paths(output_folders.check_path_text(path, label))
    ours = _is_our_set(jpath, npath)
    output_folders.check_output_file(jpath, inputs=inputs, overwrite=overwrite, label=label,
                                     is_ours=lambda p: ours, what="direction set")
    output_folders.check_output_file(npath, inputs=inputs, overwrite=overwrite, label=label,
                                     is_ours=lambda p: ours, what="direction set's vectors file")
    return jpath, npath


def save_direction_set(path, dset: DirectionSet, *, overwrite: bool = False, inputs: Sequence = (),
                       label: str = "out") -> tuple[Path, Path]:
    """Write ``NAME.npy`` and ``NAME.json`` (the manifest) together, atomically, by the rules of
    :func:`check_set_output`."""
    if not dset.directions:
        raise EngineError(f"{path}: no directions to save", param=label)
    if len(dset.directions) > MAX_DIRECTIONS:
        raise EngineError(f"{path}: at most {MAX_DIRECTIONS} directions per set", param=label)
    jpath, npath = check_set_output(path, overwrite=overwrite, inputs=inputs, label=label)
    vectors = dset.vectors.astype(np.float32)
    if vectors.shape[1] != dset.z_dim or not np.isfinite(vectors).all():
        raise EngineError(f"{path}: vectors must be finite and {dset.z_dim} wide", param=label)
    meta = {
        "format": FORMAT_NAME, "version": FORMAT_VERSION, "written_by": WRITTEN_BY, "app_version": __version__,
        "name": dset.name, "model_id": dset.model_id, "z_dim": int(dset.z_dim), "count": len(dset.directions),
        "vectors_file": npath.name, "unit": UNIT_TEXT, "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "directions": [d.to_json() for d in dset.directions],
    }
    jpath.parent.mkdir(parents=True, exist_ok=True)
    from ..output_folders import file_digest, record_owned_file

    with atomic_io.atomic_paths(npath, jpath) as (tmp_n, tmp_j):
        atomic_io.write_into(tmp_n, atomic_io.npy_bytes(vectors))
        atomic_io.write_into(tmp_j, (json.dumps(json_safe(meta), indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
        for tmp, final, kind in ((tmp_j, jpath, SET_KINDS[0]), (tmp_n, npath, SET_KINDS[1])):
            record_owned_file(final, kind, *file_digest(tmp), keep_previous=True)  # recorded before the rename
    for final, kind in zip((jpath, npath), SET_KINDS):
        try:
            record_owned_file(final, kind, *file_digest(final), keep_previous=False)  # only the new version now
        except OSError:
            pass  # the previous version stays recorded too: harmless
    dset.path = jpath
    return jpath, npath


def _text(v, what: str, src: Path, limit: int = MAX_NAME_CHARS, empty_ok: bool = False) -> str:
    if not isinstance(v, str) or (not v and not empty_ok) or len(v) > limit or not v.isprintable():
        raise EngineError(f"{src}: {what} must be {'' if empty_ok else 'non-empty '}printable text of at most {limit} characters")
    return v


def _read_vectors(npath: Path, count: int, z_dim: int) -> np.ndarray:
    from ..image_data import read_regular_file

    raw = read_regular_file(npath, "direction vectors file", limit=MAX_VECTOR_BYTES, error=EngineError)
    if not raw.startswith(b"\x93NUMPY"):
        raise EngineError(f"{npath}: not a .npy array file")
    fmt = np.lib.format
    try:
        fh = io.BytesIO(raw)
        version = fmt.read_magic(fh)
        reader = {(1, 0): fmt.read_array_header_1_0, (2, 0): fmt.read_array_header_2_0}.get(version)
        if reader is None:
            raise EngineError(f"{npath}: unsupported .npy version {version}")
        shape, fortran, dtype = reader(fh)
    except (ValueError, EOFError, SyntaxError) as exc:
        raise EngineError(f"{npath}: damaged .npy header ({exc})") from None
    if dtype.hasobject:
        raise EngineError(f"{npath}: holds Python objects (dtype {dtype}); object arrays are never unpickled")
    if dtype not in (np.dtype("<f4"), np.dtype("<f8"), np.dtype(">f4"), np.dtype(">f8")):
        raise EngineError(f"{npath}: dtype {dtype} is not float32/float64")
    if tuple(shape) != (count, z_dim):
        raise EngineError(f"{npath}: shape {list(shape)} does not match the set's {count} direction(s) × z_dim {z_dim}")
    need = count * z_dim * dtype.itemsize
    if len(raw) - fh.tell() < need:
        raise EngineError(f"{npath}: truncated (holds {len(raw) - fh.tell()} of {need} bytes of data)")
    try:
        arr = np.load(io.BytesIO(raw), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise EngineError(f"{npath}: damaged .npy file ({exc})") from None
    return check_vectors(arr, npath)


def load_direction_set(path, *, model_id: Optional[str] = None, z_dim: Optional[int] = None,
                       force: bool = False) -> DirectionSet:
    """Read and validate a set written by :func:`save_direction_set`. A set of another model (``model_id``
    differs) is refused unless ``force``; a z_dim mismatch is refused always. Every problem is an EngineError
    of one line naming the file."""
    from ..image_data import read_regular_file
    from ..errors import ModelFileError
    from ..formats.native import parse_json

    jpath, npath = set_paths(path)
    raw = read_regular_file(jpath, "direction set", limit=MAX_SET_JSON_BYTES, error=EngineError)
    try:
        meta = parse_json(raw, str(jpath))
    except ModelFileError as exc:
        raise EngineError(str(exc)) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise EngineError(f"{jpath}: not a JSON file ({str(exc).splitlines()[0][:120]})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise EngineError(f"{jpath}: not a direction set of Latent Face Studio (format {FORMAT_NAME!r} expected)")
    ver = meta.get("version")
    if isinstance(ver, bool) or not isinstance(ver, int) or not 1 <= ver <= FORMAT_VERSION:
        raise EngineError(f"{jpath}: version {ver!r} is not one this app reads (1 to {FORMAT_VERSION})")
    mid = _text(meta.get("model_id"), "model_id", jpath, 128)
    zd = meta.get("z_dim")
    if isinstance(zd, bool) or not isinstance(zd, int) or not 1 <= zd <= 65536:
        raise EngineError(f"{jpath}: z_dim must be a whole number from 1 to 65536, got {zd!r}")
    count = meta.get("count")
    entries = meta.get("directions")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_DIRECTIONS:
        raise EngineError(f"{jpath}: count must be a whole number from 1 to {MAX_DIRECTIONS}, got {count!r}")
    if not isinstance(entries, list) or len(entries) != count:
        raise EngineError(f"{jpath}: directions must be a list of {count} entries")
    vf = meta.get("vectors_file")
    if vf is not None and vf != npath.name:
        raise EngineError(f"{jpath}: names its vectors file {vf!r}, expected {npath.name!r} beside it")
    name = _text(meta.get("name", jpath.stem), "name", jpath)
    if z_dim is not None and zd != z_dim:
        raise EngineError(f"{jpath}: directions of z_dim {zd} cannot be used on a model of z_dim {z_dim}")
    if model_id is not None and mid != model_id and not force:
        raise OtherModelsFile(f"{jpath}: belongs to model {mid}, not to this model ({model_id}); its directions "
                              "mean nothing in another model's latent space — use {opt:force} to load it anyway",
                              path=jpath, model_id=mid)
    parsed = parse_entries(entries, jpath)
    vectors = _read_vectors(npath, count, zd)
    dirs = [Direction(n, m, v, label=lab, meta=dm) for (n, m, lab, dm), v in zip(parsed, vectors)]
    return DirectionSet(name, mid, zd, dirs, jpath, foreign=model_id is not None and mid != model_id)


def parse_entries(entries: list, src, what: str = "directions") -> list[tuple[str, str, str, dict]]:
    """The manifest's direction entries checked: ``(name, method, label, meta)`` each; an EngineError naming
    ``src`` and the entry otherwise (a set's JSON, or the directions a session file holds inline)."""
    parsed = []
    for i, e in enumerate(entries):
        if not isinstance(e, dict):
            raise EngineError(f"{src}: {what}[{i}] must be a JSON object")
        dn = _text(e.get("name"), f"{what}[{i}].name", src)
        dm = e.get("method")
        if dm not in method_names():
            raise EngineError(f"{src}: {what}[{i}].method {dm!r} is not one of {', '.join(method_names())}")
        lab = _text(e.get("label", ""), f"{what}[{i}].label", src, 1000, empty_ok=True)
        dmeta = e.get("meta", {})
        if not isinstance(dmeta, dict):
            raise EngineError(f"{src}: {what}[{i}].meta must be a JSON object")
        parsed.append((dn, dm, lab, dmeta))
    return parsed


def check_vectors(arr: np.ndarray, src) -> np.ndarray:
    """Direction vectors (rows) checked as a set's ``.npy`` is: finite, within ±:data:`VECTOR_LIMIT`, none zero."""
    arr = np.asarray(arr, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise EngineError(f"{src}: holds NaN or Inf")
    if np.abs(arr).max(initial=0.0) > VECTOR_LIMIT:
        raise EngineError(f"{src}: holds values beyond ±{VECTOR_LIMIT:g}")
    if arr.ndim != 2 or (np.linalg.norm(arr, axis=1) == 0).any():
        raise EngineError(f"{src}: holds an all-zero direction")
    return arr


def direction_for_edit(path, index: int, *, model_id: str, z_dim: int, force: bool = False,
                       z: Optional[np.ndarray] = None) -> Direction:
    """The ``index``-th direction (1-based, the table's '#') of a saved set, ready for
    ``engine.editing.edit_strips(model, z, direction, amounts)`` (it has ``.vector``; amounts in σ units).
    ``z`` (the model's z-points) sets ``origin`` for ``coordinate``."""
    ds = load_direction_set(path, model_id=model_id, z_dim=z_dim, force=force)
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 1 <= index <= len(ds.directions):
        raise EngineError(f"{index!r}: {ds.path} holds directions 1 to {len(ds.directions)}", param="index")
    d = ds.directions[int(index) - 1]
    if z is not None:
        d.origin = np.asarray(z, dtype=np.float64).mean(axis=0)
    return d


def edit_params(d: Direction, path, index: int) -> dict:
    """What ``edit --direction`` records in the strips' params.json."""
    return {"direction_file": str(set_paths(path)[0]), "direction_index": int(index), "direction": d.name,
            "direction_method": d.method, "direction_label": d.label, "sigma": d.sigma,
            "amount_unit": UNIT_TEXT}

