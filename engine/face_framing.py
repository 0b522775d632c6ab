"""Frame a face in an ordinary photo exactly as the model's training faces were framed (Qt-free).

The default model was trained on CelebA's aligned images: the face rotated upright and scaled so
that eyes and mouth sit at fixed places, then the preprocess crop box (140×140 of 178×218) resized
to the model's size. A photo is brought into that framing in three steps:

1. **Load** (:func:`load_photo`): EXIF orientation applied, alpha composited over white, grayscale,
   palette, 16-bit and float images converted, memory bounded by the same decode budget as the
   dataset loader (:data:`engine.image_data.MAX_DECODE_BYTES`), huge photos reduced to
   :data:`MAX_PHOTO_SIDE` (JPEGs by the codec's draft mode, before a full-size pixel is decoded: the
   least reduction of 1/2, 1/4, 1/8 that fits, so a 200-megapixel phone JPEG costs a 13 MP decode);
   a header declaring more pixels than any camera makes is refused before decoding
   (:mod:`engine.image_open`).
2. **Detect**: by default (:mod:`engine.photo`) MTCNN's five landmarks (:func:`detect_faces_landmarks`,
   :mod:`engine.face_detect_mtcnn`), mapped by a least-squares similarity onto the template that detector
   puts on the training crops; with the "haar" detector (only where the optional extra
   :data:`HAAR_EXTRA` brings OpenCV; :func:`require_opencv` says so in one line otherwise),
   (:func:`detect_faces`) OpenCV's own Haar cascades (shipped in the opencv wheel, no
   download): the frontal-face cascade on a ≤ 800 px copy, again on copies turned by ±10° and ±20° when
   the upright pass finds nothing (the cascade misses faces tilted by more than ~12°) and while the
   CPU-time budget :data:`DETECT_BUDGET_S` lasts (a picture without a face, e.g. noise, no longer runs
   every pass), then the eye cascade inside each face. The result is an initial similarity transform from the canonical
   positions of the face box and the eyes *in the training crops*: :data:`CANONICAL` was measured
   by running this very detector over the celeba-9k training images
   (``scripts/learn_photo_framing.py``), so the detector's own biases cancel.
3. **Refine** (:func:`refine_transform`): the autoencoder's z is extremely sensitive to framing (a
   2-pixel shift of a 64-pixel crop moves z by 0.6 × the typical nearest-neighbour distance of the
   training cloud), far finer than Haar boxes and eyes can place a face. A model may carry
   ``photo_aligner.npz``: ridge regressions, learnt on its own training images, from the z of a
   mis-framed crop to the shift/rotation/scale that mis-framed it. Applied as a cascade (encode,
   predict, correct; four encodes), they halve the detection's error: on
   benchmarks/photo_framing.py the median turn error falls from 6.4° to 1.3° and the median z distance
   to the true crop's from 0.93 to 0.49 × the typical nearest-neighbour distance. A model without the file is framed by detection alone.

Transforms are 2×3 float64 matrices mapping photo pixel centres to crop pixel centres (pixel (i, j) has its
centre at (j, i)). Pictures are resampled by Pillow (:mod:`engine.resample`) and the put-back
feather measured by scipy; OpenCV is needed by the Haar detector only.
"""
from __future__ import annotations

import math
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from .errors import DataError, EngineError
from .resample import apply, compose, footprint, invert, resize_area, warp_affine  # noqa: F401 - ff.compose …

#: The longest side a photo is worked on at (a larger one is reduced when loaded).
MAX_PHOTO_SIDE = 4096
#: Face detection runs on a copy whose longest side is at most this (and at least DETECT_MIN_SIDE).
DETECT_MAX_SIDE = 800
DETECT_MIN_SIDE = 480
#: Turns of the detection image tried when the upright pass finds no face (degrees).
DETECT_TURNS = (10.0, -10.0, 20.0, -20.0)
#: The time budget of one detection, in CPU seconds of this process (all threads; a busy machine does
#: not shrink it): a turned pass is started only while its predicted cost (the upright pass's cost per
#: pixel × its pixels) fits in what is left; the upright pass always runs. Why: the cascade's cost is
#: its windows × the stages each one passes, and a picture without a face runs all five passes, each
#: costing with the picture's texture. Measured on 800 px pictures (2 shared cores): upright 0.17–0.42
#: CPU s for photos, 0.42 for noise, 0.8 for grass or gravel; a turned pass 1.2–1.6× that. Pure noise
#: ran 5 passes, 3.5 CPU s (19 s wall on a slower machine); now the upright and one turned pass, ~1.3.
DETECT_BUDGET_S = 1.5
ALIGNER_FILE = "photo_aligner.npz"
ALIGNER_FORMAT = 1

