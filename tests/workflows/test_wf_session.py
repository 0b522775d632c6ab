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


@pytest.fixture
def with_photos_and_directions(explored, tmp_path):
    """The explored state plus two photos (placed from files), a set of directions and two bookmarks."""
    from conftest import write_faces

    from engine import bookmarks
    from engine.explore_state import PhotoEntry
    from engine.lab.direction import Direction
    from engine.workflows.photo import PhotoOptions, place_photos

    s, view = explored
    files = write_faces(tmp_path / "photos", 2, seed=7)
    for r in place_photos(s.model, files, PhotoOptions(no_detect=True), keep_photo=True):
        s.add_photo(PhotoEntry(r, [], True, None))
    d = s.model.z_dim
    rng = np.random.default_rng(3)
    s.set_directions([Direction("pca 1", "pca", rng.normal(size=d) * 0.7, label="+Smiling 1.3", meta={"k": 1}),
                      Direction("my way", "attribute", rng.normal(size=d) * 1.9)])
    s.inspect_photo(1)
    s.set_edited(s.photos[1].z + 0.5)
    b1 = bookmarks.make(s, view_range=(-1.0, 2.0, -3.0, 4.5), levels=(1.0, 2.0), sampler=view.sampler,
                        workspace="explore")
    s.select(4, [4])
    b2 = bookmarks.make(s, "the fifth face", levels=(3.0,))
    s.set_bookmarks([b1, b2])
    for f in files:  # restoring never reads them: they are gone
        f.unlink()
    view.view_range = (-2.0, 2.5, -1.0, 1.5)
    return s, view, files


def test_photos_directions_and_bookmarks_come_back_field_by_field(with_photos_and_directions, tmp_path, monkeypatch):
    import builtins

    s, view, files = with_photos_and_directions
    path = save_session(tmp_path / "all.lfs-session.json", s, view)
    real_open = builtins.open
    opened_files = []

    def watch(file, *a, **kw):
        opened_files.append(str(file))
        return real_open(file, *a, **kw)

    monkeypatch.setattr(builtins, "open", watch)
    back = open_session(path)
    monkeypatch.undo()
    assert not any("photos" in f for f in opened_files), opened_files
    b = back.state
    assert back.view.view_range == (-2.0, 2.5, -1.0, 1.5)
    assert len(b.photos) == 2 and b.photo_current is None and b.current == 4  # the last selection: face 5
    for p, q in zip(s.photos, b.photos):
        r, t = p.result, q.result
        assert t.photo is None and t.source == r.source and t.face_index == r.face_index
        assert np.array_equal(t.z, r.z) and np.array_equal(t.aligned, r.aligned)  # the crop from its PNG
        assert np.array_equal(t.reconstruction, r.reconstruction)
        assert np.allclose(t.transform, r.transform) and t.framing == r.framing and t.photo_size == r.photo_size
        assert (t.mahalanobis, t.percentile, t.verdict, t.inside_chi2_3sigma) == pytest.approx(
            (r.mahalanobis, r.percentile, r.verdict, r.inside_chi2_3sigma)) or (
            t.verdict == r.verdict and abs(t.mahalanobis - r.mahalanobis) < 1e-6)
        assert [f for f, _ in t.nearest] == [f for f, _ in r.nearest] and t.mse == pytest.approx(r.mse, abs=1e-7)
        assert q.near_images is not None and len(q.near_images) == len(t.nearest)
    assert [(d.name, d.method, d.label, d.meta) for d in b.directions] == [
        (d.name, d.method, d.label, d.meta) for d in s.directions]
    for d, e in zip(s.directions, b.directions):
        assert np.allclose(d.vector, e.vector, atol=1e-6) and e.origin is not None
    assert b.bookmarks == s.bookmarks  # name, axes, view range, levels, selection, photo, workspace
    assert np.array_equal(b.bookmarks[0].edit, s.bookmarks[0].edit) and b.bookmarks[1].edit is None
    assert b.bookmarks[0].sampler == s.bookmarks[0].sampler and b.bookmarks[0].photo_current == 1


def test_a_photo_without_its_picture_comes_back_as_its_reconstruction(with_photos_and_directions, tmp_path):
    s, view, _files = with_photos_and_directions
    s.inspect_photo(0)
    view.photo_pictures = False
    path = save_session(tmp_path / "nopng.lfs-session.json", s, view)
    back = open_session(path)
    assert back.state.photo_current == 0 and np.array_equal(back.state.edited_z, s.edited_z)
    r = back.state.photos[0].result
    assert np.array_equal(r.aligned, r.reconstruction) and r.mse == pytest.approx(s.photos[0].result.mse)


