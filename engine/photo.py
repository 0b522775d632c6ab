"""Your own photo in the latent space (issue 15): find the face, frame it like the training data,
encode it, place it in the training cloud, and write the results.

:func:`frame_and_encode_photos` frames, encodes and places photos; :func:`write_photo_results` writes one
folder per photo (the use case both fronts call is ``engine.workflows.photo``)::

    OUT/<stem>/aligned.png          the model-size crop that was encoded
    OUT/<stem>/reconstruction.png   its reconstruction
    OUT/<stem>/z.npy                1 × z_dim float32
    OUT/<stem>/photo.json           face box, landmarks, the transform, MSE, Mahalanobis percentile, neighbours
    OUT/<stem>/edit-<attribute>.png optional: an edit strip like ``edit``'s
    OUT/<stem>/put-back.png         optional: the photo at its own size with the model's face (the reconstruction,
                                    or the face edited along the attribute) put back in, feathered (:func:`put_back_photo`)
    OUT/<stem>/params.json          the set's manifest (engine/output_folders.py)

Each ``<stem>`` folder is an owned set (kind ``"photo"``) written by the rules of
:mod:`engine.output_folders` (staged, moved into place, never over a user's file); ``OUT`` itself
may be new, empty, or hold only photo folders we wrote. Framing: :mod:`engine.face_framing`.
"""
from __future__ import annotations

import json
import math
import os
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from . import __version__, atomic_io, face_framing as ff, output_folders
from .errors import EngineError, NoFaceFound
from .progress import CancelToken, Progress, ProgressCallback, no_progress

SET_KIND = "photo"
PHOTO_JSON = "photo.json"
#: the face index that places every face found in a photo (a group photo)
ALL_FACES = "all"
#: a batch's summary beside its ``<stem>`` folders (engine.workflows.photo), recorded as ours as this kind
BATCH_FILE = "photos.json"
BATCH_KIND = "photo-batch"
#: the photo with the model's face put back in (:func:`put_back_photo`)
PUT_BACK_FILE = "put-back.png"
NEIGHBOURS = 6
#: Verdicts by the percentile of the face's Mahalanobis distance among the training z-points': above
#: 95 % "unusual"; above 99.73 % "outside the 3σ ellipsoid" — the ellipsoid holding 99.73 % of the
#: training cloud itself. (The cloud is heavier-tailed than a Gaussian: the χ²(d) 3σ radius holds
#: only ~80 % of the default model's z-points, so it would call ordinary faces outliers; the χ²
#: answer is still reported as ``inside_chi2_3sigma``.)
UNUSUAL_PERCENTILE = 95.0
THREE_SIGMA_PERCENTILE = 99.73


#: The face detectors, the one list both front ends offer: "mtcnn" (five landmarks, :mod:`engine.face_detect_mtcnn`)
#: and "haar" (OpenCV's cascades, eyes and box; only with the optional extra :data:`face_framing.HAAR_EXTRA`, which
#: brings OpenCV). The default is chosen by benchmarks/photo_framing.py (faces found on its hard set: MTCNN 1.000,
#: Haar 0.729); Haar is kept for comparison, never used behind MTCNN's back.
DETECTORS = ("mtcnn", "haar")
DEFAULT_DETECTOR = "mtcnn"
#: How each detector reads in a list of choices.
DETECTOR_TITLES = {"mtcnn": "MTCNN (five landmarks)", "haar": "Haar cascades"}
#: A landmark framing is refined by the aligner only when the correction stays this small (shift in crop
#: sides, turn in degrees, |log scale|): the aligner was learnt on Haar-sized errors and on an already good
#: framing its larger steps are mostly wrong.
REFINE_GATE = (0.06, 4.0, 0.06)
#: A photo file's faces are found on a copy decoded reduced (a JPEG by the codec: 1/2, 1/4 or 1/8) to at least this
#: longest side, the size the detectors work at (engine.face_detect_mtcnn.DETECT_MAX_SIDE) ...
DETECT_READ_SIDE = 800
#: ... but by at most this factor: the entropy decoding, the same at every reduction, is most of a decode's cost, so
#: a 12 MP JPEG decoded at 1/2 (which also gives an ordinary face's crop its pixels, :data:`CROP_OVERSAMPLE`) costs
#: little more than at 1/4, and much less than 1/4 and then 1/2 for the crop (CPU 33 + 39 ms → 39 ms).
READ_MAX_REDUCTION = 2
#: A camera-sized photo file (longest side at least LARGE_PHOTO_SIDE) is searched first on a copy of
#: LARGE_PHOTO_DETECT_SIDE (faces from 1/32 of its side: 125 px of a 12 MP picture's 4000) instead of the detector's
#: 800 (1/40: 100 px): 18 ms less CPU per 12 MP photo. Where that quick pass finds nothing, the detector's finer
#: pass finds faces from about 40 px; a smaller face beside a larger one in such a photo is not looked for.
LARGE_PHOTO_SIDE = 3000
LARGE_PHOTO_DETECT_SIDE = 640
#: A face's crop is taken from pixels at least this many times finer than the crop (its training resolution);
#: where the quick copy is coarser, the photo is decoded again just fine enough.
CROP_OVERSAMPLE = 2.0
#: The clock :attr:`PhotoResult.timings` reads (seconds; the benchmark reads CPU time with ``time.process_time``).
STEP_CLOCK = time.perf_counter