#: Where this detector puts the face box and the eyes in a training crop, in crop units (0…1 from
#: the crop's top-left corner, edge convention): medians over the celeba-9k training images
#: (``scripts/learn_photo_framing.py``; preprocess crop box 140×140 of 178×218). "box" is
#: (centre x, centre y, side) of the frontal-face cascade's square; the eyes are the subject's
#: right eye (left in the picture) first.
CANONICAL = {
    "box": (0.5027, 0.609, 0.7513),
    "eyes": ((0.3509, 0.5195), (0.6351, 0.5195)),
    "source": "scripts/learn_photo_framing.py: medians over 2000 celeba-9k training images; faces found in 1935, "
              "both eyes in 1505",
}


# ---------------------------------------------------------------------------------------------
# loading a photo


def _file_problem(path: Path) -> None:
    from .image_data import check_regular_file

    if check_regular_file(path, "photo") == 0:
        raise DataError(f"{path}: empty file (0 bytes), not a photo")


def load_photo(path: str | os.PathLike, max_side: int = MAX_PHOTO_SIDE) -> np.ndarray:
    """An image file → H×W×3 uint8 RGB, upright (EXIF), longest side ≤ ``max_side``.

    Raises :class:`DataError` (see :func:`load_photo_scaled`)."""
    return load_photo_scaled(path, max_side)[0]


