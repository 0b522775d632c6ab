"""Sampler panel: the sampler picker and controls generated from each sampler's ``Param`` schema.

float → QDoubleSpinBox with the parameter's range, int → QSpinBox, choices → QComboBox,
bool → QCheckBox, other str → QLineEdit; the parameter's help is the tooltip. Count and seed
complete a generation request; the Generate button (Ctrl+G / F5) emits ``generate_requested``.
"Condition on" (attribute + has/lacks, several allowed) fits the sampler only on the z-points whose
labels match, like ``generate --where Smiling=1,Male=-1``; the request carries it as ``where``.

Each sampler keeps its own values while the user switches between samplers ("defaults" resets them);
Enter in any field generates. A changed choice or a committed field (a spin box typed and entered, or stepped:
keyboard tracking is off) emits ``committed`` with the step's name ("sampler to gmm", "components to 12"): the
window makes it an undo step, and :meth:`show_choice` puts the controls back on undo. With no saved settings the panel starts on ``DEFAULT_SAMPLER``, the
measured best (README, "Samplers and how they compare").
"""
from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QListWidget,
    QListWidgetItem, QPushButton, QSpinBox, QToolButton, QVBoxLayout, QWidget,
)

BIG = 1e9
#: The sampler a fresh window starts on: the measured winner (Fréchet distance at the real-vs-real floor).
DEFAULT_SAMPLER = "normal"
#: Parameters shown differently from the engine's value: (sampler, param) -> (prefix, offset). ``path``'s
#: ``axis`` is 0-based in the engine and the CLI; the window calls the axes PC1, PC2, … everywhere.
DISPLAY = {("path", "axis"): ("PC", 1)}
#: One line under the grid: what this sampler's faces are, measured (README, "Samplers and how they compare").
VERDICTS = {
    "normal": "the measured best sampler: its faces are as close to real ones as real faces are to each other",
    "gmm": "ties with normal, the measured best (a mixture of Gaussians instead of one)",
    "pca-ellipse": "each pair of principal axes kept inside an ellipse: at fact 0.7 its faces are too alike and smooth; fact ≈ 1.2 measures as well as normal",
    "box": "each component on its own: the faces are blurred mixtures (6× worse than normal, measured)",
    "uniform": "the deliberately failing baseline: no faces, only mud — see why in the pair plot and Compare samplers",
    "kde": "kernel noise at the default bandwidth: noisier faces than normal",
    "path": "a walk along one line through the cloud: neighbouring faces morph into each other",
}


def format_values(sampler: str, values: dict) -> str:
    """``k=v, …`` as the window shows a sampler's values (``path`` axis as PC1, …)."""
    parts = []
    for k, v in values.items():
        prefix, offset = DISPLAY.get((sampler, k), ("", 0))
        if prefix and isinstance(v, int):
            parts.append(f"{k}={prefix}{v + offset}")
        else:
            parts.append(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}")
    return ", ".join(parts)


def _decimals(p) -> int:
    lo = p.minimum if p.minimum is not None else None
    span = [abs(v) for v in (p.minimum, p.maximum, p.default) if v not in (None, 0)]
    small = min(span) if span else 1.0
    if lo is not None and 0 < lo < 1e-3:
        small = max(small, 1e-4)
    return int(min(6, max(2, 2 - math.floor(math.log10(small)) if small < 1 else 3)))


def value_text(sampler: str, name: str, value) -> str:
    """A field's value as the window shows it ("PC3" for ``path``'s axis 2, ``0.7``, ``on``)."""
    if isinstance(value, bool):
        return "on" if value else "off"
    return format_values(sampler, {name: value}).split("=", 1)[1]


def commit_signal(w: QWidget):
    """The signal a control emits once per committed value."""
    if isinstance(w, QComboBox):
        return w.currentIndexChanged
    if isinstance(w, QCheckBox):
        return w.toggled
    if isinstance(w, (QSpinBox, QDoubleSpinBox)):
        return w.valueChanged  # keyboard tracking off: Enter, focus out or a step, not each key
    return w.editingFinished


