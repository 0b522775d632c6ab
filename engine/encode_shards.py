"""Encode one folder with several processes (``torchrun --nproc-per-node N main.py encode …``, on one machine or
many): each rank encodes a contiguous shard of the files into its own files in a staging folder of the model
folder, and rank 0 merges them, in file order, into ``latents.npy`` + ``latents_files.txt``.

* **One writer.** Rank 0 holds the model folder's writer lock for the whole job; the other ranks write only inside
  ``.encode-shards/`` (covered by that lock) and never take it. Whether rank 0 got it is agreed by all ranks before
  any work, so a refusal ends every rank, none waits at a barrier.
* **Resumable.** A shard is streamed like a single-process encode (``encoding.encode_to_model`` with an
  ``EncodeTarget``): a killed rank leaves a partial shard whose finished chunks a re-run keeps; a finished shard
  (its ``.npy``, ``.txt`` and ``.json`` with the same identity) is skipped.
* **Merged atomically.** Shards are checked against each other (the same model, weights, z_dim, dtype; consecutive
  ranges covering the files) and copied chunk by chunk into the two temp files of one atomic write: a reader sees
  the old z-points or the new ones. The staging folder is removed once they are published.
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from . import atomic_io
from .errors import EngineError, ModelFileError
from .formats import native as model_store
from .progress import CancelToken, ProgressCallback, no_progress

#: the staging folder inside the model folder
STAGING = ".encode-shards"
SHARD_FORMAT = 1


def shard_range(n: int, rank: int, world: int) -> tuple[int, int]:
    """Items ``[lo, hi)`` of rank ``rank`` among ``world``: contiguous, sizes differ by at most one."""
    return (n * rank) // world, (n * (rank + 1)) // world


def shard_stem(rank: int, world: int) -> str:
    return f"shard-{rank:05d}-of-{world:05d}"


@dataclass
class ShardFiles:
    folder: Path
    rank: int
    world: int

    @property
    def stem(self) -> str:
        return shard_stem(self.rank, self.world)

    @property
    def latents(self) -> Path:
        return self.folder / f"{self.stem}.npy"

    @property
    def names(self) -> Path:
        return self.folder / f"{self.stem}.txt"

    @property
    def manifest(self) -> Path:
        return self.folder / f"{self.stem}.json"

    def target(self, extra: dict):
        from .encoding import EncodeTarget

        return EncodeTarget(self.folder / f".{self.stem}.partial.json", self.folder / f".{self.stem}.partial.npy",
                            self.folder / f".{self.stem}.partial.txt", self.latents, self.names, extra)


def _read_manifest(path: Path) -> Optional[dict]:
    from .image_data import read_regular_file

    try:
        data = json.loads(read_regular_file(path, "shard manifest", 2**20, error=ModelFileError).decode("utf-8"))
    except (OSError, ValueError, EngineError):
        return None
    return data if isinstance(data, dict) else None


def encode_shard(model_dir: Path, source, codec, rank: int, world: int, *, batch_size: int = 256,
                 chunk_size: Optional[int] = None, dtype: str = "float32", fresh: bool = False, progress: ProgressCallback = no_progress,
                 cancel: Optional[CancelToken] = None) -> dict:
    """Encode this rank's shard of ``source`` into the staging folder (skipped when already finished); returns
    its manifest. Called with rank 0 holding the model folder's lock."""
    from .encoding import NothingReadable, _partial_identity, encode_to_model

    staging = model_dir / STAGING
    staging.mkdir(exist_ok=True)
    files = ShardFiles(staging, rank, world)
    n = len(source)
    lo, hi = shard_range(n, rank, world)
    part = source.shard(lo, hi)
    extra = {"shard": [lo, hi], "rank": rank, "world": world, "total": n, "whole_source": source.key}
    ident = dict(_partial_identity(model_dir, codec, codec.config, part, dtype), **extra)
    done = _read_manifest(files.manifest) if files.manifest.is_file() and not fresh else None
    if done is not None and done.get("identity") == ident and files.latents.is_file() and files.names.is_file():
        return done  # finished by an earlier run
    for path in (files.manifest, files.latents, files.names):
        path.unlink(missing_ok=True)
    manifest = {"format": SHARD_FORMAT, "identity": ident, "rows": 0, "skipped": []}
    if hi > lo:
        try:
            res = encode_to_model(model_dir, part, model=codec, batch_size=batch_size, chunk_size=chunk_size,
                                  dtype=dtype, fresh=fresh,
                                  progress=progress, cancel=cancel, target=files.target(extra))
            manifest.update(rows=res.rows, skipped=[list(s) for s in res.skipped])
        except NothingReadable as exc:  # this shard only: the others may hold readable images
            manifest["skipped"] = [[f"items {lo}–{hi - 1}", str(exc)]]
    atomic_io.write_json(files.manifest, manifest)  # the shard counts as finished once this lands
    return manifest


