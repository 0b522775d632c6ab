"""Opening a user's image file within bounded memory: the declared-size rule and the decode budget.

Two questions are answered from an image's header, before a pixel is decoded:

* **Is it a decompression bomb?** (:func:`open_image`) A header may declare any size: a 100-byte
  PNG can claim 100000×100000 pixels. Pillow's own guard refuses anything over 179 megapixels and
  warns from 89.5, which also refuses ordinary large photos (a 12000×8000 camera JPEG, a 108 or
  200 MP phone picture). The rule here is by format: a JPEG is decoded at a reduced size by the codec
  itself (draft mode: 1/2, 1/4 or 1/8 while decoding), so it may declare up to
  :data:`MAX_JPEG_PIXELS` (268 megapixels: 16384×16384; the largest phone sensors make 200 MP, the
  largest camera backs 150 MP); every other format is decoded at full size and may declare up to
  :data:`MAX_FULL_DECODE_PIXELS` (Pillow's default limit, 89.5 megapixels). A larger declaration is
  refused as a bomb (:class:`ImageBomb`).
* **Does its decode fit the budget?** (:func:`check_decode_budget`) The bytes the decode needs —
  the pixels in Pillow's storage at the size they will be decoded at (after draft mode), the
  full-size copies a conversion makes, and a progressive JPEG's coefficient buffers (libjpeg holds
  every DCT coefficient of the whole image, 2 bytes each, however small the output: 288 MB for a
  12000×8000 progressive JPEG) — must stay under a limit (``engine.image_data.MAX_DECODE_BYTES``),
  else :class:`ImageTooLarge`.

Pillow's guard is switched off only while :func:`open_image` reads the header (under a lock; Pillow
checks the global at that moment), so that the rule above replaces it; it stays on everywhere else.
"""
from __future__ import annotations

import math
import os
import threading
from contextlib import contextmanager

#: The most pixels a JPEG may declare (decoded reduced by draft mode, so memory stays small).
MAX_JPEG_PIXELS = 2**28
#: The most pixels any other format may declare (decoded at full size): Pillow's default limit.
MAX_FULL_DECODE_PIXELS = 89_478_485

#: The reason a dataset's skipped bomb is listed with (``FaceDataset.skipped``).
BOMB_REASON = "image too large (decompression-bomb guard)"

#: bytes per pixel of Pillow's storage (everything not listed: 4, e.g. RGB is stored as RGBX)
_STORAGE_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}

_OPEN_LOCK = threading.Lock()


class ImageBomb(ValueError):
    """An image whose header declares more pixels than its format may have (see the module docstring)."""


class ImageTooLarge(ValueError):
    """An image whose decode would need more than the decode budget."""


def declared_size_problem(fmt: str, width: int, height: int) -> str | None:
    """Why a header declaring ``width×height`` for format ``fmt`` is a bomb, or None."""
    pixels = int(width) * int(height)
    limit = MAX_JPEG_PIXELS if fmt == "JPEG" else MAX_FULL_DECODE_PIXELS
    if pixels <= limit:
        return None
    how = "a JPEG" if fmt == "JPEG" else f"a {fmt or 'non-JPEG'} image (decoded at full size)"
    return (f"its header declares {width}×{height} pixels ({pixels / 1e6:,.0f} megapixels), more than "
            f"{how} may have here ({limit / 1e6:,.0f} MP); refused as a decompression bomb before decoding")


@contextmanager
def open_image(path: str | os.PathLike):
    """``with open_image(path) as im:`` Pillow's ``Image.open`` with the declared-size rule of this
    module instead of Pillow's pixel guard. Raises :class:`ImageBomb` before any pixel is decoded,
    and whatever ``Image.open`` raises for a file that is not an image."""
    from PIL import Image

    with _OPEN_LOCK:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            im = Image.open(path)
        finally:
            Image.MAX_IMAGE_PIXELS = saved
    try:
        problem = declared_size_problem(im.format or "", *im.size)
        if problem:
            raise ImageBomb(problem)
        yield im
    finally:
        im.close()


def jpeg_coefficient_bytes(im) -> int:
    """The bytes libjpeg holds for a progressive JPEG's coefficients (0 for a baseline one, which is
    decoded one row of blocks at a time): every 8×8 block of every component, 64 × 2 bytes."""
    if im.format != "JPEG" or not (im.info.get("progressive") or im.info.get("progression")):
        return 0
    w, h = getattr(im, "_size_before_draft", None) or im.size
    layers = getattr(im, "layer", None) or [("", 1, 1, 0)] * len(im.getbands())
    hmax = max(int(layer[1]) for layer in layers) or 1
    vmax = max(int(layer[2]) for layer in layers) or 1
    total = 0
    for _, hs, vs, _ in layers:
        # blocks are padded to whole MCUs: use the MCU grid of the image
        mcus_x, mcus_y = math.ceil(w / (8 * hmax)), math.ceil(h / (8 * vmax))
        total += mcus_x * int(hs) * mcus_y * int(vs) * 128
    return total


def decode_bytes(im) -> int:
    """The memory a decode of an opened image needs: its decoded pixels in Pillow's storage (at the
    draft size when draft mode was asked for), the full-size copies the conversion makes (modes
    resized directly make none), and a progressive JPEG's coefficient buffers."""
    mode = im.mode
    per = _STORAGE_BYTES.get(mode, 4)
    if mode in ("RGB", "L") or mode.startswith("I;16") or mode == "I":
        extra = 0  # resized as they are; only the small result is converted
    elif mode == "F":
        extra = 4  # NaN/inf pixels: the value range is found on a float copy
    elif mode in ("RGBA", "LA"):
        extra = 4  # Pillow's resize premultiplies alpha into a copy
    elif mode in ("PA", "La", "RGBa") or (mode == "P" and "transparency" in im.info):
        extra = 8  # an RGBA copy, then the premultiplied one
    else:
        extra = 4  # converted to RGB first ("1", P, CMYK, YCbCr, LAB, HSV, RGBX, …)
    w, h = im.size
    return w * h * (per + extra) + jpeg_coefficient_bytes(im)


def check_decode_budget(im, orientation: int, limit: int) -> None:
    """Raise :class:`ImageTooLarge` when decoding ``im`` (opened, draft mode already asked for) would
    need more than ``limit`` bytes. A TIFF with an orientation tag is turned upright by Pillow in a
    full-size copy, counted too."""
    need = decode_bytes(im)
    if im.format == "TIFF" and orientation != 1:
        need += im.size[0] * im.size[1] * _STORAGE_BYTES.get(im.mode, 4)
    if need > limit:
        w, h = im.size
        what = f"{w}×{h} {im.mode}"
        if jpeg_coefficient_bytes(im):
            fw, fh = im._size_before_draft if getattr(im, "_size_before_draft", None) else im.size
            what = f"{fw}×{fh} progressive JPEG (its coefficients are held whole)"
        raise ImageTooLarge(f"image too large to decode: {what} needs {need / 2**20:,.0f} MB "
                            f"(limit {limit // 2**20} MB)")


def draft_jpeg(im, width: int, height: int) -> None:
    """Ask a JPEG's codec for the largest reduction (1/2, 1/4, 1/8) that still decodes at least
    ``width×height`` (no-op for other formats). Remembers the declared size for
    :func:`jpeg_coefficient_bytes`."""
    if im.format != "JPEG":
        return
    im._size_before_draft = im.size
    im.draft("RGB", (max(1, int(width)), max(1, int(height))))
