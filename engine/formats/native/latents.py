"""The native format's z-points: ``latents.npy`` (a plain float array, never unpickled, values bounded) and
``latents_files.txt`` (one source file name a line), written together atomically; and ``model_info``.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ... import atomic_io, z_store
from ...errors import EngineError, ModelFileError
from ...model_lock import model_writer
from ...npy_files import check_npy_header
from ...z_store import NameList
from ..card import _sniff_foreign
from .config import LATENT_FILES, LATENT_LIMIT, LATENTS, WEIGHTS, ModelConfig
from .weights import load_model


def names_file_bytes(files) -> bytes:
    """``latents_files.txt``'s bytes: one name a line, "\n"-terminated. A name holding "\n" or "\r" could not be
    read back one-to-one, so it is refused (EngineError naming it); a name that is not valid text (a surrogate
    from a non-UTF-8 file name) is stored with U+FFFD, never as a crash."""
    parts = []
    for i, f in enumerate(files):
        name = os.fspath(f) if isinstance(f, os.PathLike) else f
        if not isinstance(name, str):
            raise EngineError(f"file name #{i} is a {type(name).__name__}, not text")
        if "\n" in name or "\r" in name:
            raise EngineError(f"file name {name!r} (#{i}) holds a line break; {LATENT_FILES} stores one name a line "
                              "and could not be read back — rename the file")
        try:  # a non-UTF-8 file name's bytes (surrogateescape) read back as U+FFFD
            parts.append(name.encode("utf-8", "surrogateescape"))
        except UnicodeEncodeError:  # a lone surrogate that is no such byte
            parts.append(name.encode("utf-8", "replace"))
    return b"".join(p + b"\n" for p in parts)


def read_names_file(path: Path, lazy: bool = False):
    """The names of ``latents_files.txt``: split on "\n" only (never on U+2028, U+0085, form feeds … that
    ``str.splitlines`` splits on), one trailing "\r" dropped (a file edited on Windows), the final "\n" ending the
    last name, not starting an empty one. ``lazy``: a :class:`~engine.z_store.NameList` (the bytes and their line
    offsets, the same names) instead of a list of strings — for millions of names."""
    from ...image_data import read_regular_file

    data = read_regular_file(path, "names file", error=ModelFileError)
    if lazy:
        return NameList(data)
    names = data.decode("utf-8", errors="replace").split("\n")
    if names and names[-1] == "":
        names.pop()
    return [n[:-1] if n.endswith("\r") else n for n in names]


def _value_chunks(z: np.ndarray, dtype):
    """Row blocks of ``z`` to check: views of an in-memory array (no copy), copies of a memory map's (each block's
    pages handed back)."""
    if z_store.is_mapped(z) or z.dtype != dtype:
        yield from z_store.row_chunks(z, dtype=dtype)
        return
    for start in range(0, len(z), 4096):  # 4 MB at 256 float32 columns: stays in cache for the max and the min
        yield start, z[start : start + 4096]


def check_latent_values(z: np.ndarray, source) -> None:
    """Refuse rows with NaN/Inf or coordinates beyond ±LATENT_LIMIT (which float32 could not even hold
    past 3.4e38), naming the first such row. Read chunk by chunk (a memory map is never copied whole); the
    counts are over all rows."""
    if z.size == 0:
        return
    n_bad = n_big = 0
    first_bad = first_big = None
    if z.dtype == np.float16:  # never beyond the limit (65504 at most): NaN/Inf are the all-ones exponent
        for start, chunk in z_store.row_chunks(z, dtype=np.float16):
            bad = ((chunk.view(np.uint16) & 0x7C00) == 0x7C00).any(axis=1)
            if bad.any():
                rows = np.flatnonzero(bad)
                n_bad += len(rows)
                first_bad = start + int(rows[0]) if first_bad is None else first_bad
    exact = np.float64 if z.dtype == np.float64 else np.float32
    for start, chunk in (() if z.dtype == np.float16 else _value_chunks(z, exact)):
        top, bottom = float(chunk.max()), float(chunk.min())  # NaN propagates; no temporary of the chunk's size
        if math.isfinite(top) and math.isfinite(bottom) and max(top, -bottom) <= LATENT_LIMIT:
            continue
        mag = np.maximum(chunk.max(axis=1), -chunk.min(axis=1)).astype(np.float64)
        bad = ~np.isfinite(mag)
        if bad.any():
            rows = np.flatnonzero(bad)
            n_bad += len(rows)
            first_bad = start + int(rows[0]) if first_bad is None else first_bad
        big = mag > LATENT_LIMIT
        if big.any():
            rows = np.flatnonzero(big)
            n_big += len(rows)
            if first_big is None:
                first_big = (start + int(rows[0]), float(mag[rows[0]]))
    if n_bad:
        raise ModelFileError(f"{source}: {n_bad} row(s) hold NaN or Inf (first: row {first_bad}); re-run encode")
    if n_big:
        raise ModelFileError(f"{source}: {n_big} row(s) hold values beyond ±{LATENT_LIMIT:g} (first: row {first_big[0]}, "
                             f"{first_big[1]:.3g}); a z-point is never that large — re-run encode")


def save_latents(folder: str | os.PathLike, latents: np.ndarray, files: list[str], dtype: str = "float32") -> None:
    folder = Path(folder)
    if len(files) != len(latents):
        raise ValueError("one file name per latent row is needed")
    z = np.asarray(latents)
    if z.ndim != 2 or z.dtype.kind != "f":
        raise EngineError(f"latents must be an N×z_dim float array, got shape {list(z.shape)} dtype {z.dtype}")
    check_latent_values(z, folder / LATENTS)  # never write latents that load_latents would refuse
    names = names_file_bytes(files)
    with model_writer(folder, "save z-points"):  # re-entrant for a job (encode) that holds it already
        _write_latents(folder, z, names, dtype)


def _write_latents(folder: Path, z: np.ndarray, names: bytes, dtype: str) -> None:
    atomic_io.remove_stale_temps(folder, (LATENTS, LATENT_FILES))
    # both files land together or not at all (a full disk never pairs new names with old z-points)
    with atomic_io.atomic_paths(folder / LATENTS, folder / LATENT_FILES) as (tmp_z, tmp_names):
        if z_store.is_mapped(z):  # a memory-mapped cloud: converted and written chunk by chunk
            write_npy_streaming(tmp_z, z, dtype)
        else:
            atomic_io.write_into(tmp_z, atomic_io.npy_bytes(np.asarray(z, dtype=dtype)))
        atomic_io.write_into(tmp_names, names)


def write_npy_streaming(path: Path, z: np.ndarray, dtype: str) -> None:
    """``z`` as a .npy file of ``dtype``, converted and written chunk by chunk (a memory-mapped cloud is never
    copied whole). ``path`` is a temp file of an atomic write."""
    dt = np.dtype(dtype)
    with open(path, "wb") as fh:  # an error here is named by the atomic write around it
        np.lib.format.write_array_header_1_0(
            fh, {"descr": np.lib.format.dtype_to_descr(dt), "fortran_order": False, "shape": tuple(z.shape)})
        for _, chunk in z_store.row_chunks(z, dtype=dt):
            fh.write(np.ascontiguousarray(chunk).data)


def load_latents(folder: str | os.PathLike, z_dim: int) -> tuple[np.ndarray, Sequence[str]]:
    """The training z-points (N×z_dim) and their source file names; validated.

    A file up to ``z_store.MAP_BYTES`` is read into memory as float32 and its names into a list. A larger one is
    a read-only memory map in the file's dtype (float16 or float32; float64 is converted, in memory), checked
    chunk by chunk, and its names a :class:`~engine.z_store.NameList`."""
    folder = Path(folder)
    path = folder / LATENTS
    if not path.is_file():
        raise ModelFileError(f"{path}: missing — the model has no z-points yet; encode a dataset with it first")
    with open(path, "rb") as fh:
        head = fh.read(16)
    foreign = _sniff_foreign(path, head)
    if foreign and foreign != "a NumPy .npy file":
        raise ModelFileError(f"{path}: this is {foreign}, not a .npy array")
    check_npy_header(path, ModelFileError)  # declared sizes before numpy allocates them
    mapped = path.stat().st_size > z_store.MAP_BYTES
    try:
        z = np.load(path, allow_pickle=False, mmap_mode="r" if mapped else None)
    except ValueError as exc:
        raise ModelFileError(f"{path}: not a plain numeric .npy array ({exc}); object arrays are never unpickled") from None
    except (OSError, EOFError) as exc:
        raise ModelFileError(f"{path}: truncated or damaged .npy file ({exc})") from None
    if z.dtype not in (np.float16, np.float32, np.float64):
        raise ModelFileError(f"{path}: dtype {z.dtype} is not float16/float32/float64")
    if z.ndim != 2 or z.shape[1] != z_dim:
        raise ModelFileError(f"{path}: shape {list(z.shape)} does not match the model's z_dim {z_dim} (expected N×{z_dim})")
    if len(z) == 0:
        raise ModelFileError(f"{path}: holds no z-points")
    if mapped and not z.flags.c_contiguous:
        raise ModelFileError(f"{path}: a Fortran-order array; re-run encode")
    check_latent_values(z, path)
    fpath = folder / LATENT_FILES
    if fpath.is_file():
        files = read_names_file(fpath, lazy=mapped)
        if len(files) != len(z):
            raise ModelFileError(f"{fpath}: {len(files)} names for {len(z)} z-points in {LATENTS}; re-run encode")
    else:
        files = z_store.NumberedNames(len(z)) if mapped else [f"#{i}" for i in range(len(z))]
    if mapped and z.dtype != np.float64:
        return z, files  # float16 / float32 as stored: converted chunk by chunk where it is read
    return z.astype(np.float32, copy=False), files


@dataclass
class ModelInfo:
    folder: Path
    config: ModelConfig
    n_latents: Optional[int]
    weights_bytes: int


def model_info(folder: str | os.PathLike) -> ModelInfo:
    """Validate a model folder without building the network (config, header, latents width)."""
    folder = Path(folder)
    model, config = load_model(folder)
    n = None
    if (folder / LATENTS).is_file():
        z, _ = load_latents(folder, config.arch.z_dim)
        n = len(z)
    return ModelInfo(folder, config, n, (folder / WEIGHTS).stat().st_size)
