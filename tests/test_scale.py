"""The full-CelebA path at a reduced size (issue 26; the full 202,599 × 256 run is benchmarks/scale_celeba.py):
capped sampler fits on seeded subsamples, statistics of a read-only memory-mapped cloud, the scipy Gaussian fits
against the hand-written ones they replaced, and evaluate's memory growing by less than the z-points it is given."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from engine import latent_stats as ls
from engine.samplers import make_sampler, sampler_class


def _cloud(n: int, d: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mix = np.eye(d) + rng.normal(0, 0.5 / np.sqrt(d), (d, d))
    return (rng.standard_normal((n, d)) @ mix * rng.uniform(0.5, 2.0, d) + rng.normal(0, 0.5, d)).astype(np.float32)


@pytest.fixture(scope="module")
def memmapped(tmp_path_factory):
    """A 40,000 × 48 cloud in memory and the same cloud as a read-only np.memmap (what a large model's store gives)."""
    z = _cloud(40_000, 48)
    path = tmp_path_factory.mktemp("scale") / "latents.npy"
    np.save(path, z)
    mm = np.load(path, mmap_mode="r")
    assert isinstance(mm, np.memmap) and not mm.flags.writeable
    return z, mm


# ----------------------------------------------------------------------------------------------
# capped fits


def test_capped_fit_sees_at_most_its_cap_and_is_deterministic(monkeypatch):
    cls = sampler_class("kde")
    monkeypatch.setattr(cls, "max_fit_points", 700)
    seen = []
    original = cls._fit
    monkeypatch.setattr(cls, "_fit", lambda self, z: (seen.append(z.shape), original(self, z))[1])
    z = _cloud(3000, 6)
    a, b = make_sampler("kde").fit(z), make_sampler("kde").fit(z)
    assert seen == [(700, 6), (700, 6)]
    assert (a.fit_points, a.total_points) == (700, 3000)
    assert a.model.tree_.data.shape == (700, 6)
    np.testing.assert_array_equal(a.sample(50, 3), b.sample(50, 3))
    assert "700 of the 3,000" in a.diagnostics()["fitted_on"]
    # the rows are a seeded subsample of the whole cloud, not its first rows
    rows = cls.fit_rows(3000)
    assert len(rows) == 700 and rows.max() > 2000 and np.all(np.diff(rows) > 0)


def test_gmm_fit_is_capped_and_its_cache_keyed_by_what_it_saw(monkeypatch):
    cls = sampler_class("gmm")
    monkeypatch.setattr(cls, "max_fit_points", 400)
    seen = []
    original = cls._fit_mixture
    monkeypatch.setattr(cls, "_fit_mixture", lambda self, z: (seen.append(len(z)), original(self, z))[1])
    z = _cloud(2000, 5)
    s = make_sampler("gmm", {"components": 2}).fit(z)
    assert seen == [400] and s.fit_points == 400 and not s.cached
    assert cls.fit_is_cached(z, {"components": 2})  # the same subsample: the fit just made is found
    again = make_sampler("gmm", {"components": 2}).fit(z)
    assert again.cached and seen == [400]
    np.testing.assert_array_equal(s.sample(20, 1), again.sample(20, 1))


def test_uncapped_below_the_cap_and_default_caps_keep_the_default_model_whole():
    z = _cloud(500, 4)
    s = make_sampler("kde").fit(z)
    assert s.fit_points == s.total_points == 500 and "fitted_on" not in s.diagnostics()
    # the default model's 8,500 training z-points are fitted whole (its shipped gmm fit stays valid)
    assert sampler_class("gmm").max_fit_points >= 8500 and sampler_class("kde").max_fit_points >= 8500
    for name in ("normal", "pca-ellipse", "box", "path", "uniform"):  # exact streamed moments: no cap
        assert sampler_class(name).max_fit_points is None


def test_nearest_neighbour_reference_holds_the_kde_subsample():
    from engine.evaluation import NN_REFERENCE_POINTS

    n = 3 * NN_REFERENCE_POINTS
    kde_rows = sampler_class("kde").fit_rows(n)
    nn_rows = ls.subsample_rows(n, NN_REFERENCE_POINTS)
    assert kde_rows is not None and set(kde_rows.tolist()) <= set(nn_rows.tolist())
    small = ls.subsample_rows(n, 1000)
    assert set(small.tolist()) <= set(nn_rows.tolist())  # nested: one permutation's prefix


# ----------------------------------------------------------------------------------------------
# streamed statistics on a read-only memmap


def test_statistics_of_a_readonly_memmap_equal_those_in_memory(memmapped):
    z, mm = memmapped
    a, b = ls.compute_stats(z), ls.compute_stats(mm)
    for key in ("mean", "std", "cov", "centres", "sigmas", "hist_counts", "hist_lo"):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key), err_msg=key)
    np.testing.assert_array_equal(a.normality.mahalanobis_sq, b.normality.mahalanobis_sq)
    assert ls.stats_key(z, 0.25) == ls.stats_key(mm, 0.25)
    fz, fm = ls.component_fits(z), ls.component_fits(mm)
    np.testing.assert_array_equal(fz["hist_counts"], fm["hist_counts"])
    assert int(fz["hist_counts"][0].sum()) == len(z)