@dataclass
class PhotoResult:
    """One photo framed, encoded and placed. Pixel coordinates are those of the upright photo
    (EXIF applied) at its full size; ``transform`` maps them to the aligned crop's pixels."""

    source: str
    photo_size: tuple[int, int]  # (width, height) upright, full size
    framing: str  # "detected and refined" | "detected" | "centre square (no face detection)"
    faces_found: int
    face_index: Optional[int]
    face_box: Optional[np.ndarray]  # 4×2 corners (a turned square for a turned face), or None
    face_angle: float  # degrees, counter-clockwise on screen
    landmarks: dict  # name → [x, y] in photo pixels: where the canonical eyes land ("eye_left", "eye_right")
    detected_eyes: Optional[np.ndarray]  # 2×2 as the eye detector found them, or None
    transform: np.ndarray  # 2×3 photo pixel → crop pixel
    aligned: np.ndarray  # S×S×3 uint8
    reconstruction: np.ndarray  # S×S×3 uint8
    z: np.ndarray  # 1×z_dim float32
    mse: float  # reconstruction MSE on the [0, 1] scale
    mahalanobis: float  # d_M (not squared) in the training cloud
    percentile: float  # % of the training z-points with a smaller d_M
    verdict: str  # "typical" | "unusual" | "outside the 3σ ellipsoid" (see THREE_SIGMA_PERCENTILE)
    inside_chi2_3sigma: bool = True  # d_M² within the χ²(z_dim) 3σ quantile
    nearest: list[tuple[str, float]] = field(default_factory=list)  # (training file, Euclidean z distance)
    photo: Optional[np.ndarray] = None  # the working copy of the photo (only with keep_photo)
    photo_scale: float = 1.0  # working copy pixels per full-size pixel
    #: every face found, largest first: 4×2 corners in the working copy's pixels (the choice among them)
    faces: list = field(default_factory=list)
    #: the working copy was decoded reduced for speed (a put-back reads the photo again at its own size)
    photo_reduced: bool = False
    #: milliseconds this photo took, by step: decode, detect, frame (and refine), encode (and decode), place
    timings: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "source": self.source, "photo_size": list(self.photo_size), "framing": self.framing,
            "faces_found": self.faces_found, "face_index": self.face_index,
            "face_box": None if self.face_box is None else np.round(self.face_box, 2).tolist(),
            "face_angle_deg": round(self.face_angle, 2),
            "landmarks": {k: [round(float(v[0]), 2), round(float(v[1]), 2)] for k, v in self.landmarks.items()},
            "detected_eyes": None if self.detected_eyes is None else np.round(self.detected_eyes, 2).tolist(),
            "transform": np.asarray(self.transform).round(6).tolist(),
            "transform_note": "2×3 affine: crop pixel = T · [x, y, 1] of the upright full-size photo (pixel centres)",
            "reconstruction_mse": round(self.mse, 6),
            "mahalanobis": round(self.mahalanobis, 3), "mahalanobis_percentile": round(self.percentile, 2),
            "verdict": self.verdict, "inside_chi2_3sigma": self.inside_chi2_3sigma,
            "nearest": [{"file": f, "distance": round(d, 4)} for f, d in self.nearest],
        }


