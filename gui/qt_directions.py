"""Direction lab (issue 17): find directions in the cloud (PCA, ICA, varimax, the decoder's closed form,
attribute and conditional directions), see them named and measured in a table sorted by any column, keep
them (save / load a set), edit faces along them (an inspector slider), and a 2-D map of the cloud
(t-SNE / PCA, view only) coloured by an attribute.

Everything is computed by ``engine.workflows.directions`` on the worker; this panel only renders its rows.
The method list and the map list are the registries' (``engine.lab.method_specs``, ``engine.lab.map_specs``).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QListWidget, QListWidgetItem,
    QMessageBox, QPushButton, QSpinBox, QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget,
)

from . import plot_style as ps
from .engine_bridge import EngineBridge, Job
from .qt_inspector import FaceView
from .qt_widgets import ElidedLabel, flow, plot_widget, row, setup_plot
from .session import Session


def _cell_text(key: str, value, fmt: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if key in ("name", "label"):
        return str(value)
    try:
        return fmt.format(value).strip()
    except (ValueError, TypeError):
        return str(value)


class DirectionsPanel(QWidget):
    add_slider_requested = Signal(object)  # an engine.lab.Direction
    inspect_face_requested = Signal()

    def __init__(self, session: Session, bridge: EngineBridge, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.bridge = bridge
        self.setObjectName("directionsPanel")
        self.rows: list[dict] = []  # engine.lab.table_rows, in the shown order
        self.sort_key: Optional[str] = None
        self.sort_descending: Optional[bool] = None
        self.job: Optional[Job] = None
        self.map_job: Optional[Job] = None
        self.latent_map = None  # engine.lab.LatentMap
        self.set_name = "directions"

        self._build_controls()
        table_page = self._build_table()
        map_page = self._build_map()
        self._build_layout(table_page, map_page)
        self._connect(session)
        self._model_changed()
        self._map_method_changed()

    # ---- building the panel
    def _build_controls(self) -> None:
        """The lab: method, k, the attribute it moves, the attributes it holds, compute and cancel."""
        from engine import lab as D

        self.method = QComboBox()
        self.method.setObjectName("directionMethod")
        for spec in D.method_specs():
            self.method.addItem(spec.name, spec.name)
            self.method.setItemData(self.method.count() - 1, spec.help, Qt.ItemDataRole.ToolTipRole)
        self.k = QSpinBox()
        self.k.setObjectName("directionK")
        self.k.setRange(1, 64)
        self.k.setValue(10)
        self.k.setToolTip("how many directions (unsupervised methods)")
        self.move_pick = QComboBox()
        self.move_pick.setObjectName("directionMove")
        self.move_pick.setToolTip("the attribute a conditional direction moves")
        self.move_row = row("move", self.move_pick)
        self.attr_list = QListWidget()
        self.attr_list.setObjectName("directionAttributes")
        self.attr_list.setMaximumHeight(90)
        self.attr_list.setMinimumWidth(150)
        self.attr_caption = QLabel("hold")
        self.compute_btn = QPushButton("Compute")
        self.compute_btn.setObjectName("directionCompute")
        self.compute_btn.setToolTip("find, name and measure the directions on the worker (Esc cancels)")
        self.compute_btn.clicked.connect(lambda *_: self.compute())
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.setEnabled(False)
        self.cancel_btn.clicked.connect(self.cancel)
        self.status = ElidedLabel("")
        self.status.setObjectName("directionStatus")
        self.status.setStyleSheet("color: #555;")

    def _build_table(self) -> QWidget:
        """The table of directions (sortable) and its buttons: the Table page."""
        from engine import lab as D

        self.table = QTableWidget(0, len(D.COLUMNS))
        self.table.setObjectName("directionTable")
        self.table.setHorizontalHeaderLabels([h for _k, h, _f in D.COLUMNS])
        tips = {"sigma": "z units of one unit (= the cloud's σ along the direction)",
                "variance_share": "σ² ÷ the cloud's total variance",
                "top_effect": "the largest |change of an attribute judge's log-odds| per unit",
                "pixel_mse": "mean squared pixel change per unit (pixels in [0, 1])",
                "feature_change": "feature-space change per unit ÷ the distance between two faces",
                "outside_2s": "fraction of typical faces a ±2 move carries outside the 2σ ellipsoid",
                "maha_per_unit": "Mahalanobis length of one unit (1 = a principal axis)",
                "max_overlap": "the largest |cosine| with another direction of the set",
                "label": "the attributes it moves most: + more, − less (judge log-odds per unit)"}
        for c, (key, _h, _f) in enumerate(D.COLUMNS):
            item = self.table.horizontalHeaderItem(c)
            item.setToolTip((tips.get(key, "") + "\nclick: sort by this column (again: reverse)").strip())
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        hh = self.table.horizontalHeader()
        hh.setSectionsClickable(True)
        hh.setSortIndicatorShown(True)
        hh.setStretchLastSection(True)
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        hh.sectionClicked.connect(self._header_clicked)
        # what a direction does, next to its name (as the last column it was out of view in a docked panel);
        # a short header, the whole explanation in its tooltip
        keys = [k for k, _h, _f in D.COLUMNS]
        self.table.horizontalHeaderItem(keys.index("label")).setText("moves most")
        hh.moveSection(hh.visualIndex(keys.index("label")), hh.visualIndex(keys.index("name")) + 1)
        self.table.doubleClicked.connect(lambda *_: self.add_slider())
        self.slider_btn = QPushButton("Add as inspector slider")
        self.slider_btn.setObjectName("directionSlider")
        self.slider_btn.setToolTip("a slider in the face inspector along the selected direction (amount in σ; "
                                   "double-click a row does the same)")
        self.slider_btn.clicked.connect(self.add_slider)
        self.save_btn = QPushButton("Save set…")
        self.save_btn.setToolTip("NAME.json + NAME.npy, with the model id")
        self.save_btn.clicked.connect(self.save_dialog)
        self.load_btn = QPushButton("Load set…")
        self.load_btn.setToolTip("a saved set; another model's set only when you confirm")
        self.load_btn.clicked.connect(self.load_dialog)

        table_page = QWidget()
        tl = QVBoxLayout(table_page)
        tl.setContentsMargins(2, 2, 2, 2)
        tl.addWidget(self.table, 1)
        tl.addWidget(flow(self.slider_btn, self.save_btn, self.load_btn, spacing=6))
        self.apply_all = self._build_apply_all()
        tl.addWidget(self.apply_all)
        return table_page

    def _build_apply_all(self):
        """The selected direction applied to every face of the grid (``gui.qt_apply_all``; amount in σ)."""
        from .qt_apply_all import ApplyToAllBox

        def source():
            d = self.selected_direction()
            if d is None:
                return None

            def resolve(model, d=d):
                from engine.editing import Move

                return Move.of_direction(d)

            return ("direction", d.name, id(d)), d.name, "σ", resolve

        box = ApplyToAllBox(self.session, self.bridge, source, span=3.0, name="directionApplyAll")
        self.table.itemSelectionChanged.connect(box.refresh)
        return box

    def _build_map(self) -> QWidget:
        """The map (view only): method, colour, the plot and the clicked training face: the Map page."""
        from engine import lab as D

        self.map_method = QComboBox()
        self.map_method.setObjectName("mapMethod")
        for spec in D.map_specs():
            if spec.available():
                self.map_method.addItem(spec.label, spec.name)
        self.map_method.currentIndexChanged.connect(self._map_method_changed)
        self.map_btn = QPushButton("Compute map")
        self.map_btn.setObjectName("mapCompute")
        self.map_btn.clicked.connect(lambda *_: self.compute_map())
        self.map_colour = QComboBox()
        self.map_colour.setObjectName("mapColour")
        self.map_colour.setToolTip("colour the map's points by an attribute (present / absent)")
        self.map_colour.currentIndexChanged.connect(self._draw_map)
        self.map_note = ElidedLabel("")
        self.map_note.setStyleSheet("color: #b36b00;")
        self.view_only = QLabel("view only")
        self.view_only.setStyleSheet("color: white; background: #b36b00; padding: 1px 5px; border-radius: 3px;")
        self.view_only.setToolTip(D.VIEW_ONLY_NOTE)
        self.map_plot = plot_widget()
        self.map_plot.setObjectName("directionMap")
        self.map_plot.setMenuEnabled(False)
        self.map_plot.getPlotItem().hideAxis("left")
        self.map_plot.getPlotItem().hideAxis("bottom")
        self.map_plot.setAspectLocked(True)
        self.map_items: list[pg.ScatterPlotItem] = []
        self.map_legend = self.map_plot.getPlotItem().addLegend(offset=(-8, 8), labelTextSize="8pt")
        self.map_pick = pg.ScatterPlotItem(size=16, pen=ps.pen(ps.SELECTED, 2.5), brush=None)
        self.map_pick.setZValue(10)
        self.map_plot.addItem(self.map_pick)
        self.map_plot.scene().sigMouseClicked.connect(self._map_clicked)
        setup_plot(self.map_plot)
        from .qt_selection_layer import map_selection

        self.map_selector = map_selection(self)  # lasso the map: the cloud's selection (and its highlight)
        self.map_face = FaceView()
        self.map_face.setMinimumSize(96, 96)
        self.map_face.setMaximumWidth(180)
        self.map_face.placeholder = "click a point:\nthat training face,\ndecoded"
        self.map_face.set_image(None)
        self.map_face_caption = ElidedLabel("")
        self.map_face_caption.setStyleSheet("color: #555;")
        map_page = QWidget()
        ml = QVBoxLayout(map_page)
        ml.setContentsMargins(2, 2, 2, 2)
        ml.addWidget(flow(row("map", self.map_method, self.map_btn), row("colour", self.map_colour), self.view_only,
                          self.map_tool_bar, spacing=8))
        ml.addWidget(self.map_note)
        mrow = QHBoxLayout()
        mrow.addWidget(self.map_plot, 3)
        face_col = QVBoxLayout()
        face_col.addWidget(self.map_face, 1)
        face_col.addWidget(self.map_face_caption)
        mrow.addLayout(face_col, 1)
        ml.addLayout(mrow, 1)
        return map_page

    def _build_layout(self, table_page: QWidget, map_page: QWidget) -> None:
        """The controls, the attributes, the status line and the Table and Map tabs."""
        self.tabs = QTabWidget()
        self.tabs.addTab(table_page, "Table")
        self.tabs.addTab(map_page, "Map (view only)")

        controls = flow(row("method", self.method), row("k", self.k), self.move_row, self.compute_btn,
                        self.cancel_btn, spacing=8)
        attrs = QHBoxLayout()
        attrs.addWidget(self.attr_caption)
        attrs.addWidget(self.attr_list, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(3)
        lay.addWidget(controls)
        self.attr_widget = QWidget()
        self.attr_widget.setLayout(attrs)
        attrs.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.attr_widget)
        lay.addWidget(self.status)
        lay.addWidget(self.tabs, 1)

    def _connect(self, session: Session) -> None:
        """The method choice and the session's signals."""
        self.method.currentIndexChanged.connect(self._method_changed)
        session.model_changed.connect(self._model_changed)

    # ---- state
    def directions(self) -> list:
        return list(self.session.directions)

    def _model_changed(self) -> None:
        for j in (self.job, self.map_job):
            if j is not None:
                j.cancel.cancel()
        self.job = self.map_job = None
        self.rows = []
        self.latent_map = None
        self.sort_key = self.sort_descending = None
        self._fill_table()
        self._draw_map()
        labels = self.session.labels
        names = list(labels.names) if labels is not None else []
        self.move_pick.clear()
        self.move_pick.addItems(names)
        self.attr_list.clear()
        for n in names:
            it = QListWidgetItem(n)
            it.setFlags(it.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            it.setCheckState(Qt.CheckState.Unchecked)
            self.attr_list.addItem(it)
        self.map_colour.blockSignals(True)
        self.map_colour.clear()
        self.map_colour.addItem("no colour", None)
        for n in names:
            self.map_colour.addItem(n, n)
        if "Smiling" in names:
            self.map_colour.setCurrentIndex(self.map_colour.findData("Smiling"))
        self.map_colour.blockSignals(False)
        from engine.lab import method_specs

        for spec in method_specs():
            item = self.method.model().item(self.method.findData(spec.name))
            if item is not None and spec.needs_labels:
                item.setEnabled(bool(names))
        has = self.session.latents is not None
        self.compute_btn.setEnabled(has)
        self.map_btn.setEnabled(has)
        self.load_btn.setEnabled(has)
        self.status.setText("" if has else "open a model with encoded z-points")
        self._method_changed()

    def _method_changed(self, *_) -> None:
        from engine.lab import method_names, method_spec

        m = self.method.currentData()
        spec = method_spec(m) if m in method_names() else None
        takes = spec.takes if spec is not None else (lambda _what: False)
        self.k.setEnabled(takes("k"))
        self.move_row.setVisible(takes("hold"))  # one attribute moved, the ticked ones held
        self.attr_widget.setVisible(takes("attributes"))
        self.attr_caption.setText("hold" if takes("hold") else "attributes")
        self.method.setToolTip(spec.help if spec is not None else "")

    def checked_attributes(self) -> list[str]:
        return [self.attr_list.item(i).text() for i in range(self.attr_list.count())
                if self.attr_list.item(i).checkState() == Qt.CheckState.Checked]

    def set_checked(self, names) -> None:
        for i in range(self.attr_list.count()):
            it = self.attr_list.item(i)
            it.setCheckState(Qt.CheckState.Checked if it.text() in names else Qt.CheckState.Unchecked)

    # ---- computing
    def compute(self, method: Optional[str] = None, k: Optional[int] = None) -> Optional[Job]:
        s = self.session
        if s.model is None or s.latents is None:
            return None
        if method is not None:
            self.method.setCurrentIndex(self.method.findData(method))
        if k is not None:
            self.k.setValue(int(k))
        m = self.method.currentData()
        k = self.k.value()
        z, labels, codec = s.latents, s.labels, s.model.codec
        move, held = self.move_pick.currentText(), self.checked_attributes()

        def fn(progress, cancel):
            from engine.lab import method_spec
            from engine.workflows.directions import DirectionOptions, compute_directions

            spec = method_spec(m)
            table = labels if labels is not None and len(labels) == len(z) else None
            moved, hold = [], []
            if spec.takes("hold"):  # the move pick is moved, the ticked attributes are held
                moved, hold = [move], held
            elif spec.takes("attributes") and table is not None:  # the ticked attributes, or all of them
                moved = held or list(table.names)
            res = compute_directions(z, DirectionOptions(m, k, moved, hold), model=codec, table=table,
                                     progress=progress, cancel=cancel)
            return res.directions, res.rows

        from engine.workflows.estimates import expected_directions

        expected = expected_directions(z, labels if labels is not None and len(labels) == len(z) else None, m, k)
        return self._run(f"directions ({m})", fn, f"{m}-directions", expected=expected,
                         plain=f"Finding directions ({m})")

    def _run(self, title: str, fn, set_name: str, expected=None, plain: str = "") -> Job:
        model = self.session.model

        def done(result):
            self.job = None
            self.cancel_btn.setEnabled(False)
            self.compute_btn.setEnabled(True)
            if self.session.model is not model:
                return
            dirs, rows = result
            mean = self.session.stats.mean if self.session.stats is not None else None
            for d in dirs:
                if d.origin is None and mean is not None:
                    d.origin = np.asarray(mean, np.float64)
            self.set_name = set_name
            self.rows = rows
            self.session.set_directions(dirs)
            self.sort_key = self.sort_descending = None
            self._fill_table()
            self.status.setText(f"{len(dirs)} direction(s) · one unit = one σ of the cloud along it · click a "
                                "column header to sort")

        def failed(msg):
            self.job = None
            self.cancel_btn.setEnabled(False)
            self.compute_btn.setEnabled(True)
            self.status.setText(msg)
            win = self.window()
            if hasattr(win, "show_error"):
                win.show_error(msg, title=f"{title} failed")

        def cancelled():
            self.job = None
            self.cancel_btn.setEnabled(False)
            self.compute_btn.setEnabled(True)
            self.status.setText(f"{title}: cancelled")

        notice = f" {expected.notice(what=False)} ·" if expected is not None and expected.long else ""  # said first
        self.status.setText(f"{title}:{notice} …")
        self.cancel_btn.setEnabled(True)
        self.compute_btn.setEnabled(False)
        self.job = Job(title, fn, on_done=done, on_error=failed, on_cancelled=cancelled,
                       on_progress=lambda p: self.status.setText(f"{title}:{notice} {p.message or p.job}"),
                       key="direction-lab", title=plain, expected=expected)
        return self.bridge.submit(self.job)

    def cancel(self) -> None:
        for j in (self.job, self.map_job):
            if j is not None:
                j.cancel.cancel()

    # ---- the table
    def _fill_table(self) -> None:
        from engine.lab import COLUMNS

        t = self.table
        t.setRowCount(len(self.rows))
        for r, rowd in enumerate(self.rows):
            for c, (key, _h, fmt) in enumerate(COLUMNS):
                v = rowd.get(key)
                item = QTableWidgetItem(_cell_text(key, v, fmt))
                if key not in ("name", "label"):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if key == "label":
                    item.setToolTip(str(v))
                t.setItem(r, c, item)
        t.resizeColumnsToContents()
        for c, (key, _h, _f) in enumerate(COLUMNS):
            if key == "name":
                t.setColumnWidth(c, min(t.columnWidth(c), 150))
            elif key == "label":
                t.setColumnWidth(c, min(t.columnWidth(c), 240))  # the whole text is the cell's tooltip
        hh = t.horizontalHeader()
        if self.sort_key is None:
            hh.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        else:
            col = [k for k, _h, _f in COLUMNS].index(self.sort_key)
            hh.setSortIndicator(col, Qt.SortOrder.DescendingOrder if self.sort_descending else Qt.SortOrder.AscendingOrder)
        self.save_btn.setEnabled(bool(self.rows))
        self.slider_btn.setEnabled(bool(self.rows))
        if self.rows:
            t.selectRow(0)

    def _header_clicked(self, col: int) -> None:
        from engine.lab import COLUMNS

        self.sort_by(COLUMNS[col][0])

    def sort_by(self, key: str, descending: Optional[bool] = None) -> None:
        """Sort the table by ``key`` (engine.lab.sort_rows); the same column again reverses it."""
        from engine.lab import sort_rows

        if descending is None:
            if key == self.sort_key and self.sort_descending is not None:
                descending = not self.sort_descending
        rows = sort_rows(self.rows, key, descending)
        if descending is None:  # the engine's default order for this column: read it back
            numeric = key not in ("name", "label")
            descending = numeric and key != "index"
        self.rows = rows
        self.sort_key, self.sort_descending = key, descending
        self._fill_table()

    def column_values(self, key: str) -> list:
        return [r.get(key) for r in self.rows]

    def selected_direction(self):
        r = self.table.currentRow()
        if not 0 <= r < len(self.rows):
            return None
        i = int(self.rows[r]["index"]) - 1
        dirs = self.session.directions
        return dirs[i] if 0 <= i < len(dirs) else None

    def add_slider(self) -> None:
        d = self.selected_direction()
        if d is not None:
            self.add_slider_requested.emit(d)

    # ---- keeping sets
    def save_dialog(self) -> None:
        if not self.session.directions:
            return
        from .dialogs import pictures_folder

        start = str(pictures_folder() / f"{self.set_name}.json")
        path, _ = QFileDialog.getSaveFileName(self, "Save direction set (NAME.json + NAME.npy)", start,
                                              "Direction set (*.json)")
        if path:
            self.save_set(Path(path))

    def save_set(self, path: Path, overwrite: bool = False) -> Optional[Job]:
        s = self.session
        if s.model is None or not s.directions:
            return None
        dirs, model_id, z_dim = list(s.directions), s.model.model_id, s.model.z_dim

        def fn(progress, cancel):
            from engine.workflows.directions import save_set

            return save_set(path, dirs, model_id=model_id, z_dim=z_dim, overwrite=overwrite, label="save set")

        def done(paths):
            self.status.setText(f"saved {len(dirs)} direction(s) to {paths[0]}")

        return self.bridge.submit(Job("save direction set", fn, on_done=done))

    def show_set(self, fn, name: str = "session") -> Job:
        """List a set made elsewhere (a session's): ``fn`` (on the worker) returns (directions, table rows)."""
        return self._run("measure the session's directions", fn, name)

    def load_dialog(self) -> None:
        from .dialogs import pictures_folder

        path, _ = QFileDialog.getOpenFileName(self, "Load direction set", str(pictures_folder()),
                                              "Direction set (*.json)")
        if path:
            self.load_set(Path(path))

    def load_set(self, path: Path, force: bool = False, confirm=None) -> Optional[Job]:
        """Load a saved set and measure it on this model. Another model's set is refused by the engine; the
        user is asked (``confirm(message) -> bool``, default a dialog) and it is loaded with force."""
        s = self.session
        if s.model is None or s.latents is None:
            return None
        z, labels, codec = s.latents, s.labels, s.model.codec
        model_id, z_dim = s.model.model_id, s.model.z_dim

        def fn(progress, cancel):
            from engine.workflows.directions import load_and_measure

            table = labels if labels is not None and len(labels) == len(z) else None
            res = load_and_measure(path, z, model_id=model_id, z_dim=z_dim, force=force, model=codec, table=table,
                                   progress=progress, cancel=cancel)
            return res.directions, res.rows

        job = self._run("load direction set", fn, Path(path).stem)
        plain_fail = job.on_error

        def failed(error):
            from engine.errors import OtherModelsFile

            exc = getattr(error, "exc", None)
            if not force and isinstance(exc, OtherModelsFile):
                self.job = None
                self.cancel_btn.setEnabled(False)
                self.compute_btn.setEnabled(True)
                question = (f"{exc.path}: belongs to model {exc.model_id}, not to this model ({model_id}); its "
                            "directions mean nothing in another model's latent space — load it anyway?")
                ask = confirm or self._confirm_foreign
                if ask(question):
                    self.load_set(path, force=True)
                else:
                    self.status.setText(f"not loaded: the set belongs to another model ({exc.model_id})")
                return
            plain_fail(error)

        job.on_error = failed
        return job

    def _confirm_foreign(self, text: str) -> bool:
        ans = QMessageBox.question(self, "Load direction set", text,
                                   QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                   QMessageBox.StandardButton.No)
        return ans == QMessageBox.StandardButton.Yes

    # ---- the map (view only)
    def _map_method_changed(self, *_) -> None:
        from engine.lab import map_specs

        notes = {spec.name: spec.note for spec in map_specs()}
        self.map_note.setText(notes.get(self.map_method.currentData(), ""))

    def compute_map(self, method: Optional[str] = None) -> Optional[Job]:
        s = self.session
        if s.latents is None:
            return None
        if method is not None:
            self.map_method.setCurrentIndex(self.map_method.findData(method))
        m = self.map_method.currentData()
        z, model = s.latents, s.model

        def fn(progress, cancel):
            from engine.workflows.directions import latent_map

            return latent_map(z, m, progress=progress, cancel=cancel)

        def done(lm):
            self.map_job = None
            self.map_btn.setEnabled(True)
            if self.session.model is not model:
                return
            self.latent_map = lm
            self._draw_map()
            how = "from the cache" if lm.from_cache else f"in {lm.seconds:.0f} s"
            self.map_note.setText(f"{lm.method} map of {len(lm.xy):,} z-points ({how}) — {lm.note}")

        def stopped(msg=None):
            self.map_job = None
            self.map_btn.setEnabled(True)
            self._map_method_changed()
            if msg:
                self.map_note.setText(msg)

        self.map_btn.setEnabled(False)
        self.tabs.setCurrentIndex(1)
        self.map_job = Job(f"{m} map", fn, on_done=done, on_error=lambda msg: stopped(msg),
                           on_cancelled=lambda: stopped("map: cancelled"), key="direction-map",
                           on_progress=lambda p: self.map_note.setText(f"{m} map: {p.message or p.job} "
                                                                       "(Cancel in the status bar)"))
        return self.bridge.submit(self.map_job)

    def _draw_map(self, *_) -> None:
        pi = self.map_plot.getPlotItem()
        for it in self.map_items:
            pi.removeItem(it)
            self.map_legend.removeItem(it)
        self.map_items = []
        self.map_pick.setData([], [])
        lm = self.latent_map
        if lm is None:
            return
        xy = np.asarray(lm.xy, float)
        name = self.map_colour.currentData()
        groups = self.session.attribute_groups(name) if name else None
        if groups is None:
            it = pg.ScatterPlotItem(pos=xy, size=3, pen=None, brush=ps.brush(ps.TRAIN, 90))
            pi.addItem(it)
            self.map_items.append(it)
        else:
            present, absent = groups
            gnames = self.session.labels.group_names(name)
            for mask, colour, label in ((absent, (150, 150, 150), gnames[1]), (present, ps.ORANGE, gnames[0])):
                it = pg.ScatterPlotItem(pos=xy[mask], size=3, pen=None, brush=ps.brush(colour, 140), name=label)
                pi.addItem(it)
                self.map_items.append(it)
        self.map_selector.redraw()
        self.map_plot.getPlotItem().getViewBox().autoRange()

    def _map_clicked(self, ev) -> None:
        lm = self.latent_map
        if lm is None:
            return
        vb = self.map_plot.getPlotItem().getViewBox()
        if not self.map_plot.sceneBoundingRect().contains(ev.scenePos()):
            return
        p = vb.mapSceneToView(ev.scenePos())
        self.show_map_point_near(p.x(), p.y())

    def show_map_point_near(self, x: float, y: float) -> Optional[int]:
        """The map point nearest (x, y) in the map's own coordinates: ringed, its training face decoded."""
        lm = self.latent_map
        if lm is None or not len(lm.xy):
            return None
        xy = np.asarray(lm.xy, float)
        i = int(np.argmin(np.hypot(xy[:, 0] - x, xy[:, 1] - y)))  # which point was hit (picking, not statistics)
        self.show_map_point(i)
        return i

    def show_map_point(self, i: int) -> Optional[Job]:
        s = self.session
        lm = self.latent_map
        if lm is None or s.model is None or s.latents is None or not 0 <= i < len(s.latents):
            return None
        self.map_pick.setData(pos=np.asarray(lm.xy, float)[[i]])
        files = s.model.latent_files
        name = files[i] if i < len(files) else f"z-point {i}"
        z, codec = s.latents[[i]], s.model.codec

        def fn(progress, cancel):
            return codec.decode(z, cancel=cancel)[0]

        def done(img):
            self.map_face.set_image(img)
            self.map_face_caption.setText(f"{name} (its z-point decoded)")

        return self.bridge.submit(Job("decode training face", fn, on_done=done, key="map-decode", quiet=True))

    def clear_model_state(self) -> None:
        """Another model (``Session.model_reset``): no map caption, picked face or view of the previous model."""
        self.latent_map = None
        self._draw_map()  # its points go before the view is reset
        self._map_method_changed()  # the method's note, not the last map's "map of N z-points"
        self.map_face.set_image(None)
        self.map_face_caption.setText("")
        from .qt_widgets import empty_view

        empty_view(self.map_plot)