def test_streamed_moments_equal_numpy_on_the_whole_array(memmapped):
    z, mm = memmapped
    mean, cov, n = ls.cloud_moments(mm)
    z64 = z.astype(np.float64)
    assert n == len(z)
    np.testing.assert_allclose(mean, z64.mean(axis=0), rtol=0, atol=1e-6)
    np.testing.assert_allclose(cov, np.cov(z64, rowvar=False), rtol=1e-6, atol=1e-7)
    held = np.arange(100, 600)
    m2, c2, n2 = ls.cloud_moments(mm, exclude=held)
    keep = np.delete(z64, held, axis=0)
    assert n2 == len(z) - 500
    np.testing.assert_allclose(c2, np.cov(keep, rowvar=False), rtol=1e-6, atol=1e-7)
    _, c3, n3 = ls.cloud_moments(mm, exclude=np.arange(20_000))  # a whole first chunk left out
    assert n3 == 20_000
    np.testing.assert_allclose(c3, np.cov(z64[20_000:], rowvar=False), rtol=1e-6, atol=1e-7)
    pca = ls.pca_of(mm)
    np.testing.assert_allclose(pca.explained_variance, np.linalg.eigvalsh(np.cov(z64, rowvar=False))[::-1], rtol=1e-6)


def test_every_sampler_fits_a_readonly_memmap(memmapped):
    from engine.samplers import SAMPLERS

    _, mm = memmapped
    for name in SAMPLERS:
        values = {"components": 2, "covariance": "diag"} if name == "gmm" else {}
        z = make_sampler(name, values).fit(mm[:20_000] if name == "gmm" else mm).sample(8, 0)
        assert z.shape == (8, mm.shape[1]) and np.isfinite(z).all(), name


# ----------------------------------------------------------------------------------------------
# the scipy Gaussian fits against the hand-written batched fit they replaced


def _batched_fit(counts, x, valid, iterations=40):
    """The hand-written batched Levenberg–Marquardt fit that ``latent_stats.fit_gaussians`` replaced (verbatim)."""
    c = np.asarray(counts, dtype=np.float64) * valid
    x = np.asarray(x, dtype=np.float64)
    w = valid.astype(np.float64)
    tot = c.sum(axis=1)
    safe_tot = np.where(tot > 0, tot, 1.0)
    mu = (c * x).sum(axis=1) / safe_tot
    var = (c * (x - mu[:, None]) ** 2).sum(axis=1) / safe_tot
    width = valid.sum(axis=1)
    step = np.where(width > 1, x[:, 1] - x[:, 0], 1.0)
    p = np.stack([c.max(axis=1), mu, np.sqrt(np.maximum(var, step**2 / 12.0))], axis=1)
    fittable = ((c > 0).sum(axis=1) >= 3) & (tot > 0)

    def model(p):
        e = np.exp(-0.5 * ((x - p[:, 1:2]) / p[:, 2:3]) ** 2) * w
        return p[:, 0:1] * e, e

    g, e = model(p)
    ssr = ((c - g) ** 2).sum(axis=1)
    lam = np.full(len(c), 1e-3)
    for _ in range(iterations):
        a, m, s = p[:, 0:1], p[:, 1:2], p[:, 2:3]
        dx = x - m
        J = np.stack([e, a * e * dx / s**2, a * e * dx**2 / s**3], axis=2)
        JtJ = np.einsum("mbi,mbj->mij", J, J)
        Jtr = np.einsum("mbi,mb->mi", J, c - g)
        diag = np.einsum("mii->mi", JtJ)
        A = JtJ + lam[:, None, None] * (diag[:, :, None] * np.eye(3) + 1e-12 * np.eye(3))
        trial = p + np.linalg.solve(A, Jtr[:, :, None])[:, :, 0]
        trial[:, 2] = np.abs(trial[:, 2])
        ok = np.isfinite(trial).all(axis=1) & (trial[:, 2] > 1e-12)
        g_t, e_t = model(np.where(ok[:, None], trial, p))
        ssr_t = ((c - g_t) ** 2).sum(axis=1)
        better = ok & (ssr_t < ssr) & fittable
        p[better], g[better], e[better], ssr[better] = trial[better], g_t[better], e_t[better], ssr_t[better]
        lam = np.clip(np.where(better, lam * 0.3, lam * 10.0), 1e-9, 1e9)
    return p


