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


def test_a_bad_session_file_is_one_line_in_a_dialog(window, qtbot, tmp_path):
    bad = tmp_path / "bad.lfs-session.json"
    bad.write_text('{"format": "latent-face-studio-session", "version": 1, "model": {"folder": 3, "content_sha256": ""}}')
    window.window_actions.open_session(bad)
    qtbot.waitUntil(lambda: window.last_error is not None, timeout=30000)
    assert "bad.lfs-session.json" in window.last_error and "session.model.folder" in window.last_error
    assert "\n" not in window.last_error.strip()
