"""Save → open a session (engine/workflows/session.py): the state comes back field by field; the model is matched
by content; only session files we wrote are replaced, and only when asked."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from engine.errors import DataError, EngineError
from engine.explore_state import ExplorationState, Sample
from engine.workflows.generate import generate
from engine.workflows.open_model import open_model
from engine.workflows.session import WindowView, open_session, save_session


@pytest.fixture
def explored(tiny_model):
    opened = open_model(tiny_model, statistics=True)
    s = ExplorationState()
    s.set_model(opened, opened.stats)
    made = generate(opened, "normal", {"scale": 0.9}, 6, seed=4)
    s.set_sample(Sample(made.z, made.images, made.params))
    s.select(2, [1, 2, 5])
    s.set_axes(("z", 3), ("pca", 1))
    s.set_path_vertices([(0.5, -1.0), (2.0, 3.0)])
    s.set_edited(made.z[2] + 0.25)
    view = WindowView("explore", b"\x00layout", b"\x01geometry", [2.0, 3.0],
                      {"name": "normal", "values": {"scale": 0.9}, "n": 6, "seed": 4, "where": None})
    return s, view


def _compare(a: ExplorationState, b: ExplorationState) -> None:
    assert np.array_equal(a.sample.z, b.sample.z)
    assert np.array_equal(a.sample.images, b.sample.images)  # decoded again: the same faces
    assert a.sample.params == b.sample.params
    for name in ("current", "selected", "axes", "colour_by", "path_vertices", "photo_current"):
        assert getattr(a, name) == getattr(b, name), name
    assert np.array_equal(a.edited_z, b.edited_z)
    assert str(a.model.folder) == str(b.model.folder) or a.model.model_id == b.model.model_id


def test_save_then_open_restores_every_field(explored, tmp_path):
    s, view = explored
    path = save_session(tmp_path / "one.lfs-session.json", s, view)
    back = open_session(path)
    _compare(s, back.state)
    assert back.view == view


def test_a_session_is_replaced_only_when_ours_and_asked(explored, tmp_path):
    s, view = explored
    path = save_session(tmp_path / "one.lfs-session.json", s, view)
    with pytest.raises(EngineError, match="already exists"):
        save_session(path, s, view)
    save_session(path, s, view, overwrite=True)
    foreign = tmp_path / "notes.lfs-session.json"
    foreign.write_text("my notes")
    with pytest.raises(EngineError, match="not a session file Latent Face Studio wrote"):
        save_session(foreign, s, view, overwrite=True)
    assert foreign.read_text() == "my notes"


def test_a_changed_model_is_refused_and_a_moved_one_repointed(explored, tiny_model, tmp_path):
    s, view = explored
    moved = tmp_path / "moved"
    shutil.copytree(tiny_model, moved)
    opened = open_model(moved, statistics=True)
    s2 = ExplorationState()
    s2.set_model(opened, opened.stats)
    s2.set_sample(s.sample)
    path = save_session(tmp_path / "m.lfs-session.json", s2, view)
    elsewhere = tmp_path / "elsewhere"
    moved.rename(elsewhere)
    with pytest.raises(DataError, match="its model folder .* is not there"):
        open_session(path)
    back = open_session(path, model_folder=elsewhere)  # re-pointed: the same content
    assert np.array_equal(back.state.sample.z, s.sample.z)
    z = np.load(elsewhere / "latents.npy")
    np.save(elsewhere / "latents.npy", z * 1.01)
    with pytest.raises(DataError, match="is not the one the session was saved with"):
        open_session(path, model_folder=elsewhere)


def test_gui_session_refuses_a_bad_file_in_one_line_before_any_window(tmp_path, capsys, monkeypatch):
    import gui.app
    from conftest import cli

    monkeypatch.setattr(gui.app, "run_gui", lambda **kw: pytest.fail("a window was started"))
    bad = tmp_path / "x.lfs-session.json"
    bad.write_text("[]")
    rc, out, err = cli(["gui", "--session", bad], capsys)
    assert rc == 2, err
    lines = [line for line in err.strip().splitlines() if line]
    assert len(lines) == 1 and "x.lfs-session.json" in lines[0] and "not a Latent Face Studio session" in lines[0]
