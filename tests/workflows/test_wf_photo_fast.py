"""The photo use case's fast path (issue 25): a big JPEG's faces are found on a copy the codec decodes reduced, each
crop is taken from pixels fine enough for it, and the cloud reference is built once per opened model.

The fast path must frame as the full decode does: the same crop to a pixel or two, nearly the same z."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "resources" / "models" / "celeba64-z256"
needs_model = pytest.mark.skipif(not (DEFAULT_MODEL / "weights.safetensors").is_file(), reason="default model absent")


@pytest.fixture(scope="module")
def opened():
    if not (DEFAULT_MODEL / "weights.safetensors").is_file():
        pytest.skip("default model absent")
    from engine.workflows.open_model import open_model

    return open_model(DEFAULT_MODEL, statistics=True, labels=False)


def _big_jpeg(path: Path, face_scale: float, size=(2400, 1800), centre=(1300.0, 800.0), angle=8.0,
              orientation: int = 1) -> Path:
    """The astronaut's face scaled by ``face_scale`` and turned ``angle``° in a ``size`` picture of a smooth background,
    saved as a JPEG (stored turned, with an EXIF orientation tag, when ``orientation`` is not 1)."""
    import cv2

    from engine import face_framing as ff

    skdata = pytest.importorskip("skimage.data")
    src = np.ascontiguousarray(skdata.astronaut())
    h, w = src.shape[:2]
    W, H = size
    A = ff.similarity(face_scale, angle, ((w - 1) / 2, (h - 1) / 2), centre)
    rng = np.random.default_rng(3)
    bg = cv2.resize(rng.uniform(40, 220, (4, 5, 3)).astype(np.float32), (W, H), interpolation=cv2.INTER_CUBIC)
    face = cv2.warpAffine(src, A, (W, H), flags=cv2.INTER_CUBIC).astype(np.float32)
    mask = cv2.warpAffine(np.ones((h, w), np.float32), A, (W, H))[..., None]
    img = Image.fromarray(np.clip(face * mask + bg * (1 - mask), 0, 255).astype(np.uint8))
    exif = Image.Exif()
    if orientation != 1:
        stored = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}
        img = img.transpose(stored[orientation])
        exif[274] = orientation
    img.save(path, quality=92, exif=exif)
    return path


def _crop_error(m, m_ref, size=64) -> float:
    """The largest distance (crop pixels) between where ``m`` and ``m_ref`` put the crop's corners."""
    from engine import face_framing as ff

    c = np.array([[0, 0], [size - 1, 0], [0, size - 1], [size - 1, size - 1]], np.float64)
    return float(np.abs(ff.apply(m_ref, ff.apply(ff.invert(m), c)) - c).max())


def _typical_nn(latents: np.ndarray, n: int = 300) -> float:
    z = latents[np.random.default_rng(0).choice(len(latents), n, replace=False)].astype(np.float64)
    all64 = latents.astype(np.float64)
    d2 = (z ** 2).sum(1)[:, None] + (all64 ** 2).sum(1)[None] - 2 * z @ all64.T
    d2[d2 < 1e-6] = np.inf  # the point itself
    return float(np.median(np.sqrt(d2.min(1))))


def _full_and_fast(opened, path, monkeypatch, **options):
    """The photo placed on the fast path and with the fast path switched off (the full decode, as before)."""
    import engine.photo as photo
    from engine.workflows.photo import PhotoOptions, place_photos

    (fast,) = place_photos(opened, [path], PhotoOptions(**options))
    with monkeypatch.context() as mp:
        mp.setattr(photo, "DETECT_READ_SIDE", 10**6)  # no reduced decode: the whole photo at full size
        (full,) = place_photos(opened, [path], PhotoOptions(**options))
    return fast, full


