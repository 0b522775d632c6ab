"""Encode images into z-points and decode z-vectors into images, in batches.

``encode_dataset`` writes the model folder's ``latents.npy`` and ``latents_files.txt``
(atomically, so a cancelled or failed run leaves the previous latents intact).

``encode_to_model`` is the streaming form for large sets (the CLI's ``encode``): an
:class:`ImageSource` (a folder decoded chunk by chunk, an array or memmap, or any generator-like
source) is encoded chunk by chunk, so memory stays bounded by a couple of chunks whatever the
number of images; z-rows go straight into a memory-mapped ``.latents.partial.npy`` in the model
folder, the names into ``.latents.partial.txt``, and ``.latents.partial.json`` records how far it
got after every chunk. A re-run after a kill or a cancel continues from there; at the end the
partial files are renamed into ``latents.npy`` / ``latents_files.txt`` (fsync + rename, so a
reader sees the old latents or the new ones, never half of them).
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional, Protocol, Sequence

import numpy as np
import torch

from . import atomic_io, model_store
from .autoencoder import images_to_tensor, tensor_to_images
from .image_data import FaceDataset, Preprocess
from .progress import CancelToken, EtaClock, Progress, ProgressCallback, no_progress


@torch.no_grad()
def encode_images(
    model,
    images: np.ndarray,
    *,
    batch_size: int = 256,
    progress: ProgressCallback = no_progress,
    cancel: Optional[CancelToken] = None,
) -> np.ndarray:
    """N×S×S×3 uint8 → N×z_dim float32."""
    cancel = cancel or CancelToken()
    device = next(model.parameters()).device
    model.eval()
    n = len(images)
    out = np.empty((n, model.arch.z_dim), dtype=np.float32)
    clock = EtaClock(n)
    for i in range(0, n, batch_size):
        cancel.raise_if_cancelled()
        x = images_to_tensor(images[i : i + batch_size], device)
        out[i : i + len(x)] = model.encode(x).float().cpu().numpy()
        done = min(n, i + batch_size)
        progress(Progress("encode", done, n, "encoding", eta_s=clock.eta(done)))
    return out


@torch.no_grad()
def decode_latents(
    model,
    z: np.ndarray,
    *,
    batch_size: int = 256,
    progress: ProgressCallback = no_progress,
    cancel: Optional[CancelToken] = None,
) -> np.ndarray:
    """N×z_dim → N×S×S×3 uint8."""
    cancel = cancel or CancelToken()
    device = next(model.parameters()).device
    model.eval()
    z = np.asarray(z, dtype=np.float32)
    if z.ndim != 2 or z.shape[1] != model.arch.z_dim:
        from .errors import EngineError

        raise EngineError(f"z-vectors of shape {list(z.shape)} do not fit this model (z_dim {model.arch.z_dim})")
    s = model.arch.image_size
    out = np.empty((len(z), s, s, 3), dtype=np.uint8)
    for i in range(0, len(z), batch_size):
        cancel.raise_if_cancelled()
        zt = torch.from_numpy(z[i : i + batch_size]).to(device)
        out[i : i + len(zt)] = tensor_to_images(model.decode(zt))
        progress(Progress("decode", min(len(z), i + batch_size), len(z), "decoding"))
    return out


@torch.no_grad()
def reconstruct_images(model, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """The model's reconstructions (uint8) of N×S×S×3 uint8 images."""
    device = next(model.parameters()).device
    model.eval()
    out = np.empty_like(images)
    for i in range(0, len(images), batch_size):
        x = images_to_tensor(images[i : i + batch_size], device)
        out[i : i + len(x)] = tensor_to_images(model(x))
    return out


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
    """Encode ``data`` with the model in ``model_dir`` and store the latents there."""
    model_dir = Path(model_dir)
    if model is None:
        model, config = model_store.load_model(model_dir)
    else:
        config = model_store.read_config(model_dir)
    if data.preprocess.to_dict() != config.preprocess.to_dict():
        from .errors import EngineError

        raise EngineError(
            f"{data.folder}: was loaded with preprocessing {data.preprocess.to_dict()}, the model needs {config.preprocess.to_dict()}"
        )
    z = encode_images(model, data.images, progress=progress, cancel=cancel)
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
                skipped.append((name, reason))
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

    def summary(self) -> str:
        text = f"encoded {self.rows} images → {self.folder / model_store.LATENTS} ({self.rows}×{self.z_dim})"
        if self.resumed_from:
            text += f"; resumed after {self.resumed_from} of {self.inputs}"
        if self.skipped:
            names = ", ".join(f"{n} ({r})" for n, r in self.skipped[:5])
            more = f", … {len(self.skipped) - 5} more" if len(self.skipped) > 5 else ""
            text += f"; skipped {len(self.skipped)} unreadable: {names}{more}"
        return text


def _partial_identity(model_dir: Path, config, source, dtype: str) -> dict:
    st = (model_dir / model_store.WEIGHTS).stat()
    return {
        "format": PARTIAL_FORMAT, "model_id": config.model_id, "weights": [st.st_size, st.st_mtime_ns],
        "source": source.key, "inputs": len(source), "z_dim": config.arch.z_dim, "dtype": dtype,
    }


def discard_partial(model_dir: str | os.PathLike) -> None:
    """Forget an interrupted streaming encode of this model folder."""
    for name in (PARTIAL_STATE, PARTIAL_LATENTS, PARTIAL_NAMES):
        try:
            (Path(model_dir) / name).unlink()
        except FileNotFoundError:
            pass


