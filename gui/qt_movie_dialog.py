"""File ▸ Export movie…: what to film (a sweep along the pair plot's x axis, or the path between the inspected
face and another selected face), frames, fps, size and format. The movie itself is the engine's
(``engine.workflows.movie``: ``movie_of_sweep``/``movie_of_path``), written by the window on the worker. The
defaults, the interpolation methods and the limits are the workflow's (``MOVIE_PARAMS``)."""
from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QLineEdit, QSpinBox,
)

from engine.params import find
from engine.workflows.movie import MOVIE_PARAMS

from .session import axis_label

#: the interpolation methods' words in the dialog (the methods themselves: the workflow's choices)
METHOD_LABELS = {"linear": "straight", "spherical": "along the ellipse"}
#: the dialog offers less than the workflow allows (a movie made here is watched, not measured)
MOST_FRAMES, FPS_RANGE, SIZE_RANGE = 2000, (1, 60), (32, 1024)


class MovieDialog(QDialog):
    def __init__(self, parent=None, *, can_path: bool = False, axis=("pca", 0)) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export movie")
        self.kind = QComboBox()
        self.kind.addItem(f"sweep along {axis_label(axis)} (the pair plot's x axis)", "sweep")
        self.kind.addItem("path: inspected face → other selected face", "path")
        if not can_path:
            self.kind.model().item(1).setEnabled(False)
            self.kind.setToolTip("a path needs two faces: inspect one and Ctrl+click a second one in the grid")
        param = lambda name: find(MOVIE_PARAMS, name)  # noqa: E731
        self.range = QLineEdit(param("range").default)
        self.range.setToolTip("sweep range in σ of the cloud along the axis, START:STOP")
        self.method = QComboBox()
        for method in param("method").choices:
            self.method.addItem(METHOD_LABELS.get(method, method), method)
        self.frames = QSpinBox()
        self.frames.setRange(int(param("frames").minimum), min(MOST_FRAMES, int(param("frames").maximum)))
        self.frames.setValue(param("frames").default)
        self.fps = QDoubleSpinBox()
        self.fps.setRange(*FPS_RANGE)
        self.fps.setValue(param("fps").default)
        self.size = QSpinBox()
        self.size.setRange(*SIZE_RANGE)
        self.size.setSingleStep(32)
        self.size.setValue(param("size").default)
        self.size.setSuffix(" px")
        self.format = QComboBox()
        self.format.addItem("MP4 (H.264)", "mp4")
        self.format.addItem("GIF", "gif")
        form = QFormLayout(self)
        form.addRow("film", self.kind)
        form.addRow("sweep range (σ)", self.range)
        form.addRow("path interpolation", self.method)
        form.addRow("frames", self.frames)
        form.addRow("frames per second", self.fps)
        form.addRow("size", self.size)
        form.addRow("format", self.format)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def options(self) -> dict:
        return {"kind": self.kind.currentData(), "frames": self.frames.value(), "fps": self.fps.value(),
                "size": self.size.value(), "method": self.method.currentData(), "value_range": self.range.text(),
                "format": self.format.currentData()}
