"""Latent statistics recover the known parameters of synthetic Gaussian clouds."""
import math

import numpy as np
import pytest

from engine import latent_stats as ls
from engine.errors import DataError


def correlated_cloud(n=20000, d=6, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-1, 1, d)
    sigmas = rng.uniform(0.5, 1.5, d)
    corr = np.eye(d)
    corr[0, 1] = corr[1, 0] = 0.8
    corr[2, 3] = corr[3, 2] = -0.5
    cov = corr * np.outer(sigmas, sigmas)
    z = rng.multivariate_normal(centres, cov, size=n).astype(np.float32)
    return z, centres, sigmas, corr, cov


@pytest.fixture(scope="module")
def cloud():
    z, centres, sigmas, corr, cov = correlated_cloud()
    return z, centres, sigmas, corr, cov, ls.compute_stats(z)


def test_recovers_centres_sigmas_and_half_widths(cloud):
    z, centres, sigmas, corr, cov, st = cloud
    assert st.n == 20000 and st.z_dim == 6 and st.interval == 0.25
    np.testing.assert_allclose(st.centres, centres, atol=0.05)
    np.testing.assert_allclose(st.sigmas, sigmas, rtol=0.05)
    np.testing.assert_allclose(st.half_widths, sigmas * math.sqrt(2 * math.log(2)), rtol=0.05)
    assert (st.fit_quality > 0.98).all()
    np.testing.assert_allclose(st.mean, centres, atol=0.04)
    np.testing.assert_allclose(st.std, sigmas, rtol=0.03)


def test_gaussian_fit_matches_scipy_curve_fit(cloud):
    from scipy.optimize import curve_fit

    z, *_, st = cloud
    for i in range(3):
        h = st.histogram(i)
        assert h.counts.sum() == len(z) and len(h.edges) == len(h.counts) + 1
        np.testing.assert_allclose(np.diff(h.edges), 0.25)
        p, _ = curve_fit(ls.gaussian, h.centres, h.counts, p0=(h.counts.max(), z[:, i].mean(), z[:, i].std()))
        np.testing.assert_allclose([st.amplitudes[i], st.centres[i], st.sigmas[i]], p, rtol=1e-4)


def test_correlation_covariance_and_pca(cloud):
    from sklearn.decomposition import PCA

    z, centres, sigmas, corr, cov, st = cloud
    np.testing.assert_allclose(st.corr, corr, atol=0.03)
    np.testing.assert_allclose(st.cov, cov, atol=0.05)
    np.testing.assert_allclose(st.pca.explained_variance, np.sort(np.linalg.eigvalsh(cov))[::-1], rtol=0.05)
    assert st.pca.explained_variance_ratio.sum() == pytest.approx(1.0)
    ref = PCA(svd_solver="full").fit(z.astype(np.float64))
    np.testing.assert_allclose(st.pca.components @ ref.components_.T, np.eye(6), atol=1e-4)  # same axes and signs
    v = st.pca.transform(z[:10])
    np.testing.assert_allclose(st.pca.inverse_transform(v), z[:10], atol=1e-4)
    assert st.pca.inverse_transform(v[:, :2]).shape == (10, 6)


def test_normality_check_on_a_gaussian_cloud(cloud):
    *_, st = cloud
    np.testing.assert_allclose(st.normality.expected, [0.6827, 0.9545, 0.9973], atol=1e-4)
    np.testing.assert_allclose(st.normality.observed, st.normality.expected, atol=0.015)
    assert st.normality.mahalanobis_sq.shape == (20000,)
    assert st.normality.mahalanobis_sq.mean() == pytest.approx(6, rel=0.03)  # E[χ²(6)] = 6


def test_a_non_gaussian_cloud_fails_the_normality_check():
    rng = np.random.default_rng(3)
    z = rng.standard_t(3, (5000, 8))  # heavy tails: too many points beyond 3σ, too many in the core
    st = ls.compute_stats(z)
    assert st.normality.expected[2] - st.normality.observed[2] > 0.02
    assert st.normality.observed[0] - st.normality.expected[0] > 0.05


