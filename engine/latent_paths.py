"""Paths through the latent space: between two z-vectors, along a polyline in a plane, or a sweep
along one axis — N points, their Mahalanobis distance and log-density under the cloud's fitted
Gaussian, and the decoded strip.

Interpolation between two z-vectors ``a`` and ``b`` (t = 0 … 1, N points evenly spaced in t):

* ``linear``: z(t) = (1 − t)·a + t·b — the straight line (the ``path`` sampler's, seed part VI).
* ``spherical`` ("along the ellipse"): in whitened coordinates u = (z − μ)·W (the cloud's fitted
  Gaussian becomes the unit sphere; W from :class:`engine.atlas.CloudMetric`, the normality check's
  whitening), the direction is slerped on the unit sphere and the radius interpolated linearly:

      u(t) = ((1 − t)·|u_a| + t·|u_b|) · slerp(û_a, û_b, t),
      slerp(p, q, t) = sin((1 − t)Ω)/sin Ω · p + sin(tΩ)/sin Ω · q,   cos Ω = p·q,

  then z(t) = μ + u(t)·R. The Mahalanobis distance thus changes linearly from one end to the other
  (it does not dip towards the centre, where no real face lies in 256 dimensions), and the path
  follows the cloud's ellipsoidal shells. When either end sits at the centre (|u| = 0) or the two
  directions coincide the path is the straight one; opposite directions (Ω = π) have no unique
  great circle and are refused.

The first and last points are exactly ``a`` and ``b`` (the two faces), whatever rounding the whitening
round trip does in between.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .atlas import Plane, cloud_metric, plane_axis
from .errors import EngineError
from .progress import CancelToken, Progress, ProgressCallback, no_progress

METHODS = ("linear", "spherical")
MAX_POINTS = 100_000
#: Faces decoded at a time along a path (bounded memory for long movies).
DECODE_BATCH = 64


@dataclass
class LatentPath:
    z: np.ndarray  # (N, d) float32: exactly the vectors decoded
    t: np.ndarray  # (N,) position along the path, 0 … 1
    method: str
    mahalanobis: np.ndarray  # (N,) distance to the cloud (σ of the fitted Gaussian)
    log_density: np.ndarray  # (N,) log N(z; μ, Σ), nats
    xy: Optional[np.ndarray] = None  # (N, 2) plane coordinates when the path lies in a plane
    images: Optional[np.ndarray] = None  # (N, S, S, 3) uint8 once decoded

    def __len__(self) -> int:
        return len(self.z)

    def strip(self, gap: int = 2, fill: int = 255) -> np.ndarray:
        """The decoded faces side by side (one row)."""
        if self.images is None:
            raise EngineError("path: the faces were not decoded")
        n, s = len(self.images), self.images.shape[1]
        out = np.full((s, n * s + (n - 1) * gap, 3), fill, np.uint8)
        for i, img in enumerate(self.images):
            out[:, i * (s + gap): i * (s + gap) + s] = img
        return out

    def to_json(self) -> dict:
        out = {"method": self.method, "t": np.round(self.t, 9).tolist(),
               "mahalanobis": np.round(self.mahalanobis, 6).tolist(),
               "log_density": np.round(self.log_density, 6).tolist()}
        if self.xy is not None:
            out["xy"] = np.round(self.xy, 6).tolist()
        return out


def check_points(n, label: str = "points") -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 2 <= int(n) <= MAX_POINTS:
        raise EngineError(f": must be a whole number 2…{MAX_POINTS:,}, got {n!r}", param=label)
    return int(n)


def check_method(method: str) -> str:
    if method not in METHODS:
        raise EngineError(f"path method {method!r}: choose one of {', '.join(METHODS)}")
    return method


def _z_vector(v, d: int, label: str) -> np.ndarray:
    try:
        z = np.asarray(v, dtype=np.float32).ravel()
    except (TypeError, ValueError):
        raise EngineError(f": must be a z-vector of {d} numbers", param=label) from None
    if z.shape != (d,):
        raise EngineError(f": must be a z-vector of {d} numbers (the model's z_dim), got {z.size}", param=label)
    if not np.isfinite(z).all():
        raise EngineError(": holds a NaN or infinite value", param=label)
    return z


def slerp_whitened(ua: np.ndarray, ub: np.ndarray, t: np.ndarray) -> np.ndarray:
    """(N, d) whitened points from ``ua`` to ``ub``: slerped direction, linearly interpolated radius."""
    t = np.asarray(t, np.float64)[:, None]
    ra, rb = float(np.linalg.norm(ua)), float(np.linalg.norm(ub))
    if ra < 1e-12 or rb < 1e-12:
        return (1.0 - t) * ua + t * ub
    p, q = ua / ra, ub / rb
    cos = float(np.clip(p @ q, -1.0, 1.0))
    omega = math.acos(cos)
    if omega < 1e-7:
        direction = (1.0 - t) * p + t * q
        direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    elif math.pi - omega < 1e-6:
        raise EngineError("path: the two faces lie in opposite directions from the cloud's centre; the spherical "
                          "path is not unique there — use the linear path")
    else:
        s = math.sin(omega)
        direction = (np.sin((1.0 - t) * omega) / s) * p + (np.sin(t * omega) / s) * q
    return ((1.0 - t) * ra + t * rb) * direction


def _finish(stats, z: np.ndarray, t: np.ndarray, method: str, plane: Optional[Plane]) -> LatentPath:
    metric = cloud_metric(stats)
    xy = plane.coords(z) if plane is not None else None
    return LatentPath(z, t, method, metric.mahalanobis(z), metric.log_density(z), xy)


def interpolate(stats, a, b, n: int = 9, method: str = "linear", *, plane: Optional[Plane] = None) -> LatentPath:
    """N points from z-vector ``a`` to ``b`` (see the module docstring); ``z[0] == a``, ``z[-1] == b``."""
    d = int(stats.z_dim)
    n = check_points(n)
    check_method(method)
    a = _z_vector(a, d, "path start")
    b = _z_vector(b, d, "path end")
    t = np.linspace(0.0, 1.0, n)
    if method == "linear":
        z = (1.0 - t[:, None]) * a.astype(np.float64) + t[:, None] * b.astype(np.float64)
    else:
        metric = cloud_metric(stats)
        u = slerp_whitened(metric.whiten(a)[0], metric.whiten(b)[0], t)
        z = metric.colour(u)
    z = z.astype(np.float32)
    z[0], z[-1] = a, b  # exactly the two faces
    return _finish(stats, z, t, method, plane)


def polyline(stats, plane: Plane, vertices, n: int = 9) -> LatentPath:
    """N points evenly spaced (by length in the plane's coordinates) along the polyline ``vertices``
    ((k ≥ 2, 2) plane coordinates), lifted into z through the plane's base (``Plane.lift``)."""
    n = check_points(n)
    try:
        v = np.asarray(vertices, dtype=np.float64)
    except (TypeError, ValueError):
        raise EngineError("path vertices: must be a list of (x, y) points") from None
    if v.ndim != 2 or v.shape[1] != 2 or len(v) < 2:
        raise EngineError(f"path vertices: need at least 2 points (x, y), got shape {list(v.shape)}")
    if not np.isfinite(v).all():
        raise EngineError("path vertices: hold a NaN or infinite value")
    seg = np.linalg.norm(np.diff(v, axis=0), axis=1)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    total = float(cum[-1])
    if total <= 0:
        raise EngineError("path vertices: all points are the same; draw a line of some length")
    s = np.linspace(0.0, total, n)
    xy = np.stack([np.interp(s, cum, v[:, 0]), np.interp(s, cum, v[:, 1])], axis=1)
    xy[0], xy[-1] = v[0], v[-1]
    z = plane.lift(xy).astype(np.float32)
    return _finish(stats, z, s / total, "polyline", plane)


def axis_sweep(stats, axis, lo: float = -3.0, hi: float = 3.0, n: int = 9, *, base_z=None) -> LatentPath:
    """A slider sweep: N points along one axis (("z", i), ("pca", k) or a direction) from ``lo`` to ``hi``
    standard deviations of the cloud along it — around the cloud's centre, or around ``base_z`` (the
    inspector's sliders: base + s·σ·w) with every other coordinate of ``base_z`` held."""
    n = check_points(n)
    for name, v in (("range start", lo), ("range end", hi)):
        if not isinstance(v, (int, float, np.floating, np.integer)) or not math.isfinite(float(v)):
            raise EngineError(f"sweep {name}: must be a finite number of σ, got {v!r}")
    if float(lo) == float(hi):
        raise EngineError(f"sweep range {lo}:{hi}: start and end are the same")
    ax = plane_axis(stats, axis, "sweep axis")
    sd = float(np.sqrt(max(ax.vector @ np.asarray(stats.cov, np.float64) @ ax.vector, 0.0)))
    if sd <= 0:
        raise EngineError(f"sweep axis {ax.label}: the cloud does not vary along it (σ = 0)")
    steps = np.linspace(float(lo), float(hi), n)
    if base_z is None:
        origin = np.asarray(stats.mean, np.float64)
    else:
        origin = _z_vector(base_z, int(stats.z_dim), "base z").astype(np.float64)
    z = (origin[None, :] + (steps * sd)[:, None] * ax.vector[None, :]).astype(np.float32)
    path = _finish(stats, z, (steps - steps[0]) / (steps[-1] - steps[0]), f"sweep {ax.label}", None)
    path.xy = np.stack([steps, np.zeros(n)], axis=1)  # σ along the axis
    return path


def decode_path(codec, path: LatentPath, *, batch: int = DECODE_BATCH, progress: ProgressCallback = no_progress,
                cancel: Optional[CancelToken] = None) -> LatentPath:
    """Decode the path's faces ``batch`` at a time into ``path.images`` (and return the path)."""
    cancel = cancel or CancelToken()
    out = np.empty((len(path.z), codec.image_size, codec.image_size, 3), np.uint8)
    for i in range(0, len(path.z), batch):
        cancel.raise_if_cancelled()
        out[i: i + batch] = codec.decode(path.z[i: i + batch], batch_size=batch)
        progress(Progress("decode path", min(len(path.z), i + batch), len(path.z), "decoding the path"))
    path.images = out
    return path


def parse_range(text: str, label: str = "range") -> tuple[float, float]:
    """``"-3:3"`` → (-3.0, 3.0)."""
    parts = str(text).split(":")
    try:
        lo, hi = (float(p) for p in parts)
    except ValueError:
        raise EngineError(f"{text!r}: expected START:STOP in σ, e.g. -3:3", param=label) from None
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo == hi:
        raise EngineError(f"{text!r}: needs two different finite numbers, e.g. -3:3", param=label)
    return lo, hi


def parse_axis(text: str, z_dim: int, label: str = "axis") -> tuple[str, int]:
    """``"PC1"`` → ("pca", 0) (1-based as shown), ``"z12"`` → ("z", 12)."""
    s = str(text).strip()
    low = s.lower()
    try:
        if low.startswith("pc"):
            k = int(s[2:]) - 1
            if not 0 <= k < z_dim:
                raise EngineError(f"{text}: out of range; this model has PC1…PC{z_dim}", param=label)
            return ("pca", k)
        if low.startswith("z"):
            i = int(s[1:])
            if not 0 <= i < z_dim:
                raise EngineError(f"{text}: out of range; this model has z0…z{z_dim - 1}", param=label)
            return ("z", i)
    except ValueError:
        pass
    raise EngineError(f"{text!r}: expected PC1…PC{z_dim} or z0…z{z_dim - 1}", param=label)


def parse_endpoint(text: str, latents: Optional[np.ndarray], z_dim: int, label: str = "from") -> np.ndarray:
    """A path end as the user names it: a training z-point's row (``123``: row of latents.npy), or a
    ``.npy`` file holding one z-vector or N of them (``FILE.npy:ROW``, default row 0) — e.g. a face saved
    from the inspector (``.z.npy``) or an image set's ``z.npy``."""
    s = str(text).strip()
    if s.isdigit():
        if latents is None:
            raise EngineError(f"{s}: this model has no z-points (encode a dataset first)", param=label)
        i = int(s)
        if i >= len(latents):
            raise EngineError(f"{s}: out of range; there are {len(latents)} training z-points (0…{len(latents) - 1})", param=label)
        return np.asarray(latents[i], np.float32)
    path, row = s, 0
    head, sep, tail = s.rpartition(":")
    if sep and tail.isdigit() and head.endswith(".npy"):
        path, row = head, int(tail)
    from pathlib import Path

    p = Path(path)
    if p.suffix != ".npy":
        raise EngineError(f"{text!r}: expected a training z-point's row number or a .npy file of z-vectors", param=label)
    if not p.is_file():
        raise EngineError(f"{p}: no such file", param=label)
    if p.stat().st_size > 512 * 2**20:
        raise EngineError(f"{p}: far too large for a file of z-vectors", param=label)
    from .npy_files import check_npy_header

    check_npy_header(p, param=label)  # declared sizes before numpy allocates them
    try:
        arr = np.load(p, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise EngineError(f"{p}: not a readable .npy array ({exc})", param=label) from None
    arr = np.asarray(arr)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != z_dim or not np.issubdtype(arr.dtype, np.number):
        raise EngineError(f"{p}: holds an array of shape {list(arr.shape)}, not z-vectors of {z_dim}", param=label)
    if row >= len(arr):
        raise EngineError(f"{text}: row {row} is out of range; the file holds {len(arr)} z-vectors", param=label)
    z = arr[row].astype(np.float32)
    if not np.isfinite(z).all():
        raise EngineError(f"{text}: holds a NaN or infinite value", param=label)
    return z
