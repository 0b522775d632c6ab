"""Direction lab (engine/lab/): recovery of known axes, conditional directions, names, keeping sets."""
from __future__ import annotations

import json
import types

import numpy as np
import pytest

from engine import lab as D
from engine.attributes import AttributeTable
from engine.errors import EngineError, OtherModelsFile


def _as_cli(exc) -> str:
    """An engine error as the CLI prints it: its options named as flags."""
    return exc.render(lambda p: "--" + p.replace("_", "-"))


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LFS_CACHE_DIR", str(tmp_path / "cache"))


def _best_abs_cos(found: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """For each true axis (rows of truth), the best |cosine| with any found direction."""
    f = found / np.linalg.norm(found, axis=1, keepdims=True)
    t = truth / np.linalg.norm(truth, axis=1, keepdims=True)
    return np.abs(t @ f.T).max(axis=1)


def test_ica_recovers_non_orthogonal_sources():
    rng = np.random.default_rng(0)
    d, n = 12, 4000
    A = rng.normal(size=(3, d))  # three non-orthogonal mixing directions
    s = np.stack([rng.laplace(size=n), rng.uniform(-1.7, 1.7, size=n), rng.exponential(size=n) - 1], axis=1)
    z = s @ A + 0.02 * rng.normal(size=(n, d))
    dirs = D.ica_directions(z, 3, seed=0)
    assert _best_abs_cos(np.stack([x.vector for x in dirs]), A).min() > 0.95
    pca = D.pca_directions(z, 3)
    assert _best_abs_cos(np.stack([x.vector for x in pca]), A).min() < 0.95  # PCA cannot find skewed axes


def test_varimax_recovers_sparse_factors_that_pca_mixes():
    rng = np.random.default_rng(1)
    d, n, k = 16, 5000, 3
    L = np.zeros((k, d))
    for j in range(k):  # each factor loads on its own block of 4 components, equal variance
        L[j, 4 * j : 4 * j + 4] = 1.0
    z = rng.normal(size=(n, k)) @ L + 0.05 * rng.normal(size=(n, d))
    vm = np.stack([x.vector for x in D.varimax_directions(z, k)])
    assert _best_abs_cos(vm, L).min() > 0.95


def test_varimax_rotation_is_orthogonal():
    rng = np.random.default_rng(2)
    rotated, R = D.varimax(rng.normal(size=(20, 4)))
    assert np.allclose(R @ R.T, np.eye(4), atol=1e-8)


def test_decoder_directions_are_the_right_singular_vectors():
    rng = np.random.default_rng(3)
    d = 8
    V, _ = np.linalg.qr(rng.normal(size=(d, d)))
    U, _ = np.linalg.qr(rng.normal(size=(30, d)))
    W = U @ np.diag([9.0, 7.0, 5.0, 1, 0.5, 0.4, 0.3, 0.2]) @ V.T  # 30 × d
    model = types.SimpleNamespace(decoder_fc=types.SimpleNamespace(weight=W))
    z = rng.normal(size=(500, d))
    dirs = D.decoder_directions(z, model, 3)
    cos = np.abs(np.stack([x.unit for x in dirs]) @ V[:, :3])
    assert np.all(np.diag(cos) > 0.999)
    # one unit = one σ of the cloud along the direction
    for x in dirs:
        assert np.isclose(np.std(z @ x.unit, ddof=1), x.sigma, rtol=1e-6)


def test_decoder_directions_of_the_real_architecture_and_refusal():
    torch = pytest.importorskip("torch")
    from engine.autoencoder import ArchitectureConfig, ConvAutoencoder

    torch.manual_seed(0)
    model = ConvAutoencoder(ArchitectureConfig(image_size=16, z_dim=6, channels=(4, 4, 4, 4)))
    z = np.random.default_rng(0).normal(size=(50, 6))
    assert len(D.unsupervised_directions(z, "decoder", 2, model=model)) == 2
    with pytest.raises(EngineError, match="decoder_fc"):
        D.decoder_directions(z, types.SimpleNamespace(), 2)


def _labelled_cloud(seed=0, n=3000, d=10):
    """A cloud whose axis 0 carries "Smiling" and axis 1 "Male" (partly correlated with Smiling)."""
    rng = np.random.default_rng(seed)
    scales = np.linspace(3.0, 1.0, d)
    z = rng.normal(size=(n, d)) * scales
    smile = np.where(z[:, 0] + 0.8 * rng.normal(size=n) > 0, 1.0, -1.0)
    male = np.where(z[:, 1] + 0.5 * z[:, 0] + 0.8 * rng.normal(size=n) > 0, 1.0, -1.0)
    noise = np.where(rng.normal(size=n) > 0, 1.0, -1.0)
    table = AttributeTable(["Smiling", "Male", "Noise"], np.stack([smile, male, noise], axis=1),
                           [f"{i}.jpg" for i in range(n)])
    return z, table


def test_names_match_planted_attributes():
    z, table = _labelled_cloud()
    probes = D.attribute_probes(z, table)
    dirs = D.pca_directions(z, 2)
    ms = D.measure_directions(z, dirs, probes=probes)
    assert ms[0].top[0][0] == "Smiling" and ms[0].top[0][1] > 0.5
    assert ms[1].top[0][0] == "Male" and abs(ms[1].top[0][1]) > 0.5
    assert abs(dict(ms[0].top).get("Noise", 0.0)) < 0.2
    assert dirs[0].label.startswith(("+Smiling", "−Smiling"))
    # the table sorts by any column
    rows = D.table_rows(dirs, ms)
    assert [r["index"] for r in D.sort_rows(rows, "sigma")] == [1, 2]
    assert [r["index"] for r in D.sort_rows(rows, "+sigma")] == [2, 1]
    assert "Smiling" in D.format_table(rows)
    with pytest.raises(EngineError, match="unknown column"):
        D.sort_rows(rows, "colour")
    # a principal axis stays inside the cloud's shape; ±2 moves leave the 2σ ellipsoid for some faces
    assert np.isclose(ms[0].maha_per_unit, 1.0, atol=1e-6)
    assert 0 <= ms[0].outside_2s <= 1


def test_conditional_direction_holds_the_other_attribute():
    z, table = _labelled_cloud()
    probes = D.attribute_probes(z, table)
    plain = D.attribute_directions(z, table, ["Smiling"])[0]
    cond = D.conditional_direction(z, table, "Smiling", ["Male"], probes=probes)
    e_plain = probes.effects(plain.vector)[0]
    e_cond = probes.effects(cond.vector)[0]
    i_s, i_m = probes.names.index("Smiling"), probes.names.index("Male")
    # Male's judge does not move; Smiling's still does, strongly
    assert abs(e_cond[i_m]) < 1e-8
    assert abs(e_plain[i_m]) > 0.2  # it did before (the planted correlation)
    assert e_cond[i_s] > 0.5 * e_plain[i_s] > 0
    # orthogonal to Male's direction in the Mahalanobis metric
    cov = np.cov(z, rowvar=False)
    male_dir = cov @ probes.weights[i_m]
    cos_m = cond.vector @ np.linalg.solve(cov, male_dir) / np.sqrt(
        (cond.vector @ np.linalg.solve(cov, cond.vector)) * (male_dir @ np.linalg.solve(cov, male_dir)))
    assert abs(cos_m) < 1e-8
    assert np.isclose(np.std(z @ cond.unit, ddof=1), cond.sigma, rtol=1e-6)
    # several held at once
    two = D.conditional_direction(z, table, "Smiling", ["Male", "Noise"], probes=probes)
    e2 = probes.effects(two.vector)[0]
    assert abs(e2[i_m]) < 1e-8 and abs(e2[probes.names.index("Noise")]) < 1e-8
    with pytest.raises(EngineError, match="moved and held"):
        D.conditional_direction(z, table, "Smiling", ["Smiling"], probes=probes)


def _set(model_id="model-a", k=3, d=10):
    rng = np.random.default_rng(5)
    dirs = [D.Direction(f"pca {i + 1}", "pca", rng.normal(size=d), label="+Smiling 1.00", meta={"axis": i})
            for i in range(k)]
    return D.DirectionSet("my set", model_id, d, dirs)


def test_save_load_round_trip_and_model_id(tmp_path):
    ds = _set()
    jpath, npath = D.save_direction_set(tmp_path / "smile", ds)
    assert jpath.name == "smile.json" and npath.name == "smile.npy"
    back = D.load_direction_set(tmp_path / "smile.json", model_id="model-a", z_dim=10)
    assert [d.name for d in back.directions] == ["pca 1", "pca 2", "pca 3"]
    assert np.allclose(back.vectors, ds.vectors.astype(np.float32))
    assert back.directions[0].label == "+Smiling 1.00" and back.directions[0].meta == {"axis": 0}
    with pytest.raises(OtherModelsFile, match="belongs to model model-a") as info:
        D.load_direction_set(jpath, model_id="model-b", z_dim=10)
    assert info.value.model_id == "model-a" and info.value.path == jpath
    assert _as_cli(info.value).endswith("— use --force to load it anyway")
    forced = D.load_direction_set(jpath, model_id="model-b", z_dim=10, force=True)
    assert forced.foreign
    with pytest.raises(EngineError, match="z_dim 10 cannot be used on a model of z_dim 12"):
        D.load_direction_set(jpath, model_id="model-a", z_dim=12, force=True)
    d2 = D.direction_for_edit(jpath, 2, model_id="model-a", z_dim=10)
    assert np.allclose(d2.vector, back.directions[1].vector)
    with pytest.raises(EngineError) as info:
        D.direction_for_edit(jpath, 4, model_id="model-a", z_dim=10)
    assert _as_cli(info.value).startswith("--index 4: ")
    # edit_strips' edit_latents needs only .vector
    from engine.attributes import edit_latents

    assert edit_latents(np.zeros((2, 10)), d2, [0, 1]).shape == (2, 2, 10)


def test_save_never_overwrites_a_users_file(tmp_path):
    (tmp_path / "mine.npy").write_bytes(b"my data")
    with pytest.raises(EngineError, match="not a direction set"):
        D.save_direction_set(tmp_path / "mine.json", _set())
    assert (tmp_path / "mine.npy").read_bytes() == b"my data"
    D.save_direction_set(tmp_path / "ours", _set())
    with pytest.raises(EngineError) as info:
        D.save_direction_set(tmp_path / "ours", _set())
    assert _as_cli(info.value).startswith("--out ") and _as_cli(info.value).endswith("(--overwrite)")
    D.save_direction_set(tmp_path / "ours", _set(k=2), overwrite=True)
    assert len(D.load_direction_set(tmp_path / "ours").directions) == 2


def _damage(tmp_path, how):
    jpath, npath = D.save_direction_set(tmp_path / "s", _set())
    meta = json.loads(jpath.read_text())
    if how == "truncated":
        npath.write_bytes(npath.read_bytes()[:-7])
    elif how == "shape":
        np.save(npath, np.ones((3, 9), np.float32))
    elif how == "nan":
        a = np.ones((3, 10), np.float32)
        a[1, 2] = np.nan
        np.save(npath, a)
    elif how == "pickle":
        np.save(npath, np.array([{"a": 1}] * 3, dtype=object), allow_pickle=True)
    elif how == "int":
        np.save(npath, np.ones((3, 10), np.int64))
    elif how == "count_text":
        meta["count"] = "3"
        jpath.write_text(json.dumps(meta))
    elif how == "entries":
        meta["directions"] = {"a": 1}
        jpath.write_text(json.dumps(meta))
    elif how == "method":
        meta["directions"][0]["method"] = 7
        jpath.write_text(json.dumps(meta))
    elif how == "not_json":
        jpath.write_bytes(b"\x80\x04K\x01.")
    elif how == "model_id":
        meta["model_id"] = ["x"]
        jpath.write_text(json.dumps(meta))
    elif how == "missing_npy":
        npath.unlink()
    return jpath


@pytest.mark.parametrize("how,match", [
    ("truncated", "truncated"), ("shape", r"shape \[3, 9\]"), ("nan", "NaN"), ("pickle", "never unpickled"),
    ("int", "not float32"), ("count_text", "count must be"), ("entries", "must be a list"),
    ("method", "method 7"), ("not_json", "not a JSON file"), ("model_id", "model_id must be"),
    ("missing_npy", "no such direction vectors file"),
])
def test_damaged_sets_are_refused_with_one_line_naming_the_file(tmp_path, how, match):
    jpath = _damage(tmp_path, how)
    with pytest.raises(EngineError, match=match) as info:
        D.load_direction_set(jpath, model_id="model-a", z_dim=10)
    msg = str(info.value)
    assert "\n" not in msg and str(tmp_path) in msg


def test_a_fifo_or_huge_file_is_refused(tmp_path):
    import os

    jpath, npath = D.save_direction_set(tmp_path / "s", _set())
    jpath.unlink()
    os.mkfifo(jpath)
    with pytest.raises(EngineError, match="s.json"):
        D.load_direction_set(jpath)


def test_pca_map_cached_and_silhouettes(tmp_path):
    z, table = _labelled_cloud(n=600)
    m1 = D.compute_map(z, "pca")
    m2 = D.compute_map(z, "pca")
    assert m1.xy.shape == (600, 2) and m2.from_cache and "view only" in m2.note
    sil = D.attribute_silhouettes(z, table, sample_size=None)
    assert -0.2 < sil["Noise"] < 0.05 and sil["Smiling"] > sil["Noise"]


def test_tsne_map_stages_progress_and_cancel():
    from engine.errors import Cancelled
    from engine.progress import CancelToken

    z, _ = _labelled_cloud(n=300, d=6)
    seen = []
    m = D.compute_map(z, "tsne", perplexity=10, progress=lambda p: seen.append(p.done), cache=False)
    assert m.xy.shape == (300, 2) and np.isfinite(m.xy).all() and seen[-1] == D.TSNE_STAGES
    tok = CancelToken()

    def cancel_after_first(p):
        if p.done >= 1:
            tok.cancel()

    with pytest.raises(Cancelled):
        D.compute_map(z, "tsne", perplexity=10, progress=cancel_after_first, cancel=tok, cache=False)