@dataclass
class CloudReference:
    """What placing a z-point in the training cloud needs (built once per opened model: :meth:`for_cloud`)."""

    latents: np.ndarray
    files: list[str]
    mean: np.ndarray
    whitener: np.ndarray
    d2_sorted: np.ndarray  # the training points' squared Mahalanobis distances, sorted
    d2_3sigma: float
    z64: Optional[np.ndarray] = None  # the z-points as float64, and their squared norms (nearest-neighbour search)
    sq: Optional[np.ndarray] = None

    @classmethod
    def build(cls, latents: np.ndarray, files: Sequence[str], stats=None) -> "CloudReference":
        from .latent_stats import chi2_threshold, mahalanobis_sq, whitening

        z = np.asarray(latents)
        if z.ndim != 2 or len(z) < 2:
            raise EngineError(f"the model's z-points have shape {list(z.shape)}; encode its dataset first")
        z64 = z.astype(np.float64)
        if stats is not None:
            mean, cov = np.asarray(stats.mean, np.float64), np.asarray(stats.cov, np.float64)
        else:
            mean, cov = z64.mean(0), np.cov(z64, rowvar=False)
        W, _ = whitening(cov)
        d2 = np.sort(mahalanobis_sq(z, mean, W))
        return cls(z, list(files), mean, W, d2, float(chi2_threshold(3.0, z.shape[1])), z64,
                   np.einsum("ij,ij->i", z64, z64))

    @classmethod
    def for_cloud(cls, latents: np.ndarray, files: Sequence[str], stats=None) -> "CloudReference":
        """:meth:`build`, remembered for the last few clouds (the same latents array, file list and statistics
        object: one opened model), so that placing photo after photo does not whiten the cloud again each time."""
        key = (id(latents), id(files), id(stats), len(files))
        hit = _CLOUDS.get(key)
        if hit is not None and hit[0]() is latents and hit[1]() is stats:
            return hit[2]
        ref = cls.build(latents, files, stats)
        try:
            entry = (weakref.ref(latents), (lambda: None) if stats is None else weakref.ref(stats), ref)
        except TypeError:  # an object without weak references is simply not remembered
            return ref
        while len(_CLOUDS) >= 4:
            _CLOUDS.pop(next(iter(_CLOUDS)))
        _CLOUDS[key] = entry
        return ref

    def place(self, z: np.ndarray, k: int = NEIGHBOURS) -> tuple[float, float, str, list[tuple[str, float]], bool]:
        """``(d_M, percentile, verdict, nearest (file, distance), inside the χ² 3σ quantile)``."""
        from .latent_stats import mahalanobis_sq

        z = np.asarray(z, np.float64).reshape(1, -1)
        d2 = float(mahalanobis_sq(z, self.mean, self.whitener)[0])
        pct = 100.0 * float(np.searchsorted(self.d2_sorted, d2, side="left")) / len(self.d2_sorted)
        if pct > THREE_SIGMA_PERCENTILE:
            verdict = "outside the 3σ ellipsoid"
        elif pct > UNUSUAL_PERCENTILE:
            verdict = "unusual"
        else:
            verdict = "typical"
        z64 = self.z64 if self.z64 is not None else self.latents.astype(np.float64)
        sq = self.sq if self.sq is not None else np.einsum("ij,ij->i", z64, z64)
        dist = np.sqrt(np.maximum(sq - 2.0 * (z64 @ z[0]) + float(z[0] @ z[0]), 0))
        k = min(k, len(dist))
        c = min(k + 8, len(dist))  # candidates, then the nearest exactly (the expanded form rounds small distances)
        idx = np.argpartition(dist, c - 1)[:c] if c < len(dist) else np.arange(len(dist))
        exact = np.sqrt(((z64[idx] - z) ** 2).sum(1))
        order = np.argsort(exact, kind="stable")[:k]
        idx, exact = idx[order], exact[order]
        names = [self.files[i] if i < len(self.files) else f"#{i}" for i in idx]
        return (float(np.sqrt(d2)), pct, verdict, [(n, float(d)) for n, d in zip(names, exact)],
                d2 <= self.d2_3sigma)


#: :meth:`CloudReference.for_cloud`'s memory: key → (weak latents, weak stats, reference)
_CLOUDS: dict = {}


def _codec(model, config):
    from .formats.native import as_codec

    codec = as_codec(model)
    cfg = config if config is not None else getattr(codec, "config", None)
    return codec, cfg


def frame_and_encode_photos(
    model, config, latents: np.ndarray, files: Sequence[str], photos: Sequence[str | os.PathLike], *,
    no_detect: bool = False, face_index: Optional[int] = None, model_dir: Optional[str | os.PathLike] = None,
    aligner: Optional[ff.Aligner] = None, stats=None, keep_photo: bool = False, neighbours: int = NEIGHBOURS,
    progress: Optional[ProgressCallback] = None, cancel: Optional[CancelToken] = None, detector: Optional[str] = None,
    on_miss: Optional[Callable[[int, str | os.PathLike, EngineError], None]] = None,
) -> list[PhotoResult]:
    """Each photo: find the face (the largest, or ``face_index``-th largest), frame it as the
    training faces were framed, encode, reconstruct and place it in the cloud ``latents``.

    ``model`` is a codec (engine.formats.codec) or a bare autoencoder; ``config`` its ModelConfig (its
    preprocess gives the crop size). The aligner is read from ``model_dir`` (or the codec's folder)
    unless given. ``no_detect`` frames the centre square of the whole photo. A photo that cannot be
    read, or shows no face, raises :class:`EngineError` (one line naming it) before anything else
    is done with the later photos; with ``on_miss`` it is handed to ``on_miss(index, path, error)``
    instead and the later photos go on. Nothing is written here."""
    progress = progress or no_progress
    cancel = cancel or CancelToken()
    codec, config = _codec(model, config)
    if config is None:
        raise EngineError("frame_and_encode_photos needs the model's config (its preprocess)")
    size = int(config.preprocess.image_size)
    if not photos:
        raise EngineError("{opt:photo}: no photo given")
    if face_index is not None and face_index != ALL_FACES and (not isinstance(face_index, int) or face_index < 0):
        raise EngineError(f"{face_index!r}: a face index is a whole number ≥ 0 (0 = the largest face), or all",
                          param="face")
    if not no_detect:
        _check_detector(detector)
    if aligner is None and not no_detect:
        folder = model_dir if model_dir is not None else getattr(codec, "folder", None)
        aligner = ff.load_aligner(folder, config)
    cloud = CloudReference.for_cloud(latents, files, stats)
    results = []
    for i, path in enumerate(photos):
        cancel.raise_if_cancelled()
        progress(Progress("photo", i, len(photos), f"framing {Path(path).name}"))
        try:
            results += _photo_results(codec, size, cloud, path, no_detect, face_index, aligner, keep_photo,
                                      neighbours, detector)
        except EngineError as exc:
            if on_miss is None:
                raise
            on_miss(i, path, exc)
    progress(Progress("photo", len(photos), len(photos), "done"))
    return results


