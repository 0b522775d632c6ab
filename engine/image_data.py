"""Folders of face images → a uint8 array of cropped, resized RGB faces.

The reference layout is CelebA's ``img_align_celeba/`` (178×218 JPEGs); the usual CelebA-64
preprocessing is a centre crop of 140×140 scaled to the image's real size (our celeba-9k copy is
stored at half size, so the crop there is 70×70), then a resize to the model's image size.

Speed: JPEGs are decoded at reduced size where the codec allows it (``Image.draft``), the folder
is decoded on all cores, and the decoded array is cached on disk keyed by the folder's listing
(names, sizes, mtimes) and the preprocessing, so a second run over the same folder is a memory map.

Robustness: unreadable, truncated and non-image files are skipped and counted, with the reason
kept per file; grayscale, RGBA, palette, CMYK and 16-bit images are converted; an empty or missing
folder is a :class:`DataError`.
"""
from __future__ import annotations

import errno
import hashlib
import json
import multiprocessing
import os
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from . import atomic_io
from .errors import DataError
from .progress import CancelToken, EtaClock, Progress, ProgressCallback, no_progress

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif"}
CACHE_FORMAT = 2

#: CelebA's aligned images are 178×218; the face is the centre 140×140 square.
CELEBA_REFERENCE_SIZE = (178, 218)
CELEBA_CROP_BOX = (19, 39, 159, 179)


@dataclass(frozen=True)
class Preprocess:
    """How a file becomes a model input: a crop box (in reference pixels) and a square size.

    The box is given for an image of ``reference_size`` and scaled to each image's real size, so
    the same config serves CelebA at full and at half resolution.
    """

    image_size: int = 64
    reference_size: tuple[int, int] = CELEBA_REFERENCE_SIZE
    crop_box: tuple[int, int, int, int] = CELEBA_CROP_BOX

    def __post_init__(self):
        _check_ints("image_size", [self.image_size], 1)
        _check_ints("reference_size", self.reference_size, 2)
        _check_ints("crop_box", self.crop_box, 4, minimum=0)
        rw, rh = self.reference_size
        x0, y0, x1, y1 = self.crop_box
        if not (x0 < x1 <= rw and y0 < y1 <= rh):
            raise DataError(
                f"crop_box {list(self.crop_box)} must be (x0, y0, x1, y1) with x0 < x1, y0 < y1 inside the "
                f"reference_size {list(self.reference_size)}"
            )

    def to_dict(self) -> dict:
        return {
            "image_size": self.image_size,
            "reference_size": list(self.reference_size),
            "crop_box": list(self.crop_box),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Preprocess":
        """From ``config.json``'s section; raises DataError naming the bad key (JSON integers only)."""
        for key in ("image_size", "reference_size", "crop_box"):
            if key not in d:
                raise DataError(f"missing key \"{key}\"")
        size = d["image_size"]
        ref, box = d["reference_size"], d["crop_box"]
        if not isinstance(ref, (list, tuple)) or not isinstance(box, (list, tuple)):
            raise DataError("reference_size and crop_box must be lists of integers")
        _check_ints("image_size", [size], 1)
        return cls(image_size=size, reference_size=tuple(ref), crop_box=tuple(box))

    def box_for(self, width: int, height: int) -> tuple[float, float, float, float]:
        rw, rh = self.reference_size
        sx, sy = width / rw, height / rh
        x0, y0, x1, y1 = self.crop_box
        return (x0 * sx, y0 * sy, x1 * sx, y1 * sy)


def _check_ints(key: str, values, count: int, minimum: int = 1) -> None:
    ok = isinstance(values, (list, tuple)) and len(values) == count and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= minimum for v in values
    )
    if not ok:
        what = "an integer" if count == 1 else f"{count} integers"
        shown = values[0] if count == 1 and isinstance(values, (list, tuple)) and len(values) == 1 else values
        raise DataError(f"{key} must be {what} ≥ {minimum}, got {shown!r}")


@dataclass
class FaceDataset:
    """Decoded faces of one folder: ``images`` is N×S×S×3 uint8 (possibly a read-only memmap)."""

    folder: Path
    images: np.ndarray
    files: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file name, reason)
    ignored: int = 0  # files without an image suffix (README, .txt, folders)
    from_cache: bool = False
    preprocess: Preprocess = field(default_factory=Preprocess)

    def __len__(self) -> int:
        return len(self.files)

    def summary(self) -> str:
        """One line: how many images were used, skipped (named) and ignored."""
        text = f"{self.folder}: {len(self.files)} images"
        if self.from_cache:
            text += " (from cache)"
        if self.skipped:
            names = ", ".join(f"{n} ({r})" for n, r in self.skipped[:5])
            more = f", … {len(self.skipped) - 5} more" if len(self.skipped) > 5 else ""
            text += f"; skipped {len(self.skipped)} unreadable: {names}{more}"
        if self.ignored:
            text += f"; ignored {self.ignored} non-image file(s)"
        return text


