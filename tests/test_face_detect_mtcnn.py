"""The shipped MTCNN detector (engine.face_detect_mtcnn): five landmarks where a face has them, turned and
small faces found, shipped weights checked by hash, no torch."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine import face_detect_mtcnn as fd
from engine import face_framing as ff
from engine.errors import ModelFileError

ROOT = Path(__file__).resolve().parent.parent
CELEBA = Path("/work/shared/datasets/celeba-9k/img_align_celeba")
#: Where CelebA's aligned images (178×218) put the five points, about (list_landmarks_align_celeba.txt).
CELEBA_POINTS = np.array([[69, 111], [108, 111], [89, 134], [72, 152], [106, 152]], np.float64)
#: 000001.jpg's own five points in list_landmarks_align_celeba.txt.
CELEBA_000001 = np.array([[69, 109], [106, 113], [77, 142], [73, 152], [108, 154]], np.float64)


def _astronaut():
    skdata = pytest.importorskip("skimage.data")
    return np.ascontiguousarray(skdata.astronaut()[:, :, :3])


def _placed(img, scale, angle, size=(900, 700), centre=(560, 300)):
    import cv2

    h, w = img.shape[:2]
    A = ff.similarity(scale, angle, ((w - 1) / 2, (h - 1) / 2), centre)
    out = cv2.warpAffine(img, A, size, flags=cv2.INTER_AREA, borderMode=cv2.BORDER_CONSTANT,
                         borderValue=(40, 90, 60))
    return out, A


def test_shipped_hashes_are_pinned_and_match_the_manifest():
    import json

    manifest = json.loads((fd.shipped_folder() / "manifest.json").read_text())
    assert manifest["files"] == fd.SHIPPED and len(fd.SHIPPED) == 3
    assert (fd.shipped_folder() / "LICENSE-facenet-pytorch.txt").read_text().count("MIT License") == 1


@pytest.mark.skipif(not CELEBA.is_dir(), reason="celeba-9k absent")
def test_landmarks_of_aligned_celeba_faces_land_on_eyes_nose_mouth():
    files = sorted(CELEBA.glob("*.jpg"))[:20]
    det, found = fd.shared_detector(), []
    for p in files:
        img = ff.load_photo(p)
        k = img.shape[1] / 178  # the set may be stored reduced
        assert abs(img.shape[0] / k - 218) < 2
        d = det.detect(img)[0]
        assert d.points[0, 0] < d.points[1, 0] and d.points[2, 1] < d.points[3, 1]
        found.append(d.points / k)
        if p.name == "000001.jpg":  # its own points are known
            assert np.linalg.norm(found[-1] - CELEBA_000001, axis=1).max() < 7, found[-1].round(1).tolist()
    # over faces, the points sit where CelebA's alignment puts them
    assert np.linalg.norm(np.median(found, 0) - CELEBA_POINTS, axis=1).max() < 6


def test_template_sits_where_celeba_puts_its_points():
    # crop box 140×140 of 178×218 (preprocess of the default model): CelebA's points in crop units
    expected = (CELEBA_POINTS - [19, 39]) / 140
    assert np.abs(fd.TEMPLATE - expected).max() < 0.06


@pytest.mark.parametrize("scale,angle", [(0.35, 25.0), (0.35, -15.0), (0.6, 30.0)])  # face box 113 px → 40 and 68 px
def test_turned_and_small_faces_found_and_framed(scale, angle):
    img = _astronaut()
    ref = fd.shared_detector().detect(img)[0]
    canvas, A = _placed(img, scale, angle)
    found = fd.shared_detector().detect(canvas)
    assert found, "no face found"
    pts = found[0].points
    expected = ff.apply(A, ref.points)
    assert np.linalg.norm(pts - expected, axis=1).max() < max(3.0, 0.08 * ref.size * scale)
    m = fd.template_transform(pts, 64)
    turn = ff.transform_angle(ff.invert(m))
    assert abs(((turn - angle + 180) % 360 - 180) - (ff.transform_angle(ff.invert(fd.template_transform(ref.points, 64))))) < 5


def test_a_face_filling_the_picture_is_found():
    img = _astronaut()
    ref = fd.shared_detector().detect(img)[0]
    x0, y0, x1, y1 = ref.box.astype(int)
    tight = np.ascontiguousarray(img[max(0, y0 - 5):y1 + 5, max(0, x0 - 5):x1 + 5])
    assert fd.shared_detector().detect(tight), "the padded retry should find a face filling the picture"


def test_faceless_picture_gives_nothing():
    rng = np.random.default_rng(0)
    flat = np.full((300, 400, 3), 128, np.uint8)
    noise = rng.integers(0, 255, (300, 400, 3), dtype=np.uint8)
    assert fd.shared_detector().detect(flat) == [] and fd.shared_detector().detect(noise) == []


def test_a_tampered_weight_file_is_refused_in_one_line(tmp_path):
    folder = tmp_path / "mtcnn"
    shutil.copytree(fd.shipped_folder(), folder)
    data = bytearray((folder / "rnet.onnx").read_bytes())
    data[len(data) // 2] ^= 0x01
    (folder / "rnet.onnx").write_bytes(bytes(data))
    with pytest.raises(ModelFileError) as info:
        fd.MtcnnDetector.from_folder(folder)
    assert "rnet.onnx" in str(info.value) and "sha256" in str(info.value) and "\n" not in str(info.value)
    shutil.copy(fd.shipped_folder() / "rnet.onnx", folder / "rnet.onnx")
    (folder / "onet.onnx").unlink()
    with pytest.raises(ModelFileError, match="onet.onnx"):
        fd.MtcnnDetector.from_folder(folder)


def test_importing_and_detecting_does_not_import_torch():
    code = ("import sys, numpy as np\n"
            "from engine import face_detect_mtcnn as fd, face_framing as ff\n"
            "img = np.full((240, 320, 3), 120, np.uint8)\n"
            "fd.shared_detector().detect(img); ff.detect_faces_landmarks(img)\n"
            "print('torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_nms_keeps_the_best_of_overlapping_boxes():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], np.float64)
    keep = fd.nms(boxes, np.array([0.5, 0.9, 0.7]), 0.5)
    assert keep.tolist() == [1, 2]


def test_five_point_similarity_recovers_a_similarity():
    src = fd.TEMPLATE * 64
    m = ff.similarity(1.7, 23.0, (30, 30), (200, 120))
    assert np.allclose(fd.five_point_similarity(ff.apply(m, src), src), ff.invert(m), atol=1e-9)


def test_photo_framing_uses_the_landmarks_and_haar_stays_selectable():
    from engine.errors import EngineError
    from engine.photo import DEFAULT_DETECTOR, frame_photo_faces

    canvas, A = _placed(_astronaut(), 0.5, 22.0)
    m, face, faces, framing = frame_photo_faces(canvas, 64)
    assert DEFAULT_DETECTOR == "mtcnn" and face.landmarks is not None and framing == "detected"
    # the crop is the astronaut's own framing turned back: the photo's turn is undone
    m0, *_ = frame_photo_faces(_astronaut(), 64)
    turn = ff.transform_angle(ff.compose(m, A)) - ff.transform_angle(m0)
    assert abs((turn + 180) % 360 - 180) < 3
    upright, _ = _placed(_astronaut(), 0.8, 3.0)
    mh, fh, _, _ = frame_photo_faces(upright, 64, detector="haar")
    assert fh.landmarks is None and fh.eyes is not None
    with pytest.raises(EngineError) as info:
        frame_photo_faces(canvas, 64, detector="yunet")
    assert info.value.param == "detector"


def test_a_small_face_in_a_large_picture_is_found_by_the_finer_pass():
    """A face of about 35 px in a 2000×1500 picture is below the quick pass's smallest face (1/40 of the side, 50 px);
    the finer pass, run only because the quick one found nothing, finds it where it is."""
    from engine.resample import warp_affine

    img = _astronaut()
    A = ff.similarity(0.3, 0.0, (255.5, 255.5), (1200.0, 700.0))  # the face (≈ 115 px) → ≈ 35 px
    picture = np.full((1500, 2000, 3), 120, np.uint8)
    face = warp_affine(img, A, (2000, 1500), edge=False)
    inside = warp_affine(np.ones((512, 512), np.float32), A, (2000, 1500), cubic=False, edge=False)[..., None] > 0.5
    picture = np.where(inside, face, picture)
    det = fd.shared_detector()
    assert det.detect(picture, fine_side=0) == []  # the quick pass alone misses it
    (found,) = det.detect(picture)
    centre = (found.box[:2] + found.box[2:4]) / 2
    true_centre = ff.apply(A, [[226.0, 120.0]])[0]  # the astronaut's face centre in the picture
    assert np.linalg.norm(centre - true_centre) < 12 and 20 < found.size < 55