def frame_photo(image: np.ndarray, size: int, *, model=None, aligner: Optional[ff.Aligner] = None,
                no_detect: bool = False, face_index: Optional[int] = None, source: str = "photo",
                detector: Optional[str] = None):
    """Frame one in-memory photo: ``(transform, face or None, faces_found, framing)``; the pure
    framing step, without encoding (the benchmark and the GUI's preview use it). :func:`frame_photo_faces`
    also gives every face found."""
    m, face, faces, framing = frame_photo_faces(image, size, model=model, aligner=aligner, no_detect=no_detect,
                                                face_index=face_index, source=source, detector=detector)
    return m, face, len(faces), framing


def frame_photo_faces(image: np.ndarray, size: int, *, model=None, aligner: Optional[ff.Aligner] = None,
                      no_detect: bool = False, face_index: Optional[int] = None, source: str = "photo",
                      detector: Optional[str] = None):
    """:func:`frame_photo`, with every face found (largest first) instead of their number."""
    h, w = image.shape[:2]
    if no_detect:
        return ff.centre_square_transform(w, h, size), None, [], "centre square (no face detection)"
    faces = _detected(image, source, detector)
    k = 0 if face_index is None else face_index
    if k >= len(faces):
        raise EngineError(f"{source}: face {k} asked for, but {len(faces)} face(s) found "
                          f"(0 = the largest … {len(faces) - 1})")
    m, framing = _frame_face(image, faces[k], size, model, aligner)
    return m, faces[k], faces, framing


def frame_all_faces(image: np.ndarray, size: int, *, model=None, aligner: Optional[ff.Aligner] = None,
                    detector: Optional[str] = None, source: str = "photo") -> list:
    """Every face found in an in-memory photo, largest first, as ``(transform, face, framing)``."""
    out = []
    for face in _detected(image, source, detector, every=True):
        m, framing = _frame_face(image, face, size, model, aligner)
        out.append((m, face, framing))
    return out


def detector_available(name: str) -> bool:
    """Whether the detector ``name`` (one of :data:`DETECTORS`) can run in this install."""
    return name != "haar" or ff.haar_available()


def _check_detector(detector: Optional[str]) -> str:
    """``detector`` (None: the default) when it is one of :data:`DETECTORS` and can run here, else the error: not a
    detector, or :class:`~engine.errors.MissingExtra` naming the extra to install."""
    detector = detector or DEFAULT_DETECTOR
    if detector not in DETECTORS:
        raise EngineError(f"{detector!r}: not a face detector (one of {', '.join(DETECTORS)})", param="detector")
    if detector == "haar":
        ff.require_opencv()
    return detector


def _detected(image, source: str, detector: Optional[str] = None, photo_size: Optional[tuple] = None,
              every: bool = False) -> list:
    """The faces found in ``image`` (an array or a Pillow image), largest first, by ``detector`` (default
    :data:`DEFAULT_DETECTOR`); ``photo_size``: the photo's own (width, height) for the message, when ``image`` is a
    reduced copy. ``every`` (a group photo's every face is asked for): searched on the finer copy straight away,
    so that a small face beside a large one is found too (a camera-sized photo's quick pass looks only for faces
    from 1/32 of its side)."""
    detector = _check_detector(detector)
    if every:
        from .face_detect_mtcnn import FINE_MAX_SIDE

        quick = FINE_MAX_SIDE
    else:
        quick = LARGE_PHOTO_DETECT_SIDE if photo_size and max(photo_size) >= LARGE_PHOTO_SIDE else None
    faces = ff.detect_faces_landmarks(image, quick) if detector == "mtcnn" else ff.detect_faces(image)
    if not faces:
        w, h = photo_size or (image.size if hasattr(image, "getpixel") else image.shape[1::-1])
        raise NoFaceFound(f"{source}: no face found in the photo ({w}×{h}); {{opt:no_detect}} frames its centre "
                          "square instead", path=source)
    return faces


