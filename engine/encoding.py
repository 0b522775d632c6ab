"""Encode images into z-points and decode z-vectors into images, in batches.

``encode_dataset`` writes the model folder's ``latents.npy`` and ``latents_files.txt``
(atomically, so a cancelled or failed run leaves the previous latents intact).

``encode_to_model`` is the streaming form for large sets (the CLI's ``encode``): an
:class:`ImageSource` (a folder decoded chunk by chunk, an array or memmap, or any generator-like
source) is encoded chunk by chunk, so memory stays bounded by a couple of chunks whatever the
number of images; z-rows are written (ordinary writes, no memory map) into ``.latents.partial.npy``
in the model folder, whose blocks are allocated up front, the names into ``.latents.partial.txt``,
and ``.latents.partial.json`` records how far it got after every chunk. A re-run after a kill or a
cancel continues from there; at the end the partial files become ``latents.npy`` /
``latents_files.txt`` together (both fsynced before either is renamed, as ``save_latents`` does),
so a reader sees the old latents or the new ones, never half of them.

Faults: a disk too full for the latents is one :class:`EngineError` naming the file, raised before
any image is encoded when the file system can preallocate (``posix_fallocate``), and never the
SIGBUS a sparse memory map gives; the partial files are then removed (they are ours, hidden, and
would only hold the space the user needs). An encoder that gives NaN/inf z-points (a diverged model)
is refused with the count of such rows, before anything is written; names with a line break are
skipped and named (``latents_files.txt`` is one name a line). The previous latents stay in all cases.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional, Protocol, Sequence

import numpy as np

from . import atomic_io
from .formats import native as model_store
from .errors import DataError, EngineError, ModelFileError
from .image_data import (LINE_BREAK_REASON, FaceDataset, Preprocess, has_line_break, printable_name,
                         read_regular_file)
from .formats import open_model
from .formats.codec import ModelCodec
from .formats.native import TorchAutoencoderCodec, as_codec
from .model_lock import model_writer
from .progress import CancelToken, EtaClock, Progress, ProgressCallback, no_progress


def encode_images(
    model,
    images: np.ndarray,
    *,
    batch_size: int = 256,
    progress: ProgressCallback = no_progress,
    cancel: Optional[CancelToken] = None,
) -> np.ndarray:
    """N×S×S×3 uint8 → N×z_dim float32 with ``model`` (a :class:`~engine.formats.codec.ModelCodec`, or a
    bare torch autoencoder)."""
    return as_codec(model).encode(images, batch_size=batch_size, progress=progress, cancel=cancel)


def decode_latents(
    model,
    z: np.ndarray,
    *,
    batch_size: int = 256,
    progress: ProgressCallback = no_progress,
    cancel: Optional[CancelToken] = None,
) -> np.ndarray:
    """N×z_dim → N×S×S×3 uint8 with ``model`` (a codec, or a bare torch autoencoder)."""
    return as_codec(model).decode(z, batch_size=batch_size, progress=progress, cancel=cancel)


def reconstruct_images(model, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """The model's reconstructions (uint8) of N×S×S×3 uint8 images."""
    return as_codec(model).reconstruct(images, batch_size=batch_size)


def mse(a: np.ndarray, b: np.ndarray) -> float:
    """Per-pixel mean squared error of two uint8 image stacks, on the [0, 1] scale."""
    d = a.astype(np.float32) / 255.0 - b.astype(np.float32) / 255.0
    return float(np.mean(d * d))


def encode_dataset(
    model_dir: str | Path,
    data: FaceDataset,
    *,
    model=None,
    dtype: str = "float32",
    progress: ProgressCallback = no_progress,
    cancel: Optional[CancelToken] = None,
) -> np.ndarray:
    """Encode ``data`` with the model in ``model_dir`` and store the latents there (holding the model
    folder's writer lock: a second writer is refused)."""
    model_dir = Path(model_dir)
    with model_writer(model_dir, "encode"):
        return _encode_dataset(model_dir, data, model, dtype, progress, cancel)


