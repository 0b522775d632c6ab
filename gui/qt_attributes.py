"""Attributes panel: the model's labelled attributes ranked by how well the z-points separate them.

Two stages, both on the engine worker:

1. a quick ranking (``attributes.summarise_attributes(probe=False)``: cross-fitted separation d of the
   difference-of-means direction, its balanced accuracy, the best pair of axes) — a few seconds for
   40 attributes on 9,000×256, and the rows appear at once;
2. the linear probe's cross-validated balanced accuracy (``attributes.analyse_attribute``), one job
   per attribute (1–2 s each), so a Generate or a slider decode never waits behind the whole 85 s,
   the column fills in row by row, and Cancel stops after the current attribute. When every row has
   its accuracy the table is sorted by it, as ``main.py attributes`` prints it.

Both stages are the engine's workflow ``engine.workflows.rank_attributes`` (``rank_attributes`` and
``measure_probe``), which keeps the results as JSON in the user's cache folder (named by a hash of the
z-points and labels), so reopening a model, a window or the app shows them again without measuring; this
panel keeps the open models' rankings in memory and only renders them. Clicking a row colours the cloud by that attribute and puts the pair plot on the two axes that
separate it best (``AttributeSummary.best_axes``).
"""
from __future__ import annotations

from typing import Optional

import numpy as np
from PySide6.QtCore import QTimer, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QHeaderView, QLabel, QProgressBar, QPushButton, QTableWidget, QTableWidgetItem,
    QVBoxLayout, QWidget,
)

from engine.workflows.rank_attributes import AttributeRanking

from .engine_bridge import EngineBridge, Job
from .session import Session, axis_label

COLUMNS = ("attribute", "probe accuracy", "separation", "present", "best axes")
COL_NAME, COL_PROBE, COL_SEP, COL_RATE, COL_AXES = range(5)


class _NumberItem(QTableWidgetItem):
    """A cell that sorts by its number (missing values last in descending order)."""

    def __init__(self, value: Optional[float], text: str) -> None:
        super().__init__(text)
        self.value = -np.inf if value is None else float(value)
        self.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    def __lt__(self, other) -> bool:  # noqa: D105
        if isinstance(other, _NumberItem):
            return self.value < other.value
        return super().__lt__(other)


#: per open model (:func:`model_key`): its ranking so far (empty until the quick ranking is done)
_CACHE: dict[tuple, AttributeRanking] = {}


def model_key(session: Session) -> Optional[tuple]:
    m = session.model
    if m is None or m.latents is None or m.labels is None:
        return None
    return (str(m.folder), m.config.model_id, len(m.latents), tuple(m.labels.names))


