"""Two models: the open model (A) beside a second one (B), as ``engine.workflows.compare_models`` measures them —
the side-by-side table (shared faces, how well one latent space maps onto the other, canonical correlations,
neighbourhood overlap, the attribute judges' accuracy and the samplers' quality in each), the overlap's histogram,
and one shared face decoded by both (and by B from A's z carried over by the alignment).

The comparison runs on the worker (File ▸ Compare with another model…, or this panel's button: the window's
``compare_model_dialog``); choosing another face decodes it on the worker too. The panel keeps the comparison and
drops it when another model opens (``clear_model_state``)."""
from __future__ import annotations

from typing import Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QGridLayout, QHeaderView, QLabel, QPushButton, QSpinBox, QSplitter, QTableWidget,
    QTableWidgetItem, QVBoxLayout, QWidget,
)

from . import plot_style as ps
from .engine_bridge import EngineBridge, Job
from .qt_images import to_pixmap
from .qt_widgets import ElidedLabel, empty_view, plot_widget, row, setup_plot
from .session import Session

#: the side of each decoded face in the row (pixels)
FACE_PX = 84
#: the order and captions of the decoded faces
FACE_LABELS = ("original", "A", "B", "B from A's z")


class ModelComparePanel(QWidget):
    """The Two models panel (see the module's note)."""

    compare_requested = Signal()  # "Compare with another model…": the window asks for the folder and runs the job

    def __init__(self, session: Session, bridge: Optional[EngineBridge] = None) -> None:
        super().__init__()
        self.session, self.bridge = session, bridge
        self.comparison = None  # engine.workflows.compare_models.ModelComparison
        self.open_btn = QPushButton("Compare with another model…")
        self.open_btn.setToolTip("open a second model encoded on the same images and compare it with this one:\n"
                                 "the same faces matched by file name, the two latent spaces aligned on them")
        self.open_btn.clicked.connect(lambda *_: self.compare_requested.emit())
        self.summary = ElidedLabel("no second model yet")
        self.summary.setObjectName("twoModelsSummary")
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["", "A", "B"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for c in (1, 2):
            hh.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        self.hist = plot_widget()
        self.hist.setObjectName("overlapHistogram")
        self.hist.setMinimumSize(160, 120)
        setup_plot(self.hist)
        self.hist.setLabel("bottom", "neighbour overlap")
        self.hist.setLabel("left", "faces")
        self.face_spin = QSpinBox()
        self.face_spin.setRange(1, 1)
        self.face_spin.setEnabled(False)
        self.face_spin.setToolTip("which shared face is decoded by both models (in the first model's order)")
        self.face_spin.valueChanged.connect(self._face_chosen)
        self.least_btn = QPushButton("Least overlap")
        self.least_btn.setToolTip("the next of the faces whose neighbours differ most between the two spaces")
        self.least_btn.setEnabled(False)
        self.least_btn.clicked.connect(self._next_least)
        self._least_at = -1
        self.face_name = ElidedLabel("")
        self.face_labels: dict[str, QLabel] = {}
        faces = QWidget()
        grid = QGridLayout(faces)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(4)
        for i, name in enumerate(FACE_LABELS):
            pic = QLabel()
            pic.setFixedSize(FACE_PX, FACE_PX)
            pic.setAlignment(Qt.AlignmentFlag.AlignCenter)
            pic.setStyleSheet("background: #f0f0f0;")
            cap = QLabel(name)
            cap.setAlignment(Qt.AlignmentFlag.AlignCenter)
            cap.setStyleSheet("color: #444;")
            grid.addWidget(pic, 2 * (i // 2), i % 2)  # two by two: the histogram keeps the width
            grid.addWidget(cap, 2 * (i // 2) + 1, i % 2)
            self.face_labels[name] = pic
        face_box = QWidget()
        fl = QVBoxLayout(face_box)
        fl.setContentsMargins(0, 0, 0, 0)
        fl.addWidget(row(QLabel("face"), self.face_spin, self.least_btn))
        fl.addWidget(self.face_name)
        fl.addWidget(faces)
        fl.addStretch(1)
        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.addWidget(self.hist)
        bottom.addWidget(face_box)
        bottom.setStretchFactor(0, 1)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(bottom)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(row(self.open_btn, self.summary))
        lay.addWidget(self.splitter, 1)

    # ------------------------------------------------------------------ showing a comparison
    def show_comparison(self, comp) -> None:
        """Show ``comp`` (a ``ModelComparison``): the table, the histogram, its face."""
        self.comparison = comp
        n = comp.numbers
        a, b = n["model_a"], n["model_b"]
        from pathlib import Path

        self.table.setHorizontalHeaderLabels(["", f"A: {Path(a['folder']).name}", f"B: {Path(b['folder']).name}"])
        self.summary.setText(f"{n['shared']['faces']:,} shared faces; linear map R² "
                             f"{n['alignment']['linear_r2_held_out']:.2f} held-out; overlap median "
                             f"{n['overlap']['median']:.2f}")
        self._fill_table(comp)
        self._draw_histogram(comp.overlap, n["overlap"])
        shared = len(comp.shared) if comp.shared is not None else 1
        self.face_spin.blockSignals(True)
        self.face_spin.setRange(1, max(1, shared))
        self.face_spin.setValue(1 + (comp.shared.names.index(comp.face_name) if comp.shared is not None else 0))
        self.face_spin.blockSignals(False)
        self.face_spin.setEnabled(comp.shared is not None)
        self.least_btn.setEnabled(comp.shared is not None)
        self._least_at = -1
        self.show_faces(comp.face_name, comp.faces)

    def show_judges(self, comp) -> None:
        """The attribute judges and samplers of ``comp`` measured: the table again, the face as it is."""
        if comp is self.comparison:
            self._fill_table(comp)

    def _fill_table(self, comp) -> None:
        rows = comp.table_rows()
        if not comp.numbers.get("judged", True):
            rows.append(("attribute judges, samplers", "measuring…", ""))
        self.table.setRowCount(len(rows))
        for r, cells in enumerate(rows):
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)

    def _draw_histogram(self, overlap: np.ndarray, summary: dict) -> None:
        pi = self.hist.getPlotItem()
        pi.clear()
        counts, edges = np.histogram(overlap, bins=np.linspace(0, 1, 11))
        pi.addItem(pg.BarGraphItem(x0=edges[:-1], x1=edges[1:], height=counts, brush=ps.brush(ps.BLUE),
                                   pen=ps.pen((255, 255, 255))))
        pi.addItem(pg.InfiniteLine(summary["median"], angle=90, pen=ps.pen(ps.TRAIN, 1.5, Qt.PenStyle.DashLine)))
        pi.setTitle(f"median {summary['median']:.2f} · chance {summary['chance']:.3f}", size="9pt")
        pi.enableAutoRange()

    def show_faces(self, name: str, faces: dict) -> None:
        """The face ``name`` as decoded (label → image); a label without an image is left blank."""
        overlap = ""
        comp = self.comparison
        if comp is not None and comp.shared is not None and name in comp.shared.names:
            overlap = f" — neighbour overlap {comp.overlap[comp.shared.names.index(name)]:.2f}"
        self.face_name.setText(f"{name}{overlap}")
        for label, pic in self.face_labels.items():
            img = faces.get(label)
            if img is None:
                pic.clear()
                pic.setToolTip("open the image folder both models encoded to see the original" if label == "original"
                               else "")
            else:
                pic.setPixmap(to_pixmap(img, FACE_PX))
                pic.setToolTip(label)

    # ------------------------------------------------------------------ other faces
    def _next_least(self) -> None:
        comp = self.comparison
        if comp is None or comp.shared is None:
            return
        least = comp.numbers["overlap"]["least"]
        if not least:
            return
        self._least_at = (self._least_at + 1) % len(least)
        self.face_spin.setValue(1 + comp.shared.names.index(least[self._least_at]["face"]))

    def _face_chosen(self, value: int) -> Optional[Job]:
        """Decode shared face ``value`` (from 1) by both models on the worker."""
        comp = self.comparison
        if comp is None or comp.shared is None or self.bridge is None:
            return None
        name = comp.shared.names[value - 1]
        ds = self.session.dataset
        data = getattr(ds, "folder", None)

        def fn(progress, cancel):
            from engine.workflows.compare_models import face_row

            return face_row(comp.model_a, comp.model_b, comp.shared, comp.alignment, name, data)

        def done(result):
            if self.comparison is comp:
                self.show_faces(*result)

        job = Job("decode", fn, on_done=done, key="two-models-face", quiet=True)
        self.bridge.submit(job)
        return job

    def clear_model_state(self) -> None:
        """Another model opened: the comparison belonged to the previous one."""
        self.comparison = None
        self.table.setRowCount(0)
        self.table.setHorizontalHeaderLabels(["", "A", "B"])
        self.summary.setText("no second model yet")
        self.hist.getPlotItem().clear()
        self.hist.getPlotItem().setTitle(None)
        empty_view(self.hist)
        self.face_spin.setEnabled(False)
        self.least_btn.setEnabled(False)
        self.show_faces("", {})
