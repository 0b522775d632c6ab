"""The face atlas in the GUI: a layer of decoded faces tiled over a pyqtgraph plot's current view (the pair
plot's, or the larger Atlas panel's), and click/drag to decode.

All computing is the engine's (``engine.atlas``): :class:`AtlasLayer` only shows an ``Atlas`` as an image
placed on its data extent; :class:`ClickDecoder` maps a scene position to plane coordinates and calls
``engine.atlas.decode_at`` (the points come from the plot's Decode tool, ``gui/plot_tools.py``). The atlas decode (≈0.7 s for 16×16 on 2 cores) should go through the worker
(``submit``: a callable that runs ``work()`` off the GUI thread and then ``done(result)`` on it, e.g. a
``Job`` of ``gui/engine_bridge.py``); without one it runs in place. A click decodes one face (~12 ms) on
the GUI thread, so a drag follows the pointer live.
"""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QRectF, QTimer, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QSpinBox, QVBoxLayout, QWidget

Submit = Callable[[Callable[[], object], Callable[[object], None]], None]


#: What the Atlas panel's line says before a face is decoded.
ATLAS_HINT = "Decode (D): click or drag on the atlas to see the face at that point, larger"


def run_in_place(work: Callable[[], object], done: Callable[[object], None]) -> None:
    done(work())


class AtlasLayer(QObject):
    """An ImageItem of an atlas's faces over a PlotItem (z-value between the density and the points)."""

    drawn = Signal(object)  # the engine.atlas.Atlas shown

    def __init__(self, plot_item: pg.PlotItem, *, z_value: float = -8, opacity: float = 0.85) -> None:
        super().__init__()
        self.plot_item = plot_item
        self.item = pg.ImageItem(axisOrder="row-major")
        self.item.setZValue(z_value)
        self.item.setOpacity(opacity)
        plot_item.addItem(self.item)
        self.atlas = None

    def show_atlas(self, atlas) -> None:
        x0, x1, y0, y1 = atlas.extent
        self.item.setImage(np.ascontiguousarray(atlas.mosaic()[::-1]), autoLevels=False, levels=(0, 255))
        self.item.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        self.atlas = atlas
        self.drawn.emit(atlas)

    def clear(self) -> None:
        self.item.clear()
        self.atlas = None

    def set_visible(self, on: bool) -> None:
        self.item.setVisible(on)


def grid_for_view(plot_item: pg.PlotItem, cols: int = 16, lo: int = 4, hi: int = 32) -> tuple[int, int]:
    """(rows, cols): ``cols`` faces across and as many rows as keep the cells square on screen (undistorted faces)."""
    r = plot_item.getViewBox().sceneBoundingRect()
    if r.width() < 8 or r.height() < 8:
        return cols, cols
    return max(lo, min(hi, int(round(cols * r.height() / r.width())))), cols


def view_extent(plot_item: pg.PlotItem) -> tuple[float, float, float, float]:
    (x0, x1), (y0, y1) = plot_item.getViewBox().viewRange()
    return float(x0), float(x1), float(y0), float(y1)


class ClickDecoder(QObject):
    """Click or drag in a plot's Decode tool → the decoded face at that data point (``engine.atlas.DecodedPoint``)."""

    decoded = Signal(object)

    def __init__(self, plot: pg.PlotWidget, plane_source: Callable[[], tuple], tools) -> None:
        """``plane_source()`` → (codec, stats, engine.atlas.Plane) or None when nothing is open; ``tools``: the
        plot's ``gui.plot_tools.PlotTools`` (its ``decode_at`` positions are decoded)."""
        super().__init__()
        self.plot = plot
        self.plane_source = plane_source
        self.enabled = True
        self.last_ms: list[float] = []  # per-update latencies (median / worst during a drag)
        tools.decode_at.connect(self.decode_scene_pos)

    def decode_scene_pos(self, pos):
        import time

        from engine.atlas import decode_at

        src = self.plane_source()
        if src is None or not self.enabled:
            return None
        codec, stats, plane = src
        p = self.plot.getPlotItem().getViewBox().mapSceneToView(pos)
        t0 = time.perf_counter()
        out = decode_at(codec, stats, plane, (p.x(), p.y()))
        self.last_ms.append((time.perf_counter() - t0) * 1000)
        self.last_ms = self.last_ms[-500:]
        self.decoded.emit(out)
        return out