def load_photo_scaled(path: str | os.PathLike, max_side: int = MAX_PHOTO_SIDE, *,
                      reduce_to: Optional[int] = None, picture: bool = False,
                      max_reduction: int = 8) -> tuple[np.ndarray, float]:
    """``(pixels, scale)``: the photo as :func:`load_photo` gives it and its pixels per pixel of
    the full-size upright photo (1.0 unless it was reduced). With ``reduce_to`` a JPEG is decoded by the codec at
    the largest reduction (1/2, 1/4, 1/8) whose longest side is still at least ``reduce_to`` (a quick copy to find
    faces on: a 12 MP photo costs a 0.75 MP decode), reduced by at most ``max_reduction``; other formats are decoded
    as without it. With ``picture`` the
    pixels are a Pillow RGB image, not an array (a large copy's array costs as much again as its reduction; the
    detector and :func:`warp_to_crop` read either).

    Raises :class:`DataError` with one line naming the file and the problem (no such file, not an
    image, truncated, too large to decode within the memory budget, …)."""
    from PIL import Image

    from . import image_data as idata

    path = Path(path)
    _file_problem(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with idata.open_image(path) as im:
                return _to_rgb(im, max_side, idata, reduce_to, picture, max_reduction)
    except DataError:
        raise
    except (idata.ImageTooLarge, idata.ImageBomb) as exc:
        raise DataError(f"{path}: {exc}") from None
    except MemoryError:
        raise DataError(f"{path}: not enough memory to decode this image") from None
    except Exception as exc:  # noqa: BLE001 - every decoder failure becomes one line
        raise DataError(f"{path}: cannot be read as a photo ({idata._reason(exc)})") from None


def _to_rgb(im, max_side: int, idata, reduce_to: Optional[int] = None, picture: bool = False, max_reduction: int = 8):
    orientation = idata.exif_orientation(im)
    w, h = im.size
    full_w = h if orientation >= 5 else w  # upright width before any reduction
    if reduce_to is not None and max(w, h) > reduce_to:
        # draft keeps at least this size: the largest reduction that does
        t = max(min(reduce_to, max_side) / max(w, h), 1 / max_reduction)
        idata.draft_jpeg(im, math.ceil(w * t), math.ceil(h * t))
    elif max(w, h) > max_side:
        # a JPEG is decoded by the codec at the least reduction (1/2, 1/4, 1/8) that fits max_side:
        # a 200 MP photo costs a 13 MP decode, never the full size
        r = min(8, 2 ** math.ceil(math.log2(max(w, h) / max_side)))
        idata.draft_jpeg(im, w // r, h // r)
    idata.check_decode_budget(im, orientation, idata.MAX_DECODE_BYTES)
    if im.format == "TIFF" and orientation != 1:
        im.load()
        orientation = idata.exif_orientation(im)
    w, h = im.size
    f = min(1.0, max_side / max(w, h))
    size = (max(1, round(w * f)), max(1, round(h * f)))
    out = idata.resize_to_rgb(im, size)  # the training images' decoding: alpha over white, high-bit scaled
    if orientation != 1:
        out = out.transpose(idata._transpose_ops()[orientation])
    if picture:
        out.load()
        if out is im:  # the opened file's own image is closed with the file
            out = im.copy()
        if out.mode != "RGB" or min(out.size) < 1:
            raise ValueError(f"decoded to a {out.mode} image of {out.size}")
        return out, out.size[0] / full_w
    arr = np.array(out, dtype=np.uint8)
    if arr.ndim != 3 or arr.shape[2] != 3 or min(arr.shape[:2]) < 1:
        raise ValueError(f"decoded to shape {arr.shape}")
    return arr, arr.shape[1] / full_w


def as_rgb_array(image) -> np.ndarray:
    """An in-memory image (H×W, H×W×3 or H×W×4 uint8) → H×W×3 uint8 (alpha over white)."""
    a = np.asarray(image)
    if a.dtype != np.uint8:
        raise EngineError(f"an image array must be uint8, got {a.dtype}")
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    elif a.ndim == 3 and a.shape[2] == 4:
        al = a[..., 3:4].astype(np.float32) / 255.0
        a = (a[..., :3].astype(np.float32) * al + 255.0 * (1 - al) + 0.5).astype(np.uint8)
    elif a.ndim == 3 and a.shape[2] == 1:
        a = np.repeat(a, 3, axis=2)
    if a.ndim != 3 or a.shape[2] != 3 or min(a.shape[:2]) < 1:
        raise EngineError(f"an image array must be H×W, H×W×3 or H×W×4, got shape {list(np.shape(image))}")
    return np.ascontiguousarray(a)


# ---------------------------------------------------------------------------------------------
# similarity transforms


def similarity(scale: float, angle_deg: float, src_pt, dst_pt) -> np.ndarray:
    """The 2×3 similarity turning by ``angle_deg`` (counter-clockwise on screen), scaling by
    ``scale`` and taking ``src_pt`` to ``dst_pt``."""
    a = math.radians(angle_deg)
    c, s = scale * math.cos(a), scale * math.sin(a)
    # y points down: a counter-clockwise turn on screen is [[c, s], [-s, c]]
    m = np.array([[c, s, 0.0], [-s, c, 0.0]])
    p = m[:, :2] @ np.asarray(src_pt, np.float64)
    m[:, 2] = np.asarray(dst_pt, np.float64) - p
    return m


def two_point_similarity(src, dst) -> np.ndarray:
    """The similarity taking the two points ``src`` (2×2) exactly onto ``dst`` (2×2)."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    vs, vd = src[1] - src[0], dst[1] - dst[0]
    zs, zd = complex(*vs), complex(*vd)
    if abs(zs) < 1e-9:
        raise EngineError("two landmarks coincide")
    r = zd / zs
    m = np.array([[r.real, -r.imag, 0.0], [r.imag, r.real, 0.0]])
    m[:, 2] = dst[0] - m[:, :2] @ src[0]
    return m


def transform_scale(m: np.ndarray) -> float:
    return float(math.sqrt(abs(np.linalg.det(np.asarray(m)[:, :2]))))


def transform_angle(m: np.ndarray) -> float:
    """The turn of a similarity (degrees, counter-clockwise on screen) as :func:`similarity` defines it."""
    m = np.asarray(m)
    return float(math.degrees(math.atan2(m[0, 1], m[0, 0])))


def canonical_crop_transform(width: int, height: int, preprocess) -> np.ndarray:
    """The transform an aligned training image (width×height) gets: its preprocess box → the crop."""
    x0, y0, x1, y1 = preprocess.box_for(width, height)
    s = preprocess.image_size
    sx, sy = s / (x1 - x0), s / (y1 - y0)
    return np.array([[sx, 0.0, (0.5 - x0) * sx - 0.5], [0.0, sy, (0.5 - y0) * sy - 0.5]])


def warp_to_crop(image: np.ndarray, m: np.ndarray, size: int) -> np.ndarray:
    """The size×size crop ``m`` (photo → crop) takes from ``image`` (an RGB array or Pillow image), anti-aliased when
    it shrinks.

    Only the region the crop covers is touched (a 24-megapixel photo costs what a small one does);
    outside the photo the edge pixels are repeated."""
    m = np.asarray(m, np.float64)
    array = isinstance(image, np.ndarray)
    h, w = image.shape[:2] if array else image.size[::-1]
    x0, y0, x1, y1 = footprint(invert(m), size, size, 2)
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if cx1 <= cx0 or cy1 <= cy0:  # the crop lies wholly outside the photo: the nearest edge pixel
        cx0, cy0 = min(max(x0, 0), w - 1), min(max(y0, 0), h - 1)
        edge = image[cy0, cx0, :3] if array else np.asarray(image.getpixel((cx0, cy0)))[:3]
        return np.broadcast_to(np.asarray(edge, np.uint8), (size, size, 3)).copy()
    roi = np.ascontiguousarray(image[cy0:cy1, cx0:cx1, :3] if array else np.asarray(image.crop((cx0, cy0, cx1, cy1))))
    m = compose(m, np.array([[1.0, 0, cx0], [0, 1.0, cy0]]))  # roi pixel → photo pixel → crop
    s = transform_scale(m)
    if s < 0.8:  # shrink the region first (area average), then warp near 1:1
        f = min(1.0, s * 1.25)
        rw, rh = max(1, round(roi.shape[1] * f)), max(1, round(roi.shape[0] * f))
        fx, fy = roi.shape[1] / rw, roi.shape[0] / rh
        roi = resize_area(roi, (rw, rh))
        # small pixel centre (u) ↔ roi pixel centre: (u + 0.5)·f − 0.5
        m = compose(m, np.array([[fx, 0, 0.5 * fx - 0.5], [0, fy, 0.5 * fy - 0.5]]))
    return warp_affine(roi, m, (size, size))


def centre_square_transform(width: int, height: int, size: int) -> np.ndarray:
    """The naive framing (``--no-detect``): the photo's centre square scaled to the model's size."""
    side = min(width, height)
    x0, y0 = (width - side) / 2, (height - side) / 2
    s = size / side
    return np.array([[s, 0.0, (0.5 - x0) * s - 0.5], [0.0, s, (0.5 - y0) * s - 0.5]])


# ---------------------------------------------------------------------------------------------
# detection


@dataclass
class Face:
    """A detected face. ``frame`` maps the upright detection frame (in which the face box is an
    axis-aligned square) to photo pixels; ``box`` is that square (x, y, side) in the frame."""

    box: tuple[float, float, float]
    frame: np.ndarray  # 2×3, detection frame → photo
    eyes: Optional[np.ndarray] = None  # 2×2 in photo pixels (picture-left eye first), or None
    neighbours: int = 0  # how many cascade windows agreed (a confidence)
    landmarks: Optional[np.ndarray] = None  # 5×2 in photo pixels (eyes, nose, mouth corners; MTCNN), or None

    @property
    def corners(self) -> np.ndarray:
        """The box's four corners in photo pixels (4×2; a turned square for a turned face)."""
        x, y, s = self.box
        return apply(self.frame, [[x, y], [x + s, y], [x + s, y + s], [x, y + s]])

    @property
    def centre(self) -> np.ndarray:
        x, y, s = self.box
        return apply(self.frame, [[x + s / 2, y + s / 2]])[0]

    @property
    def size(self) -> float:
        return self.box[2] * transform_scale(self.frame)

    @property
    def angle(self) -> float:
        """How far the face is turned in the photo (degrees, counter-clockwise on screen)."""
        return transform_angle(self.frame)

    def bounds(self) -> tuple[float, float, float, float]:
        """Axis-aligned (x, y, w, h) of the box in photo pixels."""
        c = self.corners
        x0, y0 = c.min(0)
        x1, y1 = c.max(0)
        return float(x0), float(y0), float(x1 - x0), float(y1 - y0)


_CASCADES: dict = {}
#: The optional extra that brings OpenCV, which only the Haar detector needs (pyproject's name).
HAAR_EXTRA = "haar"


def require_opencv():
    """OpenCV, or :class:`MissingExtra` in one line naming the extra to install (only the Haar detector needs it)."""
    try:
        import cv2
    except ImportError:
        from .errors import MissingExtra

        raise MissingExtra(feature="the Haar face detector", package="opencv-python-headless",
                           extra=HAAR_EXTRA) from None
    return cv2


def haar_available() -> bool:
    """Whether the Haar detector can run here (OpenCV installed)."""
    import importlib.util

    return importlib.util.find_spec("cv2") is not None


def _cascade(name: str):
    cv2 = require_opencv()
    if name not in _CASCADES:
        path = os.path.join(cv2.data.haarcascades, name)
        c = cv2.CascadeClassifier(path)
        if c.empty():
            raise EngineError(f"{path}: OpenCV's face detector data is missing or damaged (reinstall opencv-python-headless)")
        _CASCADES[name] = c
    return _CASCADES[name]


def _gray(image: np.ndarray) -> np.ndarray:
    cv2 = require_opencv()

    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def detect_faces(image: np.ndarray, *, turns: Sequence[float] = DETECT_TURNS, min_face: int = 20,
                 canonical: Optional[dict] = None) -> list[Face]:
    """Faces in an RGB photo, the most face-like first: those whose two eyes were found, then the
    others, each group largest first. Tries the upright photo, then each of ``turns``
    (degrees) until one pass finds a face or the next pass would overrun the CPU time
    budget :data:`DETECT_BUDGET_S`; eyes are looked for inside each face."""
    cv2 = require_opencv()

    canonical = canonical or CANONICAL
    image = as_rgb_array(image)
    h, w = image.shape[:2]
    f = DETECT_MAX_SIDE / max(h, w)
    if f > 1:
        f = min(f, DETECT_MIN_SIDE / max(h, w), 4.0)
        f = max(f, 1.0)
    gray = _gray(image)
    det = cv2.resize(gray, (max(1, round(w * f)), max(1, round(h * f))),
                     interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR) if f != 1 else gray
    det = cv2.equalizeHist(det)
    # detection image pixel ↔ photo pixel (centres): p = (d + 0.5)/f − 0.5
    to_photo = _scaling(f)
    faces: list[Face] = []
    started = time.process_time()
    per_pixel = 0.0
    for turn in (0.0, *turns):
        if turn == 0.0:
            frame_img, frame = det, to_photo
        else:
            frame_img, r = _turned(det, turn)
            if time.process_time() - started + per_pixel * frame_img.size > DETECT_BUDGET_S:
                break  # this pass would overrun the budget (see DETECT_BUDGET_S)
            frame = compose(to_photo, invert(r))
        found = _faces_in(frame_img, min_face)
        if turn == 0.0:
            per_pixel = (time.process_time() - started) / max(1, det.size)
        for (x, y, s, n) in found:
            eyes = _eyes_in(frame_img, (x, y, s), canonical)
            faces.append(Face((float(x), float(y), float(s)), frame,
                              None if eyes is None else apply(frame, eyes), int(n)))
        if faces:
            break
    faces.sort(key=lambda fc: (fc.eyes is None, -fc.size))
    return faces


def detect_faces_landmarks(image: np.ndarray, max_side: Optional[int] = None) -> list[Face]:
    """Faces in an RGB photo (an array or a Pillow image) by MTCNN (:mod:`engine.face_detect_mtcnn`; its quick pass on
    a copy of at most ``max_side``, default its own), largest first, each with its five points; the box is MTCNN's,
    made square."""
    from .face_detect_mtcnn import DETECT_MAX_SIDE, shared_detector

    faces = []
    image = image if hasattr(image, "getpixel") else as_rgb_array(image)
    for d in shared_detector().detect(image, max_side=max_side or DETECT_MAX_SIDE):
        x0, y0, x1, y1 = (float(v) for v in d.box)
        s = max(x1 - x0, y1 - y0)
        box = ((x0 + x1 - s) / 2, (y0 + y1 - s) / 2, s)
        faces.append(Face(box, np.array([[1.0, 0, 0], [0, 1.0, 0]]), np.asarray(d.points[:2], np.float64),
                          round(100 * d.score), np.asarray(d.points, np.float64)))
    return faces


def _scaling(f: float) -> np.ndarray:
    """The map from pixel centres of a copy scaled by ``f`` back to the original's: p = (d + 0.5)/f − 0.5."""
    return np.array([[1 / f, 0, 0.5 / f - 0.5], [0, 1 / f, 0.5 / f - 0.5]])


def _turned(gray: np.ndarray, turn: float) -> tuple[np.ndarray, np.ndarray]:
    """``gray`` turned by ``turn`` degrees about its centre onto a square of its diagonal (edges
    repeated), and the 2×3 map gray → turned."""
    cv2 = require_opencv()

    h, w = gray.shape
    side = int(math.ceil(math.hypot(w, h)))
    r = similarity(1.0, turn, ((w - 1) / 2, (h - 1) / 2), ((side - 1) / 2, (side - 1) / 2))
    return cv2.warpAffine(gray, r, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE), r


def _faces_in(gray: np.ndarray, min_face: int) -> list[tuple[int, int, int, int]]:
    cas = _cascade("haarcascade_frontalface_default.xml")
    rects, neighbours = cas.detectMultiScale2(gray, scaleFactor=1.1, minNeighbors=4, minSize=(min_face, min_face))
    out = []
    for (x, y, w, h), n in zip(np.asarray(rects).reshape(-1, 4), np.asarray(neighbours).reshape(-1)):
        out.append((int(x), int(y), int(max(w, h)), int(n)))
    # a face box whose centre lies inside another is the cascade firing twice on one face (a
    # larger window around a small face, or a small one on a large face): keep the better supported
    out.sort(key=lambda r: (-r[3], -r[2]))
    kept: list[tuple[int, int, int, int]] = []
    for r in out:
        cx, cy = r[0] + r[2] / 2, r[1] + r[2] / 2
        if not any(k[0] <= cx <= k[0] + k[2] and k[1] <= cy <= k[1] + k[2] for k in kept):
            kept.append(r)
    return kept


def _expected_eyes(box, canonical) -> np.ndarray:
    x, y, s = box
    bx, by, bs = canonical["box"]
    eyes = np.asarray(canonical["eyes"], np.float64)
    return np.array([x + s / 2, y + s / 2]) + (eyes - [bx, by]) / bs * s


def _eyes_in(gray: np.ndarray, box, canonical) -> Optional[np.ndarray]:
    """Both eyes' centres in the detection frame, or None when the eye cascade does not find a
    plausible pair (each eye within a third of the eye distance of where the box predicts it)."""
    x, y, s = box
    x0, y0 = max(0, int(x)), max(0, int(y + 0.1 * s))
    x1, y1 = min(gray.shape[1], int(x + s)), min(gray.shape[0], int(y + 0.65 * s))
    if x1 - x0 < 12 or y1 - y0 < 8:
        return None
    roi = gray[y0:y1, x0:x1]
    lo, hi = max(6, int(s * 0.12)), max(8, int(s * 0.4))
    rects = _cascade("haarcascade_eye.xml").detectMultiScale(roi, scaleFactor=1.08, minNeighbors=3,
                                                             minSize=(lo, lo), maxSize=(hi, hi))
    if len(rects) < 2:
        return None
    centres = np.array([[x0 + rx + rw / 2 - 0.5, y0 + ry + rh / 2 - 0.5] for rx, ry, rw, rh in rects])
    expected = _expected_eyes(box, canonical)
    gap = float(np.linalg.norm(expected[1] - expected[0]))
    best = []
    for e in expected:
        d = np.linalg.norm(centres - e, axis=1)
        i = int(np.argmin(d))
        if d[i] > gap / 3:
            return None
        best.append(centres[i])
    if np.allclose(best[0], best[1]):
        return None
    return np.array(best)


def initial_transform(face: Face, size: int, canonical: Optional[dict] = None) -> np.ndarray:
    """Photo → crop transform from a detection: the eyes onto their canonical places when both
    were found (and agree with the box), else the face box onto its canonical place; a face with five
    landmarks: those points onto the landmark detector's template (least squares)."""
    if face.landmarks is not None and canonical is None:
        from .face_detect_mtcnn import template_transform

        return template_transform(face.landmarks, size)
    canonical = canonical or CANONICAL
    bx, by, bs = canonical["box"]
    x, y, s = face.box
    # in the detection frame: box → crop
    k = bs * size / s
    box_m = similarity(k, 0.0, (x + s / 2, y + s / 2), (bx * size - 0.5, by * size - 0.5))
    m = compose(box_m, invert(face.frame))
    if face.eyes is not None:
        dst = np.asarray(canonical["eyes"], np.float64) * size - 0.5
        eye_m = two_point_similarity(face.eyes, dst)
        ratio = transform_scale(eye_m) / transform_scale(m)
        turn = abs((transform_angle(eye_m) - transform_angle(m) + 180) % 360 - 180)
        if 0.8 < ratio < 1.25 and turn < 15:
            return eye_m
    return m


# ---------------------------------------------------------------------------------------------
# refinement with the model's own encoder


@dataclass
class Aligner:
    """A cascade of ridge regressions z → (dx, dy, turn°, log scale) of the crop's mis-framing,
    learnt on the model's training images (``scripts/learn_photo_framing.py``)."""

    model_id: str
    image_size: int
    stages: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    schedule: tuple[int, ...] = (0, 1, 2, 2)  # which stage each refinement step uses

    def predict(self, stage: int, z: np.ndarray) -> np.ndarray:
        mu, sd, coef, bias, scale = self.stages[stage]
        return (((np.asarray(z, np.float64) - mu) / sd) @ coef + bias) * scale


def misframing(p, size: int) -> np.ndarray:
    """The crop-space similarity of a mis-framing p = (dx, dy, turn°, log scale): the framed crop
    turned and scaled about its centre, then shifted by (dx, dy) pixels."""
    c = (size - 1) / 2
    dx, dy, turn, ls = (float(v) for v in p)
    return similarity(math.exp(ls), turn, (c, c), (c + dx, c + dy))


def load_aligner(model_dir, config) -> Optional[Aligner]:
    """The model's ``photo_aligner.npz`` when it has one made for this model, else None."""
    if model_dir is None:
        return None
    path = Path(model_dir) / ALIGNER_FILE
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as f:
            if int(f["format"]) != ALIGNER_FORMAT or str(f["model_id"]) != config.model_id:
                return None
            n = int(f["n_stages"])
            stages = [tuple(np.asarray(f[f"{k}{i}"], np.float64) for k in ("mu", "sd", "coef", "bias", "scale"))
                      for i in range(n)]
            schedule = tuple(int(v) for v in f["schedule"])
            size = int(f["image_size"])
    except (OSError, ValueError, KeyError, EOFError):
        return None  # a damaged aligner costs precision, never the photo
    z_dim = config.arch.z_dim
    if size != config.preprocess.image_size or any(s[2].shape != (z_dim, 4) for s in stages) \
            or not all(0 <= i < n for i in schedule):
        return None
    return Aligner(config.model_id, size, stages, schedule)


def refine_transform(model, image: np.ndarray, m: np.ndarray, aligner: Aligner, *, encode=None) -> np.ndarray:
    """Correct the photo → crop transform ``m`` by the aligner's cascade (one encode per step)."""
    from .encoding import encode_images

    encode = encode or (lambda crops: encode_images(model, crops))
    size = aligner.image_size
    for stage in aligner.schedule:
        crop = warp_to_crop(image, m, size)
        p = aligner.predict(stage, encode(crop[None]))[0]
        p = np.clip(p, [-size / 8, -size / 8, -20, -0.2], [size / 8, size / 8, 20, 0.2])
        m = compose(invert(misframing(p, size)), m)
    return m


def crop_landmarks(canonical: Optional[dict] = None, size: int = 64) -> np.ndarray:
    """The canonical eye positions in crop pixels (2×2)."""
    canonical = canonical or CANONICAL
    return np.asarray(canonical["eyes"], np.float64) * size - 0.5


# ---------------------------------------------------------------------------------------------
# putting a face back into its photo

#: The soft edge of a face put back into its photo, as a fraction of the crop's side (a few percent of the face).
PUT_BACK_FEATHER = 0.06
#: The region of the crop that is put back: an ellipse (centre x, centre y, half width, half height) in crop units
#: (0…1 from the top-left corner); it holds the face from brow to chin, inside the crop with room for the edge.
PUT_BACK_ELLIPSE = (0.5, 0.56, 0.40, 0.44)


def face_mask(size: int, feather: float = PUT_BACK_FEATHER, ellipse=PUT_BACK_ELLIPSE) -> np.ndarray:
    """size×size float32 weights of a face put back: 1 deep inside the ellipse, 0 outside it, rising smoothly over
    ``feather × size`` pixels inward from its edge (the distance to the edge, so the edge is equally soft all round)."""
    from scipy.ndimage import distance_transform_edt

    cx, cy, ax, ay = ellipse
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    inside = ((xx - (cx * size - 0.5)) / (ax * size)) ** 2 + ((yy - (cy * size - 0.5)) / (ay * size)) ** 2 <= 1.0
    width = max(1e-6, float(feather) * size)
    d = distance_transform_edt(inside)  # each pixel's distance to the nearest one outside the ellipse
    t = np.clip(d / width, 0.0, 1.0)
    return (t * t * (3 - 2 * t)).astype(np.float32)  # smoothstep: no crease where the ramp meets the plateau


def put_back(photo: np.ndarray, m: np.ndarray, face: np.ndarray, *, feather: float = PUT_BACK_FEATHER,
             match_colour: bool = True, base: Optional[np.ndarray] = None) -> np.ndarray:
    """The photo with ``face`` (the model's S×S×3 crop, e.g. a decoded or edited face) put back where the
    photo → crop transform ``m`` took its crop from: warped by the inverse of ``m`` (bicubic; area-averaged first
    when the face is smaller in the photo than in the crop) and blended through :func:`face_mask`.

    ``match_colour`` shifts the face's mean colour inside the mask to the photo's own there (an autoencoder's
    face drifts in colour; the edit stays). With ``base`` (the unedited decoded face) only the change ``face −
    base`` is added to the photo's own face, which keeps its detail (no colour matching is needed then). The result
    has the photo's size; pixels outside the warped mask are the photo's own, unchanged; a transform reaching
    outside the photo is clipped to it."""
    photo = as_rgb_array(photo)
    face = as_rgb_array(face)
    size = face.shape[0]
    if face.shape[1] != size:
        raise EngineError(f"a face to put back must be square, got shape {list(face.shape)}")
    m = np.asarray(m, np.float64)
    h, w = photo.shape[:2]
    out = photo.copy()
    corners = apply(invert(m), [[-1, -1], [size, -1], [-1, size], [size, size]])
    x0, y0 = np.maximum(np.floor(corners.min(0)).astype(int) - 1, 0)
    x1, y1 = np.minimum(np.ceil(corners.max(0)).astype(int) + 2, [w, h])
    if x1 <= x0 or y1 <= y0:
        return out  # the crop lies wholly outside the photo
    mask = face_mask(size, feather)
    src = face.astype(np.float32)
    if base is not None:
        base = as_rgb_array(base)
        if base.shape != face.shape:
            raise EngineError(f"the unedited face has shape {list(base.shape)}, the face {list(face.shape)}")
        src = src - base.astype(np.float32)
    elif match_colour:
        ref = warp_to_crop(photo, m, size).astype(np.float32)
        wsum = float(mask.sum())
        if wsum > 0:
            shift = ((ref - src) * mask[..., None]).sum((0, 1)) / wsum
            src = np.clip(src + shift, 0, 255)
    roi_to_crop = compose(m, np.array([[1.0, 0, x0], [0, 1.0, y0]]))
    s = transform_scale(m)  # crop pixels per photo pixel
    if s > 1.25:  # the face is smaller in the photo: average the crop down first, then warp near 1:1
        n = max(1, round(size / s * 1.25))
        f = n / size
        src = resize_area(src, (n, n), smooth=True)
        mask = resize_area(mask, (n, n), smooth=True)
        roi_to_crop = compose(np.array([[f, 0, 0.5 * f - 0.5], [0, f, 0.5 * f - 0.5]]), roi_to_crop)
    dsize = (int(x1 - x0), int(y1 - y0))
    crop_to_roi = invert(roi_to_crop)  # roi_to_crop maps the destination (photo) to the source (crop)
    warped = warp_affine(src, crop_to_roi, dsize)
    weight = warp_affine(mask, crop_to_roi, dsize, cubic=False, edge=False)
    weight = np.clip(weight, 0.0, 1.0)[..., None]
    roi = out[y0:y1, x0:x1]
    if base is not None:
        blended = np.clip(roi.astype(np.float32) + warped * weight, 0, 255)
    else:
        blended = roi.astype(np.float32) * (1 - weight) + np.clip(warped, 0, 255) * weight
    out[y0:y1, x0:x1] = np.where(weight > 0, np.round(blended), roi).astype(np.uint8)
    return out
