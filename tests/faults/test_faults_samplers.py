"""Sampler input: bad parameters are refused by name, degenerate clouds never crash, output is sane.

* every parameter of every registered sampler refuses non-numeric, NaN/Inf, out-of-range values and
  unknown choices with a SamplerError naming the sampler and the parameter;
* n = 0 gives an empty (0, z_dim) array; negative / fractional / boolean n are refused;
* very large n: the samplers draw 200,000 vectors at once, decoding runs in batches of ≤ 256 and an
  image set is written batch by batch (never all images in memory);
* a singular covariance (a dead latent component, collinear components, all points equal) gives
  finite vectors of the right shape for normal, gmm and pca-ellipse (and the others), with the dead
  component kept at its constant value; non-finite z-points are refused;
* a property test (hypothesis) over every sampler's parameter schema: finite, right shape,
  float32, reproducible per seed — or a SamplerError, never another exception.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import EngineError, SamplerError
from engine.samplers import SAMPLERS, make_sampler, parse_settings

from faults_support import TINY_ARCH

D = 6


def _cloud(n=300, d=D, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) * 0.5 + rng.normal(size=d)).astype(np.float32)


CLOUD = _cloud()
FAST = {"gmm": {"components": 3}, "pca-ellipse": {"components": 4}}  # small fits for tiny clouds


def _fit(name, cloud=CLOUD, **values):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn convergence chatter on degenerate clouds
        return make_sampler(name, {**FAST.get(name, {}), **values}).fit(cloud)


# ---------------------------------------------------------------------------------------------
# parameters


def _bad_texts(p) -> list[str]:
    if p.choices:
        return ["no-such-choice", ""]
    if p.type is bool:
        return ["maybe", "2"]
    bad = ["abc", "", "1e", "0x10"]
    if p.type is int:
        bad += ["1.5", "nan", "inf"]
    else:
        bad += ["nan", "inf", "-inf"]
    if p.minimum is not None:
        bad.append(repr(p.minimum - (1 if p.type is int else max(1e-3, abs(p.minimum) * 0.5 + 1e-3))))
    if p.maximum is not None:
        bad.append(repr(p.maximum + (1 if p.type is int else max(1e-3, abs(p.maximum) * 0.5))))
    return bad


PARAM_CASES = [(name, p.name, text) for name, cls in SAMPLERS.items() for p in cls.params for text in _bad_texts(p)]


@pytest.mark.parametrize("sampler, param, text", PARAM_CASES, ids=[f"{a}-{b}-{c!r}" for a, b, c in PARAM_CASES])
def test_bad_parameter_text_is_refused_naming_sampler_and_parameter(sampler, param, text):
    with pytest.raises(SamplerError) as info:
        parse_settings(sampler, [f"{param}={text}"])
    msg = str(info.value)
    assert sampler in msg and param in msg, msg


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_bad_programmatic_values_and_unknown_names_are_refused(name):
    cls = SAMPLERS[name]
    with pytest.raises(SamplerError, match="unknown parameter"):
        make_sampler(name, {"no_such_parameter": 1})
    with pytest.raises(SamplerError, match="unknown parameter"):
        parse_settings(name, ["no_such_parameter=1"])
    with pytest.raises(SamplerError, match="expected KEY=VALUE"):
        parse_settings(name, ["just-a-word"])
    for p in cls.params:
        if p.type in (int, float):
            for value in (True, "3", None, float("nan"), [1]):
                with pytest.raises(SamplerError, match=p.name):
                    make_sampler(name, {p.name: value})


def test_unknown_sampler_lists_the_available_ones():
    with pytest.raises(SamplerError, match="unknown sampler 'magic'; available: uniform"):
        make_sampler("magic")


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_n_zero_is_empty_and_bad_n_is_refused(name):
    s = _fit(name)
    z = s.sample(0, seed=1)
    assert z.shape == (0, D) and z.dtype == np.float32
    for bad in (-1, 1.5, True, "3", None):
        with pytest.raises(SamplerError, match="n must be a whole number"):
            s.sample(bad, seed=1)
    with pytest.raises(SamplerError, match="fit"):
        make_sampler(name, FAST.get(name)).sample(3)


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_very_large_n_is_finite_and_right_shaped(name):
    z = _fit(name).sample(200_000, seed=2)
    assert z.shape == (200_000, D) and z.dtype == np.float32 and np.isfinite(z).all()


def test_decoding_many_vectors_runs_in_bounded_batches(monkeypatch):
    import torch

    from engine.autoencoder import ArchitectureConfig, ConvAutoencoder
    from engine.encoding import decode_latents


    model = ConvAutoencoder(ArchitectureConfig(**TINY_ARCH))
    sizes = []
    real = model.decode

    def spy(z):
        sizes.append(len(z))
        return real(z)

    monkeypatch.setattr(model, "decode", spy)
    out = decode_latents(model, np.zeros((1000, 8), np.float32))
    assert out.shape == (1000, 32, 32, 3) and out.dtype == np.uint8
    assert max(sizes) <= 256 and sum(sizes) == 1000
    del torch


def test_an_image_set_is_written_batch_by_batch(tmp_path, monkeypatch):
    """write_image_set pulls one decoded batch at a time: the next batch is made only after the
    previous one's PNGs are on disk, so memory holds one batch, not the whole set."""
    from engine import atomic_io
    from engine.image_sets import write_image_set

    written = []
    real = atomic_io.write_staged

    def count(path, data):
        written.append(path)
        return real(path, data)

    monkeypatch.setattr(atomic_io, "write_staged", count)
    n, batch = 700, 100
    made_after = []

    def batches():
        for i in range(0, n, batch):
            made_after.append(len(written))
            yield np.full((min(batch, n - i), 4, 4, 3), i // batch, np.uint8)

    write_image_set(tmp_path / "set", np.zeros((n, 3)), {"sampler": "x"}, batches())
    assert made_after == [i * batch for i in range(7)]
    assert len(list((tmp_path / "set").glob("0*.png"))) == n
    with pytest.raises(EngineError, match="images for"):
        write_image_set(tmp_path / "short", np.zeros((5, 3)), {}, iter([np.zeros((3, 4, 4, 3), np.uint8)]))
    assert not (tmp_path / "short").exists()


# ---------------------------------------------------------------------------------------------
# singular covariances


def _dead(cloud=CLOUD, col=2, value=0.7):
    z = cloud.copy()
    z[:, col] = value
    return z


@pytest.mark.parametrize("name", ["normal", "gmm", "pca-ellipse", "kde", "box", "path", "uniform"])
def test_a_dead_latent_component_never_crashes_and_stays_dead(name):
    z = _fit(name, _dead()).sample(500, seed=3)
    assert z.shape == (500, D) and np.isfinite(z).all()
    if name != "uniform":  # uniform ignores the cloud by design
        live = np.median(np.delete(z, 2, axis=1).std(axis=0))
        assert abs(float(np.mean(z[:, 2])) - 0.7) < 1e-2 * max(live, 1e-6)
        assert z[:, 2].std() < 1e-2 * max(live, 1e-6)


@pytest.mark.parametrize("name", ["normal", "gmm", "pca-ellipse", "kde", "box", "path"])
@pytest.mark.parametrize("kind", ["collinear", "all-equal", "two-points", "tiny-scale", "many-dead"])
def test_rank_deficient_clouds_give_finite_vectors(name, kind):
    z = CLOUD.copy()
    if kind == "collinear":
        z[:, 3] = 2 * z[:, 1] - z[:, 0]
    elif kind == "all-equal":
        z = np.tile(z[:1], (len(z), 1))
    elif kind == "two-points":
        z = z[:2]
    elif kind == "tiny-scale":
        z = z * 1e-9
    else:
        z[:, 1:] = 0.0  # only one live component
    try:
        s = _fit(name, z, **({"components": 1} if name == "gmm" and kind == "two-points" else {}))
    except SamplerError as exc:  # a clear refusal is allowed, a crash is not
        assert name in str(exc)
        return
    out = s.sample(64, seed=4)
    assert out.shape == (64, D) and out.dtype == np.float32 and np.isfinite(out).all()
    if kind == "all-equal" and name != "uniform":
        assert np.allclose(out, z[0], atol=1e-3)


@pytest.mark.parametrize("name", list(SAMPLERS))
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_z_points_are_refused(name, bad):
    z = CLOUD.copy()
    z[17, 4] = bad
    with pytest.raises(SamplerError, match=r"row 17"):
        _fit(name, z)


@pytest.mark.parametrize("shape", [(0, D), (1, D), (D,), (3, 2, 2)])
def test_too_few_or_misshapen_z_points_are_refused(shape):
    with pytest.raises(SamplerError, match="at least 2 z-points"):
        make_sampler("normal").fit(np.zeros(shape, np.float32))


# ---------------------------------------------------------------------------------------------
# property test over every sampler's schema


def _value_strategy(p, sampler: str):
    if p.choices:
        choices = [c for c in p.choices if not (sampler == "kde" and c == "cv")]  # cv: slow grid search
        return st.sampled_from(choices)
    if p.type is bool:
        return st.booleans()
    lo = p.minimum if p.minimum is not None else -1e6
    hi = p.maximum if p.maximum is not None else 1e6
    if p.type is int:
        cap = {"components": 8, "steps": 50, "axis": 8, "start": 400, "end": 400}.get(p.name, 1000)
        return st.integers(int(math.ceil(lo)), int(max(math.ceil(lo), min(hi, cap))))
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


@st.composite
def sampler_runs(draw):
    name = draw(st.sampled_from(sorted(SAMPLERS)))
    cls = SAMPLERS[name]
    values = {p.name: draw(_value_strategy(p, name)) for p in cls.params if draw(st.booleans())}
    n = draw(st.integers(0, 40))
    seed = draw(st.integers(0, 2**32 - 1))
    cloud = draw(st.sampled_from(["plain", "dead"]))
    return name, values, n, seed, cloud


SMALL = _cloud(120, D, seed=5)
CLOUDS = {"plain": SMALL, "dead": _dead(SMALL, col=0, value=-1.25)}


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(sampler_runs())
def test_property_any_valid_parameters_give_finite_reproducible_vectors(run):
    name, values, n, seed, cloud = run
    z = CLOUDS[cloud]

    def draw_once():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return make_sampler(name, values).fit(z).sample(n, seed)

    try:
        a = draw_once()
    except SamplerError as exc:  # e.g. gmm components > points, path start beyond the cloud
        assert name in str(exc)
        return
    assert a.shape == (n, D) and a.dtype == np.float32
    assert np.isfinite(a).all()
    np.testing.assert_array_equal(draw_once(), a)  # same parameters and seed → same vectors
