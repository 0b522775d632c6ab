"""Undo and redo of an exploration: each user action on :class:`engine.explore_state.ExplorationState` is one
step, named ("Generate 32 faces", "Axes PC1 × PC5"), that can be undone and redone exactly.

A step keeps only the fields the action changed, before and after (references to the state's own values, copied
where the state would change them in place), so a hundred steps cost what their differences cost. Consecutive
steps with the same ``key`` (the moves of one drag) merge into one step until :meth:`History.seal`. Opening
another model clears the history (its steps belong to the old model's faces).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from .explore_state import REPLAY_ORDER, Change, ExplorationState

#: The fields a step records, and the change each one's restoring announces. The model, its statistics and the
#: open dataset are not steps (opening a model clears the history).
UNDOABLE = {
    "sample": Change.SAMPLE,
    "current": Change.SELECTION,
    "selected": Change.SELECTION,
    "photo_current": Change.SELECTION,
    "axes": Change.AXES,
    "colour_by": Change.COLOUR_BY,
    "photos": Change.PHOTOS,
    "directions": Change.DIRECTIONS,
    "probe": Change.PROBE,
    "path_vertices": Change.PATH,
    "edited_z": Change.EDITED,
    "cloud_selection": Change.CLOUD_SELECTION,
    "bookmarks": Change.BOOKMARKS,
    "groups": Change.GROUPS,
    "sampler": Change.SAMPLER,
}

#: The most steps kept (the oldest go first).
LIMIT = 200


def _copy(value):
    if isinstance(value, list):
        return list(value)
    if isinstance(value, np.ndarray):
        return value.copy()
    return value


def _same(a, b) -> bool:
    """Equal values, without comparing big objects by content: arrays by content, lists and dicts item by item,
    numbers, text and tuples by value, anything else (a generated set, a photo) by identity."""
    if a is b:
        return True
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape and np.array_equal(a, b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (int, float, str, tuple, type(None))) and isinstance(b, (int, float, str, tuple, type(None))):
        return a == b
    return False


def snapshot(state: ExplorationState) -> dict:
    """The undoable fields of ``state`` as they are now."""
    return {name: _copy(getattr(state, name)) for name in UNDOABLE}


@dataclass
class Step:
    """One undoable action: what it changed (``before`` → ``after``, only the fields that differ)."""

    label: str
    before: dict
    after: dict
    key: Optional[str] = None
    open: bool = True  # a keyed step still taking the next moves of its drag

    def nbytes(self) -> int:
        """Roughly what the step holds of its own (arrays it copied)."""
        return sum(v.nbytes for d in (self.before, self.after) for v in d.values() if isinstance(v, np.ndarray))


@dataclass
class History:
    """The undo and redo stacks of one :class:`ExplorationState`."""

    state: ExplorationState
    limit: int = LIMIT
    done: list = field(default_factory=list)
    undone: list = field(default_factory=list)
    #: True while a step is being undone or redone (setters called then are not recorded)
    replaying: bool = False

    def record(self, label: str, action: Callable[[], list], key: Optional[str] = None) -> list:
        """Run ``action`` (a state setter, returning its changes) as the step ``label``; its changes. An action
        that changed nothing undoable is no step; one with the ``key`` of the open step before it merges into it."""
        if self.replaying:
            return action()
        before = snapshot(self.state)
        changes = action()
        after = snapshot(self.state)
        diff = [name for name in UNDOABLE if not _same(before[name], after[name])]
        if not diff:
            return changes
        top = self.done[-1] if self.done else None
        if key is not None and top is not None and top.key == key and top.open:
            for name in diff:
                top.before.setdefault(name, before[name])
                top.after[name] = after[name]
            top.label = label
        else:
            self.done.append(Step(label, {n: before[n] for n in diff}, {n: after[n] for n in diff}, key))
            del self.done[:-self.limit]
        self.undone.clear()
        return changes

    def seal(self) -> None:
        """End the open step (a drag released): the next keyed action is a step of its own."""
        if self.done:
            self.done[-1].open = False

    def clear(self) -> None:
        self.done.clear()
        self.undone.clear()

    def undo_label(self) -> Optional[str]:
        return self.done[-1].label if self.done else None

    def redo_label(self) -> Optional[str]:
        return self.undone[-1].label if self.undone else None

    def undo(self) -> list:
        """Put back the state before the last step; the changes to announce (nothing when there is none)."""
        if not self.done:
            return []
        step = self.done.pop()
        step.open = False
        self.undone.append(step)
        return self._apply(step.before)

    def redo(self) -> list:
        """Do the last undone step again; the changes to announce."""
        if not self.undone:
            return []
        step = self.undone.pop()
        self.done.append(step)
        return self._apply(step.after)

    def _apply(self, values: dict) -> list:
        self.replaying = True
        try:
            for name, value in values.items():
                setattr(self.state, name, _copy(value))
            kinds = {UNDOABLE[name] for name in values}
            return [c for c in REPLAY_ORDER if c in kinds]
        finally:
            self.replaying = False

    def nbytes(self) -> int:
        return sum(s.nbytes() for s in self.done + self.undone)