def merge_shards(model_dir: Path, world: int, cancel: Optional[CancelToken] = None) -> tuple[int, int, list]:
    """Merge the ``world`` finished shards of the staging folder, in rank (= file) order, into the model's
    ``latents.npy`` + ``latents_files.txt`` (one atomic write), then remove the staging folder. Returns (rows,
    z_dim, skipped). Refused (``ModelFileError``, nothing published) when a shard is missing or the shards disagree
    (another model or weights, z_dim, dtype, or ranges that do not follow each other)."""
    cancel = cancel or CancelToken()
    staging = model_dir / STAGING
    parts = [ShardFiles(staging, r, world) for r in range(world)]
    manifests = []
    for p in parts:
        m = _read_manifest(p.manifest) if p.manifest.is_file() else None
        if m is None or not isinstance(m.get("identity"), dict):
            raise ModelFileError(f"{p.manifest}: shard {p.rank} of {world} is not finished; run encode again to "
                                 "finish it (finished shards are kept)")
        manifests.append(m)
    first = manifests[0]["identity"]
    expect_lo, skipped, rows, shapes = 0, [], 0, []
    for p, m in zip(parts, manifests):
        ident = m["identity"]
        for key in ("model_id", "weights", "z_dim", "dtype", "world", "total", "whole_source"):
            if ident.get(key) != first.get(key):
                raise ModelFileError(f"{p.manifest}: shard {p.rank} was encoded with another {key} "
                                     f"({ident.get(key)!r}, shard 0: {first.get(key)!r}); nothing was merged — "
                                     "encode again with a fresh start")
        lo, hi = ident.get("shard", [None, None])
        if lo != expect_lo:
            raise ModelFileError(f"{p.manifest}: shard {p.rank} covers items {lo}–{hi}, expected from {expect_lo}")
        expect_lo = hi
        shape, dt = _shard_shape(p, m, int(first["z_dim"]), first["dtype"])
        shapes.append(shape)
        rows += shape[0]
        skipped += [tuple(s) for s in m.get("skipped", [])]
    if expect_lo != first.get("total"):
        raise ModelFileError(f"{staging}: the shards cover {expect_lo} of {first.get('total')} items")
    if rows == 0:
        raise EngineError(f"{staging}: none of the {first.get('total')} images could be read; nothing was encoded")
    _publish(model_dir, parts, manifests, rows, int(first["z_dim"]), np.dtype(first["dtype"]), cancel)
    shutil.rmtree(staging, ignore_errors=True)
    return rows, int(first["z_dim"]), skipped


def _shard_shape(p: ShardFiles, m: dict, z_dim: int, dtype: str):
    from .npy_files import check_npy_header

    if int(m.get("rows", 0)) == 0:
        return (0, z_dim), np.dtype(dtype)
    check_npy_header(p.latents, ModelFileError)
    z = np.load(p.latents, mmap_mode="r", allow_pickle=False)
    if z.ndim != 2 or z.shape[1] != z_dim or z.dtype != np.dtype(dtype) or z.shape[0] != int(m["rows"]):
        raise ModelFileError(f"{p.latents}: shape {list(z.shape)} {z.dtype}, its manifest says {m['rows']}×{z_dim} "
                             f"{dtype}; nothing was merged — encode again with a fresh start")
    return z.shape, z.dtype


