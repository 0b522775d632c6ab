"""Your own photo (issue 15) and the direction lab (issue 17) in the app, on the tiny model: open a photo →
its star in the pair plot and the components plot, the inspector edits it; bad photos end in the error
dialog; directions computed, sorted by a column header, saved and loaded, used as an inspector slider; the
view-only map."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.gui


def _photo(path, seed=3, size=(220, 170)):
    """A synthetic face (tests/conftest.py) pasted into a larger canvas of another colour."""
    from conftest import synthetic_face
    from PIL import Image

    rng = np.random.default_rng(seed)
    canvas = np.zeros((size[1], size[0], 3), np.uint8)
    canvas[:] = (30, 90, 160)
    face = synthetic_face(rng, 96)
    canvas[40:136, 70:166] = face
    Image.fromarray(canvas).save(path)
    return path


def _idle(qtbot, w, timeout=60000):
    qtbot.waitUntil(lambda: not w.bridge.busy(), timeout=timeout)


def _open(qtbot, w, path, **kw):
    w.open_photo(path, **kw)
    _idle(qtbot, w)


def test_open_photo_places_a_star_and_the_inspector_edits_it(window, qtbot, tmp_path):
    from engine.latent_stats import project

    w, s = window, window.session
    path = _photo(tmp_path / "me.png")
    _open(qtbot, w, path, no_detect=True)
    assert w.last_error is None, w.last_error
    assert len(s.photos) == 1 and s.photo_current == 0
    r = s.photos[0].result
    assert r.framing.startswith("centre square")
    # the star in the pair plot, where the engine projects the photo's z
    np.testing.assert_allclose(w.pair_plot.photo_points(), project(r.z, s.stats, s.axes), rtol=1e-5, atol=1e-5)
    assert w.pair_plot.photo_item.isVisible()
    ring = w.pair_plot.selected_item.getData()
    assert len(ring[0]) >= 1  # the inspected photo ringed
    # … and on the components plot's axis
    x, _y = w.components.photo_item.getData()
    np.testing.assert_allclose(x, [r.z[0, w.components.component()]], rtol=1e-5)
    # the photo panel: crop, reconstruction, verdict
    panel = w.photo_panel
    assert panel.aligned.image is not None and panel.recon.image is not None
    assert r.verdict in panel.info.text() and "%" in panel.info.text()
    assert panel.view.pixmap() is not None and not panel.view.pixmap().isNull()
    # the inspector shows the photo's reconstruction; a PCA slider edits it live
    insp = w.inspector
    assert "your photo" in insp.title.text()
    np.testing.assert_array_equal(insp.face.image, r.reconstruction)
    before = insp.face.image.copy()
    insp.sliders[0].setValue(insp.sliders[0].value() + 150)
    qtbot.waitUntil(lambda: s.edited_z is not None and not w.bridge.busy(), timeout=30000)
    sig = np.sqrt(np.asarray(s.stats.pca.explained_variance, float))[0]
    comp = np.asarray(s.stats.pca.components, float)[0]
    np.testing.assert_allclose(s.edited_z, r.z[0] + 1.5 * sig * comp, rtol=1e-4, atol=1e-4)
    assert not np.array_equal(insp.face.image, before)
    assert len(w.pair_plot.edited_item.getData()[0]) == 1
    # clicking a face of the grid goes back to the faces; the star stays
    w.inspect_face(0)
    assert s.photo_current is None and s.edited_z is None and "face #0" in insp.title.text()
    assert len(w.pair_plot.photo_points()) == 1
    # a second photo, then removing the first
    _open(qtbot, w, _photo(tmp_path / "you.png", seed=5), no_detect=True)
    assert len(s.photos) == 2 and s.photo_current == 1 and len(w.pair_plot.photo_points()) == 2
    s.remove_photo(0)
    assert len(s.photos) == 1 and s.photo_current == 0 and panel.pick.count() == 1


def test_save_photo_writes_the_engine_folder(window, qtbot, tmp_path):
    w, s = window, window.session
    _open(qtbot, w, _photo(tmp_path / "me.png"), no_detect=True)
    w.inspector.sliders[1].setValue(w.inspector.sliders[1].value() + 100)
    qtbot.waitUntil(lambda: s.edited_z is not None and not w.bridge.busy(), timeout=30000)
    out = tmp_path / "saved"
    w.save_photo(out, 0, interactive=False)
    _idle(qtbot, w)
    assert w.last_error is None, w.last_error
    folder = out / "me"
    for name in ("aligned.png", "reconstruction.png", "z.npy", "photo.json", "put-back.png"):
        assert (folder / name).is_file(), name
    rec = json.loads((folder / "photo.json").read_text())
    # the inspector's edit put back into the photo, at the photo's size
    assert rec["put_back"]["face"] == "edit added to the photo's face"
    from PIL import Image

    assert Image.open(folder / "put-back.png").size == tuple(s.photos[0].result.photo_size)
    assert rec["verdict"] == s.photos[0].result.verdict
    np.testing.assert_allclose(rec["edited_z"], s.edited_z, atol=1e-5)
    np.testing.assert_allclose(np.load(folder / "z.npy"), s.photos[0].result.z)
    # a folder of the user's own files is refused (one line), nothing written there
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "holiday.jpg").write_bytes(b"x")
    w.save_photo(mine, 0, interactive=False)
    assert w.last_error and "did not write" in w.last_error and "\n" not in w.last_error
    assert sorted(p.name for p in mine.iterdir()) == ["holiday.jpg"]


def test_bad_photos_end_in_the_error_dialog(window, qtbot, tmp_path):
    w, s = window, window.session
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not an image at all")
    _open(qtbot, w, bad)
    assert w.last_error and "broken.jpg" in w.last_error and "\n" not in w.last_error
    assert w.error_dialogs and s.photos == []
    # no face: the engine's line, and a button that frames the centre square instead
    plain = tmp_path / "wall.png"
    from PIL import Image

    Image.fromarray(np.full((120, 160, 3), 200, np.uint8)).save(plain)
    w.last_error = None
    _open(qtbot, w, plain)
    assert w.last_error and "no face found" in w.last_error
    assert w.photo_panel.retry_btn.isVisibleTo(w.photo_panel)
    qtbot.mouseClick(w.photo_panel.retry_btn, __import__("PySide6.QtCore", fromlist=["Qt"]).Qt.MouseButton.LeftButton)
    _idle(qtbot, w)
    assert len(s.photos) == 1 and s.photos[0].no_detect


def test_dropping_an_image_file_opens_it(window, qtbot, tmp_path):
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    w = window
    w.photo_panel.no_detect.setChecked(True)
    path = _photo(tmp_path / "dropped.png")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path)), QUrl.fromLocalFile(str(tmp_path / "notes.txt"))])
    ev = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                    Qt.KeyboardModifier.NoModifier)
    w.dropEvent(ev)
    _idle(qtbot, w)
    assert [p.name for p in w.session.photos] == ["dropped.png"]


def _header_click(qtbot, table, col):
    from PySide6.QtCore import QPoint, Qt

    hh = table.horizontalHeader()
    x = hh.sectionViewportPosition(col) + hh.sectionSize(col) // 2
    qtbot.mouseClick(hh.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, hh.height() // 2))


def test_direction_lab_computes_sorts_saves_loads_and_edits(window, qtbot, tmp_path):
    from PySide6.QtCore import Qt

    from engine.lab import COLUMN_KEYS, load_direction_set, sort_rows

    w, s = window, window.session
    lab = w.directions
    w.docks["directionsDock"].show()
    w.docks["directionsDock"].raise_()
    lab.method.setCurrentIndex(lab.method.findData("pca"))
    lab.k.setValue(4)
    qtbot.mouseClick(lab.compute_btn, Qt.MouseButton.LeftButton)
    _idle(qtbot, w, 120000)
    assert w.last_error is None, w.last_error
    assert lab.table.rowCount() == 4 and len(s.directions) == 4
    assert [lab.table.item(r, 1).text() for r in range(4)] == ["pca 1", "pca 2", "pca 3", "pca 4"]
    # sort by a column: click its header (numbers: largest first), again: reversed
    col = COLUMN_KEYS.index("maha_per_unit")
    original = list(lab.rows)
    _header_click(qtbot, lab.table, COLUMN_KEYS.index("sigma"))
    assert lab.sort_key == "sigma"
    assert [r["index"] for r in lab.rows] == [r["index"] for r in sort_rows(original, "sigma")]
    _header_click(qtbot, lab.table, COLUMN_KEYS.index("index"))
    _header_click(qtbot, lab.table, COLUMN_KEYS.index("index"))
    assert [lab.table.item(r, 0).text() for r in range(4)] == ["4", "3", "2", "1"]  # reordered, descending
    assert lab.table.horizontalHeader().sortIndicatorSection() == 0
    assert col >= 0

    # save / load round trip
    target = tmp_path / "sets" / "mine.json"
    lab.save_set(target)
    _idle(qtbot, w)
    assert target.is_file() and target.with_suffix(".npy").is_file()
    saved = load_direction_set(target, model_id=s.model.model_id, z_dim=s.model.z_dim)
    np.testing.assert_allclose(saved.vectors, np.stack([d.vector for d in s.directions]), rtol=1e-6, atol=1e-7)
    s.set_directions([])
    lab.rows = []
    lab.load_set(target)
    _idle(qtbot, w)
    assert lab.table.rowCount() == 4 and [d.name for d in s.directions] == [d.name for d in saved.directions]
    assert all(d.origin is not None for d in s.directions)
    # another model's set: refused unless the user confirms
    meta = json.loads(target.read_text())
    meta["model_id"] = "someone-else"
    target.write_text(json.dumps(meta))
    asked = []
    lab.load_set(target, confirm=lambda msg: asked.append(msg) or False)
    _idle(qtbot, w)
    assert asked and "belongs to model" in asked[0] and "not loaded" in lab.status.text()
    lab.load_set(target, confirm=lambda msg: True)
    _idle(qtbot, w)
    assert lab.table.rowCount() == 4 and "4 direction" in lab.status.text()

    # a direction as an inspector slider edits the inspected face: z + amount · v
    w.inspect_face(2)
    lab.table.selectRow(1)
    d = lab.selected_direction()
    qtbot.mouseClick(lab.slider_btn, Qt.MouseButton.LeftButton)
    insp = w.inspector
    assert d.name in insp.direction_sliders and insp.dir_box.isVisibleTo(insp)
    before = insp.face.image.copy()
    insp.direction_sliders[d.name][1].setValue(200)
    qtbot.waitUntil(lambda: s.edited_z is not None and not w.bridge.busy(), timeout=30000)
    np.testing.assert_allclose(s.edited_z, d.apply(s.sample.z[2], 2.0), rtol=1e-5, atol=1e-5)
    assert not np.array_equal(insp.face.image, before)
    insp.remove_direction_slider(d.name)
    assert not insp.direction_sliders


def test_map_is_view_only_and_a_click_shows_the_training_face(window, qtbot):
    w, s = window, window.session
    lab = w.directions
    assert "minutes" in lab.map_note.text()  # t-SNE's cost is said before it is started
    lab.compute_map("pca")
    _idle(qtbot, w)
    assert lab.latent_map is not None and lab.latent_map.xy.shape == (len(s.latents), 2)
    assert "view only" in lab.map_note.text() and lab.view_only.text() == "view only"
    assert len(lab.map_items) == 1
    x, y = lab.latent_map.xy[5]
    assert lab.show_map_point_near(float(x), float(y)) == 5
    _idle(qtbot, w)
    assert lab.map_face.image is not None and s.model.latent_files[5] in lab.map_face_caption.text()
