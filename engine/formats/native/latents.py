"""The native format's z-points: ``latents.npy`` (a plain float array, never unpickled, values bounded) and
``latents_files.txt`` (one source file name a line), written together atomically; and ``model_info``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from ... import atomic_io
from ...errors import EngineError, ModelFileError
from ...model_lock import model_writer
from ...npy_files import check_npy_header
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


def read_names_file(path: Path) -> list[str]:
    """The names of ``latents_files.txt``: split on "\n" only (never on U+2028, U+0085, form feeds … that
    ``str.splitlines`` splits on), one trailing "\r" dropped (a file edited on Windows), the final "\n" ending the
    last name, not starting an empty one."""
    from ...image_data import read_regular_file

    text = read_regular_file(path, "names file", error=ModelFileError).decode("utf-8", errors="replace")
    names = text.split("\n")
    if names and names[-1] == "":
        names.pop()
    return [n[:-1] if n.endswith("\r") else n for n in names]


def check_latent_values(z: np.ndarray, source) -> None:
    """Refuse rows with NaN/Inf or coordinates beyond ±LATENT_LIMIT (which float32 could not even hold
    past 3.4e38), naming the first such row."""
    if z.size == 0:
        return
    mag = np.abs(z).max(axis=1).astype(np.float64)  # NaN propagates
    bad = ~np.isfinite(mag)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise ModelFileError(f"{source}: {len(rows)} row(s) hold NaN or Inf (first: row {rows[0]}); re-run encode")
    big = mag > LATENT_LIMIT
    if big.any():
        rows = np.flatnonzero(big)
        raise ModelFileError(f"{source}: {len(rows)} row(s) hold values beyond ±{LATENT_LIMIT:g} (first: row {rows[0]}, "
                             f"{float(mag[rows[0]]):.3g}); a z-point is never that large — re-run encode")


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
        atomic_io.write_into(tmp_z, atomic_io.npy_bytes(np.asarray(z, dtype=dtype)))
        atomic_io.write_into(tmp_names, names)


def load_latents(folder: str | os.PathLike, z_dim: int) -> tuple[np.ndarray, list[str]]:
    """The training z-points (float32, N×z_dim) and their source file names; validated."""
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
    try:
        z = np.load(path, allow_pickle=False)
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
    check_latent_values(z, path)
    fpath = folder / LATENT_FILES
    if fpath.is_file():
        files = read_names_file(fpath)
        if len(files) != len(z):
            raise ModelFileError(f"{fpath}: {len(files)} names for {len(z)} z-points in {LATENTS}; re-run encode")
    else:
        files = [f"#{i}" for i in range(len(z))]
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
