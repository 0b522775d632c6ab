"""engine/workflows/photo.py: place photos on an opened model, save them with the one photo.json schema."""
from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import write_faces


@pytest.fixture(scope="module")
def opened(tiny_model):
    from engine.workflows.open_model import open_model

    return open_model(tiny_model, statistics=True, labels=False)


@pytest.fixture
def photos(tmp_path):
    return write_faces(tmp_path / "photos", 2, seed=7)


def test_place_photos_encodes_and_places_without_writing(opened, photos, tmp_path):
    from engine.workflows.photo import PhotoOptions, place_photos

    before = sorted(p.name for p in (tmp_path / "photos").iterdir())
    results = place_photos(opened, photos, PhotoOptions(no_detect=True), keep_photo=True)
    assert len(results) == 2
    for r in results:
        assert r.z.shape == (1, opened.z_dim) and np.isfinite(r.z).all()
        assert r.aligned.shape == (opened.image_size, opened.image_size, 3) and r.reconstruction.dtype == np.uint8
        assert 0.0 <= r.mse < 1.0 and 0.0 <= r.percentile <= 100.0 and r.mahalanobis > 0
        assert r.faces == [] and r.faces_found == 0 and r.photo is not None  # centre square: no detection
        np.testing.assert_allclose(r.z, opened.codec.encode(r.aligned[None]), atol=1e-5)
    assert sorted(p.name for p in (tmp_path / "photos").iterdir()) == before


def test_photos_to_folder_writes_one_schema(opened, photos, tmp_path):
    from engine import __version__
    from engine.workflows.photo import PhotoOptions, photos_to_folder, read_photo_json

    out = tmp_path / "out"
    run = photos_to_folder(opened, photos, out, PhotoOptions(no_detect=True))
    assert [f.name for f in run.folders] == [p.stem for p in photos]
    for r, folder in zip(run.results, run.folders):
        assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == [
            "aligned.png", "params.json", "photo.json", "reconstruction.png", "z.npy"]
        np.testing.assert_array_equal(np.load(folder / "z.npy", allow_pickle=False), r.z)
        rec = json.loads((folder / "photo.json").read_text())
        assert rec["model_folder"] == str(opened.folder) and "model" not in rec
        assert rec["model_id"] == opened.model_id and rec["app_version"] == __version__
        assert rec["reconstruction_mse"] == pytest.approx(r.mse, abs=1e-6)
        assert read_photo_json(folder / "photo.json") == rec


def test_save_photos_keeps_the_edited_z_and_the_input_rule(opened, photos, tmp_path):
    from engine.errors import EngineError
    from engine.workflows.photo import PhotoOptions, place_photos, save_photos

    (r,) = place_photos(opened, photos[:1], PhotoOptions(no_detect=True))
    edited = r.z[0] + 0.5
    (folder,) = save_photos(opened, tmp_path / "saved", [r], edited_z=edited)
    rec = json.loads((folder / "photo.json").read_text())
    np.testing.assert_allclose(rec["edited_z"], edited, atol=1e-5)
    with pytest.raises(EngineError, match="inside the input"):  # never into the model's folder (the GUI too now)
        save_photos(opened, opened.folder / "photos", [r])
    assert not (opened.folder / "photos").exists()


def test_an_edit_strip_along_an_attribute(opened, photos, tmp_path):
    from engine.attributes import AttributeTable
    from engine.workflows.photo import PhotoOptions, photos_to_folder

    n = len(opened.latent_files)
    values = np.where(np.arange(n) % 2 == 0, 1, -1)[:, None]
    labelled = type(opened)(opened.folder, opened.codec, opened.latents, opened.latent_files, opened.stats,
                            AttributeTable(["Even"], values, list(opened.latent_files)))
    run = photos_to_folder(labelled, photos[:1], tmp_path / "out",
                           PhotoOptions(no_detect=True, attribute="Even", amounts=[-1.0, 0.0, 1.0], method="mean"))
    rec = json.loads((run.folders[0] / "photo.json").read_text())
    assert rec["edit"]["amounts"] == [-1.0, 0.0, 1.0] and rec["edit"]["file"] == "edit-Even.png"
    from PIL import Image

    w, h = Image.open(run.folders[0] / rec["edit"]["file"]).size
    assert h >= opened.image_size and w >= 4 * opened.image_size  # aligned + 3 amounts (and margins)


def test_old_photo_json_is_read(tmp_path):
    from engine.workflows.photo import read_photo_json

    old = tmp_path / "photo.json"
    old.write_text(json.dumps({"model": "/m", "model_id": "x", "verdict": "typical"}))
    assert read_photo_json(old) == {"model_folder": "/m", "model_id": "x", "verdict": "typical"}


def test_no_face_is_typed(opened, tmp_path):
    from PIL import Image

    from engine.errors import NoFaceFound
    from engine.workflows.photo import place_photos

    wall = tmp_path / "wall.png"
    Image.fromarray(np.full((120, 160, 3), 128, np.uint8)).save(wall)
    with pytest.raises(NoFaceFound) as info:
        place_photos(opened, [wall])
    assert info.value.path == wall and "no face found" in str(info.value)
