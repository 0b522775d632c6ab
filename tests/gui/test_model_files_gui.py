"""The model's files from the File menu (issue 24, findings 10 and 11): Encode always asks for its folder and says
what it replaces; Import model… and Export model… run the CLI's workflows with their checks, on the worker."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

pytestmark = pytest.mark.gui


def _idle(qtbot, w, timeout=60000):
    qtbot.waitUntil(lambda: not w.bridge.busy(), timeout=timeout)


def _menu_action(w, text: str):
    from PySide6.QtGui import QAction

    found = [a for a in w.findChildren(QAction) if a.text().replace("&", "") == text]
    assert len(found) == 1, [a.text() for a in w.findChildren(QAction)]
    return found[0]


@pytest.fixture
def asked(monkeypatch):
    """The dialogs the actions open, answered by the test: ``asked.folder`` (what the folder dialog returns),
    ``asked.answer`` (the question's button); every title, start folder and question is recorded."""
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    class Asked:
        folder = ""
        answer = QMessageBox.StandardButton.No
        folders: list = []
        questions: list = []

    a = Asked()
    a.folders, a.questions = [], []

    def folder_dialog(_parent, title, start, *args, **kw):
        a.folders.append((title, start))
        return a.folder

    def question(_parent, title, text, *args, **kw):
        a.questions.append((title, text))
        return a.answer

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(folder_dialog))
    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    return a


def test_encode_asks_for_its_folder_and_what_it_replaces_never_the_previous_models_dataset(
        make_window, qtbot, tiny_model, tiny_data, other_model, tmp_path, asked):
    from PySide6.QtWidgets import QMessageBox

    a_copy, b_copy = tmp_path / "a", tmp_path / "b"
    shutil.copytree(tiny_model, a_copy)
    shutil.copytree(other_model, b_copy)
    w = make_window(a_copy, auto_generate=False)
    w.wait_idle()
    s = w.session
    w.open_dataset(tiny_data)
    _idle(qtbot, w)
    assert s.dataset is not None
    w.open_model(b_copy)
    _idle(qtbot, w)
    assert s.model.folder == b_copy and s.dataset is None  # the dataset framed for model A is closed
    before = s.latents.copy()
    assert len(before) == 40
    ctrl_e = _menu_action(w, "Encode dataset folder…")
    assert ctrl_e.shortcut().toString() == "Ctrl+E"

    ctrl_e.trigger()  # the folder dialog opens at the last folder; cancelled: nothing happens
    _idle(qtbot, w)
    assert asked.folders == [(f"Encode a folder of face images with {b_copy.name}", str(tiny_data))]
    assert asked.questions == [] and s.dataset is None
    np.testing.assert_array_equal(s.latents, before)

    asked.folder = str(tiny_data)  # a folder chosen: before anything runs, it says what it replaces; "No" keeps it
    ctrl_e.trigger()
    qtbot.waitUntil(lambda: len(asked.questions) == 1, timeout=60000)
    _idle(qtbot, w)
    assert len(asked.questions) == 1
    text = asked.questions[0][1]
    assert "replaces the z-points" in text or "replaces this model's 40 z-points" in text, text
    assert "40" in text and "96" in text, text  # the model's 40 z-points, the folder's 96 images
    np.testing.assert_array_equal(s.latents, before)
    assert np.array_equal(np.load(b_copy / "latents.npy"), before)

    asked.answer = QMessageBox.StandardButton.Yes
    ctrl_e.trigger()
    qtbot.waitUntil(lambda: len(asked.questions) == 2, timeout=60000)
    qtbot.waitUntil(lambda: not w.bridge.busy() and s.latents is not None and len(s.latents) == 96, timeout=60000)
    assert len(asked.questions) == 2 and s.model.folder == b_copy
    assert s.latents.shape == (96, 6) and s.dataset is not None and s.dataset.folder == tiny_data
    assert "96" in (w.last_notice or "")


def test_encode_into_a_model_without_z_points_asks_only_for_the_folder(make_window, qtbot, other_model, tmp_path,
                                                                       asked):
    folder = tmp_path / "fresh"
    shutil.copytree(other_model, folder)
    for name in ("latents.npy", "latent_names.txt", "latents.json"):
        (folder / name).unlink(missing_ok=True)
    w = make_window(folder, auto_generate=False)
    w.wait_idle()
    s = w.session
    assert s.model is not None and s.latents is None, w.last_error
    asked.folder = str(other_model.parent / "faces")
    _menu_action(w, "Encode dataset folder…").trigger()
    qtbot.waitUntil(lambda: not w.bridge.busy() and s.latents is not None, timeout=60000)
    assert asked.questions == [] and s.latents is not None and s.latents.shape == (40, 6)


# ---- File ▸ Import model… / Export model…
def _fault_builders(name: str):
    """A builder module of tests/faults (hostile and valid model files, made on the fly)."""
    import importlib
    import sys
    from pathlib import Path

    faults = str(Path(__file__).resolve().parents[1] / "faults")
    if faults not in sys.path:
        sys.path.insert(0, faults)
    return importlib.import_module(name)