def _frame_face(image: np.ndarray, face, size: int, model, aligner, initial=None) -> tuple[np.ndarray, str]:
    """One detected face's transform (from ``initial``, default the detection's own in ``image``'s pixels), refined
    by the model's aligner where it has one, and how it was framed."""
    m = ff.initial_transform(face, size) if initial is None else initial
    if aligner is None or model is None or aligner.image_size != size:
        return m, "detected"
    from .formats.native import as_codec

    codec = as_codec(model)
    refined = ff.refine_transform(None, image, m, aligner, encode=lambda crops: codec.encode(crops))
    if face.landmarks is None:
        return refined, "detected and refined"
    if _small_correction(ff.compose(refined, ff.invert(m)), size):
        return refined, "detected and refined"
    return m, "detected"


def _small_correction(d: np.ndarray, size: int) -> bool:
    """Whether the crop-space correction ``d`` stays inside :data:`REFINE_GATE`."""
    c = (size - 1) / 2
    shift = np.hypot(*(ff.apply(d, [[c, c]])[0] - c)) / size
    turn = abs((ff.transform_angle(d) + 180) % 360 - 180)
    return shift <= REFINE_GATE[0] and turn <= REFINE_GATE[1] and abs(np.log(ff.transform_scale(d))) <= REFINE_GATE[2]


class _PhotoPixels:
    """A photo file read for framing: the copy its faces are found on (``picture``, a Pillow image; ``scale``: its
    pixels per full-size pixel; a JPEG decoded reduced to :data:`DETECT_READ_SIDE`), and for each face's crop pixels
    fine enough for it (:meth:`for_crop`), decoded again only when that copy is too coarse there. No array of the
    whole copy is made unless asked for (:attr:`image`): the detector reduces the picture itself, a crop reads its
    region."""

    def __init__(self, path) -> None:
        t0 = STEP_CLOCK()
        self.path = path
        self.picture, self.scale = ff.load_photo_scaled(path, reduce_to=DETECT_READ_SIDE, picture=True,
                                                        max_reduction=READ_MAX_REDUCTION)
        self.width, self.height = self.picture.size
        self.longest = max(self.width, self.height) / self.scale  # the full-size photo's longest side
        # reduced for speed (a JPEG's quick copy), not only to fit MAX_PHOTO_SIDE (draft steps are ≥ 2×)
        self.reduced = self.scale * 1.5 < min(1.0, ff.MAX_PHOTO_SIDE / self.longest)
        self.decode_s = STEP_CLOCK() - t0
        self._finer: dict[int, tuple] = {}
        self._image: Optional[np.ndarray] = None

    @property
    def image(self) -> np.ndarray:
        """The copy as an H×W×3 uint8 array (made once, when asked for)."""
        if self._image is None:
            self._image = np.asarray(self.picture, np.uint8)
        return self._image

    def for_crop(self, m: np.ndarray, size: int) -> tuple:
        """``(pixels, scale)`` where the crop ``m`` (quick copy → crop) spans at least :data:`CROP_OVERSAMPLE` ×
        ``size`` pixels (or the finest the photo is read at); the pixels are a Pillow image."""
        need = ff.transform_scale(m) * CROP_OVERSAMPLE  # > 1: the quick copy is coarser than the crop needs
        if not self.reduced or need <= 1.0:
            return self.picture, self.scale
        side = math.ceil(self.longest * min(1.0, self.scale * need))
        if side not in self._finer:
            t0 = STEP_CLOCK()
            self._finer[side] = ff.load_photo_scaled(self.path, reduce_to=side, picture=True)
            self.decode_s += STEP_CLOCK() - t0
        return self._finer[side]


def _scaling_map(k: float) -> np.ndarray:
    """Pixel centres of a copy scaled by ``k`` → the original's: p = (q + 0.5)/k − 0.5."""
    return np.array([[1 / k, 0.0, 0.5 / k - 0.5], [0.0, 1 / k, 0.5 / k - 0.5]])


def _photo_results(codec, size, cloud, path, no_detect, face_index, aligner, keep_photo, neighbours,
                   detector=None) -> list:
    """One photo's results: its chosen face (or centre square), or with :data:`ALL_FACES` each face found. Faces are
    found on the quick copy; each crop (and its refinement) is taken from pixels fine enough for it."""
    px = _PhotoPixels(path)
    times = {"decode": px.decode_s}
    if no_detect:
        m = ff.centre_square_transform(px.width, px.height, size)
        return [_one_photo(codec, size, cloud, path, px, (px.picture, px.scale, m), None, None, [],
                           "centre square (no face detection)", keep_photo, neighbours, times)]
    t0 = STEP_CLOCK()
    faces = _detected(px.picture, str(path), detector, (round(px.width / px.scale), round(px.height / px.scale)),
                      every=face_index == ALL_FACES)
    times["detect"] = STEP_CLOCK() - t0
    if face_index == ALL_FACES:
        chosen = range(len(faces))
    else:
        k = face_index or 0
        if k >= len(faces):
            raise EngineError(f"{path}: face {k} asked for, but {len(faces)} face(s) found "
                              f"(0 = the largest … {len(faces) - 1})")
        chosen = [k]
    results = []
    for k in chosen:
        t0 = STEP_CLOCK()
        decoded = px.decode_s
        m0 = ff.initial_transform(faces[k], size)
        image, scale = px.for_crop(m0, size)
        to_quick = _scaling_map(scale / px.scale)  # crop pixels' image → quick copy
        m, framing = _frame_face(image, faces[k], size, codec, aligner, initial=ff.compose(m0, to_quick))
        times = {**times, "decode": px.decode_s, "frame": STEP_CLOCK() - t0 - (px.decode_s - decoded)}
        results.append(_one_photo(codec, size, cloud, path, px, (image, scale, m), faces[k], k, faces, framing,
                                  keep_photo, neighbours, times))
    return results