def _encode_dataset(model_dir: Path, data: FaceDataset, model, dtype, progress, cancel) -> np.ndarray:
    model = codec_for(model_dir, model)
    if data.preprocess.to_dict() != model.preprocess.to_dict():
        raise EngineError(
            f"{data.folder}: was loaded with preprocessing {data.preprocess.to_dict()}, the model needs {model.preprocess.to_dict()}"
        )
    broken = next((f for f in data.files if has_line_break(f)), None)
    if broken is not None:  # load_folder skips such files; a hand-made dataset may still hold one
        raise EngineError(f"{data.folder}: file {broken!r}: {LINE_BREAK_REASON} "
                          f"({model_store.LATENT_FILES} holds one name per line); rename it")
    z = encode_images(model, data.images, progress=progress, cancel=cancel)
    with np.errstate(over="ignore"):
        stored = z.astype(dtype, copy=False)
    finite = np.isfinite(stored).all(axis=1)
    if not finite.all():
        first = int(np.flatnonzero(~finite)[0])
        raise _non_finite_error(model_dir, int((~finite).sum()), len(z), data.files[first], dtype,
                                bool(np.isfinite(z[first]).all()))
    model_store.save_latents(model_dir, z, data.files, dtype=dtype)
    return z


# --------------------------------------------------------------------------------------------
# streaming, resumable encoding of large sets

PARTIAL_LATENTS = ".latents.partial.npy"
PARTIAL_NAMES = ".latents.partial.txt"
PARTIAL_STATE = ".latents.partial.json"
PARTIAL_FORMAT = 1
CHUNK_BYTES = 64 * 2**20  # decoded images held per chunk (two chunks are alive at once)


@dataclass
class Chunk:
    """A run of consecutive source items: the readable ones decoded, the others named."""

    images: np.ndarray  # k×S×S×3 uint8
    names: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    consumed: int = 0  # source items covered (readable + skipped)


class ImageSource(Protocol):
    """What :func:`encode_to_model` reads: ``len()`` items, yielded as chunks from any start."""

    key: str  # identifies the content; a partial encode of another key is started over
    preprocess: Optional[Preprocess]  # checked against the model's when not None

    def __len__(self) -> int: ...

    def chunks(self, start: int, size: int) -> Iterator[Chunk]: ...


class ArraySource:
    """Images already decoded: an N×S×S×3 uint8 array or memmap (e.g. a FaceDataset's)."""

    def __init__(self, images: np.ndarray, names: Sequence[str], key: Optional[str] = None,
                 preprocess: Optional[Preprocess] = None, skipped: Sequence[tuple[str, str]] = ()):
        if len(images) != len(names):
            raise ValueError("one name per image is needed")
        self.images, self.names, self.preprocess = images, list(names), preprocess
        self.skipped = list(skipped)
        if key is None:
            h = hashlib.sha256(repr((images.shape, str(images.dtype))).encode())
            for name in self.names:
                h.update(name.encode("utf-8", "surrogateescape") + b"\n")
            key = "array:" + h.hexdigest()[:24]
        self.key = key

    def __len__(self) -> int:
        return len(self.names)

    def chunks(self, start: int, size: int) -> Iterator[Chunk]:
        n = len(self)
        for i in range(start, n, size):
            j = min(n, i + size)
            skipped = self.skipped if j == n else []  # known up front (a cache's list): reported once
            yield Chunk(np.asarray(self.images[i:j]), self.names[i:j], skipped, j - i)


