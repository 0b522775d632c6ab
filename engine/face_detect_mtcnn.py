"""Find faces and their five landmarks (eyes, nose, mouth corners) with MTCNN on ONNX Runtime (Qt-free, no torch).

MTCNN (Zhang et al. 2016) is a cascade of three small networks: P-Net slides over an image pyramid and
proposes face boxes, R-Net rejects most of them on 24×24 crops, O-Net scores the rest on 48×48 crops and
places five points. The weights are facenet-pytorch 2.6.0's (MIT), converted once to ONNX by
``scripts/ship_mtcnn.py``; they ship in ``resources/detectors/mtcnn/`` with their licence. They are our own
package data: each file's sha256 must be the one pinned here (:data:`SHIPPED`), else loading refuses in one line.

Detection runs on a copy whose longest side is at most :data:`DETECT_MAX_SIDE` (speed: a 12 MP photo is
reduced first), where it finds faces from :data:`MIN_FACE` pixels of that copy (1/40 of the picture's longest side)
to the whole picture. Where that quick pass finds nothing in a larger picture, a finer pass looks again on a copy
of up to :data:`FINE_MAX_SIDE` (faces from 40 px in pictures up to 4096 px, e.g. 12 MP); then a face that fills
the whole picture, where P-Net proposes nothing, is looked for on a copy padded by its own edges. Pictures are
resized by Pillow (area averaging), as the training images were. Points are returned in the given image's pixel coordinates (pixel (i, j)
has its centre at (j, i)), picture-left eye first.

:data:`TEMPLATE` is where this detector puts the five points in a training crop, in crop units (0…1 from
the crop's top-left corner): medians over the default model's training images (celeba-9k aligned images,
preprocess box 140×140 of 178×218), found by ``scripts/ship_mtcnn.py`` with this very code, so that the
detector's own biases cancel when a photo's points are mapped onto it.
"""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from .errors import ModelFileError

#: sha256 of each shipped file (``scripts/ship_mtcnn.py`` prints them).
SHIPPED = {
    "pnet.onnx": "15701bcbdda3f7211e807863dc7c7dced2d1a90865d9d3ace493597546ca9652",
    "rnet.onnx": "294d90f625e66b5a514130fa8e6df8f0ddfa9ca6766087debf84c00ac403b842",
    "onet.onnx": "cd646ad36d711b292aacba164dc029fcbc00d2a65c06127b733ef9bd50df84e0",
}
#: The five points (picture-left eye, right eye, nose, mouth left, mouth right) in a training crop, crop units.
TEMPLATE = np.array([[0.3744, 0.5348], [0.6554, 0.5351], [0.5119, 0.7080], [0.3916, 0.8274], [0.6367, 0.8273]])
TEMPLATE_SOURCE = ("scripts/ship_mtcnn.py: medians over the first 400 celeba-9k training images of the default model "
                   "(celeba64-z256); a face found in 398")
#: The longest side of the copy detection runs on, and the smallest face (in that copy's pixels) looked for.
DETECT_MAX_SIDE = 800
MIN_FACE = 20
#: The longest side of the finer pass's copy, run only where the quick pass found nothing in a larger picture.
FINE_MAX_SIDE = 2048
THRESHOLDS = (0.6, 0.7, 0.7)
PYRAMID_FACTOR = 0.709
#: ONNX Runtime threads per network (the networks are small; more threads only contend). Its threads do not
#: spin while waiting for work: spinning tripled the detection's CPU time (79 → 221 ms on a 12 MP photo's copy)
#: and, on a busy machine, its wall time too.
THREADS = 2
MAX_FILE_BYTES = 4 * 2**20


def shipped_folder() -> Path:
    """Where the shipped weight files are."""
    from .resources import resources_dir

    return resources_dir() / "detectors" / "mtcnn"


@dataclass(frozen=True)
class Detection:
    """One face: its box (x0, y0, x1, y1), O-Net's score and its five points (5×2), in image pixels."""

    box: np.ndarray
    score: float
    points: np.ndarray

    @property
    def size(self) -> float:
        return float(max(self.box[2] - self.box[0], self.box[3] - self.box[1]))


def _read_checked(path: Path, check: bool) -> bytes:
    try:
        if not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
            raise OSError("missing or too large")
        data = path.read_bytes()
    except OSError as exc:
        raise ModelFileError(f"{path}: the face detector's weights cannot be read ({exc}); reinstall the app") from None
    if check and hashlib.sha256(data).hexdigest() != SHIPPED.get(path.name):
        raise ModelFileError(f"{path}: not the face detector weights this app shipped (sha256 differs); "
                             "reinstall the app")
    return data


