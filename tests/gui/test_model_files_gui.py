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
    _idle(qtbot, w)
    assert len(asked.questions) == 1
    text = asked.questions[0][1]
    assert "replaces the z-points" in text or "replaces this model's 40 z-points" in text, text
    assert "40" in text and "96" in text, text  # the model's 40 z-points, the folder's 96 images
    np.testing.assert_array_equal(s.latents, before)
    assert np.array_equal(np.load(b_copy / "latents.npy"), before)

    asked.answer = QMessageBox.StandardButton.Yes
    ctrl_e.trigger()
    _idle(qtbot, w)
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
    _idle(qtbot, w)
    assert asked.questions == [] and s.latents is not None and s.latents.shape == (40, 6)