def image_folder_listing(folder: str | os.PathLike) -> tuple[Path, list[Path], int]:
    """``(folder, image files, ignored count)`` of a folder that must hold images, else a :class:`DataError`."""
    folder = Path(folder)
    if not folder.exists():
        raise DataError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder")
    files, ignored = list_image_files(folder)
    if not files:
        raise DataError(f"{folder}: no image files (.jpg, .png, …) in this folder")
    return folder, files, ignored


def list_image_files(folder: Path) -> tuple[list[Path], int]:
    """Image files directly in ``folder`` sorted by name, and the count of other entries."""
    candidates: list[Path] = []
    ignored = 0
    try:
        entries = list(os.scandir(folder))
    except OSError as exc:
        raise DataError(f"{folder}: cannot read the folder ({exc.strerror or exc})") from exc
    for entry in entries:
        if entry.name.startswith("."):
            continue
        try:
            is_file = entry.is_file()  # follows links; a link loop raises or answers False
        except OSError:
            is_file = False
        if Path(entry.name).suffix.lower() in IMAGE_SUFFIXES and (is_file or _is_broken_link(entry)):
            # a dangling link or a link loop named like an image is kept, so that decoding
            # fails and it is reported as skipped with its reason instead of silently ignored
            candidates.append(Path(entry.path))
        else:
            ignored += 1
    candidates.sort(key=lambda p: p.name)
    return candidates, ignored


def _is_broken_link(entry: os.DirEntry) -> bool:
    try:
        if not entry.is_symlink():
            return False
        os.stat(entry.path)
    except OSError:
        return True
    return False


def _to_rgb(im):
    """Any Pillow mode → RGB; alpha is composited over white, 16-bit is scaled, not clipped."""
    from PIL import Image

    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        peak = 65535.0 if im.mode.startswith("I;16") or arr.max() > 255 else 255.0
        arr = np.clip(arr / peak * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(arr, "L").convert("RGB")
    if im.mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if im.mode != "RGB":
        return im.convert("RGB")
    return im


def decode_face(path: str | os.PathLike, pre: Preprocess) -> np.ndarray:
    """Decode one file into an S×S×3 uint8 face. Raises ValueError/OSError on a bad file."""
    from PIL import Image

    size = pre.image_size
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(path) as im:
            full_w, full_h = im.size
            x0, y0, x1, y1 = pre.box_for(full_w, full_h)
            if im.format == "JPEG":
                # Ask the codec for the smallest DCT scale that still keeps the crop ≥ size.
                scale = min((x1 - x0) / size, (y1 - y0) / size)
                if scale >= 2:
                    im.draft("RGB", (int(full_w / scale) + 1, int(full_h / scale) + 1))
            w, h = im.size
            box = pre.box_for(w, h)
            im = _to_rgb(im)
            im = im.resize((size, size), Image.Resampling.LANCZOS, box=box)
            arr = np.asarray(im, dtype=np.uint8)
    if arr.shape != (size, size, 3):
        raise ValueError(f"decoded to shape {arr.shape}")
    return arr


def decode_worker(args):
    path, pre = args
    try:
        return decode_face(path, pre), None
    except Exception as exc:  # noqa: BLE001 - every failure becomes a reason string
        try:
            if os.stat(path).st_size == 0:
                return None, "empty file (0 bytes)"
        except OSError:
            pass
        return None, _reason(exc)


def _reason(exc: BaseException) -> str:
    from PIL import Image, UnidentifiedImageError

    if isinstance(exc, UnidentifiedImageError):
        return "not an image"
    if isinstance(exc, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
        return "image too large (decompression-bomb guard)"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, OSError) and exc.errno == errno.ELOOP:
        return "symbolic link loop"
    if isinstance(exc, FileNotFoundError):
        return "broken link (its target is missing)" if os.path.islink(exc.filename or "") else "file not found"
    if isinstance(exc, OSError) and "truncated" in str(exc).lower():
        return "truncated file"
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:120]


def default_cache_dir(kind: str = "images") -> Path:
    """The user's cache folder for ``kind`` (decoded images, latent statistics, ...).

    ``LFS_CACHE_DIR`` moves the whole cache: images stay directly in it (as before), other kinds
    get a sub-folder."""
    env = os.environ.get("LFS_CACHE_DIR")
    if env:
        return Path(env) if kind == "images" else Path(env) / kind
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "latent-face-studio" / kind