def make_control(p, prefix: str = "", offset: int = 0) -> QWidget:
    """One input widget for a sampler Param (an int shown as ``prefix`` + value + ``offset``)."""
    if p.choices:
        w = QComboBox()
        for c in p.choices:
            w.addItem(str(c), c)
        w.setCurrentIndex(max(0, list(p.choices).index(p.default)) if p.default in p.choices else 0)
    elif p.type is bool:
        w = QCheckBox()
        w.setChecked(bool(p.default))
    elif p.type is int:
        w = QSpinBox()
        w.setProperty("offset", int(offset))
        w.setPrefix(prefix)
        w.setRange(int(p.minimum) + offset if p.minimum is not None else -2**31 + 1,
                   int(p.maximum) + offset if p.maximum is not None else 2**31 - 1)
        w.setValue(int(p.default) + offset)
        w.setKeyboardTracking(False)
    elif p.type is float:
        w = QDoubleSpinBox()
        w.setDecimals(_decimals(p))
        w.setRange(float(p.minimum) if p.minimum is not None else -BIG, float(p.maximum) if p.maximum is not None else BIG)
        w.setValue(float(p.default))
        ref = abs(float(p.default)) or 1.0
        w.setSingleStep(10 ** math.floor(math.log10(ref)) / 10 if ref > 0 else 0.1)
        w.setKeyboardTracking(False)
    else:
        w = QLineEdit(str(p.default))
    w.setToolTip(p.describe())
    w.setObjectName(f"param-{p.name}")
    return w


def control_value(w: QWidget, p) -> Any:
    if isinstance(w, QComboBox):
        return w.currentData()
    if isinstance(w, QCheckBox):
        return w.isChecked()
    if isinstance(w, QSpinBox):
        return int(w.value()) - int(w.property("offset") or 0)
    if isinstance(w, QDoubleSpinBox):
        return float(w.value())
    return w.text()


def set_control_value(w: QWidget, value: Any) -> None:
    if isinstance(w, QComboBox):
        i = w.findData(value)
        if i >= 0:
            w.setCurrentIndex(i)
    elif isinstance(w, QCheckBox):
        w.setChecked(bool(value))
    elif isinstance(w, QSpinBox):
        w.setValue(int(value) + int(w.property("offset") or 0))
    elif isinstance(w, QDoubleSpinBox):
        w.setValue(float(value))
    else:
        w.setText(str(value))


class WindowUndoInFields(QObject):
    """Ctrl+Z / Ctrl+Shift+Z in a spin box whose text is its committed value go to the window's Edit ▸ Undo/Redo
    (a line edit takes them for its own text otherwise, and after Enter it has nothing to undo); while a value is
    being typed they stay the field's own."""

    def eventFilter(self, obj, ev) -> bool:  # noqa: N802
        if ev.type() == QEvent.Type.ShortcutOverride and (ev.matches(QKeySequence.StandardKey.Undo)
                                                           or ev.matches(QKeySequence.StandardKey.Redo)):
            spin = obj if isinstance(obj, (QSpinBox, QDoubleSpinBox)) else obj.parent()
            if isinstance(spin, (QSpinBox, QDoubleSpinBox)) and spin.lineEdit().text() == (
                    spin.prefix() + spin.textFromValue(spin.value()) + spin.suffix()):
                ev.ignore()
                return True
        return False


