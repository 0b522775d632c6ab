"""Components panel: the histogram of one latent component with its Gaussian fit (blog part VII).

The fitted centre and the half-width interval are marked; the current sample's values of that
component are drawn as orange ticks. Left/Right or PgUp/PgDn step through the components. The cloud's selection
(``Session.cloud_selection``) is drawn beside the whole cloud as its own histogram, scaled to the cloud's total
(the two shapes compare); the Select tool drags a range of the component (``engine.selection.from_range``).
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QSpinBox, QVBoxLayout, QWidget

from . import plot_style as ps
from .qt_widgets import plot_widget, setup_plot
from .session import Session


class ComponentsPanel(QWidget):
    def __init__(self, session: Session, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.index = QSpinBox()
        self.index.setPrefix("z")
        self.index.setKeyboardTracking(False)
        self.index.setToolTip("component (Left/Right or PgUp/PgDn step through them)")
        self.prev_btn = QPushButton("◀")
        self.next_btn = QPushButton("▶")
        for b in (self.prev_btn, self.next_btn):
            b.setFixedWidth(28)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.pair_x = QPushButton("→ pair x")
        self.pair_x.setToolTip("show this component on the pair plot's x axis")
        self.info = QLabel(" ")
        self.info.setWordWrap(True)
        from .qt_widgets import flow, row


        self.plot = plot_widget()
        self.plot.setMenuEnabled(False)
        self.plot.setLabel("left", "count")
        self.plot.showGrid(y=True, alpha=0.15)
        setup_plot(self.plot)
        self.plot.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the arrow keys step through the components
        from .plot_tools import PlotMode, PlotToolBar, PlotTools

        self.tools = PlotTools(self.plot, modes=(PlotMode.PAN, PlotMode.SELECT))
        self.tools.select_shape = "box"  # a range of the component: the dragged box's x extent
        self.tool_bar = PlotToolBar(self.tools)
        for key in ("lasso", "polygon"):
            self.tool_bar.shape_buttons[key].setEnabled(False)
            self.tool_bar.shape_buttons[key].setToolTip("a range of one component: drag along the axis")
        self.tools.selection_drawn.connect(self._range_drawn)
        self.tools.selection_cleared.connect(lambda: session.set_cloud_selection(None))
        top = flow(row("component", self.prev_btn, self.index, self.next_btn), self.pair_x, self.tool_bar)
        pi = self.plot.getPlotItem()
        self.hist_item = pg.PlotDataItem(stepMode="center", fillLevel=0, pen=ps.pen(ps.BLUE, 1.2),
                                         brush=ps.brush(ps.BLUE, 60))
        self.fit_item = pg.PlotDataItem(pen=ps.pen(ps.SELECTED, 2.0))
        self.centre_line = pg.InfiniteLine(angle=90, pen=ps.pen((0, 0, 0), 1.5))
        self.band = pg.LinearRegionItem(movable=False, brush=pg.mkBrush(255, 200, 0, 45),
                                        pen=ps.pen((200, 140, 0), 1, Qt.PenStyle.DashLine))
        self.band.setZValue(-20)
        self.ticks_item = pg.ScatterPlotItem(symbol="|", size=12, pen=ps.pen(ps.ORANGE, 2), brush=None)
        from .qt_inspector import PHOTO_COLOUR

        self.photo_item = pg.ScatterPlotItem(symbol="star", size=16, pen=ps.pen((70, 0, 40), 1), brush=ps.brush(PHOTO_COLOUR))
        self.photo_item.setZValue(5)
        from .qt_selection_layer import SELECTION_COLOUR

        self.sel_item = pg.PlotDataItem(stepMode="center", fillLevel=0, pen=ps.pen(SELECTION_COLOUR, 1.6),
                                        brush=ps.brush(SELECTION_COLOUR, 70))
        self.sel_item.setZValue(2)
        for it in (self.band, self.hist_item, self.sel_item, self.fit_item, self.centre_line, self.ticks_item,
                   self.photo_item):
            pi.addItem(it)
        self.legend = pi.addLegend(offset=(-8, 8), labelTextSize="8pt")
        self.legend.setBrush(pg.mkBrush(255, 255, 255, 200))
        self.legend.addItem(self.hist_item, "training z-points")
        self.legend.addItem(self.fit_item, "Gaussian fit")
        self.legend.addItem(self.ticks_item, "generated")
        self._photo_in_legend = False
        self._sel_in_legend = False
        self._column = None  # (id of the z-points, component, its values): the selection's histogram reads it
        self.selection_ms: list[float] = []  # selection → its histogram drawn

        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(top)
        lay.addWidget(self.plot, 1)
        lay.addWidget(self.info)

        self.index.valueChanged.connect(self.redraw)
        self.prev_btn.clicked.connect(lambda: self.step(-1))
        self.next_btn.clicked.connect(lambda: self.step(1))
        self.pair_x.clicked.connect(self._to_pair)
        session.stats_changed.connect(self._stats_changed)
        session.sample_changed.connect(self._draw_ticks)
        session.photos_changed.connect(self._draw_ticks)
        session.cloud_selection_changed.connect(self.draw_selection)

    def component(self) -> int:
        return self.index.value()

    def set_component(self, i: int) -> None:
        self.index.setValue(int(i))

    def step(self, delta: int) -> None:
        n = self.index.maximum() + 1
        self.index.setValue((self.index.value() + delta) % max(1, n))

    def keyPressEvent(self, ev) -> None:  # noqa: N802 - Qt API
        key = ev.key()
        if key in (Qt.Key.Key_Right, Qt.Key.Key_PageDown, Qt.Key.Key_Down):
            self.step(1)
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_PageUp, Qt.Key.Key_Up):
            self.step(-1)
        elif key == Qt.Key.Key_Home:
            self.index.setValue(0)
        elif key == Qt.Key.Key_End:
            self.index.setValue(self.index.maximum())
        else:
            super().keyPressEvent(ev)

    def _to_pair(self) -> None:
        self.session.set_axes(("z", self.component()), self.session.axes[1])

    def _stats_changed(self) -> None:
        st = self.session.stats
        self.index.setMaximum(max(0, (st.z_dim if st is not None else 1) - 1))
        self.redraw()

    def redraw(self, *_) -> None:
        st = self.session.stats
        if st is None:
            self.hist_item.setData([], [])
            self.fit_item.setData([], [])
            self.ticks_item.setData([], [])
            self.photo_item.setData([], [])
            self.info.setText("no statistics yet: open a model with encoded z-points")
            self.band.hide()  # no centre ± half-width without statistics
            self.centre_line.hide()
            return
        self.band.show()
        self.centre_line.show()
        from engine.latent_stats import gaussian

        i = self.component()
        h = st.histogram(i)
        edges, counts = np.asarray(h.edges, float), np.asarray(h.counts, float)
        self.hist_item.setData(edges, counts)
        c, sig, hw = float(st.centres[i]), float(st.sigmas[i]), float(st.half_widths[i])
        x = np.linspace(edges[0], edges[-1], 400)
        self.fit_item.setData(x, gaussian(x, float(st.amplitudes[i]), c, sig))
        self.centre_line.setValue(c)
        self.band.setRegion((c - hw, c + hw))
        self.plot.setLabel("bottom", f"z{i}")
        self.plot.getPlotItem().setTitle(f"component z{i}", size="9pt")
        q = float(st.fit_quality[i])
        self.info.setText(
            f"z{i}: fitted centre {c:+.3f}, σ {sig:.3f}, half-width {hw:.3f} (shaded: centre ± half-width); "
            f"mean {float(st.mean[i]):+.3f}, std {float(st.std[i]):.3f}; fit quality {q:.3f}; "
            f"bin width {st.interval:g}"
            + (f"; histogram and fit {st.sample_note()}" if getattr(st, "subsampled", False) else "")
        )
        self._draw_ticks()
        self.draw_selection()

    def _range_drawn(self, _shape, vertices, op) -> None:
        """A range dragged along the axis: the z-points whose value of this component lies in it."""
        from engine.selection import apply, from_range

        s = self.session
        if s.latents is None:
            return
        i, v = self.component(), np.asarray(vertices, float)
        lo, hi = float(v[:, 0].min()), float(v[:, 0].max())
        mask = from_range(s.latents[:, i], lo, hi)
        s.set_cloud_selection(apply(s.cloud_selection, mask, op, f"z{i} in [{lo:.2f}, {hi:.2f}]"))

    def draw_selection(self) -> None:
        """The selection's histogram of this component beside the whole cloud's, scaled to the cloud's total."""
        import time

        t0 = time.perf_counter()
        s, st = self.session, self.session.stats
        sel = s.cloud_selection
        if sel is None or st is None or s.latents is None or len(s.latents) != sel.n:
            self.sel_item.setData([], [])
            return
        i = self.component()
        edges = np.asarray(st.histogram(i).edges, float)
        if self._column is None or self._column[:2] != (id(s.latents), i):
            self._column = (id(s.latents), i, np.ascontiguousarray(s.latents[:, i]))  # once per component
        counts = np.histogram(self._column[2][sel.mask], bins=len(edges) - 1,  # (equal bins: numpy's fast path)
                              range=(edges[0], edges[-1]))[0].astype(float)
        total = float(np.asarray(st.histogram(i).counts, float).sum())
        self.sel_item.setData(edges, counts * (total / max(1, sel.count)))
        if not self._sel_in_legend:
            self.legend.addItem(self.sel_item, "selection (scaled)")  # to the cloud's total: the shapes compare
            self._sel_in_legend = True
        self.selection_ms = (self.selection_ms + [(time.perf_counter() - t0) * 1000])[-200:]

    def _draw_ticks(self) -> None:
        s = self.session
        self._draw_photos()
        if s.sample is None or s.stats is None or len(s.sample.z) == 0:
            self.ticks_item.setData([], [])
            return
        i = self.component()
        v = s.sample.z[:, i].astype(float)
        self.ticks_item.setData(v, np.zeros_like(v))

    def _draw_photos(self) -> None:
        """The user's photos as magenta stars on the axis (their value of this component)."""
        s = self.session
        if not s.photos or s.stats is None:
            self.photo_item.setData([], [])
            return
        i = self.component()
        v = s.photo_z()[:, i].astype(float)
        self.photo_item.setData(v, np.zeros_like(v))
        if not self._photo_in_legend:
            self.legend.addItem(self.photo_item, "your photo")
            self._photo_in_legend = True

    def clear_model_state(self) -> None:
        """Another model (``Session.model_reset``): back to its first component (z5 of one model is not z5 of
        another)."""
        from .qt_widgets import empty_view

        self.index.setValue(0)
        self._column = None
        for item in (self.hist_item, self.fit_item, self.ticks_item, self.photo_item, self.sel_item):
            item.setData([], [])
        self.centre_line.setValue(0)
        self.band.setRegion((0, 1))
        self.plot.setLabel("bottom", "")
        self.plot.getPlotItem().setTitle(None)
        empty_view(self.plot)
