"""engine/workflows/generate.py: a sampler fitted on the z-points, n vectors drawn for a seed, decoded."""
from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def opened(tiny_model):
    from engine.workflows.open_model import open_model

    return open_model(tiny_model, labels=False)


def test_a_set_its_images_and_its_params(opened):
    from engine import __version__
    from engine.workflows.generate import generate

    gen = generate(opened, "normal", None, 7, seed=5)
    assert gen.z.shape == (7, 8) and gen.z.dtype == np.float32 and np.isfinite(gen.z).all()
    assert gen.images.shape == (7, 32, 32, 3) and gen.images.dtype == np.uint8
    np.testing.assert_array_equal(gen.images, opened.codec.decode(gen.z))
    assert gen.params == {"sampler": "normal", "parameters": gen.params["parameters"], "seed": 5, "n": 7,
                          "model_id": opened.model_id, "model_folder": str(opened.folder), "app_version": __version__}
    assert isinstance(gen.params["parameters"], dict) and isinstance(gen.diagnostics, dict)
    # a fitted normal: the draws sit in the cloud, not somewhere else
    z = opened.latents
    assert np.all(np.abs(gen.z.mean(0) - z.mean(0)) < 4 * z.std(0) + 1e-6)


def test_the_same_seed_regenerates_bit_identically(opened):
    from engine.workflows.generate import SamplerFits, generate

    fits = SamplerFits()
    a = generate(opened, "uniform", None, 9, seed=11, fits=fits)
    b = generate(opened, "uniform", None, 9, seed=11, fits=fits)  # the cached fit
    c = generate(opened, "uniform", None, 9, seed=11)  # a fresh fit
    for other in (b, c):
        assert other.z.tobytes() == a.z.tobytes() and other.images.tobytes() == a.images.tobytes()
        assert other.params == a.params
    d = generate(opened, "uniform", None, 9, seed=12, fits=fits)
    assert not np.array_equal(d.z, a.z) and d.params["seed"] == 12
    # the uniform baseline draws every component in [-range, range] (range 2 by default)
    assert a.params["parameters"] == {"range": 2.0} and np.abs(a.z).max() <= 2.0
    e = generate(opened, "uniform", {"range": 0.5}, 9, seed=11, fits=fits)
    assert np.abs(e.z).max() <= 0.5 and e.params["parameters"] == {"range": 0.5}


def test_without_decoding_and_an_empty_set(opened):
    from engine.workflows.generate import decoded_batches, generate

    gen = generate(opened, "normal", None, 4, seed=1, decode=False)
    assert gen.images is None and gen.z.shape == (4, 8)
    batches = list(decoded_batches(opened, gen.z))
    assert len(batches) == 1 and batches[0].shape == (4, 32, 32, 3)
    np.testing.assert_array_equal(batches[0], generate(opened, "normal", None, 4, seed=1).images)
    empty = generate(opened, "normal", None, 0, seed=1, decode=False)
    assert empty.z.shape == (0, 8) and empty.params["n"] == 0


def test_generate_from_folder_matches_generate(opened, tiny_model):
    from engine.workflows.generate import generate, generate_from_folder

    a = generate_from_folder(tiny_model, "normal", None, 5, seed=2)
    b = generate(opened, "normal", None, 5, seed=2)
    np.testing.assert_array_equal(a.z, b.z)
    np.testing.assert_array_equal(a.images, b.images)


def test_generate_to_folder_writes_the_set(tiny_model, tmp_path):
    import json

    from engine.workflows.generate import generate_to_folder

    res = generate_to_folder(tiny_model, "normal", None, 3, 4, tmp_path / "set")
    assert res.folder == tmp_path / "set"
    np.testing.assert_array_equal(np.load(res.folder / "z.npy", allow_pickle=False), res.generated.z)
    assert sorted(p.name for p in res.folder.glob("0*.png")) == ["0000.png", "0001.png", "0002.png"]
    params = json.loads((res.folder / "params.json").read_text())
    assert params["seed"] == 4 and params["n"] == 3 and params["sampler"] == "normal"


def test_refuses_a_bad_size_and_an_unknown_sampler(opened):
    from engine.errors import EngineError, SamplerError
    from engine.workflows.generate import MAX_GENERATE_VALUES, check_size, generate

    with pytest.raises(EngineError, match="must be ≥ 0") as info:
        generate(opened, "normal", None, -1)
    assert info.value.param == "n"
    too_many = MAX_GENERATE_VALUES // 8 + 1
    with pytest.raises(EngineError, match="split it over several runs") as info:
        check_size(too_many, 8)
    assert info.value.param == "n"
    check_size(too_many - 1, 8)
    with pytest.raises(SamplerError):
        generate(opened, "no-such-sampler", None, 2)
