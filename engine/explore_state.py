"""The interactive state of one exploration, without Qt: what the window shows and the user chose.

The open model, its statistics, the open dataset, the generated faces, the selection, the pair plot's axes, the
inspector's edit, the attribute the cloud is coloured by, the user's photos, the direction lab's set, a point
dropped from a plot and a drawn path. Every change goes through a method that keeps the state consistent (a new
model clears what belonged to the old one, a selection is clipped to the faces there are, …) and returns the
:class:`Change` kinds it made, in the order a view should hear them. ``gui/session.py`` adapts it to Qt signals;
a script, a test or a saved session can drive it without a window.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

Axis = tuple[str, int]


class Change(enum.Enum):
    """What a state change touched (one Qt signal each in ``gui/session.py``)."""

    MODEL = "model"
    COLOUR_BY = "colour_by"
    STATS = "stats"
    DATASET = "dataset"
    PHOTOS = "photos"
    DIRECTIONS = "directions"
    PROBE = "probe"
    PATH = "path"
    SAMPLE = "sample"
    SELECTION = "selection"
    AXES = "axes"
    EDITED = "edited"
    BOOKMARKS = "bookmarks"
    GROUPS = "groups"
    CLOUD_SELECTION = "cloud_selection"
    SAMPLER = "sampler"


#: Every kind, in the order a view built late hears them (``Session.replay``).
REPLAY_ORDER = tuple(Change)


@dataclass
class Sample:
    """Generated faces: their z-vectors, images and the parameters that made them."""

    z: np.ndarray  # n×z_dim float32
    images: np.ndarray  # n×S×S×3 uint8
    params: dict  # as engine.workflows.generate.GeneratedSet.params (the params.json of a set)


@dataclass
class PhotoEntry:
    """A photo of the user's, framed, encoded and placed by engine.photo (File ▸ Open photo…)."""

    result: Any  # engine.photo.PhotoResult (with keep_photo: the working copy of the photo)
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