def test_scipy_gaussian_fits_equal_the_batched_ones_on_the_default_model():
    from engine.formats.native import load_latents
    from engine.resources import default_model_dir

    z, _ = load_latents(default_model_dir(), 256)
    fits = ls.component_fits(z)
    lo, bins, counts = fits["hist_lo"], fits["hist_bins"], fits["hist_counts"]
    valid = np.arange(counts.shape[1])[None, :] < bins[:, None]
    x = lo[:, None] + 0.25 * (np.arange(counts.shape[1])[None, :] + 0.5)
    old = _batched_fit(counts, x, valid)
    new = ls.fit_gaussians(counts, x, valid)
    np.testing.assert_allclose(new["amplitude"], old[:, 0], rtol=1e-4)
    np.testing.assert_allclose(new["centre"], old[:, 1], rtol=0, atol=1e-4)
    np.testing.assert_allclose(new["sigma"], old[:, 2], rtol=1e-4)
    assert np.median(new["r2"]) > 0.95


# ----------------------------------------------------------------------------------------------
# evaluate's memory


def _evaluate_peak(codec, config, n_points: int) -> int:
    from engine.evaluation import evaluate_opened

    rng = np.random.default_rng(1)
    from engine.formats.native import load_latents
    from engine.resources import default_model_dir

    real, _ = load_latents(default_model_dir(), 256)
    cloud = ls.Whitener(real)
    z = cloud.colour(rng.standard_normal((n_points, 256))).astype(np.float32)
    files = [f"synthetic-{i:06d}.png" for i in range(n_points)]
    tracemalloc.start()
    try:
        report = evaluate_opened(codec, z, files, n=16, samplers=["uniform", "box", "pca-ellipse", "normal", "kde"])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    rows = {r["name"]: r for r in report.rows}
    assert rows["kde"]["fit_points"] == 5000 and rows["normal"]["fit_points"] == n_points - 500
    return peak


def test_evaluate_memory_grows_by_less_than_the_points_it_is_given(monkeypatch):
    """Twice the z-points, half of the added rows' float32 size at most (no copy of the training rows, no float64
    copy of the cloud: streamed moments, capped kde fit and nearest-neighbour reference)."""
    from engine import evaluation
    from engine.formats import open_model
    from engine.resources import default_model_dir

    monkeypatch.setattr(evaluation, "NN_REFERENCE_POINTS", 5000)
    monkeypatch.setattr(sampler_class("kde"), "max_fit_points", 5000)
    codec = open_model(default_model_dir())
    small, large = (_evaluate_peak(codec, codec.config, n) for n in (20_000, 40_000))
    added = 20_000 * 256 * 4
    assert large - small < 0.5 * added, (small, large)


