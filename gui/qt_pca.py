"""PCA panel: explained variance per principal component with the cumulative curve, and the normality
check (the fraction of z-points inside Mahalanobis σ-levels, observed vs the χ² expectation, and the
histogram of squared Mahalanobis distances against the χ²(d) density), and the cloud on the two leading
principal axes, optionally coloured by one attribute (two groups, each with its confidence ellipse)."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSpinBox, QVBoxLayout, QWidget

from . import plot_style as ps
from .qt_widgets import plot_widget, reset_view, setup_plot
from .session import Session


class PCAPanel(QWidget):
    def __init__(self, session: Session, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self._build_controls()
        self._build_variance_plot()
        self._build_normality_plot()
        self._build_distance_plot()
        self._build_cloud_plot(session)
        self._build_layout()
        self._connect(session)

    # ---- building the panel
    def _build_controls(self) -> None:
        """How many components the variance plot shows; the summary line."""
        self.shown = QSpinBox()
        self.shown.setRange(2, 4096)
        self.shown.setValue(64)
        self.shown.setToolTip("how many leading components the variance plot shows")
        self.summary = QLabel(" ")
        self.summary.setWordWrap(True)

    def _build_variance_plot(self) -> None:
        """Explained variance per component (bars) and the cumulative curve."""
        self.var_plot = plot_widget()
        self.var_plot.setMenuEnabled(False)
        vp = self.var_plot.getPlotItem()
        vp.setTitle("explained variance", size="9pt")
        vp.setLabel("bottom", "principal component")
        vp.setLabel("left", "% of variance")
        vp.showGrid(y=True, alpha=0.15)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush=ps.brush(ps.BLUE, 200), pen=None)
        self.cum_item = pg.PlotDataItem(pen=ps.pen(ps.SELECTED, 2), symbol="o", symbolSize=3,
                                        symbolBrush=ps.brush(ps.SELECTED), symbolPen=None)
        vp.addItem(self.bars)
        vp.addItem(self.cum_item)
        leg = vp.addLegend(offset=(-8, 40), labelTextSize="8pt")
        leg.setBrush(pg.mkBrush(255, 255, 255, 200))
        leg.addItem(self.bars, "per component")
        leg.addItem(self.cum_item, "cumulative")

    def _build_normality_plot(self) -> None:
        """The fraction of z-points inside σ-levels, observed vs the χ² expectation."""
        self.norm_plot = plot_widget()
        self.norm_plot.setMenuEnabled(False)
        npi = self.norm_plot.getPlotItem()
        npi.setTitle("normality: inside σ-level, observed (blue) vs χ² (grey)", size="9pt")
        npi.setLabel("bottom", "σ-level (Mahalanobis)")
        npi.setLabel("left", "fraction of z-points")
        npi.showGrid(y=True, alpha=0.15)
        self.obs_bars = pg.BarGraphItem(x=[], height=[], width=0.18, brush=ps.brush(ps.BLUE, 220), pen=None)
        self.exp_bars = pg.BarGraphItem(x=[], height=[], width=0.18, brush=ps.brush((150, 150, 150), 220), pen=None)
        npi.addItem(self.obs_bars)
        npi.addItem(self.exp_bars)
        self.norm_labels: list[pg.TextItem] = []

    def _build_distance_plot(self) -> None:
        """The histogram of squared Mahalanobis distances against the χ²(d) density."""
        self.md_plot = plot_widget()
        self.md_plot.setMenuEnabled(False)
        mpi = self.md_plot.getPlotItem()
        mpi.setTitle("squared Mahalanobis distance vs χ²(d)", size="9pt")
        mpi.setLabel("bottom", "d²")
        mpi.setLabel("left", "density")
        self.md_hist = pg.PlotDataItem(stepMode="center", fillLevel=0, pen=ps.pen(ps.BLUE, 1), brush=ps.brush(ps.BLUE, 60))
        self.md_pdf = pg.PlotDataItem(pen=ps.pen((60, 60, 60), 2, Qt.PenStyle.DashLine))
        mpi.addItem(self.md_hist)
        mpi.addItem(self.md_pdf)
        leg3 = mpi.addLegend(offset=(-8, 8), labelTextSize="8pt")
        leg3.setBrush(pg.mkBrush(255, 255, 255, 200))
        leg3.addItem(self.md_hist, "z-points")
        leg3.addItem(self.md_pdf, "χ²(d) density")

    def _build_cloud_plot(self, session: Session) -> None:
        """The cloud on PC1 × PC2, coloured by session.colour_by."""
        from .qt_attribute_layer import AttributeLayer, ColourByPicker

        self.cloud_plot = plot_widget()
        self.cloud_plot.setObjectName("pcaCloudPlot")
        self.cloud_plot.setMenuEnabled(False)
        cpi = self.cloud_plot.getPlotItem()
        cpi.setTitle("the cloud on PC1 × PC2", size="9pt")
        cpi.setLabel("bottom", "PC1")
        cpi.setLabel("left", "PC2")
        self.cloud_points = pg.ScatterPlotItem(size=2.5, pen=None, brush=ps.brush(ps.TRAIN, 60))
        self.cloud_points.setZValue(-5)
        cpi.addItem(self.cloud_points)
        self.cloud_legend = cpi.addLegend(offset=(-8, 8), labelTextSize="8pt")
        self.cloud_legend.setBrush(pg.mkBrush(255, 255, 255, 200))
        self.attribute_layer = AttributeLayer(cpi, self.cloud_legend, point_size=2.5)
        self.colour_by = ColourByPicker(session)

    def _build_layout(self) -> None:
        """The four plots as tabs or a 2×2 grid (by the room), the controls above them, the summary below."""
        from PySide6.QtWidgets import QGridLayout, QStackedWidget, QTabWidget

        from .qt_widgets import flow, row

        # four plots: a 2×2 grid when the panel is large (floating, maximised), one tab each when it is docked
        # small, so that every plot keeps a readable size
        self._plots = [(self.var_plot, "variance"), (self.cloud_plot, "cloud PC1 × PC2"),
                       (self.norm_plot, "normality"), (self.md_plot, "d² vs χ²")]
        self.grid_page = QWidget()
        self._grid = QGridLayout(self.grid_page)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(4)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("pcaTabs")
        self.tabs.setDocumentMode(True)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.tabs)
        self.stack.addWidget(self.grid_page)
        self.summary.setStyleSheet("color: #444;")
        self._mode = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(flow(row("components shown", self.shown), self.colour_by, spacing=12))
        lay.addWidget(self.stack, 1)
        lay.addWidget(self.summary)
        self._arrange("tabs")

    def _connect(self, session: Session) -> None:
        """The plots' reset actions, the components shown, the session's signals."""
        for plot in (self.var_plot, self.norm_plot, self.md_plot):
            setup_plot(plot, reset=lambda p=plot: (reset_view(p), self.redraw()))
        setup_plot(self.cloud_plot, reset=self.redraw_cloud)
        self.shown.valueChanged.connect(self.redraw)
        session.stats_changed.connect(self.redraw)
        session.colour_by_changed.connect(self.redraw_cloud)

    def redraw(self, *_) -> None:
        st = self.session.stats
        for t in self.norm_labels:
            self.norm_plot.removeItem(t)
        self.norm_labels = []
        if st is None:
            self.bars.setOpts(x=[], height=[])
            self.cum_item.setData([], [])
            self.obs_bars.setOpts(x=[], height=[])
            self.exp_bars.setOpts(x=[], height=[])
            self.md_hist.setData([], [])
            self.md_pdf.setData([], [])
            self.summary.setText("no statistics yet")
            self.redraw_cloud()
            return
        ratio = np.asarray(st.pca.explained_variance_ratio, float)
        k = min(len(ratio), self.shown.value())
        x = np.arange(1, k + 1)
        self.bars.setOpts(x=x, height=100 * ratio[:k], width=0.8)
        cum = 100 * np.cumsum(ratio)
        self.cum_item.setData(x, cum[:k])
        self.var_plot.getPlotItem().setYRange(0, 100, padding=0.02)
        self.var_plot.getPlotItem().setXRange(0.5, k + 0.5, padding=0)
        need = {q: int(np.searchsorted(cum, q) + 1) for q in (50, 80, 90, 95, 99)}

        nc = st.normality
        levels = np.asarray(nc.levels, float)
        obs, exp = np.asarray(nc.observed, float), np.asarray(nc.expected, float)
        self.obs_bars.setOpts(x=levels - 0.1, height=obs, width=0.18)
        self.exp_bars.setOpts(x=levels + 0.1, height=exp, width=0.18)
        for lv, o, e in zip(levels, obs, exp):
            t = pg.TextItem(f"{100 * o:.1f}% / {100 * e:.1f}%", color=(30, 30, 30), anchor=(0.5, 1.0))
            t.setPos(float(lv), float(max(o, e)) + 0.02)
            self.norm_plot.addItem(t)
            self.norm_labels.append(t)
        self.norm_plot.getPlotItem().setYRange(0, 1.12, padding=0)
        self.norm_plot.getPlotItem().setXRange(float(levels.min()) - 0.6, float(levels.max()) + 0.6, padding=0)

        md = np.asarray(nc.mahalanobis_sq, float)
        d = st.z_dim
        if len(md):
            lo, hi = float(np.percentile(md, 0.1)), float(np.percentile(md, 99.9))
            lo, hi = min(lo, d - 4 * np.sqrt(2 * d)), max(hi, d + 4 * np.sqrt(2 * d))
            counts, edges = np.histogram(md, bins=80, range=(max(0.0, lo), hi), density=True)
            self.md_hist.setData(edges, counts)
            from engine.latent_stats import chi2_pdf

            xs = np.linspace(edges[0], edges[-1], 300)
            self.md_pdf.setData(xs, chi2_pdf(xs, d))
        sampled = (f" (PCA and normality check on a seeded {st.sample_rows:,} of them)"
                   if getattr(st, "subsampled", False) else "")
        text = (
            f"{st.n:,} z-points{sampled}, d = {d}. Components for "
            + ", ".join(f"{q}%: {need[q]}" for q in need)
            + " of the variance. Normality: a Gaussian cloud puts the expected (grey) fraction inside each "
            "Mahalanobis σ-level; blue is what the training z-points do."
        )
        self.summary.setText(text)
        self.redraw_cloud()

    GRID_MIN = (720, 560)  # at least this size: the four plots side by side

    def resizeEvent(self, ev) -> None:  # noqa: N802
        super().resizeEvent(ev)
        big = self.width() >= self.GRID_MIN[0] and self.height() >= self.GRID_MIN[1]
        self._arrange("grid" if big else "tabs")

    def _arrange(self, mode: str) -> None:
        if mode == self._mode:
            return
        self._mode = mode
        if mode == "grid":
            current = self.tabs.currentIndex()
            while self.tabs.count():
                self.tabs.removeTab(0)
            for k, (plot, _title) in enumerate(self._plots):
                self._grid.addWidget(plot, k // 2, k % 2)
            self.stack.setCurrentWidget(self.grid_page)
            self._tab_index = current
        else:
            for k, (plot, title) in enumerate(self._plots):
                self._grid.removeWidget(plot)
                self.tabs.addTab(plot, title)
            self.tabs.setCurrentIndex(getattr(self, "_tab_index", 0))
            self.stack.setCurrentWidget(self.tabs)
        for plot, _title in self._plots:
            plot.show()

    def _pc12(self):
        s = self.session
        pre = getattr(s.model, "pca_coords", None)
        if pre is not None and len(pre) == len(s.latents) and pre.shape[1] >= 2:
            return np.asarray(pre[:, :2], float)
        from engine.workflows.open_model import leading_pca_coords

        return leading_pca_coords(s.latents, s.stats, 2)

    def redraw_cloud(self, *_) -> None:
        s = self.session
        if s.stats is None or s.latents is None or s.latents.shape[1] < 2:
            self.cloud_points.setData([], [])
            self.attribute_layer.clear()
            return
        xy = self._pc12()
        n = len(xy)
        idx = np.sort(np.random.default_rng(0).choice(n, size=min(n, 3000), replace=False))
        masks = s.attribute_groups()
        if masks is None:
            self.attribute_layer.clear()
            self.cloud_points.setData(pos=xy[idx])
            self.cloud_points.setVisible(True)
        else:
            self.cloud_points.setVisible(False)
            self.attribute_layer.set_groups(s.colour_by, s.labels.group_names(s.colour_by), xy, masks, shown=idx)
        self.cloud_legend.setVisible(self.attribute_layer.active)
        shown = xy[idx]
        lo, hi = shown.min(axis=0), shown.max(axis=0)
        span = np.maximum(hi - lo, 1e-9)
        top = 0.45 if self.attribute_layer.active else 0.05  # room for the legend above the cloud
        cpi = self.cloud_plot.getPlotItem()
        cpi.setXRange(lo[0] - 0.05 * span[0], hi[0] + 0.05 * span[0], padding=0)
        cpi.setYRange(lo[1] - 0.05 * span[1], hi[1] + top * span[1], padding=0)

    def clear_model_state(self) -> None:
        """Another model (``Session.model_reset``): the previous model's bars, curves and cloud go and every view
        is a new plot's (a model without z-points shows empty plots)."""
        from .qt_widgets import empty_view

        for bars in (self.bars, self.obs_bars, self.exp_bars):
            bars.setOpts(x=[], height=[])
        for item in (self.cum_item, self.md_hist, self.md_pdf, self.cloud_points):
            item.setData([], [])
        for t in self.norm_labels:
            self.norm_plot.removeItem(t)
        self.norm_labels = []
        self.attribute_layer.clear()
        for plot in (self.var_plot, self.norm_plot, self.md_plot, self.cloud_plot):
            empty_view(plot)
