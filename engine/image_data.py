"""Folders of face images → a uint8 array of cropped, resized RGB faces.

The reference layout is CelebA's ``img_align_celeba/`` (178×218 JPEGs); the usual CelebA-64
preprocessing is a centre crop of 140×140 scaled to the image's real size (our celeba-9k copy is
stored at half size, so the crop there is 70×70), then a resize to the model's image size.

Speed: JPEGs are decoded at reduced size where the codec allows it (``Image.draft``), the folder
is decoded on all cores, and the decoded array is cached on disk keyed by the folder's listing
(names, sizes, mtimes) and the preprocessing, so a second run over the same folder is a memory map.

Robustness: unreadable, truncated and non-image files are skipped and counted, with the reason
kept per file; grayscale, RGBA, palette, CMYK, 16-bit and float images are converted; an empty or
missing folder is a :class:`DataError`.

* File names: a name holding a line break (``\n`` or ``\r``) is skipped ("file name contains a line
  break"): the model's ``latents_files.txt`` holds one name per line and could not store it. Other
  odd characters (U+2028, ``\x85``, ``\v``, …) are kept; the names file is split on ``\n`` only.
  A name stored in a model is joined onto a folder only through :func:`file_in_folder`, which
  refuses anything but a plain name directly in that folder (no ``/``, ``..`` or absolute path).
* EXIF orientation is applied (phone photos are stored sideways with an orientation tag); the crop
  box is mapped onto the stored pixels and only the small result is turned, so it costs nothing.
* Float images (mode ``F``, e.g. 32-bit TIFF): values in [0, 1] are scaled ×255, values in [0, 255]
  kept, any other range is stretched from its minimum (black) to its maximum (white); NaN → black.
  32-bit integer images (mode ``I``): [0, 255] kept, [0, 65535] scaled as 16-bit, else stretched.
  16-bit images: ×255/65535.
* Memory (:mod:`engine.image_open`): a header declaring more pixels than its format may have (a
  JPEG, decoded reduced by draft mode, up to 268 megapixels; any other format 89.5) is a bomb,
  skipped before decoding; the bytes a decode needs (the decoded pixels in Pillow's storage plus any
  full-size copy the conversion makes, a progressive JPEG's coefficient buffers) are bounded by
  :data:`MAX_DECODE_BYTES` before a pixel is decoded; a larger image is skipped as "image too large
  to decode: … MB". JPEGs are counted at their draft (reduced) size.
"""
from __future__ import annotations

import errno
import hashlib
import json
import math
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
from .image_open import (  # noqa: F401 - ImageTooLarge, decode_bytes and _STORAGE_BYTES are used through this module too
    _STORAGE_BYTES, BOMB_REASON, ImageBomb, ImageTooLarge, check_decode_budget, decode_bytes, draft_jpeg, open_image,
)
from .progress import CancelToken, EtaClock, Progress, ProgressCallback, no_progress

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif"}
CACHE_FORMAT = 3  # 3: EXIF orientation, float images, names with line breaks skipped

#: The most memory one image's decode may take (decoded pixels + full-size conversion copies). A
#: 9400×9400 16-bit PNG (169 MB as pixels, 187 KB as a file) is over it; a 40-megapixel RGB photo
#: (153 MB) is not. Each decoder process holds at most one image at a time.
MAX_DECODE_BYTES = 160 * 2**20

#: Why a file whose name holds "\n" or "\r" is skipped (``latents_files.txt`` is one name a line).
LINE_BREAK_REASON = "file name contains a line break"

#: The size cap of small files the user hands over (label files, JSON parameters): CelebA's
#: list_attr_celeba.txt is 26 MB.
MAX_SMALL_FILE_BYTES = 256 * 2**20

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


# ---------------------------------------------------------------------------------------------
# file names and small user files


def has_line_break(name: str) -> bool:
    """True for a name that ``latents_files.txt`` (one name per line) cannot hold."""
    return "\n" in name or "\r" in name


def printable_name(name: str) -> str:
    """``name`` for a one-line message: line breaks and other control characters as escapes."""
    if name.isprintable():
        return name
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in name)


