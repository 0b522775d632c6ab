import numpy as np
import pytest
from PIL import Image

from engine.errors import DataError
from engine.image_data import Preprocess, decode_face, load_folder

from conftest import write_faces


def test_loads_and_crops_to_model_size(face_folder):
    ds = load_folder(face_folder, Preprocess(image_size=32), cache=False)
    assert ds.images.shape == (24, 32, 32, 3)
    assert ds.images.dtype == np.uint8
    assert ds.files[0] == "000001.png" and ds.files == sorted(ds.files)
    assert not ds.skipped


def test_corrupt_and_non_image_files_are_skipped_and_named(face_folder):
    (face_folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 50)
    (face_folder / "notes.jpg").write_text("this is text, not a JPEG")
    good = face_folder / "000001.png"
    (face_folder / "cut.png").write_bytes(good.read_bytes()[:60])
    (face_folder / "README.txt").write_text("hello")
    ds = load_folder(face_folder, Preprocess(image_size=32), cache=False)
    assert len(ds) == 24
    names = {n for n, _ in ds.skipped}
    assert names == {"broken.jpg", "notes.jpg", "cut.png"}
    assert ds.ignored == 1
    line = ds.summary()
    assert "skipped 3" in line and "notes.jpg" in line and "\n" not in line


def test_modes_are_converted(tmp_path):
    folder = tmp_path / "modes"
    folder.mkdir()
    rgb = np.random.default_rng(0).integers(0, 255, (40, 40, 3), dtype=np.uint8)
    Image.fromarray(rgb).convert("L").save(folder / "gray.png")
    Image.fromarray(rgb).convert("RGBA").save(folder / "alpha.png")
    Image.fromarray(rgb).convert("CMYK").save(folder / "cmyk.jpg")
    Image.fromarray((rgb[..., 0].astype(np.uint16) * 257)).save(folder / "deep.png")
    ds = load_folder(folder, Preprocess(16, (40, 40), (0, 0, 40, 40)), cache=False)
    assert len(ds) == 4 and not ds.skipped
    deep = ds.images[ds.files.index("deep.png")]
    # 16-bit values are scaled to 8 bits, not clipped to white
    assert 40 < deep.mean() < 215


def test_crop_box_scales_with_image_size(tmp_path):
    # a red square exactly where the CelebA crop box lies, at half resolution (89×109)
    img = np.zeros((109, 89, 3), np.uint8)
    img[20:90, 10:80] = (255, 0, 0)
    Image.fromarray(img).save(tmp_path / "half.png")
    face = decode_face(tmp_path / "half.png", Preprocess(64))
    assert face[..., 0].mean() > 235 and face[..., 1].mean() < 20


def test_cache_makes_second_load_identical(face_folder):
    a = load_folder(face_folder, Preprocess(image_size=32))
    b = load_folder(face_folder, Preprocess(image_size=32))
    assert not a.from_cache and b.from_cache
    np.testing.assert_array_equal(np.asarray(a.images), np.asarray(b.images))
    # a changed folder is decoded again
    write_faces(face_folder, 25, seed=9)
    c = load_folder(face_folder, Preprocess(image_size=32))
    assert not c.from_cache and len(c) == 25


def test_parallel_decode_matches_serial(tmp_path):
    folder = tmp_path / "many"
    write_faces(folder, 210, size=24, fmt="jpg")
    serial = load_folder(folder, Preprocess(16, (24, 24), (0, 0, 24, 24)), workers=1, cache=False)
    parallel = load_folder(folder, Preprocess(16, (24, 24), (0, 0, 24, 24)), workers=2, cache=False)
    assert serial.files == parallel.files
    np.testing.assert_array_equal(serial.images, parallel.images)


def test_empty_and_missing_folders_are_clear_errors(tmp_path):
    with pytest.raises(DataError, match="no such folder"):
        load_folder(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no image files"):
        load_folder(tmp_path / "empty")
