"""The shared state of one window, and the hub its panels subscribe to (glue-like linked views).

It holds the current model, its training z-points and their statistics, the open dataset, the
current generated sample (z, images, params), the selected face(s) and the chosen pair of axes.
Panels never call each other: they change the session, and every panel that shows that piece of
state follows its signal.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
from PySide6.QtCore import QObject, Signal

from engine.workflows.open_model import OpenedModel

Axis = tuple[str, int]


#: The open model, as the engine's "open a model" workflow returns it (codec, z-points, statistics, labels …).
LoadedModel = OpenedModel


@dataclass
class Sample:
    z: np.ndarray  # n×z_dim float32
    images: np.ndarray  # n×S×S×3 uint8
    params: dict  # as engine.workflows.generate.GeneratedSet.params (the params.json of a set)


@dataclass
class PhotoEntry:
    """A photo of the user's, framed, encoded and placed by engine.photo (File ▸ Open photo…)."""

    result: object  # engine.photo.PhotoResult (with keep_photo: the working copy of the photo)
    faces: list  # corners (4×2, working-copy pixels) of every face found, for the choice among them
    no_detect: bool = False
    near_images: Optional[np.ndarray] = None  # the nearest training z-points decoded (result.nearest's order)

    @property
    def z(self) -> np.ndarray:
        return np.asarray(self.result.z, np.float32).reshape(-1)

    @property
    def name(self) -> str:
        return Path(self.result.source).name


def axis_label(axis: Axis) -> str:
    kind, i = axis
    return f"PC{i + 1}" if kind == "pca" else f"z{i}"


