"""Per-model caches of slow fits (engine/sealed_npz.py): the gmm sampler's fit (engine/samplers/gmm_cache.py) and the
lab's attribute judges (engine/lab/probes.py). A second fit of the same z-points and parameters reads the arrays
back and gives the same samples; other parameters fit again; a truncated, edited or foreign file is never trusted
(a miss: fitted again and rewritten); the estimates say cached or not."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from engine import sealed_npz
from engine.samplers import gmm_cache, make_sampler


def _cloud(n: int = 300, d: int = 6, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(3, d))
    return (centres[rng.integers(0, 3, n)] + rng.normal(size=(n, d))).astype(np.float32)


def _files(cache: Path) -> list[Path]:
    return sorted((cache / "samplers").glob("gmm-*.npz"))


@pytest.fixture
def fit_calls(monkeypatch) -> list:
    """Every EM fit actually run (scikit-learn), not read from the cache."""
    from engine.samplers.gmm import GMMSampler

    calls = []
    real = GMMSampler._fit_mixture

    def counting(self, latents):
        calls.append(dict(self.values))
        return real(self, latents)

    monkeypatch.setattr(GMMSampler, "_fit_mixture", counting)
    return calls


def test_a_second_fit_reads_the_cache_and_samples_the_same(cache, fit_calls):
    z = _cloud()
    first = make_sampler("gmm", {"components": 3}).fit(z)
    assert len(fit_calls) == 1 and len(_files(cache)) == 1 and first.cached is False
    second = make_sampler("gmm", {"components": 3, "scale": 0.5}).fit(z)  # scale: sampling only, same fit
    assert len(fit_calls) == 1 and second.cached is True
    np.testing.assert_array_equal(second.means, first.means)
    np.testing.assert_array_equal(second.covariances, first.covariances)
    again = make_sampler("gmm", {"components": 3}).fit(z)
    np.testing.assert_array_equal(again.sample(50, seed=4), first.sample(50, seed=4))
    assert again.diagnostics()["converged"] == first.diagnostics()["converged"]


@pytest.mark.parametrize("change", [{"components": 2}, {"covariance": "diag"}, {"fit_seed": 1}, "other points"])
def test_other_parameters_or_points_fit_again(cache, fit_calls, change):
    z = _cloud()
    make_sampler("gmm", {"components": 3}).fit(z)
    if change == "other points":
        z2, values = _cloud(seed=1), {"components": 3}
    else:
        z2, values = z, {"components": 3, **change}
    s = make_sampler("gmm", values).fit(z2)
    assert len(fit_calls) == 2 and s.cached is False and len(_files(cache)) == 2


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "arrays edited":  # a valid npz, the same key, other numbers, the old seal
        with np.load(io.BytesIO(data), allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
        arrays["means"] = arrays["means"] + 1.0
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        path.write_bytes(buf.getvalue())
    elif how == "pickled object":  # an object array: never unpickled
        buf = io.BytesIO()
        np.savez(buf, __key__=np.array(path.stem[4:]), __seal__=np.array("x"), means=np.array([{"a": 1}], dtype=object))
        path.write_bytes(buf.getvalue())


@pytest.mark.parametrize("how", ["truncated", "empty", "arrays edited", "pickled object"])
def test_a_damaged_or_edited_cache_file_is_refused_and_rebuilt(cache, fit_calls, how):
    z = _cloud()
    first = make_sampler("gmm", {"components": 3}).fit(z)
    (path,) = _files(cache)
    _damage(path, how)
    s = make_sampler("gmm", {"components": 3}).fit(z)
    assert len(fit_calls) == 2 and s.cached is False  # fitted again, nothing read from the damaged file
    np.testing.assert_array_equal(s.means, first.means)
    assert make_sampler("gmm", {"components": 3}).fit(z).cached is True  # rewritten: the next fit reads it
    assert len(fit_calls) == 2


def test_a_file_sealed_by_another_installation_is_not_trusted(cache, fit_calls, monkeypatch, tmp_path):
    z = _cloud()
    make_sampler("gmm", {"components": 3}).fit(z)
    monkeypatch.setenv("LFS_CONFIG_DIR", str(tmp_path / "another-config"))  # another installation key
    assert make_sampler("gmm", {"components": 3}).fit(z).cached is False
    assert len(fit_calls) == 2


def test_no_installation_key_means_no_cache(cache, fit_calls, monkeypatch, tmp_path):
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    monkeypatch.setenv("LFS_CONFIG_DIR", str(blocked / "config"))  # cannot be made: no key, no seal
    z = _cloud()
    make_sampler("gmm", {"components": 3}).fit(z)
    assert make_sampler("gmm", {"components": 3}).fit(z).cached is False and _files(cache) == []


def test_fit_estimates_say_cached_or_not(cache):
    from engine.workflows.estimates import expected_generate, fit_cached
    from engine.workflows.generate import SamplerFits
    from engine.workflows.open_model import OpenedModel

    class Codec:
        model_id = "m"
        z_dim = 6

    z = _cloud()
    opened = OpenedModel(Path("."), Codec(), latents=z)
    assert not fit_cached(opened, "gmm", {"components": 3})
    fits = SamplerFits()
    fits.fitted(opened, "gmm", {"components": 3})
    assert fit_cached(opened, "gmm", {"components": 3}, fits=fits)  # this session's fit
    assert fit_cached(opened, "gmm", {"components": 3, "scale": 0.7})  # on disk now: a new session fits nothing
    assert not fit_cached(opened, "gmm", {"components": 4})
    assert not fit_cached(opened, "gmm", {"components": 3}, where="A=1")  # a subset: not known before
    assert not fit_cached(opened, "normal", {}) and not fit_cached(opened, "gmm", {"components": "x"})
    assert not expected_generate(opened, "gmm", {"components": 3}, 16).first_time


def test_attribute_judges_are_sealed_and_estimated(cache):
    from engine.attributes import AttributeTable
    from engine.lab import attribute_probes, probes_cached
    from engine.workflows.estimates import expected_judges

    z = _cloud(n=200, d=5)
    rng = np.random.default_rng(2)
    table = AttributeTable(["A", "B"], np.where(rng.random((200, 2)) < 0.5, 1.0, -1.0), [f"{i}.png" for i in range(200)])
    assert not probes_cached(z, table) and expected_judges(z, table).first_time
    first = attribute_probes(z, table)
    assert probes_cached(z, table) and expected_judges(z, table).seconds == 0
    (path,) = sorted((cache / "directions").glob("probes-*.npz"))
    data = bytearray(path.read_bytes())
    data[-200] ^= 1
    path.write_bytes(bytes(data))
    assert not probes_cached(z, table)  # an edited file is a miss
    again = attribute_probes(z, table)
    np.testing.assert_array_equal(again.weights, first.weights)
    assert probes_cached(z, table)


def test_sealed_files_round_trip_and_refuse_another_key(cache, tmp_path):
    p = tmp_path / "x.npz"
    assert sealed_npz.save(p, "k1", a=np.arange(4.0), s=np.array(["x", "y"]))
    got = sealed_npz.load(p, "k1", ("a", "s"))
    assert got is not None and got["a"].tolist() == [0, 1, 2, 3] and got["s"].tolist() == ["x", "y"]
    assert sealed_npz.load(p, "k2", ("a", "s")) is None  # written for other inputs
    assert sealed_npz.load(p, "k1", ("a",)) is None  # not the arrays asked for
    assert gmm_cache.load("0" * 32) is None