class SamplerPanel(QWidget):
    generate_requested = Signal()
    #: the sampler or one of its fields changed, by the user or a panel (not by :meth:`show_choice`): the step's name
    committed = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._build_controls()
        self._build_conditions()
        self._build_layout()

        self._kept: dict[str, dict] = {}  # sampler -> its values when the user switched away
        self._shown: str | None = None  # the sampler whose controls are shown
        self._quiet = False  # True while show_choice puts the controls back (no commits)
        self._undo_keys = WindowUndoInFields(self)
        i = self.picker.findData(DEFAULT_SAMPLER)
        if i >= 0:
            self.picker.setCurrentIndex(i)
        self._connect_signals()
        self._rebuild()

    # ---- building the panel
    def _build_controls(self) -> None:
        """The sampler picker and summary, the parameters box, faces, seed, generate, defaults, diagnostics."""
        from engine.samplers import SAMPLERS

        self.samplers = SAMPLERS
        self.picker = QComboBox()
        for name, cls in SAMPLERS.items():
            self.picker.addItem(name, name)
            self.picker.setItemData(self.picker.count() - 1, cls.summary, Qt.ItemDataRole.ToolTipRole)
        self.summary = QLabel(" ")
        self.summary.setWordWrap(True)
        self.summary.setStyleSheet("color: #444;")
        self.params_box = QGroupBox("parameters")
        self.form = QFormLayout(self.params_box)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.controls: dict[str, QWidget] = {}
        self.count = QSpinBox()
        self.count.setRange(1, 1024)
        self.count.setValue(32)
        self.count.setToolTip("how many faces to generate")
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setToolTip("random seed: the same seed and parameters give the same faces")
        self.next_seed = QCheckBox("new each time")
        self.next_seed.setToolTip("advance the seed after every Generate")
        self.generate_btn = QPushButton("Generate  (Ctrl+G)")
        self.generate_btn.setObjectName("generateButton")
        self.generate_btn.setDefault(True)
        self.generate_btn.setMinimumHeight(30)
        self.defaults_btn = QPushButton("defaults")
        self.defaults_btn.setToolTip("reset the parameters to the sampler's defaults")
        self.diagnostics = QLabel("")
        self.diagnostics.setWordWrap(True)
        self.diagnostics.setStyleSheet("color: #555;")

    def _build_conditions(self) -> None:
        """Condition on attributes: have/lack an attribute, the list of conditions, remove and clear."""
        self.labels = None  # engine.attributes.AttributeTable of the open model
        self.where_box = QGroupBox("condition on attributes")
        self.where_box.setObjectName("conditionBox")
        wl = QVBoxLayout(self.where_box)
        wl.setContentsMargins(4, 4, 4, 4)
        wl.setSpacing(2)
        pick = QHBoxLayout()
        self.where_has = QComboBox()
        self.where_has.addItem("have", 1.0)
        self.where_has.addItem("lack", -1.0)
        self.where_attr = QComboBox()
        self.where_attr.setObjectName("conditionAttribute")
        self.where_attr.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.where_attr.setMinimumContentsLength(8)
        self.where_add = QToolButton()
        self.where_add.setText("add")
        self.where_add.setToolTip("add this condition (several are combined with AND)")
        pick.addWidget(self.where_has)
        pick.addWidget(self.where_attr, 1)
        pick.addWidget(self.where_add)
        wl.addLayout(pick)
        self.where_list = QListWidget()
        self.where_list.setObjectName("conditionList")
        self.where_list.setMaximumHeight(64)
        self.where_list.setToolTip("the conditions; select one and press remove (or Delete)")
        wl.addWidget(self.where_list)
        foot = QHBoxLayout()
        from .qt_widgets import ElidedLabel

        self.where_count = ElidedLabel("")
        self.where_count.setStyleSheet("color: #555;")
        self.where_remove = QToolButton()
        self.where_remove.setText("remove")
        self.where_clear = QToolButton()
        self.where_clear.setText("clear")
        foot.addWidget(self.where_count, 1)
        foot.addWidget(self.where_remove)
        foot.addWidget(self.where_clear)
        wl.addLayout(foot)
        self.where_add.clicked.connect(lambda: self.add_condition(self.where_attr.currentText(), self.where_has.currentData() > 0))
        self.where_remove.clicked.connect(self._remove_selected_condition)
        self.where_clear.clicked.connect(self.clear_conditions)
        self.set_attributes([])

    def _build_layout(self) -> None:
        """The picker, summary, parameters, conditions, faces and seed, the buttons, the diagnostics."""
        run = QFormLayout()
        run.addRow("faces", self.count)
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(self.next_seed)
        run.addRow("seed", seed_row)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        head = QHBoxLayout()
        head.addWidget(QLabel("sampler"))
        head.addWidget(self.picker, 1)
        lay.addLayout(head)
        lay.addWidget(self.summary)
        lay.addWidget(self.params_box)
        lay.addWidget(self.where_box)
        lay.addLayout(run)
        btns = QHBoxLayout()
        btns.addWidget(self.generate_btn, 1)
        btns.addWidget(self.defaults_btn)
        lay.addLayout(btns)
        lay.addWidget(self.diagnostics)
        lay.addStretch(1)

    def _connect_signals(self) -> None:
        """The picker and the buttons."""
        self.picker.currentIndexChanged.connect(self._picked)
        self.generate_btn.clicked.connect(self.generate_requested)
        self.defaults_btn.clicked.connect(self.reset_defaults)

    # ---- schema → controls
    def _rebuild(self, *_, keep: bool = True) -> None:
        if self._shown is not None and self.controls:  # the sampler we leave keeps its values
            old = self.samplers[self._shown]
            self._kept[self._shown] = {p.name: control_value(self.controls[p.name], p) for p in old.params
                                       if p.name in self.controls}
        while self.form.rowCount():
            self.form.removeRow(0)
        self.controls = {}
        name = self.sampler_name()
        cls = self.samplers[name]
        self.summary.setText(cls.summary)
        kept = self._kept.get(name, {}) if keep else {}
        for p in cls.params:
            prefix, offset = DISPLAY.get((name, p.name), ("", 0))
            w = make_control(p, prefix, offset)
            if p.name in kept:
                set_control_value(w, kept[p.name])
            commit_signal(w).connect(lambda *_, n=p.name: self._field_committed(n))
            if isinstance(w, (QSpinBox, QDoubleSpinBox)):  # (the spin box hears the keys first, then its line edit)
                w.installEventFilter(self._undo_keys)
                w.lineEdit().installEventFilter(self._undo_keys)
            self.controls[p.name] = w
            label = QLabel(p.name)
            label.setToolTip(p.help)
            self.form.addRow(label, w)
        if not cls.params:
            self.form.addRow(QLabel("(no parameters)"))
        self._shown = name
        self.diagnostics.setText("")

    def _picked(self, *_) -> None:
        self._rebuild()
        self._commit(f"sampler to {self.sampler_name()}")

    def _field_committed(self, name: str) -> None:
        if name in self.controls:
            self._commit(f"{name} to {value_text(self.sampler_name(), name, self.values().get(name))}")

    def _commit(self, label: str) -> None:
        if not self._quiet:
            self.committed.emit(label)

    def choice(self) -> tuple[str, dict]:
        """The sampler shown and its fields' values."""
        return self.sampler_name(), self.values()

    def show_choice(self, sampler: dict | None) -> None:
        """Put the controls back to ``{"name", "values"}`` (undo, redo) without committing anything."""
        if not sampler or (sampler.get("name"), sampler.get("values")) == self.choice():
            return
        self._quiet = True
        try:
            self.apply_choice(sampler["name"], sampler.get("values"))
        finally:
            self._quiet = False

    def apply_choice(self, name: str, values: dict | None) -> bool:
        """Show sampler ``name`` with ``values`` in the fields it has (a session, a bookmark, undo); False (nothing
        changed) for a sampler this panel does not offer."""
        if not self.set_sampler(name):
            return False
        for key, value in (values or {}).items():
            if key in self.controls:
                self.set_value(key, value)
        return True

    def reset_defaults(self) -> None:
        """The shown sampler's parameters back to its defaults."""
        self._kept.pop(self.sampler_name(), None)
        self._shown = None
        self._rebuild(keep=False)
        self._commit(f"{self.sampler_name()} defaults")

    def kept_values(self) -> dict[str, dict]:
        """Every sampler's values as the user left them (the shown one's current values included)."""
        out = {k: dict(v) for k, v in self._kept.items()}
        out[self.sampler_name()] = self.values()
        return out

    def restore_values(self, kept: dict) -> None:
        """Values per sampler (from :meth:`kept_values`, e.g. saved settings); unknown names are ignored."""
        for name, vals in (kept or {}).items():
            if name in self.samplers and isinstance(vals, dict):
                known = {p.name for p in self.samplers[name].params}
                self._kept[name] = {k: v for k, v in vals.items() if k in known}
        self._shown = None
        self._rebuild()
        self._commit("sampler values")

    # ---- API
    def sampler_name(self) -> str:
        return self.picker.currentData() or next(iter(self.samplers))

    def set_sampler(self, name: str) -> bool:
        i = self.picker.findData(name)
        if i < 0:
            return False
        self.picker.setCurrentIndex(i)
        return True

    def values(self) -> dict[str, Any]:
        cls = self.samplers[self.sampler_name()]
        return {p.name: control_value(self.controls[p.name], p) for p in cls.params}

    def set_value(self, name: str, value: Any) -> None:
        set_control_value(self.controls[name], value)

    def request(self) -> dict:
        """What to generate: sampler, values, n and seed (and advance the seed when asked)."""
        req = {"sampler": self.sampler_name(), "values": self.values(), "n": self.count.value(), "seed": self.seed.value(),
               "where": self.where()}
        if self.next_seed.isChecked():
            self.seed.setValue((self.seed.value() + 1) % self.seed.maximum())
        return req

    # ---- condition on
    def set_attributes(self, names, labels=None) -> None:
        """The open model's attribute names (and its AttributeTable, to show how many z-points match)."""
        self.labels = labels
        names = list(names)
        keep = [c for c in self.conditions() if c[0] in names]
        self.where_attr.clear()
        self.where_attr.addItems(names)
        self.where_list.clear()
        for name, has in keep:
            self.add_condition(name, has)
        for w in (self.where_has, self.where_attr, self.where_add, self.where_list, self.where_remove, self.where_clear):
            w.setEnabled(bool(names))
        self.where_box.setToolTip("" if names else "the model has no labels.csv: attach labels with "
                                  "File ▸ Import labels…")
        self._update_count()

    def add_condition(self, name: str, has: bool = True) -> bool:
        if not name or self.where_attr.findText(name) < 0:
            return False
        for i in range(self.where_list.count()):  # one condition per attribute: the newest wins
            if self.where_list.item(i).data(Qt.ItemDataRole.UserRole)[0] == name:
                self.where_list.takeItem(i)
                break
        item = QListWidgetItem(f"{'have' if has else 'lack'} {name}")
        item.setData(Qt.ItemDataRole.UserRole, (name, bool(has)))
        self.where_list.addItem(item)
        self._update_count()
        return True

    def _remove_selected_condition(self) -> None:
        for item in self.where_list.selectedItems() or ([self.where_list.item(self.where_list.count() - 1)] if self.where_list.count() else []):
            self.where_list.takeItem(self.where_list.row(item))
        self._update_count()

    def clear_conditions(self) -> None:
        self.where_list.clear()
        self._update_count()

    def conditions(self) -> list[tuple[str, bool]]:
        return [tuple(self.where_list.item(i).data(Qt.ItemDataRole.UserRole)) for i in range(self.where_list.count())]

    def where(self) -> str:
        """The conditions as ``generate --where`` text ("Smiling=1,Eyeglasses=-1"; "" for none)."""
        return ",".join(f"{n}={1 if has else -1}" for n, has in self.conditions())

    def set_where(self, text: str) -> None:
        """The conditions of a text :meth:`where` wrote (a session's, a bookmark's), in place of the listed ones."""
        self.clear_conditions()
        for part in filter(None, text.split(",")):
            name, _, sign = part.rpartition("=")
            self.add_condition(name, sign.strip() != "-1")

    def _update_count(self) -> None:
        w = self.where()
        if not w:
            self.where_count.setText("all z-points" if self.where_attr.count() else "")
            return
        if self.labels is None:
            self.where_count.setText("")
            return
        try:
            from engine.attributes import parse_where, subset_mask

            n = int(subset_mask(self.labels, parse_where(w)).sum())
            self.where_count.setText(f"{n:,} of {len(self.labels):,} z-points match")
        except Exception as exc:  # noqa: BLE001 - the count is a hint; Generate reports the engine's error
            self.where_count.setText(str(exc))

    def keyPressEvent(self, ev) -> None:  # noqa: N802
        if ev.key() == Qt.Key.Key_Delete and self.where_list.hasFocus():
            self._remove_selected_condition()
            return
        if ev.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):  # Enter in a parameter field (it passes the key on)
            self.generate_requested.emit()
            return
        super().keyPressEvent(ev)

    def show_diagnostics(self, diag: dict | None) -> None:
        if not diag:
            self.diagnostics.setText("")
            return
        parts = []
        for k, v in diag.items():
            if isinstance(v, float):
                parts.append(f"{k}: {v:.4g}")
            elif isinstance(v, (int, str, bool)):
                parts.append(f"{k}: {v}")
            else:
                try:
                    import numpy as np

                    a = np.asarray(v, float).ravel()
                    if a.size:
                        parts.append(f"{k}: {a.size} values, mean {a.mean():.3g} (min {a.min():.3g}, max {a.max():.3g})")
                except (TypeError, ValueError):
                    pass
        self.diagnostics.setText("\n".join(parts))

    def clear_model_state(self) -> None:
        """Another model (``Session.model_reset``): the previous model's fit diagnostics go."""
        self.show_diagnostics(None)
