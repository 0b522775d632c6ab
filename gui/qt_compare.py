"""Compare samplers: runs ``engine.evaluation.evaluate`` as a job and shows its table, a bar chart
per metric and the curves of a parameter sweep; "apply best" sets the best swept value in the
Sampler panel."""
from __future__ import annotations

import math
from typing import Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPushButton, QSpinBox, QSplitter,
    QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from . import plot_style as ps
from .engine_bridge import EngineBridge, Job
from .session import Session


def metric_goal(key: str, help_text: str, rows: list[dict]) -> tuple[str, object]:
    """How to rank a metric, read from its help line: (description, score function; lower score = better).

    "higher/lower is better" rank by value; "≈1 good" by the distance from 1 (on a log scale); "real faces
    set the target" by the distance from the held-out real reference row."""
    t = (help_text or "").lower()
    if "higher is better" in t:
        return "higher is better", lambda v: -v
    if "lower is better" in t:
        return "lower is better", lambda v: v
    if "≈1" in t or "≈ 1" in t:
        return "closest to 1", lambda v: abs(math.log(v)) if v > 0 else math.inf
    if "target" in t:
        ref = next((r.get(key) for r in rows if r.get("kind") == "reference" and isinstance(r.get(key), (int, float))
                    and math.isfinite(r.get(key))), None)
        if ref is not None:
            return f"closest to held-out real ({ref:.3g})", lambda v, ref=ref: abs(v - ref)
    return "lower is better", lambda v: v


def metric_target(key: str, help_text: str, rows: list[dict]) -> Optional[float]:
    """The value a metric aims at, when it aims at one (1 for ratios, the real row for fractions)."""
    t = (help_text or "").lower()
    if "≈1" in t or "≈ 1" in t:
        return 1.0
    if "target" in t:
        return next((float(r[key]) for r in rows if r.get("kind") == "reference" and isinstance(r.get(key), (int, float))
                     and math.isfinite(r[key])), None)
    return None


def parse_values(text: str) -> list[float]:
    """"0.5, 0.6:1.0:5" → values (start:stop:count ranges allowed)."""
    out: list[float] = []
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if ":" in part:
                a, b, c = part.split(":")
                out += list(np.linspace(float(a), float(b), int(float(c))))
            else:
                out.append(float(part))
        except ValueError:
            continue
    return [float(v) for v in out if math.isfinite(v)]