class FolderSource:
    """A folder of image files, decoded chunk by chunk on all cores (the next chunk decodes while
    this one is encoded), never all at once. When ``load_folder`` has already cached the folder,
    the cache's memmap is read instead."""

    def __init__(self, folder: str | os.PathLike, preprocess: Preprocess, *, workers: Optional[int] = None,
                 use_cache: bool = True, cache_dir: Optional[Path] = None):
        from . import image_data

        folder, files, self.ignored = image_data.image_folder_listing(folder)
        self.folder, self.files, self.preprocess = folder, files, preprocess
        self.workers = workers if workers is not None else min(os.cpu_count() or 1, 8)
        listing = image_data.cache_key(folder, files, preprocess)
        self.cached = None
        if use_cache:
            root = Path(cache_dir) if cache_dir else image_data.default_cache_dir()
            self.cached = image_data.read_cache(root, listing, folder, preprocess, self.ignored)
        # decoding the files and reading the cache count items differently: different keys
        self.key = f"{'cache' if self.cached is not None else 'folder'}:{listing}"
        if self.cached is not None:
            self._array = ArraySource(self.cached.images, self.cached.files, self.key, preprocess, self.cached.skipped)

    def __len__(self) -> int:
        return len(self._array) if self.cached is not None else len(self.files)

    def shard(self, lo: int, hi: int) -> "FolderSource":
        """Items ``lo`` … ``hi - 1`` of this source (one rank's part of a sharded encode), under their own key."""
        import copy

        part = copy.copy(self)
        part.key = f"{self.key}[{lo}:{hi}]"
        if self.cached is not None:
            a = self._array  # the cache's unreadable files are reported by the last shard
            part._array = ArraySource(a.images[lo:hi], a.names[lo:hi], part.key, self.preprocess,
                                      a.skipped if hi >= len(self) else ())
        else:
            part.files = self.files[lo:hi]
        return part

    def chunks(self, start: int, size: int) -> Iterator[Chunk]:
        if self.cached is not None:
            yield from self._array.chunks(start, size)
            return
        from . import image_data

        n = len(self.files)
        jobs = [(str(p), self.preprocess) for p in self.files]
        if self.workers <= 1 or n - start < 200:
            for i in range(start, n, size):
                yield self._chunk(i, [image_data.decode_worker(j) for j in jobs[i : i + size]])
            return
        with image_data.pool_context().Pool(self.workers) as pool:
            per_task = max(1, min(64, size // (4 * self.workers)))

            def submit(i):
                return pool.map_async(image_data.decode_worker, jobs[i : i + size], chunksize=per_task) if i < n else None

            i, pending = start, submit(start)
            while pending is not None:
                results = pending.get()
                following = submit(i + size)  # decode ahead: at most two chunks in memory
                yield self._chunk(i, results)
                i, pending = i + size, following

    def _chunk(self, start: int, results) -> Chunk:
        from .image_data import display_name

        s = self.preprocess.image_size
        good = [arr for arr, _ in results if arr is not None]
        images = np.stack(good) if good else np.empty((0, s, s, 3), np.uint8)
        names, skipped = [], []
        for k, (arr, reason) in enumerate(results):
            name = display_name(self.files[start + k])
            if arr is None:
                skipped.append((printable_name(name), reason))
            else:
                names.append(name)
        return Chunk(images, names, skipped, len(results))


@dataclass
class EncodeResult:
    folder: Path
    rows: int  # z-points written (readable images)
    inputs: int  # source items
    skipped: list[tuple[str, str]]
    resumed_from: int  # source items already done by an earlier, interrupted run (0: fresh)
    z_dim: int
    dtype: str = "float32"  # how latents.npy stores them

    def summary(self) -> str:
        text = (f"encoded {self.rows} images → {self.folder / model_store.LATENTS} "
                f"({self.rows}×{self.z_dim} {self.dtype})")
        if self.resumed_from:
            text += f"; resumed after {self.resumed_from} of {self.inputs}"
        if self.skipped:
            names = ", ".join(f"{n} ({r})" for n, r in self.skipped[:5])
            more = f", … {len(self.skipped) - 5} more" if len(self.skipped) > 5 else ""
            text += f"; skipped {len(self.skipped)} unreadable: {names}{more}"
        return text


@dataclass
class EncodeTarget:
    """Where a streaming encode writes: its partial files (state, rows, names) and the two files they become.
    The model folder's own (``latents.npy`` + ``latents_files.txt``) by default; one shard's files in a staging
    folder for a sharded encode (``engine.encode_shards``)."""

    state: Path
    latents: Path
    names: Path
    out_latents: Path
    out_names: Path
    extra: dict = field(default_factory=dict)  # added to the partial's identity (e.g. the shard's range)

    @classmethod
    def model(cls, model_dir: Path) -> "EncodeTarget":
        return cls(model_dir / PARTIAL_STATE, model_dir / PARTIAL_LATENTS, model_dir / PARTIAL_NAMES,
                   model_dir / model_store.LATENTS, model_dir / model_store.LATENT_FILES)

    def discard(self) -> None:
        for path in (self.state, self.latents, self.names, Path(str(self.latents) + ".exact")):
            try:
                path.unlink()
            except FileNotFoundError:
                pass


def _partial_identity(model_dir: Path, model, config, source, dtype: str) -> dict:
    return {
        "format": PARTIAL_FORMAT, "model_id": config.model_id, "weights": model.weights_identity(model_dir),
        "source": source.key, "inputs": len(source), "z_dim": config.arch.z_dim, "dtype": dtype,
    }


def discard_partial(model_dir: str | os.PathLike) -> None:
    """Forget an interrupted streaming encode of this model folder."""
    EncodeTarget.model(Path(model_dir)).discard()  # (and its ".exact" file of older versions)


#: bytes of the partial latents file's .npy header: fixed, so that it can be rewritten in place
#: with the final row count (a valid .npy header: magic, version 1.0, length, dict padded with spaces)
NPY_HEADER_BYTES = 128
_FULL_DISK = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def _npy_header(dtype: np.dtype, shape: tuple[int, int]) -> bytes:
    text = repr({"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False, "shape": tuple(shape)})
    room = NPY_HEADER_BYTES - 10
    body = text.encode("latin-1")
    if len(body) + 1 > room:
        raise ValueError(f"latents shape {shape} does not fit the .npy header")
    body = body + b" " * (room - len(body) - 1) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", room) + body


def _read_npy_header(path: Path) -> tuple[tuple, np.dtype, int]:
    """(shape, dtype, data offset) of a C-order .npy file; ValueError for anything else."""
    fmt = np.lib.format
    with open(path, "rb") as fh:
        version = fmt.read_magic(fh)
        if version != (1, 0):
            raise ValueError("unexpected .npy version")
        shape, fortran, dtype = fmt.read_array_header_1_0(fh)
        if fortran:
            raise ValueError("fortran order")
        return shape, dtype, fh.tell()


def _write_at(fh, data: bytes, offset: int) -> None:
    """Ordinary (buffered, then flushed) write at ``offset``: a full disk is an OSError here."""
    fh.seek(offset)
    fh.write(data)
    fh.flush()


def _create_partial_latents(path: Path, dtype: np.dtype, n: int, z_dim: int) -> None:
    """A .npy of n×z_dim rows whose blocks are really allocated (``posix_fallocate``): a disk too
    small is an ENOSPC now, before any work, never a SIGBUS from a sparse memory map later. Rows
    are written with ordinary writes (an ENOSPC there is an OSError too)."""
    total = NPY_HEADER_BYTES + n * z_dim * np.dtype(dtype).itemsize
    with open(path, "wb") as fh:
        try:
            os.posix_fallocate(fh.fileno(), 0, total)
        except AttributeError:  # not on this platform: a plain truncate (writes still report ENOSPC)
            fh.truncate(total)
        except OSError as exc:
            if exc.errno in _FULL_DISK:
                raise OSError(exc.errno, exc.strerror, str(path)) from None
            fh.truncate(total)  # the file system cannot preallocate (EOPNOTSUPP, EINVAL)
        _write_at(fh, _npy_header(dtype, (n, z_dim)), 0)


def _storable(name: str) -> str:
    """A name as it can be stored in UTF-8 (file names that are not UTF-8 get U+FFFD)."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        try:
            return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        except UnicodeEncodeError:
            return name.encode("utf-8", "replace").decode("utf-8")


def _storable_chunk(chunk: Chunk) -> Chunk:
    """The chunk without items whose names ``latents_files.txt`` cannot hold (a line break): they
    are skipped and named like unreadable files, so names and rows always pair up 1:1."""
    names = [_storable(nm) for nm in chunk.names]
    bad = [i for i, nm in enumerate(names) if has_line_break(nm)]
    if not bad:
        chunk.names = names
        return chunk
    dropped = set(bad)
    keep = [i for i in range(len(names)) if i not in dropped]
    skipped = list(chunk.skipped) + [(printable_name(names[i]), LINE_BREAK_REASON) for i in bad]
    return Chunk(np.asarray(chunk.images)[keep], [names[i] for i in keep], skipped, chunk.consumed)


class NonFiniteLatents(ModelFileError):
    """The encoder gave NaN/inf z-points: its weights are broken (or float16 cannot hold them)."""


def _non_finite_error(model_dir: Path, bad: int, seen: int, example: str, dtype: str, finite_in_f32: bool):
    why = (f"they overflow {dtype} (|z| > {float(np.finfo(np.float16).max):g}); encode with float32"
           if finite_in_f32 else "the weights are probably broken (a diverged training, e.g. a too large {opt:lr})")
    return NonFiniteLatents(
        f"{model_dir}: the model's encoder gives non-finite z-points (NaN or ±inf) for {bad:,} of the {seen:,} "
        f"images encoded so far (first: {printable_name(example)}); {why}; nothing was written, the previous "
        "latents are unchanged"
    )


class NothingReadable(DataError):
    """No item of an image source could be read: nothing was encoded, the partial files go."""


def _nothing_readable(source, model_dir: Path, n: int, skipped) -> NothingReadable:
    folder = getattr(source, "folder", None)
    reasons = ", ".join(f"{a} ({b})" for a, b in skipped[:3]) + (f", … {len(skipped) - 3} more" if len(skipped) > 3 else "")
    what = f"{folder}: none of the {n} image files could be read" if folder else \
        f"none of the {n} images could be read"
    return NothingReadable(f"{what}: {reasons}; nothing was encoded, {model_dir} is unchanged")


def codec_for(model_dir: Path, model=None, config=None):
    """The codec of the model in ``model_dir``: opened from the folder, or the one given (a bare torch
    module is wrapped with the folder's config, so its framing and id are the model's own)."""
    if model is None:
        return open_model(model_dir)
    if isinstance(model, ModelCodec):
        return model
    return TorchAutoencoderCodec(model, config or model_store.read_config(Path(model_dir)), Path(model_dir))


def _encode_rows(codec, images, batch_size, dtype, cancel) -> np.ndarray:
    out = np.empty((len(images), codec.z_dim), dtype=dtype)
    for i in range(0, len(images), batch_size):
        cancel.raise_if_cancelled()
        batch = np.asarray(images[i : i + batch_size])
        with np.errstate(over="ignore"):  # float16 overflow becomes inf, refused by the caller
            out[i : i + len(batch)] = codec.encode_batch(batch)
    return out


def encode_to_model(
    model_dir: str | os.PathLike,
    source: ImageSource,
    *,
    model=None,
    config=None,
    batch_size: int = 256,
    chunk_size: Optional[int] = None,
    dtype: str = "float32",
    fresh: bool = False,
    progress: ProgressCallback = no_progress,
    cancel: Optional[CancelToken] = None,
    target: Optional[EncodeTarget] = None,
) -> EncodeResult:
    """Encode every image of ``source`` into the model folder's latents, streaming and resumable.

    Memory: the model, two chunks of decoded images (``chunk_size`` images, by default as many as
    fit in 64 MB, at most 4096) and one batch of tensors; the z-rows are written to the partial
    file chunk by chunk (ordinary writes into blocks allocated up front, no memory map).

    Refused (an :class:`EngineError` naming the file, the previous latents unchanged): a disk too
    full for the latents (the partial files are removed: they would only hold space), a model whose
    encoder gives NaN/inf. Names with a line break are skipped and named (see ``image_data``).

    ``target``: write one shard's files instead of the model's z-points (a sharded encode: the caller holds the
    model folder's lock in one process of the job and merges the shards).
    """
    model_dir = Path(model_dir)
    if target is not None:
        return _encode_to_model(model_dir, source, model, config, batch_size, chunk_size, dtype, fresh, progress,
                                cancel, target)
    with model_writer(model_dir, "encode"):  # one writer per model folder, for the whole run
        return _encode_to_model(model_dir, source, model, config, batch_size, chunk_size, dtype, fresh, progress,
                                cancel, EncodeTarget.model(model_dir))


def _encode_to_model(model_dir: Path, source: ImageSource, model, config, batch_size, chunk_size, dtype, fresh,
                     progress, cancel, target: EncodeTarget) -> EncodeResult:
    cancel = cancel or CancelToken()
    model = codec_for(model_dir, model, config)
    config = model.config
    if dtype not in ("float32", "float16"):
        raise EngineError(f"must be float32 or float16, got {dtype!r}", param="dtype")
    pre = getattr(source, "preprocess", None)
    if pre is not None and pre.to_dict() != config.preprocess.to_dict():
        raise EngineError(f"the images were prepared with {pre.to_dict()}, the model needs {config.preprocess.to_dict()}")
    z_dim, size = model.z_dim, model.image_size
    n = len(source)
    if n == 0:
        raise EngineError("nothing to encode: the source holds no images")
    if chunk_size is None:
        chunk_size = int(np.clip(CHUNK_BYTES // (size * size * 3), batch_size, 4096))
    chunk_size = max(1, chunk_size)
    np_dtype = np.dtype(dtype)
    row_bytes = z_dim * np_dtype.itemsize
    try:
        return _encode_streaming(model_dir, source, model, config, n, z_dim, np_dtype, row_bytes, batch_size,
                                 chunk_size, dtype, fresh, progress, cancel, target)
    except (NonFiniteLatents, NothingReadable):
        target.discard()  # the same weights and files would give the same result on a re-run
        raise
    except OSError as exc:
        if exc.errno not in _FULL_DISK:
            raise
        target.discard()
        where = exc.filename or target.latents
        need = NPY_HEADER_BYTES + n * row_bytes
        need_text = f"{need / 2**20:,.1f} MB" if need >= 2**20 else f"{max(1, round(need / 1024))} KB"
        raise EngineError(
            f"{where}: {exc.strerror or 'no space left on device'} while encoding into {model_dir} "
            f"({n:,}×{z_dim} {dtype} latents need {need_text}); the previous latents are unchanged and "
            "the partial files were removed"
        ) from None


def _encode_streaming(model_dir, source, model, config, n, z_dim, np_dtype, row_bytes, batch_size, chunk_size,
                      dtype, fresh, progress, cancel, target: EncodeTarget) -> EncodeResult:
    state_path, lat_path, names_path = target.state, target.latents, target.names
    ident = dict(_partial_identity(model_dir, model, config, source, dtype), **target.extra)
    state = None
    if not fresh and state_path.is_file():
        try:
            state = json.loads(read_regular_file(state_path, "partial-encode state", 64 * 2**20).decode("utf-8"))
            if not isinstance(state, dict) or state.get("identity") != ident:
                state = None
            else:
                shape, got_dtype, offset = _read_npy_header(lat_path)
                if (shape != (n, z_dim) or got_dtype != np_dtype or offset != NPY_HEADER_BYTES
                        or lat_path.stat().st_size < NPY_HEADER_BYTES + n * row_bytes
                        or names_path.stat().st_size < state["names_bytes"]):
                    state = None
        except (OSError, ValueError, KeyError, TypeError, EngineError):
            state = None
    if state is None:
        target.discard()
        state = {"identity": ident, "done": 0, "rows": 0, "names_bytes": 0, "skipped": []}
        names_path.write_bytes(b"")
        _create_partial_latents(lat_path, np_dtype, n, z_dim)
    resumed_from = int(state["done"])
    with open(names_path, "r+b") as fh:
        fh.truncate(state["names_bytes"])  # drop names written after the last recorded chunk

    clock = EtaClock(max(1, n - resumed_from))
    done, rows, skipped = int(state["done"]), int(state["rows"]), [tuple(s) for s in state["skipped"]]
    if resumed_from:
        progress(Progress("encode", done, n, f"resuming after {done} of {n}"))
    with open(lat_path, "r+b") as lat_fh, open(names_path, "ab") as names_fh:
        for chunk in source.chunks(done, chunk_size):
            cancel.raise_if_cancelled()
            if len(chunk.names) != len(chunk.images):
                raise EngineError("image source gave a chunk whose names do not match its images")
            chunk = _storable_chunk(chunk)
            k = len(chunk.images)
            if rows + k > n:
                raise EngineError(f"image source gave more than the {n} images it announced")
            z = _encode_rows(model, chunk.images, batch_size, np_dtype, cancel)
            finite = np.isfinite(z).all(axis=1)
            if not finite.all():
                first = int(np.flatnonzero(~finite)[0])
                in_f32 = np_dtype != np.float32 and bool(np.isfinite(
                    _encode_rows(model, chunk.images[first : first + 1], 1, np.float32, cancel)).all())
                raise _non_finite_error(model_dir, int((~finite).sum()), rows + k, chunk.names[first], dtype, in_f32)
            _write_at(lat_fh, np.ascontiguousarray(z).tobytes(), NPY_HEADER_BYTES + rows * row_bytes)
            os.fsync(lat_fh.fileno())
            names_fh.write("".join(f"{name}\n" for name in chunk.names).encode("utf-8"))
            names_fh.flush()
            os.fsync(names_fh.fileno())
            rows += k
            done += chunk.consumed
            skipped += chunk.skipped
            state.update(done=done, rows=rows, names_bytes=names_fh.tell(), skipped=[list(s) for s in skipped])
            atomic_io.write_json(state_path, state)  # the chunk is safe on disk once this lands
            progress(Progress("encode", done, n, "encoding", eta_s=clock.eta(done - resumed_from)))
        cancel.raise_if_cancelled()
        if rows == 0:
            raise _nothing_readable(source, model_dir, n, skipped)
        if rows < n:  # unreadable items left rows unused: the header says so and the file is cut to size
            _write_at(lat_fh, _npy_header(np_dtype, (rows, z_dim)), 0)
            lat_fh.truncate(NPY_HEADER_BYTES + rows * row_bytes)
        os.fsync(lat_fh.fileno())

    names = names_path.read_bytes()
    lines = names.count(b"\n")
    if lines != rows:  # cannot happen: every row's name ends with exactly one "\n"
        raise EngineError(f"{names_path}: {lines} names for {rows} rows; re-run encode with {{opt:fresh}}")
    # publish both files together, as save_latents does: fsync both temps, then two renames
    out_z, out_names = target.out_latents, target.out_names
    atomic_io.remove_stale_temps(out_z.parent, (out_z.name, out_names.name))
    with atomic_io.atomic_paths(out_z, out_names) as (tmp_z, tmp_names):
        os.replace(lat_path, tmp_z)
        atomic_io.write_into(tmp_names, names)
    target.discard()
    return EncodeResult(model_dir, rows, n, skipped, resumed_from, z_dim, dtype)


def encode_folder(
    model_dir: str | os.PathLike,
    folder: str | os.PathLike,
    *,
    model=None,
    batch_size: int = 256,
    workers: Optional[int] = None,
    fresh: bool = False,
    cache_dir: Optional[Path] = None,
    dtype: str = "float32",
    progress: ProgressCallback = no_progress,
    cancel: Optional[CancelToken] = None,
) -> EncodeResult:
    """The CLI's ``encode``: stream a folder of images into the model folder's latents (reading the
    decode cache instead of the files when ``load_folder`` already cached this folder), stored as ``dtype``."""
    codec = codec_for(model_dir, model)
    source = FolderSource(folder, codec.preprocess, workers=workers, cache_dir=cache_dir)
    return encode_to_model(model_dir, source, model=codec, batch_size=batch_size, fresh=fresh, dtype=dtype,
                           progress=progress, cancel=cancel)
