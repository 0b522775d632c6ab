"""Samplers: schema, reproducibility, the pca-ellipse conditions and distribution, known parameters."""
import numpy as np
import pytest

from engine.errors import SamplerError
from engine.samplers import SAMPLERS, make_sampler, parse_settings
from engine.samplers.pca_ellipse import ellipse_values, ellipse_values_loop, pair_conditions_hold

NAMES = ["uniform", "box", "pca-ellipse", "normal", "gmm", "kde", "path"]


@pytest.fixture(scope="module")
def cloud():
    rng = np.random.default_rng(0)
    d = 10
    a = rng.normal(size=(d, d)) * 0.4 + np.eye(d)
    return (rng.standard_normal((4000, d)) @ a + rng.uniform(-1, 1, d)).astype(np.float32)


def test_registry_names_and_schema():
    assert list(SAMPLERS) == NAMES
    for cls in SAMPLERS.values():
        assert cls.summary
        for p in cls.params:
            assert p.help and p.type in (int, float, str, bool)
            p.check(p.default, cls.name)  # every default is valid


@pytest.mark.parametrize("name", NAMES)
def test_every_sampler_is_reproducible_for_a_seed(name, cloud):
    s = make_sampler(name, {"components": 3} if name == "gmm" else None).fit(cloud)
    a, b = s.sample(64, seed=5), s.sample(64, seed=5)
    assert a.shape == (64, 10) and a.dtype == np.float32 and np.isfinite(a).all()
    np.testing.assert_array_equal(a, b)
    if name != "path":
        assert not np.array_equal(a, s.sample(64, seed=6))
    assert s.sample(0).shape == (0, 10)


@pytest.mark.parametrize("name", NAMES)
def test_dead_component_does_not_crash(name, cloud):
    z = cloud.copy()
    z[:, 4] = 0.25
    s = make_sampler(name, {"components": 2} if name == "gmm" else None).fit(z)
    out = s.sample(32, seed=0)
    assert np.isfinite(out).all()
    if name not in ("uniform",):
        assert np.abs(out[:, 4] - 0.25).max() < 0.05


def test_bad_parameters_are_refused_with_the_allowed_ones():
    with pytest.raises(SamplerError, match="allowed: components, level, fact, residual"):
        make_sampler("pca-ellipse", {"bogus": 1})
    with pytest.raises(SamplerError, match="above the maximum"):
        parse_settings("pca-ellipse", ["fact=99"])
    with pytest.raises(SamplerError, match="not allowed.*centre\\|gaussian"):
        parse_settings("pca-ellipse", ["residual=zero"])
    with pytest.raises(SamplerError, match="not a valid int"):
        parse_settings("gmm", ["components=2.5"])
    with pytest.raises(SamplerError, match="unknown sampler 'nope'; available: uniform, box"):
        make_sampler("nope")
    assert parse_settings("kde", ["rule=cv", "bandwidth=0.5"]) == {"rule": "cv", "bandwidth": 0.5}


def test_pca_ellipse_never_violates_a_pair_condition(cloud):
    s = make_sampler("pca-ellipse", {"components": 8, "fact": 0.9}).fit(cloud)
    z = s.sample(3000, seed=1)
    v = s.pca.transform(z)[:, :8]
    u = v / s.half_axes
    assert pair_conditions_hold(u, tol=1e-5).all()
    # brute force over all pairs, as the blog checks them
    u2 = u**2
    worst = max((u2[:, i] + u2[:, j]).max() for i in range(8) for j in range(i + 1, 8))
    assert worst <= 1 + 1e-5
    np.testing.assert_allclose(s.pca.transform(z)[:, 8:], 0, atol=1e-4)  # residual=centre
    d = s.diagnostics()
    assert d["components_used"] == 8 and len(d["spread_per_axis"]) == 10
    assert 0 < d["mean_spread_drawn"] < d["uniform_spread_without_pair_conditions"]


def test_pca_ellipse_matches_the_blog_loop_in_distribution():
    from scipy.stats import ks_2samp

    k = 20
    fast = ellipse_values(4000, k, np.random.default_rng(1))
    loop = ellipse_values_loop(600, k, np.random.default_rng(2))
    assert pair_conditions_hold(fast).all() and pair_conditions_hold(loop).all()
    # per-vector statistics (independent samples; the |u| of one vector share its running maximum)
    for stat in (lambda u: np.abs(u[:, 0]), lambda u: np.abs(u[:, 7]), lambda u: np.abs(u).max(axis=1),
                 lambda u: np.abs(u).mean(axis=1)):
        assert ks_2samp(stat(fast), stat(loop)).pvalue > 0.01
    # each component is exchangeable: the first and the last behave alike (random order)
    assert ks_2samp(np.abs(fast[:, 0]), np.abs(fast[:, -1])).pvalue > 0.01
    # a fixed order (no permutation) would differ: component 0 would be uniform in [-1, 1]
    assert np.abs(fast[:, 0]).mean() < 0.45


