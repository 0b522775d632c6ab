"""The face atlas: what the decoder makes of every place of a plane through the latent space.

A *plane* is given by two axes — ``("z", i)`` (original component i), ``("pca", k)`` (principal
component k, 0-based) or an arbitrary direction (a d-vector, or ``("dir", vector)`` / ``("dir",
vector, label)``; it is normalised to unit length) — and a *base* z-vector that fixes every other
coordinate: the cloud's centre by default, or any z (the inspected face).

Coordinates are the pair plot's (``latent_stats.project``): ``coord = z·w − offset`` with ``w`` the axis
vector and ``offset`` 0 for ``z`` axes and ``mean·w`` for principal axes and directions (measured from
the cloud's centre). The z-vector of a plane point (x, y) is

    z(x, y) = base + W (WᵀW)⁻¹ ((x, y) − coords(base)),      W = [w₁ w₂]  (d×2)

— the smallest (Euclidean) change of ``base`` that lands exactly on (x, y): everything of ``base``
outside the plane's span is kept. For two orthonormal axes (two PCs, two z-components) this is
``base + (x − x_b)·w₁ + (y − y_b)·w₂``. :func:`z_at` gives that z for one point (click to decode),
:func:`atlas` for a rows×cols grid of cell centres, decoded in one batch.

Mahalanobis distances are measured to the training cloud with the statistics' own whitening
(:func:`latent_stats.whitening_from_eigen` of the PCA — the numbers of the normality check).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence, Union

import numpy as np

from .errors import EngineError
from .progress import CancelToken, Progress, ProgressCallback, no_progress

#: The most cells one atlas decodes (e.g. 64×64).
MAX_CELLS = 4096
MAX_SIDE = 64

AxisSpec = Union[tuple, np.ndarray, Sequence[float]]


# ----------------------------------------------------------------------------------------------
# axes and planes


@dataclass
class PlaneAxis:
    """One axis of a plane: coord(z) = z·vector − offset."""

    kind: str  # "z", "pca" or "dir"
    index: Optional[int]  # component / principal axis (None for a direction)
    vector: np.ndarray  # (d,) float64, unit length
    offset: float
    label: str

    @property
    def spec(self):
        """The axis as latent_stats / the GUI name it (("z", i), ("pca", k)), or the direction vector."""
        return (self.kind, self.index) if self.kind in ("z", "pca") else self.vector.copy()

    def to_json(self) -> dict:
        out: dict[str, Any] = {"kind": self.kind, "label": self.label, "offset": self.offset}
        if self.index is not None:
            out["index"] = self.index
        else:
            out["vector"] = [float(v) for v in self.vector]
        return out


def axis_label(axis) -> str:
    """``z12``, ``PC3`` (1-based, as the GUI shows it), or a direction's label."""
    if isinstance(axis, PlaneAxis):
        return axis.label
    if isinstance(axis, tuple) and len(axis) >= 2 and axis[0] in ("z", "pca"):
        return f"PC{int(axis[1]) + 1}" if axis[0] == "pca" else f"z{int(axis[1])}"
    if isinstance(axis, tuple) and len(axis) == 3 and axis[0] == "dir":
        return str(axis[2])
    return "direction"


