"""Apply to all faces (the Attributes and Directions panels), the inspector's Before / Side by side, and the movie
dialog's films along any direction (on the tiny model with a small labels.csv)."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def labelled_model(tiny_model, tmp_path_factory):
    """A copy of the tiny model with labels.csv: Smiling = z0 above its median."""
    from engine.formats.native import load_latents, read_config

    folder = tmp_path_factory.mktemp("apply-all") / "model"
    shutil.copytree(tiny_model, folder)
    z, files = load_latents(folder, read_config(folder).arch.z_dim)
    smiling = z[:, 0] > np.median(z[:, 0])
    (folder / "labels.csv").write_text("file,Smiling\n" + "".join(f"{f},{int(s)}\n" for f, s in zip(files, smiling)))
    return folder


@pytest.fixture
def win(make_window, qtbot, labelled_model):
    w = make_window(labelled_model)
    qtbot.waitUntil(lambda: w.panels_ready() and w.session.sample is not None and not w.bridge.busy(), timeout=60000)
    return w


def _idle(qtbot, w, timeout=60000):
    qtbot.waitUntil(lambda: not w.bridge.busy(), timeout=timeout)


def test_an_attribute_applied_to_every_face_then_saved_and_reset(win, qtbot, tmp_path):
    from engine.attributes import DEFAULT_EDIT_METHOD, attribute_direction

    s, panel = win.session, win.attributes
    original = s.sample
    win.inspect_face(3)
    box = panel.apply_all
    assert not box.slider.isEnabled() and not box.reset_btn.isEnabled()  # no attribute picked yet
    s.set_colour_by("Smiling")
    assert box.slider.isEnabled() and box.what.text() == "Smiling"
    box.slider.setValue(150)  # 1.5 class-mean gaps, the grid follows
    qtbot.waitUntil(lambda: s.sample is not original and not win.bridge.busy(), timeout=60000)
    v = attribute_direction(s.latents, s.labels, "Smiling", DEFAULT_EDIT_METHOD).vector
    np.testing.assert_allclose(s.sample.z, original.z + np.float32(1.5) * v.astype(np.float32), atol=1e-5)
    assert s.sample.images.shape == original.images.shape and not np.array_equal(s.sample.images, original.images)
    assert s.current == 3  # the inspected face stays
    (applied,) = s.sample.params["applied"]
    assert (applied["kind"], applied["name"], applied["amount"]) == ("attribute", "Smiling", 1.5)
    assert box.reset_btn.isEnabled() and box.value.text() == "+1.50"
    assert win.face_grid.info.text().endswith("· moved Smiling +1.50")  # the grid says it was moved
    # saved: params.json says what was applied
    win.window_actions.save_image_set(tmp_path / "moved", overwrite=False)
    _idle(qtbot, win)
    params = json.loads((tmp_path / "moved" / "params.json").read_text())
    assert params["applied"][0]["name"] == "Smiling" and params["applied"][0]["amount"] == 1.5
    assert params["seed"] == original.params["seed"]
    np.testing.assert_allclose(np.load(tmp_path / "moved" / "z.npy"), s.sample.z)
    # Reset: the faces as generated, the slider at 0
    box.reset_btn.click()
    assert s.sample is original and box.slider.value() == 0 and not box.reset_btn.isEnabled()


def test_directions_stack_and_a_new_grid_forgets_the_original(win, qtbot):
    s, lab = win.session, win.directions
    lab.method.setCurrentIndex(lab.method.findData("pca"))
    lab.k.setValue(2)
    lab.compute()
    _idle(qtbot, win, 120000)
    lab.table.selectRow(1)
    d = lab.selected_direction()
    original = s.sample
    box = lab.apply_all
    assert box.what.text() == d.name
    box.slider.setValue(-100)
    qtbot.waitUntil(lambda: s.sample is not original and not win.bridge.busy(), timeout=60000)
    np.testing.assert_allclose(s.sample.z, original.z - d.vector.astype(np.float32), atol=1e-5)
    s.set_colour_by("Smiling")  # a second move starts from the first
    win.attributes.apply_all.slider.setValue(100)
    qtbot.waitUntil(lambda: len(s.sample.params.get("applied", [])) == 2 and not win.bridge.busy(), timeout=60000)
    assert [a["name"] for a in s.sample.params["applied"]] == [d.name, "Smiling"]
    assert box.slider.value() == 0  # the direction's slider shows the current move: none along it
    win.window_actions.generate_now()  # a new grid: nothing to reset to
    qtbot.waitUntil(lambda: not win.bridge.busy() and "applied" not in s.sample.params, timeout=60000)
    assert not box.reset_btn.isEnabled()


def test_before_shows_the_unedited_face_and_side_by_side_both(win, qtbot):
    from PySide6.QtCore import Qt

    s, insp = win.session, win.inspector
    ba = insp.before_after
    win.inspect_face(1)
    base = s.base_image().copy()
    insp.sliders[0].setValue(insp.sliders[0].value() + 150)
    qtbot.waitUntil(lambda: s.edited_z is not None and not win.bridge.busy(), timeout=30000)
    edited = insp.face.image.copy()
    assert not np.array_equal(edited, base)
    qtbot.mouseClick(ba.button, Qt.MouseButton.LeftButton)
    np.testing.assert_array_equal(insp.face.image, base)
    assert s.edited_z is not None  # the edit is kept, only the view changes
    qtbot.mouseClick(ba.button, Qt.MouseButton.LeftButton)
    np.testing.assert_array_equal(insp.face.image, edited)
    insp.face.setFocus()
    qtbot.keyClick(insp.face, Qt.Key.Key_B)  # B toggles
    assert ba.button.isChecked()
    np.testing.assert_array_equal(insp.face.image, base)
    qtbot.keyClick(insp.face, Qt.Key.Key_B)
    assert not ba.button.isChecked()
    qtbot.mouseClick(ba.side_btn, Qt.MouseButton.LeftButton)
    assert ba.view.isVisibleTo(insp)
    np.testing.assert_array_equal(ba.view.image, base)
    np.testing.assert_array_equal(insp.face.image, edited)
    # the whole grid moved: "before" is the face as generated
    generated = s.sample.images[1].copy()
    s.set_colour_by("Smiling")
    win.attributes.apply_all.slider.setValue(200)
    qtbot.waitUntil(lambda: "applied" in s.sample.params and not win.bridge.busy(), timeout=60000)
    assert s.current == 1 and not np.array_equal(insp.face.image, generated)
    np.testing.assert_array_equal(ba.view.image, generated)
    ba.button.setChecked(True)
    np.testing.assert_array_equal(insp.face.image, generated)


def test_films_of_the_face_and_the_grid_along_any_direction(win, qtbot, tmp_path):
    from engine.workflows.movie import grid_layout, read_movie
    from gui.qt_movie_dialog import MovieDialog

    s = win.session
    win.inspect_face(2)
    dlg = MovieDialog(win, axis=s.axes[0], attributes=list(s.labels.names), has_face=True,
                      grid_faces=len(s.sample.z))
    kinds = [dlg.kind.itemData(i) for i in range(dlg.kind.count())]
    assert kinds == ["sweep", "face", "grid", "path"]
    assert not dlg.kind.model().item(3).isEnabled() and dlg.kind.model().item(2).isEnabled()
    assert dlg.choose_along(("attribute", "Smiling"))
    assert dlg.range_label.text() == "range (1 = with − without)"
    dlg.kind.setCurrentIndex(2)
    o = dlg.options()
    assert (o["kind"], o["along"]) == ("grid", ("attribute", "Smiling"))
    dlg.deleteLater()
    win.face_grid.columns.setValue(8)
    job = win.export_movie(tmp_path / "grid.gif", kind="grid", along=("attribute", "Smiling"), frames=4, size=256,
                           value_range="-1:1")
    assert job is not None
    _idle(qtbot, win)
    _c, _t, w, h = grid_layout(len(s.sample.z), 256, 8)
    assert win.last_error is None and read_movie(tmp_path / "grid.gif")[:3] == (4, w, h)
    win.export_movie(tmp_path / "face.gif", kind="face", along=("axis", ("pca", 1)), frames=3, size=64)
    _idle(qtbot, win)
    assert read_movie(tmp_path / "face.gif")[:3] == (3, 64, 64)
