"""Large clouds: a memory-mapped latents.npy (validated chunk by chunk, float16 kept), lazy names, streaming writes,
and the views that read them (open with statistics, PCA coordinates, generate on a subsample)."""
import tracemalloc

import numpy as np
import pytest

from engine import z_store
from engine.errors import ModelFileError
from engine.formats import native as model_store
from engine.z_store import NameList, NumberedNames

from conftest import copy_network


def test_name_list_behaves_like_the_list_of_names():
    raw = "a.jpg\nb\u2028c.jpg\r\nd.jpg\n\xe9t\xe9.png\n".encode("utf-8") + b"bad\xff.jpg\n"
    names = NameList(raw)
    plain = ["a.jpg", "b\u2028c.jpg", "d.jpg", "\xe9t\xe9.png", "bad\ufffd.jpg"]
    assert len(names) == 5 and list(names) == plain and names == plain
    assert names[0] == "a.jpg" and names[-1] == "bad\ufffd.jpg" and names[1] == "b\u2028c.jpg"  # "\n" splits only
    assert names[2] == "d.jpg"  # a trailing "\r" (Windows) dropped
    assert names[1:3] == plain[1:3] and isinstance(names[1:3], NameList) and list(names[::-1]) == plain[::-1]
    assert "d.jpg" in names and "zzz" not in names and names.index("d.jpg") == 2
    assert {f: i for i, f in enumerate(names)} == {f: i for i, f in enumerate(plain)}
    with pytest.raises(IndexError):
        names[5]
    assert NameList(b"x\ny") == ["x", "y"] and len(NameList(b"")) == 0  # no final "\n"; empty
    assert NameList.from_names(["p", "q"]) == ["p", "q"]


def test_name_list_of_two_million_names_costs_tens_of_megabytes():
    buf = b"".join(b"%07d.jpg\n" % i for i in range(2_000_000))
    names = NameList(buf)
    assert len(names) == 2_000_000 and names[1_234_567] == "1234567.jpg"
    assert names.nbytes < 60 * 2**20  # a list of 2M str would be ~150 MB


def test_numbered_names():
    n = NumberedNames(3)
    assert list(n) == ["#0", "#1", "#2"] and n == ["#0", "#1", "#2"] and n[-1] == "#2" and n[1:] == ["#1", "#2"]


@pytest.fixture
def big_model(tiny_model, tmp_path, monkeypatch):
    """A copy of the tiny model with 3,000 float16 z-points, loaded memory-mapped (a low threshold)."""
    d = model_store.read_config(tiny_model).arch.z_dim
    rng = np.random.default_rng(3)
    z = (rng.standard_normal((3000, d)) * np.linspace(2, 0.5, d)).astype(np.float16)
    dst = copy_network(tiny_model, tmp_path / "big", z)
    monkeypatch.setattr(z_store, "MAP_BYTES", 10_000)
    monkeypatch.setattr(z_store, "CHUNK_ROWS", 256)
    return dst, z


def test_a_large_latents_file_is_memory_mapped_read_only_in_its_dtype(big_model):
    folder, z = big_model
    got, names = model_store.load_latents(folder, z.shape[1])
    assert isinstance(got, np.memmap) and got.dtype == np.float16 and not got.flags.writeable
    np.testing.assert_array_equal(got, z)
    assert isinstance(names, NameList) and names[2999] == "002999.jpg" and len(names) == 3000
    with pytest.raises(ValueError):
        got[0, 0] = 1  # read-only: nothing can change the model's file through it


def test_a_small_file_stays_in_memory_as_float32(big_model, monkeypatch):
    folder, z = big_model
    monkeypatch.setattr(z_store, "MAP_BYTES", 10**9)
    got, names = model_store.load_latents(folder, z.shape[1])
    assert not isinstance(got, np.memmap) and got.dtype == np.float32 and isinstance(names, list)


@pytest.mark.parametrize("dtype,value,match", [("float16", np.inf, "NaN or Inf"), ("float32", np.nan, "NaN or Inf"),
                                               ("float32", 3e7, "beyond")])
