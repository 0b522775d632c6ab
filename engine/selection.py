"""A selection of the training cloud: a boolean mask over the model's N z-points and how it was made.

The gestures of the plots (a box, a lasso or a polygon drawn on 2-D coordinates of the z-points, a range on one
component) each give a mask (:func:`from_box`, :func:`from_polygon`, :func:`from_range`); :func:`combine` puts it
together with the current selection (replace, add, subtract, intersect). :class:`CloudSelection` is the value the
exploration state keeps; what the linked views show of it (the selection's histogram beside the whole cloud's,
its attribute prevalence against the whole set, a spread of its members to show as faces) is computed here too,
each vectorised over all N points (202,599 points: a few milliseconds each). No Qt.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

#: How a new mask meets the current selection.
OPS = ("replace", "add", "subtract", "intersect")


def combine(current: Optional[np.ndarray], new: np.ndarray, op: str = "replace") -> np.ndarray:
    """The mask ``op`` makes of the current selection (None: nothing selected) and a new mask."""
    new = np.asarray(new, bool)
    if op not in OPS:
        raise ValueError(f"unknown selection operation {op!r} (one of {', '.join(OPS)})")
    if current is None or op == "replace":
        return new.copy() if op in ("replace", "add") else np.zeros_like(new)
    current = np.asarray(current, bool)
    if current.shape != new.shape:
        raise ValueError(f"a selection of {len(current)} points cannot meet one of {len(new)}")
    if op == "add":
        return current | new
    if op == "subtract":
        return current & ~new
    return current & new


def from_box(xy: np.ndarray, x0: float, x1: float, y0: float, y1: float) -> np.ndarray:
    """The points of ``xy`` (N, 2) inside the box (corners in any order, edges included)."""
    xy = np.asarray(xy)
    (x0, x1), (y0, y1) = sorted((x0, x1)), sorted((y0, y1))
    x, y = xy[:, 0], xy[:, 1]
    return (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)


class PointIndex:
    """Points (N, 2) sorted by y once, so that a polygon's even-odd test visits, for each edge, only the points in the
    edge's band of y (a lasso of k vertices: about 2N comparisons in all, not k·N). The points must not change."""

    def __init__(self, xy: np.ndarray) -> None:
        self.xy = np.asarray(xy)
        self.order = np.argsort(self.xy[:, 1], kind="stable")
        self.xs = np.ascontiguousarray(self.xy[self.order, 0], dtype=np.float64)
        self.ys = np.ascontiguousarray(self.xy[self.order, 1], dtype=np.float64)

    def __len__(self) -> int:
        return len(self.order)

    def polygon(self, vertices: Sequence) -> np.ndarray:
        """The mask (in the points' own order) of those inside the closed polygon (even-odd rule; < 3 vertices:
        nothing)."""
        v = _vertices(vertices)
        out = np.zeros(len(self.order), bool)
        if len(v) < 3:
            return out
        inside = np.zeros(len(self.order), bool)  # in y order
        for (ax, ay), (bx, by) in zip(v, np.roll(v, -1, axis=0)):
            if ay == by:
                continue
            i0, i1 = np.searchsorted(self.ys, (min(ay, by), max(ay, by)), side="left")
            if i1 > i0:
                y = self.ys[i0:i1]
                inside[i0:i1] ^= self.xs[i0:i1] < ax + (y - ay) * ((bx - ax) / (by - ay))
        out[self.order] = inside
        return out


def _vertices(vertices) -> np.ndarray:
    v = np.asarray(vertices, float).reshape(-1, 2)
    return v[np.all(np.isfinite(v), axis=1)]


def from_polygon(xy: np.ndarray, vertices: Sequence, index: Optional[PointIndex] = None) -> np.ndarray:
    """The points of ``xy`` (N, 2) inside the closed polygon ``vertices`` (a lasso's or a polygon's, (k, 2), k ≥ 3;
    fewer: nothing), by the even-odd rule. ``index``: a :class:`PointIndex` of the same ``xy``, kept by a caller that
    tests many polygons on the same points; without one, only the points in the polygon's bounding box are sorted."""
    if index is not None:
        return index.polygon(vertices)
    xy = np.asarray(xy)
    v = _vertices(vertices)
    out = np.zeros(len(xy), bool)
    if len(v) < 3:
        return out
    near = np.flatnonzero(from_box(xy, v[:, 0].min(), v[:, 0].max(), v[:, 1].min(), v[:, 1].max()))
    if len(near):
        out[near] = PointIndex(xy[near]).polygon(v)
    return out