class Session(QObject):
    model_changed = Signal()
    stats_changed = Signal()
    dataset_changed = Signal()
    sample_changed = Signal()
    selection_changed = Signal()  # current face index and/or the multi-selection
    axes_changed = Signal()
    edited_changed = Signal()  # the inspector's edited z for the current face (PCA sliders)
    colour_by_changed = Signal()  # the attribute the cloud is coloured by (None: no colouring)
    photos_changed = Signal()  # a photo was added, replaced or removed (``photos``)
    directions_changed = Signal()  # the direction lab's current set (``directions``)
    probe_changed = Signal()  # a point decoded in a plot (Alt+click) dropped for the inspector (``probe``)
    path_changed = Signal()  # the polyline drawn in the pair plot (``path_vertices``)

    def __init__(self, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.model: Optional[LoadedModel] = None
        self.stats = None  # engine.latent_stats.LatentStats
        self.dataset = None  # engine.image_data.FaceDataset
        self.sample: Optional[Sample] = None
        self.current: Optional[int] = None  # index into sample
        self.selected: list[int] = []
        self.axes: tuple[Axis, Axis] = (("pca", 0), ("pca", 1))
        self.edited_z: Optional[np.ndarray] = None  # (z_dim,) the inspected face after slider edits
        self.colour_by: Optional[str] = None  # an attribute of ``labels``: the cloud is split into its two groups
        self.photos: list[PhotoEntry] = []  # the user's photos placed in this model's cloud
        self.photo_current: Optional[int] = None  # the inspector shows photos[photo_current] instead of a face
        self.directions: list = []  # the direction lab's set (engine.directions.Direction, origin set)
        self.probe = None  # engine.atlas.DecodedPoint dropped from a plot ("Show in inspector"), or None
        self.path_vertices: list = []  # (x, y) vertices in the pair plot's current axes (Shift+click)

    # ---- setters (each emits once) -----------------------------------------------------
    def set_model(self, model: Optional[LoadedModel], stats=None) -> None:
        self.model = model
        self.stats = stats
        self.sample = None
        self.current = None
        self.selected = []
        self.edited_z = None
        self.colour_by = None
        self.photos = []
        self.photo_current = None
        self.directions = []
        self.probe = None
        self.path_vertices = []
        if model is not None:
            d = model.z_dim
            self.axes = tuple((k, min(i, d - 1)) for k, i in self.axes)  # type: ignore[assignment]
        self.model_changed.emit()
        self.colour_by_changed.emit()
        self.stats_changed.emit()
        self.photos_changed.emit()
        self.directions_changed.emit()
        self.probe_changed.emit()
        self.path_changed.emit()
        self.sample_changed.emit()
        self.selection_changed.emit()

    def replay(self) -> None:
        """Emit every signal once, in set_model's order, for panels built after the state was set (the late
        panels of the main window): each shows the model, statistics, dataset, faces, selection and axes it
        missed. Panels that saw them already only redraw the same state."""
        for sig in (self.model_changed, self.colour_by_changed, self.stats_changed, self.dataset_changed,
                    self.photos_changed, self.directions_changed, self.probe_changed, self.path_changed,
                    self.sample_changed, self.selection_changed, self.axes_changed, self.edited_changed):
            sig.emit()

    def set_probe(self, point) -> None:
        """Drop a decoded plot point (``engine.atlas.DecodedPoint``) for the inspector; None clears it.
        (Hook for the inspector: show ``probe.image`` / ``probe.z`` with ``probe.mahalanobis``.)"""
        self.probe = point
        self.probe_changed.emit()

    def set_path_vertices(self, vertices) -> None:
        self.path_vertices = [(float(x), float(y)) for x, y in vertices]
        self.path_changed.emit()

    def set_stats(self, stats) -> None:
        self.stats = stats
        self.stats_changed.emit()

    def set_dataset(self, dataset) -> None:
        self.dataset = dataset
        self.dataset_changed.emit()

    def set_sample(self, sample: Optional[Sample]) -> None:
        self.sample = sample
        self.current = 0 if sample is not None and len(sample.z) else None
        self.selected = [] if self.current is None else [0]
        if self.photo_current is None:  # a photo being inspected stays in the inspector
            self.edited_z = None
        self.sample_changed.emit()
        self.selection_changed.emit()

    def select(self, current: Optional[int], selected: Optional[list[int]] = None) -> None:
        n = 0 if self.sample is None else len(self.sample.z)
        if current is not None and not 0 <= current < n:
            current = None
        sel = sorted({int(i) for i in (selected if selected is not None else ([] if current is None else [current])) if 0 <= int(i) < n})
        if current == self.current and sel == self.selected and self.photo_current is None:
            return
        if current != self.current or self.photo_current is not None:
            self.edited_z = None
        self.current, self.selected = current, sel
        self.photo_current = None  # a face picked in the grid or the plot replaces an inspected photo
        self.selection_changed.emit()

    # ---- photos
    def add_photo(self, entry: PhotoEntry, replace: Optional[int] = None) -> int:
        """Add a photo (or replace ``photos[replace]``, e.g. another face of the same photo); its index."""
        if replace is not None and 0 <= replace < len(self.photos):
            self.photos[replace] = entry
            i = replace
            if self.photo_current == i:
                self.edited_z = None
        else:
            self.photos.append(entry)
            i = len(self.photos) - 1
        self.photos_changed.emit()
        if self.photo_current == i:
            self.selection_changed.emit()
        return i

    def remove_photo(self, i: int) -> None:
        if not 0 <= i < len(self.photos):
            return
        del self.photos[i]
        was = self.photo_current
        if was is not None:
            self.photo_current = None if was == i else (was - 1 if was > i else was)
            if was == i:
                self.edited_z = None
        self.photos_changed.emit()
        if was is not None:
            self.selection_changed.emit()

    def inspect_photo(self, i: Optional[int]) -> None:
        """Show ``photos[i]`` in the inspector (None: back to the current face)."""
        if i is not None and not 0 <= i < len(self.photos):
            i = None
        self.photo_current = i
        self.edited_z = None
        self.selection_changed.emit()

    def set_directions(self, directions: list) -> None:
        self.directions = list(directions)
        self.directions_changed.emit()

    def set_axes(self, x: Axis, y: Axis) -> None:
        axes = ((str(x[0]), int(x[1])), (str(y[0]), int(y[1])))
        if axes != self.axes:
            self.axes = axes  # type: ignore[assignment]
            if self.path_vertices:  # a line drawn in other axes means nothing in these
                self.path_vertices = []
                self.path_changed.emit()
            self.axes_changed.emit()

    def set_edited(self, z: Optional[np.ndarray]) -> None:
        self.edited_z = None if z is None else np.asarray(z, np.float32)
        self.edited_changed.emit()

    def set_colour_by(self, name: Optional[str]) -> None:
        """Colour the cloud by attribute ``name`` (None or an unknown name: no colouring)."""
        labels = self.labels
        if name is not None and (labels is None or name not in labels.names):
            name = None
        if name != self.colour_by:
            self.colour_by = name
            self.colour_by_changed.emit()

    # ---- derived -----------------------------------------------------------------------
    @property
    def latents(self) -> Optional[np.ndarray]:
        return None if self.model is None else self.model.latents

    @property
    def labels(self):
        """The model's attribute table (engine.attributes.AttributeTable) or None."""
        return None if self.model is None else self.model.labels

    def attribute_groups(self, name: Optional[str] = None):
        """(present, absent) masks over the training z-points for ``name`` (default: colour_by), or None."""
        name = name or self.colour_by
        labels = self.labels
        if name is None or labels is None or self.latents is None or len(labels) != len(self.latents):
            return None
        return labels.groups(name)

    def inspected_photo(self) -> Optional[PhotoEntry]:
        if self.photo_current is None or not 0 <= self.photo_current < len(self.photos):
            return None
        return self.photos[self.photo_current]

    def focus(self) -> Optional[tuple]:
        """What the inspector shows: ("photo", i), ("face", i) or None (a key, e.g. for stale decodes)."""
        if self.inspected_photo() is not None:
            return ("photo", self.photo_current)
        if self.sample is None or self.current is None:
            return None
        return ("face", self.current)

    def base_z(self) -> Optional[np.ndarray]:
        """The inspected face's z before the inspector's edits (a photo's, or the current face's)."""
        ph = self.inspected_photo()
        if ph is not None:
            return ph.z
        if self.sample is None or self.current is None:
            return None
        return self.sample.z[self.current]

    def base_image(self) -> Optional[np.ndarray]:
        """The inspected face's image before edits (a photo: its reconstruction)."""
        ph = self.inspected_photo()
        if ph is not None:
            return ph.result.reconstruction
        if self.sample is None or self.current is None:
            return None
        return self.sample.images[self.current]

    def photo_z(self) -> np.ndarray:
        """The photos' z-points (n, z_dim)."""
        if not self.photos:
            return np.zeros((0, self.model.z_dim if self.model is not None else 0), np.float32)
        return np.stack([p.z for p in self.photos])

    def current_z(self) -> Optional[np.ndarray]:
        if self.edited_z is not None:
            return self.edited_z
        return self.base_z()
