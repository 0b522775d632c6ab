"""The Generate panel's sampler and its fields are undo steps named after the control; undo puts the controls back
and the session saves what the controls show (issue 28, undo of sampler parameters)."""
from __future__ import annotations

import json

import pytest

pytest.importorskip("pytestqt")


def test_sampler_choice_and_fields_are_named_steps_that_undo_puts_back(window, qtbot, tmp_path):
    from PySide6.QtCore import Qt

    w, s = window, window.session
    sp, h = w.sampler_panel, s.history
    start = sp.choice()
    assert s.state.sampler == {"name": start[0], "values": start[1]}
    steps = len(h.done)
    sp.picker.setCurrentIndex(sp.picker.findData("gmm"))
    assert w.undo_action.text() == "Undo: sampler to gmm" and len(h.done) == steps + 1
    box = sp.controls["components"]
    box.setFocus()
    box.lineEdit().selectAll()
    qtbot.keyClicks(box.lineEdit(), "12")  # typed: no step per key ...
    assert len(h.done) == steps + 1 and s.state.sampler["values"]["components"] == 10
    qtbot.keyClick(box.lineEdit(), Qt.Key.Key_Return)  # ... one step for the committed value
    assert len(h.done) == steps + 2 and w.undo_action.text() == "Undo: components to 12"
    box.stepUp()
    assert w.undo_action.text() == "Undo: components to 13"
    sp.controls["covariance"].setCurrentIndex(sp.controls["covariance"].findData("diag"))
    sp.controls["scale"].setValue(0.5)
    assert w.undo_action.text() == "Undo: scale to 0.5" and len(h.done) == steps + 5
    assert s.state.sampler == {"name": "gmm", "values": sp.values()}

    s.undo()
    s.undo()
    assert sp.values()["covariance"] == "full" and sp.values()["scale"] == 1.0
    s.undo()
    assert box.value() == 12 and sp.values()["components"] == 12
    assert w.undo_action.text() == "Undo: components to 12"
    s.undo()
    s.undo()
    assert sp.choice() == start and w.undo_action.text() != "Undo: sampler to gmm"
    assert len(h.done) == steps  # putting the controls back recorded nothing
    s.redo()
    s.redo()
    assert sp.sampler_name() == "gmm" and sp.controls["components"].value() == 12
    assert s.state.sampler == {"name": "gmm", "values": sp.values()}

    # the session file keeps what undo left, the same as the state
    path = tmp_path / "u.lfs-session.json"
    w.window_actions.save_session(path)
    qtbot.waitUntil(lambda: path.exists() and not w.bridge.busy(), timeout=30000)
    saved = json.loads(path.read_text())["sampler"]
    assert saved["name"] == "gmm" and saved["values"] == s.state.sampler["values"]


def test_setting_the_panel_from_the_compare_panel_is_a_step_and_defaults_too(window):
    w, s = window, window.session
    sp = w.sampler_panel
    sp.set_sampler("pca-ellipse")
    sp.set_value("fact", 1.2)
    assert w.undo_action.text() == "Undo: fact to 1.2"
    sp.defaults_btn.click()
    assert w.undo_action.text() == "Undo: pca-ellipse defaults" and sp.values()["fact"] == pytest.approx(0.7)
    s.undo()
    assert sp.values()["fact"] == pytest.approx(1.2)
