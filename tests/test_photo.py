"""Your own photo in the latent space (issue 15): framing, encoding, placing, writing.

The real face is scikit-image's astronaut portrait (NASA, public domain; scikit-image is a test-only
dependency, the tests that need it are skipped without it); everything else is synthetic.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine import face_framing as ff
from engine.errors import Cancelled, DataError, EngineError
from engine.progress import CancelToken

DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "resources" / "models" / "celeba64-z256"
needs_model = pytest.mark.skipif(not (DEFAULT_MODEL / "weights.safetensors").is_file(), reason="default model absent")


def _astronaut():
    skdata = pytest.importorskip("skimage.data")
    return np.ascontiguousarray(skdata.astronaut())


@pytest.fixture(scope="module")
def default_model():
    if not (DEFAULT_MODEL / "weights.safetensors").is_file():
        pytest.skip("default model absent")
    from engine.formats.native import load_latents, load_model

    module, config = load_model(DEFAULT_MODEL)
    z, files = load_latents(DEFAULT_MODEL, config.arch.z_dim)
    return module, config, z, files


@pytest.fixture(scope="module")
def astronaut_frame(default_model):
    """The astronaut as the pipeline frames it: (image, transform)."""
    from engine.photo import frame_photo

    module, config, _, _ = default_model
    img = _astronaut()
    m, face, found, framing = frame_photo(img, 64, model=module, aligner=ff.load_aligner(DEFAULT_MODEL, config))
    assert framing == "detected and refined" and found >= 1
    return img, m


def _canvas(img, scale, angle, size=(620, 520), offset=(40, -30), background=(40, 90, 60)):
    import cv2

    h, w = img.shape[:2]
    A = ff.similarity(scale, angle, ((w - 1) / 2, (h - 1) / 2), (size[0] / 2 + offset[0], size[1] / 2 + offset[1]))
    out = cv2.warpAffine(img, A, size, flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=background)
    return out, A


def _corner_error(m, m_true, size=64):
    c = np.array([[0, 0], [size - 1, 0], [0, size - 1], [size - 1, size - 1]], np.float64)
    return float(np.abs(ff.apply(m_true, ff.apply(ff.invert(m), c)) - c).max())


def _angle_error(m, m_true):
    return abs((ff.transform_angle(m) - ff.transform_angle(m_true) + 180) % 360 - 180)


# ---------------------------------------------------------------------------------------------
# transforms


def test_similarity_helpers_round_trip():
    m = ff.similarity(1.7, 23.0, (10, 20), (100, 50))
    assert ff.apply(m, [[10, 20]])[0] == pytest.approx([100, 50])
    assert ff.transform_scale(m) == pytest.approx(1.7)
    assert ff.transform_angle(m) == pytest.approx(23.0)
    src = np.array([[3.0, 4.0], [40.0, 9.0]])
    dst = np.array([[20.0, 30.0], [50.0, 25.0]])
    assert ff.apply(ff.two_point_similarity(src, dst), src) == pytest.approx(dst)
    assert ff.compose(ff.invert(m), m) == pytest.approx(np.array([[1, 0, 0], [0, 1, 0]]), abs=1e-12)


def test_canonical_transform_reproduces_the_training_crop(tmp_path):
    """warp_to_crop with the preprocess box's transform = the dataset loader's crop (up to resampling)."""
    from engine.image_data import Preprocess, decode_face

    rng = np.random.default_rng(0)
    img = (np.clip(np.cumsum(rng.normal(0, 8, (109, 89, 3)), axis=1), -120, 120) + 128).astype(np.uint8)
    p = tmp_path / "a.png"
    Image.fromarray(img).save(p)
    pre = Preprocess()
    crop = ff.warp_to_crop(img, ff.canonical_crop_transform(89, 109, pre), 64)
    ref = decode_face(p, pre)
    assert np.mean(np.abs(crop.astype(float) - ref)) < 6


def test_centre_square_framing():
    img = np.zeros((100, 300, 3), np.uint8)
    img[:, 100:200] = 200
    crop = ff.warp_to_crop(img, ff.centre_square_transform(300, 100, 32), 32)
    assert crop.min() > 190


# ---------------------------------------------------------------------------------------------
# detection and framing on a real face


@needs_model
def test_known_transform_is_recovered(default_model, astronaut_frame):
    from engine.photo import frame_photo

    module, config, _, _ = default_model
    img, m0 = astronaut_frame
    aligner = ff.load_aligner(DEFAULT_MODEL, config)
    for scale, angle in ((0.6, 14.0), (1.1, -8.0)):
        canvas, A = _canvas(img, scale, angle)
        m, face, _, _ = frame_photo(canvas, 64, model=module, aligner=aligner)
        m_true = ff.compose(m0, ff.invert(A))
        assert _corner_error(m, m_true) < 3.0, (scale, angle)
        assert _angle_error(m, m_true) < 3.0, (scale, angle)


def test_detection_alone_finds_a_turned_face():
    img = _astronaut()
    canvas, A = _canvas(img, 0.7, -18.0)
    faces = ff.detect_faces(canvas)
    assert faces
    centre = ff.apply(A, [[260, 130]])[0]  # the astronaut's face centre in the portrait
    assert np.linalg.norm(faces[0].centre - centre) < faces[0].size / 2
    assert abs(faces[0].angle - (-18.0)) <= 12  # found on a turned copy of the photo


@needs_model
def test_exif_rotation_is_applied(tmp_path, default_model, astronaut_frame):
    from engine.photo import frame_photo

    module, config, _, _ = default_model
    img, m0 = astronaut_frame
    stored = np.ascontiguousarray(np.rot90(img, k=1))  # stored turned: orientation 6 turns it back
    exif = Image.Exif()
    exif[0x0112] = 6
    p = tmp_path / "sideways.jpg"
    Image.fromarray(stored).save(p, quality=95, exif=exif)
    loaded = ff.load_photo(p)
    assert loaded.shape == img.shape
    assert np.mean(np.abs(loaded.astype(float) - img)) < 6
    m, _, _, _ = frame_photo(loaded, 64, model=module, aligner=ff.load_aligner(DEFAULT_MODEL, config))
    assert _corner_error(m, m0) < 2.0


def test_several_faces_are_chosen_by_index():
    from engine.photo import frame_photo

    img = _astronaut()
    big = np.array(Image.fromarray(img).resize((300, 300), Image.Resampling.LANCZOS))
    small = np.array(Image.fromarray(img).resize((180, 180), Image.Resampling.LANCZOS))
    photo = np.full((320, 560, 3), 235, np.uint8)
    photo[10:310, 0:300] = big
    photo[60:240, 360:540] = small
    faces = ff.detect_faces(photo)
    assert len(faces) == 2
    assert faces[0].centre[0] < 300 < faces[1].centre[0]  # the larger face first
    m1, face1, found, _ = frame_photo(photo, 64, face_index=1)
    assert found == 2 and face1.centre[0] > 300
    with pytest.raises(EngineError) as info:
        frame_photo(photo, 64, face_index=2, source="group.png")
    assert "\n" not in str(info.value) and "group.png" in str(info.value) and "2 face(s) found" in str(info.value)


def test_no_face_is_one_line_and_no_detect_frames_the_centre():
    from engine.photo import frame_photo

    yy, xx = np.mgrid[0:200, 0:300]
    photo = np.stack([xx % 256, yy % 256, (xx + yy) % 256], -1).astype(np.uint8)
    with pytest.raises(EngineError) as info:
        frame_photo(photo, 64, source="wall.jpg")
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith("wall.jpg: no face found") and "no detect" in msg
    from engine.errors import NoFaceFound
    from main import cli_name

    assert isinstance(info.value, NoFaceFound) and str(info.value.path) == "wall.jpg"
    assert "--no-detect frames its centre square" in info.value.render(cli_name)  # the CLI names the flag
    m, face, found, framing = frame_photo(photo, 64, no_detect=True)
    assert face is None and framing.startswith("centre square")
    assert m == pytest.approx(ff.centre_square_transform(300, 200, 64))


def test_tiny_face_is_found():
    """The astronaut's face (150 of 512 px) at ~30 px in a 400×300 photo: found where it is."""
    img = _astronaut()
    small = np.array(Image.fromarray(img).resize((100, 100), Image.Resampling.LANCZOS))
    photo = np.full((300, 400, 3), 128, np.uint8)
    photo[140:240, 220:320] = small
    faces = ff.detect_faces(photo)
    assert faces
    true_centre = np.array([220 + 260 * 100 / 512, 140 + 130 * 100 / 512])
    assert np.linalg.norm(faces[0].centre - true_centre) < 15 and faces[0].size < 100