def _one_photo(codec, size, cloud, path, px: _PhotoPixels, crop, face, face_index, faces, framing, keep_photo,
               neighbours, times: dict) -> PhotoResult:
    """One face's result: ``crop`` is ``(pixels, their scale, transform pixels → crop)``; ``face`` and ``faces`` are in
    the quick copy's pixels."""
    image, scale, m = crop
    t0 = STEP_CLOCK()
    aligned = ff.warp_to_crop(image, m, size)
    z = codec.encode(aligned[None]).astype(np.float32)
    if not np.isfinite(z).all():
        raise EngineError(f"{path}: the model's encoder gave a non-finite z for this photo")
    recon = codec.decode(z)
    t1 = STEP_CLOCK()
    d = aligned.astype(np.float32) / 255.0 - recon[0].astype(np.float32) / 255.0
    mse = float(np.mean(d * d))
    dm, pct, verdict, near, inside = cloud.place(z[0], neighbours)
    # photo pixel coordinates of the full-size upright photo: pixel of a copy = (p + 0.5)·scale − 0.5
    m_full = ff.compose(m, ff.invert(_scaling_map(scale)))
    quick_to_full = _scaling_map(px.scale)
    eyes_full = ff.apply(ff.invert(m_full), ff.crop_landmarks(size=size))
    timings = {**times, "encode": t1 - t0, "place": STEP_CLOCK() - t1}
    return PhotoResult(
        source=str(path), photo_size=(round(px.width / px.scale), round(px.height / px.scale)), framing=framing,
        faces_found=len(faces), face_index=face_index,
        face_box=None if face is None else ff.apply(quick_to_full, face.corners),
        face_angle=ff.transform_angle(ff.invert(m_full)) if face is not None else 0.0,
        landmarks={"eye_left": eyes_full[0], "eye_right": eyes_full[1]},
        detected_eyes=None if face is None or face.eyes is None else ff.apply(quick_to_full, face.eyes),
        transform=m_full, aligned=aligned, reconstruction=recon[0], z=z, mse=mse, mahalanobis=dm,
        percentile=pct, verdict=verdict, inside_chi2_3sigma=bool(inside), nearest=near,
        photo=px.image if keep_photo else None, photo_scale=px.scale, photo_reduced=px.reduced,
        faces=[np.asarray(f.corners) for f in faces], timings={k: round(v * 1000, 2) for k, v in timings.items()},
    )


# ---------------------------------------------------------------------------------------------
# writing


def stems_for(photos: Sequence[str | os.PathLike]) -> list[str]:
    """One folder name per photo path: ``me.jpg`` and ``me.png`` → ``me``, ``me-1`` (known before any
    work, so that the output folder can be checked first)."""
    return output_folders.unique_file_names((Path(p).stem for p in photos), suffix="")


def photo_stems(results: Sequence[PhotoResult]) -> list[str]:
    """The folder names of placed photos: a photo's stem; ``<stem>-face<k>`` for each of several faces of one photo
    placed together (:data:`ALL_FACES`)."""
    indices: dict[str, set] = {}
    for r in results:
        indices.setdefault(r.source, set()).add(r.face_index)
    return output_folders.unique_file_names(
        (Path(r.source).stem + (f"-face{r.face_index}" if len(indices[r.source]) > 1 else "") for r in results),
        suffix="")


def check_photo_output(out, stems: Sequence[str], *, inputs=(), overwrite: bool = False) -> Path:
    """Refuse, before any work, an ``out`` that is not new, empty or a folder of our photo sets (and
    a ``<stem>`` folder that is not a photo set we wrote, or is one and ``overwrite`` is off)."""
    out = output_folders.check_path_text(out)
    if out.exists() and not out.is_dir():
        raise EngineError(f"{out}: exists and is not a folder")
    output_folders.check_not_inside(out, inputs)
    if out.is_dir():
        try:
            entries = sorted(n for n in os.listdir(out) if not n.startswith("."))
        except OSError as exc:
            raise EngineError(f"{out}: cannot read the folder ({exc.strerror or exc})") from None
        foreign = [n for n in entries if not _ours_in_out(out / n)]
        if foreign:
            shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
            raise EngineError(f"{out}: holds files that Latent Face Studio did not write ({shown}); "
                              "choose a new or empty folder — nothing was written")
    for stem in stems:
        output_folders.check_output_folder(out / stem, inputs=inputs, overwrite=overwrite, kind=SET_KIND)
    return out