@pytest.mark.parametrize("block", [(16, 20), (0, 4), (5, 9), (3, 4)])
def test_training_rows_are_views_or_moved_in_place_without_a_copy(block):
    """The training rows in file order and the held-out block, for a block at either end (views), inside (moved
    up in place when the array is the caller's own; copied otherwise)."""
    from engine.evaluation import training_rows

    z = np.arange(20 * 3, dtype=np.float32).reshape(20, 3)
    held = np.arange(*block)
    keep = np.ones(20, bool)
    keep[held] = False
    for owned in (False, True):
        work = z.copy()
        train, held_z = training_rows(work, held, owned=owned)
        np.testing.assert_array_equal(train, z[keep])
        np.testing.assert_array_equal(held_z, z[held])
        inside = 0 < block[0] and block[1] < 20
        assert np.shares_memory(train, work) == (owned or not inside)
        if not owned:
            np.testing.assert_array_equal(work, z)  # the caller's array is untouched
    train, held_z = training_rows(z, np.array([2, 7, 8]))  # not one block: copies
    np.testing.assert_array_equal(train, np.delete(z, [2, 7, 8], axis=0))
    np.testing.assert_array_equal(held_z, z[[2, 7, 8]])


def test_large_label_files_are_parsed_once_and_read_back_from_the_cache(tmp_path, monkeypatch):
    import engine.attributes as attributes
    from engine.workflows.open_model import LABELS_CACHE_ROWS, load_labels_cached

    n = LABELS_CACHE_ROWS
    files = [f"synthetic-{i:06d}.png" for i in range(n)]
    rng = np.random.default_rng(0)
    vals = rng.integers(0, 2, (n, 2))
    lines = ["file,Smiling,Male"] + [f"{f},{a},{b}" for f, (a, b) in zip(files, vals.tolist()) if f != files[7]]
    (tmp_path / "labels.csv").write_text("\n".join(lines) + "\n")
    calls = []
    original = attributes.load_labels
    monkeypatch.setattr(attributes, "load_labels", lambda *a: (calls.append(1), original(*a))[1])
    first = load_labels_cached(tmp_path, files)
    second = load_labels_cached(tmp_path, files)
    assert len(calls) == 1
    assert second.names == ["Smiling", "Male"] and second.files == files
    np.testing.assert_array_equal(first.values, second.values)
    assert np.isnan(second.values[7]).all() and second.values[8].tolist() == vals[8].tolist()
    assert second.report.missing == first.report.missing == 1
    load_labels_cached(tmp_path, files[::-1])  # other names: another key, parsed again
    assert len(calls) == 2


def test_a_large_z_file_remembers_its_statistics_key_by_identity(tmp_path):
    import os

    from engine.workflows.open_model import KEY_MEMO_ROWS, _known_stats_key, _remember_stats_key

    path = tmp_path / "latents.npy"
    np.save(path, np.zeros((3, 2), np.float32))
    assert _known_stats_key(path, KEY_MEMO_ROWS) is None
    _remember_stats_key(path, KEY_MEMO_ROWS, "0123456789abcdef0123456789abcdef")
    assert _known_stats_key(path, KEY_MEMO_ROWS) == "0123456789abcdef0123456789abcdef"
    assert _known_stats_key(path, KEY_MEMO_ROWS - 1) is None  # small clouds are hashed every time
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))  # the file changed: hashed again
    assert _known_stats_key(path, KEY_MEMO_ROWS) is None


def test_gmm_fits_in_float32_and_falls_back_to_float64(monkeypatch):
    """EM runs on float32 z-points (half the time); a float32 fit that fails (a covariance that cannot be factored)
    is run again in float64; either way the sampler keeps float64 arrays."""
    from sklearn.mixture import GaussianMixture

    from engine.samplers import make_sampler

    z = _cloud(300, 6)
    seen = []
    fit = GaussianMixture.fit

    def spy(self, x, y=None):
        seen.append(x.dtype)
        if x.dtype == np.float32 and fail:
            raise ValueError("Fitting the mixture model failed because some components have ill-defined covariance")
        return fit(self, x)

    monkeypatch.setattr(GaussianMixture, "fit", spy)
    monkeypatch.setattr("engine.samplers.gmm_cache.load", lambda key: None)
    monkeypatch.setattr("engine.samplers.gmm_cache.save", lambda key, **a: True)
    for fail, dtypes in ((False, [np.float32]), (True, [np.float32, np.float64])):
        seen.clear()
        s = make_sampler("gmm", {"components": 2}).fit(z)
        assert seen == dtypes
        assert s.means.dtype == s.covariances.dtype == np.float64 and s.sample(8, 0).shape == (8, 6)
