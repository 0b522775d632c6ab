"""File ▸ Save session / Open session in the window: a second window opened on the saved file shows the same
state, field by field (issue 28, part 1)."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")


def test_save_then_open_in_a_fresh_window_restores_the_state(window, make_window, tiny_model, qtbot, tmp_path):
    w, s = window, window.session
    w.sampler_panel.seed.setValue(5)
    w.sampler_panel.count.setValue(12)
    w.generate_action.trigger()
    qtbot.waitUntil(lambda: s.sample is not None and len(s.sample.z) == 12 and not w.bridge.busy(), timeout=30000)
    s.select(3, [1, 3])
    s.set_axes(("z", 2), ("pca", 1))
    s.set_path_vertices([(0.5, 0.25), (1.0, -2.0)])
    w.pair_plot.set_levels([1.5, 2.5])
    w.switch_workspace("explore")
    path = tmp_path / "mine.lfs-session.json"
    w.window_actions.save_session(path)
    qtbot.waitUntil(lambda: path.exists() and not w.bridge.busy(), timeout=30000)
    assert w.window_actions.recent_sessions()[0] == str(path)

    w2 = make_window(tiny_model)
    qtbot.waitUntil(lambda: w2.panels_ready() and not w2.bridge.busy(), timeout=60000)
    w2.window_actions.open_session(path)
    qtbot.waitUntil(lambda: not w2.bridge.busy() and w2.session.sample is not None
                    and len(w2.session.sample.z) == 12, timeout=60000)
    a, b = s.state, w2.session.state
    assert np.array_equal(a.sample.z, b.sample.z) and np.array_equal(a.sample.images, b.sample.images)
    assert a.sample.params == b.sample.params
    for name in ("current", "selected", "axes", "colour_by", "path_vertices"):
        assert getattr(a, name) == getattr(b, name), name
    assert w2.workspace() == "explore"
    assert w2.pair_plot.levels() == [1.5, 2.5]
    assert w2.sampler_panel.seed.value() == 5 and w2.sampler_panel.count.value() == 12
    assert w2.pair_plot.x_pick.axis() == ("z", 2)
    assert not w2.undo_action.isEnabled()  # undo starts at the restored session


def test_a_window_grown_past_the_screen_is_kept_on_it(window, qtbot):
    """A restored dock layout can grow the window past the screen (seen in a real window at 1280×720: a session's
    Explore layout made it 736 px tall, its status bar and bottom tabs off the screen); opening a session and
    restoring the settings shrink it back onto the screen's available area."""
    w = window
    avail = w.screen().availableGeometry()
    w.resize(avail.width() + 300, avail.height() + 200)
    qtbot.waitUntil(lambda: w.height() > avail.height(), timeout=5000)
    w.dock_layout.keep_on_screen()
    qtbot.waitUntil(lambda: w.frameGeometry().height() <= avail.height(), timeout=5000)
    assert w.frameGeometry().width() <= avail.width()
    size = w.size()
    w.dock_layout.keep_on_screen()  # a window that fits is left as it is
    assert w.size() == size


def test_a_bad_session_file_is_one_line_in_a_dialog(window, qtbot, tmp_path):
    bad = tmp_path / "bad.lfs-session.json"
    bad.write_text('{"format": "latent-face-studio-session", "version": 1, "model": {"folder": 3, "content_sha256": ""}}')
    window.window_actions.open_session(bad)
    qtbot.waitUntil(lambda: window.last_error is not None, timeout=30000)
    assert "bad.lfs-session.json" in window.last_error and "session.model.folder" in window.last_error
    assert "\n" not in window.last_error.strip()