def test_pca_ellipse_residual_gaussian_keeps_the_dropped_spread(cloud):
    s = make_sampler("pca-ellipse", {"components": 3, "residual": "gaussian"}).fit(cloud)
    z = s.sample(4000, seed=0)
    spread = np.array(s.diagnostics()["spread_per_axis"])
    np.testing.assert_allclose(spread[3:], 1.0, atol=0.06)
    assert (spread[:3] < 1.0).all()


def test_box_stays_in_its_intervals(cloud):
    s = make_sampler("box", {"fact": 0.5}).fit(cloud)
    z = s.sample(2000, seed=0)
    lo, hi = s.bounds
    assert (z >= lo - 1e-6).all() and (z <= hi + 1e-6).all()
    np.testing.assert_allclose(z.min(axis=0), lo, atol=0.05 * (hi - lo).max())
    np.testing.assert_allclose(s.half_widths, 1.1774 * cloud.std(axis=0), rtol=0.1)  # HWHM of a Gaussian


def test_normal_recovers_the_covariance_and_truncates(cloud):
    s = make_sampler("normal").fit(cloud)
    z = s.sample(20000, seed=0)
    np.testing.assert_allclose(np.cov(z, rowvar=False), np.cov(cloud, rowvar=False), atol=0.08)
    np.testing.assert_allclose(z.mean(axis=0), cloud.mean(axis=0), atol=0.05)
    hot = make_sampler("normal", {"scale": 0.5}).fit(cloud).sample(20000, seed=0)
    np.testing.assert_allclose(np.cov(hot, rowvar=False), 0.25 * np.cov(cloud, rowvar=False), atol=0.03)
    from engine.latent_stats import chi2_threshold

    t = make_sampler("normal", {"truncate": 1.0}).fit(cloud)
    zt = t.sample(5000, seed=0)
    d2 = np.einsum("ij,ij->i", (zt - t.mean) @ t.whiten, (zt - t.mean) @ t.whiten)
    assert d2.max() <= chi2_threshold(1.0, 10) * (1 + 1e-6)


