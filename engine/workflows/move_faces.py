"""Move faces: every face of a set moved at once along one direction (a principal axis, a component, an attribute or
a direction of the lab) — the GUI's "Apply to all faces", the CLI's ``edit --set``, and the direction films of
``movie``.

A move is ``z + amount·v`` (:class:`engine.editing.Move`), applied to every row of the set in one vectorised step;
the moved set keeps the set's ``params.json`` and adds what was applied (``applied``: kind, name, amount, unit, the
z-length of one unit), so a saved moved set says how it was made.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from ..editing import Move
from ..errors import EngineError
from ..progress import CancelToken, Progress, ProgressCallback, no_progress


def move_of(opened, *, axis=None, attribute: Optional[str] = None, method: Optional[str] = None, direction=None,
            direction_file=None, index: int = 1, force: bool = False) -> Move:
    """The one move named by exactly one of: ``axis`` (``"PC3"``, ``"z12"`` or ``("pca", 2)``), ``attribute`` (a
    column of the model's labels, its ``method`` direction), ``direction`` (an ``engine.lab.Direction``), or
    direction ``index`` of a saved set ``direction_file``."""
    given = [x for x in (axis, attribute, direction, direction_file) if x is not None]
    if len(given) != 1:
        raise EngineError("move: name one direction: {opt:axis}, {opt:attribute} or {opt:direction}")
    if direction is not None:
        return Move.of_direction(direction) if hasattr(direction, "sigma") else Move.of_attribute(direction)
    if attribute is not None:
        from ..attributes import DEFAULT_EDIT_METHOD, attribute_direction, require_labels

        table = opened.labels if opened.labels is not None else require_labels(opened.folder, opened.latent_files)
        return Move.of_attribute(attribute_direction(opened.require_latents(), table, attribute,
                                                     method or DEFAULT_EDIT_METHOD))
    if direction_file is not None:
        from ..lab import direction_for_edit

        d = direction_for_edit(direction_file, index, model_id=opened.model_id, z_dim=opened.z_dim, force=force,
                               z=opened.require_latents())
        move = Move.of_direction(d)
        move.facts.update({"set_file": str(direction_file), "index": int(index)})
        return move
    stats = _stats_of(opened)
    if isinstance(axis, str):
        from ..latent_paths import parse_axis

        axis = parse_axis(axis, opened.z_dim)
    return Move.of_axis(stats, axis)


def _stats_of(opened):
    stats = getattr(opened, "stats", None)
    if stats is None:
        raise EngineError(f"{opened.folder}: an axis needs the model's z-points and their statistics (encode a "
                          "dataset first)", param="axis")
    return stats


@dataclass
class MovedSet:
    """A set moved along one direction: its z-vectors, faces (None: not decoded) and ``params.json``."""

    z: np.ndarray  # n×z_dim float32
    images: Optional[np.ndarray]  # n×S×S×3 uint8
    params: dict  # the set's params.json plus ``applied`` (a list: the moves in the order they were made)


def moved_params(params: dict, move: Move, amount: float) -> dict:
    """The set's ``params`` with this move appended to its ``applied`` list (a new dict)."""
    out = dict(params or {})
    out["applied"] = list(out.get("applied") or []) + [move.provenance(amount)]
    return out


def move_set(codec, z: np.ndarray, params: dict, move: Move, amount: float, *, decode: bool = True,
             progress: ProgressCallback = no_progress, cancel: Optional[CancelToken] = None) -> MovedSet:
    """Every row of ``z`` moved by ``amount`` along ``move`` (one vectorised step), decoded with ``codec`` unless
    ``decode`` is false; ``params`` gains the move (``applied``)."""
    cancel = cancel or CancelToken()
    amount = _finite(amount)
    z = np.asarray(z, np.float32)
    if z.ndim != 2 or not len(z):
        raise EngineError(f"move: expected a set of z-vectors (n×d), got shape {list(z.shape)}")
    moved = move.apply(z, amount)
    cancel.raise_if_cancelled()
    images = codec.decode(moved, progress=progress, cancel=cancel) if decode else None
    return MovedSet(moved, images, moved_params(params, move, amount))


def _finite(amount) -> float:
    try:
        a = float(amount)
    except (TypeError, ValueError):
        raise EngineError(f"{amount!r}: an amount is a number", param="amount") from None
    if not np.isfinite(a) or abs(a) > 100:
        raise EngineError(f"{amount!r}: an amount is a finite number of direction units, |amount| ≤ 100",
                          param="amount")
    return a


def read_set_z(folder: str | os.PathLike, z_dim: int) -> tuple[np.ndarray, dict]:
    """An image set's ``z.npy`` (n×``z_dim``) and ``params.json``, checked before numpy allocates."""
    from ..image_sets import read_params
    from ..npy_files import check_npy_header

    folder = Path(folder)
    params = read_params(folder)
    path = folder / "z.npy"
    if not path.is_file():
        raise EngineError(f"{path}: missing — not an image set", param="set")
    check_npy_header(path, param="set")
    try:
        z = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise EngineError(f"{path}: not a readable .npy array ({exc})", param="set") from None
    if z.ndim != 2 or z.shape[1] != z_dim or not len(z) or not np.issubdtype(z.dtype, np.number):
        raise EngineError(f"{path}: holds an array of shape {list(z.shape)}, not z-vectors of {z_dim}", param="set")
    z = z.astype(np.float32)
    if not np.isfinite(z).all():
        raise EngineError(f"{path}: holds a NaN or infinite value", param="set")
    return z, params


def move_set_folder(model_folder, set_folder, amount: float, out, *, axis=None, attribute: Optional[str] = None,
                    method: Optional[str] = None, direction_file=None, index: int = 1, force: bool = False,
                    overwrite: bool = False, progress: ProgressCallback = no_progress,
                    cancel: Optional[CancelToken] = None):
    """The CLI's ``edit --set``: the image set in ``set_folder`` moved by ``amount`` along one direction, written
    as a new image set in ``out`` (its ``params.json``: the source set's, plus ``applied`` and ``moved_from``)."""
    from .generate import decoded_batches
    from .open_model import open_model
    from .save_set import check_set_folder, save_set

    cancel = cancel or CancelToken()
    amount = _finite(amount)
    check_set_folder(out, model_folder, overwrite=overwrite)  # before any work
    if Path(out).resolve() == Path(set_folder).resolve():
        raise EngineError(f"{out}: the moved set is written to a new folder, never over its source", param="out")
    opened = open_model(model_folder, labels=attribute is not None, statistics=axis is not None)
    z, params = read_set_z(set_folder, opened.z_dim)
    if params.get("model_id") not in (None, opened.model_id) and not force:
        raise EngineError(f"{set_folder}: a set of model {params.get('model_id')}, not of this model "
                          f"({opened.model_id})", param="set")
    move = move_of(opened, axis=axis, attribute=attribute, method=method, direction_file=direction_file,
                   index=index, force=force)
    progress(Progress("move set", 0, 1, f"moving {len(z)} faces along {move.name}"))
    moved = move_set(opened.codec, z, params, move, amount, decode=False, cancel=cancel)
    moved.params["moved_from"] = str(Path(set_folder))
    images = decoded_batches(opened, moved.z, cancel, progress)
    saved = save_set(out, model_folder, moved.z, moved.params, images, overwrite=overwrite)
    return saved, move


__all__ = ["Move", "MovedSet", "move_of", "move_set", "moved_params", "move_set_folder", "read_set_z"]
