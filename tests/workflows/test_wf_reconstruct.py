"""engine/workflows/reconstruct.py: a folder of faces through the autoencoder, written as a reconstruction set."""
from __future__ import annotations

import json

import numpy as np
import pytest


def _png(path):
    from PIL import Image

    return np.asarray(Image.open(path).convert("RGB"))


def test_the_first_n_faces_reconstructed(tiny_model, tiny_data, tmp_path):
    from engine.encoding import mse
    from engine.formats import open_model
    from engine.image_data import load_folder
    from engine.workflows.reconstruct import reconstruct_folder

    out = tmp_path / "recon"
    res = reconstruct_folder(tiny_model, tiny_data, out, n=5)
    assert res.folder == out and res.n == 5 and "96" in res.data_summary
    codec = open_model(tiny_model)
    faces = load_folder(tiny_data, codec.preprocess, cache=False)
    images = np.asarray(faces.images[:5])
    recon = codec.reconstruct(images)
    assert res.mse == pytest.approx(mse(images, recon), rel=1e-5) and 0 < res.mse < 0.1
    names = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert names == ["000001.png", "000002.png", "000003.png", "000004.png", "000005.png", "grid.png", "params.json"]
    for i, name in enumerate(names[:5]):
        got = _png(out / name)
        assert got.shape == (32, 32, 3)
        np.testing.assert_array_equal(got, recon[i])
    assert _png(out / "grid.png").shape[0] > 2 * 32 - 1  # originals above their reconstructions
    params = json.loads((out / "params.json").read_text())
    assert params["n"] == 5 and params["mse"] == pytest.approx(res.mse) and params["model_id"] == codec.model_id
    assert params["command"] == "reconstruct" and params["sources"] == faces.files[:5]
    assert params["files"] == names[:5]


def test_all_faces_by_default_and_overwrite(tiny_model, face_folder, tmp_path):
    from engine.errors import EngineError
    from engine.workflows.reconstruct import reconstruct_folder

    out = tmp_path / "recon"
    res = reconstruct_folder(tiny_model, face_folder, out)
    assert res.n == 24 and len(list(out.glob("0*.png"))) == 24
    with pytest.raises(EngineError):
        reconstruct_folder(tiny_model, face_folder, out, n=2)  # a set already there: not without overwrite
    again = reconstruct_folder(tiny_model, face_folder, out, n=2, overwrite=True)
    assert again.n == 2 and len(list(out.glob("0*.png"))) == 2
    assert reconstruct_folder(tiny_model, face_folder, tmp_path / "big", n=1000).n == 24


def test_refuses_an_output_inside_the_data(tiny_model, face_folder):
    from engine.errors import EngineError
    from engine.workflows.reconstruct import reconstruct_folder

    before = sorted(p.name for p in face_folder.iterdir())
    with pytest.raises(EngineError, match="inside the input") as info:
        reconstruct_folder(tiny_model, face_folder, face_folder / "recon")
    assert info.value.param == "out"
    assert sorted(p.name for p in face_folder.iterdir()) == before
