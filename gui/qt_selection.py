"""The Selection panel: the training z-points selected in any plot (``Session.cloud_selection``), linked to them.

It says how many are selected and how the selection was made, shows a spread of its members as faces (the
training images when the dataset is open, their reconstructions when not: looked up and decoded on the worker,
in one batch) and, when the model has labels, each attribute's prevalence in the selection against the whole set
as paired bars (the attributes that differ most first; ``engine.selection.prevalence``). Clear and Invert act on
the selection. A query line and the actions on a selection (export, generate like it, what distinguishes it) have
their place here and come with the engine's query language and selection workflows.
"""
from __future__ import annotations

import time
from typing import Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QComboBox, QHBoxLayout, QLabel, QLineEdit, QListView, QListWidget, QListWidgetItem, QPushButton, QSplitter,
    QVBoxLayout, QWidget,
)

from . import plot_style as ps
from .qt_images import to_pixmap
from .qt_selection_layer import SELECTION_COLOUR
from .qt_widgets import column, ElidedLabel, flow, plot_widget, setup_plot

#: Faces of the selection shown at most (a random spread of its members).
MAX_FACES = 24
#: Attributes shown in the prevalence bars (those that differ most between the selection and the whole set).
MAX_BARS = 10
HINT = "nothing selected: use Select (S) in the pair plot, the atlas or the map (drag a lasso), or drag a range " \
       "on a component's histogram"
QUERY_HELP = ("select by a query over labels (a bare name = present), p(NAME) (the attribute judge's probability), "
              "z0… (coordinates) and PC1… (principal axes in σ), with < <= > >= == !=, and/or/not and parentheses")
#: The selection's actions: (key, button, tooltip); the window's actions (gui/actions_selection.py) run them.
ACTIONS = (("export", "Export…", "write the selection as CSV (names and z), a grid and its images, in a new folder"),
           ("generate", "Generate like these", "fit the sampler to the selected z-points and generate faces like "
                                               "them, with their measured quality"),
           ("distinguish", "Distinguish", "the attributes and axes that separate the selection from the rest"))