# ---------------------------------------------------------------------------------------------
# loading photos


def test_grayscale_and_rgba_photos_load(tmp_path):
    img = _astronaut()
    gray = tmp_path / "gray.png"
    Image.fromarray(img).convert("L").save(gray)
    rgba = tmp_path / "rgba.png"
    a = np.dstack([img, np.full(img.shape[:2], 255, np.uint8)])
    a[:40, :40, 3] = 0  # a transparent corner becomes white
    Image.fromarray(a, "RGBA").save(rgba)
    g = ff.load_photo(gray)
    assert g.shape == img.shape and (g[..., 0] == g[..., 1]).all()
    r = ff.load_photo(rgba)
    assert r.shape == img.shape and (r[:40, :40] == 255).all()
    assert ff.detect_faces(g) and ff.detect_faces(r)


def test_huge_photo_is_reduced_or_refused(tmp_path, monkeypatch):
    from engine import image_data

    big = tmp_path / "big.jpg"
    Image.new("RGB", (5000, 2000), (120, 80, 60)).save(big, quality=70)
    arr, scale = ff.load_photo_scaled(big, max_side=1024)
    assert max(arr.shape[:2]) <= 1024 and scale == pytest.approx(arr.shape[1] / 5000)
    png = tmp_path / "big.png"
    Image.new("RGB", (1200, 1000), (1, 2, 3)).save(png)
    monkeypatch.setattr(image_data, "MAX_DECODE_BYTES", 2 * 2**20)
    with pytest.raises(DataError) as info:
        ff.load_photo(png)
    assert "big.png" in str(info.value) and "too large to decode" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("kind", ["missing", "folder", "empty", "text", "truncated"])