def _session(data: bytes, path: Path):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = THREADS
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(data, sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - onnxruntime's own error types
        raise ModelFileError(f"{path}: the face detector's weights do not load ({' '.join(str(exc).split())[:200]})") \
            from None


# ---------------------------------------------------------------------------------------------
# boxes


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float, mode: str = "union") -> np.ndarray:
    """Greedy non-maximum suppression: indices kept, best score first (overlap by IoU or by the smaller area)."""
    if len(boxes) == 0:
        return np.zeros(0, np.int64)
    x0, y0, x1, y1 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    area = (x1 - x0 + 1) * (y1 - y0 + 1)
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(i)
        w = np.maximum(0.0, np.minimum(x1[i], x1[rest]) - np.maximum(x0[i], x0[rest]) + 1)
        h = np.maximum(0.0, np.minimum(y1[i], y1[rest]) - np.maximum(y0[i], y0[rest]) + 1)
        inter = w * h
        denom = np.minimum(area[i], area[rest]) if mode == "min" else area[i] + area[rest] - inter
        order = rest[inter / denom <= threshold]
    return np.asarray(keep, np.int64)


def _square(boxes: np.ndarray) -> np.ndarray:
    """Each box made square about its centre (side = its longer side)."""
    out = boxes.copy()
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    out[:, 0] = boxes[:, 0] + w / 2 - side / 2
    out[:, 1] = boxes[:, 1] + h / 2 - side / 2
    out[:, 2] = out[:, 0] + side
    out[:, 3] = out[:, 1] + side
    return out


def _regress(boxes: np.ndarray, reg: np.ndarray) -> np.ndarray:
    """Boxes moved by the networks' regression (in box sizes)."""
    w = (boxes[:, 2] - boxes[:, 0] + 1)[:, None]
    h = (boxes[:, 3] - boxes[:, 1] + 1)[:, None]
    return boxes[:, :4] + reg * np.hstack([w, h, w, h])


