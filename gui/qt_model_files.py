"""File ▸ Import model… and Export model…: the dialogs that ask what the CLI's ``import`` and ``export`` take.

The choices come from the engine: the file kinds of the file dialogs from the importer registry
(``engine.formats.registry``: each importer's title and suffixes), the formats from the exporter registry, and the
import's options from its ``IMPORT_PARAMS`` rows (their help is each control's tooltip). The dialogs only collect
the values; ``WindowActions.import_model`` / ``export_model`` run the workflows on the worker, where every check of
the CLI applies (untrusted files, a new or empty output folder).
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtWidgets import (
    QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit,
    QPushButton, QRadioButton, QSpinBox, QVBoxLayout, QWidget,
)

#: The import's file options (picked with a file dialog) and the output; the rest of IMPORT_PARAMS are options.
FILE_PARAMS = ("model_file", "encoder", "decoder", "out")
#: What an empty option means: the model's files say it (or the workflow's default).
FROM_MODEL = "(from the model)"


def import_file_filter() -> str:
    """The file dialogs' filter: every importable kind at once, then one per importer (engine's registry)."""
    from engine.formats.registry import importer, importer_names

    kinds = []
    for name in importer_names():
        imp = importer(name)
        title = imp.title.split(" ", 1)[-1]  # "an ONNX" → "ONNX"
        kinds.append((title, " ".join(f"*{s}" for s in imp.suffixes)))
    every = " ".join(p for _t, p in kinds)
    return ";;".join([f"Model files ({every})"] + [f"{t} ({p})" for t, p in kinds] + ["All files (*)"])


class _PathRow(QWidget):
    """A line edit and a Browse… button that opens a file dialog."""

    def __init__(self, title: str, file_filter: str, start: str, parent=None) -> None:
        super().__init__(parent)
        self.edit = QLineEdit()
        self.edit.setMinimumWidth(320)
        self.browse = QPushButton("Browse…")
        self.browse.clicked.connect(lambda *_: self._browse(title, file_filter, start))
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.edit, 1)
        lay.addWidget(self.browse)

    def _browse(self, title: str, file_filter: str, start: str) -> None:
        path, _ = QFileDialog.getOpenFileName(self, title, self.edit.text() or start, file_filter)
        if path:
            self.edit.setText(path)

    def value(self) -> Optional[str]:
        return self.edit.text().strip() or None


def _option_control(p) -> QWidget:
    """A control for one IMPORT_PARAMS row: a choice, a whole number (0: from the model) or text."""
    if p.choices:
        w = QComboBox()
        w.addItem(FROM_MODEL, None)
        for c in p.choices:
            w.addItem(str(c), c)
    elif p.type is int:
        w = QSpinBox()
        w.setRange(0, 4096)
        w.setSpecialValueText(FROM_MODEL)
    else:
        w = QLineEdit()
        w.setPlaceholderText(p.metavar or FROM_MODEL)
    w.setToolTip(p.help)
    return w


def _option_value(w: QWidget):
    if isinstance(w, QComboBox):
        return w.currentData()
    if isinstance(w, QSpinBox):
        return w.value() or None
    return w.text().strip() or None


class ImportModelDialog(QDialog):
    """What to import (one Keras file holding the whole autoencoder, or encoder + decoder files), the options the
    files may not say, and the new model folder to write."""

    def __init__(self, parent=None, start: str = "", out: str = "") -> None:
        from engine.workflows.import_model import IMPORT_PARAMS

        from .param_names import control_name

        super().__init__(parent)
        self.setWindowTitle("Import model")
        params = {p.name: p for p in IMPORT_PARAMS}
        filt = import_file_filter()
        self.whole = QRadioButton("one file holding the whole autoencoder (Keras)")
        self.halves = QRadioButton("an encoder file and a decoder file (ONNX or Keras)")
        self.halves.setChecked(True)
        self.files = {name: _PathRow(f"Import model — {control_name(name) or name}", filt, start)
                      for name in ("model_file", "encoder", "decoder")}
        for name, row in self.files.items():
            row.setToolTip(params[name].help)
        form = QFormLayout()
        form.addRow(self.whole)
        form.addRow(control_name("model_file"), self.files["model_file"])
        form.addRow(self.halves)
        form.addRow(control_name("encoder"), self.files["encoder"])
        form.addRow(control_name("decoder"), self.files["decoder"])
        self.options: dict[str, QWidget] = {}
        opts = QGroupBox("when the files do not say it (optional)")
        opt_form = QFormLayout(opts)
        for p in IMPORT_PARAMS:
            if p.name in FILE_PARAMS:
                continue
            if p.kind == "path":
                w = _PathRow(f"Import model — {control_name(p.name) or p.name}", "JSON (*.json);;All files (*)",
                             start)
                w.setToolTip(p.help)
            else:
                w = _option_control(p)
            self.options[p.name] = w
            opt_form.addRow(control_name(p.name) or p.name, w)
        self.out = QLineEdit(out)
        self.out.setToolTip(params["out"].help)
        out_btn = QPushButton("Browse…")
        out_btn.clicked.connect(self._browse_out)
        out_row = QHBoxLayout()
        out_row.addWidget(self.out, 1)
        out_row.addWidget(out_btn)
        note = QLabel("The files are checked before anything runs (a file that reads other files, runs code or is "
                      "beyond the app's limits is refused); the new model folder is written only when every check "
                      "passes.")
        note.setWordWrap(True)
        note.setStyleSheet("color: #555;")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Import")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(opts)
        out_form = QFormLayout()
        out_form.addRow(f"{control_name('out')} (new or empty)", out_row)
        lay.addLayout(out_form)
        lay.addWidget(note)
        lay.addWidget(buttons)
        self.whole.toggled.connect(self._mode_changed)
        self._mode_changed()

    def _mode_changed(self, *_) -> None:
        whole = self.whole.isChecked()
        self.files["model_file"].setEnabled(whole)
        for name in ("encoder", "decoder"):
            self.files[name].setEnabled(not whole)
        self.options["split_layer"].setEnabled(whole)

    def _browse_out(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getSaveFileName(self, "New model folder — name a new folder (it is created)",
                                              self.out.text(), "Folder (*)",
                                              options=QFileDialog.Option.DontConfirmOverwrite)
        if path:
            self.out.setText(path)

    def set_files(self, model_file=None, encoder=None, decoder=None) -> None:
        """Fill in the files (tests, a drop): one whole-model file, or the two halves."""
        self.whole.setChecked(model_file is not None)
        self.halves.setChecked(model_file is None)
        for name, v in (("model_file", model_file), ("encoder", encoder), ("decoder", decoder)):
            self.files[name].edit.setText("" if v is None else str(v))

    def values(self) -> dict:
        """The workflow's keyword arguments (engine.workflows.import_model.import_model), as the CLI passes them."""
        whole = self.whole.isChecked()
        out = {name: (row.value() if (name == "model_file") == whole else None) for name, row in self.files.items()}
        for name, w in self.options.items():
            v = w.value() if isinstance(w, _PathRow) else _option_value(w)
            out[name] = v if (name != "split_layer" or whole) else None
        out["out"] = self.out.text().strip() or None
        return out


def ask_export_target(parent, model_name: str, start: Path) -> Optional[tuple[str, Path]]:
    """File ▸ Export model…: the format (the exporter registry's; asked only when there are several) and the new
    folder to write; None when cancelled."""
    from PySide6.QtWidgets import QInputDialog

    from engine.formats.registry import exporter_names

    names = exporter_names()
    fmt = names[0]
    if len(names) > 1:
        fmt, ok = QInputDialog.getItem(parent, "Export model", f"Export {model_name} as", names, 0, False)
        if not ok:
            return None
    path, _ = QFileDialog.getSaveFileName(parent, f"Export model as {fmt.upper()} — name a new folder (it is created)",
                                          str(start), "Folder (*)", options=QFileDialog.Option.DontConfirmOverwrite)
    return (fmt, Path(path)) if path else None
