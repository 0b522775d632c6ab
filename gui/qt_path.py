"""The Path panel: a strip of faces decoded along a path through the latent space, with the Mahalanobis distance
along it — the polyline Shift+clicked in the pair plot, or the current face → another selected face.

All numbers are the engine's (``engine.latent_paths``: ``polyline`` / ``interpolate`` and ``decode_path`` on
the worker); this panel only shows the strip and the curve.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import QComboBox, QLabel, QPushButton, QScrollArea, QSpinBox, QVBoxLayout, QWidget

from . import plot_style as ps
from .qt_images import to_pixmap
from .qt_widgets import flow, row, setup_plot
from .session import Session

#: Height of the strip of faces: with two rows of controls and the curve, the panel fits the dock of a 1280×720 window.
STRIP_HEIGHT = 80
#: The curve's plot shows its rotated "Mahalanobis" label from this height on.
LEFT_LABEL_MIN_HEIGHT = 120


class PathPanel(QWidget):
    path_shown = Signal(object)  # engine.latent_paths.LatentPath (decoded)

    def __init__(self, session: Session, bridge, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.bridge = bridge
        self.path = None  # the LatentPath shown
        self.source = QComboBox()
        self.source.addItem("line drawn in the pair plot", "line")
        self.source.addItem("current face → other selected face", "faces")
        self.source.setToolTip("the line: Shift+click points in the pair plot;\n"
                               "two faces: inspect one face and Ctrl+click a second one in the grid")
        self.method = QComboBox()
        self.method.addItem("straight", "linear")
        self.method.addItem("along the ellipse", "spherical")
        self.method.setToolTip("straight: linear in z; along the ellipse: the direction slerped in whitened\n"
                               "coordinates, the Mahalanobis distance changing linearly (two points only)")
        self.n = QSpinBox()
        self.n.setRange(2, 64)
        self.n.setValue(12)
        self.n.setToolTip("faces along the path")
        self.go = QPushButton("Decode path")
        self.go.clicked.connect(lambda *_: self.run())
        self.clear_btn = QPushButton("Clear line")
        self.clear_btn.clicked.connect(lambda *_: session.set_path_vertices([]))
        self.info = QLabel("Shift+click points in the pair plot, then Decode path")
        self.info.setWordWrap(True)
        self.info.setStyleSheet("color: #555;")
        self.strip = QLabel()
        self.strip.setObjectName("pathStrip")
        self.strip.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        scroll = QScrollArea()
        scroll.setWidget(self.strip)
        scroll.setWidgetResizable(True)
        scroll.setMinimumHeight(STRIP_HEIGHT + 20)  # the faces and a horizontal scroll bar
        scroll.setMaximumHeight(STRIP_HEIGHT + 26)
        self.plot = pg.PlotWidget()
        self.plot.setObjectName("pathPlot")
        self.plot.setMinimumHeight(80)
        pi = self.plot.getPlotItem()
        pi.setLabel("bottom", "position along the path")
        pi.setLabel("left", "Mahalanobis")
        self.curve = pg.PlotDataItem(pen=ps.pen(ps.SELECTED, 2), symbol="o", symbolSize=5,
                                     symbolBrush=ps.brush(ps.SELECTED), name="Mahalanobis distance")
        pi.addItem(self.curve)
        setup_plot(self.plot)
        self.plot.installEventFilter(self)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(3)
        # two rows in a dock ~420 px wide (a third row pushed the curve under the dock's tab bar at 1280×720)
        lay.addWidget(flow(row("path", self.source), row("faces", self.n), row("interpolation", self.method),
                           row(self.go, self.clear_btn), spacing=10))
        lay.addWidget(self.info)
        lay.addWidget(scroll)
        lay.addWidget(self.plot, 1)
        session.path_changed.connect(self._vertices_changed)
        session.model_changed.connect(self.clear)

    def eventFilter(self, obj, ev) -> bool:  # noqa: N802
        if obj is self.plot and ev.type() == QEvent.Type.Resize:
            # in a short dock the rotated "Mahalanobis" no longer fits beside the curve (it was cut to "Mahalanol"):
            # the line above the strip names the distance then (the label stays the CSV export's column name)
            self.plot.getPlotItem().getAxis("left").showLabel(self.plot.height() >= LEFT_LABEL_MIN_HEIGHT)
        return super().eventFilter(obj, ev)

    def _vertices_changed(self) -> None:
        k = len(self.session.path_vertices)
        if k:
            self.source.setCurrentIndex(0)
        self.info.setText(f"{k} point{'s' if k != 1 else ''} drawn" + (" — Decode path" if k >= 2 else
                          " — Shift+click more points in the pair plot" if k else ""))

    def clear(self) -> None:
        self.path = None
        self.strip.clear()
        self.curve.setData([], [])

    def endpoints(self) -> Optional[tuple]:
        """(a, b) z-vectors of "current face → other selected face", or None."""
        s = self.session
        a = s.current_z()
        if a is None or s.sample is None:
            return None
        others = [i for i in s.selected if i != s.current]
        if not others:
            return None
        return a, s.sample.z[others[0]]

    def build(self):
        """The undecoded path (engine.latent_paths.LatentPath) the controls describe; raises EngineError."""
        from engine.errors import EngineError
        from engine.latent_paths import interpolate, polyline

        s = self.session
        if s.stats is None:
            raise EngineError("path: open a model with z-points first")
        n, method = self.n.value(), self.method.currentData()
        from engine.atlas import make_plane

        plane = make_plane(s.stats, *s.axes, base_z=s.current_z())
        if self.source.currentData() == "line":
            v = np.asarray(s.path_vertices, float).reshape(-1, 2)
            if len(v) < 2:
                raise EngineError("path: Shift+click at least two points in the pair plot")
            if method == "spherical" and len(v) == 2:
                za, zb = plane.lift(v)
                return interpolate(s.stats, za.astype(np.float32), zb.astype(np.float32), n, method, plane=plane)
            return polyline(s.stats, plane, v, n)
        ends = self.endpoints()
        if ends is None:
            raise EngineError("path: inspect a face and Ctrl+click a second face in the grid")
        return interpolate(s.stats, ends[0], ends[1], n, method, plane=plane)

    def run(self):
        from engine.errors import EngineError
        from engine.latent_paths import decode_path

        from .engine_bridge import Job

        try:
            path = self.build()
        except EngineError as exc:
            self.info.setText(str(exc))
            return None
        codec = self.session.model.codec

        def fn(progress, cancel):
            return decode_path(codec, path, progress=progress, cancel=cancel)

        return self.bridge.submit(Job("decode path", fn, on_done=self.show_path, key="path"))

    def show_path(self, path) -> None:
        self.path = path
        strip = path.strip()
        h = STRIP_HEIGHT
        scale = h / strip.shape[0]
        self.strip.setPixmap(to_pixmap(strip).scaledToHeight(h, Qt.TransformationMode.SmoothTransformation))
        self.strip.setMinimumWidth(int(strip.shape[1] * scale))
        self.curve.setData(np.asarray(path.t, float), np.asarray(path.mahalanobis, float))
        self.plot.getPlotItem().getViewBox().enableAutoRange()
        m = np.asarray(path.mahalanobis)
        self.info.setText(f"{len(path)} faces, {path.method}: Mahalanobis {m[0]:.2f} → {m[-1]:.2f} "
                          f"(max {m.max():.2f})")
        self.path_shown.emit(path)

    def strip_image(self) -> Optional[np.ndarray]:
        return None if self.path is None or self.path.images is None else self.path.strip()

    def clear_model_state(self) -> None:
        """Another model (``Session.model_reset``): no strip, curve, caption or range of the previous path."""
        self.clear()
        self.strip.setMinimumWidth(0)
        self.info.setText("Shift+click points in the pair plot, then Decode path")
        from .qt_widgets import empty_view

        empty_view(self.plot)