class AttributesPanel(QWidget):
    show_in_pair_plot = Signal(str)  # attribute name: the window raises the pair plot
    generate_requested = Signal(str, bool)  # attribute, has: a grid fitted only on faces with (without) it
    ranking_updated = Signal()

    def __init__(self, session: Session, bridge: EngineBridge, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("attributesPanel")
        self.session = session
        self.bridge = bridge
        self._chain_key: Optional[tuple] = None  # model whose probe chain is running
        self._job: Optional[Job] = None
        self._quick_job: Optional[Job] = None

        self.info = QLabel("")
        self.info.setWordWrap(True)
        self.info.setStyleSheet("color: #444;")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("attributesTable")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSortingEnabled(True)
        self.table.verticalHeader().setDefaultSectionSize(22)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        hh.setStretchLastSection(True)
        tips = (
            "CelebA attribute (or a column of the model's labels.csv); click to see it in the pair plot",
            "how often a simple linear classifier tells from the z-vector alone whether a face has it\n"
            "(balanced, measured on faces it was not fitted on; 0.50 = guessing, 1 = always right)",
            "how far apart the faces with and without it lie along the line between their averages, in σ\n"
            "(standard deviations): 0 = mixed, above 1 = clearly apart",
            "share of the labelled z-points that have the attribute",
            "the two axes (original components or principal axes) on which the groups differ most",
        )
        for c, tip in enumerate(tips):
            self.table.horizontalHeaderItem(c).setToolTip(tip)
        self.probe_btn = QPushButton("Measure probe accuracy")
        self.probe_btn.setObjectName("probeButton")
        self.probe_btn.setToolTip("fit a cross-validated logistic probe per attribute on the worker (≈ 2 s each);\n"
                                  "the table fills in row by row and is sorted by accuracy at the end")
        self.stop_btn = QPushButton("Stop")
        self.stop_btn.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(160)
        self.progress.setTextVisible(True)
        self.progress.setFormat("%v / %m")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)

        self.gen_with_btn = QPushButton("Generate faces with it")
        self.gen_with_btn.setObjectName("generateWithButton")
        self.gen_with_btn.setToolTip("a grid from the current sampler fitted only on the z-points that have the selected\n"
                                     "attribute (replaces the sampler panel's conditions)")
        self.gen_without_btn = QPushButton("… without it")
        self.gen_without_btn.setToolTip("the same, fitted only on the z-points that lack it")
        for b, has in ((self.gen_with_btn, True), (self.gen_without_btn, False)):
            b.setEnabled(False)
            b.clicked.connect(lambda *_, h=has: self._generate(h))
        from .qt_widgets import flow

        gen_row = flow(self.gen_with_btn, self.gen_without_btn)
        self.apply_all = self._build_apply_all()
        row = flow(self.probe_btn, self.stop_btn, self.progress)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        # the buttons first and the rewrapping text below them: the Stop button never jumps
        lay.addWidget(row)
        lay.addWidget(self.info)
        lay.addWidget(self.table, 1)
        lay.addWidget(gen_row)
        lay.addWidget(self.apply_all)

        self.probe_btn.clicked.connect(self.start_probe)
        self.stop_btn.clicked.connect(self.stop)
        self.table.itemClicked.connect(self._clicked)
        self.table.itemActivated.connect(self._clicked)
        session.model_changed.connect(self._model_changed)
        session.colour_by_changed.connect(self._highlight)
        self._model_changed()

    def _build_apply_all(self):
        """The selected attribute applied to every face of the grid (``gui.qt_apply_all``; amount in class-mean
        gaps, its direction the inspector's: a logistic probe's)."""
        from .qt_apply_all import ApplyToAllBox

        def source():
            name = self.session.colour_by
            if not name:
                return None

            def resolve(model, name=name):
                from engine.workflows.move_faces import move_of

                return move_of(model, attribute=name)

            return ("attribute", name), name, "", resolve

        box = ApplyToAllBox(self.session, self.bridge, source, span=2.0, name="attributeApplyAll")
        box.setToolTip("move every face of the grid along the selected attribute (amount 1 = the average difference "
                       "between faces with and without it)")
        self.session.colour_by_changed.connect(box.refresh)
        return box

    # ---- state
    def cache(self) -> Optional[AttributeRanking]:
        key = model_key(self.session)
        if key is None:
            return None
        return _CACHE.setdefault(key, AttributeRanking())

    def _model_changed(self) -> None:
        self.stop()
        if self._quick_job is not None:
            self._quick_job.cancel.cancel()
            self._quick_job = None
        self.table.setRowCount(0)
        c = self.cache()
        self._show_probe_count(c)  # this model's count, never the previous model's "19 / 40"
        self.probe_btn.setEnabled(c is not None)
        if c is None:
            m = self.session.model
            self.info.setText("no model open" if m is None else
                              "this model has no labels.csv: attach labels with File ▸ Import labels… "
                              "(CelebA's list_attr_celeba.txt or a CSV file,label1,…)")
            return
        if c.order:
            self._fill()
            if c.complete:
                self._done_text()
        elif self.isVisible():
            # after the jobs the new model queues now (its first grid): ranking waits its turn
            QTimer.singleShot(0, self.ensure_ranking)
        else:
            self.info.setText(f"{len(self.session.labels.names)} labelled attributes; they are ranked when this panel is shown")

    def showEvent(self, ev) -> None:  # noqa: N802
        super().showEvent(ev)
        QTimer.singleShot(0, self.ensure_ranking)

    def ensure_ranking(self) -> None:
        """Start the quick ranking of this model's attributes unless it is done or running."""
        c = self.cache()
        if c is None or c.order or self._quick_job is not None:
            return
        self._start_quick()

    def _start_quick(self) -> None:
        s = self.session
        z, labels, stats = s.latents, s.labels, s.stats
        model_id = s.model.config.model_id
        key = model_key(s)
        self.info.setText(f"ranking {len(labels.names)} attributes by separation …")

        def fn(progress, cancel):
            from engine.workflows.rank_attributes import rank_attributes

            return rank_attributes(z, labels, pca=getattr(stats, "pca", None), model_id=model_id, progress=progress,
                                   cancel=cancel)

        def finished(*_):
            if self._quick_job is job:
                self._quick_job = None

        def done(ranking):
            finished()
            _CACHE[key] = ranking
            if model_key(self.session) == key:
                self._fill()
                if ranking.complete:
                    self._done_text()

        def failed(msg):
            finished()
            self.info.setText(f"ranking failed: {msg}")

        job = Job("rank attributes", fn, on_done=done, on_error=failed, on_cancelled=finished, key="attributes-quick",
                  on_progress=self._quick_progress)
        self._quick_job = job
        self.bridge.submit(job)

    def _show_probe_count(self, c: Optional[AttributeRanking]) -> None:
        if c is None or not c.order:
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            self.progress.setFormat("")
            return
        self.progress.setFormat("%v / %m")
        self.progress.setRange(0, len(c.order))
        self.progress.setValue(sum(n in c.probe for n in c.order))

    def _quick_progress(self, p) -> None:
        if p.total > 0:
            self.progress.setFormat("%v / %m")
            self.progress.setRange(0, p.total)
            self.progress.setValue(p.done)

    # ---- probe chain: one job per attribute
    def start_probe(self) -> None:
        c = self.cache()
        if c is None or self.running:
            return
        if not c.order:  # the quick ranking comes first: the probe chains on when it is done
            self.ensure_ranking()
            self._chain_key = model_key(self.session)
            self.stop_btn.setEnabled(True)
            self.ranking_updated.connect(self._chain_after_quick)
            return
        self._chain_key = model_key(self.session)
        self.probe_btn.setEnabled(False)
        self.stop_btn.setEnabled(True)
        self._next_probe()

    def _chain_after_quick(self) -> None:
        self.ranking_updated.disconnect(self._chain_after_quick)
        wanted = self._chain_key is not None and self._chain_key == model_key(self.session)
        self._chain_key = None
        if wanted:
            self.start_probe()

    def _next_probe(self) -> None:
        key = self._chain_key
        c = _CACHE.get(key) if key is not None else None
        if c is None or key != model_key(self.session):
            self._chain_stopped()
            return
        todo = [n for n in c.order if n not in c.probe]
        self.progress.setRange(0, len(c.order))
        self.progress.setValue(len(c.order) - len(todo))
        if not todo:
            self._chain_stopped()
            self._fill(sort_by_probe=True)
            self._done_text()
            return
        name = todo[0]
        z, labels, stats = self.session.latents, self.session.labels, self.session.stats

        def fn(progress, cancel):
            from engine.workflows.rank_attributes import measure_probe

            # records the row in c.probe and the cache folder (on the worker; this is the one job touching c)
            return measure_probe(c, z, labels, name, pca=getattr(stats, "pca", None), progress=progress, cancel=cancel)

        def done(row):
            c.probe[name] = row
            if model_key(self.session) == key:
                self._set_probe_cell(name, row)
                self.ranking_updated.emit()
            if self._chain_key == key:
                self._next_probe()

        def failed(msg):
            c.probe[name] = c.quick[name]  # keep going; the row shows "–"
            self.info.setText(f"{name}: {msg}")
            if self._chain_key == key:
                self._next_probe()

        self.info.setText(f"probe accuracy: {len(c.order) - len(todo)} of {len(c.order)} attributes measured — {name} …")
        self._job = self.bridge.submit(Job(f"attribute probe ({name})", fn, on_done=done, on_error=failed,
                                           on_cancelled=self._chain_stopped, key="attributes-probe"))

    def stop(self) -> None:
        if self._job is not None:
            self._job.cancel.cancel()
        self._chain_stopped()

    def _chain_stopped(self) -> None:
        self._chain_key = None
        self._job = None
        self.stop_btn.setEnabled(False)
        c = self.cache()
        self.probe_btn.setEnabled(c is not None and not c.complete)
        if c is not None and c.order and not c.complete:
            done = sum(n in c.probe for n in c.order)
            self.info.setText(f"{len(c.order)} attributes ranked by separation; probe accuracy measured for {done}. "
                              "Click a row to see it in the pair plot.")

    @property
    def running(self) -> bool:
        return self._chain_key is not None

    def _done_text(self) -> None:
        c = self.cache()
        self.info.setText(f"{len(c.order)} attributes ranked by the probe's cross-validated balanced accuracy "
                          "(chance 0.50). Click a row: the pair plot shows it on its two best axes, coloured by it.")
        self.probe_btn.setEnabled(False)

    # ---- table
    def _fill(self, sort_by_probe: bool = False) -> None:
        c = self.cache()
        if c is None:
            return
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(c.order))
        for r, name in enumerate(c.order):
            q = c.quick[name]
            p = c.probe.get(name)
            item = QTableWidgetItem(name)
            item.setData(Qt.ItemDataRole.UserRole, name)
            self.table.setItem(r, COL_NAME, item)
            self.table.setItem(r, COL_PROBE, self._probe_item(p))
            self.table.setItem(r, COL_SEP, _NumberItem(q.separation, f"{q.separation:.2f}"))
            self.table.setItem(r, COL_RATE, _NumberItem(q.rate, f"{100 * q.rate:.1f}%"))
            ax = q.best_axes
            self.table.setItem(r, COL_AXES, QTableWidgetItem(f"{axis_label(ax[0])} × {axis_label(ax[1])}"))
        self.table.setSortingEnabled(True)
        if sort_by_probe or c.complete:
            self.table.sortItems(COL_PROBE, Qt.SortOrder.DescendingOrder)
        else:
            self.table.sortItems(COL_SEP, Qt.SortOrder.DescendingOrder)
        self._highlight()
        if not c.complete and not self.running:
            done = sum(n in c.probe for n in c.order)
            measured = ("probe accuracy not measured yet: about 2 s per attribute" if not done else
                        f"probe accuracy measured for {done} of {len(c.order)}; Measure continues with the rest")
            self.info.setText(f"{len(c.order)} attributes ranked by separation ({measured}). "
                              "Click a row to see it in the pair plot.")
        self._show_probe_count(c)
        self.ranking_updated.emit()

    @staticmethod
    def _probe_item(p) -> QTableWidgetItem:
        if p is None or p.probe_accuracy is None:
            return _NumberItem(None, "…" if p is None else "–")
        std = f" ± {p.probe_accuracy_std:.3f}" if p.probe_accuracy_std is not None else ""
        return _NumberItem(p.probe_accuracy, f"{p.probe_accuracy:.3f}{std}")

    def _row_of(self, name: str) -> int:
        for r in range(self.table.rowCount()):
            it = self.table.item(r, COL_NAME)
            if it is not None and it.data(Qt.ItemDataRole.UserRole) == name:
                return r
        return -1

    def _set_probe_cell(self, name: str, row) -> None:
        r = self._row_of(name)
        if r < 0:
            return
        self.table.setSortingEnabled(False)  # a filled cell must not make the rows jump under the user
        self.table.setItem(r, COL_PROBE, self._probe_item(row))
        self.table.setSortingEnabled(True)

    def names(self) -> list[str]:
        """Attribute names in the table's current order."""
        return [self.table.item(r, COL_NAME).data(Qt.ItemDataRole.UserRole) for r in range(self.table.rowCount())]

    def summary(self, name: str):
        c = self.cache()
        if c is None:
            return None
        return c.probe.get(name) or c.quick.get(name)

    def _generate(self, has: bool) -> None:
        if self.session.colour_by:
            self.generate_requested.emit(self.session.colour_by, has)

    def _highlight(self) -> None:
        name = self.session.colour_by
        r = self._row_of(name) if name else -1
        for b in (self.gen_with_btn, self.gen_without_btn):
            b.setEnabled(bool(name) and self.session.latents is not None)
        self.gen_with_btn.setText(f"Generate faces with {name}" if name else "Generate faces with it")
        self.table.blockSignals(True)
        if r >= 0:
            self.table.selectRow(r)
        else:
            self.table.clearSelection()
        self.table.blockSignals(False)

    # ---- interaction
    def _clicked(self, item: QTableWidgetItem) -> None:
        name = self.table.item(item.row(), COL_NAME).data(Qt.ItemDataRole.UserRole)
        self.show_attribute(name)

    def show_attribute(self, name: str) -> None:
        """Colour the cloud by ``name`` and put the pair plot on its two best axes."""
        q = self.summary(name)
        if q is None:
            return
        self.session.set_colour_by(name)
        self.session.set_axes(*q.best_axes)
        self.show_in_pair_plot.emit(name)
