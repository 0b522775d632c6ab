"""The Path panel: the faces decoded along a path through the latent space, with the Mahalanobis distance along
it — the line drawn with the pair plot's Path tool (decoded as soon as its second point is placed), or the
current face → another selected face.

All numbers are the engine's (``engine.latent_paths``: ``polyline`` / ``interpolate`` and ``decode_path`` on
the worker); this panel only shows the faces (:class:`FaceStrip`: every face visible, wrapped into rows when
that makes them larger) and the curve.
"""
from __future__ import annotations

from typing import Optional

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QRect, QSize, QTimer, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QComboBox, QLabel, QPushButton, QSizePolicy, QSpinBox, QToolTip, QVBoxLayout, QWidget

from . import plot_style as ps
from .qt_widgets import flow, plot_widget, row, setup_plot
from .session import Session

#: The strip's smallest height: with two rows of controls and the curve, the panel fits the dock of a 1280×720 window.
STRIP_MIN_HEIGHT = 60
#: The largest face drawn in the strip (pixels): a wide dock leaves the rest empty rather than blur the faces.
STRIP_MAX_SIDE = 128
#: The curve's plot shows its rotated "Mahalanobis" label from this height on.
LEFT_LABEL_MIN_HEIGHT = 120


def strip_layout(n: int, width: int, height: int, gap: int = 2) -> tuple[int, int, int]:
    """(rows, columns, side): ``n`` square faces in ``width``×``height`` pixels, as large as fit (at most
    STRIP_MAX_SIDE), in the fewest rows that reach that size."""
    best = (1, max(1, n), 1)
    for rows in range(1, max(1, n) + 1):
        cols = math.ceil(n / rows)
        side = min((width - gap * (cols - 1)) // cols, (height - gap * (rows - 1)) // rows, STRIP_MAX_SIDE)
        if side > best[2]:
            best = (rows, cols, side)
    return best


class FaceStrip(QWidget):
    """Every face of the path, as large as the space allows, left to right and wrapped into rows."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("pathStrip")
        self.setMinimumHeight(STRIP_MIN_HEIGHT)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(True)
        self.images: list[np.ndarray] = []
        self.captions: list[str] = []
        self._pixmaps: dict = {}  # (index, side) → QPixmap

    def set_faces(self, images, captions=()) -> None:
        self.images = [np.asarray(im) for im in images]
        self.captions = list(captions)
        self._pixmaps = {}
        self.update()

    def clear(self) -> None:
        self.set_faces([])

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(12 * 48, 96)

    def face_rects(self) -> list[QRect]:
        """Where each face is drawn (widget pixels)."""
        n, gap = len(self.images), 2
        if not n:
            return []
        rows, cols, side = strip_layout(n, self.width(), self.height(), gap)
        side = max(1, side)
        return [QRect((k % cols) * (side + gap), (k // cols) * (side + gap), side, side) for k in range(n)]

    def paintEvent(self, ev) -> None:  # noqa: N802
        from .qt_images import to_pixmap

        painter = QPainter(self)
        for k, rect in enumerate(self.face_rects()):
            pm = self._pixmaps.get((k, rect.width()))
            if pm is None:
                pm = self._pixmaps[(k, rect.width())] = to_pixmap(self.images[k], rect.width(), True)
            painter.drawPixmap(rect, pm)
        painter.end()

    def mouseMoveEvent(self, ev) -> None:  # noqa: N802
        p = ev.position().toPoint()
        for k, rect in enumerate(self.face_rects()):
            if rect.contains(p) and k < len(self.captions):
                QToolTip.showText(ev.globalPosition().toPoint(), self.captions[k], self, rect)
                return
        QToolTip.hideText()


#: The line above the faces before a path was drawn.
IDLE_TEXT = "Draw a line: the pair plot's Path tool (T), then click two points; the faces along it appear here"


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
        self.source.setToolTip("the line: the pair plot's Path tool (T): click two points there, the faces decode at once\n"
                               "(Shift+click adds a bend); two faces: inspect one face and Ctrl+click a second one in the grid")
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
        self.go.setToolTip("decode again (a line drawn in the pair plot is decoded as soon as it has two points;\n"
                           "a change of faces or interpolation decodes a shown path again by itself)")
        self.go.clicked.connect(lambda *_: self.run())
        self._again = QTimer(self)  # the faces or interpolation changed: the shown path again, once
        self._again.setSingleShot(True)
        self._again.setInterval(250)
        self._again.timeout.connect(lambda: self.path is not None and self.run())
        self.n.valueChanged.connect(lambda *_: self._again.start())
        self.method.currentIndexChanged.connect(lambda *_: self._again.start())
        self.clear_btn = QPushButton("Clear line")
        self.clear_btn.clicked.connect(lambda *_: session.set_path_vertices([]))
        self.info = QLabel(IDLE_TEXT)
        self.info.setWordWrap(True)
        self.info.setStyleSheet("color: #555;")
        self.strip = FaceStrip()
        self.plot = plot_widget()
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
        lay.addWidget(self.strip, 3)  # the faces before the curve: wrapped into rows when that makes them larger
        lay.addWidget(self.plot, 2)
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
        self.info.setText(IDLE_TEXT if not k else "1 point drawn — click the second point in the pair plot" if k == 1
                          else f"{k} points drawn — decoding…")

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
                raise EngineError("path: draw a line first: the pair plot's Path tool (T), then click two points")
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
        m = np.asarray(path.mahalanobis, float)
        self.strip.set_faces(path.images, [f"face {k + 1} of {len(path)}: position {t:.2f}, Mahalanobis {d:.2f}"
                                           for k, (t, d) in enumerate(zip(np.asarray(path.t, float), m))])
        self.curve.setData(np.asarray(path.t, float), np.asarray(path.mahalanobis, float))
        self.plot.getPlotItem().getViewBox().enableAutoRange()
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
