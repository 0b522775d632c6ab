"""The pair plot: two latent axes (original components or PCA components) of the training cloud.

Layers (each toggled without recomputing the others): the density as an image in data coordinates,
a capped random sample of the z-points, density contour lines, confidence ellipses at chosen
σ-levels, the cloud centre, the generated z-points in orange and the selected face highlighted.
Everything numerical (projection, density grid, contours, ellipses, coverage) comes from
``engine.latent_stats``; this module only places curves and images.
"""
from __future__ import annotations

import time
from typing import Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QSizePolicy, QVBoxLayout, QWidget,
)

from engine.workflows.open_model import LEADING_PCS, leading_pca_coords

from . import plot_style as ps
from .plot_tools import PlotMode, PlotToolBar, PlotTools
from .qt_cloud_hover import float_beside, pixel_d2
from .qt_pair_controls import AxisPicker, move_points, parse_levels, parse_levels_report
from .qt_widgets import flow, plot_widget, row, setup_plot
from .session import Axis, Session, axis_label

MAX_POINTS = 5000  # scatter symbols drawn for the training cloud; the density image shows the rest
#: From LARGE_CLOUD z-points on: a density image plus a seeded sample of LARGE_POINTS, said over the plot.
LARGE_CLOUD, LARGE_POINTS = 1_000_000, 20_000


def cloud_note(n: int, drawn: int) -> str:  # "2,000,000 points: density, 20,000 drawn"; "" for a small cloud
    return f"{n:,} points: density, {drawn:,} drawn" if n >= LARGE_CLOUD else ""
#: The line under the plot before anything was decoded: the tools and their keys.
HINT = ("Decode (D): click or drag to see a face · Path (T): click two points · Select (S): lasso points · hover a "
        "grey point: its training face")