def name_problem(name: str) -> Optional[str]:
    """Why ``name`` (from a model's ``latents_files.txt``, a label file, …) is not a plain file name
    directly in a folder, or None when it is."""
    if not isinstance(name, str) or name == "":
        return "an empty name"
    if "\0" in name:
        return "a name with a NUL character"
    if has_line_break(name):
        return LINE_BREAK_REASON
    if os.path.isabs(name) or name.startswith("/") or (os.name == "nt" and ":" in name):
        return "an absolute path, not a file name"
    seps = {"/", os.sep, os.altsep or "/"}  # on POSIX a backslash is an ordinary character of a name
    if name in (".", "..") or any(sep in name for sep in seps):
        return "a path, not a file name (a name may not contain / or be . or ..)"
    return None


def file_in_folder(folder: str | os.PathLike, name: str) -> Optional[Path]:
    """``folder / name`` when ``name`` is a plain file name, else None: a stored name never leads
    out of its folder (``../x.png``, ``/etc/passwd``, ``sub/x.png`` and ``..`` all give None).
    Links inside the folder are the user's own and are followed as usual."""
    if name_problem(name) is not None:
        return None
    return Path(folder) / name


def check_regular_file(path: str | os.PathLike, what: str = "file", limit: Optional[int] = None,
                       error: type = DataError) -> int:
    """The size of a file the user handed over, refusing, from its metadata alone (nothing is opened),
    anything but a regular file (after following links) of at most ``limit`` bytes: a folder, a FIFO,
    a device, a missing file or a link loop is one line naming the file. For large files read by a
    library (photos, Keras models); small ones are read whole by :func:`read_regular_file`."""

    path = Path(path)
    try:
        st = os.stat(path)
    except OSError as exc:
        raise error(_unopenable(exc, path, what, "read")) from None
    _refuse_unless_regular(st, path, what, limit, error)
    return st.st_size


def _a(what: str) -> str:
    """``what`` with its indefinite article: "a photo", "an ONNX encoder"."""
    return ("an " if what[:1].lower() in "aeiou" else "a ") + what


def _unopenable(exc: OSError, path: Path, what: str, verb: str) -> str:
    """The one line for a user file that could not be looked at (``os.stat``) or opened (``os.open``), for
    :func:`check_regular_file` and :func:`read_regular_file`."""
    if isinstance(exc, FileNotFoundError):
        broken = " (a link whose target is missing)" if os.path.islink(path) else ""
        return f"{path}: no such {what}{broken}"
    if isinstance(exc, IsADirectoryError):
        return f"{path}: is a folder, not {_a(what)}"
    if isinstance(exc, PermissionError):
        return f"{path}: permission denied"
    if exc.errno == errno.ELOOP:
        return f"{path}: symbolic link loop"
    if exc.errno == errno.ENXIO:  # a socket or a FIFO without a writer on some systems
        return f"{path}: not a regular file, cannot be read as {_a(what)}"
    return f"{path}: cannot {verb} ({exc.strerror or exc})"


def _refuse_unless_regular(st: os.stat_result, path: Path, what: str, limit: Optional[int], error: type) -> None:
    """The one check of a user file's kind and size, for :func:`check_regular_file` and :func:`read_regular_file`."""
    import stat

    if stat.S_ISDIR(st.st_mode):
        raise error(f"{path}: is a folder, not {_a(what)}")
    if not stat.S_ISREG(st.st_mode):
        kind = ("a FIFO (named pipe)" if stat.S_ISFIFO(st.st_mode) else
                "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else
                "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file")
        raise error(f"{path}: is {kind}, not a regular file; {_a(what)} must be a regular file")
    if limit is not None and st.st_size > limit:
        raise error(f"{path}: {st.st_size / 2**20:,.0f} MB is too large for {_a(what)} (at most {limit // 2**20} MB)")


