"""engine/workflows/open_model.py: a model folder opened — its codec, z-points, statistics and PCA coordinates."""
from __future__ import annotations

import shutil

import numpy as np
import pytest


def test_open_reads_the_z_points_and_their_names(tiny_model):
    from engine.formats.native import load_latents
    from engine.workflows.open_model import open_model

    opened = open_model(tiny_model, labels=False)
    assert opened.folder == tiny_model and opened.z_dim == 8 and opened.image_size == 32 and opened.model_id
    z, files = load_latents(tiny_model, 8)
    assert opened.latents.shape == (96, 8) and opened.latents.dtype == np.float32
    np.testing.assert_array_equal(opened.latents, z)
    assert opened.latent_files == list(files) and len(opened.latent_files) == 96
    assert opened.require_latents() is opened.latents
    # labels=False: labels.csv is not read; statistics were not asked for
    assert opened.labels is None and opened.labels_problem is None
    assert opened.stats is None and opened.pca_coords is None
    rows = dict(opened.describe())
    assert rows["model"] == str(tiny_model) and rows["model id"] == opened.model_id and rows["z-points"] == "96 × 8"


def test_statistics_and_the_leading_pca_coordinates(tiny_model):
    from engine.workflows.open_model import leading_pca_coords, open_model

    opened = open_model(tiny_model, labels=False, statistics=True, pca_axes=3)
    st, z = opened.stats, opened.latents.astype(np.float64)
    assert (st.n, st.z_dim) == (96, 8)
    np.testing.assert_allclose(st.mean, z.mean(0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(st.cov, np.cov(z, rowvar=False), rtol=1e-3, atol=1e-6)
    assert opened.pca_coords.shape == (96, 3)
    # the coordinates on the principal axes are centred and their variances are the leading eigenvalues, decreasing
    np.testing.assert_allclose(opened.pca_coords.mean(0), 0, atol=1e-4)
    var = opened.pca_coords.var(0, ddof=1)
    eig = np.linalg.eigvalsh(np.cov(z, rowvar=False))[::-1]
    np.testing.assert_allclose(var, eig[:3], rtol=1e-3)
    assert var[0] >= var[1] >= var[2]
    assert leading_pca_coords(opened.latents, st, k=50).shape == (96, 8)  # k is capped at z_dim


def test_a_model_before_its_first_encode(tiny_model, tmp_path):
    from engine.errors import ModelFileError
    from engine.workflows.open_model import open_model

    model = tmp_path / "model"
    shutil.copytree(tiny_model, model, ignore=shutil.ignore_patterns(".*", "latents*", "labels.csv"))
    opened = open_model(model, statistics=True)
    assert opened.latents is None and opened.latent_files == [] and opened.stats is None
    assert dict(opened.describe())["z-points"] == "none (run encode)"
    with pytest.raises(ModelFileError, match="encode a dataset into this model first") as info:
        opened.require_latents()
    assert info.value.param is None


def test_a_broken_labels_file_only_hides_the_labels(tiny_model, tmp_path):
    from engine.workflows.open_model import open_model

    model = tmp_path / "model"
    shutil.copytree(tiny_model, model, ignore=shutil.ignore_patterns(".*"))
    (model / "labels.csv").write_text("file,Smiling\nnot-a-file.png,7\n")
    opened = open_model(model)
    assert opened.labels is None and opened.labels_problem and opened.latents.shape == (96, 8)
    assert dict(opened.describe())["labels"].startswith("not loaded: ")
    assert open_model(model, labels=False).labels_problem is None


def test_refuses_statistics_of_fewer_than_three_points(tiny_model, tmp_path):
    from engine.errors import ModelFileError
    from engine.formats.native import load_latents, save_latents
    from engine.workflows.open_model import open_model

    model = tmp_path / "model"
    shutil.copytree(tiny_model, model, ignore=shutil.ignore_patterns(".*", "latents*", "labels.csv"))
    z, files = load_latents(tiny_model, 8)
    save_latents(model, z[:2], files[:2])
    with pytest.raises(ModelFileError, match="only 2 z-points; statistics need at least 3") as info:
        open_model(model, labels=False, statistics=True)
    assert info.value.param is None
    assert open_model(model, labels=False).latents.shape == (2, 8)


def test_refuses_a_folder_that_is_no_model(tmp_path):
    from engine.errors import ModelFileError
    from engine.workflows.open_model import open_model

    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelFileError) as info:
        open_model(tmp_path / "empty")
    assert info.value.param is None and str(tmp_path / "empty") in str(info.value)