class ExplorationState:
    """The state of one exploration; each setter returns the changes it made (nothing: it changed nothing)."""

    #: The plain fields (read and written by ``gui/session.Session`` as its own attributes).
    FIELDS = ("model", "stats", "dataset", "sample", "current", "selected", "axes", "edited_z", "colour_by",
              "photos", "photo_current", "directions", "probe", "path_vertices", "cloud_selection",
              "bookmarks", "groups", "sampler")

    def __init__(self) -> None:
        self.model = None  # engine.workflows.open_model.OpenedModel
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
        self.directions: list = []  # the direction lab's set (Direction, origin set)
        self.probe = None  # engine.atlas.DecodedPoint dropped from a plot ("Show in inspector"), or None
        self.path_vertices: list = []  # (x, y) vertices in the pair plot's current axes (the Path tool)
        self.bookmarks: list = []  # engine.bookmarks.Bookmark: named views, restored in one click
        #: Training z-points selected with the plots' Select tool (engine.selection.CloudSelection) or None; not
        #: ``selected``, which is the faces grid's selection of generated faces.
        self.cloud_selection = None
        #: Selections kept by name ("Keep as group"): (name, engine.selection.CloudSelection), in the order kept
        self.groups: list = []
        #: The Generate panel's sampler and its fields ({"name": "gmm", "values": {"components": 12}}), or None
        #: before the window reports it; kept when another model opens (it is the user's choice, not the model's)
        self.sampler: Optional[dict] = None
        self._file_index = None  # (dataset, {file name: its index}) for training_face

    # ---- setters ---------------------------------------------------------------------------
    def set_model(self, model, stats=None) -> list[Change]:
        """A new model (None: none): everything that belonged to the old one is cleared; the open dataset too when
        the model is another folder (it was framed for the old model; the same folder reopened keeps it)."""
        folders = [getattr(m, "folder", None) for m in (model, self.model)]
        same = None not in folders and Path(folders[0]) == Path(folders[1])
        changes = [] if same or self.dataset is None else [Change.DATASET]
        if not same:
            self.dataset = None
        self.model, self.stats = model, stats
        self.sample, self.current, self.selected, self.edited_z, self.colour_by = None, None, [], None, None
        self.photos, self.photo_current, self.directions, self.probe, self.path_vertices = [], None, [], None, []
        self.bookmarks = []  # views of the old model's faces
        self.cloud_selection, self.groups = None, []
        if model is not None:
            d = model.z_dim
            self.axes = tuple((k, min(i, d - 1)) for k, i in self.axes)  # type: ignore[assignment]
        return [Change.MODEL, Change.COLOUR_BY, Change.STATS, *changes, Change.PHOTOS, Change.DIRECTIONS,
                Change.PROBE, Change.PATH, Change.SAMPLE, Change.SELECTION, Change.CLOUD_SELECTION,
                Change.BOOKMARKS, Change.GROUPS]

    def set_cloud_selection(self, selection) -> list[Change]:
        """Select training z-points (an ``engine.selection.CloudSelection`` over this model's z-points; None or an
        empty one: nothing selected). A mask of another length than the model's z-points is refused."""
        if selection is not None:
            n = 0 if self.latents is None else len(self.latents)
            if len(selection.mask) != n:
                raise ValueError(f"a selection of {len(selection.mask)} points for a cloud of {n}")
            if selection.count == 0:
                selection = None
        if selection is None and self.cloud_selection is None:
            return []
        self.cloud_selection = selection
        return [Change.CLOUD_SELECTION]

    def set_probe(self, point) -> list[Change]:
        self.probe = point
        return [Change.PROBE]

    def set_path_vertices(self, vertices) -> list[Change]:
        self.path_vertices = [(float(x), float(y)) for x, y in vertices]
        return [Change.PATH]

    def set_stats(self, stats) -> list[Change]:
        self.stats = stats
        return [Change.STATS]

    def set_dataset(self, dataset) -> list[Change]:
        self.dataset = dataset
        return [Change.DATASET]

    def set_sample(self, sample: Optional[Sample]) -> list[Change]:
        self.sample = sample
        self.current = 0 if sample is not None and len(sample.z) else None
        self.selected = [] if self.current is None else [0]
        if self.photo_current is None:  # a photo being inspected stays in the inspector
            self.edited_z = None
        return [Change.SAMPLE, Change.SELECTION]

    def select(self, current: Optional[int], selected: Optional[list[int]] = None) -> list[Change]:
        n = 0 if self.sample is None else len(self.sample.z)
        if current is not None and not 0 <= current < n:
            current = None
        wanted = selected if selected is not None else ([] if current is None else [current])
        sel = sorted({int(i) for i in wanted if 0 <= int(i) < n})
        if current == self.current and sel == self.selected and self.photo_current is None:
            return []
        if current != self.current or self.photo_current is not None:
            self.edited_z = None
        self.current, self.selected = current, sel
        self.photo_current = None  # a face picked in the grid or the plot replaces an inspected photo
        return [Change.SELECTION]

    def add_photo(self, entry: PhotoEntry, replace: Optional[int] = None) -> tuple[int, list[Change]]:
        """Add a photo (or replace ``photos[replace]``, e.g. another face of the same photo): its index."""
        if replace is not None and 0 <= replace < len(self.photos):
            self.photos[replace] = entry
            i = replace
            if self.photo_current == i:
                self.edited_z = None
        else:
            self.photos.append(entry)
            i = len(self.photos) - 1
        return i, [Change.PHOTOS] + ([Change.SELECTION] if self.photo_current == i else [])

    def remove_photo(self, i: int) -> list[Change]:
        if not 0 <= i < len(self.photos):
            return []
        del self.photos[i]
        was = self.photo_current
        if was is not None:
            self.photo_current = None if was == i else (was - 1 if was > i else was)
            if was == i:
                self.edited_z = None
        return [Change.PHOTOS] + ([Change.SELECTION] if was is not None else [])

    def inspect_photo(self, i: Optional[int]) -> list[Change]:
        """Show ``photos[i]`` in the inspector (None: back to the current face)."""
        if i is not None and not 0 <= i < len(self.photos):
            i = None
        self.photo_current = i
        self.edited_z = None
        return [Change.SELECTION]

    def set_directions(self, directions: list) -> list[Change]:
        self.directions = list(directions)
        return [Change.DIRECTIONS]

    def set_groups(self, groups: list) -> list[Change]:
        """The named groups: (name, CloudSelection) pairs over this model's z-points, a new list each time."""
        n = 0 if self.latents is None else len(self.latents)
        for name, sel in groups:
            if len(sel.mask) != n:
                raise ValueError(f"group {name!r}: a selection of {len(sel.mask)} points for a cloud of {n}")
        self.groups = [(str(name), sel) for name, sel in groups]
        return [Change.GROUPS]

    def set_bookmarks(self, bookmarks: list) -> list[Change]:
        """The bookmarks (engine.bookmarks.Bookmark), a new list each time (undo keeps the old one)."""
        self.bookmarks = list(bookmarks)
        return [Change.BOOKMARKS]

    def set_axes(self, x: Axis, y: Axis) -> list[Change]:
        axes = ((str(x[0]), int(x[1])), (str(y[0]), int(y[1])))
        if axes == self.axes:
            return []
        self.axes = axes  # type: ignore[assignment]
        changes = []
        if self.path_vertices:  # a line drawn in other axes means nothing in these
            self.path_vertices = []
            changes.append(Change.PATH)
        return changes + [Change.AXES]

    def set_edited(self, z: Optional[np.ndarray]) -> list[Change]:
        self.edited_z = None if z is None else np.asarray(z, np.float32)
        return [Change.EDITED]

    def set_sampler(self, name: str, values: dict) -> list[Change]:
        """The sampler chosen and its fields' values (a new dict each time: undo keeps the old one)."""
        sampler = {"name": str(name), "values": dict(values)}
        if sampler == self.sampler:
            return []
        self.sampler = sampler
        return [Change.SAMPLER]

    def set_colour_by(self, name: Optional[str]) -> list[Change]:
        """Colour the cloud by attribute ``name`` (None or an unknown name: no colouring)."""
        labels = self.labels
        if name is not None and (labels is None or name not in labels.names):
            name = None
        if name == self.colour_by:
            return []
        self.colour_by = name
        return [Change.COLOUR_BY]

    # ---- derived ---------------------------------------------------------------------------
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

    def training_face(self, i: int) -> tuple[np.ndarray, bool]:
        """The face of training z-point ``i``: (its image in the open dataset, True) when the folder holds its file,
        else (its decode, False). Read-only: nothing is written."""
        if self.latents is None or not 0 <= int(i) < len(self.latents):
            raise IndexError(f"no training z-point {i}")
        i = int(i)
        ds, files = self.dataset, self.model.latent_files
        if ds is not None and i < len(files):
            index = self._file_index
            if index is None or index[0] is not ds:
                index = self._file_index = (ds, {f: k for k, f in enumerate(ds.files)})
            k = index[1].get(files[i])
            if k is not None:
                return np.asarray(ds.images[k]), True
        return self.model.codec.decode(self.latents[i:i + 1])[0], False

    def training_faces(self, indices, cancel=None) -> tuple[np.ndarray, np.ndarray]:
        """The faces of training z-points ``indices``: (images n×S×S×3, from_dataset n bools): the open dataset's
        image where the folder holds the file, the others decoded in one batch. Read-only."""
        idx = np.asarray(indices, int).reshape(-1)
        if self.latents is None or len(idx) == 0:
            return np.zeros((0, 0, 0, 3), np.uint8), np.zeros(0, bool)
        files, ds = self.model.latent_files, self.dataset
        ks = [-1] * len(idx)
        if ds is not None:
            self.training_face(int(idx[0]))  # (builds the file index)
            index = self._file_index[1]
            ks = [index.get(files[i], -1) if i < len(files) else -1 for i in idx]
        from_ds = np.array([k >= 0 for k in ks], bool)
        decoded = idx[~from_ds]
        dec = self.model.codec.decode(self.latents[decoded], cancel=cancel) if len(decoded) else None
        size = int(self.model.codec.image_size)
        images = np.zeros((len(idx), size, size, 3), np.uint8)
        j = 0
        for n, k in enumerate(ks):
            if k >= 0:
                images[n] = np.asarray(ds.images[k])[:size, :size]
            else:
                images[n] = dec[j]
                j += 1
        return images, from_ds

    def current_z(self) -> Optional[np.ndarray]:
        if self.edited_z is not None:
            return self.edited_z
        return self.base_z()