class PairPlotPanel(QWidget):
    """Dock content: axis pickers, layer toggles, σ-levels and the plot."""

    redrawn = Signal(float)  # milliseconds of the last full redraw
    path_drawn = Signal()  # a line's second (or later) point was placed: the Path panel decodes it

    def __init__(self, session: Session, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.setObjectName("pairPlotPanel")
        self._xy: Optional[np.ndarray] = None  # training cloud in the current axes
        self._sample_idx: Optional[np.ndarray] = None
        self._gen_xy = np.empty((0, 2))
        self._moments = None
        self._r2 = np.empty(0)
        self._coord_cache: dict = {}
        self._pca_coords: Optional[np.ndarray] = None
        self.last_redraw_ms = 0.0

        controls = self._build_controls(session)
        self._build_plot()
        self.tools = PlotTools(self.plot, modes=tuple(PlotMode))  # pan/zoom, decode, path, select (gui/plot_tools.py)
        self.tool_bar = PlotToolBar(self.tools)
        self._build_atlas()
        self._build_probe(session)
        from .qt_cloud_hover import pair_plot_hover

        self.hover = pair_plot_hover(self)  # hover a grey point: its training face
        from .qt_selection_layer import CloudSelector

        self.selector = CloudSelector(session, self.plot, self.tools, lambda: self._xy, self._axes_text,
                                      grey=lambda on: self._apply_visibility())  # the Select tool, the highlight
        self._build_layout(controls)
        self._connect(session)
        self._drawn = None  # (statistics, z-points, axes) of the drawn cloud
        self._axes_from_session()

    def _build_controls(self, session: Session) -> QWidget:
        """The axis pickers, layer toggles, σ-levels and colour-by, in one flow that wraps in a narrow dock."""
        self.x_pick = AxisPicker("x")
        self.y_pick = AxisPicker("y")
        self.swap_btn = QCheckBox("equal aspect")
        self.layer_boxes: dict[str, QCheckBox] = {}
        layer_widgets = []
        for key, text, on, tip in (
            ("density", "density", True, "smoothed 2-D histogram of all training z-points"),
            ("points", "points", True, f"a random sample of at most {MAX_POINTS} training z-points"),
            ("contours", "contours", True, "contour lines of the density"),
            ("ellipses", "ellipses", True, "confidence ellipses of the pair's covariance at the σ-levels"),
            ("centre", "centre", True, "the mean of the training cloud"),
            ("generated", "generated", True, "the current sample's z-points (orange) and your photos (magenta stars)"),
            ("atlas", "faces", False, "decoded faces tiled over the view"),
        ):
            cb = QCheckBox(text)
            cb.setChecked(on)
            cb.setToolTip(tip)
            cb.toggled.connect(self._apply_visibility)
            self.layer_boxes[key] = cb
            layer_widgets.append(cb)
        from .qt_attribute_layer import ColourByPicker

        self.colour_by = ColourByPicker(session)
        self.levels_edit = QLineEdit("2.0, 2.2, 3.0")
        self.levels_edit.setToolTip("σ-levels of the confidence ellipses, comma separated")
        self.levels_edit.setMinimumWidth(90)
        self.levels_edit.setMaximumWidth(130)
        self.scaling = QComboBox()
        self.scaling.addItem("per axis", "sigma")
        self.scaling.addItem("same share in 2-D", "chi2")
        self.scaling.setToolTip(
            "per axis: an ellipse at level 2 reaches 2σ (standard deviations) along every direction of the plane;\n"
            "same share in 2-D: the ellipse holding the share of faces that ±level·σ holds on one axis (larger)"
        )
        self.coords = QLabel(" ")
        self.coords.setMinimumWidth(60)  # (the tool bar beside it grows in Select: its shapes and operations)
        self.coords.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

        # every control in one flow: the rows wrap in a narrow dock instead of setting its minimum width
        self.cloud_note = QLabel("", objectName="cloudNote", styleSheet="color: #555;", visible=False)  # large clouds
        self.levels_note = QLabel("")
        self.levels_note.setObjectName("levelsNote")
        self.levels_note.setStyleSheet("color: #b00020;")
        self.levels_note.setWordWrap(True)
        self.levels_note.hide()
        controls = flow(self.x_pick, self.y_pick, row("σ-levels", self.levels_edit, self.scaling),
                        row(*layer_widgets[:3]), row(*layer_widgets[3:6]), row(layer_widgets[6]), self.colour_by, spacing=10)
        return controls

    def _build_plot(self) -> None:
        """The plot and its layers: density, points, contours, centre, generated, selected, edited, photos."""
        self.plot = plot_widget()
        self.plot.setObjectName("pairPlot")
        self.plot.setMenuEnabled(False)  # no grid lines: the contours are the reference (and grids cost ~35 ms a paint)
        pi = self.plot.getPlotItem()
        self.density_item = pg.ImageItem()
        self.density_item.setLookupTable(ps.density_lut())
        self._density_grey = False
        self.density_item.setZValue(-10)
        self.points_item = pg.ScatterPlotItem(size=2.5, pen=None, brush=ps.brush(ps.TRAIN, 70))
        self.points_item.setZValue(-5)
        self.contour_item = pg.PlotDataItem(pen=ps.pen(ps.CONTOUR, 1.0, alpha=170), connect="finite")
        self.ellipse_items: list[pg.PlotDataItem] = []
        self.ellipse_labels: list[pg.TextItem] = []
        self.centre_item = pg.ScatterPlotItem(size=16, symbol="+", pen=ps.pen((0, 0, 0), 2), brush=None)
        self.generated_item = pg.ScatterPlotItem(size=8, pen=ps.pen((120, 50, 0), 0.8), brush=ps.brush(ps.ORANGE, 230))
        self.generated_item.setZValue(5)
        self.edited_item = pg.ScatterPlotItem(size=11, symbol="d", pen=ps.pen((60, 20, 90), 1), brush=ps.brush(ps.EDITED))
        self.edited_item.setZValue(7)
        self.selected_item = pg.ScatterPlotItem(size=18, pen=ps.pen(ps.SELECTED, 2.5), brush=None)
        self.selected_item.setZValue(6)
        from .qt_inspector import PHOTO_COLOUR

        # the user's photos (File ▸ Open photo…): stars, the inspected one ringed
        self.photo_item = pg.ScatterPlotItem(size=20, symbol="star", pen=ps.pen((70, 0, 40), 1.0),
                                             brush=ps.brush(PHOTO_COLOUR, 240))
        self.photo_item.setZValue(8)
        self._photo_xy = np.empty((0, 2))
        for it in (self.density_item, self.points_item, self.contour_item, self.centre_item,
                   self.generated_item, self.selected_item, self.edited_item, self.photo_item):
            pi.addItem(it)
        self.legend = pi.addLegend(offset=(-8, 8), labelTextSize="8pt")
        self.legend.setBrush(pg.mkBrush(255, 255, 255, 160))  # the faces and ellipses under it still show
        from .qt_attribute_layer import AttributeLayer

        self.attribute_layer = AttributeLayer(pi, self.legend)
        self.generated_item.sigClicked.connect(self._point_clicked)
        self.photo_item.sigClicked.connect(self._photo_clicked)
        self.plot.scene().sigMouseMoved.connect(self._mouse_moved)
        self._home: Optional[tuple] = None  # the default view of the current axes
        setup_plot(self.plot, reset=self.reset_view)

    def _build_atlas(self) -> None:
        """The face atlas layer and click to decode (engine.atlas): the Decode tool, or Alt+click/drag."""
        from .qt_atlas import AtlasLayer, ClickDecoder

        pi = self.plot.getPlotItem()

        self.bridge = None  # set by the window: the atlas decodes on its worker
        self.atlas_layer = AtlasLayer(pi, z_value=-7, opacity=0.9)  # above the density (-10), under the points (-5)
        self.atlas_layer.set_visible(False)
        self.atlas_ms: list[float] = []  # request → shown, per atlas redraw
        self._atlas_t0 = None
        self._atlas_timer = QTimer(self)
        self._atlas_timer.setSingleShot(True)
        self._atlas_timer.setInterval(200)
        self._atlas_timer.timeout.connect(self.redraw_atlas)
        vb = pi.getViewBox()
        vb.sigRangeChangedManually.connect(lambda *_: self._schedule_atlas())
        self.layer_boxes["atlas"].toggled.connect(lambda on: self._schedule_atlas() if on else None)
        self._plane_key = None
        self._plane = None
        self.clicks = ClickDecoder(self.plot, self.plane_source, self.tools)
        self.clicks.decoded.connect(self._show_probe)

    def _build_probe(self, session: Session) -> None:
        """The decoded point (floating and in the probe row) and the drawn path (engine.latent_paths)."""
        pi = self.plot.getPlotItem()
        self.probe_float = QLabel(self.plot)  # the decoded face following the pointer
        self.probe_float.setObjectName("probeFloat")
        self.probe_float.setStyleSheet("QLabel#probeFloat { background: rgba(255,255,255,230); border: 1px solid #888;"
                                       " padding: 2px; font-size: 10px; }")
        self.probe_float.hide()
        self.probe = None  # the last engine.atlas.DecodedPoint
        self.probe_thumb = QLabel()
        self.probe_thumb.setFixedSize(36, 36)
        self.probe_text = QLabel(HINT)
        self.probe_text.setStyleSheet("color: #555;")
        self.probe_text.setWordWrap(True)  # a narrow dock wraps it (it was cut off mid-word)
        self.probe_btn = QPushButton("→ inspector")
        self.probe_btn.setToolTip("show the decoded point in the face inspector")
        self.probe_btn.setEnabled(False)
        self.probe_btn.clicked.connect(lambda *_: self.probe is not None and self.session.set_probe(self.probe))
        self.path_item = pg.PlotDataItem(pen=ps.pen((20, 20, 20), 2.0, Qt.PenStyle.DashLine), symbol="o", symbolSize=7,
                                         symbolBrush=ps.brush((255, 255, 255)), symbolPen=ps.pen((20, 20, 20), 1.5))
        self.path_item.setZValue(9)
        pi.addItem(self.path_item)
        self.plot.scene().sigMouseClicked.connect(self._scene_clicked)
        self.tools.path_point.connect(self._path_point)
        self.tools.mode_changed.connect(self._mode_changed)
        session.path_changed.connect(self._update_path)

    def _nearest_generated(self, pos, radius: float = 12.0) -> Optional[int]:
        """The orange point within ``radius`` pixels of ``pos`` (the nearest), or None."""
        d2 = pixel_d2(self.plot.getPlotItem().getViewBox(), self._gen_xy, pos)
        k = int(np.argmin(d2)) if len(d2) else -1
        return k if k >= 0 and d2[k] <= radius ** 2 else None

    def _build_layout(self, controls: QWidget) -> None:
        """Controls, the σ-levels note, the plot, the status row and the probe row, top to bottom."""
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(3)
        lay.addWidget(controls)
        lay.addWidget(self.levels_note)
        lay.addWidget(self.cloud_note)
        lay.addWidget(self.plot, 1)
        status = QHBoxLayout()
        status.addWidget(self.tool_bar)
        status.addWidget(self.swap_btn)
        status.addWidget(self.coords, 1)
        lay.addLayout(status)
        probe_row = QHBoxLayout()
        probe_row.addWidget(self.probe_thumb)
        probe_row.addWidget(self.probe_text, 1)
        probe_row.addWidget(self.probe_btn)
        lay.addLayout(probe_row)
        self.probe_text.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def _connect(self, session: Session) -> None:
        """The controls' and the session's signals."""
        self.x_pick.changed.connect(self._picked)
        self.y_pick.changed.connect(self._picked)
        self._levels = parse_levels(self.levels_edit.text())
        self.levels_edit.editingFinished.connect(self._levels_edited)
        self.scaling.currentIndexChanged.connect(self._redraw_ellipses)
        self.swap_btn.toggled.connect(lambda on: self.plot.getPlotItem().getViewBox().setAspectLocked(on))
        session.stats_changed.connect(self._stats_changed)
        session.axes_changed.connect(self._axes_from_session)
        session.sample_changed.connect(self._update_generated)
        session.selection_changed.connect(self._update_selected)
        session.edited_changed.connect(self._update_selected)
        session.colour_by_changed.connect(self._redraw_attribute)
        session.photos_changed.connect(self._update_photos)

    def _stats_changed(self) -> None:
        if self._is_drawn():  # the same statistics again (a replay for panels built late)
            return
        self.invalidate()
        self._sample_idx = None
        self.recompute()

    # ---- state → controls
    def _axes_from_session(self) -> None:
        d = self.session.model.z_dim if self.session.model is not None else 2
        for pick, axis in zip((self.x_pick, self.y_pick), self.session.axes):
            pick.set_dim(d)
            pick.set_axis(axis)
        if not self._is_drawn():  # the same cloud on the same axes is drawn already
            self.recompute()

    def _is_drawn(self) -> bool:
        """True when the plot shows the session's statistics and z-points on its axes (nothing to recompute)."""
        s, d = self.session, self._drawn
        return d is not None and d[0] is s.stats and d[1] is s.latents and d[2] == tuple(s.axes)

    def _axes_text(self) -> str:
        return " × ".join(axis_label(a) for a in self.session.axes)

    def _picked(self, _axis) -> None:
        self.session.set_axes(self.x_pick.axis(), self.y_pick.axis())

    def levels(self) -> list[float]:
        return list(self._levels)

    def set_levels(self, levels: list[float]) -> None:
        self.levels_edit.setText(", ".join(f"{v:g}" for v in levels))
        self._levels_edited()

    def _levels_edited(self) -> None:
        """Read the σ-levels; say which entries were ignored (and keep the old levels when none is valid)."""
        text = self.levels_edit.text()
        levels, bad = parse_levels_report(text)
        note = ""
        if bad:
            quoted = ", ".join(f"“{b}”" for b in bad)
            note = f"σ-levels: ignored {quoted} (a σ-level is a positive number, e.g. 2.0, 2.2, 3.0)"
            if not levels and self._levels:
                levels = list(self._levels)
                note += f"; kept {', '.join(f'{v:g}' for v in levels)}"
        self._levels = levels
        self.levels_note.setText(note)
        self.levels_note.setVisible(bool(note))
        self.levels_edit.setStyleSheet("QLineEdit { border: 1px solid #b00020; }" if bad else "")
        self.levels_edit.setToolTip(note or "σ-levels of the confidence ellipses, comma separated")
        self._redraw_ellipses()

    # ---- drawing
    def recompute(self) -> None:
        """Project the cloud onto the current axes and rebuild every data layer (density, contours, …)."""
        t0 = time.perf_counter()
        s = self.session
        self._drawn = (s.stats, s.latents, tuple(s.axes))
        if s.stats is None or s.latents is None:
            self._xy = None
            self.cloud_note.hide()
            for it in (self.points_item, self.centre_item):
                it.setData([], [])
            self.contour_item.setData([], [])
            self.density_item.clear()
            self._clear_ellipses()
            self.attribute_layer.clear()
            self.atlas_layer.clear()
            self._update_generated()
            self.selector.redraw()
            return
        from engine.latent_stats import density_contours, density_grid, pair_mahalanobis_sq, pair_moments

        axes = s.axes
        xy = np.column_stack([self._coords(axes[0]), self._coords(axes[1])])
        self._xy = xy
        n = len(xy)
        k = min(n, LARGE_POINTS if n >= LARGE_CLOUD else MAX_POINTS)  # how many the scatter layer draws
        if self._sample_idx is None or len(self._sample_idx) != k or self._sample_idx.max(initial=-1) >= n:
            rng = np.random.default_rng(0)
            self._sample_idx = np.sort(rng.choice(n, size=k, replace=False))
        self.cloud_note.setText(cloud_note(n, k))
        self.cloud_note.setVisible(bool(self.cloud_note.text()))
        pts = xy[self._sample_idx]
        move_points(self.points_item, pts)
        # the view: the sample's 0.1–99.9 % range, padded (the same as density_grid's default, without
        # sorting all N points twice per axis)
        lo, hi = np.percentile(pts, 0.1, axis=0), np.percentile(pts, 99.9, axis=0)
        pad = 0.15 * np.maximum(hi - lo, 1e-9)
        grid = density_grid(xy, extent=(lo[0] - pad[0], hi[0] + pad[0], lo[1] - pad[1], hi[1] + pad[1]))
        dens = np.sqrt(np.asarray(grid.density, float))
        self.density_item.setImage(dens, autoLevels=False, levels=(0.0, float(dens.max()) or 1.0))
        x0, x1 = float(grid.x_edges[0]), float(grid.x_edges[-1])
        y0, y1 = float(grid.y_edges[0]), float(grid.y_edges[-1])
        self.density_item.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        lines = [line for _level, polys in density_contours(grid) for line in polys]
        cx, cy = ps.polylines_to_curve(lines)
        self.contour_item.setData(cx, cy, connect="finite")
        self._moments = pair_moments(s.stats, axes)
        self._r2 = pair_mahalanobis_sq(xy, *self._moments)  # once per pair; each level is then a comparison
        self.centre_item.setData(pos=np.asarray(self._moments[0], float)[None, :])
        pi = self.plot.getPlotItem()
        pi.setLabel("bottom", axis_label(axes[0]))
        pi.setLabel("left", axis_label(axes[1]))
        self._redraw_ellipses()
        self._update_generated()
        self.selector.redraw()  # the selection in these axes (and the cloud greyed under it)
        self._home = (x0, x1, y0, y1)
        self.reset_view()
        self.last_redraw_ms = (time.perf_counter() - t0) * 1000
        self.redrawn.emit(self.last_redraw_ms)
        if self.atlas_layer.atlas is not None and self.atlas_layer.atlas.plane.axes != tuple(axes):
            self.atlas_layer.clear()  # faces of other axes
        self._schedule_atlas()

    def reset_view(self) -> None:
        """The default view of the current axes: the cloud's 0.1–99.9 % range, padded."""
        vb = self.plot.getPlotItem().getViewBox()
        if self._home is None:
            vb.enableAutoRange()
            return
        x0, x1, y0, y1 = self._home
        vb.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0.02)

    def _coords(self, axis: Axis) -> np.ndarray:
        """The training cloud's coordinate on one axis (float64, cached per axis for this model)."""
        c = self._coord_cache.get(axis)
        if c is not None:
            return c
        s = self.session
        kind, i = axis
        if kind == "z":
            c = np.asarray(s.latents[:, i], dtype=np.float64)
        else:
            pc = self._leading_pca()
            if i < pc.shape[1]:
                c = np.asarray(pc[:, i], dtype=np.float64)
            else:
                from engine.latent_stats import project

                c = project(s.latents, s.stats, (axis, axis))[:, 0]
        if len(self._coord_cache) > 16:
            self._coord_cache.pop(next(iter(self._coord_cache)))
        self._coord_cache[axis] = c
        return c

    def _leading_pca(self) -> np.ndarray:
        """Coordinates on the leading principal axes: computed by the worker when the model was opened,
        or here once per model."""
        if self._pca_coords is None:
            s = self.session
            pre = getattr(s.model, "pca_coords", None)
            if pre is not None and len(pre) == len(s.latents):
                self._pca_coords = pre
            else:
                self._pca_coords = leading_pca_coords(s.latents, s.stats, LEADING_PCS)
        return self._pca_coords

    def invalidate(self) -> None:
        self._drawn = None
        self._coord_cache = {}
        self._pca_coords = None

    def _clear_ellipses(self) -> None:
        pi = self.plot.getPlotItem()
        for it in self.ellipse_items:
            pi.removeItem(it)
            self.legend.removeItem(it)
        self.ellipse_items = []

    def _redraw_ellipses(self, *_) -> None:
        self._clear_ellipses()
        if self._moments is None or self._xy is None:
            return
        from engine.latent_stats import confidence_ellipse, fraction_within

        mean2, cov2 = self._moments
        scaling = self.scaling.currentData()
        pi = self.plot.getPlotItem()
        for k, level in enumerate(self.levels()):
            poly = confidence_ellipse(mean2, cov2, level, scaling=scaling)
            inside = fraction_within(self._r2, level, scaling)
            colour = ps.ELLIPSE_COLOURS[k % len(ps.ELLIPSE_COLOURS)]
            item = pg.PlotDataItem(poly[:, 0], poly[:, 1], pen=ps.pen(colour, 2.0, Qt.PenStyle.DashLine),
                                   name=f"{level:g}σ: {100 * inside:.1f}% inside")  # short: it lies over the cloud
            item.setZValue(3)
            pi.addItem(item)
            self.ellipse_items.append(item)
        self._redraw_attribute()

    def _redraw_attribute(self, *_) -> None:
        """The cloud split by ``session.colour_by``: two colours, each group's ellipse at the first σ-level."""
        s = self.session
        masks = s.attribute_groups()
        if masks is None or self._xy is None or len(masks[0]) != len(self._xy):
            self.attribute_layer.clear()
        else:
            levels = self.levels() or [2.0]
            self.attribute_layer.set_groups(s.colour_by, s.labels.group_names(s.colour_by), self._xy, masks,
                                            shown=self._sample_idx, level=levels[0], scaling=self.scaling.currentData())
        self._apply_visibility()

    def _update_generated(self) -> None:
        s = self.session
        if s.sample is None or s.stats is None or len(s.sample.z) == 0:
            self._gen_xy = np.empty((0, 2))
        else:
            from engine.latent_stats import project

            self._gen_xy = np.asarray(project(s.sample.z, s.stats, s.axes), float)
        self.generated_item.setData(pos=self._gen_xy, data=np.arange(len(self._gen_xy)))
        self._update_photos()

    def _update_photos(self) -> None:
        s = self.session
        if not s.photos or s.stats is None:
            self._photo_xy = np.empty((0, 2))
        else:
            from engine.latent_stats import project

            self._photo_xy = np.asarray(project(s.photo_z(), s.stats, s.axes), float)
        self.photo_item.setData(pos=self._photo_xy, data=np.arange(len(self._photo_xy)))
        self._update_selected()

    def _update_selected(self) -> None:
        s = self.session
        n = len(self._gen_xy)
        ring = [i for i in (s.selected or ([] if s.current is None else [s.current])) if i < n]
        photo = s.photo_current if s.photo_current is not None and s.photo_current < len(self._photo_xy) else None
        if photo is not None:  # the inspected photo ringed; the selected faces thinly
            pts = np.vstack([self._gen_xy[ring], self._photo_xy[[photo]]]) if ring else self._photo_xy[[photo]]
            pens = [ps.pen(ps.SELECTED, 1.5) for _ in ring] + [ps.pen(ps.SELECTED, 3.0)]
            self.selected_item.setData(pos=pts, pen=pens, size=[15 for _ in ring] + [26])
        elif ring:
            # every selected face ringed; the current one (the inspector's) with a thicker ring
            pens = [ps.pen(ps.SELECTED, 3.0 if i == s.current else 1.5) for i in ring]
            self.selected_item.setData(pos=self._gen_xy[ring], pen=pens, size=[20 if i == s.current else 15 for i in ring])
        else:
            self.selected_item.setData([], [])
        if s.edited_z is not None and s.stats is not None:
            from engine.latent_stats import project

            self.edited_item.setData(pos=np.asarray(project(s.edited_z[None, :], s.stats, s.axes), float))
        else:
            self.edited_item.setData([], [])

    def _apply_visibility(self, *_) -> None:
        on = {k: cb.isChecked() for k, cb in self.layer_boxes.items()}
        self.density_item.setVisible(on["density"])
        coloured = self.attribute_layer.active
        selecting = getattr(self, "selector", None) is not None and self.selector.active
        if (coloured or selecting) != self._density_grey:  # grey under the coloured groups or the selection  # grey density under the two coloured groups, blue otherwise
            lut = ps.density_lut()
            if coloured or selecting:
                lut = lut.copy()
                lut[:, :3] = lut[:, :3].mean(axis=1, keepdims=True).astype(np.uint8)
            self.density_item.setLookupTable(lut)
            self._density_grey = coloured or selecting
        self.points_item.setOpacity(0.45 if selecting else 1.0)  # unselected points stay visible, lighter
        self.points_item.setVisible(on["points"] and not coloured)  # the coloured groups replace the grey points
        self.contour_item.setVisible(on["contours"])
        for it in self.ellipse_items:
            it.setVisible(on["ellipses"])
        self.attribute_layer.set_visible(coloured, ellipses=on["ellipses"])
        for it in self.attribute_layer.points:
            it.setVisible(coloured and on["points"])
        self.legend.setVisible((on["ellipses"] and bool(self.ellipse_items)) or coloured)
        self.centre_item.setVisible(on["centre"])
        self.generated_item.setVisible(on["generated"])
        self.selected_item.setVisible(on["generated"])
        self.photo_item.setVisible(on["generated"])
        self.atlas_layer.set_visible(on["atlas"])
        # with the faces on, the density lies over them, translucent: where the decoder breaks shows against the cloud
        self.density_item.setZValue(-6 if on["atlas"] else -10)
        self.density_item.setOpacity(0.45 if on["atlas"] else 1.0)

    # ---- interaction
    def generated_points(self) -> np.ndarray:
        """The orange points currently drawn (n, 2)."""
        x, y = self.generated_item.getData()
        return np.column_stack([x, y]) if x is not None else np.empty((0, 2))

    def _point_clicked(self, _item, points, *_) -> None:
        if len(points):
            i = int(points[0].data())
            self.session.select(i)

    def photo_points(self) -> np.ndarray:
        """The photos' stars currently drawn (n, 2)."""
        x, y = self.photo_item.getData()
        return np.column_stack([x, y]) if x is not None else np.empty((0, 2))

    def _photo_clicked(self, _item, points, *_) -> None:
        if len(points):
            self.session.inspect_photo(int(points[0].data()))

    def _mouse_moved(self, pos) -> None:
        vb = self.plot.getPlotItem().getViewBox()
        if not self.plot.sceneBoundingRect().contains(pos):
            return
        p = vb.mapSceneToView(pos)
        if len(self.session.path_vertices) == 1 and self.tools.mode is PlotMode.PATH:
            self._update_path((p.x(), p.y()))
        ax = self.session.axes
        text = f"{axis_label(ax[0])} = {p.x():.3f}   {axis_label(ax[1])} = {p.y():.3f}"
        k = self._nearest_generated(pos) if len(self._gen_xy) else None
        if k is not None:
            text += f"   · face #{k}"
        self.coords.setText(text)

    # ---- the face atlas layer
    def _schedule_atlas(self) -> None:
        if self.layer_boxes["atlas"].isChecked() and self.session.stats is not None:
            if self._atlas_t0 is None:
                self._atlas_t0 = time.perf_counter()
            self._atlas_timer.start()

    def plane(self):
        """The pair plot's plane (engine.atlas.Plane) through the inspected face (or the cloud's centre)."""
        s = self.session
        if s.stats is None:
            return None
        base = s.current_z()
        key = (id(s.stats), s.axes, None if base is None else base.tobytes())
        if key != self._plane_key:
            from engine.atlas import make_plane

            self._plane = make_plane(s.stats, *s.axes, base_z=base)
            self._plane_key = key
        return self._plane

    def plane_source(self):
        s = self.session
        if s.stats is None or s.model is None:
            return None
        return (s.model.codec, s.stats, self.plane())

    def redraw_atlas(self) -> None:
        """Decode an atlas of 16 faces across (rows: square cells) over the current view (a Job on the worker; key "atlas", quiet)."""
        s = self.session
        if s.stats is None or s.model is None or not self.layer_boxes["atlas"].isChecked():
            self._atlas_t0 = None
            return
        from engine.atlas import atlas

        from .qt_atlas import grid_for_view, view_extent

        codec, stats, axes = s.model.codec, s.stats, s.axes
        rows, cols = grid_for_view(self.plot.getPlotItem(), 16)  # 16 across, square cells (undistorted faces)
        base = s.current_z()
        extent = view_extent(self.plot.getPlotItem())
        t0 = self._atlas_t0 if self._atlas_t0 is not None else time.perf_counter()

        def fn(progress, cancel):
            return atlas(codec, stats, *axes, rows=rows, cols=cols, extent=extent, base_z=base, progress=progress, cancel=cancel)

        def done(result) -> None:
            self._atlas_t0 = None
            if result.plane.axes != tuple(self.session.axes) or self.session.stats is not stats:
                return  # stale: the axes or the model changed meanwhile
            self.atlas_layer.show_atlas(result)
            self.atlas_layer.set_visible(self.layer_boxes["atlas"].isChecked())
            self.atlas_ms.append((time.perf_counter() - t0) * 1000)

        if self.bridge is None:
            done(fn(lambda p: None, None))
            return
        from .engine_bridge import Job

        self.bridge.submit(Job("atlas", fn, on_done=done, key="atlas", quiet=True))

    # ---- click to decode
    def _show_probe(self, p) -> None:
        from .qt_images import to_pixmap

        self.probe = p
        self.coords.setText(" ")  # (not the hovered face's name: the probe row below says what was decoded)
        self.probe_btn.setEnabled(True)
        self.probe_thumb.setPixmap(to_pixmap(p.image, 36))
        ax = self.session.axes
        self.probe_text.setText(f"{axis_label(ax[0])} = {p.xy[0]:.2f}, {axis_label(ax[1])} = {p.xy[1]:.2f}: "
                                f"Mahalanobis {p.mahalanobis:.2f}")
        self.probe_float.setPixmap(to_pixmap(p.image, 72))
        self.probe_float.setToolTip(f"Mahalanobis {p.mahalanobis:.2f}")
        vb = self.plot.getPlotItem().getViewBox()
        float_beside(self.probe_float, self.plot, vb.mapViewToScene(pg.Point(float(p.xy[0]), float(p.xy[1]))), 14)

    # ---- the drawn path (the Path tool, or Shift+click: the Path panel decodes it once it has two points)
    def _scene_clicked(self, ev) -> None:
        if ev.button() == Qt.MouseButton.LeftButton:
            self.probe_float.hide()  # a plain click (pan/zoom) leaves the decoded face

    def _path_point(self, scene_pos, extend: bool) -> None:
        """A point placed with the Path tool (a new line after a finished one) or Shift+click (a bend)."""
        if self.session.stats is None:
            return
        self.probe_float.hide()
        p = self.plot.getPlotItem().getViewBox().mapSceneToView(scene_pos)
        v = list(self.session.path_vertices)
        v = v + [(p.x(), p.y())] if extend or len(v) == 1 else [(p.x(), p.y())]
        self.session.set_path_vertices(v)
        if len(v) >= 2:
            self.path_drawn.emit()

    def _mode_changed(self, mode) -> None:
        self.probe_float.hide()  # the decoded face belongs to the Decode tool
        if mode is not PlotMode.PATH and len(self.session.path_vertices) == 1:
            self.session.set_path_vertices([])  # a line begun and left: dropped
        self._update_path()

    def add_path_vertex(self, x: float, y: float) -> None:
        self.session.set_path_vertices(list(self.session.path_vertices) + [(float(x), float(y))])

    def _update_path(self, pointer=None) -> None:
        """The drawn line; while the Path tool waits for a second point, a line from the first to ``pointer``."""
        v = np.asarray(self.session.path_vertices, float).reshape(-1, 2)
        if pointer is not None and len(v) == 1 and self.tools.mode is PlotMode.PATH:
            v = np.vstack([v, [pointer]])
        self.path_item.setData(v[:, 0], v[:, 1]) if len(v) else self.path_item.setData([], [])

    def clear_model_state(self) -> None:
        """Another model (``Session.model_reset``): nothing of the previous one's decoded point, readout or view."""
        from .qt_widgets import empty_plot

        self.probe = self._home = self._plane_key = self._plane = None
        self.probe_btn.setEnabled(False)
        for label, text in ((self.probe_thumb, ""), (self.probe_float, ""), (self.probe_text, HINT), (self.coords, " "),
                            (self.hover.image, ""), (self.hover.caption, "")):  # the hover's face of the old cloud
            label.clear()
            label.setText(text)
        self.probe_float.hide()
        self.cloud_note.clear()
        self.cloud_note.hide()
        self.atlas_layer.clear()
        empty_plot(self.plot, axis_labels=True, title=True)
