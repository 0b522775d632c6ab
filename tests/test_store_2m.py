"""Millions of z-points at a reduced size (issue 26, part 2; the 2,000,000 × 256 run is benchmarks/scale_2m.py):
statistics of a large cloud from one streamed pass plus a seeded subsample (flagged, close to the full pass), the
path sampler's memory on a memory-mapped cloud, and ``encode`` writing float16 z-points."""
from __future__ import annotations

import numpy as np
import pytest

from engine import latent_stats as ls
from engine import z_store
from engine.formats import native as model_store

from conftest import copy_network


def _cloud(n: int, d: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mix = np.eye(d) + rng.normal(0, 0.6 / np.sqrt(d), (d, d))
    return (rng.standard_normal((n, d)) @ mix * np.linspace(2.0, 0.5, d) + rng.normal(0, 0.5, d)).astype(np.float32)


@pytest.fixture(scope="module")
def cloud():
    return _cloud(24_000, 12)


def test_a_large_cloud_gets_exact_moments_and_flagged_subsampled_statistics(cloud):
    z = cloud
    full = ls.compute_stats(z, sample_rows=0)
    part = ls.compute_stats(z, sample_rows=6000, project_axes=3)
    assert not full.subsampled and full.sample_note() == "" and full.hist_counts.sum() == 24_000 * 12
    assert part.subsampled and (part.n, part.sample_rows) == (24_000, 6000)
    assert part.sample_note() == "on a seeded 6,000 of the 24,000 z-points"
    # every row gives the mean and std, exactly (float32 sums of shifted rows)
    z64 = z.astype(np.float64)
    np.testing.assert_allclose(part.mean, z64.mean(axis=0), atol=1e-5)
    np.testing.assert_allclose(part.std, z64.std(axis=0, ddof=1), rtol=1e-5)
    np.testing.assert_allclose(part.pca.mean, part.mean)
    # the rest is the subsample's: its counts add up to it, and it is close to the full pass
    assert part.hist_counts.sum(axis=1).tolist() == [6000] * 12 and len(part.normality.mahalanobis_sq) == 6000
    noise = 4 * np.sqrt(2 / 6000)  # a few standard errors of a correlation / a relative variance
    assert np.abs(part.corr - full.corr).max() < noise
    np.testing.assert_allclose(part.pca.explained_variance[:3], full.pca.explained_variance[:3], rtol=noise)
    assert np.abs(np.sum(part.pca.components[:2] * full.pca.components[:2], axis=1)).min() > 0.99
    np.testing.assert_allclose(part.centres, full.centres, atol=noise * full.sigmas.max())
    np.testing.assert_allclose(part.normality.observed, full.normality.observed, atol=0.03)
    # the streamed pass projected every row on the 3 leading axes: the same numbers as projecting afterwards
    from engine.workflows.open_model import leading_pca_coords

    coords = ls.take_coords(part, 3, len(z))
    assert coords.shape == (24_000, 3) and part.coords is None  # handed over once
    np.testing.assert_allclose(coords, leading_pca_coords(z, part, 3), atol=2e-4)
    # the same seed, the same statistics
    again = ls.compute_stats(z, sample_rows=6000)
    np.testing.assert_array_equal(again.cov, part.cov)
    assert again.coords is None  # nothing projected unless asked


def test_the_subsampling_policy_and_the_cache_keep_the_flag(tmp_path, cloud):
    assert ls.stats_sample_size(ls.STATS_FULL_ROWS) == ls.STATS_FULL_ROWS  # the 202,599 of CelebA: every row
    assert ls.stats_sample_size(ls.STATS_FULL_ROWS + 1) == ls.STATS_SAMPLE_ROWS
    assert ls.stats_sample_size(2_000_000, 0) == 2_000_000 and ls.stats_sample_size(100, 500) == 100
    part = ls.compute_stats(cloud[:4000], sample_rows=1000)
    part.key = "k"
    ls.save_stats(tmp_path / "s.npz", part)
    back = ls.load_stats(tmp_path / "s.npz", "k")
    assert back.sample_rows == 1000 and back.subsampled and back.coords is None
    np.testing.assert_array_equal(back.std, part.std)
    # a cache written before subsampling existed reads as "every row"
    with np.load(tmp_path / "s.npz") as f:
        old = {k: f[k] for k in f.files if k != "sample_rows"}
    np.savez(tmp_path / "old.npz", **old)
    assert ls.load_stats(tmp_path / "old.npz", "k").sample_rows == 0


@pytest.fixture
def mapped_model(tiny_model, tmp_path, monkeypatch):
    """The tiny model with 6,000 float16 z-points, memory-mapped (low thresholds), its statistics subsampled."""
    d = model_store.read_config(tiny_model).arch.z_dim
    z = _cloud(6000, d, seed=5).astype(np.float16)
    dst = copy_network(tiny_model, tmp_path / "big", z)
    monkeypatch.setattr(z_store, "MAP_BYTES", 10_000)
    monkeypatch.setattr(ls, "STATS_FULL_ROWS", 4000)
    monkeypatch.setattr(ls, "STATS_SAMPLE_ROWS", 1500)
    monkeypatch.setenv("LFS_CACHE_DIR", str(tmp_path / "cache"))
    return dst, z


def test_a_mapped_model_opens_with_subsampled_statistics_and_every_pca_coordinate(mapped_model):
    from engine.workflows.open_model import leading_pca_coords, open_model

    folder, z = mapped_model
    first = open_model(folder, statistics=True)
    assert isinstance(first.latents, np.memmap) and first.stats.sample_rows == 1500 and first.stats.n == 6000
    k = first.pca_coords.shape[1]
    assert first.pca_coords.shape == (6000, min(16, z.shape[1]))
    np.testing.assert_allclose(first.pca_coords, leading_pca_coords(first.latents, first.stats, k), atol=1e-4)
    cached = open_model(folder, statistics=True)  # from the cache: the flag and the coordinates are the same
    assert cached.stats.sample_rows == 1500
    np.testing.assert_allclose(cached.pca_coords, first.pca_coords, atol=1e-4)


# ----------------------------------------------------------------------------------------------
# encode --dtype float16


@pytest.fixture
def faces_and_models(tiny_model, tmp_path):
    """(60 faces, three copies of the tiny model without z-points)."""
    from conftest import write_faces

    faces = tmp_path / "faces"
    write_faces(faces, 60, seed=7)
    copies = []
    for name in ("a", "b", "c"):
        copies.append(copy_network(tiny_model, tmp_path / name))
    return faces, copies


def test_encode_float16_stores_half_the_bytes_within_its_rounding_and_says_so(faces_and_models):
    import main
    from engine.formats import open_model
    from engine.workflows.encode import EncodeOptions, encode_folder_into

    assert main.build_parser().parse_args(["encode", "--model", "m", "--data", "d", "--dtype", "float16"]).dtype == "float16"
    with pytest.raises(SystemExit):  # only the two number types every reader takes
        main.build_parser().parse_args(["encode", "--model", "m", "--data", "d", "--dtype", "float64"])
    faces, (a, b, _) = faces_and_models
    r32 = encode_folder_into(open_model(a), faces, EncodeOptions(workers=1))
    r16 = encode_folder_into(open_model(b), faces, EncodeOptions(workers=1, dtype="float16"))
    assert r16.summary().endswith("(60×%d float16)" % r16.z_dim) and "float32" in r32.summary()
    on_disk = np.load(b / model_store.LATENTS, mmap_mode="r")
    assert on_disk.dtype == np.float16 and on_disk.shape == (60, r16.z_dim)
    assert (b / model_store.LATENTS).stat().st_size < 0.6 * (a / model_store.LATENTS).stat().st_size
    z32, n32 = model_store.load_latents(a, r32.z_dim)
    z16, n16 = model_store.load_latents(b, r16.z_dim)
    assert n16 == n32 and z16.dtype == np.float32  # read back as float32, the same names
    np.testing.assert_allclose(z16, z32, rtol=2**-11, atol=1e-6)  # float16: 11 significant bits
    assert np.abs(z16 - z32).max() > 0  # really rounded


def test_a_float16_encode_resumes_and_its_shards_merge_as_float16(faces_and_models):
    from engine import encode_shards as es
    from engine.encoding import FolderSource, encode_to_model
    from engine.formats import open_model

    faces, (a, b, c) = faces_and_models

    class Killed(Exception):
        pass

    def die(p):
        if p.done >= 20:
            raise Killed

    def encode(folder, **kw):
        codec = open_model(folder)
        return encode_to_model(folder, FolderSource(faces, codec.preprocess, workers=1, use_cache=False),
                               model=codec, chunk_size=20, dtype="float16", **kw)

    whole = encode(a)
    with pytest.raises(Killed):
        encode(b, progress=die)
    seen = []
    again = encode(b, progress=seen.append)  # continues after its first chunk, in float16
    assert again.resumed_from == 20 and "resuming" in seen[0].message
    za = np.load(a / model_store.LATENTS)
    np.testing.assert_array_equal(np.load(b / model_store.LATENTS), za)
    codec = open_model(c)
    source = FolderSource(faces, codec.preprocess, workers=1, use_cache=False)
    manifests = [es.encode_shard(c, source, codec, r, 2, chunk_size=20, dtype="float16") for r in range(2)]
    assert {m["identity"]["dtype"] for m in manifests} == {"float16"}
    rows, z_dim, _ = es.merge_shards(c, 2)
    merged = np.load(c / model_store.LATENTS)
    assert merged.dtype == np.float16 and rows == whole.rows == 60
    np.testing.assert_array_equal(merged, za)


# ----------------------------------------------------------------------------------------------
# the path sampler on millions of z-points


def test_the_path_sampler_reads_a_mapped_cloud_where_it_needs_and_keeps_row_numbers(mapped_model, monkeypatch):
    from engine.samplers import path as path_mod
    from engine.workflows import generate as gen
    from engine.workflows.open_model import open_model

    folder, z = mapped_model
    monkeypatch.setattr(gen, "MAPPED_FIT_ROWS", 1000)
    monkeypatch.setattr(path_mod, "PCA_FIT_ROWS", 1000)
    m = open_model(folder)
    g = gen.generate(m, "path", {"mode": "points", "start": 5999, "end": 0, "steps": 2}, n=2, decode=False)
    np.testing.assert_array_equal(g.z, z[[5999, 0]].astype(np.float32))  # the model's rows, not a subsample's
    fits = gen.SamplerFits()
    gen.generate(m, "path", n=3, decode=False, fits=fits)
    s = fits.fitted(m, "path", None)[0]
    assert "1,000 of the 6,000" in s.diagnostics()["fitted_on"]


def test_the_path_sampler_fit_holds_no_copy_of_a_mapped_cloud(tmp_path, monkeypatch):
    import tracemalloc

    from engine.samplers import make_sampler
    from engine.samplers import path as path_mod

    n, d = 300_000, 64
    z = np.random.default_rng(2).standard_normal((n, d), dtype=np.float32) * np.linspace(2, 0.5, d, dtype=np.float32)
    np.save(tmp_path / "z.npy", z.astype(np.float16))
    del z
    mm = np.load(tmp_path / "z.npy", mmap_mode="r")
    monkeypatch.setattr(path_mod, "PCA_FIT_ROWS", 20_000)
    copy32 = n * d * 4
    for values in ({"mode": "pca"}, {"mode": "points", "start": n - 1, "end": 7}):
        tracemalloc.start()
        s = make_sampler("path", values).fit(mm)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert s.sample(4).shape == (4, d)
        assert peak < copy32 / 4, (values, peak)  # a 20,000-row subsample (5 MB) or two rows, never 77 MB


# ----------------------------------------------------------------------------------------------
# views of a memory-mapped cloud: selection by a query (with its statistics), the directions lab


def test_a_query_and_its_statistics_read_a_mapped_cloud_as_they_read_one_in_memory(tmp_path):
    from engine.group_stats import cloud_basis, group_stats
    from engine.query import QuerySpace, evaluate

    z = _cloud(30_000, 10, seed=3).astype(np.float16)
    np.save(tmp_path / "z.npy", z)
    mm = np.load(tmp_path / "z.npy", mmap_mode="r")
    pca = ls.pca_of(z.astype(np.float32))
    where = "PC1 > 0.5 and z3 < 0"
    mem, mapped = QuerySpace(z.astype(np.float32), pca=pca), QuerySpace(mm, pca=pca)
    assert z_store.is_mapped(mapped.z)  # kept a memory map: read chunk by chunk, never copied whole
    mask = evaluate(where, mapped)
    np.testing.assert_array_equal(mask, evaluate(where, mem))
    assert 1000 < mask.sum() < 29_000
    a = group_stats(cloud_basis(mm, pca=pca), mask)
    b = group_stats(cloud_basis(z.astype(np.float32), pca=pca), mask)
    assert z_store.is_mapped(cloud_basis(mm, pca=pca).z)
    assert (a.count, a.total) == (b.count, b.total) == (mask.sum(), 30_000)
    for key in ("mean_shift", "sd_ratio", "hist_whole"):
        np.testing.assert_allclose(getattr(a, key), getattr(b, key), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(a.histogram(3), b.histogram(3))
    w = pca.components[:2].T
    np.testing.assert_allclose(z_store.project(mm, w), z.astype(np.float32) @ w.astype(np.float32), atol=1e-4)
    np.testing.assert_array_equal(z_store.column(mm, 3), z[:, 3].astype(np.float64))


def test_the_directions_lab_studies_a_seeded_subsample_of_a_mapped_cloud(mapped_model, monkeypatch):
    from engine.workflows import directions as wd
    from engine.workflows.open_model import open_model

    folder, z = mapped_model
    monkeypatch.setattr(wd, "LAB_ROWS", 2000)
    m = open_model(folder)
    rows, table, note = wd.lab_cloud(m.latents)
    assert rows.shape == (2000, z.shape[1]) and rows.dtype == np.float32 and table is None
    assert note == "directions and measures on a seeded 2,000 of the 6,000 z-points"
    res = wd.compute_directions(m.latents, wd.DirectionOptions("pca", k=3, decode=False))
    assert len(res.directions) == 3 and note in res.notes
    small, _, none = wd.lab_cloud(np.asarray(z[:100], np.float32))  # in memory: as given
    assert none is None and small.shape == (100, z.shape[1])