@needs_model
@pytest.mark.parametrize("face_scale, finer", [(4.0, False), (1.2, True)], ids=["large face", "small face"])
def test_the_fast_path_frames_as_the_full_decode(opened, tmp_path, monkeypatch, face_scale, finer):
    """A large face is cropped from the quick 1/2 copy itself; a small one from a finer decode (its crop keeps at
    least twice the model's resolution). Either way: the crop within 1.5 px, z within a small part of the typical
    nearest-neighbour distance, the same photo size and face box."""
    from engine import face_framing as ff

    path = _big_jpeg(tmp_path / "big.jpg", face_scale)
    fast, full = _full_and_fast(opened, path, monkeypatch)
    assert fast.photo_size == full.photo_size == (2400, 1800)
    assert fast.photo_reduced and not full.photo_reduced
    assert fast.photo_scale == pytest.approx(0.5)  # 2400 → 1200, the largest reduction keeping ≥ 800
    crop_px = 64 / ff.transform_scale(fast.transform)  # the crop's side in full-size pixels
    assert (crop_px * 0.5 < 2 * 64) == finer  # the quick copy is too coarse for the small face only
    assert _crop_error(fast.transform, full.transform) < 1.5
    assert fast.framing == full.framing
    for name in ("eye_left", "eye_right"):
        in_crop = ff.apply(full.transform, [fast.landmarks[name]])[0]
        assert np.linalg.norm(in_crop - ff.crop_landmarks(size=64)[0 if name == "eye_left" else 1]) < 1.5
    side = float(np.linalg.norm(full.face_box[1] - full.face_box[0]))
    assert np.abs(fast.face_box - full.face_box).max() < 0.05 * side  # the detector's box (not used to frame)
    dz = float(np.linalg.norm(fast.z - full.z))
    assert dz < 0.15 * _typical_nn(opened.latents)
    assert set(fast.timings) == {"decode", "detect", "frame", "encode", "place"}


@needs_model
def test_exif_orientation_on_the_reduced_path(opened, tmp_path, monkeypatch):
    """A JPEG stored turned with an orientation tag: read reduced, it is framed as the upright picture is."""
    upright = _big_jpeg(tmp_path / "upright.jpg", 4.0)
    (ref,) = _full_and_fast(opened, upright, monkeypatch)[:1]
    for orientation in (6, 3, 8):
        path = _big_jpeg(tmp_path / f"turned{orientation}.jpg", 4.0, orientation=orientation)
        fast, full = _full_and_fast(opened, path, monkeypatch)
        assert fast.photo_reduced and fast.photo_size == (2400, 1800)
        assert _crop_error(fast.transform, ref.transform) < 2.0
        assert _crop_error(fast.transform, full.transform) < 1.5


@needs_model
def test_the_cloud_reference_is_built_once_per_opened_model(opened, tmp_path, monkeypatch):
    from engine.photo import CloudReference
    from engine.workflows.photo import PhotoOptions, place_photos

    path = tmp_path / "flat.png"
    Image.fromarray(np.full((90, 120, 3), 128, np.uint8)).save(path)
    builds = []
    real = CloudReference.build.__func__
    monkeypatch.setattr(CloudReference, "build", classmethod(lambda cls, *a, **k: builds.append(1) or real(cls, *a, **k)))
    monkeypatch.setattr("engine.photo._CLOUDS", {})
    (a,) = place_photos(opened, [path], PhotoOptions(no_detect=True))
    (b,) = place_photos(opened, [path], PhotoOptions(no_detect=True))
    assert len(builds) == 1  # the second photo reuses the whitener and the neighbour index
    assert a.nearest == b.nearest and a.percentile == b.percentile
    # and the reference answers as a fresh one does (the expanded-form neighbour search included)
    fresh = real(CloudReference, opened.latents, opened.latent_files, opened.stats)
    assert fresh.place(a.z[0])[3] == a.nearest
    # another cloud (other latents) is not answered from the memory
    other = np.ascontiguousarray(opened.latents[:500])
    CloudReference.for_cloud(other, opened.latent_files[:500], None)
    assert len(builds) == 2


@needs_model
def test_a_photo_read_quick_is_put_back_at_its_own_size(opened, tmp_path):
    """The GUI keeps the quick copy for display; the put-back reads the photo again at its own size."""
    from engine.photo import put_back_photo
    from engine.workflows.photo import place_photos

    path = _big_jpeg(tmp_path / "big.jpg", 4.0)
    (r,) = place_photos(opened, [path], keep_photo=True)
    assert r.photo.shape == (900, 1200, 3) and r.photo_reduced
    picture, scale = put_back_photo(r)
    assert picture.shape == (1800, 2400, 3) and scale == 1.0
