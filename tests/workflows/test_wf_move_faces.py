"""engine/workflows/move_faces.py and the direction films of movie.py: a whole set moved along one direction (an
axis, an attribute, a direction of the lab), its provenance in params.json, and films of one face or a grid."""
from __future__ import annotations

import json

import numpy as np
import pytest


@pytest.fixture(scope="module")
def opened(labelled_model):
    from engine.workflows.open_model import open_model

    return open_model(labelled_model, statistics=True, labels=True)


def test_every_face_moves_by_amount_times_the_direction(opened):
    from engine.workflows.move_faces import move_of, move_set

    z = opened.latents[:7].astype(np.float32)
    for kw, unit in (({"axis": "PC2"}, "σ"), ({"attribute": "Left", "method": "mean"}, "class means")):
        move = move_of(opened, **kw)
        res = move_set(opened.codec, z, {"seed": 3, "applied": [{"name": "earlier"}]}, move, -1.5)
        np.testing.assert_allclose(res.z, z + np.float32(-1.5) * move.vector.astype(np.float32), rtol=0, atol=1e-5)
        assert res.images.shape == (7, 32, 32, 3) and res.images.dtype == np.uint8
        assert res.params["seed"] == 3 and [a["name"] for a in res.params["applied"]] == ["earlier", move.name]
        last = res.params["applied"][-1]
        assert last["amount"] == -1.5 and unit in last["unit"]
        assert last["z_length_per_unit"] == pytest.approx(float(np.linalg.norm(move.vector)))
    pc2 = move_of(opened, axis=("pca", 1))
    sd = np.sqrt(pc2.vector @ np.asarray(opened.stats.cov, np.float64) @ pc2.vector) / np.linalg.norm(pc2.vector)
    assert np.linalg.norm(pc2.vector) == pytest.approx(sd, rel=1e-6)  # one unit = one σ of the cloud along PC2
    t = np.asarray(opened.stats.pca.transform(move_set(opened.codec, z, {}, pc2, 2.0, decode=False).z), float)
    t0 = np.asarray(opened.stats.pca.transform(z), float)
    np.testing.assert_allclose(t[:, 1] - t0[:, 1], 2 * sd, rtol=1e-3)  # along PC2 only
    np.testing.assert_allclose(t[:, 0], t0[:, 0], atol=1e-3 * sd)


def test_a_lab_direction_and_the_refusals(opened):
    from engine.errors import EngineError
    from engine.lab import Direction
    from engine.workflows.move_faces import move_of, move_set

    d = Direction("ica 3", "ica", np.linspace(-1, 1, opened.z_dim), label="+Left 0.5")
    move = move_of(opened, direction=d)
    res = move_set(opened.codec, opened.latents[:2], {}, move, 0.5, decode=False)
    assert res.images is None and res.params["applied"][0]["label"] == "+Left 0.5"
    assert res.params["applied"][0]["kind"] == "direction" and res.params["applied"][0]["method"] == "ica"
    with pytest.raises(EngineError):
        move_of(opened, axis="PC1", attribute="Left")
    with pytest.raises(EngineError) as info:
        move_set(opened.codec, opened.latents[:2], {}, move, float("nan"))
    assert info.value.param == "amount"


def test_a_saved_set_moved_as_a_whole(labelled_model, tmp_path):
    from engine.workflows.generate import generate_to_folder
    from engine.workflows.move_faces import move_set_folder

    src = generate_to_folder(labelled_model, "normal", None, 6, 1, tmp_path / "set").folder
    saved, move = move_set_folder(labelled_model, src, 1.25, tmp_path / "moved", attribute="Left", method="mean")
    assert saved.count == 6 and move.name == "Left"
    z0, z1 = np.load(src / "z.npy"), np.load(saved.folder / "z.npy")
    np.testing.assert_allclose(z1, z0 + np.float32(1.25) * move.vector.astype(np.float32), atol=1e-5)
    params = json.loads((saved.folder / "params.json").read_text())
    assert params["sampler"] == "normal" and params["seed"] == 1 and params["moved_from"] == str(src)
    (applied,) = params["applied"]
    assert (applied["kind"], applied["name"], applied["amount"], applied["method"]) == ("attribute", "Left", 1.25,
                                                                                        "mean")
    assert len(list(saved.folder.glob("[0-9]*.png"))) == 6 and (saved.folder / "grid.png").is_file()


