"""The Python API (latent_face_studio): each call gives what the workflow, the CLI and the window give."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest

import latent_face_studio as lfs
from conftest import cli


@pytest.fixture(scope="module")
def model(labelled_model):
    return lfs.open_model(labelled_model)


def test_the_stable_names():
    assert set(lfs.__all__) == {"Faces", "Model", "Photo", "open_model", "samplers", "API_VERSION"}
    assert lfs.API_VERSION == 1
    assert "normal" in lfs.samplers() and "uniform" in lfs.samplers()


def test_generate_gives_the_cli_set_byte_for_byte(model, labelled_model, tmp_path, capsys):
    faces = model.generate(6, sampler="normal", seed=3, scale=0.8)
    assert faces.z.shape == (6, model.z_dim) and faces.images.shape == (6, 32, 32, 3)
    rc, _out, err = cli(["generate", "--model", labelled_model, "--sampler", "normal", "--set", "scale=0.8",
                         "--n", 6, "--seed", 3, "--out", tmp_path / "cli"], capsys)
    assert rc == 0, err
    assert np.array_equal(np.load(tmp_path / "cli" / "z.npy"), faces.z)
    saved = faces.save(tmp_path / "api")
    assert np.array_equal(np.load(saved / "z.npy"), faces.z)
    api_params, cli_params = (json.loads((p / "params.json").read_text()) for p in (saved, tmp_path / "cli"))
    for key in ("sampler", "seed", "n", "parameters"):
        assert api_params.get(key) == cli_params.get(key), key
    from engine.errors import EngineError

    with pytest.raises(EngineError):  # a folder holding files is never written into without overwrite
        faces.save(tmp_path / "api")


def test_faces_show_as_a_png_grid_and_slice(model):
    from PIL import Image

    faces = model.generate(5, seed=1)
    img = Image.open(io.BytesIO(faces._repr_png_()))
    assert img.size == faces.grid().shape[1::-1] and img.mode == "RGB"
    two = faces[1:3]
    assert len(two) == 2 and np.array_equal(two.z, faces.z[1:3]) and two.params["selection"] == [1, 2]
    assert np.array_equal(faces[np.array([True, False, True, False, False])].z, faces.z[[0, 2]])


def test_move_along_a_principal_axis_moves_by_sigma(model):
    faces = model.generate(4, seed=2)
    moved = model.move(faces, 1.5, axis="PC1")
    pca = model.stats.pca
    axis = np.asarray(pca.components[0], float)
    step = (moved.z - faces.z).astype(float)
    assert np.allclose(step, step[0], atol=1e-5)  # every face the same step
    along = step[0] @ axis / np.linalg.norm(axis)
    assert along == pytest.approx(1.5 * np.sqrt(pca.explained_variance[0]), rel=1e-3)
    assert np.linalg.norm(step[0] - along * axis / np.linalg.norm(axis)) < 1e-3  # along that axis only
    assert moved.params["applied"], moved.params


def test_select_and_training_faces(model):
    mask = model.select("Left=1")
    assert mask.dtype == bool and len(mask) == len(model.z)
    assert np.array_equal(mask, model.z[:, 0] > 0)
    faces = model.training_faces(np.flatnonzero(mask)[:3])
    assert np.array_equal(faces.z, model.z[mask][:3]) and faces.images.shape[0] == 3


def test_encode_files_and_arrays(model, tiny_model, tmp_path):
    from engine.errors import DataError

    faces = model.generate(3, seed=4)
    z = model.encode(faces.images)
    assert z.shape == (3, model.z_dim) and z.dtype == np.float32
    rec = model.reconstruct(faces.images)
    assert rec.images.shape == faces.images.shape
    files = sorted((tiny_model.parent / "faces").glob("*.png"))[:2]
    assert model.encode(files).shape == (2, model.z_dim)
    bad = tmp_path / "not-an-image.png"
    bad.write_text("hello")
    with pytest.raises(DataError, match="not-an-image.png"):
        model.encode([bad])


def test_a_photo_on_the_default_model(tmp_path):
    from PIL import Image

    m = lfs.open_model()
    # a framed training-like face placed into a bigger picture
    face = m.training_faces([0]).images[0]
    canvas = np.full((256, 256, 3), 128, np.uint8)
    canvas[64:192, 64:192] = np.asarray(Image.fromarray(face).resize((128, 128), Image.BICUBIC))
    Image.fromarray(canvas).save(tmp_path / "p.png")
    photo = m.place_photo(tmp_path / "p.png", no_detect=True)
    assert photo.z.shape == (256,) and photo.aligned.shape == (64, 64, 3)
    assert photo.verdict in ("typical", "unusual", "outside the 3σ ellipsoid")
    assert Image.open(io.BytesIO(photo._repr_png_())).size[0] > 2 * 64
    assert len(photo.faces()) == 1