def read_regular_file(path: str | os.PathLike, what: str = "file", limit: int = MAX_SMALL_FILE_BYTES,
                      error: type = DataError) -> bytes:
    """The bytes of a small file the user handed over, refusing anything but a regular file (after
    following links) of at most ``limit`` bytes: a FIFO would block for ever, ``/dev/zero`` or a
    huge file would fill the memory. Raises ``error`` (a :class:`DataError` by default) with one
    line naming the file."""

    path = Path(path)
    try:
        # O_NONBLOCK: opening a FIFO for reading must not wait for a writer
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise error(_unopenable(exc, path, what, "open")) from None
    try:
        _refuse_unless_regular(os.fstat(fd), path, what, limit, error)
        if hasattr(os, "O_NONBLOCK"):
            os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=True) as fh:
            fd = -1
            data = fh.read(limit + 1)  # a file that grows while read (or /proc) is still capped
    except OSError as exc:
        raise error(f"{path}: cannot read ({exc.strerror or exc})") from None
    finally:
        if fd >= 0:
            os.close(fd)
    if len(data) > limit:
        raise error(f"{path}: more than {limit // 2**20} MB is too large for {_a(what)}")
    return data


# ---------------------------------------------------------------------------------------------
# decoding


_HIGH_BIT = {"I;16", "I;16L", "I;16B", "I;16N", "I", "F"}

_EXIF_ORIENTATION = 0x0112
_TURNS = None  # orientation → Image.Transpose, filled on first use (Pillow is imported lazily)


def _transpose_ops():
    global _TURNS
    if _TURNS is None:
        from PIL import Image

        t = Image.Transpose
        _TURNS = {2: t.FLIP_LEFT_RIGHT, 3: t.ROTATE_180, 4: t.FLIP_TOP_BOTTOM, 5: t.TRANSPOSE,
                  6: t.ROTATE_270, 7: t.TRANSVERSE, 8: t.ROTATE_90}
    return _TURNS


def exif_orientation(im) -> int:
    """The EXIF orientation (1–8) of an opened image, 1 when it has none or a damaged one.
    Cheap: the EXIF block is parsed only when the file has one (no pixel is decoded)."""
    if im.format != "TIFF" and "exif" not in im.info:
        return 1
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Corrupt EXIF data"
            o = im.getexif().get(_EXIF_ORIENTATION, 1)
    except Exception:  # noqa: BLE001 - a damaged EXIF block does not make a bad picture
        return 1
    return o if isinstance(o, int) and 1 <= o <= 8 else 1


def _stored_box(box, orientation: int, w: int, h: int):
    """A box on the upright picture → the same region on the stored pixels (w×h)."""
    x0, y0, x1, y1 = box
    b = {
        1: (x0, y0, x1, y1), 2: (w - x1, y0, w - x0, y1), 3: (w - x1, h - y1, w - x0, h - y0),
        4: (x0, h - y1, x1, h - y0), 5: (y0, x0, y1, x1), 6: (y0, h - x1, y1, h - x0),
        7: (w - y1, h - x1, w - y0, h - x0), 8: (w - y1, x0, w - y0, x1),
    }[orientation]
    return (min(max(b[0], 0.0), w), min(max(b[1], 0.0), h), min(max(b[2], 0.0), w), min(max(b[3], 0.0), h))


def _value_scale(im) -> tuple[float, float]:
    """(offset, gain) taking a 16-bit, 32-bit integer or float image's values to 0…255."""
    mode = im.mode
    if mode.startswith("I;16"):
        return 0.0, 255.0 / 65535.0
    lo, hi = im.getextrema()
    if not (math.isfinite(lo) and math.isfinite(hi)):
        arr = np.asarray(im, dtype=np.float32)
        finite = arr[np.isfinite(arr)]
        if finite.size == 0:
            return 0.0, 0.0
        lo, hi = float(finite.min()), float(finite.max())
    if mode == "F" and lo >= 0.0 and hi <= 1.0:
        return 0.0, 255.0
    if lo >= 0.0 and hi <= 255.0:
        return 0.0, 1.0
    if mode == "I" and lo >= 0 and hi <= 65535:
        return 0.0, 255.0 / 65535.0
    if hi > lo:
        return float(lo), 255.0 / (float(hi) - float(lo))
    return 0.0, 1.0  # a constant image outside 0…255: clipped