def test_the_import_dialog_offers_the_registrys_files_and_the_workflows_options(qtbot):
    from engine.formats.registry import importer, importer_names
    from engine.workflows.import_model import IMPORT_PARAMS

    from gui.qt_model_files import FILE_PARAMS, ImportModelDialog, import_file_filter

    filt = import_file_filter()
    for name in importer_names():
        for suffix in importer(name).suffixes:
            assert f"*{suffix}" in filt.split(";;")[0], (suffix, filt)
    assert ".onnx" in filt and ".keras" in filt and ".h5" in filt
    dlg = ImportModelDialog(out="/tmp/new-model")
    qtbot.addWidget(dlg)
    assert set(dlg.options) == {p.name for p in IMPORT_PARAMS} - set(FILE_PARAMS)
    dlg.set_files(encoder="/x/e.onnx", decoder="/x/d.onnx")
    v = dlg.values()
    assert (v["encoder"], v["decoder"], v["model_file"], v["out"]) == ("/x/e.onnx", "/x/d.onnx", None, "/tmp/new-model")
    assert all(v[name] is None for name in dlg.options)  # nothing set: the model's files say it
    dlg.set_files(model_file="/x/ae.keras")
    dlg.options["image_size"].setValue(64)
    dlg.options["channel_order"].setCurrentIndex(dlg.options["channel_order"].findData("nhwc"))
    v = dlg.values()
    assert (v["model_file"], v["encoder"], v["decoder"]) == ("/x/ae.keras", None, None)
    assert (v["image_size"], v["channel_order"]) == (64, "nhwc")
    import inspect

    from engine.workflows.import_model import import_model

    assert set(v) <= set(inspect.signature(import_model).parameters)  # the workflow's own keywords


def test_import_onnx_opens_it_and_a_hostile_file_is_one_line_in_the_error_dialog(window, qtbot, tmp_path, asked):
    from PySide6.QtWidgets import QMessageBox

    onnx_faults = _fault_builders("test_faults_onnx_hostile")
    w, s = window, window.session
    first = s.model.folder
    enc, dec = onnx_faults.good_pair(size=16, z=4)
    (tmp_path / "e.onnx").write_bytes(enc)
    (tmp_path / "d.onnx").write_bytes(dec)
    _menu_action(w, "Import model…")  # in the File menu
    # a hostile encoder (its weights read from another file): refused before anything runs, nothing written
    label, bad = next(iter(onnx_faults._external_placements()))
    (tmp_path / "bad.onnx").write_bytes(bad)
    w.import_model({"encoder": str(tmp_path / "bad.onnx"), "decoder": str(tmp_path / "d.onnx"),
                    "out": str(tmp_path / "refused")})
    _idle(qtbot, w)
    assert w.last_error and "external file" in w.last_error and "\n" not in w.last_error, w.last_error
    assert w.error_dialogs and "bad.onnx" in w.error_dialogs[-1].text()
    assert not (tmp_path / "refused").exists() or not any((tmp_path / "refused").iterdir())
    assert s.model.folder == first
    # a folder of the user's files is never the output
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    w.import_model({"encoder": str(tmp_path / "e.onnx"), "decoder": str(tmp_path / "d.onnx"), "out": str(mine)})
    _idle(qtbot, w)
    assert "\n" not in w.last_error and str(mine) in w.last_error
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"] and s.model.folder == first
    # the good pair: imported, the summary shown, and the offer to open it answered "Yes"
    asked.answer = QMessageBox.StandardButton.Yes
    out = tmp_path / "imported"
    w.import_model({"encoder": str(tmp_path / "e.onnx"), "decoder": str(tmp_path / "d.onnx"), "out": str(out)})
    qtbot.waitUntil(lambda: bool(asked.questions), timeout=60000)  # asked once the import job has ended
    _idle(qtbot, w)
    assert [t for t, _q in asked.questions] == ["Import model"] and "Open the imported model" in asked.questions[0][1]
    assert (out / "encoder.onnx").is_file() and (out / "decoder.onnx").is_file() and (out / "config.json").is_file()
    assert s.model.folder == out and s.model.z_dim == 4 and "imported an ONNX autoencoder" in (w.last_notice or "")


def test_import_a_whole_keras_model_without_opening_it(window, qtbot, tmp_path):
    pytest.importorskip("h5py")
    keras_faults = _fault_builders("test_faults_keras_hostile")
    w, s = window, window.session
    first = s.model.folder
    ae = keras_faults.make(tmp_path, "control_keras", "keras")
    out = tmp_path / "from-keras"
    w.import_model({"model_file": str(ae), "out": str(out)}, open_after=False)
    _idle(qtbot, w)
    assert w.last_error is None, w.last_error
    assert (out / "encoder.onnx").is_file() and s.model.folder == first
    assert "a Keras autoencoder" in (w.last_notice or "") or "Keras" in (w.last_notice or "")


def test_export_model_writes_a_new_folder_and_refuses_the_users_own(window, qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    w, s = window, window.session
    asked = []
    target = tmp_path / "exported"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda _p, title, start, *a, **k: (asked.append((title, start)), (str(target), ""))[1]))
    _menu_action(w, "Export model…").trigger()
    _idle(qtbot, w)
    assert asked and asked[0][0].startswith("Export model as ONNX")
    assert w.last_error is None, w.last_error
    assert sorted(p.name for p in target.iterdir()) >= ["config.json", "decoder.onnx", "encoder.onnx"]
    assert str(target) in (w.last_notice or "") and f"z_dim {s.model.z_dim}" in w.last_notice
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "holiday.jpg").write_bytes(b"x")
    w.export_model(mine)
    _idle(qtbot, w)
    assert w.last_error and "\n" not in w.last_error and str(mine) in w.last_error
    assert sorted(p.name for p in mine.iterdir()) == ["holiday.jpg"]
