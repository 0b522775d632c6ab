"""engine/workflows/edit.py: faces of a folder moved along an attribute direction (or a saved one), as strips."""
from __future__ import annotations

import json

import numpy as np
import pytest

S, PAD, GAP = 32, 2, 6  # the tiny model's faces; engine.editing.strip_image's layout


def _png(path):
    from PIL import Image

    return np.asarray(Image.open(path).convert("RGB"))


def _tile(strip, column):
    """Tile ``column`` of a strip (0: the original, then one per amount)."""
    x = PAD + (0 if column == 0 else S + GAP + (column - 1) * (S + PAD))
    return strip[PAD : PAD + S, x : x + S]


def test_strips_along_an_attribute(labelled_model, tiny_data, tmp_path):
    from engine.image_data import image_folder_listing, load_files
    from engine.workflows.edit import edit_folder
    from engine.workflows.open_model import open_model

    out = tmp_path / "edits"
    res = edit_folder(labelled_model, tiny_data, "Left", [-1.0, 0.0, 1.0], out, n=3, method="mean")
    assert res.folder == out and res.names == ["000001.png", "000002.png", "000003.png"]
    assert res.amounts == [-1.0, 0.0, 1.0] and res.method == "mean" and res.skipped == []
    files = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert files == ["000001.png", "000002.png", "000003.png", "grid.png", "params.json"]
    opened = open_model(labelled_model, labels=False)
    _, paths, _ = image_folder_listing(tiny_data)
    images, _, _ = load_files(paths[:3], opened.codec.preprocess)
    recon = opened.codec.decode(opened.codec.encode(images))
    width = PAD + S + GAP + 3 * (S + PAD)
    for i, name in enumerate(res.names):
        strip = _png(out / name)
        assert strip.shape == (S + 2 * PAD, width, 3)
        np.testing.assert_array_equal(_tile(strip, 0), images[i])  # the original
        np.testing.assert_array_equal(_tile(strip, 2), recon[i])  # amount 0: the plain reconstruction
        assert not np.array_equal(_tile(strip, 1), _tile(strip, 3))  # -1 and +1 differ
    assert _png(out / "grid.png").shape == (3 * (S + 2 * PAD), width, 3)
    params = json.loads((out / "params.json").read_text())
    assert params["command"] == "edit" and params["attribute"] == "Left" and params["method"] == "mean"
    assert params["amounts"] == [-1.0, 0.0, 1.0] and params["columns"] == ["original", "-1", "0", "1"]
    z = opened.latents
    assert params["n_present"] == int((z[:, 0] > 0).sum()) and params["n_absent"] == int((z[:, 0] <= 0).sum())
    assert params["step"] > 0 and params["model_id"] == opened.model_id and params["sources"] == res.names


def test_strips_along_a_saved_direction(labelled_model, tiny_data, tmp_path):
    from engine.workflows.directions import DirectionOptions, compute_directions, save_set
    from engine.workflows.edit import edit_folder
    from engine.workflows.open_model import open_model

    opened = open_model(labelled_model, labels=False)
    found = compute_directions(opened.latents, DirectionOptions("pca", k=2, decode=False))
    save_set(tmp_path / "pcs", found.directions, model_id=opened.model_id, z_dim=8)
    res = edit_folder(labelled_model, tiny_data, None, [0.0, 2.0], tmp_path / "edits", n=2,
                      direction_file=tmp_path / "pcs.json", index=1)
    assert res.method == "saved direction" and res.names == ["000001.png", "000002.png"]
    strip = _png(tmp_path / "edits" / "000001.png")
    assert strip.shape == (S + 2 * PAD, PAD + S + GAP + 2 * (S + PAD), 3)
    assert not np.array_equal(_tile(strip, 1), _tile(strip, 2))


def test_refuses_an_unknown_attribute_and_an_output_inside_the_data(labelled_model, tiny_model, face_folder, tmp_path):
    from engine.errors import DataError, EngineError, SamplerError
    from engine.workflows.edit import edit_folder

    with pytest.raises(EngineError, match="inside the input") as info:
        edit_folder(labelled_model, face_folder, "Left", [1.0], face_folder / "edits")
    assert info.value.param == "out"
    with pytest.raises(SamplerError, match="unknown attribute 'Smiling'; allowed: Left") as info:
        edit_folder(labelled_model, face_folder, "Smiling", [1.0], tmp_path / "edits")
    assert info.value.param is None  # the message names the attribute; no parameter is set
    assert not (tmp_path / "edits").exists() or not any((tmp_path / "edits").iterdir())
    with pytest.raises(DataError, match="has no labels.csv") as info:
        edit_folder(tiny_model, face_folder, "Left", [1.0], tmp_path / "edits")
    assert info.value.param is None
