"""Compare samplers: runs ``engine.evaluation.evaluate`` as a job and shows its table, a bar chart
per metric and the curves of a parameter sweep; "apply best" sets the best swept value in the
Sampler panel. Each metric's goal comes from the engine (``evaluation.METRIC_GOALS``), the sweep's
default sampler and parameter from the samplers' own declarations.

The table and the two charts are arranged for the room the panel has (:meth:`ComparePanel.resizeEvent`):
the table beside the two charts stacked when the panel is large, the three side by side when it is wide
but low (docked at the bottom), and one at a time behind tabs ("table", "bars", "sweep") when it is small
(docked in a 1280×720 window), so that no chart is squeezed to a few pixels. The bar chart's sampler
names are shortened, or only every k-th shown, so that they never run into each other."""
from __future__ import annotations

import math
from typing import Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QHeaderView, QLabel, QLineEdit, QPushButton, QSpinBox, QSplitter, QTabBar,
    QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from engine.evaluation import metric_goal, metric_target

from . import plot_style as ps
from .engine_bridge import EngineBridge, Job
from .qt_widgets import flow, plot_widget, row, setup_plot
from .session import Session


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


#: shorter names for the bar chart's labels, used when the whole name does not fit under its bar
SHORT_NAMES = {"held-out real": "real", "reconstructions": "recon", "pca-ellipse": "pca-ell."}


def label_forms(name: str) -> list[str]:
    """The ways a bar's label can be written, longest first: the name, its short form, its first four letters."""
    short = SHORT_NAMES.get(name, name)
    tiny = short[:4].rstrip("-.") or short[:4]
    out: list[str] = []
    for f in (name, short, tiny):
        if f not in out:
            out.append(f)
    return out


def fit_labels(names: list[str], px_per_bar: float, text_width) -> list[str]:
    """A label for each bar that fits the ``px_per_bar`` it has (``text_width(str)`` measures one): each
    bar's longest form that fits; when even the shortest forms do not, those of every k-th bar only
    (the others "") so that no two labels overlap."""
    gap = 4.0
    out = []
    for n in names:
        fits = [f for f in label_forms(n) if text_width(f) + gap <= px_per_bar]
        if not fits:
            break
        out.append(fits[0])
    else:
        return out
    tiny = [label_forms(n)[-1] for n in names]
    widest = max(text_width(f) for f in tiny) + gap
    step = max(2, int(math.ceil(widest / max(px_per_bar, 1e-6))))
    return [f if i % step == 0 else "" for i, f in enumerate(tiny)]