def resize_to_rgb(im, size, box=None):
    """The region ``box`` (default: all) of any Pillow image → an RGB image of ``size`` (an int for a
    square, or (width, height)). Alpha is composited over white, 16-bit/32-bit/float values are
    scaled (see the module docstring), never clipped; the full-size image is converted only where the
    mode needs it (see :func:`decode_bytes`)."""
    from PIL import Image

    size = (size, size) if isinstance(size, int) else tuple(size)
    lanczos = Image.Resampling.LANCZOS
    mode = im.mode
    if mode in _HIGH_BIT:
        offset, gain = _value_scale(im)
        small = im.resize(size, lanczos, box=box)
        arr = (np.asarray(small, dtype=np.float64) - offset) * gain
        arr = np.nan_to_num(arr, nan=0.0, posinf=255.0, neginf=0.0)
        arr = np.clip(arr + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(arr, "L").convert("RGB")
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif mode in ("PA", "La", "RGBa"):
        im = im.convert("RGBA")
    elif mode not in ("RGB", "L", "RGBA", "LA"):
        im = im.convert("RGB")
    # the same size (a photo the codec already reduced to fit): no resampled copy of it
    small = im if box is None and size == im.size and im.mode == "RGB" else im.resize(size, lanczos, box=box)
    if small.mode in ("RGBA", "LA"):
        # resize works on premultiplied alpha, so compositing the small result over white equals
        # compositing first (up to rounding)
        rgba = small.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return small if small.mode == "RGB" else small.convert("RGB")


def decode_face(path: str | os.PathLike, pre: Preprocess) -> np.ndarray:
    """Decode one file into an S×S×3 uint8 face. Raises ValueError/OSError on a bad file."""
    from PIL import Image

    size = pre.image_size
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Pillow's "Corrupt EXIF data": the pixels are fine
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with open_image(path) as im:
            full_w, full_h = im.size
            orientation = exif_orientation(im)
            turned = orientation >= 5  # stored sideways: the upright picture is h×w
            if im.format == "JPEG":
                # Ask the codec for the smallest DCT scale that still keeps the crop ≥ size.
                x0, y0, x1, y1 = pre.box_for(*((full_h, full_w) if turned else (full_w, full_h)))
                scale = min((x1 - x0) / size, (y1 - y0) / size)
                if scale >= 2:
                    draft_jpeg(im, full_w / scale, full_h / scale)
            check_decode_budget(im, orientation, MAX_DECODE_BYTES)
            if im.format == "TIFF" and orientation != 1:
                # Pillow (≥ 10) applies a TIFF's orientation itself when it loads it, and drops the
                # tag; an older one leaves the tag, which is then applied below
                im.load()
                orientation = exif_orientation(im)
                turned = orientation >= 5
            w, h = im.size
            box = pre.box_for(*((h, w) if turned else (w, h)))
            if orientation != 1:
                box = _stored_box(box, orientation, w, h)
            small = resize_to_rgb(im, size, box)
            if orientation != 1:
                small = small.transpose(_transpose_ops()[orientation])
            arr = np.asarray(small, dtype=np.uint8)
    if arr.shape != (size, size, 3):
        raise ValueError(f"decoded to shape {arr.shape}")
    return arr


def decode_worker(args):
    path, pre = args
    if has_line_break(os.path.basename(path)):
        return None, LINE_BREAK_REASON
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
    if isinstance(exc, (ImageBomb, Image.DecompressionBombError, Image.DecompressionBombWarning)):
        return BOMB_REASON
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
                skipped.append((printable_name(name), reason))
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
        meta = json.loads(read_regular_file(meta_path, "cache file").decode("utf-8"))
        images = np.load(arr_path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError, DataError):
        return None
    if not isinstance(meta, dict) or meta.get("format") != CACHE_FORMAT:
        return None  # a damaged or foreign cache entry only costs a re-decode
    files = meta.get("files")
    if not isinstance(files, list) or not all(isinstance(f, str) and not has_line_break(f) for f in files):
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
            skipped.append((printable_name(display_name(Path(p))), reason))
        else:
            images.append(arr)
            names.append(Path(p).name)
    stack = np.stack(images) if images else np.empty((0, pre.image_size, pre.image_size, 3), np.uint8)
    return stack, names, skipped