def test_pair_moments_projection_and_ellipse_coverage(cloud):
    z, *_, st = cloud
    for axes in [(("z", 0), ("z", 1)), (("pca", 0), ("pca", 2)), (("z", 2), ("pca", 1))]:
        xy = ls.project(z, st, axes)
        m, c = ls.pair_moments(st, axes)
        np.testing.assert_allclose(xy.mean(axis=0), m, atol=1e-3)
        np.testing.assert_allclose(np.cov(xy.T), c, rtol=1e-3, atol=1e-4)
        for level in (1, 2, 3):
            assert ls.fraction_inside_ellipse(xy, m, c, level) == pytest.approx(1 - math.exp(-level**2 / 2), abs=0.015)
            assert ls.fraction_inside_ellipse(xy, m, c, level, "chi2") == pytest.approx(math.erf(level / math.sqrt(2)), abs=0.015)
    m, c = ls.pair_moments(st, (("pca", 0), ("pca", 1)))
    assert abs(c[0, 1]) < 1e-9 and c[0, 0] >= c[1, 1]


def test_pair_projector_matches_project(cloud):
    z, *_, st = cloud
    proj = ls.PairProjector(z, st, pca_axes=3)
    for axes in [(("pca", 0), ("pca", 2)), (("z", 1), ("pca", 1)), (("pca", 4), ("z", 0))]:  # the last: not cached
        np.testing.assert_allclose(proj.project(axes), ls.project(z, st, axes), atol=1e-4)


def test_confidence_ellipse_is_closed_and_at_the_right_distance():
    cov = np.array([[4.0, 1.2], [1.2, 1.0]])
    e = ls.confidence_ellipse([1.0, -2.0], cov, 2.0, points=101)
    assert e.shape == (101, 2) and np.array_equal(e[0], e[-1])
    y = e - [1.0, -2.0]
    d2 = np.einsum("ij,jk,ik->i", y, np.linalg.inv(cov), y)
    np.testing.assert_allclose(d2, 4.0, rtol=1e-9)
    e2 = ls.confidence_ellipse([0, 0], cov, 2.0, "chi2")
    d2 = np.einsum("ij,jk,ik->i", e2, np.linalg.inv(cov), e2)
    np.testing.assert_allclose(d2, -2 * math.log(1 - math.erf(2 / math.sqrt(2))), rtol=1e-9)
    with pytest.raises(DataError):
        ls.confidence_ellipse([0, 0], cov, 2.0, "bogus")


def test_density_grid_and_contours(cloud):
    z, *_, st = cloud
    xy = ls.project(z, st, (("z", 0), ("z", 1)))
    g = ls.density_grid(xy, bins=80)
    assert g.density.shape == (80, 80) and len(g.x_edges) == 81
    area = np.diff(g.x_edges)[0] * np.diff(g.y_edges)[0]
    assert g.density.sum() * area == pytest.approx(1.0, abs=0.02)
    contours = ls.density_contours(g, n_levels=4)
    assert len(contours) == 4 and all(lines for _, lines in contours)
    levels = [lv for lv, _ in contours]
    assert levels == sorted(levels)
    inner = contours[-1][1][0]
    assert inner.shape[1] == 2
    # the innermost contour surrounds the peak, near the pair's mean
    np.testing.assert_allclose(inner.mean(axis=0), xy.mean(axis=0), atol=0.3)


def test_cache_is_written_reused_and_keyed(tmp_path, cloud, monkeypatch):
    monkeypatch.setenv("LFS_CACHE_DIR", str(tmp_path / "cache"))
    z = cloud[0][:3000]
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    st = ls.load_or_compute_stats(model_dir, z)
    assert not list(model_dir.iterdir())  # never written into the model folder
    (path,) = (tmp_path / "cache" / "stats").glob("*.npz")
    with np.load(path, allow_pickle=False) as f:  # plain arrays only
        assert "cov" in f.files
    again = ls.load_or_compute_stats(tmp_path, z)
    np.testing.assert_array_equal(again.cov, st.cov)
    assert again.histogram(2).counts.sum() == 3000
    other = ls.load_or_compute_stats(tmp_path, z, interval=0.5)
    assert other.interval == 0.5 and other.hist_bins[0] < st.hist_bins[0]
    path.write_bytes(b"garbage")
    assert ls.load_or_compute_stats(tmp_path, z).n == 3000