def _ours_in_out(path: Path) -> bool:
    """A photo set we wrote, or the batch summary we wrote (unchanged since)."""
    if path.name == BATCH_FILE:
        return output_folders.is_owned_file(path, BATCH_KIND)
    return (path.is_dir() and not path.is_symlink()
            and (output_folders.read_manifest(path) or ("",))[0] == SET_KIND)


def write_photo_results(
    out, results: Sequence[PhotoResult], *, model=None, direction=None, attribute: Optional[str] = None,
    amounts: Optional[Sequence[float]] = None, params: Optional[dict] = None, overwrite: bool = False, inputs=(),
    cancel: Optional[CancelToken] = None, put_back: bool = False, put_back_amount: Optional[float] = None,
    put_back_whole: bool = False, put_back_z: Optional[np.ndarray] = None,
) -> list[Path]:
    """Write ``OUT/<stem>/`` per photo (see the module docstring). With ``direction`` (an
    AttributeDirection), ``amounts`` and ``model`` an edit strip ``edit-<attribute>.png`` is added:
    the aligned crop, a gap, then the decoded z moved by each amount. With ``put_back``, ``put-back.png``: the
    photo with the reconstruction put back in, or (``put_back_amount`` and ``direction``) the edit of the face by
    that amount along the direction: its change added to the photo's own face (its detail kept), or with
    ``put_back_whole`` the edited decoded face itself; ``put_back_z`` (one edited z per result, e.g. the face
    inspector's) puts back the change from each result's z to it. Returns the folders written."""
    stems = photo_stems(results)
    out = check_photo_output(out, stems, inputs=inputs, overwrite=overwrite)
    edited = put_back_amount is not None or put_back_z is not None
    faces_back = _faces_to_put_back(results, model, direction, put_back, put_back_amount, cancel, put_back_z)
    strips = None
    if direction is not None:
        if model is None or amounts is None:
            raise EngineError("an edit strip needs the model and the amounts")
        from .editing import edit_strips

        codec, _ = _codec(model, None)
        strips = edit_strips(codec, np.concatenate([r.z for r in results]), direction, amounts, cancel=cancel)
    attr = attribute or getattr(direction, "name", None) or "attribute"
    safe_attr = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in str(attr))
    written = []
    for i, (stem, r) in enumerate(zip(stems, results)):
        if cancel is not None:
            cancel.raise_if_cancelled()

        def fill(stage: Path, r=r, i=i) -> dict:
            atomic_io.write_staged(stage / "aligned.png", atomic_io.png_bytes(r.aligned))
            atomic_io.write_staged(stage / "reconstruction.png", atomic_io.png_bytes(r.reconstruction))
            atomic_io.write_staged(stage / "z.npy", atomic_io.npy_bytes(np.asarray(r.z, np.float32).reshape(1, -1)))
            record = r.to_json()
            if strips is not None:
                from .editing import strip_image

                name = f"edit-{safe_attr}.png"
                atomic_io.write_staged(stage / name, atomic_io.png_bytes(strip_image(strips[i], r.aligned)))
                record["edit"] = {"file": name, "attribute": attr, "amounts": [float(a) for a in amounts],
                                  "columns": ["aligned"] + [f"{a:g}" for a in amounts]}
            if faces_back is not None:
                record["put_back"] = _write_put_back(stage, r, faces_back[i], attr if put_back_amount is not None
                                                     else None, put_back_amount, edited, put_back_whole)
            record.update(params or {})
            atomic_io.write_staged(stage / PHOTO_JSON, (json.dumps(record, indent=2, ensure_ascii=False) + "\n").encode())
            manifest = {"command": "photo", "source": r.source, "app_version": __version__, **(params or {})}
            if faces_back is not None:
                manifest["put_back"] = {k: record["put_back"][k] for k in ("file", "face", "attribute", "amount")}
            return manifest

        written.append(output_folders.write_owned_set(out / stem, SET_KIND, fill, overwrite=overwrite, inputs=inputs))
    return written