def test_bad_rows_in_a_later_chunk_are_found_and_named(big_model, dtype, value, match):
    folder, z = big_model
    bad = z.astype(dtype)
    bad[[2100, 2500], 3] = value
    np.save(folder / model_store.LATENTS, bad)
    with pytest.raises(ModelFileError, match=match) as err:
        model_store.load_latents(folder, z.shape[1])
    assert "2 row(s)" in str(err.value) and "row 2100" in str(err.value)


def test_validation_never_holds_a_second_full_copy(big_model, monkeypatch):
    folder, _ = big_model
    d = model_store.read_config(folder).arch.z_dim
    z = np.random.default_rng(0).standard_normal((40_000, d)).astype(np.float32)
    np.save(folder / model_store.LATENTS, z)
    (folder / model_store.LATENT_FILES).write_bytes(b"".join(b"%d\n" % i for i in range(40_000)))
    got, _ = model_store.load_latents(folder, d)
    assert isinstance(got, np.memmap)
    tracemalloc.start()  # (reading the names file reserves its size cap as a buffer: measured apart)
    model_store.check_latent_values(got, folder)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < z.nbytes / 4, peak  # chunk by chunk: 256 rows at a time


def test_saving_a_memory_mapped_cloud_streams_it_and_reads_back_equal(big_model, tmp_path):
    folder, z = big_model
    got, names = model_store.load_latents(folder, z.shape[1])
    out = copy_network(folder, tmp_path / "copy")
    model_store.save_latents(out, got, list(names), dtype="float16")
    again, names2 = model_store.load_latents(out, z.shape[1])
    np.testing.assert_array_equal(again, z)
    assert names2 == names and not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_a_mapped_model_opens_with_statistics_and_generates_on_a_subsample(big_model, monkeypatch, tmp_path):
    from engine.workflows import generate as gen
    from engine.workflows.open_model import open_model

    monkeypatch.setenv("LFS_CACHE_DIR", str(tmp_path / "cache"))
    folder, z = big_model
    m = open_model(folder, statistics=True)
    assert isinstance(m.latents, np.memmap) and isinstance(m.latent_files, NameList)
    z64 = z.astype(np.float64)
    np.testing.assert_allclose(m.stats.mean, z64.mean(axis=0), atol=1e-6)
    ref = (z64 - m.stats.pca.mean) @ np.asarray(m.stats.pca.components[:m.pca_coords.shape[1]]).T
    np.testing.assert_allclose(m.pca_coords, ref, atol=1e-3)
    monkeypatch.setattr(gen, "MAPPED_FIT_ROWS", 1000)
    seen = []
    real = gen.SamplerFits.fitted

    def spy(self, opened, sampler, values, where=None):
        out = real(self, opened, sampler, values, where)
        seen.append(out[1])
        return out

    monkeypatch.setattr(gen.SamplerFits, "fitted", spy)
    g = gen.generate(m, "normal", n=4, seed=2, decode=False)
    assert g.z.shape == (4, z.shape[1]) and np.isfinite(g.z).all() and seen == [1000]


def test_subsample_rows_is_seeded_sorted_and_distinct(big_model):
    folder, z = big_model
    got, _ = model_store.load_latents(folder, z.shape[1])
    i1, r1 = z_store.subsample_rows(got, 500, seed=4)
    i2, _ = z_store.subsample_rows(got, 500, seed=4)
    assert np.array_equal(i1, i2) and np.all(np.diff(i1) > 0) and r1.dtype == np.float32
    np.testing.assert_array_equal(r1, z[i1].astype(np.float32))


def test_the_statistics_key_of_a_memory_map_is_the_key_of_the_same_array_in_memory(big_model):
    from engine.latent_stats import stats_key

    folder, z = big_model
    mapped = np.load(folder / model_store.LATENTS, mmap_mode="r")
    assert z_store.is_mapped(mapped)
    assert stats_key(mapped, 0.25) == stats_key(np.array(mapped), 0.25)  # the cache (and shipped files) still match