def cache_key(folder: Path, files: Sequence[Path], pre: Preprocess) -> str:
    h = hashlib.sha256()
    h.update(json.dumps({"format": CACHE_FORMAT, "folder": str(folder.resolve()), "pre": pre.to_dict()}).encode())
    for p in files:
        try:
            st = p.stat()
            h.update(f"{p.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
        except OSError:
            h.update(f"{p.name}\0missing\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()[:32]


def pool_context():
    # forkserver/spawn are safe from threaded callers (the GUI's worker thread); fork is not.
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("forkserver")
    return multiprocessing.get_context("spawn")


def display_name(p: Path) -> str:
    return p.name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def load_folder(
    folder: str | os.PathLike,
    preprocess: Optional[Preprocess] = None,
    *,
    workers: Optional[int] = None,
    cache: bool = True,
    cache_dir: Optional[Path] = None,
    progress: ProgressCallback = no_progress,
    cancel: Optional[CancelToken] = None,
) -> FaceDataset:
    """Decode every image of ``folder`` (not recursive) into a :class:`FaceDataset`."""
    pre = preprocess or Preprocess()
    cancel = cancel or CancelToken()
    folder, files, ignored = image_folder_listing(folder)

    cache_root = Path(cache_dir) if cache_dir else default_cache_dir()
    key = cache_key(folder, files, pre)
    if cache:
        hit = read_cache(cache_root, key, folder, pre, ignored)
        if hit is not None:
            progress(Progress("load images", len(hit), len(hit), hit.summary()))
            return hit

    n = len(files)
    out = np.empty((n, pre.image_size, pre.image_size, 3), dtype=np.uint8)
    good: list[str] = []
    skipped: list[tuple[str, str]] = []
    clock = EtaClock(n)
    jobs = [(str(p), pre) for p in files]
    n_workers = workers if workers is not None else min(os.cpu_count() or 1, 8)

    def consume(results):
        for i, (arr, reason) in enumerate(results):
            name = display_name(files[i])
            if arr is None:
                skipped.append((name, reason))
            else:
                out[len(good)] = arr
                good.append(name)
            if i % 256 == 0 or i == n - 1:
                cancel.raise_if_cancelled()
                progress(Progress("load images", i + 1, n, f"decoding {folder.name}", eta_s=clock.eta(i + 1)))

    if n_workers <= 1 or n < 200:
        consume(decode_worker(j) for j in jobs)
    else:
        with pool_context().Pool(n_workers) as pool:
            consume(pool.imap(decode_worker, jobs, chunksize=64))
    if not good:
        reasons = ", ".join(f"{a} ({b})" for a, b in skipped[:3])
        raise DataError(f"{folder}: none of the {n} image files could be read: {reasons}")
    images = out[: len(good)]
    ds = FaceDataset(folder, images, good, skipped, ignored, False, pre)
    if cache:
        _write_cache(cache_root, key, ds)
    return ds


def read_cache(root: Path, key: str, folder: Path, pre: Preprocess, ignored: int) -> Optional[FaceDataset]:
    meta_path, arr_path = root / f"{key}.json", root / f"{key}.npy"
    try:
        meta = json.loads(meta_path.read_text("utf-8"))
        images = np.load(arr_path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    if not isinstance(meta, dict) or meta.get("format") != CACHE_FORMAT:
        return None  # a damaged or foreign cache entry only costs a re-decode
    files = meta.get("files")
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        return None
    if images.ndim != 4 or images.shape[0] != len(files):
        return None
    if images.shape[1:] != (pre.image_size, pre.image_size, 3) or images.dtype != np.uint8:
        return None
    try:
        skipped = [(str(name), str(reason)) for name, reason in meta.get("skipped", [])]
    except (TypeError, ValueError):
        return None
    return FaceDataset(folder, images, list(files), skipped, ignored, True, pre)


def _write_cache(root: Path, key: str, ds: FaceDataset) -> None:
    try:
        atomic_io.save_npy(root / f"{key}.npy", ds.images)
        atomic_io.write_json(
            root / f"{key}.json",
            {"format": CACHE_FORMAT, "folder": str(ds.folder), "files": ds.files, "skipped": ds.skipped},
        )
    except OSError:
        pass  # a cache we cannot write (read-only home, full disk) only costs speed


def load_files(paths: Sequence[str | os.PathLike], preprocess: Optional[Preprocess] = None) -> tuple[np.ndarray, list[str], list[tuple[str, str]]]:
    """Decode a short explicit list of files (no cache, no pool): images, names, skipped."""
    pre = preprocess or Preprocess()
    images, names, skipped = [], [], []
    for p in paths:
        arr, reason = decode_worker((str(p), pre))
        if arr is None:
            skipped.append((Path(p).name, reason))
        else:
            images.append(arr)
            names.append(Path(p).name)
    stack = np.stack(images) if images else np.empty((0, pre.image_size, pre.image_size, 3), np.uint8)
    return stack, names, skipped