class SelectionPanel(QWidget):
    """Dock content: the selection's count, faces and attribute prevalence (see the module's text)."""

    query_entered = Signal(str)  # the query line's text, on Enter
    action_requested = Signal(str)  # "export", "generate", "distinguish"

    def __init__(self, session, bridge=None, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.bridge = bridge
        self.setObjectName("selectionPanel")
        self.shown_indices = np.zeros(0, int)  # the training z-points whose faces the grid shows
        self.faces_from_dataset: Optional[bool] = None
        self.prevalence = None  # the last engine.selection.Prevalence drawn
        self.last_ms: list[float] = []  # selection → count and bars drawn (the faces follow from the worker)
        self._matrix = None  # (labels, engine.selection.LabelMatrix): once per attribute table
        self.count_label = ElidedLabel(HINT)
        self.count_label.setObjectName("selectionCount")
        self.clear_btn = QPushButton("Clear")
        self.clear_btn.setToolTip("select nothing (Esc in a plot's Select tool)")
        self.clear_btn.clicked.connect(lambda *_: session.set_cloud_selection(None))
        self.invert_btn = QPushButton("Invert")
        self.invert_btn.setToolTip("select every z-point that is not selected, and only those")
        self.invert_btn.clicked.connect(lambda *_: self.invert())
        self._build_coming()
        self._build_views()
        self._build_layout()
        session.cloud_selection_changed.connect(self.refresh)
        session.dataset_changed.connect(self._faces)
        session.model_changed.connect(self.refresh)
        session.groups_changed.connect(self.show_groups)
        self.refresh()
        self.show_groups()

    def _build_coming(self) -> None:
        """The query line (Enter selects) and the selection's actions; the window's actions run them."""
        self.query = QLineEdit()
        self.query.setObjectName("selectionQuery")
        self.query.setPlaceholderText("query, e.g. Smiling and not Male and PC3 > 1 (Enter)")
        self.query.setToolTip(QUERY_HELP)
        self.query.setMinimumWidth(160)
        self.query.returnPressed.connect(lambda: self.query_entered.emit(self.query.text().strip()))
        self.action_buttons = {}
        for key, text, tip in ACTIONS:
            btn = QPushButton(text)
            btn.setObjectName(f"selection_{key}")
            btn.setToolTip(tip)
            btn.clicked.connect(lambda *_, k=key: self.action_requested.emit(k))
            self.action_buttons[key] = btn
        self.keep_btn = QPushButton("Keep as group…")
        self.keep_btn.setObjectName("selection_keep")
        self.keep_btn.setToolTip("name this selection and keep it: choose it again from the groups list, compare "
                                 "another selection with it (Distinguish … vs), save it in the session")
        self.keep_btn.clicked.connect(lambda *_: self.action_requested.emit("keep"))
        self.groups = QComboBox()
        self.groups.setObjectName("selectionGroups")
        self.groups.setToolTip("the groups kept: choosing one selects it again")
        self.groups.activated.connect(self._group_chosen)
        self.against = QComboBox()
        self.against.setObjectName("selectionAgainst")
        self.against.setToolTip("what Distinguish compares the selection with: the rest of the cloud, or a group")
        self.query_note = ElidedLabel("")
        self.query_note.setObjectName("selectionQueryNote")
        self.query_note.setStyleSheet("color: #a33;")

    def _build_views(self) -> None:
        self.faces = QListWidget()
        self.faces.setObjectName("selectionFaces")
        self.faces.setViewMode(QListView.ViewMode.IconMode)
        self.faces.setResizeMode(QListView.ResizeMode.Adjust)
        self.faces.setMovement(QListView.Movement.Static)
        self.faces.setIconSize(QSize(56, 56))
        self.faces.setSpacing(1)
        self.faces.setUniformItemSizes(True)
        self.faces_caption = ElidedLabel("")
        self.faces_caption.setStyleSheet("color: #555;")
        self.bars = plot_widget()
        self.bars.setObjectName("selectionPrevalence")
        self.bars.setMenuEnabled(False)
        setup_plot(self.bars)
        pi = self.bars.getPlotItem()
        pi.setLabel("bottom", "share present")
        pi.setXRange(0, 1, padding=0.02)
        self.bars_all = pg.BarGraphItem(x0=[], y=[], height=0.38, width=[], brush=ps.brush((160, 160, 160)), pen=None)
        self.bars_sel = pg.BarGraphItem(x0=[], y=[], height=0.38, width=[], brush=ps.brush(SELECTION_COLOUR), pen=None)
        for it in (self.bars_all, self.bars_sel):
            pi.addItem(it)
        self.bars_note = QLabel("")
        self.bars_note.setStyleSheet("color: #555;")
        self.bars_note.setWordWrap(True)

    def _build_layout(self) -> None:
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(3)
        top = QHBoxLayout()
        top.addWidget(self.count_label, 1)
        top.addWidget(self.clear_btn)
        top.addWidget(self.invert_btn)
        lay.addLayout(top)
        lay.addWidget(flow(self.query, *self.action_buttons.values(), spacing=4))
        lay.addWidget(flow(self.keep_btn, self.groups, QLabel("Distinguish vs"), self.against, spacing=4))
        lay.addWidget(self.query_note)
        left = column(self.faces, self.faces_caption)
        right = column(self.bars, self.bars_note)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        split.setSizes([250, 350])
        self.bars_side = right  # hidden without labels: the faces take the width
        lay.addWidget(split, 1)

    # ---- groups
    def show_groups(self) -> None:
        """The groups list and the Distinguish choice follow the session's groups."""
        names = [name for name, _sel in self.session.groups]
        kept = self.against.currentText()
        for combo, first in ((self.groups, f"groups: {len(names)}" if names else "groups: none"),
                             (self.against, "the rest")):
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(first)
            combo.addItems(names)
            combo.blockSignals(False)
        self.groups.setEnabled(bool(names))
        self.against.setCurrentIndex(max(0, self.against.findText(kept)))

    def _group_chosen(self, index: int) -> None:
        if index > 0:
            name, sel = self.session.groups[index - 1]
            self.session.set_cloud_selection(sel)
        self.groups.setCurrentIndex(0)

    def against_group(self):
        """The group Distinguish compares with ((name, CloudSelection)), or None: the rest of the cloud."""
        i = self.against.currentIndex()
        return self.session.groups[i - 1] if 0 < i <= len(self.session.groups) else None

    # ---- state → views
    def invert(self) -> None:
        sel = self.session.cloud_selection
        if sel is not None:
            self.session.set_cloud_selection(sel.inverted())

    def refresh(self) -> None:
        """The count, the prevalence bars (here, a few ms) and the faces (on the worker)."""
        t0 = time.perf_counter()
        s = self.session
        sel = s.cloud_selection
        n = 0 if s.latents is None else len(s.latents)
        self.clear_btn.setEnabled(sel is not None)
        for btn in [*self.action_buttons.values(), self.keep_btn]:
            btn.setEnabled(sel is not None and sel.count > 0)
        self.invert_btn.setEnabled(sel is not None)
        if sel is None:
            self.count_label.setText(HINT if n else "no model with z-points open")
        else:
            self.count_label.setText(f"{sel.count:,} of {n:,} training z-points selected "
                                     f"({100 * sel.count / max(1, n):.1f} %) — {sel.how}")
        self._bars()
        self._faces()
        self.last_ms = (self.last_ms + [(time.perf_counter() - t0) * 1000])[-200:]

    def _label_matrix(self, labels):
        if self._matrix is None or self._matrix[0] is not labels:
            from engine.selection import label_matrix

            self._matrix = (labels, label_matrix(labels))
        return self._matrix[1]

    def _bars(self) -> None:
        """Each attribute's share in the selection beside its share in the whole set (the largest differences)."""
        from engine.selection import prevalence

        s = self.session
        sel, labels = s.cloud_selection, s.labels
        self.prevalence = None
        self.bars_side.setVisible(labels is not None)
        if sel is None or labels is None or len(labels) != sel.n:
            self.bars_all.setOpts(x0=[], y=[], width=[])
            self.bars_sel.setOpts(x0=[], y=[], width=[])
            self.bars.getPlotItem().getAxis("left").setTicks([[]])
            self.bars_note.setText("")
            return
        p = self.prevalence = prevalence(self._label_matrix(labels), sel.mask)
        top = p.ranked()[:MAX_BARS][::-1]  # the largest difference at the top
        y = np.arange(len(top), dtype=float)
        self.bars_sel.setOpts(x0=np.zeros(len(top)), y=y + 0.2, width=np.nan_to_num(p.selected[top]), height=0.38)
        self.bars_all.setOpts(x0=np.zeros(len(top)), y=y - 0.2, width=np.nan_to_num(p.overall[top]), height=0.38)
        self.bars.getPlotItem().getAxis("left").setTicks([[(float(k), str(labels.names[i])) for k, i in enumerate(top)]])
        self.bars.getPlotItem().setYRange(-0.7, len(top) - 0.3, padding=0)
        green = "#%02x%02x%02x" % SELECTION_COLOUR
        self.bars_note.setText(f"<span style='color:{green}'>■</span> selection vs <span style='color:#999'>■</span> "
                               f"all: the {len(top)} attributes whose share differs most")

    def _faces(self) -> None:
        """A spread of the selection's faces: looked up or decoded on the worker, shown when they come."""
        from engine.selection import spread

        s = self.session
        sel = s.cloud_selection
        if sel is None or s.latents is None or len(s.latents) != sel.n:
            self.faces.clear()
            self.shown_indices = np.zeros(0, int)
            self.faces_caption.setText("")
            return
        idx = spread(sel.mask, MAX_FACES)
        state = s.state

        def fn(progress, cancel):
            return state.training_faces(idx, cancel=cancel)

        def done(result) -> None:
            if self.session.cloud_selection is not sel:
                return  # another selection meanwhile: its own job shows its faces
            self._show_faces(idx, *result)

        if self.bridge is None:
            done(fn(None, None))
            return
        from .engine_bridge import Job

        self.bridge.submit(Job("selection faces", fn, on_done=done, key="selection-faces", quiet=True))

    def _show_faces(self, idx: np.ndarray, images: np.ndarray, from_ds: np.ndarray) -> None:
        self.faces.clear()
        files = self.session.model.latent_files if self.session.model is not None else []
        for i, img in zip(idx, images):
            item = QListWidgetItem(QIcon(to_pixmap(img, 56)), "")
            item.setData(Qt.ItemDataRole.UserRole, int(i))
            item.setToolTip(f"training z-point #{i}" + (f": {files[i]}" if i < len(files) else ""))
            self.faces.addItem(item)
        self.shown_indices = np.asarray(idx, int)
        self.faces_from_dataset = bool(len(from_ds)) and bool(np.all(from_ds))
        what = "their training images" if self.faces_from_dataset else (
            "their reconstructions (no dataset open)" if not np.any(from_ds) else "training images and reconstructions")
        sel = self.session.cloud_selection
        total = sel.count if sel is not None else len(idx)
        self.faces_caption.setText(f"{len(idx)} of {total:,} selected faces: {what}")

    def clear_model_state(self) -> None:
        """Another model: nothing of the previous one's faces, bars or attribute table."""
        self._matrix = None
        self.prevalence = None
        self.faces.clear()
        self.shown_indices = np.zeros(0, int)
        self.faces_caption.setText("")
