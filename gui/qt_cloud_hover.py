"""Hover a point of the training cloud: a small preview of its training face floats beside the pointer.

:class:`CloudHover` finds the drawn point nearest the pointer in screen pixels (the view's affine map applied to
every drawn point at once, a few thousand points in well under a millisecond) after a short pause of the pointer,
and shows the face ``face(i)`` gives for it (the dataset's image when the dataset is open, else the decode of its
z: ``engine.explore_state.ExplorationState.training_face``); recent faces are kept, so moving back is instant.
"""
from __future__ import annotations

import time
from collections import OrderedDict
from typing import Callable, Optional

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPoint, Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout

#: Pixels from the pointer within which a drawn point counts as hovered.
HOVER_RADIUS = 7
#: The pointer's pause before the preview is looked up (ms): a sweep across the cloud decodes nothing.
HOVER_DELAY_MS = 12
#: Side of the preview face (pixels).
PREVIEW_SIZE = 80


def pixel_d2(view_box, xy: np.ndarray, scene_pos) -> np.ndarray:
    """Squared screen distances (scene pixels) from ``scene_pos`` to the points ``xy`` (n, 2) in view coordinates."""
    t = view_box.childGroup.sceneTransform()  # view → scene: affine
    xy = np.asarray(xy, float).reshape(-1, 2)
    sx = t.m11() * xy[:, 0] + t.m21() * xy[:, 1] + t.dx()
    sy = t.m12() * xy[:, 0] + t.m22() * xy[:, 1] + t.dy()
    return (sx - scene_pos.x()) ** 2 + (sy - scene_pos.y()) ** 2


def float_beside(widget, plot, scene_pos, gap: int = 12) -> None:
    """Move ``widget`` (a child of ``plot``) beside ``scene_pos``: to its right, or its left near the edge."""
    widget.adjustSize()
    p = plot.mapFromScene(scene_pos)
    w, h = plot.width(), plot.height()
    fw, fh = widget.width(), widget.height()
    x = p.x() + gap if p.x() + gap + fw < w else p.x() - gap - fw
    y = min(max(0, p.y() - fh // 2), max(0, h - fh))
    widget.move(QPoint(int(x), int(y)))
    widget.show()
    widget.raise_()


class CloudHover(QObject):
    """The hover preview of one plot. ``points()`` → (xy (n, 2) in view coordinates, their indices) of the drawn
    points, or None; ``face(i)`` → (image S×S×3, a short caption) of point index ``i``."""

    shown = Signal(int)  # the index whose face is shown

    def __init__(self, plot, points: Callable[[], Optional[tuple]], face: Callable[[int], tuple],
                 keep: int = 256) -> None:
        super().__init__(plot)
        self.plot = plot
        self.points = points
        self.face = face
        self.enabled = True
        self.index: Optional[int] = None  # the point shown
        self.last_ms: list[float] = []  # pointer stop → preview shown, per preview
        self._cache: OrderedDict = OrderedDict()
        self._keep = keep
        self._pos = None
        self._t0 = 0.0
        self.label = QFrame(plot)  # the face and a one-line caption under it
        self.label.setObjectName("cloudHoverFace")
        self.label.setStyleSheet("QFrame#cloudHoverFace { background: rgba(255,255,255,235); border: 1px solid #777; }"
                                 " QLabel { font-size: 10px; color: #333; }")
        lay = QVBoxLayout(self.label)
        lay.setContentsMargins(3, 3, 3, 2)
        lay.setSpacing(1)
        self.image = QLabel()
        self.caption = QLabel()
        lay.addWidget(self.image)
        lay.addWidget(self.caption)
        self.label.hide()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(HOVER_DELAY_MS)
        self._timer.timeout.connect(self.update_preview)
        plot.scene().sigMouseMoved.connect(self._moved)
        plot.viewport().installEventFilter(self)

    def clear(self) -> None:
        """Forget the faces kept (another model or dataset) and hide the preview."""
        self._cache.clear()
        self.hide()

    def hide(self) -> None:
        self.index = None
        self.label.hide()

    def eventFilter(self, obj, ev) -> bool:  # noqa: N802
        if ev.type() in (QEvent.Type.Leave, QEvent.Type.MouseButtonPress):
            self._timer.stop()
            self.hide()
        return False

    def _moved(self, pos) -> None:
        self._pos = pos
        self._t0 = time.perf_counter()
        self._timer.start()

    def nearest(self, scene_pos) -> Optional[int]:
        """The index of the drawn point nearest ``scene_pos`` within HOVER_RADIUS pixels, or None."""
        got = self.points()
        if got is None or scene_pos is None:
            return None
        xy, idx = got
        if len(xy) == 0:
            return None
        vb = self.plot.getPlotItem().getViewBox()
        if not vb.sceneBoundingRect().contains(scene_pos):
            return None
        d2 = pixel_d2(vb, xy, scene_pos)
        k = int(np.argmin(d2))
        return int(idx[k]) if d2[k] <= HOVER_RADIUS ** 2 else None

    def update_preview(self, scene_pos=None) -> Optional[int]:
        """Show the face of the point under ``scene_pos`` (default: the pointer's last position); its index."""
        from PySide6.QtWidgets import QApplication

        pos = self._pos if scene_pos is None else scene_pos
        dragging = scene_pos is None and QApplication.mouseButtons() != Qt.MouseButton.NoButton
        i = self.nearest(pos) if self.enabled and not dragging else None  # (no preview while panning)
        if i is None:
            self.hide()
            return None
        if i != self.index or not self.label.isVisible():
            self._show(i, pos)
        return i

    def _show(self, i: int, scene_pos) -> None:
        from .qt_images import to_pixmap

        t0 = self._t0 or time.perf_counter()
        got = self._cache.get(i)
        if got is None:
            image, caption = self.face(i)
            got = (to_pixmap(np.asarray(image), PREVIEW_SIZE, True), caption)
            self._cache[i] = got
            while len(self._cache) > self._keep:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(i)
        pixmap, caption = got
        self.image.setPixmap(pixmap)
        self.caption.setText(caption)
        float_beside(self.label, self.plot, scene_pos)
        self.index = i
        self.last_ms.append((time.perf_counter() - t0) * 1000)
        self.last_ms = self.last_ms[-200:]
        self.shown.emit(i)