def _crops(image: np.ndarray, boxes: np.ndarray, size: int) -> np.ndarray:
    """The boxes' crops (outside the image: black) resized to size×size (:func:`_area_matrix`), normalised,
    N×3×size×size."""
    h, w = image.shape[:2]
    out = np.zeros((len(boxes), size, size, 3), np.float32)
    for k, b in enumerate(np.trunc(boxes[:, :4]).astype(np.int64)):
        x0, y0, x1, y1 = int(b[0]) - 1, int(b[1]) - 1, int(b[2]), int(b[3])
        if x1 <= x0 or y1 <= y0:
            continue
        patch = np.zeros((y1 - y0, x1 - x0, 3), np.uint8)
        sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if sx1 > sx0 and sy1 > sy0:
            patch[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = image[sy0:sy1, sx0:sx1]
        out[k] = np.einsum("ay,yxc,bx->abc", _area_matrix(patch.shape[0], size), patch.astype(np.float32),
                           _area_matrix(patch.shape[1], size), optimize=True)
    return ((out - 127.5) * 0.0078125).transpose(0, 3, 1, 2).copy()


def _area_matrix(n_in: int, n_out: int) -> np.ndarray:
    """n_out × n_in weights resizing one axis as the networks were trained to see their crops (OpenCV's ``INTER_AREA``,
    which facenet-pytorch used): shrinking, each new pixel the exact area average of the old ones it covers;
    enlarging, the nearest old pixel, blended with the next only where a new pixel straddles their border. (Pillow's
    box filter counts an old pixel whole or not at all; on R-Net's and O-Net's crops that cost 0.02 of the hard set's
    median framing distance.)"""
    w = np.zeros((n_out, n_in), np.float32)
    d = np.arange(n_out)
    if n_in >= n_out:
        s = n_in / n_out
        edges = np.arange(n_in + 1)
        lo, hi = d * s, (d + 1) * s
        w[:] = np.clip(np.minimum(edges[1:], hi[:, None]) - np.maximum(edges[:-1], lo[:, None]), 0, None) / s
        return w
    inv = n_out / n_in
    sx = np.floor(d * (n_in / n_out)).astype(np.int64)
    fx = (d + 1) - (sx + 1) * inv
    fx = np.where(fx <= 0, 0.0, fx - np.floor(fx))
    np.add.at(w, (d, sx), 1 - fx)
    np.add.at(w, (d, np.minimum(sx + 1, n_in - 1)), fx)
    return w


# ---------------------------------------------------------------------------------------------
# the cascade


class MtcnnDetector:
    """The three networks on ONNX Runtime; :meth:`detect` finds faces and their five points."""

    def __init__(self, pnet, rnet, onet):
        self.pnet, self.rnet, self.onet = pnet, rnet, onet

    @classmethod
    def from_folder(cls, folder: Optional[Path] = None, *, check: bool = True) -> "MtcnnDetector":
        """The detector from ``folder`` (default: the shipped one); each file's sha256 checked unless ``check`` is off
        (only ``scripts/ship_mtcnn.py`` turns it off, while it makes the files)."""
        folder = Path(folder) if folder is not None else shipped_folder()
        nets = [_session(_read_checked(folder / f"{n}.onnx", check), folder / f"{n}.onnx")
                for n in ("pnet", "rnet", "onet")]
        return cls(*nets)

    def _proposals(self, image: np.ndarray, min_face: int) -> np.ndarray:
        """P-Net over the image pyramid: candidate boxes (N×5: x0, y0, x1, y1, score), squared."""
        from PIL import Image

        picture = Image.fromarray(image)
        h, w = image.shape[:2]
        scale = 12.0 / min_face
        side = min(h, w) * scale
        found = []
        while side >= 12:
            hs, ws = int(h * scale + 1), int(w * scale + 1)
            # each level from the one before (area average; a level is at most 1/0.709 its size): a third of the cost
            picture = picture.resize((ws, hs), Image.BOX)
            x = (np.asarray(picture, np.float32) - 127.5) * 0.0078125
            x = np.ascontiguousarray(x.transpose(2, 0, 1)[None])
            reg, prob = self.pnet.run(None, {"x": x})
            boxes = _cells(reg[0], prob[0, 1], scale, THRESHOLDS[0])
            if len(boxes):
                found.append(boxes[nms(boxes[:, :4], boxes[:, 4], 0.5)])
            scale *= PYRAMID_FACTOR
            side *= PYRAMID_FACTOR
        if not found:
            return np.zeros((0, 5))
        boxes = np.vstack(found)
        boxes = boxes[nms(boxes[:, :4], boxes[:, 4], 0.7)]
        out = np.hstack([_regress(boxes, boxes[:, 5:9]), boxes[:, 4:5]])
        return np.hstack([_square(out[:, :4]), out[:, 4:5]])

    def _refine(self, image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """R-Net on the proposals: the ones it keeps, moved and squared."""
        if not len(boxes):
            return boxes
        reg, prob = self.rnet.run(None, {"x": _crops(image, boxes, 24)})
        keep = prob[:, 1] > THRESHOLDS[1]
        boxes = np.hstack([boxes[keep, :4], prob[keep, 1:2]])
        reg = reg[keep]
        pick = nms(boxes[:, :4], boxes[:, 4], 0.7)
        boxes, reg = boxes[pick], reg[pick]
        return np.hstack([_square(_regress(boxes, reg)), boxes[:, 4:5]])

    def _output(self, image: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """O-Net: final boxes (N×5) and five points each (N×5×2)."""
        if not len(boxes):
            return boxes, np.zeros((0, 5, 2))
        reg, marks, prob = self.onet.run(None, {"x": _crops(image, boxes, 48)})
        keep = prob[:, 1] > THRESHOLDS[2]
        boxes, reg, marks = boxes[keep], reg[keep], marks[keep]
        w = (boxes[:, 2] - boxes[:, 0] + 1)[:, None]
        h = (boxes[:, 3] - boxes[:, 1] + 1)[:, None]
        points = np.stack([w * marks[:, :5] + boxes[:, 0:1] - 1, h * marks[:, 5:] + boxes[:, 1:2] - 1], axis=2)
        boxes = np.hstack([_regress(boxes, reg), prob[keep, 1:2]])
        pick = nms(boxes[:, :4], boxes[:, 4], 0.7, "min")
        return boxes[pick], points[pick]

    def detect_raw(self, image: np.ndarray, min_face: int = MIN_FACE) -> tuple[np.ndarray, np.ndarray]:
        """The cascade on ``image`` as it is (RGB uint8): boxes (N×5) and points (N×5×2) in its pixels."""
        boxes = self._refine(image, self._proposals(image, min_face))
        boxes, points = self._output(image, boxes)
        # the cascade's 1-based box corners → pixel centres, as the points are
        return boxes, points

    def detect(self, image: np.ndarray, max_side: int = DETECT_MAX_SIDE,
               fine_side: int = FINE_MAX_SIDE) -> list[Detection]:
        """Faces in an RGB photo (an array, or a Pillow RGB image), largest first, in its pixel coordinates: on a copy of at most ``max_side``, where
        that finds nothing on a finer copy of at most ``fine_side`` (a larger picture only), then on a copy padded by
        the picture's own edges (a face that fills the picture)."""
        if isinstance(image, np.ndarray):
            image = np.ascontiguousarray(image[..., :3], dtype=np.uint8)
            h, w = image.shape[:2]
        else:  # a Pillow RGB image: reduced before any array of it is made
            w, h = image.size
        f = min(1.0, max_side / max(h, w))
        small = _reduced(image, f)
        boxes, points = self.detect_raw(small)
        shift = 0
        if not len(boxes) and f < 1 and fine_side > max_side:
            f = min(1.0, fine_side / max(h, w))
            boxes, points = self.detect_raw(_reduced(image, f))
            if not len(boxes):
                f = min(1.0, max_side / max(h, w))
        if not len(boxes):
            shift = max(small.shape[:2]) // 4
            padded = np.pad(small, ((shift, shift), (shift, shift), (0, 0)), mode="edge")
            boxes, points = self.detect_raw(padded)
        found = [Detection(box=(boxes[i, :4] - shift + 0.5) / f - 0.5, score=float(boxes[i, 4]),
                           points=(points[i] - shift + 0.5) / f - 0.5) for i in range(len(boxes))]
        return sorted(found, key=lambda d: -d.size)


def _reduced(image, f: float) -> np.ndarray:
    """``image`` (an array or a Pillow image) scaled by ``f`` ≤ 1 (area average; as it is when f is 1), an array."""
    from PIL import Image

    array = isinstance(image, np.ndarray)
    if f >= 1:
        return image if array else np.asarray(image)
    w, h = image.size if not array else image.shape[1::-1]
    size = (max(1, round(w * f)), max(1, round(h * f)))
    picture = Image.fromarray(image) if array else image
    k = int(1 / f / 1.25)  # first by a whole factor (2×2 … k×k blocks averaged: cheap), then the rest
    if k >= 2:
        picture = picture.reduce(k)
    return np.asarray(picture.resize(size, Image.BOX))


def _cells(reg: np.ndarray, prob: np.ndarray, scale: float, threshold: float) -> np.ndarray:
    """P-Net's output map → boxes (N×9: x0, y0, x1, y1, score, four regressions) in image pixels."""
    ys, xs = np.nonzero(prob >= threshold)
    if not len(ys):
        return np.zeros((0, 9))
    cell = np.stack([xs, ys], 1).astype(np.float64)
    q0 = np.floor((2 * cell + 1) / scale)
    q1 = np.floor((2 * cell + 12) / scale)
    return np.hstack([q0, q1, prob[ys, xs][:, None], reg[:, ys, xs].T])


_SHARED: dict = {}
_LOCK = threading.Lock()


def shared_detector() -> MtcnnDetector:
    """The shipped detector, loaded (and checked) once per process."""
    with _LOCK:
        if "d" not in _SHARED:
            _SHARED["d"] = MtcnnDetector.from_folder()
        return _SHARED["d"]


def five_point_similarity(src, dst) -> np.ndarray:
    """The least-squares similarity (no reflection) taking the points ``src`` (N×2) onto ``dst`` (2×3 matrix)."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    ms, md = src.mean(0), dst.mean(0)
    zs = (src - ms) @ np.array([1, 1j])
    zd = (dst - md) @ np.array([1, 1j])
    r = complex((np.conj(zs) * zd).sum() / max((np.abs(zs) ** 2).sum(), 1e-12))
    m = np.array([[r.real, -r.imag, 0.0], [r.imag, r.real, 0.0]])
    m[:, 2] = md - m[:, :2] @ ms
    return m


def template_transform(points, size: int) -> np.ndarray:
    """Photo → crop transform putting five detected points onto :data:`TEMPLATE` in a size×size crop."""
    return five_point_similarity(points, TEMPLATE * size - 0.5)