def test_bad_photo_is_one_line(tmp_path, kind):
    p = tmp_path / "photo.jpg"
    if kind == "folder":
        p.mkdir()
    elif kind == "empty":
        p.write_bytes(b"")
    elif kind == "text":
        p.write_text("not a picture")
    elif kind == "truncated":
        Image.new("RGB", (300, 300), (10, 200, 30)).save(p, quality=90)
        p.write_bytes(p.read_bytes()[:300])
    with pytest.raises(DataError) as info:
        ff.load_photo(p)
    msg = str(info.value)
    assert msg.startswith(str(p)) and "\n" not in msg


# ---------------------------------------------------------------------------------------------
# the use case and its output folder


@needs_model
def test_frame_encode_write_and_refuse(tmp_path, default_model):
    from engine.attributes import AttributeDirection
    from engine.photo import frame_and_encode_photos, write_photo_results

    module, config, z, files = default_model
    photo = tmp_path / "in" / "me.png"
    photo.parent.mkdir()
    Image.fromarray(_astronaut()).save(photo)
    seen = []
    (res,) = frame_and_encode_photos(module, config, z, files, [photo], model_dir=DEFAULT_MODEL, progress=seen.append)
    assert seen and seen[-1].done == seen[-1].total == 1
    assert res.z.shape == (1, 256) and res.z.dtype == np.float32
    assert res.aligned.shape == res.reconstruction.shape == (64, 64, 3)
    assert res.framing == "detected and refined" and res.faces_found >= 1
    assert 0 <= res.percentile <= 100 and res.verdict in ("typical", "unusual", "outside the 3σ ellipsoid")
    assert len(res.nearest) == 6 and res.nearest[0][1] <= res.nearest[-1][1]
    assert res.mse < 0.05
    # the canonical eyes mapped back land on the astronaut's eyes (≈ (210, 115) and (300, 110))
    assert np.linalg.norm(res.landmarks["eye_left"] - [210, 115]) < 20
    direction = AttributeDirection("Smiling", "mean", np.eye(256)[0], 2.0)
    out = tmp_path / "out"
    (folder,) = write_photo_results(out, [res], model=module, direction=direction, amounts=[-1, 0, 1],
                                    inputs=[photo.parent, DEFAULT_MODEL])
    assert folder == out / "me"
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["aligned.png", "edit-Smiling.png", "params.json", "photo.json", "reconstruction.png", "z.npy"]
    meta = json.loads((folder / "photo.json").read_text())
    assert meta["verdict"] == res.verdict and len(meta["transform"]) == 2 and meta["edit"]["amounts"] == [-1, 0, 1]
    assert np.load(folder / "z.npy").shape == (1, 256)
    before = (folder / "z.npy").read_bytes()
    with pytest.raises(EngineError) as info:
        write_photo_results(out, [res])
    assert info.value.render(lambda p: "--" + p.replace("_", "-")).endswith("(--overwrite)")
    write_photo_results(out, [res], overwrite=True)
    assert not (folder / "edit-Smiling.png").exists() and (folder / "z.npy").read_bytes() == before
    (out / "mine.txt").write_text("my notes")
    with pytest.raises(EngineError, match="did not write"):
        write_photo_results(out, [res], overwrite=True)
    assert (out / "mine.txt").read_text() == "my notes"
    with pytest.raises(EngineError, match="inside the input"):
        write_photo_results(photo.parent / "out", [res], inputs=[photo.parent])
    assert sorted(p.name for p in photo.parent.iterdir()) == ["me.png"]


@needs_model
def test_no_face_and_cancel_in_the_use_case(tmp_path, default_model):
    from engine.photo import frame_and_encode_photos

    module, config, z, files = default_model
    wall = tmp_path / "wall.png"
    Image.fromarray(np.full((120, 160, 3), 90, np.uint8)).save(wall)
    with pytest.raises(EngineError) as info:
        frame_and_encode_photos(module, config, z, files, [wall])
    assert str(info.value).startswith(f"{wall}: no face found") and "\n" not in str(info.value)
    (res,) = frame_and_encode_photos(module, config, z, files, [wall], no_detect=True)
    assert res.face_box is None and res.framing.startswith("centre square") and math.isfinite(res.mahalanobis)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        frame_and_encode_photos(module, config, z, files, [wall], no_detect=True, cancel=token)
