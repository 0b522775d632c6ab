"""Put it back (issue 25): the model's face written back into the photo at the photo's own size, by the inverse of
the framing, feathered (engine/face_framing.put_back, engine/photo.put_back_photo, the ``photo`` use case's put-back)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def _texture(h: int, w: int, seed: int = 0) -> np.ndarray:
    import cv2

    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), (0, 0), 3)


def _support(m, size: int, shape) -> np.ndarray:
    """Photo pixels whose centre maps inside the crop (a bool H×W)."""
    from engine import face_framing as ff

    ys, xs = np.mgrid[0:shape[0], 0:shape[1]]
    uv = ff.apply(m, np.stack([xs.ravel(), ys.ravel()], 1)).reshape(shape[0], shape[1], 2)
    return (uv > -1).all(2) & (uv < size).all(2)


def test_round_trip_changes_only_the_face_region():
    from engine import face_framing as ff

    photo = _texture(300, 400)
    m = ff.similarity(64 / 120, 12.0, (200, 150), (31.5, 31.5))  # a face of 120 px turned 12°
    face = ff.warp_to_crop(photo, m, 64)  # a perfect "reconstruction"
    out = ff.put_back(photo, m, face)
    assert out.shape == photo.shape and out.dtype == np.uint8
    diff = np.abs(out.astype(int) - photo.astype(int)).max(2)
    inside = _support(m, 64, photo.shape)
    assert (diff[~inside] == 0).all()  # outside the crop's footprint: the photo's own pixels, bit for bit
    assert diff.max() <= 3 and diff[inside].mean() < 0.5  # the photo's face back where it was


def test_an_edited_face_lands_inside_and_the_feather_has_its_width():
    from engine import face_framing as ff

    size, side = 64, 128  # the face twice as large in the photo as in the crop
    photo = np.zeros((300, 400, 3), np.uint8)
    m = ff.similarity(size / side, 0.0, (200, 150), ((size - 1) / 2, (size - 1) / 2))
    out = ff.put_back(photo, m, np.full((size, size, 3), 255, np.uint8), match_colour=False)
    cx, cy, ax, ay = ff.PUT_BACK_ELLIPSE
    yc = round(150 + (cy - 0.5) * side)
    row = out[yc, :, 0].astype(int)
    assert row[200] == 255  # the face's centre is the face put back
    assert row[: 200 - round(ax * side) - 2].max() == 0 and row[200 + round(ax * side) + 2:].max() == 0
    ramp = np.flatnonzero((row > 0) & (row < 255))
    left = ramp[ramp < 200]
    width = ff.PUT_BACK_FEATHER * size * side / size  # the feather in photo pixels
    assert abs(len(left) - width) <= 2, (len(left), width)
    assert (np.diff(row[left]) >= 0).all() and row[left[-1]] - row[left[0]] > 200  # rising smoothly inward
    assert (np.diff(row[left[:len(left) // 2 + 1]]) > 0).all()  # steadily (it flattens only where it meets 255)
    # the same in the crop: 0 on the ellipse's edge, 1 a feather's width inside
    mask = ff.face_mask(size)
    edge = int(np.flatnonzero(mask[round(cy * size)] > 0)[0])
    assert mask[round(cy * size), edge - 1] == 0
    assert mask[round(cy * size), edge + int(np.ceil(ff.PUT_BACK_FEATHER * size)) + 1] == pytest.approx(1.0)


def test_colour_matching_moves_the_face_to_the_photo_mean():
    from engine import face_framing as ff

    photo = np.full((200, 200, 3), (40, 90, 160), np.uint8)
    m = ff.similarity(0.5, 0.0, (100, 100), (31.5, 31.5))
    out = ff.put_back(photo, m, np.full((64, 64, 3), 200, np.uint8))  # a face far off the photo's colour
    np.testing.assert_array_equal(out, photo)  # the shift takes it exactly to the photo's colour
    plain = ff.put_back(photo, m, np.full((64, 64, 3), 200, np.uint8), match_colour=False)
    assert tuple(plain[100, 100]) == (200, 200, 200)


def test_only_the_change_is_added_with_the_unedited_face():
    from engine import face_framing as ff

    photo = _texture(200, 240, seed=2)
    m = ff.similarity(64 / 100, -8.0, (120, 100), (31.5, 31.5))
    base = np.full((64, 64, 3), 90, np.uint8)
    np.testing.assert_array_equal(ff.put_back(photo, m, base, base=base), photo)  # no edit: the photo itself
    brighter = base + 20
    out = ff.put_back(photo, m, brighter, base=base).astype(int)
    change = out - photo
    assert change.min() >= 0 and change.max() <= 20  # the photo's own face, 20 levels brighter at most
    assert (change[100, 120] == np.minimum(20, 255 - photo[100, 120].astype(int))).all()
    assert (change[~_support(m, 64, photo.shape)] == 0).all()
    with pytest.raises(Exception, match="shape"):
        ff.put_back(photo, m, brighter, base=base[:32, :32])


@pytest.mark.parametrize("centre", [(-40.0, 60.0), (390.0, 290.0), (5000.0, 5000.0)])
def test_a_transform_reaching_outside_is_clipped(centre):
    from engine import face_framing as ff

    photo = _texture(300, 400, seed=3)
    m = ff.similarity(64 / 150, 25.0, centre, (31.5, 31.5))
    out = ff.put_back(photo, m, np.full((64, 64, 3), 255, np.uint8), match_colour=False)
    assert out.shape == photo.shape
    inside = _support(m, 64, photo.shape)
    assert (out[~inside] == photo[~inside]).all()
    if centre[0] > 1000:
        np.testing.assert_array_equal(out, photo)
    else:
        assert (out == 255).all(2).sum() > 100  # the part of the face inside the photo is put back


def test_a_small_face_is_averaged_down():
    from engine import face_framing as ff

    photo = np.zeros((120, 120, 3), np.uint8)
    m = ff.similarity(64 / 20, 0.0, (60, 60), (31.5, 31.5))  # a 20 px face: 3.2 crop pixels per photo pixel
    face = np.zeros((64, 64, 3), np.uint8)
    face[::2] = 255  # stripes finer than a photo pixel: averaged to grey, not aliased
    out = ff.put_back(photo, m, face, match_colour=False)
    centre = out[56:64, 56:64, 0].astype(int)
    assert 90 < centre.mean() < 165 and centre.std() < 30


# ---------------------------------------------------------------------------------------------
# the use case and the command line


@pytest.fixture(scope="module")
def opened(tiny_model):
    from engine.workflows.open_model import open_model

    return open_model(tiny_model, statistics=True, labels=False)


def _photo(path: Path, w: int = 200, h: int = 150) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(_texture(h, w, seed=5)).save(path)
    return path


def test_put_back_is_written_at_the_photo_size(opened, tmp_path):
    from engine.photo import PUT_BACK_FILE
    from engine.workflows.photo import PhotoOptions, photos_to_folder

    src = _photo(tmp_path / "in" / "wide.png", 200, 150)
    out = tmp_path / "out"
    run = photos_to_folder(opened, [src], out, PhotoOptions(no_detect=True, put_back=True))
    (folder,) = run.folders
    picture = np.asarray(Image.open(folder / PUT_BACK_FILE).convert("RGB"))
    original = np.asarray(Image.open(src).convert("RGB"))
    assert picture.shape == original.shape == (150, 200, 3)
    # the centre square was framed: the left and right margins are the photo's own; the face region changed
    np.testing.assert_array_equal(picture[:, :20], original[:, :20])
    np.testing.assert_array_equal(picture[:, 180:], original[:, 180:])
    assert np.abs(picture[60:100, 80:120].astype(int) - original[60:100, 80:120]).mean() > 1
    rec = json.loads((folder / "photo.json").read_text())
    assert rec["put_back"]["file"] == PUT_BACK_FILE and rec["put_back"]["size"] == [200, 150]
    assert rec["put_back"]["face"] == "reconstruction" and rec["put_back"]["amount"] is None
    manifest = json.loads((folder / "params.json").read_text())
    assert json.dumps(manifest).count(PUT_BACK_FILE) >= 1
    assert json.loads((out / "photos.json").read_text())["put_back"]["file"] == PUT_BACK_FILE
    # without the option no put-back is written
    run = photos_to_folder(opened, [src], tmp_path / "plain", PhotoOptions(no_detect=True))
    assert not (run.folders[0] / PUT_BACK_FILE).exists()


def test_an_edited_face_is_put_back(opened, tmp_path):
    from engine.attributes import AttributeTable
    from engine.errors import EngineError
    from engine.workflows.photo import PhotoOptions, photos_to_folder

    n = len(opened.latent_files)
    values = np.where(np.arange(n) % 2 == 0, 1, -1)[:, None]
    labelled = type(opened)(opened.folder, opened.codec, opened.latents, opened.latent_files, opened.stats,
                            AttributeTable(["Even"], values, list(opened.latent_files)))
    src = _photo(tmp_path / "in" / "me.png", 160, 160)
    plain = photos_to_folder(labelled, [src], tmp_path / "a", PhotoOptions(no_detect=True, put_back=True))
    edited = photos_to_folder(labelled, [src], tmp_path / "b",
                              PhotoOptions(no_detect=True, attribute="Even", method="mean", put_back_amount=3.0))
    a = np.asarray(Image.open(plain.folders[0] / "put-back.png")).astype(int)
    b = np.asarray(Image.open(edited.folders[0] / "put-back.png")).astype(int)
    assert a.shape == b.shape == (160, 160, 3)
    assert np.abs(a - b).max() > 0  # the edit shows in the photo
    rec = json.loads((edited.folders[0] / "photo.json").read_text())["put_back"]
    assert (rec["face"], rec["attribute"], rec["amount"]) == ("edit added to the photo's face", "Even", 3.0)
    assert rec["colour_matched"] is False
    # the edit's change on the photo's own face: outside the face the photo is untouched, and it differs from the
    # whole decoded edited face put back
    original = np.asarray(Image.open(src).convert("RGB")).astype(int)
    np.testing.assert_array_equal(b[:, :12], original[:, :12])
    whole = photos_to_folder(labelled, [src], tmp_path / "w", PhotoOptions(
        no_detect=True, attribute="Even", method="mean", put_back_amount=3.0, put_back_whole=True))
    w = np.asarray(Image.open(whole.folders[0] / "put-back.png")).astype(int)
    assert json.loads((whole.folders[0] / "photo.json").read_text())["put_back"]["face"] == "edited"
    assert np.abs(w - b).max() > 0
    assert json.loads((tmp_path / "w" / "photos.json").read_text())["put_back"]["whole"] is True
    with pytest.raises(EngineError) as err:  # an amount without an attribute is refused before any work
        photos_to_folder(labelled, [src], tmp_path / "c", PhotoOptions(no_detect=True, put_back_amount=1.0))
    assert err.value.param == "put_back_amount" and not (tmp_path / "c").exists()


def test_cli_put_back(tiny_model, tmp_path, capsys):
    import main

    src = _photo(tmp_path / "in" / "cam.png", 180, 240)
    out = tmp_path / "out"
    rc = main.run(["photo", "--model", str(tiny_model), "--photo", str(src), "--out", str(out), "--no-detect",
                   "--put-back"])
    assert rc == 0, capsys.readouterr()
    assert Image.open(out / "cam" / "put-back.png").size == (180, 240)
    capsys.readouterr()
    rc = main.run(["photo", "--model", str(tiny_model), "--photo", str(src), "--out", str(tmp_path / "o2"),
                   "--no-detect", "--put-back-amount", "1"])
    err = capsys.readouterr().err
    assert rc == 2 and "--put-back-amount: an amount to put back" in err and "--attribute" in err
    assert not (tmp_path / "o2").exists()


def test_a_photo_read_reduced_is_put_back_at_its_working_size(opened, tmp_path):
    """A photo reduced to be read (photo_scale < 1): the face lands where it does on the full-size photo."""
    import cv2

    from engine.photo import put_back_photo
    from engine.workflows.photo import PhotoOptions, place_photos

    src = _photo(tmp_path / "in" / "big.png", 240, 160)
    (r,) = place_photos(opened, [src], PhotoOptions(no_detect=True), keep_photo=True)
    white, black = np.full_like(r.reconstruction, 255), np.zeros_like(r.reconstruction)
    full, scale = put_back_photo(r, white, base=black)  # +255 inside the mask: the footprint saturates
    assert scale == 1.0 and full.shape == (160, 240, 3)
    r.photo, r.photo_scale = cv2.resize(r.photo, (120, 80), interpolation=cv2.INTER_AREA), 0.5
    half, scale = put_back_photo(r, white, base=black)
    assert scale == 0.5 and half.shape == (80, 120, 3)
    full_at, half_at = np.argwhere((full == 255).all(2)), np.argwhere((half == 255).all(2))
    assert len(full_at) > 1000 and len(half_at) > 250
    np.testing.assert_allclose((half_at.mean(0) + 0.5) * 2 - 0.5, full_at.mean(0), atol=1.0)
    assert len(half_at) * 4 == pytest.approx(len(full_at), rel=0.1)


def test_save_photos_puts_back_an_edited_z(opened, tmp_path):
    """The GUI's save: the inspector's edited z put back as a change on the photo's own face."""
    from engine.workflows.photo import PhotoOptions, place_photos, save_photos

    src = _photo(tmp_path / "in" / "me.png", 120, 120)
    (r,) = place_photos(opened, [src], PhotoOptions(no_detect=True), keep_photo=True)
    original = np.asarray(Image.open(src).convert("RGB"))
    (same,) = save_photos(opened, tmp_path / "same", [r], PhotoOptions(put_back=True), edited_z=r.z[0])
    np.testing.assert_array_equal(np.asarray(Image.open(same / "put-back.png")), original)  # no edit, no change
    (moved,) = save_photos(opened, tmp_path / "moved", [r], PhotoOptions(put_back=True), edited_z=r.z[0] + 2.0)
    picture = np.asarray(Image.open(moved / "put-back.png"))
    assert picture.shape == original.shape and np.abs(picture.astype(int) - original).max() > 0
    rec = json.loads((moved / "photo.json").read_text())
    assert rec["put_back"]["face"] == "edit added to the photo's face" and rec["edited_z"]