def plane_axis(stats, axis: AxisSpec, name: str = "axis") -> PlaneAxis:
    """The axis vector and offset of ``axis`` for the cloud ``stats`` (an ``engine.latent_stats.LatentStats``)."""
    from .latent_stats import _axis_vector

    d = int(stats.z_dim)
    if isinstance(axis, PlaneAxis):
        return axis
    if isinstance(axis, tuple) and len(axis) == 2 and isinstance(axis[0], str) and axis[0] in ("z", "pca"):
        kind, i = axis
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
            raise EngineError(f"{name} {kind}{i!r}: the index must be a whole number")
        if not 0 <= int(i) < d:
            hint = f"PC1…PC{d} (0-based {0}…{d - 1})" if kind == "pca" else f"z0…z{d - 1}"
            raise EngineError(f"{name} {axis_label(axis)}: out of range; this model has {hint}")
        w, off = _axis_vector(stats, (kind, int(i)))
        return PlaneAxis(kind, int(i), np.asarray(w, np.float64), float(off), axis_label(axis))
    label = "direction"
    if isinstance(axis, tuple) and len(axis) in (2, 3) and isinstance(axis[0], str):
        if axis[0] != "dir":
            raise EngineError(f"{name} {axis[0]!r}: an axis is ('z', i), ('pca', k) or a direction vector")
        if len(axis) == 3:
            label = str(axis[2])
        axis = axis[1]
    try:
        v = np.asarray(axis, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise EngineError(f"{name}: an axis is ('z', i), ('pca', k) or a direction vector of {d} numbers") from None
    if v.shape != (d,):
        raise EngineError(f"{name}: a direction must have {d} components (the model's z_dim), got {v.size}")
    norm = float(np.linalg.norm(v))
    if not np.isfinite(v).all() or norm == 0:
        raise EngineError(f"{name}: a direction must be finite and non-zero")
    v = v / norm
    return PlaneAxis("dir", None, v, float(np.asarray(stats.mean, np.float64) @ v), label)


@dataclass
class Plane:
    """Two axes and the base z that holds every other coordinate."""

    x: PlaneAxis
    y: PlaneAxis
    base: np.ndarray  # (d,) float64
    base_kind: str = "centre"  # "centre" or "z" (a given z-vector)
    _lift: np.ndarray = field(default=None, repr=False)  # (2, d): W (WᵀW)⁻¹, transposed

    def __post_init__(self) -> None:
        W = np.stack([self.x.vector, self.y.vector], axis=1)  # d×2
        G = W.T @ W
        if abs(np.linalg.det(G)) < 1e-10:
            raise EngineError(f"axes {self.x.label} and {self.y.label}: the two axes are the same (or parallel); "
                              "a plane needs two different directions")
        self._lift = (W @ np.linalg.inv(G)).T

    @property
    def axes(self) -> tuple:
        return (self.x.spec, self.y.spec)

    @property
    def labels(self) -> tuple[str, str]:
        return (self.x.label, self.y.label)

    def coords(self, z: np.ndarray) -> np.ndarray:
        """(N, 2) plane coordinates of z-vectors (N×d) — the same numbers as ``latent_stats.project``."""
        z = np.atleast_2d(np.asarray(z, dtype=np.float64))
        return np.stack([z @ self.x.vector - self.x.offset, z @ self.y.vector - self.y.offset], axis=1)

    @property
    def base_coords(self) -> np.ndarray:
        return self.coords(self.base)[0]

    def lift(self, xy: np.ndarray) -> np.ndarray:
        """(N, 2) plane coordinates → (N, d) float64 z-vectors (see the module docstring)."""
        xy = np.atleast_2d(np.asarray(xy, dtype=np.float64))
        return self.base[None, :] + (xy - self.base_coords[None, :]) @ self._lift

    def to_json(self) -> dict:
        return {"x": self.x.to_json(), "y": self.y.to_json(), "base": self.base_kind}


def make_plane(stats, x: AxisSpec, y: AxisSpec, base_z: Optional[np.ndarray] = None) -> Plane:
    """A plane through ``base_z`` (default: the cloud's centre, ``stats.mean``) spanned by two axes."""
    ax = plane_axis(stats, x, "x axis")
    ay = plane_axis(stats, y, "y axis")
    d = int(stats.z_dim)
    if base_z is None:
        base, kind = np.asarray(stats.mean, np.float64).copy(), "centre"
    else:
        base = np.asarray(base_z, dtype=np.float64).ravel()
        if base.shape != (d,):
            raise EngineError(f"base z: must have {d} components (the model's z_dim), got {base.size}")
        if not np.isfinite(base).all():
            raise EngineError("base z: holds a NaN or infinite value")
        kind = "z"
    return Plane(ax, ay, base, kind)


# ----------------------------------------------------------------------------------------------
# distances to the cloud


class CloudMetric:
    """Mahalanobis distance and Gaussian log-density of z-vectors under the cloud's fitted Gaussian
    (mean and covariance of ``stats``; whitening from its PCA, as the normality check does)."""

    def __init__(self, stats) -> None:
        from .latent_stats import whitening_from_eigen

        self.mean = np.asarray(stats.mean, np.float64)
        var = np.asarray(stats.pca.explained_variance, np.float64)
        self.W, self.R = whitening_from_eigen(var, np.asarray(stats.pca.components, np.float64).T)
        # log det Σ with the same floored eigenvalues as W (W = V λ^-½ ⇒ |col_k| = λ_k^-½)
        lam = 1.0 / np.sum(self.W * self.W, axis=0)
        self.logdet = float(np.sum(np.log(lam)))
        self.d = len(self.mean)

    def whiten(self, z: np.ndarray) -> np.ndarray:
        return (np.atleast_2d(np.asarray(z, np.float64)) - self.mean) @ self.W

    def colour(self, u: np.ndarray) -> np.ndarray:
        return self.mean + np.atleast_2d(np.asarray(u, np.float64)) @ self.R

    def mahalanobis(self, z: np.ndarray) -> np.ndarray:
        """(N,) Mahalanobis distance (not squared) of each row of z to the cloud."""
        y = self.whiten(z)
        return np.sqrt(np.einsum("ij,ij->i", y, y))

    def log_density(self, z: np.ndarray) -> np.ndarray:
        """(N,) log N(z; mean, Σ) in nats."""
        m = self.mahalanobis(z)
        return -0.5 * (m * m + self.logdet + self.d * math.log(2.0 * math.pi))


_METRICS: dict = {}


def cloud_metric(stats) -> CloudMetric:
    """The (cached) :class:`CloudMetric` of ``stats``."""
    key = id(stats)
    hit = _METRICS.get(key)
    if hit is not None and hit[0] is stats:
        return hit[1]
    m = CloudMetric(stats)
    if len(_METRICS) > 4:
        _METRICS.pop(next(iter(_METRICS)))
    _METRICS[key] = (stats, m)
    return m


# ----------------------------------------------------------------------------------------------
# click to decode


@dataclass
class DecodedPoint:
    xy: np.ndarray  # (2,) the plane coordinate asked for
    z: np.ndarray  # (d,) float32: exactly what was decoded
    image: Optional[np.ndarray]  # S×S×3 uint8
    mahalanobis: float  # distance to the cloud (σ units of the fitted Gaussian)
    log_density: float


def _check_point(point) -> np.ndarray:
    try:
        p = np.asarray(point, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise EngineError("point: must be two numbers (x, y)") from None
    if p.shape != (2,) or not np.isfinite(p).all():
        raise EngineError(f"point: must be two finite numbers (x, y), got {point!r}")
    return p


def z_at(point, plane: Plane, base_z: Optional[np.ndarray] = None, stats=None) -> np.ndarray:
    """The z-vector (float32, (d,)) at plane coordinate ``point`` = (x, y): on the plane's axes exactly
    ``point``, every other coordinate that of ``base_z`` (default: the plane's base). ``stats`` is needed
    only when ``base_z`` is given (to rebuild the plane through it)."""
    p = _check_point(point)
    if base_z is not None:
        if stats is None:
            plane = Plane(plane.x, plane.y, _base_vector(base_z, len(plane.base)), "z")
        else:
            plane = make_plane(stats, plane.x, plane.y, base_z)
    return plane.lift(p[None, :])[0].astype(np.float32)


def _base_vector(base_z, d: int) -> np.ndarray:
    base = np.asarray(base_z, dtype=np.float64).ravel()
    if base.shape != (d,) or not np.isfinite(base).all():
        raise EngineError(f"base z: must be {d} finite numbers (the model's z_dim)")
    return base


def decode_at(codec, stats, plane: Plane, point, *, decode: bool = True) -> DecodedPoint:
    """Click to decode: the z at ``point``, its face (one decode), its Mahalanobis distance and log-density."""
    z = z_at(point, plane)
    img = codec.decode(z[None, :])[0] if decode else None
    metric = cloud_metric(stats)
    m = float(metric.mahalanobis(z[None, :])[0])
    ld = float(metric.log_density(z[None, :])[0])
    return DecodedPoint(_check_point(point), z, img, m, ld)


# ----------------------------------------------------------------------------------------------
# the atlas


@dataclass
class Atlas:
    plane: Plane
    extent: tuple[float, float, float, float]  # (x0, x1, y0, y1) in plane coordinates
    rows: int
    cols: int
    xs: np.ndarray  # (cols,) cell-centre x, left to right
    ys: np.ndarray  # (rows,) cell-centre y, top to bottom (row 0 = largest y, as drawn)
    z: np.ndarray  # (rows·cols, d) float32, row-major: cell (r, c) is z[r·cols + c]
    images: Optional[np.ndarray]  # (rows·cols, S, S, 3) uint8, or None when not decoded
    mahalanobis: np.ndarray  # (rows, cols)
    log_density: np.ndarray  # (rows, cols)
    decode_s: float = 0.0

    def cell(self, r: int, c: int) -> int:
        return int(r) * self.cols + int(c)

    def cell_xy(self, r: int, c: int) -> np.ndarray:
        return np.array([self.xs[c], self.ys[r]])

    def mosaic(self, gap: int = 0, fill: int = 255) -> np.ndarray:
        """The faces tiled as one image (rows·S + gaps) × (cols·S + gaps) × 3, row 0 on top."""
        if self.images is None:
            raise EngineError("atlas: the faces were not decoded")
        s = self.images.shape[1]
        h = self.rows * s + (self.rows - 1) * gap
        w = self.cols * s + (self.cols - 1) * gap
        out = np.full((h, w, 3), fill, np.uint8)
        for k in range(self.rows * self.cols):
            r, c = divmod(k, self.cols)
            out[r * (s + gap): r * (s + gap) + s, c * (s + gap): c * (s + gap) + s] = self.images[k]
        return out

    def to_json(self) -> dict:
        return {"plane": self.plane.to_json(), "extent": [float(e) for e in self.extent], "rows": self.rows,
                "cols": self.cols, "x_centres": [float(v) for v in self.xs], "y_centres": [float(v) for v in self.ys],
                "mahalanobis": np.round(self.mahalanobis, 6).tolist(),
                "log_density": np.round(self.log_density, 6).tolist()}


def default_extent(stats, plane: Plane, sigmas: float = 3.0) -> tuple[float, float, float, float]:
    """±``sigmas`` standard deviations of the cloud along each axis, around the cloud's centre."""
    from .latent_stats import pair_moments

    if plane.x.kind != "dir" and plane.y.kind != "dir":
        mean2, cov2 = pair_moments(stats, plane.axes)
    else:
        W = np.stack([plane.x.vector, plane.y.vector], axis=1)
        mean2 = np.asarray(stats.mean, np.float64) @ W - np.array([plane.x.offset, plane.y.offset])
        cov2 = W.T @ np.asarray(stats.cov, np.float64) @ W
    sd = np.sqrt(np.maximum(np.diag(cov2), 1e-12))
    return (float(mean2[0] - sigmas * sd[0]), float(mean2[0] + sigmas * sd[0]),
            float(mean2[1] - sigmas * sd[1]), float(mean2[1] + sigmas * sd[1]))


def check_grid(rows, cols) -> tuple[int, int]:
    for name, v in (("rows", rows), ("cols", cols)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 1 <= int(v) <= MAX_SIDE:
            raise EngineError(f"atlas {name}: must be a whole number 1…{MAX_SIDE}, got {v!r}")
    if int(rows) * int(cols) > MAX_CELLS:
        raise EngineError(f"atlas grid {rows}×{cols}: at most {MAX_CELLS} cells")
    return int(rows), int(cols)


def check_extent(extent) -> tuple[float, float, float, float]:
    try:
        e = [float(v) for v in extent]
    except (TypeError, ValueError):
        raise EngineError(f"atlas extent: must be four numbers (x0, x1, y0, y1), got {extent!r}") from None
    if len(e) != 4 or not all(math.isfinite(v) for v in e):
        raise EngineError(f"atlas extent: must be four finite numbers (x0, x1, y0, y1), got {extent!r}")
    if not (e[1] > e[0] and e[3] > e[2]):
        raise EngineError(f"atlas extent {tuple(e)}: needs x0 < x1 and y0 < y1")
    return tuple(e)  # type: ignore[return-value]


def atlas_grid(plane: Plane, extent, rows: int, cols: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(xs, ys, z) of the cell centres: xs (cols,), ys (rows,) top to bottom, z (rows·cols, d) float32."""
    rows, cols = check_grid(rows, cols)
    x0, x1, y0, y1 = check_extent(extent)
    xs = x0 + (np.arange(cols) + 0.5) * (x1 - x0) / cols
    ys = y1 - (np.arange(rows) + 0.5) * (y1 - y0) / rows
    gx, gy = np.meshgrid(xs, ys)  # (rows, cols)
    z = plane.lift(np.stack([gx.ravel(), gy.ravel()], axis=1)).astype(np.float32)
    return xs, ys, z


def atlas(codec, stats, x: AxisSpec = ("pca", 0), y: AxisSpec = ("pca", 1), *, rows: int = 16, cols: int = 16,
          extent=None, base_z: Optional[np.ndarray] = None, plane: Optional[Plane] = None, decode: bool = True,
          progress: ProgressCallback = no_progress, cancel: Optional[CancelToken] = None) -> Atlas:
    """Decode a rows×cols grid of faces over ``extent`` = (x0, x1, y0, y1) of the plane (x, y) through
    ``base_z`` (default: the cloud's centre; default extent ±3σ of the cloud along each axis). The faces
    are decoded in one batch (``codec.decode``); ``Atlas.z`` holds exactly the vectors decoded."""
    import time

    cancel = cancel or CancelToken()
    if plane is None:
        plane = make_plane(stats, x, y, base_z)
    if extent is None:
        extent = default_extent(stats, plane)
    xs, ys, z = atlas_grid(plane, extent, rows, cols)
    metric = cloud_metric(stats)
    maha = metric.mahalanobis(z).reshape(rows, cols)
    logd = metric.log_density(z).reshape(rows, cols)
    cancel.raise_if_cancelled()
    t0 = time.perf_counter()
    images = None
    if decode:
        progress(Progress("atlas", 0, len(z), "decoding the atlas"))
        images = codec.decode(z, batch_size=max(len(z), 1), cancel=cancel)
        progress(Progress("atlas", len(z), len(z), "decoding the atlas"))
    return Atlas(plane, check_extent(extent), int(rows), int(cols), xs, ys, z, images, maha, logd,
                 time.perf_counter() - t0)