def _fsync(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


@torch.no_grad()
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
) -> EncodeResult:
    """Encode every image of ``source`` into the model folder's latents, streaming and resumable.

    Memory: the model, two chunks of decoded images (``chunk_size`` images, by default as many as
    fit in 64 MB, at most 4096) and one batch of tensors; the z-rows go to a memory-mapped file.
    """
    from numpy.lib.format import open_memmap

    from .errors import EngineError

    cancel = cancel or CancelToken()
    model_dir = Path(model_dir)
    if model is None:
        model, config = model_store.load_model(model_dir)
    elif config is None:
        config = model_store.read_config(model_dir)
    if dtype not in ("float32", "float16"):
        raise EngineError(f"latents dtype must be float32 or float16, got {dtype!r}")
    pre = getattr(source, "preprocess", None)
    if pre is not None and pre.to_dict() != config.preprocess.to_dict():
        raise EngineError(f"the images were prepared with {pre.to_dict()}, the model needs {config.preprocess.to_dict()}")
    z_dim, size = config.arch.z_dim, config.arch.image_size
    n = len(source)
    if n == 0:
        raise EngineError("nothing to encode: the source holds no images")
    if chunk_size is None:
        chunk_size = int(np.clip(CHUNK_BYTES // (size * size * 3), batch_size, 4096))
    chunk_size = max(1, chunk_size)

    state_path, lat_path, names_path = (model_dir / PARTIAL_STATE, model_dir / PARTIAL_LATENTS, model_dir / PARTIAL_NAMES)
    ident = _partial_identity(model_dir, config, source, dtype)
    state = None
    if not fresh and state_path.is_file():
        try:
            state = json.loads(state_path.read_text("utf-8"))
            if state.get("identity") != ident:
                state = None
            else:
                mm = open_memmap(lat_path, mode="r+")
                if mm.shape != (n, z_dim) or mm.dtype != np.dtype(dtype) or names_path.stat().st_size < state["names_bytes"]:
                    state = None
        except (OSError, ValueError, KeyError, TypeError):
            state = None
    if state is None:
        discard_partial(model_dir)
        state = {"identity": ident, "done": 0, "rows": 0, "names_bytes": 0, "skipped": []}
        mm = open_memmap(lat_path, mode="w+", dtype=np.dtype(dtype), shape=(n, z_dim))
        names_path.write_bytes(b"")
    resumed_from = int(state["done"])
    with open(names_path, "r+b") as fh:
        fh.truncate(state["names_bytes"])  # drop names written after the last recorded chunk

    device = next(model.parameters()).device
    model.eval()
    clock = EtaClock(max(1, n - resumed_from))
    done, rows, skipped = int(state["done"]), int(state["rows"]), [tuple(s) for s in state["skipped"]]
    if resumed_from:
        progress(Progress("encode", done, n, f"resuming after {done} of {n}"))
    with open(names_path, "ab") as names_fh:
        for chunk in source.chunks(done, chunk_size):
            cancel.raise_if_cancelled()
            k = len(chunk.images)
            if len(chunk.names) != k:
                raise EngineError("image source gave a chunk whose names do not match its images")
            if rows + k > n:
                raise EngineError(f"image source gave more than the {n} images it announced")
            for i in range(0, k, batch_size):
                cancel.raise_if_cancelled()
                x = images_to_tensor(chunk.images[i : i + batch_size], device)
                mm[rows + i : rows + i + len(x)] = model.encode(x).float().cpu().numpy()
            mm.flush()
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
        raise EngineError("none of the images could be read, nothing was encoded")

    # publish: names first, then the rows (as save_latents does)
    del mm
    final_lat = lat_path
    if rows < n:  # unreadable items left rows unused: copy the used ones into an exact-size array
        final_lat = model_dir / (PARTIAL_LATENTS + ".exact")
        src = np.load(lat_path, mmap_mode="r", allow_pickle=False)
        dst = open_memmap(final_lat, mode="w+", dtype=src.dtype, shape=(rows, z_dim))
        for i in range(0, rows, 65536):
            j = min(rows, i + 65536)
            dst[i:j] = src[i:j]
        dst.flush()
        del dst, src
    _fsync(final_lat)
    atomic_io.write_bytes(model_dir / model_store.LATENT_FILES, names_path.read_bytes())
    os.replace(final_lat, model_dir / model_store.LATENTS)
    discard_partial(model_dir)
    return EncodeResult(model_dir, rows, n, skipped, resumed_from, z_dim)


def encode_folder(
    model_dir: str | os.PathLike,
    folder: str | os.PathLike,
    *,
    model=None,
    batch_size: int = 256,
    workers: Optional[int] = None,
    fresh: bool = False,
    cache_dir: Optional[Path] = None,
    progress: ProgressCallback = no_progress,
    cancel: Optional[CancelToken] = None,
) -> EncodeResult:
    """The CLI's ``encode``: stream a folder of images into the model folder's latents (reading the
    decode cache instead of the files when ``load_folder`` already cached this folder)."""
    if model is None:
        model, config = model_store.load_model(model_dir)
    else:
        config = model_store.read_config(Path(model_dir))
    source = FolderSource(folder, config.preprocess, workers=workers, cache_dir=cache_dir)
    return encode_to_model(model_dir, source, model=model, config=config, batch_size=batch_size, fresh=fresh,
                           progress=progress, cancel=cancel)
