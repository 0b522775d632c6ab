"""Edit ▸ Undo / Redo (Ctrl+Z, Ctrl+Shift+Z) in the window: each step named, undone and redone, the panels
following (issue 28, part 2)."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")


def test_generate_axes_and_selection_are_undone_and_redone_in_order(window, qtbot):
    s = window.session
    assert not window.undo_action.isEnabled(), window.undo_action.text()  # the first faces are no step
    assert window.undo_action.shortcut().toString() == "Ctrl+Z"
    assert [k.toString() for k in window.redo_action.shortcuts()] == ["Ctrl+Shift+Z", "Ctrl+Y"]
    first = s.sample
    window.sampler_panel.seed.setValue(5)
    window.generate_action.trigger()
    qtbot.waitUntil(lambda: s.sample is not first and not window.bridge.busy(), timeout=30000)
    second = s.sample
    assert window.undo_action.text().startswith("Undo: Generate 32 faces"), window.undo_action.text()
    window.pair_plot.x_pick.set_axis(("pca", 2))
    window.pair_plot._picked(None)  # as the control does when the user picks PC3
    assert s.axes == (("pca", 2), ("pca", 1))
    assert window.undo_action.text() == "Undo: Axes PC3 × PC2"
    s.select(4)
    assert window.undo_action.text() == "Undo: Select face 5"

    window.undo_action.trigger()
    assert s.current == 0 and window.redo_action.text() == "Redo: Select face 5"
    window.undo_action.trigger()
    assert s.axes == (("pca", 0), ("pca", 1))
    assert window.pair_plot.x_pick.axis() == ("pca", 0)  # the control follows
    window.undo_action.trigger()
    assert s.sample is first
    window.redo_action.trigger()
    assert s.sample is second
    window.redo_action.trigger()
    assert s.axes == (("pca", 2), ("pca", 1)) and window.pair_plot.x_pick.axis() == ("pca", 2)
    window.redo_action.trigger()
    assert s.current == 4
    assert not window.redo_action.isEnabled() and window.redo_action.text() == "Redo"


def test_opening_a_model_clears_the_history(window, qtbot, tiny_model):
    s = window.session
    s.set_axes(("z", 1), ("z", 2))
    assert window.undo_action.isEnabled()
    s.set_model(s.model, s.stats)
    assert not window.undo_action.isEnabled() and window.undo_action.text() == "Undo"


def test_a_slider_drag_is_one_step_named_by_its_slider_and_undone_exactly(window, qtbot):
    s, insp = window.session, window.inspector
    window.raise_dock("inspectorDock")
    qtbot.waitUntil(lambda: insp.sliders[2].isEnabled(), timeout=10000)
    base = insp.sliders[2].value()
    for step in (20, 60, 120):  # one drag: three moves, then the release
        insp.sliders[2].setValue(base + step)
        qtbot.waitUntil(lambda: s.edited_z is not None and not window.bridge.busy(), timeout=10000)
        qtbot.wait(60)
    insp.sliders[2].sliderReleased.emit()
    edited = s.edited_z.copy()
    assert window.undo_action.text().startswith("Undo: PC3 to "), window.undo_action.text()
    steps = len(s.history.done)
    insp.sliders[2].setValue(base - 50)  # a second drag: a step of its own
    qtbot.waitUntil(lambda: s.edited_z is not None and not np.array_equal(s.edited_z, edited) and
                    not window.bridge.busy(), timeout=10000)
    insp.sliders[2].sliderReleased.emit()
    assert len(s.history.done) == steps + 1
    window.undo_action.trigger()
    assert np.array_equal(s.edited_z, edited)
    assert insp.sliders[2].value() == base + 120  # the slider follows
    window.undo_action.trigger()
    assert s.edited_z is None and insp.sliders[2].value() == base
    window.redo_action.trigger()
    assert np.array_equal(s.edited_z, edited) and insp.sliders[2].value() == base + 120
    qtbot.waitUntil(lambda: not window.bridge.busy(), timeout=10000)


def test_a_cloud_selection_is_a_step(window, qtbot):
    from engine.selection import CloudSelection

    s = window.session
    n = len(s.latents)
    mask = np.zeros(n, bool)
    mask[: n // 3] = True
    s.set_cloud_selection(CloudSelection(mask, "lasso on PC1 × PC2"))
    assert window.undo_action.text() == f"Undo: Select {n // 3:,} z-points (lasso on PC1 × PC2)"
    window.undo_action.trigger()
    assert s.state.cloud_selection is None or not s.state.cloud_selection.count
    window.redo_action.trigger()
    assert np.array_equal(s.state.cloud_selection.mask, mask)
