"""The training dialog follows the CLI's folder rules and resumes without sending the user to the command line."""
from __future__ import annotations

import os

from PySide6.QtWidgets import QApplication


def _small(dlg, data, out):
    dlg.data.edit.setText(str(data))
    dlg.out.edit.setText(str(out))
    dlg.image_size.setCurrentIndex(0)
    dlg.z_dim.setValue(8)
    dlg.channels.setText("8,16,16,32")
    dlg.batch.setValue(8)
    dlg.encode.setChecked(False)


def test_an_existing_model_is_resumed_not_trained_over(window, qtbot, tmp_path, tiny_data):
    w = window
    w.show_train_dialog()
    dlg = w.train_dialog
    out = tmp_path / "m"
    _small(dlg, tiny_data, out)
    dlg.epochs.setValue(1)
    dlg.start()
    qtbot.waitUntil(lambda: dlg.job is None, timeout=120000)
    assert len(dlg.epoch_history) == 1 and not dlg.resume.isChecked()
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    # the same folder again without resume: refused in the dialog, nothing written, the way out named
    dlg.epochs.setValue(2)
    assert dlg.start() is None
    assert "tick “continue the model in that folder”" in dlg.status.text()
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    # a folder of the user's own files: refused with the engine's line
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "me.jpg").write_bytes(b"mine")
    dlg.out.edit.setText(str(photos))
    assert dlg.start() is None and "not a Latent Face Studio model" in dlg.status.text()
    assert os.listdir(photos) == ["me.jpg"]
    # resume: the architecture controls are the folder's own; training continues to 2 epochs
    dlg.out.edit.setText(str(out))
    dlg.resume.setChecked(True)
    assert not dlg.z_dim.isEnabled() and not dlg.channels.isEnabled()
    dlg.start()
    qtbot.waitUntil(lambda: dlg.job is None, timeout=120000)
    from engine.formats.native import read_config

    assert read_config(out).training["epochs_done"] == 2
    QApplication.processEvents()


def test_labels_are_imported_from_the_file_menu_and_a_foreign_folder_is_not_encoded_silently(window, qtbot,
                                                                                          tmp_path, tiny_data):
    import shutil

    w = window
    s = w.session
    files = list(s.model.latent_files)
    labels = tmp_path / "labels.csv"
    labels.write_text("file,Big\n" + "".join(f"{f},{i % 2}\n" for i, f in enumerate(files)))
    before = s.latents.copy()
    # a folder that is not the model's training set: encoding would replace the z-points, so it asks first
    other = tmp_path / "other"
    other.mkdir()
    for p in sorted(tiny_data.iterdir())[:5]:
        shutil.copy(p, other / ("x" + p.name))
    w.open_dataset(other)
    qtbot.waitUntil(lambda: s.dataset is not None and not w.bridge.busy(), timeout=30000)
    assert w.encode_dataset(confirm=False) is None
    assert w.last_error and "is not this model's training set: 0 of its 5 images" in w.last_error
    # File ▸ Import labels…: the model is reopened with them (a copy of the session's tiny model is not needed:
    # labels.csv is written beside it and removed again)
    model_dir = s.model.folder
    try:
        w.import_labels(labels)
        qtbot.waitUntil(lambda: not w.bridge.busy() and s.labels is not None, timeout=30000)
        assert "Big" in s.labels.names and "matched" in (w.last_notice or "")
        import numpy as np

        np.testing.assert_array_equal(s.latents, before)
    finally:
        (model_dir / "labels.csv").unlink(missing_ok=True)
