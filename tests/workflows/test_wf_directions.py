"""engine/workflows/directions.py: directions found by a method (pca, random-orthogonal), measured, saved, loaded."""
from __future__ import annotations

import json

import numpy as np
import pytest


@pytest.fixture(scope="module")
def opened(tiny_model):
    from engine.workflows.open_model import open_model

    return open_model(tiny_model, labels=False)


def test_pca_directions_are_the_principal_axes(opened):
    from engine.workflows.directions import DirectionOptions, compute_directions

    z = opened.latents.astype(np.float64)
    res = compute_directions(opened.latents, DirectionOptions("pca", k=3, decode=False), model=opened.codec)
    assert res.method == "pca" and not res.named and res.notes == [] and res.saved is None
    assert len(res.directions) == len(res.measures) == len(res.rows) == 3
    cov = np.cov(z, rowvar=False)
    evals, evecs = np.linalg.eigh(cov)
    evals, evecs = evals[::-1], evecs[:, ::-1]
    for i, (d, m, row) in enumerate(zip(res.directions, res.measures, res.rows)):
        assert d.method == "pca" and d.vector.shape == (8,)
        # one unit of amount = one σ of the cloud along the axis: σ² = the eigenvalue
        assert d.sigma == pytest.approx(np.sqrt(evals[i]), rel=1e-3) and m.sigma == pytest.approx(d.sigma)
        assert abs(d.unit @ evecs[:, i]) == pytest.approx(1.0, abs=1e-4)
        assert m.variance_share == pytest.approx(evals[i] / evals.sum(), rel=1e-3)
        assert m.max_overlap == pytest.approx(0.0, abs=1e-5)  # orthogonal axes
        assert np.isnan(m.pixel_mse)  # decode=False: no decoded-face measure
        assert row["index"] == i + 1 and row["name"] == d.name and row["sigma"] == pytest.approx(m.sigma)
    assert res.directions[0].sigma >= res.directions[1].sigma >= res.directions[2].sigma
    assert "pca" in res.table()


def test_random_orthogonal_directions_are_seeded_and_orthonormal(opened):
    from engine.workflows.directions import DirectionOptions, compute_directions

    opts = DirectionOptions("random-orthogonal", k=4, seed=7)
    res = compute_directions(opened.latents, opts, model=opened.codec)
    assert len(res.directions) == 4 and all(d.method == "random-orthogonal" for d in res.directions)
    units = np.stack([d.unit for d in res.directions])
    np.testing.assert_allclose(units @ units.T, np.eye(4), atol=1e-6)
    cov = np.cov(opened.latents.astype(np.float64), rowvar=False)
    for d, m in zip(res.directions, res.measures):
        assert d.sigma == pytest.approx(np.sqrt(d.unit @ cov @ d.unit), rel=1e-3)  # one σ of the cloud along it
        assert m.max_overlap == pytest.approx(0.0, abs=1e-5)
        assert np.isfinite(m.pixel_mse) and m.pixel_mse > 0  # decoded: the faces change along it
        assert 0 <= m.outside_2s <= 1 and m.maha_per_unit > 0
    again = compute_directions(opened.latents, opts, model=opened.codec)
    for a, b in zip(res.directions, again.directions):
        np.testing.assert_array_equal(a.vector, b.vector)
    other = compute_directions(opened.latents, DirectionOptions("random-orthogonal", k=4, seed=8, decode=False))
    assert not np.allclose(other.directions[0].unit, res.directions[0].unit)


def test_a_set_saved_and_loaded_back(opened, tmp_path):
    from engine.workflows.directions import DirectionOptions, compute_directions, load_and_measure, save_set

    res = compute_directions(opened.latents, DirectionOptions("random-orthogonal", k=3, seed=2, decode=False))
    jpath, npath = save_set(tmp_path / "mine", res.directions, model_id=opened.model_id, z_dim=8)
    assert (jpath, npath) == (tmp_path / "mine.json", tmp_path / "mine.npy")
    vectors = np.load(npath, allow_pickle=False)
    assert vectors.shape == (3, 8) and vectors.dtype == np.float32
    np.testing.assert_allclose(vectors, np.stack([d.vector for d in res.directions]), rtol=1e-6)
    manifest = json.loads(jpath.read_text())
    assert manifest["name"] == "mine" and manifest["model_id"] == opened.model_id and manifest["z_dim"] == 8
    back = load_and_measure(jpath, opened.latents, model_id=opened.model_id, z_dim=8, model=opened.codec)
    assert back.method == "saved set" and [d.name for d in back.directions] == [d.name for d in res.directions]
    for a, b, m in zip(res.directions, back.directions, back.measures):
        np.testing.assert_allclose(b.vector, a.vector, rtol=1e-6)
        assert m.sigma == pytest.approx(a.sigma, rel=1e-5)


def test_directions_of_model_writes_the_set(tiny_model, tmp_path):
    from engine.workflows.directions import DirectionOptions, directions_of_model

    res = directions_of_model(tiny_model, DirectionOptions("pca", k=2, decode=False), out=tmp_path / "pcs")
    assert res.saved == (tmp_path / "pcs.json", tmp_path / "pcs.npy")
    assert json.loads(res.saved[0].read_text())["name"] == "pca directions"
    assert np.load(res.saved[1], allow_pickle=False).shape == (len(res.directions), 8)


def test_refusals(opened, tmp_path):
    from engine.errors import EngineError, OtherModelsFile
    from engine.workflows.directions import DirectionOptions, compute_directions, load_and_measure, save_set

    with pytest.raises(EngineError, match="no labels.csv") as info:
        compute_directions(opened.latents, DirectionOptions("attribute", attributes=["Smiling"]))
    assert info.value.param == "method"
    with pytest.raises(EngineError, match="unknown column") as info:
        compute_directions(opened.latents, DirectionOptions("pca", sort="no-such-column"))
    assert info.value.param == "sort"
    res = compute_directions(opened.latents, DirectionOptions("pca", k=1, decode=False))
    save_set(tmp_path / "s", res.directions, model_id="another-model", z_dim=8)
    with pytest.raises(OtherModelsFile, match="belongs to model another-model") as info:  # without force
        load_and_measure(tmp_path / "s.json", opened.latents, model_id=opened.model_id, z_dim=8)
    assert info.value.param is None
    with pytest.raises(EngineError, match="cannot be used on a model of z_dim 9"):
        load_and_measure(tmp_path / "s.json", opened.latents, model_id=opened.model_id, z_dim=9, force=True)
    forced = load_and_measure(tmp_path / "s.json", opened.latents, model_id=opened.model_id, z_dim=8, force=True)
    assert len(forced.directions) == 1