def _gif_frames(path):
    from PIL import Image, ImageSequence

    with Image.open(path) as im:
        return [np.asarray(f.convert("RGB"), np.float64) for f in ImageSequence.Iterator(im)]


def test_a_film_of_one_face_along_an_attribute(opened, tmp_path):
    from engine.workflows.movie import MovieOptions, move_frames, movie_along, read_movie
    from engine.progress import CancelToken
    from engine.workflows.move_faces import move_of

    move = move_of(opened, attribute="Left", method="mean")
    face = opened.latents[4]
    o = MovieOptions(frames=6, fps=6, size=32, value_range="0:3")
    m = movie_along(opened, tmp_path / "f.gif", move, face, o)
    assert read_movie(m.path)[:3] == (6, 32, 32) and m.path_info["faces"] == 1
    np.testing.assert_allclose(m.path_info["amounts"], np.linspace(0, 3, 6))
    frames = list(move_frames(opened.codec, face[None, :], move, np.linspace(0, 3, 6), CancelToken(),
                              lambda p: None, size=32))
    np.testing.assert_array_equal(frames[0], opened.codec.decode(face[None, :])[0])  # amount 0: the face itself
    far = [np.abs(f.astype(float) - frames[0]).mean() for f in frames]
    assert all(b > a for a, b in zip(far, far[1:])), far  # each frame farther from the face than the last
    gif = _gif_frames(m.path)
    assert np.abs(gif[-1] - gif[0]).mean() > np.abs(gif[1] - gif[0]).mean()


def test_a_grid_film_of_a_whole_set(opened, tmp_path):
    from engine.workflows.movie import MovieOptions, grid_layout, movie_along, read_movie
    from engine.workflows.move_faces import move_of

    move = move_of(opened, axis="PC1")
    z = opened.latents[:5]
    m = movie_along(opened, tmp_path / "g.mp4", move, z, MovieOptions(frames=4, fps=4, size=100,
                                                                       value_range="-2:2"), columns=3)
    cols, tile, w, h = grid_layout(5, 100, 3)
    assert (cols, tile, w, h) == (3, 32, 100, 66) and (m.size, m.height) == (w, h)
    n, width, height, _fps = read_movie(m.path)
    assert (n, width, height) == (4, 100, 66) and m.path_info["faces"] == 5


def test_the_cli_moves_a_set_and_films_along_any_direction(labelled_model, tmp_path, capsys):
    import main
    from engine.workflows.movie import read_movie

    assert main.run(["generate", "--model", str(labelled_model), "--sampler", "normal", "--n", "4", "--seed", "2",
                     "--out", str(tmp_path / "set")]) == 0
    assert main.run(["edit", "--model", str(labelled_model), "--set", str(tmp_path / "set"), "--axis", "PC1",
                     "--amount", "-1.5", "--out", str(tmp_path / "moved")]) == 0
    assert "moved 4 faces" in capsys.readouterr().out
    applied = json.loads((tmp_path / "moved" / "params.json").read_text())["applied"]
    assert [(a["kind"], a["name"], a["amount"]) for a in applied] == [("axis", "PC1", -1.5)]
    assert main.run(["edit", "--model", str(labelled_model), "--set", str(tmp_path / "set"), "--axis", "PC1",
                     "--amount", "-1:1:3", "--out", str(tmp_path / "no")]) != 0  # one amount for a set
    assert not (tmp_path / "no").exists()
    assert main.run(["movie", "--model", str(labelled_model), "--attribute", "Left", "--face", "3", "--range", "-1:2",
                     "--frames", "5", "--size", "32", "--out", str(tmp_path / "face.gif")]) == 0
    assert read_movie(tmp_path / "face.gif")[:3] == (5, 32, 32)
    assert main.run(["movie", "--model", str(labelled_model), "--axis", "PC2", "--set", str(tmp_path / "set"),
                     "--columns", "2", "--frames", "3", "--size", "64", "--out", str(tmp_path / "grid.gif")]) == 0
    n, w, h, _ = read_movie(tmp_path / "grid.gif")
    assert (n, w, h) == (3, 62, 62)  # 2×2 faces of 30 px (even) and a 2 px gap
    assert main.run(["movie", "--model", str(labelled_model), "--axis", "PC1", "--attribute", "Left",
                     "--out", str(tmp_path / "two.gif")]) != 0  # one direction at a time
    assert not (tmp_path / "two.gif").exists()
