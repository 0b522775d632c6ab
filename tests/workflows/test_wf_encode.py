"""engine/workflows/encode.py: a folder or an opened dataset into an opened model's z-points."""
from __future__ import annotations

import shutil

import numpy as np
import pytest


@pytest.fixture
def own_model(tiny_model, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(tiny_model, folder, ignore=shutil.ignore_patterns(".*"))
    return folder


def test_encode_folder_into_an_opened_model(own_model, tiny_data):
    from engine.formats.native import load_latents
    from engine.workflows.encode import EncodeOptions, encode_folder_into
    from engine.workflows.open_model import open_model

    opened = open_model(own_model, labels=False)
    before = opened.require_latents().copy()
    res = encode_folder_into(opened, tiny_data, EncodeOptions(batch_size=16, fresh=True))
    assert res.rows == 96 == res.inputs and res.z_dim == opened.z_dim and not res.skipped
    z, files = load_latents(own_model, opened.z_dim)
    assert z.shape == (96, opened.z_dim) and len(files) == 96
    np.testing.assert_allclose(z, before, atol=1e-4)  # the same images through the same encoder


def test_encode_dataset_into_and_the_replacement_check(own_model, tiny_data, face_folder):
    from engine.image_data import load_folder
    from engine.workflows.encode import encode_dataset_into, replacement_check
    from engine.workflows.open_model import open_model

    opened = open_model(own_model, labels=False)
    own = load_folder(tiny_data, opened.config.preprocess, cache=False)
    other = load_folder(face_folder, opened.config.preprocess, cache=False)
    same = replacement_check(opened, own.files, tiny_data)
    assert same.ok and same.shared == 96 == same.known and same.question == ""
    check = replacement_check(opened, [f"x{f}" for f in other.files], face_folder)
    assert not check.ok and check.shared == 0 and check.images == 24
    assert check.question.startswith(f"{face_folder} is not this model's training set") and "anyway?" in check.question
    done = encode_dataset_into(opened, other)
    assert (done.rows, done.z_dim) == (24, opened.z_dim)
    assert len(open_model(own_model, labels=False).latent_files) == 24
