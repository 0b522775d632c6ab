"""One direction of the lab and its one unit.

Every direction is a z-space vector ``v`` scaled so that **one unit = one standard deviation of the
model's z-points along it** (:data:`UNIT_TEXT`): ``v = u·σ_u`` with ``u`` a unit vector and
``σ_u = sqrt(uᵀΣu)`` (Σ the cloud's covariance). Amount 2 therefore means "two σ of the cloud along this
direction" for every method, and ``direction.apply(z, a) = z + a·v``. (Attribute directions of
:mod:`engine.attributes` measure amounts in class-mean gaps instead; a :class:`Direction` made from one
records that gap in σ units as ``meta["class_gap_sigma"]``.)

Signs follow latent_stats' PCA convention: the largest-magnitude entry of ``u`` is positive (:func:`orient`).
The helpers here (:func:`check_z`, :func:`check_k`, :func:`cloud`, :func:`make`, …) are what a method of
:mod:`engine.lab.methods` builds its directions with.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from ..errors import EngineError

UNIT_TEXT = "one standard deviation of the model's z-points along the direction"


@dataclass
class Direction:
    """A z-space direction; one unit of amount = one standard deviation of the cloud along it."""

    name: str  # "pca 1", "ica 3", "Smiling", "Smiling | hold Male"
    method: str  # a name of the method registry (engine.lab.METHODS)
    vector: np.ndarray  # (d,) z units per unit of amount
    label: str = ""  # the attributes it moves most, e.g. "+Smiling 1.30, −Male 0.20" (set by naming)
    meta: dict = field(default_factory=dict)  # method facts (JSON-safe)
    origin: Optional[np.ndarray] = None  # the cloud mean, for coordinate(); not stored

    def __post_init__(self) -> None:
        self.vector = np.asarray(self.vector, dtype=np.float64).reshape(-1)

    @property
    def sigma(self) -> float:
        """z-units of one unit of amount (= the cloud's σ along the direction)."""
        return float(np.linalg.norm(self.vector))

    @property
    def unit(self) -> np.ndarray:
        n = self.sigma
        return self.vector / n if n > 0 else self.vector

    def apply(self, z: np.ndarray, amount: float) -> np.ndarray:
        return (np.asarray(z, dtype=np.float32) + np.float32(amount) * self.vector.astype(np.float32)).astype(np.float32)

    def coordinate(self, z: np.ndarray) -> np.ndarray:
        """The slider value of z-points: their offset from the cloud mean along the direction, in units."""
        z = np.atleast_2d(np.asarray(z, dtype=np.float64))
        o = self.origin if self.origin is not None else 0.0
        s = self.sigma
        return (z - o) @ self.unit / (s if s > 0 else 1.0)

    def to_json(self) -> dict:
        return {"name": self.name, "method": self.method, "label": self.label, "sigma": self.sigma,
                "meta": json_safe(self.meta)}


def json_safe(v):
    if isinstance(v, dict):
        return {str(k): json_safe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [json_safe(x) for x in v]
    if isinstance(v, (np.floating, float)):
        f = float(v)
        return f if math.isfinite(f) else None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, np.ndarray):
        return json_safe(v.tolist())
    return v


def cloud(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z = check_z(z)
    d = z.shape[1]
    return z.mean(axis=0), np.cov(z, rowvar=False).reshape(d, d)


def check_z(z) -> np.ndarray:
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 2 or len(z) < 3 or z.shape[1] < 1:
        raise EngineError(f"z-points: expected an N×d array with N ≥ 3, got shape {list(z.shape)}")
    if not np.isfinite(z).all():
        raise EngineError("z-points: hold NaN or Inf")
    return z


def check_k(k, d: int, limit: Optional[int] = None) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise EngineError(f"{k!r}: expected a whole number of directions", param="k")
    top = d if limit is None else min(d, limit)
    if not 1 <= int(k) <= top:
        raise EngineError(f"{k}: expected 1 to {top} directions (z_dim {d})", param="k")
    return int(k)


def orient(units: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, signed so that each row's largest-magnitude entry is positive."""
    u = np.atleast_2d(np.asarray(units, dtype=np.float64)).copy()
    norms = np.linalg.norm(u, axis=1, keepdims=True)
    u /= np.where(norms > 0, norms, 1.0)
    big = np.argmax(np.abs(u), axis=1)
    signs = np.sign(u[np.arange(len(u)), big])
    signs[signs == 0] = 1.0
    return u * signs[:, None]


def sigma_scaled(units: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Rows u (any length) → u/|u| · sqrt(ûᵀΣû): one unit = one σ of the cloud along it."""
    u = np.atleast_2d(np.asarray(units, dtype=np.float64))
    u = u / np.maximum(np.linalg.norm(u, axis=1, keepdims=True), 1e-300)
    s = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", u, cov, u), 0.0))
    return u * s[:, None]


def make(prefix: str, method: str, units: np.ndarray, mean, cov, metas=None) -> list[Direction]:
    """Directions ``"{prefix} 1"``, ``"{prefix} 2"``, … along the rows of ``units``, in σ units."""
    vecs = sigma_scaled(units, cov)
    metas = metas or [{} for _ in vecs]
    return [Direction(f"{prefix} {i + 1}", method, v, meta=m, origin=mean) for i, (v, m) in enumerate(zip(vecs, metas))]


def by_sigma(units: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Rows sorted by the cloud's σ along them, largest first."""
    s = np.einsum("ij,jk,ik->i", units, cov, units)
    return units[np.argsort(-s, kind="stable")]