def test_gmm_fits_a_three_cluster_toy():
    rng = np.random.default_rng(0)
    centres = np.array([[-6.0, 0, 0], [6.0, 0, 0], [0, 8.0, 0]])
    z = np.concatenate([c + rng.normal(scale=0.5, size=(400, 3)) for c in centres]).astype(np.float32)
    s = make_sampler("gmm", {"components": 3}).fit(z)
    found = s.means[np.argsort(s.means[:, 0] + 0.01 * s.means[:, 1])]
    np.testing.assert_allclose(found, centres[[0, 2, 1]], atol=0.15)
    out = s.sample(3000, seed=0)
    nearest = np.argmin(((out[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
    np.testing.assert_allclose(np.bincount(nearest) / 3000, 1 / 3, atol=0.04)


def test_kde_bandwidth_rules(cloud):
    scott = make_sampler("kde").fit(cloud)
    assert scott.selected_bandwidth == pytest.approx(4000 ** (-1 / 14))
    narrow = make_sampler("kde", {"bandwidth": 0.01}).fit(cloud)
    z = narrow.sample(50, seed=0)
    nn = np.min(((z[:, None, :] - cloud[None]) ** 2).sum(-1), axis=1)
    assert np.sqrt(nn).max() < 0.2  # a tiny bandwidth copies training points
    cv = make_sampler("kde", {"rule": "cv"}).fit(cloud[:600])
    assert 0.1 <= cv.selected_bandwidth <= 1.5


def test_path_endpoints(cloud):
    p = make_sampler("path", {"mode": "points", "start": 3, "end": 7}).fit(cloud)
    z = p.sample(5)
    np.testing.assert_allclose(z[0], cloud[3], atol=1e-6)
    np.testing.assert_allclose(z[-1], cloud[7], atol=1e-6)
    np.testing.assert_allclose(z[2], (cloud[3] + cloud[7]) / 2, atol=1e-5)
    a = make_sampler("path", {"axis": 0, "extent": 2.0}).fit(cloud)
    za = a.sample(9)
    np.testing.assert_allclose(za[4], cloud.mean(axis=0), atol=1e-4)  # through the centre
    pca_coord = (za - cloud.mean(axis=0)) @ np.linalg.eigh(np.cov(cloud, rowvar=False))[1][:, -1]
    np.testing.assert_allclose(np.abs(pca_coord[[0, -1]]), 2 * np.sqrt(np.linalg.eigvalsh(np.cov(cloud, rowvar=False))[-1]), rtol=1e-3)
    stepped = make_sampler("path", {"steps": 3}).fit(cloud).sample(6)
    np.testing.assert_allclose(stepped[:3], stepped[3:])
    with pytest.raises(SamplerError, match="out of range"):
        make_sampler("path", {"mode": "points", "end": 99999}).fit(cloud)
    p.set_endpoints(np.zeros(10), np.ones(10))
    np.testing.assert_allclose(p.sample(3)[1], 0.5)


# ---------------------------------------------------------------------------------------------
# issue 13: a sampler is one file; it declares what the rest of the program asks of it


def test_samplers_declare_evaluate_defaults_sweeps_and_minimum_points():
    from engine.evaluation import DEFAULT_SAMPLERS
    from engine.samplers import compared_samplers, default_sweep_sampler

    assert DEFAULT_SAMPLERS == compared_samplers() == tuple(NAMES)
    assert default_sweep_sampler() == "pca-ellipse"
    assert {n: c.preferred_sweep() for n, c in SAMPLERS.items()} == {
        "uniform": "range", "box": "fact", "pca-ellipse": "fact", "normal": "scale", "gmm": "scale",
        "kde": "bandwidth", "path": "axis"}
    for cls in SAMPLERS.values():
        assert sum(p.sweep for p in cls.params) <= 1, cls.name
        assert all(p.type in (int, float) and not p.choices for p in cls.sweep_params())
    # samplers that estimate a covariance or PCA need more z-points than dimensions
    assert {n for n, c in SAMPLERS.items() if c.min_points(256) == 257} == {"pca-ellipse", "normal", "gmm"}
    assert {c.min_points(256) for n, c in SAMPLERS.items() if n not in ("pca-ellipse", "normal", "gmm")} == {10}


def test_one_new_file_adds_a_sampler_everywhere(tmp_path, monkeypatch):
    import sys
    import textwrap

    import engine.samplers as pkg

    (tmp_path / "zz_shift.py").write_text(textwrap.dedent('''
        from engine.samplers.base import Param, Sampler

        class ShiftSampler(Sampler):
            name = "shift"
            summary = "test only: a shifted Gaussian"
            order = 35
            fits_covariance = True
            params = (Param("by", float, 1.0, "shift", minimum=0.0, maximum=5.0, sweep=True),
                      Param("mode", str, "a", "a choice", choices=("a", "b")))

            def _fit(self, latents):
                self.mean = latents.mean(axis=0)

            def _sample(self, n, rng):
                return self.mean + self.values["by"] + rng.standard_normal((n, self.z_dim))
    '''))
    monkeypatch.setattr(pkg, "__path__", [*pkg.__path__, str(tmp_path)])
    try:
        registry = pkg._discover()
    finally:
        sys.modules.pop("engine.samplers.zz_shift", None)
    assert list(registry) == NAMES[:3] + ["shift"] + NAMES[3:]  # placed by its declared order
    cls = registry["shift"]
    assert cls.compared and cls.preferred_sweep() == "by" and [p.name for p in cls.sweep_params()] == ["by"]
    assert cls.min_points(20) == 21


def test_a_subclass_outside_the_package_is_not_registered():
    from engine.samplers import Sampler

    class Elsewhere(Sampler):
        name = "elsewhere"
        summary = "test only"

    assert "elsewhere" not in SAMPLERS and Elsewhere.name == "elsewhere"


@pytest.mark.parametrize("name", NAMES)
def test_diagnostics_before_fit_are_empty_not_an_attribute_error(name):
    assert make_sampler(name).diagnostics() == {}


def test_fit_failures_are_sampler_errors_naming_the_sampler_and_the_points(cloud):
    from engine.samplers import Sampler

    class Broken(Sampler):
        name = "broken"
        summary = "test only"

        def _fit(self, latents):
            raise np.linalg.LinAlgError("Singular matrix")

    with pytest.raises(SamplerError, match=r"the broken sampler cannot be fitted on these 5 z-points "
                                           r"\(LinAlgError: Singular matrix\)"):
        Broken().fit(np.ones((5, 3)))
    # a real one: scikit-learn refuses 3-fold cross-validation on 2 points (a ValueError)
    s = make_sampler("kde", {"rule": "cv"})
    with pytest.raises(SamplerError, match="the kde sampler cannot be fitted on these 2 z-points"):
        s.fit(cloud[:2])
    assert not s.fitted
    with pytest.raises(SamplerError, match="fit"):
        s.sample(3)