class ComparePanel(QWidget):
    report_ready = Signal(object)

    def __init__(self, session: Session, bridge: EngineBridge, sampler_panel, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.bridge = bridge
        self.sampler_panel = sampler_panel
        self.report = None
        self._build_controls()
        self._build_table()
        self._build_plots()
        self._build_layout()
        self._connect_signals()
        self._job: Optional[Job] = None
        session.model_changed.connect(self._model_changed)
        from engine.samplers import default_sweep_sampler

        i = self.sweep_sampler.findData(default_sweep_sampler())
        if i >= 0:
            self.sweep_sampler.setCurrentIndex(i)
        self._sweep_sampler_changed()

    # ---- building the panel
    def _build_controls(self) -> None:
        """Faces and seed, the sweep (sampler, parameter, values), run and cancel, the metric, apply best, the note."""
        from engine.samplers import SAMPLERS

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

    def _build_table(self) -> None:
        """The table of every metric of every sampler."""
        self.table = QTableWidget()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)

    def _build_plots(self) -> None:
        """The bar chart (the chosen metric per sampler) and the sweep chart, with their target lines."""
        self.bar_plot = plot_widget()
        self.bar_plot.setMenuEnabled(False)
        self.bar_plot.setToolTip("orange: the samplers; grey: the reference rows (held-out real faces, reconstructions)")
        small = QFont()
        small.setPointSize(7)
        self._tick_font = small
        self._bar_names: list[str] = []  # the bars' sampler names, left to right
        self._bar_ticks: Optional[list] = None  # the labels shown under them
        self._bar_px = 40.0  # the room one bar had when the chart was last visible
        self.bar_plot.getPlotItem().getAxis("bottom").setStyle(tickFont=small)
        self.bar_plot.getPlotItem().setTitle("one bar per sampler: press Run comparison", size="8pt")
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.7, brush=ps.brush(ps.BLUE, 200), pen=None)
        self.bar_plot.addItem(self.bars)
        setup_plot(self.bar_plot)
        self.sweep_plot = plot_widget()
        self.sweep_plot.setMenuEnabled(False)
        self.sweep_plot.getPlotItem().setTitle("the metric along the swept parameter", size="8pt")
        self.sweep_curve = pg.PlotDataItem(pen=ps.pen(ps.SELECTED, 2), symbol="o", symbolSize=6,
                                           symbolBrush=ps.brush(ps.SELECTED), symbolPen=None)
        self.best_marker = pg.InfiniteLine(angle=90, pen=ps.pen(ps.GREEN, 1.5, Qt.PenStyle.DashLine))
        self.sweep_plot.addItem(self.sweep_curve)
        setup_plot(self.sweep_plot)
        self.sweep_plot.addItem(self.best_marker)
        self.best_marker.hide()
        self.bar_target = pg.InfiniteLine(angle=0, pen=ps.pen(ps.GREEN, 1.5, Qt.PenStyle.DashLine))
        self.sweep_target = pg.InfiniteLine(angle=0, pen=ps.pen(ps.GREEN, 1.5, Qt.PenStyle.DashLine))
        self.bar_plot.addItem(self.bar_target)
        self.sweep_plot.addItem(self.sweep_target)
        self.bar_target.hide()
        self.sweep_target.hide()

    def _build_layout(self) -> None:
        """The controls with the view tabs, the table beside the two charts, the note; arranged as tabs at first."""
        self.sweep_values.setMinimumWidth(110)
        self.metric.setMinimumContentsLength(10)
        # in a small panel one of the three at a time: these tabs choose which (at the end of the controls, just
        # above what they show; hidden when the panel has room for all three)
        self.view_tabs = QTabBar()
        self.view_tabs.setObjectName("compareTabs")
        self.view_tabs.setDocumentMode(True)
        self.view_tabs.setExpanding(False)
        self.view_tabs.setDrawBase(False)
        for title, tip in (("table", "every metric of every sampler"),
                           ("bars", "the chosen metric per sampler"),
                           ("sweep", "the chosen metric along the swept parameter")):
            self.view_tabs.setTabToolTip(self.view_tabs.addTab(title), tip)
        self.view_tabs.setCurrentIndex(1)  # the bars: what the metric and its goal mean at a glance
        self.controls = flow(row("faces", self.n, "seed", self.seed), row(self.run_btn, self.cancel_btn),
                             row("sweep", self.sweep_sampler, self.sweep_param), self.sweep_values,
                             row("metric", self.metric, self.apply_btn), self.view_tabs, spacing=12)
        # the table beside the charts, so that it keeps the panel's whole height (all the rows at once)
        self.plots = QSplitter(Qt.Orientation.Vertical)
        self.plots.setChildrenCollapsible(False)
        self.plots.addWidget(self.bar_plot)
        self.plots.addWidget(self.sweep_plot)
        self.split = QSplitter(Qt.Orientation.Horizontal)
        self.split.setChildrenCollapsible(False)
        self.split.addWidget(self.table)
        self.split.addWidget(self.plots)
        self.split.setStretchFactor(0, 3)
        self.split.setStretchFactor(1, 2)
        self.table.verticalHeader().setDefaultSectionSize(20)
        self.note.setStyleSheet("color: #444;")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.controls)
        lay.addWidget(self.split, 1)
        lay.addWidget(self.note)
        self._mode: Optional[str] = None
        self._arrange("tabs")

    def _connect_signals(self) -> None:
        """The view tabs, the bar chart's labels fitted to its room, the controls."""
        self.view_tabs.currentChanged.connect(self._show_view)
        vb = self.bar_plot.getPlotItem().getViewBox()
        vb.sigResized.connect(self._fit_bar_labels)
        vb.sigXRangeChanged.connect(self._fit_bar_labels)
        self.sweep_sampler.currentIndexChanged.connect(self._sweep_sampler_changed)
        self.sweep_param.activated.connect(self._default_values)
        self.run_btn.clicked.connect(self.run)
        self.cancel_btn.clicked.connect(self._cancel)
        self.metric.currentIndexChanged.connect(self._draw_metric)
        self.apply_btn.clicked.connect(self.apply_best)

    # ---- the arrangement for the room the panel has
    #: at least this size: the table beside the two charts one above the other (each chart ≥ ~120 px tall)
    SPLIT_MIN = (560, 370)
    #: narrower or lower than SPLIT_MIN but at least this wide: table, bars and sweep side by side
    ROW_MIN_WIDTH = 900

    def mode_for(self, width: int, height: int) -> str:
        if width >= self.SPLIT_MIN[0] and height >= self.SPLIT_MIN[1]:
            return "split"
        return "row" if width >= self.ROW_MIN_WIDTH else "tabs"

    def mode(self) -> Optional[str]:
        """"split", "row" or "tabs" (see the module's docstring)."""
        return self._mode

    def resizeEvent(self, ev) -> None:  # noqa: N802
        super().resizeEvent(ev)
        self._arrange(self.mode_for(self.width(), self.height()))

    def _arrange(self, mode: str) -> None:
        if mode == self._mode:
            return
        self._mode = mode
        self.view_tabs.setVisible(mode == "tabs")
        self.plots.setOrientation(Qt.Orientation.Horizontal if mode == "row" else Qt.Orientation.Vertical)
        self._show_view()
        if mode == "row":  # a third each
            self.split.setSizes([1000, 2000])
            self.plots.setSizes([1000, 1000])
        elif mode == "split":
            self.plots.setSizes([1000, 1000])

    def _show_view(self, *_) -> None:
        """All three in "split" and "row"; in "tabs" the one its tab chooses."""
        k = self.view_tabs.currentIndex() if self._mode == "tabs" else -1
        self.table.setVisible(k in (-1, 0))
        self.plots.setVisible(k != 0)
        self.bar_plot.setVisible(k in (-1, 1))
        self.sweep_plot.setVisible(k in (-1, 2))

    def show_view(self, name: str) -> None:
        """Bring "table", "bars" or "sweep" into view (its tab, when the panel shows one at a time)."""
        self.view_tabs.setCurrentIndex(["table", "bars", "sweep"].index(name))

    def _fit_bar_labels(self, *_) -> None:
        """The bar chart's sampler names, each as long as fits under its bar, never overlapping."""
        ax = self.bar_plot.getPlotItem().getAxis("bottom")
        if not self._bar_names:
            ax.setTicks(None)
            return
        vb = self.bar_plot.getPlotItem().getViewBox()
        if vb.width() >= 2:
            (x0, x1), _ = vb.viewRange()
            self._bar_px = vb.width() / max(x1 - x0, 1e-9)
        # else hidden behind another tab: fitted to the room it had until it is shown again (sigResized)
        px = self._bar_px
        fm = QFontMetrics(self._tick_font)
        labels = fit_labels(self._bar_names, px, fm.horizontalAdvance)
        ticks = [(i, t) for i, t in enumerate(labels) if t]
        if ticks != self._bar_ticks:
            self._bar_ticks = ticks
            ax.setTicks([ticks])

    def bar_labels(self) -> list[tuple[float, str]]:
        """The labels under the bars now: (x, text)."""
        return list(self._bar_ticks or [])

    def _sweep_sampler_changed(self, *_) -> None:
        from engine.samplers import SAMPLERS

        self.sweep_param.clear()
        name = self.sweep_sampler.currentData()
        if name is None:
            self.sweep_param.setEnabled(False)
            self.sweep_values.setEnabled(False)
            return
        cls = SAMPLERS[name]
        for p in cls.sweep_params():
            self.sweep_param.addItem(p.name, p.name)
            self.sweep_param.setItemData(self.sweep_param.count() - 1, p.describe(), Qt.ItemDataRole.ToolTipRole)
        self.sweep_param.setEnabled(self.sweep_param.count() > 0)
        self.sweep_values.setEnabled(self.sweep_param.count() > 0)
        i = self.sweep_param.findData(cls.preferred_sweep())
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
        opened = s.model
        data_dir = s.dataset.folder if s.dataset is not None else None
        n, seed, sweep = self.n.value(), self.seed.value(), self.sweep()

        def fn(progress, cancel):  # the open model as it is: not opened again from its folder
            from engine.workflows.evaluate import EvaluateOptions, evaluate_opened_model

            options = EvaluateOptions(n=n, seed=seed, sweep=sweep, real_faces_optional=True)
            return evaluate_opened_model(opened, data_dir, options, progress=progress, cancel=cancel).report

        def finished(*_):
            self.run_btn.setEnabled(True)
            self.cancel_btn.setEnabled(False)

        self.clear_report()  # results of another run (or model) never stay beside the new run's progress
        self.run_btn.setEnabled(False)
        self.cancel_btn.setEnabled(True)
        self.note.setText("running…" + ("" if data_dir is not None else
                                        " (no dataset open: latent metrics and face rates only, no Fréchet distance)"))
        self._job = self.bridge.submit(Job("compare samplers", fn, on_done=lambda r: (finished(), self.show_report(r)),
                                           on_cancelled=lambda: (finished(), self.note.setText("cancelled")),
                                           on_error=lambda m: (finished(), self.note.setText(f"failed: {m}"))))
        return self._job

    def _model_changed(self) -> None:
        if self._job is not None:
            self._job.cancel.cancel()
        self.clear_report()
        self.note.setText("compares every sampler on the open model: run it as a job (a few seconds to minutes)")

    def clear_report(self) -> None:
        self.report = None
        self.table.clear()
        self.table.setRowCount(0)
        self.table.setColumnCount(0)
        self.metric.blockSignals(True)
        self.metric.clear()
        self.metric.blockSignals(False)
        self.bars.setOpts(x=[], height=[])
        self._bar_names = []
        self._bar_ticks = None
        self.bar_plot.getPlotItem().getAxis("bottom").setTicks(None)
        self.sweep_curve.setData([], [])
        for item in (self.best_marker, self.bar_target, self.sweep_target):
            item.hide()
        self.apply_btn.setEnabled(False)

    def _cancel(self) -> None:
        if self._job is not None:
            self._job.cancel.cancel()

    # ---- showing a report
    def show_report(self, report) -> None:
        self.report = report
        metrics = list(report.metrics)
        # the metrics beside the sampler's name, the long parameter lists last (in a narrow dock they hid the numbers)
        cols = ["sampler"] + metrics + ["kind", "parameters"]
        self.table.clear()
        self.table.setColumnCount(len(cols))
        self.table.setRowCount(len(report.rows))
        self.table.setHorizontalHeaderLabels(cols)
        for c, m in enumerate(metrics, start=1):
            self.table.horizontalHeaderItem(c).setToolTip(report.metric_help.get(m, ""))
        for r, row in enumerate(report.rows):
            params = row.get("parameters") or {}
            params = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())
            name = QTableWidgetItem(str(row.get("name", "")))
            name.setToolTip(params)
            self.table.setItem(r, 0, name)
            for c, text in enumerate((row.get("kind", ""), params), start=1 + len(metrics)):
                self.table.setItem(r, c, QTableWidgetItem(str(text)))
            for c, m in enumerate(metrics, start=1):
                v = row.get(m)
                item = QTableWidgetItem("—" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:.4g}")
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        cur = self.metric.currentData()
        self.metric.blockSignals(True)
        self.metric.clear()
        usable = []
        for m in metrics:
            measured = any(isinstance(r.get(m), (int, float)) and math.isfinite(r.get(m)) for r in report.rows)
            reason = "" if measured else ("needs the real images: open the model's dataset folder (File ▸ Open dataset "
                                          "folder) and run again" if m in ("frechet", "face_rate") else "not measured")
            self.metric.addItem(m if measured else f"{m} — {reason.split(':')[0]}", m)
            k = self.metric.count() - 1
            self.metric.setItemData(k, report.metric_help.get(m, "") + (f"\n{reason}" if reason else ""),
                                    Qt.ItemDataRole.ToolTipRole)
            if not measured:  # a metric without values cannot be chosen (an empty chart, nothing to apply)
                self.metric.model().item(k).setEnabled(False)
            else:
                usable.append(m)
        i = self.metric.findData(cur if cur in usable else (usable[0] if usable else None))
        self.metric.setCurrentIndex(max(0, i))
        self.metric.blockSignals(False)
        self.apply_btn.setEnabled(bool(report.sweep) and bool(usable))
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
        self._bar_names = [str(r.get("name", "")) for r in rows]
        self._bar_ticks = None
        self._fit_bar_labels()
        goal, _ = metric_goal(m, rep.rows)
        # a short title: pyqtgraph makes a title's width the plot's minimum (a long one pushed the bars out of view)
        self.bar_plot.getPlotItem().setTitle(f"{m}: {goal}", size="8pt")
        target = metric_target(m, rep.rows)
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
                edge = self.edge_warning()
                if edge:
                    self.note.setText(edge)
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
        _, score = metric_goal(m, rep.rows)
        k = int(np.argmin([score(float(v)) if ok[i] else math.inf for i, v in enumerate(ys)]))
        return rep.sweep["values"][k]

    def edge_warning(self) -> str:
        """A warning when the best swept value is the first or the last of the range (the optimum may lie beyond)."""
        best, rep = self.best_value(), self.report
        if best is None or not rep.sweep:
            return ""
        values = list(rep.sweep["values"])
        if len(values) < 3 or best not in (values[0], values[-1]):
            return ""
        side = "lowest" if best == values[0] else "highest"
        return (f"the best {rep.sweep['parameter']} ({best:g}) is the {side} value swept ({values[0]:g} … {values[-1]:g}): "
                "the optimum may lie beyond it — widen the range and run again")

    def apply_best(self) -> None:
        """Set the best swept value in the Sampler panel, or say why there is none."""
        rep, m = self.report, self.metric.currentData()
        best = self.best_value()
        if best is None:
            if rep is None:
                why = "run a comparison with a sweep first"
            elif not rep.sweep:
                why = "this comparison had no sweep: choose a sampler and parameter under 'sweep' and run it"
            else:
                why = f"the sweep has no {m} values (choose a measured metric)"
            self.note.setText(f"nothing applied: {why}")
            return
        sw = self.report.sweep
        self.sampler_panel.set_sampler(sw["sampler"])
        self.sampler_panel.set_value(sw["parameter"], best)
        edge = self.edge_warning()
        self.note.setText(f"applied {sw['sampler']} {sw['parameter']} = {best:g} to the Sampler panel"
                          + (f". Note: {edge}" if edge else ""))