def test_photos_directions_and_bookmarks_come_back_in_a_fresh_window(window, make_window, tiny_model, qtbot, tmp_path):
    from conftest import write_faces

    from engine.lab.direction import Direction

    w, s = window, window.session
    (photo,) = write_faces(tmp_path / "photos", 1, seed=11)
    w.open_photo(photo, no_detect=True)
    qtbot.waitUntil(lambda: len(s.photos) == 1 and not w.bridge.busy(), timeout=30000)
    d = s.model.z_dim
    s.set_directions([Direction("pca 2", "pca", np.eye(d)[1] * 0.8, label="+Smiling 0.4")])
    w.switch_workspace("explore")
    s.set_axes(("pca", 2), ("pca", 5))
    w.window_actions._set_view_range((-1.0, 1.5, -0.5, 0.75))
    s.select(3, [3])
    first = w.window_actions.add_bookmark()
    assert first.name == "PC3 × PC6, face 4" and first.view_range == pytest.approx((-1.0, 1.5, -0.5, 0.75))
    s.inspect_photo(0)
    s.set_edited(s.photos[0].z + 0.3)
    w.window_actions.add_bookmark("my photo, edited")
    assert [w.bookmarks.list.item(i).text() for i in range(2)] == ["PC3 × PC6, face 4", "my photo, edited"]
    path = tmp_path / "all.lfs-session.json"
    w.window_actions.save_session(path)
    qtbot.waitUntil(lambda: path.exists() and not w.bridge.busy(), timeout=30000)
    photo.unlink()  # a session never reads the photo again

    w2 = make_window(tiny_model)
    qtbot.waitUntil(lambda: w2.panels_ready() and not w2.bridge.busy(), timeout=60000)
    w2.window_actions.open_session(path)
    qtbot.waitUntil(lambda: not w2.bridge.busy() and len(w2.session.photos) == 1, timeout=60000)
    a, b = s.state, w2.session.state
    assert b.photo_current == 0 and np.array_equal(b.edited_z, a.edited_z)
    ra, rb = a.photos[0].result, b.photos[0].result
    assert rb.photo is None and np.array_equal(ra.aligned, rb.aligned) and rb.verdict == ra.verdict
    assert rb.mahalanobis == pytest.approx(ra.mahalanobis, rel=1e-6)
    assert w2.photo_panel.pick.count() == 1 and ra.verdict in w2.photo_panel.info.text()
    assert "not kept in the session" in w2.photo_panel.view.text()
    assert w2.session.focus() == ("photo", 0)
    assert [x.name for x in b.directions] == ["pca 2"] and np.allclose(b.directions[0].vector, a.directions[0].vector)
    qtbot.waitUntil(lambda: not w2.bridge.busy() and len(w2.directions.rows) == 1, timeout=60000)
    assert w2.directions.table.rowCount() == 1 and w2.session.directions[0] is b.directions[0]
    assert not w2.undo_action.isEnabled()  # measuring the restored set is no step
    assert b.bookmarks == a.bookmarks and w2.bookmarks.list.count() == 2
    assert w2.window_actions._view_range() == pytest.approx(w.window_actions._view_range(), abs=1e-6)


def test_bookmarks_panel_adds_renames_deletes_restores_and_undoes(window, qtbot):
    from PySide6.QtCore import Qt

    w, s = window, window.session
    w.switch_workspace("explore")
    assert w.docks["bookmarksDock"].isVisible()
    s.set_axes(("pca", 0), ("z", 4))
    s.select(6, [6])
    w.pair_plot.set_levels([1.0, 3.0])
    w.window_actions._set_view_range((-2.0, 2.0, -1.0, 1.0))
    w.sampler_panel.seed.setValue(77)
    add = next(a for a in w.menuBar().actions()[1].menu().actions() if a.text() == "Add &bookmark")
    assert add.shortcut().toString() == "Ctrl+B"
    add.trigger()
    panel = w.bookmarks
    assert panel.list.count() == 1 and panel.list.item(0).text() == "PC1 × z4, face 7"
    assert w.undo_action.text() == "Undo: Add bookmark PC1 × z4, face 7"
    panel.rename(0, "  the\tseventh  face ")
    assert s.bookmarks[0].name == "the seventh face"
    # elsewhere now: another face, axes, zoom, levels, seed
    s.set_axes(("pca", 3), ("pca", 1))
    s.select(2, [1, 2])
    w.pair_plot.set_levels([2.0])
    w.sampler_panel.seed.setValue(3)
    w.switch_workspace("generate")
    w.switch_workspace("explore")
    qtbot.mouseClick(panel.list.viewport(), Qt.MouseButton.LeftButton,
                     pos=panel.list.visualItemRect(panel.list.item(0)).center())  # one click restores
    assert s.axes == (("pca", 0), ("z", 4)) and s.current == 6 and s.selected == [6]
    assert w.pair_plot.levels() == [1.0, 3.0] and w.sampler_panel.seed.value() == 77
    assert w.window_actions._view_range() == pytest.approx((-2.0, 2.0, -1.0, 1.0), abs=1e-6)
    panel.list.setCurrentRow(0)
    panel.delete_current()
    assert s.bookmarks == [] and panel.list.count() == 0 and panel.empty.isVisibleTo(panel)
    assert w.undo_action.text() == "Undo: Delete bookmark the seventh face"
    s.undo()
    assert [b.name for b in s.bookmarks] == ["the seventh face"] and panel.list.count() == 1
    while w.undo_action.text() != "Undo: Rename bookmark to the seventh face":  # the restore's and our own steps
        assert s.undo()
        assert [b.name for b in s.bookmarks] == ["the seventh face"]
    s.undo()
    assert s.bookmarks[0].name == "PC1 × z4, face 7"
    s.undo()
    assert s.bookmarks == [] and panel.list.count() == 0