class ComparePanel(QWidget):
    report_ready = Signal(object)

    def __init__(self, session: Session, bridge: EngineBridge, sampler_panel, parent=None) -> None:
        super().__init__(parent)
        from engine.samplers import SAMPLERS

        self.session = session
        self.bridge = bridge
        self.sampler_panel = sampler_panel
        self.report = None
        self.n = QSpinBox()
        self.n.setRange(16, 20000)
        self.n.setValue(256)
        self.n.setToolTip("faces per sampler")
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.sweep_sampler = QComboBox()
        self.sweep_sampler.addItem("(no sweep)", None)
        for name in SAMPLERS:
            self.sweep_sampler.addItem(name, name)
        self.sweep_param = QComboBox()
        self.sweep_values = QLineEdit("0.5:1.5:5")
        self.sweep_values.setToolTip("values: a list 0.5, 0.8, 1 or START:STOP:COUNT")
        self.run_btn = QPushButton("Run comparison")
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.setEnabled(False)
        self.metric = QComboBox()
        self.metric.setToolTip("metric shown in the bar chart and used for 'apply best'")
        self.apply_btn = QPushButton("Apply best value")
        self.apply_btn.setEnabled(False)
        self.apply_btn.setToolTip("set the swept parameter's best value (by the chosen metric) in the Sampler panel")
        self.note = QLabel("compares every sampler on the same model: run it as a job (a few seconds to minutes)")
        self.note.setWordWrap(True)

        self.table = QTableWidget()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.bar_plot = pg.PlotWidget()
        self.bar_plot.setMenuEnabled(False)
        from PySide6.QtGui import QFont

        small = QFont()
        small.setPointSize(7)
        self.bar_plot.getPlotItem().getAxis("bottom").setStyle(tickFont=small)
        self.bar_plot.getPlotItem().setTitle("one bar per sampler: press Run comparison", size="8pt")
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.7, brush=ps.brush(ps.BLUE, 200), pen=None)
        self.bar_plot.addItem(self.bars)
        self.sweep_plot = pg.PlotWidget()
        self.sweep_plot.setMenuEnabled(False)
        self.sweep_plot.getPlotItem().setTitle("the metric along the swept parameter", size="8pt")
        self.sweep_curve = pg.PlotDataItem(pen=ps.pen(ps.SELECTED, 2), symbol="o", symbolSize=6,
                                           symbolBrush=ps.brush(ps.SELECTED), symbolPen=None)
        self.best_marker = pg.InfiniteLine(angle=90, pen=ps.pen(ps.GREEN, 1.5, Qt.PenStyle.DashLine))
        self.sweep_plot.addItem(self.sweep_curve)
        self.sweep_plot.addItem(self.best_marker)
        self.best_marker.hide()
        self.bar_target = pg.InfiniteLine(angle=0, pen=ps.pen(ps.GREEN, 1.5, Qt.PenStyle.DashLine))
        self.sweep_target = pg.InfiniteLine(angle=0, pen=ps.pen(ps.GREEN, 1.5, Qt.PenStyle.DashLine))
        self.bar_plot.addItem(self.bar_target)
        self.sweep_plot.addItem(self.sweep_target)
        self.bar_target.hide()
        self.sweep_target.hide()

        row1 = QHBoxLayout()
        row1.addWidget(QLabel("faces"))
        row1.addWidget(self.n)
        row1.addWidget(QLabel("seed"))
        row1.addWidget(self.seed)
        row1.addStretch(1)
        row1.addWidget(self.run_btn)
        row1.addWidget(self.cancel_btn)
        row2 = QHBoxLayout()
        row2.addWidget(QLabel("sweep"))
        row2.addWidget(self.sweep_sampler)
        row2.addWidget(self.sweep_param)
        row2.addWidget(self.sweep_values, 1)
        row3 = QHBoxLayout()
        row3.addWidget(QLabel("metric"))
        row3.addWidget(self.metric, 1)
        row3.addWidget(self.apply_btn)
        plots = QSplitter(Qt.Orientation.Horizontal)
        plots.addWidget(self.bar_plot)
        plots.addWidget(self.sweep_plot)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(plots)
        split.setSizes([300, 300])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(row1)
        lay.addLayout(row2)
        lay.addLayout(row3)
        lay.addWidget(split, 1)
        lay.addWidget(self.note)

        self.sweep_sampler.currentIndexChanged.connect(self._sweep_sampler_changed)
        self.sweep_param.activated.connect(self._default_values)
        self.run_btn.clicked.connect(self.run)
        self.cancel_btn.clicked.connect(self._cancel)
        self.metric.currentIndexChanged.connect(self._draw_metric)
        self.apply_btn.clicked.connect(self.apply_best)
        self._job: Optional[Job] = None
        i = self.sweep_sampler.findData("pca-ellipse")
        if i >= 0:
            self.sweep_sampler.setCurrentIndex(i)
        self._sweep_sampler_changed()

    def _sweep_sampler_changed(self, *_) -> None:
        from engine.samplers import SAMPLERS

        self.sweep_param.clear()
        name = self.sweep_sampler.currentData()
        if name is None:
            self.sweep_param.setEnabled(False)
            self.sweep_values.setEnabled(False)
            return
        for p in SAMPLERS[name].params:
            if p.type in (float, int) and not p.choices:
                self.sweep_param.addItem(p.name, p.name)
                self.sweep_param.setItemData(self.sweep_param.count() - 1, p.describe(), Qt.ItemDataRole.ToolTipRole)
        self.sweep_param.setEnabled(self.sweep_param.count() > 0)
        self.sweep_values.setEnabled(self.sweep_param.count() > 0)
        preferred = {"pca-ellipse": "fact", "box": "fact", "normal": "scale", "gmm": "scale", "kde": "bandwidth",
                     "uniform": "range"}.get(name)
        i = self.sweep_param.findData(preferred)
        if i >= 0:
            self.sweep_param.setCurrentIndex(i)
        self._default_values()

    def _default_values(self, *_) -> None:
        """A sensible sweep around the parameter's default, inside its range."""
        from engine.samplers import SAMPLERS

        name, key = self.sweep_sampler.currentData(), self.sweep_param.currentData()
        if name is None or key is None:
            return
        p = SAMPLERS[name].param(key)
        d = float(p.default) or 1.0
        lo, hi = 0.5 * d, 1.5 * d
        if p.minimum is not None:
            lo = max(lo, float(p.minimum))
        if p.maximum is not None:
            hi = min(hi, float(p.maximum))
        if p.type is int:
            vals = sorted({int(round(v)) for v in np.linspace(lo, hi, 5)})
            self.sweep_values.setText(", ".join(str(v) for v in vals))
        else:
            self.sweep_values.setText(f"{lo:g}:{hi:g}:5")

    def sweep(self):
        name, param = self.sweep_sampler.currentData(), self.sweep_param.currentData()
        values = parse_values(self.sweep_values.text())
        if name is None or param is None or not values:
            return None
        from engine.samplers import SAMPLERS

        p = SAMPLERS[name].param(param)
        if p.type is int:
            values = sorted({int(round(v)) for v in values})
        return (name, param, values)

    def run(self) -> Optional[Job]:
        s = self.session
        if s.model is None or s.latents is None:
            self.note.setText("open a model with encoded z-points first")
            return None
        folder = s.model.folder
        data_dir = s.dataset.folder if s.dataset is not None else None
        n, seed, sweep = self.n.value(), self.seed.value(), self.sweep()

        def fn(progress, cancel):
            from engine.evaluation import evaluate

            return evaluate(folder, data_dir, n=n, seed=seed, sweep=sweep, progress=progress, cancel=cancel)

        def finished(*_):
            self.run_btn.setEnabled(True)
            self.cancel_btn.setEnabled(False)

        self.run_btn.setEnabled(False)
        self.cancel_btn.setEnabled(True)
        self.note.setText("running…")
        self._job = self.bridge.submit(Job("compare samplers", fn, on_done=lambda r: (finished(), self.show_report(r)),
                                           on_cancelled=lambda: (finished(), self.note.setText("cancelled")),
                                           on_error=lambda m: (finished(), self.note.setText(f"failed: {m}"))))
        return self._job

    def _cancel(self) -> None:
        if self._job is not None:
            self._job.cancel.cancel()

    # ---- showing a report
    def show_report(self, report) -> None:
        self.report = report
        metrics = list(report.metrics)
        cols = ["sampler", "kind", "parameters"] + metrics
        self.table.clear()
        self.table.setColumnCount(len(cols))
        self.table.setRowCount(len(report.rows))
        self.table.setHorizontalHeaderLabels(cols)
        for c, m in enumerate(metrics, start=3):
            self.table.horizontalHeaderItem(c).setToolTip(report.metric_help.get(m, ""))
        for r, row in enumerate(report.rows):
            params = row.get("parameters") or {}
            cells = [row.get("name", ""), row.get("kind", ""),
                     ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())]
            for c, text in enumerate(cells):
                self.table.setItem(r, c, QTableWidgetItem(str(text)))
            for c, m in enumerate(metrics, start=3):
                v = row.get(m)
                item = QTableWidgetItem("—" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:.4g}")
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        cur = self.metric.currentData()
        self.metric.blockSignals(True)
        self.metric.clear()
        for m in metrics:
            self.metric.addItem(m, m)
            self.metric.setItemData(self.metric.count() - 1, report.metric_help.get(m, ""), Qt.ItemDataRole.ToolTipRole)
        i = self.metric.findData(cur)
        self.metric.setCurrentIndex(max(0, i))
        self.metric.blockSignals(False)
        self.apply_btn.setEnabled(bool(report.sweep))
        notes = list(getattr(report, "notes", []) or [])
        self.note.setText(f"{len(report.rows)} rows; hover a column header for what it measures."
                          + (" " + notes[0] if notes else ""))
        self._draw_metric()
        self.report_ready.emit(report)

    def _draw_metric(self, *_) -> None:
        rep, m = self.report, self.metric.currentData()
        if rep is None or m is None:
            return
        rows = [r for r in rep.rows if isinstance(r.get(m), (int, float)) and math.isfinite(r.get(m))]
        x = np.arange(len(rows))
        h = np.array([float(r[m]) for r in rows])
        brushes = [ps.brush(ps.ORANGE if r.get("kind") == "sampler" else (150, 150, 150), 220) for r in rows]
        self.bars.setOpts(x=x, height=h, width=0.7, brushes=brushes)
        ax = self.bar_plot.getPlotItem().getAxis("bottom")
        short = {"held-out real": "real", "reconstructions": "recon", "pca-ellipse": "pca-ell."}
        ax.setTicks([[(i, short.get(r.get("name", ""), r.get("name", ""))) for i, r in enumerate(rows)]])
        goal, _ = metric_goal(m, rep.metric_help.get(m, ""), rep.rows)
        self.bar_plot.getPlotItem().setTitle(f"{m}: {goal} (grey: reference rows)", size="8pt")
        target = metric_target(m, rep.metric_help.get(m, ""), rep.rows)
        for line in (self.bar_target, self.sweep_target):
            line.setVisible(target is not None)
            if target is not None:
                line.setValue(target)
        sw = rep.sweep
        if sw and m in sw.get("curves", {}):
            xs = np.asarray(sw["values"], float)
            ys = np.asarray(sw["curves"][m], float)
            self.sweep_curve.setData(xs, ys)
            self.sweep_plot.getPlotItem().setLabel("bottom", f"{sw['sampler']}: {sw['parameter']}")
            self.sweep_plot.getPlotItem().setTitle(f"sweep: {m}", size="8pt")
            best = self.best_value()
            if best is not None:
                self.best_marker.setValue(best)
                self.best_marker.show()
        else:
            self.sweep_curve.setData([], [])
            self.best_marker.hide()

    def best_value(self):
        rep, m = self.report, self.metric.currentData()
        if rep is None or not rep.sweep or m not in rep.sweep.get("curves", {}):
            return None
        ys = np.asarray(rep.sweep["curves"][m], float)
        ok = np.isfinite(ys)
        if not ok.any():
            return None
        _, score = metric_goal(m, rep.metric_help.get(m, ""), rep.rows)
        k = int(np.argmin([score(float(v)) if ok[i] else math.inf for i, v in enumerate(ys)]))
        return rep.sweep["values"][k]

    def apply_best(self) -> None:
        best = self.best_value()
        if best is None:
            return
        sw = self.report.sweep
        self.sampler_panel.set_sampler(sw["sampler"])
        self.sampler_panel.set_value(sw["parameter"], best)
        self.note.setText(f"applied {sw['sampler']} {sw['parameter']} = {best:g} to the Sampler panel")