class AtlasPanel(QWidget):
    """A larger atlas of its own: a plot whose view is tiled with faces (redrawn after a pan/zoom), the grid
    size, the base (cloud centre or a given z), and the decoded face under the Decode tool (or Alt+click/drag)."""

    def __init__(self, submit: Optional[Submit] = None, parent=None) -> None:
        super().__init__(parent)
        self.submit = submit or run_in_place
        self.codec = self.stats = None
        self.axes = (("pca", 0), ("pca", 1))
        self.base_z: Optional[np.ndarray] = None
        from .qt_widgets import plot_widget, setup_plot

        self.plot = plot_widget()
        self.plot.setObjectName("atlasPlot")
        setup_plot(self.plot, reset=lambda: self.set_model(self.codec, self.stats, self.axes, self.base_z))
        self.layer = AtlasLayer(self.plot.getPlotItem(), z_value=0, opacity=1.0)
        self.side = QSpinBox()
        self.side.setRange(4, 32)
        self.side.setValue(16)
        self.side.setToolTip("faces per row and column")
        self.base = QComboBox()
        self.base.addItem("cloud centre", "centre")
        self.base.addItem("inspected face", "z")
        self.auto = QCheckBox("redraw on pan/zoom")
        self.auto.setChecked(True)
        self.info = QLabel(" ")
        from .plot_tools import PlotMode, PlotToolBar, PlotTools

        self.tools = PlotTools(self.plot, modes=(PlotMode.PAN, PlotMode.DECODE, PlotMode.SELECT))
        self.tool_bar = PlotToolBar(self.tools)
        from .qt_widgets import flow, row

        top = flow(self.tool_bar, row("grid", self.side), row("others at", self.base), self.auto, spacing=10)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(top)
        lay.addWidget(self.plot, 1)
        lay.addWidget(self.info)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(200)
        self._timer.timeout.connect(self.redraw)
        self._busy = False
        self.plot.getPlotItem().getViewBox().sigRangeChangedManually.connect(lambda *_: self.auto.isChecked() and self._timer.start())
        self.side.valueChanged.connect(lambda *_: self._timer.start())
        self.base.currentIndexChanged.connect(lambda *_: self._timer.start())
        self.clicks = ClickDecoder(self.plot, self.plane_source, self.tools)
        self.clicks.decoded.connect(self._show_decoded)
        self.decoded_float = QLabel(self.plot)  # the decoded face beside the pointer
        self.decoded_float.setObjectName("atlasDecodedFace")
        self.decoded_float.setStyleSheet("QLabel { background: white; border: 1px solid #888; padding: 2px; }")
        self.decoded_float.hide()
        self.plot.scene().sigMouseClicked.connect(lambda *_: self.decoded_float.hide())  # a plain click: gone
        self.info.setText(ATLAS_HINT)

    def _show_decoded(self, p) -> None:
        from .qt_cloud_hover import float_beside
        from .qt_images import to_pixmap

        self.info.setText(f"({p.xy[0]:.2f}, {p.xy[1]:.2f}): Mahalanobis {p.mahalanobis:.2f}, "
                          f"log-density {p.log_density:.1f}")
        self.decoded_float.setPixmap(to_pixmap(p.image, 96))
        vb = self.plot.getPlotItem().getViewBox()
        float_beside(self.decoded_float, self.plot, vb.mapViewToScene(pg.Point(float(p.xy[0]), float(p.xy[1]))), 14)

    def set_model(self, codec, stats, axes=None, base_z=None) -> None:
        self.codec, self.stats = codec, stats
        if axes is not None:
            self.axes = tuple(axes)
        self.base_z = base_z
        if stats is None:
            self.layer.clear()
            return
        from engine.atlas import default_extent

        x0, x1, y0, y1 = default_extent(stats, self.plane())
        self.plot.getPlotItem().getViewBox().setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)
        from engine.atlas import axis_label

        self.plot.getPlotItem().setLabel("bottom", axis_label(self.axes[0]))
        self.plot.getPlotItem().setLabel("left", axis_label(self.axes[1]))
        self.redraw()

    def plane(self):
        from engine.atlas import make_plane

        base = self.base_z if self.base.currentData() == "z" else None
        return make_plane(self.stats, self.axes[0], self.axes[1], base_z=base)

    def plane_source(self):
        return None if self.stats is None else (self.codec, self.stats, self.plane())

    def redraw(self) -> None:
        if self.stats is None or self._busy:
            return
        from engine.atlas import atlas

        codec, stats, plane = self.codec, self.stats, self.plane()
        rows, n = grid_for_view(self.plot.getPlotItem(), self.side.value(), 2, 64)
        extent = view_extent(self.plot.getPlotItem())
        self._busy = True

        def done(result) -> None:
            self._busy = False
            self.layer.show_atlas(result)
            self.info.setText(f"{rows}×{n} faces decoded in {1000 * result.decode_s:.0f} ms")

        self.submit(lambda: atlas(codec, stats, plane=plane, rows=rows, cols=n, extent=extent), done)

    def clear_model_state(self) -> None:
        """Another model (``Session.model_reset``): no faces, readout, axis names or view of the previous one (the
        panel follows the new model when it is shown)."""
        self.codec = self.stats = self.base_z = None
        self.layer.clear()
        self.layer.item.resetTransform()  # an empty image keeps its place: autoRange would centre the view on it
        self.info.setText(ATLAS_HINT)
        self.decoded_float.clear()
        self.decoded_float.hide()
        pi = self.plot.getPlotItem()
        pi.setLabel("bottom", "")
        pi.setLabel("left", "")
        from .qt_widgets import empty_view

        empty_view(self.plot)