def _faces_to_put_back(results, model, direction, put_back: bool, amount: Optional[float], cancel, edited_z=None):
    """The S×S faces to put back, one per result (the reconstructions, each z moved by ``amount``, or the decoded
    ``edited_z``), or None."""
    if not put_back:
        return None
    if edited_z is not None:
        if model is None:
            raise EngineError("an edited face to put back needs the model")
        from .encoding import decode_latents

        codec, _ = _codec(model, None)
        z = np.asarray(edited_z, np.float32).reshape(len(results), -1)
        return decode_latents(codec, z, cancel=cancel)
    if amount is None:
        return [r.reconstruction for r in results]
    if direction is None or model is None:
        raise EngineError(": an edited face to put back needs the model and an attribute ({opt:attribute})",
                          param="put_back_amount")
    from .editing import edit_strips

    codec, _ = _codec(model, None)
    return edit_strips(codec, np.concatenate([r.z for r in results]), direction, [float(amount)], cancel=cancel)[:, 0]


def _write_put_back(stage: Path, result: PhotoResult, face: np.ndarray, attribute, amount, edited: bool,
                    whole: bool) -> dict:
    """Stage ``put-back.png`` and return its record for ``photo.json``."""
    change_only = edited and not whole
    picture, scale = put_back_photo(result, face, base=result.reconstruction if change_only else None)
    atomic_io.write_staged(stage / PUT_BACK_FILE, atomic_io.png_bytes(picture))
    face_kind = "reconstruction" if not edited else "edit added to the photo's face" if change_only else "edited"
    return {"file": PUT_BACK_FILE, "face": face_kind,
            "attribute": attribute, "amount": None if amount is None else float(amount),
            "size": [int(picture.shape[1]), int(picture.shape[0])], "photo_scale": round(float(scale), 6),
            "feather": ff.PUT_BACK_FEATHER, "colour_matched": not change_only,
            "note": "the face warped back by the inverse of the transform and blended over a feathered ellipse; "
                    "size: the photo's upright size, reduced by photo_scale when it was reduced to be read"}


def put_back_photo(result: PhotoResult, face: Optional[np.ndarray] = None, *,
                   base: Optional[np.ndarray] = None) -> tuple[np.ndarray, float]:
    """``(picture, scale)``: the result's photo (the copy kept unless it was the quick reduced one, else read again at
    its own size) with ``face``
    (default: the reconstruction) put back where its crop was taken (:func:`engine.face_framing.put_back`), at the
    photo's own size (``scale``: its pixels per full-size pixel, below 1 only for a photo reduced to be read). With
    ``base`` (the unedited decoded face) only ``face − base`` is added to the photo's face."""
    if result.photo is not None and not result.photo_reduced:
        image, scale = result.photo, result.photo_scale
    else:
        image, scale = ff.load_photo_scaled(result.source)
    work_to_full = np.array([[1 / scale, 0.0, 0.5 / scale - 0.5], [0.0, 1 / scale, 0.5 / scale - 0.5]])
    m = ff.compose(np.asarray(result.transform, np.float64), work_to_full)
    return ff.put_back(image, m, result.reconstruction if face is None else face, base=base), scale


def result_picture(result: PhotoResult, height: int = 256) -> np.ndarray:
    """One picture: the photo (working copy, needs ``keep_photo``) with the face box and the eyes
    marked, the aligned crop and its reconstruction, side by side (uint8 RGB)."""
    from PIL import Image, ImageDraw

    if result.photo is None:
        raise EngineError("result_picture needs the photo (frame_and_encode_photos(..., keep_photo=True))")
    picture = Image.fromarray(result.photo)
    draw = ImageDraw.Draw(picture)
    s = result.photo_scale
    lw = max(1, round(max(result.photo.shape[:2]) / 300))

    def outline(corners, colour):
        pts = [tuple(p) for p in np.round((np.asarray(corners) + 0.5) * s - 0.5).tolist()]
        draw.line(pts + pts[:1], fill=colour, width=lw, joint="curve")

    if result.face_box is not None:
        outline(result.face_box, (255, 200, 0))
    if result.detected_eyes is not None:
        for x, y in (result.detected_eyes + 0.5) * s - 0.5:
            draw.ellipse([x - 2 * lw, y - 2 * lw, x + 2 * lw, y + 2 * lw], fill=(0, 255, 255))
    arm = 5 * lw / 2
    for x, y in (np.array(list(result.landmarks.values())) + 0.5) * s - 0.5:
        draw.line([(x - arm, y), (x + arm, y)], fill=(255, 0, 255), width=lw)
        draw.line([(x, y - arm), (x, y + arm)], fill=(255, 0, 255), width=lw)
    side = result.aligned.shape[1] - 0.5, result.aligned.shape[0] - 0.5
    outline(ff.apply(ff.invert(result.transform), [[-0.5, -0.5], [side[0], -0.5], [side[0], side[1]], [-0.5, side[1]]]),
            (0, 255, 0))
    f = height / picture.height
    left = np.asarray(picture.resize((max(1, round(picture.width * f)), height), Image.BOX))
    tiles = [np.asarray(Image.fromarray(t).resize((height, height), Image.NEAREST))
             for t in (result.aligned, result.reconstruction)]
    gap = np.full((height, 8, 3), 255, np.uint8)
    return np.concatenate([left, gap, tiles[0], gap, tiles[1]], axis=1)
