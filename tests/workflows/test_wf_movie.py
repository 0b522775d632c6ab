"""engine/workflows/movie.py: movies from z arrays (the GUI) and from the CLI's row/file/axis words."""
from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def opened(tiny_model):
    from engine.workflows.open_model import open_model

    return open_model(tiny_model, statistics=True, labels=False)


def test_a_path_movie_from_two_z_vectors(opened, tmp_path):
    from engine.workflows.movie import MovieOptions, movie_of_path, read_movie

    z = opened.require_latents()
    m = movie_of_path(opened, tmp_path / "p.gif", z[0], z[5], MovieOptions(frames=5, fps=5, size=32))
    assert (m.frames, m.size, m.fps) == (5, 32, 5.0) and m.path == tmp_path / "p.gif"
    assert read_movie(m.path)[:3] == (5, 32, 32)
    assert len(m.path_info["t"]) == 5 and m.path_info["t"][0] == 0 and m.path_info["t"][-1] == 1
    assert not list(tmp_path.glob("*.npy"))  # no z-files in between


def test_the_same_path_from_the_cli_words(opened, tiny_model, tmp_path):
    from engine.workflows.movie import MovieOptions, make_movie, movie_of_path

    z = opened.require_latents()
    a = movie_of_path(opened, tmp_path / "a.gif", z[0], z[3], MovieOptions(frames=4, size=32, method="spherical"))
    b = make_movie(tiny_model, tmp_path / "b.gif", frm="0", to="3", frames=4, size=32, method="spherical")
    np.testing.assert_allclose(a.path_info["mahalanobis"], b.path_info["mahalanobis"], rtol=1e-5)


def test_a_sweep_and_the_refusals(opened, tmp_path):
    from engine.errors import EngineError
    from engine.workflows.movie import MovieOptions, movie_of_path, movie_of_sweep, read_movie

    m = movie_of_sweep(opened, tmp_path / "s.gif", "PC1", MovieOptions(frames=3, size=32, value_range="-1:1"))
    assert read_movie(m.path)[:3] == (3, 32, 32)
    far = np.full(opened.z_dim, 1e6, np.float32)
    with pytest.raises(EngineError, match="^the end face: lies"):
        movie_of_path(opened, tmp_path / "far.gif", opened.latents[0], far, MovieOptions(frames=3, size=32))
    with pytest.raises(EngineError) as info:
        movie_of_sweep(opened, tmp_path / "odd.mp4", "PC1", MovieOptions(frames=3, size=33))
    assert info.value.param == "size" and not (tmp_path / "odd.mp4").exists()