def test_a_bookmark_restores_what_it_kept_fitted_to_the_state(with_photos_and_directions):
    from engine import bookmarks

    s, _view, _files = with_photos_and_directions
    b1, b2 = s.bookmarks
    assert b1.name == "z3 × PC2, photo 000002.png" and b2.name == "the fifth face"
    r = bookmarks.restore(b1, s)
    assert (r.axes, r.view_range, r.levels, r.photo_current, r.workspace) == (
        (("z", 3), ("pca", 1)), (-1.0, 2.0, -3.0, 4.5), [1.0, 2.0], 1, "explore")
    assert np.array_equal(r.edit, s.photos[1].z + 0.5)
    s.remove_photo(1)
    r = bookmarks.restore(b1, s)
    assert r.photo_current is None and r.edit is None  # the photo is gone: no edit of it
    assert bookmarks.restore(b2, s).current == 4 and bookmarks.restore(b2, s).selected == [4]


def test_undo_of_adding_and_deleting_a_bookmark(explored):
    from engine import bookmarks
    from engine.history import History

    s, _view = explored
    h = History(s)
    b = bookmarks.make(s)
    h.record("Add bookmark", lambda: s.set_bookmarks(s.bookmarks + [b]))
    h.record("Rename", lambda: s.set_bookmarks([b.renamed("mine")]))
    h.record("Delete", lambda: s.set_bookmarks([]))
    assert s.bookmarks == []
    h.undo()
    assert [x.name for x in s.bookmarks] == ["mine"]
    h.undo()
    assert s.bookmarks == [b]
    h.undo()
    assert s.bookmarks == []
    h.redo()
    assert s.bookmarks == [b]


@pytest.mark.parametrize("change, why", [
    (lambda r: r["photos"][0].update(png="aGVsbG8="), r"photos\[0\]\.png is not a readable \d+×\d+ PNG picture"),
    (lambda r: r["photos"][0].update(z=[0.5, 0.5]), r"photos\[0\]\.z holds 2 values"),
    (lambda r: [d.update(unit=[1.0, 2.0]) for d in r["directions"]["items"]],
     r"directions\.items\[0\]\.unit holds 2 values"),
])
def test_photo_and_direction_fields_of_another_size_are_one_line(with_photos_and_directions, tmp_path, change, why):
    import json

    s, view, _files = with_photos_and_directions
    path = save_session(tmp_path / "h.lfs-session.json", s, view)
    rec = json.loads(path.read_text())
    if "png" in why:  # a real PNG of the wrong size is refused the same way
        from engine.atomic_io import png_bytes
        from engine.session_file import encode_bytes

        change(rec)
        bad = tmp_path / "big.lfs-session.json"
        rec2 = json.loads(path.read_text())
        rec2["photos"][0]["png"] = encode_bytes(png_bytes(np.zeros((5, 7, 3), np.uint8)))
        bad.write_text(json.dumps(rec2))
        with pytest.raises(DataError, match=why):
            open_session(bad)
    else:
        change(rec)
    path.write_text(json.dumps(rec))
    with pytest.raises(DataError, match=why) as info:
        open_session(path)
    assert "\n" not in str(info.value) and "h.lfs-session.json" in str(info.value)


def test_the_cloud_selection_comes_back_bit_for_bit(explored, tmp_path):
    from engine.selection import CloudSelection

    s, view = explored
    n = len(s.latents)
    mask = np.zeros(n, bool)
    mask[::3] = True
    s.set_cloud_selection(CloudSelection(mask, "lasso on PC1 × PC2"))
    back = open_session(save_session(tmp_path / "c.lfs-session.json", s, view))
    assert np.array_equal(back.state.cloud_selection.mask, mask)
    assert back.state.cloud_selection.how == "lasso on PC1 × PC2"


def test_a_session_never_reads_a_file_its_model_folder_links_out_to(explored, tiny_model, tmp_path):
    import os

    from engine.errors import ModelFileError

    s, view = explored
    moved = tmp_path / "moved"
    shutil.copytree(tiny_model, moved)
    path = save_session(tmp_path / "l.lfs-session.json", s, view)
    outside = tmp_path / "someone-elses.safetensors"
    os.replace(moved / "weights.safetensors", outside)
    os.symlink(outside, moved / "weights.safetensors")
    with pytest.raises(ModelFileError, match="a link leading out of the model folder"):
        open_session(path, model_folder=moved)
