"""The shared state of one window, and the hub its panels subscribe to (glue-like linked views).

The state itself (the current model, its training z-points and their statistics, the open dataset, the current
generated sample, the selected face(s), the chosen pair of axes, photos, directions …) is the Qt-free
:class:`engine.explore_state.ExplorationState`; this adapter turns each change it reports into the signal of
that kind. Panels never call each other: they change the session, and every panel that shows that piece of
state follows its signal.
"""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QObject, Signal

from engine.explore_state import REPLAY_ORDER, Axis, Change, ExplorationState, PhotoEntry, Sample, axis_label
from engine.history import History
from engine.workflows.open_model import OpenedModel

#: The open model, as the engine's "open a model" workflow returns it (codec, z-points, statistics, labels …).
LoadedModel = OpenedModel

__all__ = ["Axis", "LoadedModel", "PhotoEntry", "Sample", "Session", "axis_label"]


class Session(QObject):
    #: Emitted by :meth:`set_model` before any other signal: every panel drops what it derived from the previous
    #: model (its ``clear_model_state()``: decoded points, readouts, fitted results, plot ranges), then hears the
    #: new model's signals like a panel just built.
    model_reset = Signal()
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
    cloud_selection_changed = Signal()  # training z-points selected with a plot's Select tool (``cloud_selection``)
    bookmarks_changed = Signal()  # a bookmark was added, renamed or deleted (``bookmarks``)
    groups_changed = Signal()  # a selection was kept as a named group, or a group deleted (``groups``)
    sampler_changed = Signal()  # the Generate panel's sampler or one of its fields (``sampler``)
    history_changed = Signal()  # a step was recorded, undone or redone (the Edit menu's names follow)

    #: Which signal announces each kind of change.
    SIGNALS = {Change.MODEL: "model_changed", Change.STATS: "stats_changed", Change.DATASET: "dataset_changed",
               Change.SAMPLE: "sample_changed", Change.SELECTION: "selection_changed", Change.AXES: "axes_changed",
               Change.EDITED: "edited_changed", Change.COLOUR_BY: "colour_by_changed",
               Change.PHOTOS: "photos_changed", Change.DIRECTIONS: "directions_changed",
               Change.PROBE: "probe_changed", Change.PATH: "path_changed",
               Change.CLOUD_SELECTION: "cloud_selection_changed",
               Change.BOOKMARKS: "bookmarks_changed", Change.GROUPS: "groups_changed",
               Change.SAMPLER: "sampler_changed"}

    def __init__(self, parent: Optional[QObject] = None, state: Optional[ExplorationState] = None) -> None:
        super().__init__(parent)
        self.state = state if state is not None else ExplorationState()
        self.history = History(self.state)

    def _emit(self, changes) -> None:
        for change in changes:
            getattr(self, self.SIGNALS[change]).emit()

    def _step(self, label: str, action, key=None):
        """Run a setter as the undoable step ``label`` and announce its changes."""
        steps = len(self.history.done), self.history.undo_label()
        changes = self.history.record(label, action, key)
        self._emit(changes)
        if (len(self.history.done), self.history.undo_label()) != steps:
            self.history_changed.emit()
        return changes

    # ---- undo / redo --------------------------------------------------------------------------
    def undo(self) -> bool:
        """Undo the last step (Edit ▸ Undo); False when there is none."""
        changes = self.history.undo()
        self._emit(changes)
        self.history_changed.emit()
        return bool(changes)

    def redo(self) -> bool:
        changes = self.history.redo()
        self._emit(changes)
        self.history_changed.emit()
        return bool(changes)

    def end_step(self) -> None:
        """A drag ended: its moves are one step, the next move starts another."""
        self.history.seal()

    # ---- setters (each signal once, in the state's order) ---------------------------------------
    def set_model(self, model: Optional[LoadedModel], stats=None) -> None:
        """A new model (or the same one reopened: new z-points, labels): ``model_reset``, then the state's changes."""
        changes = self.state.set_model(model, stats)
        self.history.clear()  # the steps belonged to the old model's faces
        self.model_reset.emit()
        self._emit(changes)
        self.history_changed.emit()

    def replay(self) -> None:
        """Emit every signal once, in set_model's order, for panels built after the state was set (the late
        panels of the main window): each shows the model, statistics, dataset, faces, selection and axes it
        missed. Panels that saw them already only redraw the same state."""
        self._emit(REPLAY_ORDER)

    def set_probe(self, point) -> None:
        """Drop a decoded plot point (``engine.atlas.DecodedPoint``) for the inspector; None clears it."""
        self._step("Point dropped from the plot" if point is not None else "Clear the dropped point",
                   lambda: self.state.set_probe(point), key="probe")

    def set_cloud_selection(self, selection) -> None:
        """Select training z-points (``engine.selection.CloudSelection``; None: nothing)."""
        label = "Clear the selection" if selection is None or not selection.count else (
            f"Select {selection.count:,} z-points" + (f" ({selection.how})" if selection.how else ""))
        self._step(label, lambda: self.state.set_cloud_selection(selection))

    def set_path_vertices(self, vertices) -> None:
        self._step(f"Path ({len(vertices)} points)" if len(vertices) else "Clear the path",
                   lambda: self.state.set_path_vertices(vertices))

    def set_stats(self, stats) -> None:
        self._emit(self.state.set_stats(stats))

    def set_dataset(self, dataset) -> None:
        self._emit(self.state.set_dataset(dataset))

    def set_sample(self, sample: Optional[Sample]) -> None:
        if self.state.sample is None:  # a model's first faces: no step (undoing it would only empty the grid)
            self._emit(self.state.set_sample(sample))
            return
        label = "Clear the faces" if sample is None else (
            f"Generate {len(sample.z)} faces ({sample.params.get('sampler', 'faces')})")
        self._step(label, lambda: self.state.set_sample(sample))

    def select(self, current: Optional[int], selected: Optional[list[int]] = None) -> None:
        n = len(selected) if selected is not None else (0 if current is None else 1)
        label = "Select nothing" if not n else (f"Select face {current + 1}" if n == 1 and current is not None
                                                 else f"Select {n} faces")
        self._step(label, lambda: self.state.select(current, selected))

    def add_photo(self, entry: PhotoEntry, replace: Optional[int] = None) -> int:
        """Add a photo (or replace ``photos[replace]``, e.g. another face of the same photo); its index."""
        out = []

        def add():
            i, changes = self.state.add_photo(entry, replace)
            out.append(i)
            return changes

        self._step(f"Add photo {entry.name}" if replace is None else f"Another face of {entry.name}", add)
        return out[0]

    def remove_photo(self, i: int) -> None:
        name = self.state.photos[i].name if 0 <= i < len(self.state.photos) else "photo"
        self._step(f"Remove photo {name}", lambda: self.state.remove_photo(i))

    def inspect_photo(self, i: Optional[int]) -> None:
        """Show ``photos[i]`` in the inspector (None: back to the current face)."""
        name = self.state.photos[i].name if i is not None and 0 <= i < len(self.state.photos) else None
        self._step(f"Inspect photo {name}" if name else "Back to the faces", lambda: self.state.inspect_photo(i))

    def set_directions(self, directions: list) -> None:
        self._step(f"Directions ({len(directions)})", lambda: self.state.set_directions(directions))

    def set_groups(self, groups: list, label: str = "Groups") -> None:
        """Replace the named groups ((name, CloudSelection) pairs) as the undoable step ``label``."""
        self._step(label, lambda: self.state.set_groups(groups))

    def set_bookmarks(self, bookmarks: list, label: str = "Bookmarks") -> None:
        """Replace the bookmarks (engine.bookmarks.Bookmark) as the undoable step ``label``."""
        self._step(label, lambda: self.state.set_bookmarks(bookmarks))

    def set_axes(self, x: Axis, y: Axis) -> None:
        self._step(f"Axes {axis_label(x)} × {axis_label(y)}", lambda: self.state.set_axes(x, y))

    def set_edited(self, z, label: Optional[str] = None) -> None:
        """The inspector's edited z (None: the face as it was made). Consecutive edits are one step until
        :meth:`end_step` (a slider released); a reset is a step of its own."""
        if z is None:
            self._step(label or "Reset the edits", lambda: self.state.set_edited(None))
        else:
            self._step(label or "Edit the face", lambda: self.state.set_edited(z), key="edit")

    def set_sampler(self, name: str, values: dict, label: Optional[str] = None) -> None:
        """The Generate panel's sampler and fields, as the undoable step ``label`` ("sampler to gmm", "components to
        12"). Before a model is open it is no step (undo belongs to an exploration of a model)."""
        if self.state.model is None or self.state.sampler is None:
            self._emit(self.state.set_sampler(name, values))
            return
        self._step(label or f"sampler {name}", lambda: self.state.set_sampler(name, values))

    def set_colour_by(self, name: Optional[str]) -> None:
        """Colour the cloud by attribute ``name`` (None or an unknown name: no colouring)."""
        self._step(f"Colour by {name}" if name else "No colouring", lambda: self.state.set_colour_by(name))

    # ---- derived (read from the state) --------------------------------------------------------
    @property
    def latents(self):
        return self.state.latents

    @property
    def labels(self):
        """The model's attribute table (engine.attributes.AttributeTable) or None."""
        return self.state.labels

    def attribute_groups(self, name: Optional[str] = None):
        return self.state.attribute_groups(name)

    def inspected_photo(self) -> Optional[PhotoEntry]:
        return self.state.inspected_photo()

    def focus(self) -> Optional[tuple]:
        """What the inspector shows: ("photo", i), ("face", i) or None."""
        return self.state.focus()

    def base_z(self):
        return self.state.base_z()

    def base_image(self):
        return self.state.base_image()

    def photo_z(self):
        return self.state.photo_z()

    def current_z(self):
        return self.state.current_z()


def _field(name: str) -> property:
    return property(lambda self: getattr(self.state, name), lambda self, value: setattr(self.state, name, value),
                    doc=f"The state's ``{name}``.")


for _name in ExplorationState.FIELDS:  # session.sample, session.axes … read and write the state's fields
    setattr(Session, _name, _field(_name))