def test_dead_component_and_bad_input():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(500, 4))
    z[:, 2] = 0.7
    st = ls.compute_stats(z)
    assert st.sigmas[2] == 0 and st.centres[2] == pytest.approx(0.7) and st.fit_quality[2] == 0
    assert np.isfinite(st.normality.mahalanobis_sq).all()
    with pytest.raises(DataError):
        ls.compute_stats(np.zeros((1, 4)))
    with pytest.raises(DataError):
        ls.compute_stats(z, interval=0)
    with pytest.raises(DataError):
        ls.project(z, st, (("z", 9), ("z", 0)))


def test_one_whitener_serves_samplers_probes_and_evaluate():
    from engine.attributes import Whitener as ProbeWhitener
    from engine.evaluation import LatentReference

    rng = np.random.default_rng(3)
    z = rng.normal(size=(2000, 6)) @ rng.normal(size=(6, 6)) + rng.normal(size=6)
    wh = ls.Whitener(z)
    u = wh.transform(z)
    np.testing.assert_allclose(np.cov(u, rowvar=False), np.eye(6), atol=1e-8)
    np.testing.assert_allclose(wh.colour(u), z, atol=1e-8)
    np.testing.assert_allclose(wh.mahalanobis_sq(z), ls.mahalanobis_sq(z, wh.mean, wh.W), rtol=1e-10)
    assert ProbeWhitener is ls.Whitener
    ref = LatentReference(z[:1500], z[1500:])
    np.testing.assert_allclose(ref.mahalanobis_sq(z[:5]), ls.Whitener(z[:1500].astype(np.float32)).mahalanobis_sq(z[:5]), rtol=1e-9)
    # from an eigen-decomposition at hand (the statistics' PCA): the same whitening, up to eigenvector signs
    pca = ls.pca_of(z)
    W, R = ls.whitening_from_eigen(pca.explained_variance, pca.components.T)
    np.testing.assert_allclose(W @ W.T, wh.W @ wh.W.T, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(R.T @ R, wh.cov, rtol=1e-6, atol=1e-10)
    # a dead component is floored, never singular
    z[:, 2] = 0.5
    assert np.isfinite(ls.Whitener(z).mahalanobis_sq(z)).all()


def test_move_along_pcs_and_nearest_points():
    rng = np.random.default_rng(3)
    z = rng.normal(size=(500, 6)) * np.array([5, 3, 2, 1, 0.5, 0.2])
    st = ls.compute_stats(z)
    sig = ls.pca_sigmas(st)
    moved = ls.move_along_pcs(z[0], st, [1.5, -2.0])
    expect = z[0] + 1.5 * sig[0] * st.pca.components[0] - 2.0 * sig[1] * st.pca.components[1]
    np.testing.assert_allclose(moved, expect, atol=1e-9)
    np.testing.assert_allclose(ls.move_along_pcs(z[0], st, []), z[0])
    idx, dist = ls.nearest_points(z, z[7] + 1e-3, 3)
    assert idx[0] == 7 and len(idx) == 3 and np.all(np.diff(dist) >= 0)
    brute = np.sort(np.linalg.norm(z - (z[7] + 1e-3), axis=1))[:3]
    np.testing.assert_allclose(dist, brute, rtol=1e-9)


@pytest.mark.parametrize("dof", [1, 2, 3, 16, 256, 4096])
def test_chi2_pdf_is_scipys_density(dof):
    """The PCA panel's χ² curve: the same density as scipy.stats.chi2.pdf, without importing scipy.stats."""
    from scipy.stats import chi2

    from engine.latent_stats import chi2_pdf

    xs = np.concatenate([[-1.0, 0.0], np.linspace(1e-3, dof + 10 * np.sqrt(2 * dof) + 10, 400)])
    np.testing.assert_allclose(chi2_pdf(xs, dof), chi2.pdf(xs, dof), rtol=1e-9, atol=1e-300)
