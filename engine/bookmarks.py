"""Bookmarks: named views of an exploration, kept in the state and in session files, restored in one click.

A :class:`Bookmark` holds what the user was looking at: the pair plot's axes and zoom (its view range), the
σ-levels, the current face and the selection (or the inspected photo), the inspector's edit, the sampler and its
fields, and the workspace. :func:`make` builds one from the state and the window's part (the same pieces a session
file keeps), :func:`restore` says what to set to go back to it (clipped to the state as it is now: a face that is no
longer there is not selected, an edit of another z size is dropped). :func:`to_json` / :func:`from_json` are its
session-file form, checked by :data:`SCHEMA` first.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Optional

import numpy as np

from .explore_state import ExplorationState, axis_label
from .formats.schema import Int, List, Num, Obj, Str

#: The longest bookmark name, and the most bookmarks a session keeps.
MAX_NAME, MAX_BOOKMARKS = 200, 1000
_MAX_FACES, _MAX_Z = 100_000, 8192
_FINITE = Num(lo=-1e12, hi=1e12)

#: One bookmark in a session file (``session.bookmarks[i]``).
SCHEMA = Obj({
    "name": Str(MAX_NAME), "view_range": List(_FINITE, 4), "levels": List(Num(above_lo=True, hi=100), 32),
    "current": Int(0, _MAX_FACES, null=True), "selected": List(Int(0, _MAX_FACES), _MAX_FACES),
    "photo_current": Int(0, 10_000, null=True), "edit": List(Num(lo=-1e6, hi=1e6), _MAX_Z),
    "sampler": Obj({"name": Str(64), "values": Obj({}), "n": Int(0, 1_000_000), "seed": Int(0, 2**32 - 1),
                    "where": Str(4096, null=True)}),
    "workspace": Str(64, null=True),
}, required=("name", "axes"))  # axes: [["pca", 2], ["z", 7]], checked by problem()


@dataclass(frozen=True)
class Bookmark:
    """A named view (immutable: renaming makes a new one, so undo keeps the old)."""

    name: str
    axes: tuple  # (("pca", 2), ("pca", 5))
    view_range: Optional[tuple] = None  # (x0, x1, y0, y1) of the pair plot, or None: the axes' default view
    levels: tuple = ()
    current: Optional[int] = None
    selected: tuple = ()
    photo_current: Optional[int] = None
    edit: Optional[np.ndarray] = field(default=None, compare=False)  # the inspector's edited z, or None
    sampler: Optional[dict] = field(default=None, compare=False)  # {"name", "values", "n", "seed", "where"}
    workspace: Optional[str] = None

    def renamed(self, name: str) -> "Bookmark":
        return replace(self, name=clean_name(name) or self.name)


def clean_name(name: str) -> str:
    """A name as kept: one line, printable, at most :data:`MAX_NAME` characters."""
    text = " ".join("".join(c if c.isprintable() else " " for c in str(name)).split())
    return text[:MAX_NAME]


def default_name(state: ExplorationState) -> str:
    """"PC3 × PC6, face 4" (or "…, photo me.jpg", "…, 5 faces")."""
    base = " × ".join(axis_label(a) for a in state.axes)
    photo = state.inspected_photo()
    if photo is not None:
        return f"{base}, photo {photo.name}"
    if state.current is None:
        return base
    if len(state.selected) > 1:
        return f"{base}, {len(state.selected)} faces"
    return f"{base}, face {state.current + 1}"


def make(state: ExplorationState, name: Optional[str] = None, *, view_range=None, levels=(), sampler=None,
         workspace: Optional[str] = None) -> Bookmark:
    """The bookmark of the state as it is now plus the window's part (the pair plot's view range, σ-levels, the
    sampler's fields, the workspace)."""
    edit = None if state.edited_z is None else np.asarray(state.edited_z, np.float32).copy()
    vr = None if view_range is None else tuple(float(v) for v in view_range)
    return Bookmark(clean_name(name) if name else default_name(state), tuple(state.axes), vr,
                    tuple(float(v) for v in levels), state.current, tuple(state.selected), state.photo_current,
                    edit, None if sampler is None else dict(sampler), workspace)


@dataclass
class Restore:
    """What to set to go back to a bookmark (each None: leave it as it is)."""

    axes: tuple
    view_range: Optional[tuple]
    levels: list
    current: Optional[int]
    selected: list
    photo_current: Optional[int]
    edit: Optional[np.ndarray]
    sampler: Optional[dict]
    workspace: Optional[str]


def restore(b: Bookmark, state: ExplorationState) -> Restore:
    """What ``b`` asks for, fitted to ``state``: axes within the model's z size, faces and photos that exist, an
    edit only of the model's z size."""
    d = state.model.z_dim if state.model is not None else None
    axes = tuple((k, i if d is None else min(i, d - 1)) for k, i in b.axes)
    n = 0 if state.sample is None else len(state.sample.z)
    current = b.current if b.current is not None and 0 <= b.current < n else None
    selected = [i for i in b.selected if 0 <= i < n]
    photo = b.photo_current if b.photo_current is not None and 0 <= b.photo_current < len(state.photos) else None
    edit = b.edit if b.edit is not None and (d is None or len(b.edit) == d) else None
    if (photo is None and b.photo_current is not None) or (current is None and photo is None):
        edit = None  # the edit was of a photo (or a face) that is gone
    return Restore(axes, b.view_range, list(b.levels), current, selected, photo, edit, b.sampler, b.workspace)


def to_json(b: Bookmark) -> dict:
    out: dict = {"name": b.name, "axes": [[str(k), int(i)] for k, i in b.axes], "levels": [float(v) for v in b.levels],
                 "current": b.current, "selected": [int(i) for i in b.selected], "photo_current": b.photo_current,
                 "workspace": b.workspace}
    if b.view_range is not None:
        out["view_range"] = [float(v) for v in b.view_range]
    if b.edit is not None:
        out["edit"] = [float(v) for v in np.asarray(b.edit, np.float32)]
    if b.sampler is not None:
        out["sampler"] = dict(b.sampler)
    return out


def from_json(rec: dict) -> Bookmark:
    """A bookmark from its session-file form (already checked against :data:`SCHEMA` and :func:`problem`)."""
    axes = tuple((str(k), int(i)) for k, i in rec["axes"])
    edit = rec.get("edit")
    vr = rec.get("view_range")
    return Bookmark(clean_name(rec["name"]), axes, None if vr is None else tuple(float(v) for v in vr),
                    tuple(float(v) for v in rec.get("levels") or ()), rec.get("current"),
                    tuple(int(i) for i in rec.get("selected") or ()), rec.get("photo_current"),
                    None if not edit else np.asarray(edit, np.float32), rec.get("sampler"), rec.get("workspace"))


def problem(rec: dict) -> Optional[str]:
    """What is wrong with a schema-checked bookmark beyond its fields' types (None: nothing)."""
    axes = rec["axes"]
    if not (isinstance(axes, list) and len(axes) == 2 and all(
            isinstance(a, list) and len(a) == 2 and a[0] in ("pca", "z") and isinstance(a[1], int)
            and not isinstance(a[1], bool) and 0 <= a[1] < _MAX_Z for a in axes)):
        return "axes must be two [\"pca\" or \"z\", an index] pairs"
    vr = rec.get("view_range")
    if vr is not None and (len(vr) != 4 or not (vr[0] < vr[1] and vr[2] < vr[3])):
        return "view_range must be [x0, x1, y0, y1] with x0 < x1 and y0 < y1"
    if not clean_name(rec["name"]):
        return "name must be printable text"
    return None