def _publish(model_dir: Path, parts, manifests, rows: int, z_dim: int, dtype: np.dtype, cancel) -> None:
    from . import z_store

    atomic_io.remove_stale_temps(model_dir, (model_store.LATENTS, model_store.LATENT_FILES))
    with atomic_io.atomic_paths(model_dir / model_store.LATENTS, model_dir / model_store.LATENT_FILES) as (tz, tn):
        with open(tz, "wb") as fz, open(tn, "wb") as fn:
            np.lib.format.write_array_header_1_0(
                fz, {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": (rows, z_dim)})
            for p, m in zip(parts, manifests):
                if int(m.get("rows", 0)) == 0:
                    continue
                cancel.raise_if_cancelled()
                z = np.load(p.latents, mmap_mode="r", allow_pickle=False)
                for _, chunk in z_store.row_chunks(z, dtype=dtype):
                    model_store.check_latent_values(chunk, p.latents)
                    fz.write(np.ascontiguousarray(chunk).data)
                del z
                names = p.names.read_bytes()
                lines = names.count(b"\n")
                if lines != int(m["rows"]):
                    raise ModelFileError(f"{p.names}: {lines} names for {m['rows']} rows; encode again with a fresh "
                                         "start")
                fn.write(names)


def clear_staging(model_dir: Path) -> None:
    """Forget every shard of an interrupted sharded encode."""
    shutil.rmtree(Path(model_dir) / STAGING, ignore_errors=True)


def encode_sharded(model_dir, source, codec, ctx, *, batch_size: int = 256, dtype: str = "float32",
                   fresh: bool = False, progress: ProgressCallback = no_progress,
                   cancel: Optional[CancelToken] = None):
    """The whole job on this rank (``ctx``: an ``engine.distributed.DistContext`` of several processes): rank 0
    takes the model folder's lock (all ranks learn whether it did), every rank encodes its shard, all agree that
    every shard finished, and rank 0 merges. Returns an ``encoding.EncodeResult`` (the merged one on rank 0)."""
    from .encoding import EncodeResult
    from .model_lock import model_writer

    model_dir = Path(model_dir)
    ctx.same_everywhere([len(source), codec.z_dim], "the number of images or the model")
    lock = model_writer(model_dir, "encode") if ctx.is_main else None
    error: Optional[BaseException] = None
    try:
        if lock is not None:
            lock.__enter__()
    except BaseException as exc:  # noqa: BLE001 - told to every rank below, then raised here
        error, lock = exc, None
    if ctx.all_sum([error is not None])[0] > 0:  # nobody starts while another writer holds the folder
        if error is not None:
            raise error
        raise EngineError(f"{model_dir}: rank 0 could not take the model folder's writer lock; nothing was encoded")
    try:
        manifest, error = None, None
        try:
            if fresh and ctx.is_main:
                clear_staging(model_dir)
            ctx.barrier()
            manifest = encode_shard(model_dir, source, codec, ctx.rank, ctx.world_size, batch_size=batch_size,
                                    dtype=dtype, fresh=fresh, progress=progress, cancel=cancel)
        except BaseException as exc:  # noqa: BLE001 - every rank must reach the vote below
            error = exc
        failed = ctx.all_sum([error is not None])[0]
        if error is not None:
            raise error
        if failed:
            raise EngineError(f"{model_dir}: another rank of the encode failed; its finished chunks are kept, run "
                              "encode again to resume")
        n = len(source)
        if not ctx.is_main:
            lo, hi = shard_range(n, ctx.rank, ctx.world_size)
            return EncodeResult(model_dir, int(manifest["rows"]), hi - lo, [tuple(s) for s in manifest["skipped"]],
                                0, codec.z_dim, dtype)
        rows, z_dim, skipped = merge_shards(model_dir, ctx.world_size, cancel)
        return EncodeResult(model_dir, rows, n, skipped, 0, z_dim, dtype)
    finally:
        if lock is not None:
            lock.__exit__(None, None, None)


__all__ = ["STAGING", "clear_staging", "encode_shard", "encode_sharded", "merge_shards", "shard_range"]
