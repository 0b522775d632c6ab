"""File ▸ Export movie…: what to film — the cloud's centre, the inspected face or the whole grid moved along a
direction (a principal axis, a direction of the lab, an attribute), or the path between the inspected face and
another selected face — over which range, frames, fps, size and format. The movie itself is the engine's
(``engine.workflows.movie``: ``movie_of_sweep``, ``movie_along``, ``movie_of_path``), written by the window on the
worker. The defaults, the interpolation methods and the limits are the workflow's (``MOVIE_PARAMS``)."""
from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QLabel, QLineEdit, QSpinBox,
)

from engine.params import find
from engine.workflows.movie import MOVIE_PARAMS

from .session import axis_label

#: the interpolation methods' words in the dialog (the methods themselves: the workflow's choices)
METHOD_LABELS = {"linear": "straight", "spherical": "along the ellipse"}
#: the dialog offers less than the workflow allows (a movie made here is watched, not measured)
MOST_FRAMES, FPS_RANGE, SIZE_RANGE = 2000, (1, 60), (32, 2048)
#: principal axes offered besides the pair plot's x axis
LEADING_PCS = 5
#: what can be filmed: (data, words)
KINDS = (("sweep", "the cloud's centre"), ("face", "the inspected face"), ("grid", "the whole grid"),
         ("path", "path: inspected face → other selected face"))


class MovieDialog(QDialog):
    def __init__(self, parent=None, *, can_path: bool = False, axis=("pca", 0), directions=(), attributes=(),
                 has_face: bool = False, grid_faces: int = 0) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export movie")
        self.kind = QComboBox()
        self.kind.setObjectName("movieKind")
        enabled = {"sweep": True, "face": has_face, "grid": grid_faces > 1, "path": can_path}
        for i, (data, words) in enumerate(KINDS):
            self.kind.addItem(f"{words} ({grid_faces} faces)" if data == "grid" and grid_faces else words, data)
            self.kind.model().item(i).setEnabled(enabled[data])
        self.kind.setToolTip("a path needs two faces: inspect one and Ctrl+click a second one in the grid")
        self.along = QComboBox()
        self.along.setObjectName("movieAlong")
        self._fill_along(axis, directions, attributes)
        param = lambda name: find(MOVIE_PARAMS, name)  # noqa: E731
        self.range = QLineEdit(param("range").default)
        self.range.setToolTip("START:STOP: how far the faces move along the direction, from the cloud's centre, "
                              "the face or each face of the grid;\nin σ (one standard deviation of the faces along it), or for an attribute "
                              "in its average difference between faces with and without it")
        self.range_label = QLabel("range (σ)")
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
        self.size.setToolTip("the frame's width (a grid film: its faces share it)")
        self.format = QComboBox()
        self.format.addItem("MP4 (H.264)", "mp4")
        self.format.addItem("GIF", "gif")
        form = QFormLayout(self)
        form.addRow("film", self.kind)
        form.addRow("along", self.along)
        form.addRow(self.range_label, self.range)
        form.addRow("path interpolation", self.method)
        form.addRow("frames", self.frames)
        form.addRow("frames per second", self.fps)
        form.addRow("size", self.size)
        form.addRow("format", self.format)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.kind.currentIndexChanged.connect(self._changed)
        self.along.currentIndexChanged.connect(self._changed)
        self._changed()

    def _fill_along(self, axis, directions, attributes) -> None:
        """The pair plot's x axis first, then the leading principal axes, the lab's directions, the attributes."""
        axis = (str(axis[0]), int(axis[1]))
        self.alongs = [(f"{axis_label(axis)} (the pair plot's x axis)", ("axis", axis))]
        self.alongs += [(f"PC{k + 1}", ("axis", ("pca", k))) for k in range(LEADING_PCS) if ("pca", k) != axis]
        self.alongs += [(f"{d.name} (direction lab)", ("direction", i)) for i, d in enumerate(directions)]
        self.alongs += [(f"{name} (attribute)", ("attribute", str(name))) for name in attributes]
        for words, _data in self.alongs:  # the choices stay Python tuples here (a Qt item's data would not)
            self.along.addItem(words)

    def along_choice(self):
        """The chosen direction: ("axis", (kind, i)), ("direction", index in the lab's set) or ("attribute", name)."""
        i = self.along.currentIndex()
        return self.alongs[i][1] if 0 <= i < len(self.alongs) else None

    def choose_along(self, data) -> bool:
        """Pick the direction ``data`` (as :meth:`along_choice` gives it); False when it is not offered."""
        for i, (_words, d) in enumerate(self.alongs):
            if d == data:
                self.along.setCurrentIndex(i)
                return True
        return False

    def _changed(self, *_) -> None:
        path = self.kind.currentData() == "path"
        self.along.setEnabled(not path)
        self.range.setEnabled(not path)
        self.method.setEnabled(path)
        attribute = (self.along_choice() or ("",))[0] == "attribute"
        self.range_label.setText("range (1 = with − without)" if attribute else "range (σ)")

    def options(self) -> dict:
        return {"kind": self.kind.currentData(), "along": self.along_choice(), "frames": self.frames.value(),
                "fps": self.fps.value(), "size": self.size.value(), "method": self.method.currentData(),
                "value_range": self.range.text(), "format": self.format.currentData()}


def film_work(session, out, kind: str, along, options, columns=None, ends=None):
    """The worker's function for a film of ``kind`` along ``along`` (the dialog's choice) — or a message saying
    what is missing. ``options``: an ``engine.workflows.movie.MovieOptions``; ``ends``: a path's two z-vectors."""
    import numpy as np

    model = session.model
    along = along or ("axis", tuple(session.axes[0]))
    if kind == "path":
        if ends is None:
            return None, "a path movie needs two faces: inspect one and Ctrl+click a second one in the grid"
    elif kind == "face" and session.current_z() is None:
        return None, "a film of the inspected face needs a face: double-click one in the grid"
    elif kind == "grid" and session.sample is None:
        return None, "a film of the whole grid needs faces: generate them first"
    origins = {"face": lambda: np.asarray(session.current_z(), np.float32)[None, :],
               "grid": lambda: np.asarray(session.sample.z, np.float32)}.get(kind, lambda: None)()
    direction = None
    if along[0] == "direction":
        if not 0 <= along[1] < len(session.directions):
            return None, "that direction is no longer in the direction lab"
        direction = session.directions[along[1]]

    def fn(progress, cancel):  # the z-vectors go to the workflow as they are (no files in between)
        from engine.workflows.move_faces import move_of
        from engine.workflows.movie import movie_along, movie_of_path, movie_of_sweep

        if kind == "path":
            return movie_of_path(model, out, ends[0], ends[1], options, progress=progress, cancel=cancel)
        if kind == "sweep" and along[0] == "axis":
            return movie_of_sweep(model, out, axis_label(along[1]), options, progress=progress, cancel=cancel)
        move = move_of(model, axis=along[1] if along[0] == "axis" else None, direction=direction,
                       attribute=along[1] if along[0] == "attribute" else None)
        start = origins if origins is not None else np.asarray(model.stats.mean, np.float32)
        return movie_along(model, out, move, start, options, columns=columns, progress=progress, cancel=cancel)

    return fn, None