def _inside_numpy(points: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The even-odd rule, edge by edge over every point (the reference the tests compare with)."""
    x, y = points[:, 0], points[:, 1]
    inside = np.zeros(len(points), bool)
    for (ax, ay), (bx, by) in zip(v, np.roll(v, -1, axis=0)):
        crosses = (ay > y) != (by > y)
        if ay != by:
            xs = ax + (y - ay) * (bx - ax) / (by - ay)
            inside ^= crosses & (x < xs)
    return inside


def from_range(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """The points whose value (one component, (N,)) lies in [lo, hi] (ends in any order)."""
    lo, hi = sorted((float(lo), float(hi)))
    values = np.asarray(values)
    return (values >= lo) & (values <= hi)


@dataclass(frozen=True)
class CloudSelection:
    """Selected training z-points: ``mask`` (N,) bool over the model's z-points, and ``how`` it was made (a line a
    view can show, e.g. "lasso on PC1 × PC2, then add box")."""

    mask: np.ndarray
    how: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "mask", np.asarray(self.mask, bool).reshape(-1))

    @property
    def n(self) -> int:
        """The number of z-points there are (selected or not)."""
        return len(self.mask)

    @property
    def count(self) -> int:
        return int(np.count_nonzero(self.mask))

    @property
    def indices(self) -> np.ndarray:
        return np.flatnonzero(self.mask)

    def __len__(self) -> int:
        return self.count

    def combined(self, new: np.ndarray, op: str, what: str) -> "CloudSelection":
        """This selection met by a new mask (``op``: one of :data:`OPS`), ``what`` naming the gesture."""
        how = what if op == "replace" or not self.how else f"{self.how}, then {op} {what}"
        return CloudSelection(combine(self.mask, new, op), how)

    def inverted(self) -> "CloudSelection":
        return CloudSelection(~self.mask, f"not ({self.how})" if self.how else "inverted")


def apply(current: Optional[CloudSelection], new: np.ndarray, op: str, what: str) -> CloudSelection:
    """The selection a gesture makes: ``new`` (a mask) met with ``current`` (None: nothing selected yet) by ``op``."""
    if current is None or len(current.mask) != len(new):
        return CloudSelection(combine(None, new, op), what)
    return current.combined(new, op, what)


def spread(mask: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """Up to ``k`` selected indices, drawn at random (the same for the same mask and seed), in increasing order:
    the members a view shows as faces."""
    idx = np.flatnonzero(np.asarray(mask, bool))
    if len(idx) <= k:
        return idx
    return np.sort(np.random.default_rng(seed).choice(idx, size=k, replace=False))


def histogram_pair(values: np.ndarray, mask: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Counts per bin of ``edges`` for the whole cloud and for the selection (two (len(edges)-1,) arrays)."""
    values, edges = np.asarray(values), np.asarray(edges, float)
    return np.histogram(values, bins=edges)[0], np.histogram(values[np.asarray(mask, bool)], bins=edges)[0]


@dataclass(frozen=True)
class Prevalence:
    """Each attribute's share of "present" among the selection and among the whole set (known values only)."""

    names: list
    selected: np.ndarray  # (A,) in [0, 1]; NaN where the selection has no known value
    overall: np.ndarray  # (A,)
    count: int  # the selection's size

    def ranked(self) -> list[int]:
        """Attribute indices, the largest difference between the selection and the whole set first."""
        diff = np.nan_to_num(np.abs(self.selected - self.overall), nan=-1.0)
        return [int(i) for i in np.argsort(-diff, kind="stable")]


@dataclass(frozen=True)
class LabelMatrix:
    """What a selection's prevalence needs of an attribute table, computed once per table: per attribute, "present"
    (above its threshold) and "known" (a value given) as packed bits over the N z-points ((A, ⌈N/8⌉) uint8), and
    the whole set's shares. A selection's counts are then a bitwise AND and a popcount (≈ 1 ms at 202,599 × 40)."""

    names: list
    present: np.ndarray
    known: np.ndarray
    overall: np.ndarray
    n: int

    @classmethod
    def of(cls, present: np.ndarray, known: np.ndarray, names: Sequence[str]) -> "LabelMatrix":
        known = np.asarray(known, bool)
        present = np.asarray(present, bool) & known
        with np.errstate(invalid="ignore", divide="ignore"):
            overall = present.sum(axis=0) / known.sum(axis=0)
        return cls(list(names), np.packbits(present.T, axis=1), np.packbits(known.T, axis=1), overall.astype(float),
                   len(present))


def _ones(bits: np.ndarray, packed_mask: np.ndarray) -> np.ndarray:
    """Per row of ``bits`` (A, B) packed, the number of bits set in both it and ``packed_mask`` (B,)."""
    both = bits & packed_mask[None, :]
    if hasattr(np, "bitwise_count"):  # numpy ≥ 2
        return np.bitwise_count(both).sum(axis=1, dtype=np.int64)
    return np.unpackbits(both, axis=1).sum(axis=1, dtype=np.int64)


def prevalence(matrix: LabelMatrix, mask: np.ndarray) -> Prevalence:
    """The share of "present" per attribute in the selection (known values only) and in the whole set."""
    mask = np.asarray(mask, bool)
    if len(mask) != matrix.n:
        raise ValueError(f"a selection of {len(mask)} points for labels of {matrix.n}")
    packed = np.packbits(mask)
    with np.errstate(invalid="ignore", divide="ignore"):
        sel = _ones(matrix.present, packed) / _ones(matrix.known, packed)
    return Prevalence(list(matrix.names), sel.astype(float), matrix.overall, int(np.count_nonzero(mask)))


def label_matrix(labels) -> LabelMatrix:
    """The :class:`LabelMatrix` of an ``engine.attributes.AttributeTable``."""
    vals = np.asarray(labels.values, np.float32)
    known = np.isfinite(vals)
    thresholds = np.array([labels.threshold(n) for n in labels.names], np.float32)
    with np.errstate(invalid="ignore"):
        present = known & (vals > thresholds[None, :])
    return LabelMatrix.of(present, known, labels.names)
