"""Pairs of axes of a latent cloud: projection onto two axes (``("z", i)`` or ``("pca", i)``), the pair's
moments, confidence ellipses, nearest points and density contours — what the pair plot and the atlas draw.

Part of the latent statistics (:mod:`engine.latent_stats` re-exports every name here); ``stats`` arguments are
:class:`engine.latent_stats.LatentStats` (named in annotations only: this module never imports it, the other
way round).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from .errors import DataError
from .latent_whitening import level_probability, whitening

Axis = tuple[str, int]


def _axis_vector(stats: LatentStats, axis: Axis) -> tuple[np.ndarray, float]:
    """(w, offset) with coordinate = z·w − offset."""
    kind, i = axis
    i = int(i)
    if not 0 <= i < stats.z_dim:
        raise DataError(f"axis {kind}{i} is out of range 0..{stats.z_dim - 1}")
    if kind == "z":
        w = np.zeros(stats.z_dim)
        w[i] = 1.0
        return w, 0.0
    if kind == "pca":
        w = stats.pca.components[i]
        return w, float(stats.pca.mean @ w)
    raise DataError(f"axis kind must be 'z' or 'pca', got {kind!r}")


def project(z: np.ndarray, stats: LatentStats, axes: tuple[Axis, Axis]) -> np.ndarray:
    """(N, 2) coordinates of ``z`` on the two axes."""
    z = np.asarray(z)
    (w1, o1), (w2, o2) = (_axis_vector(stats, a) for a in axes)
    if axes[0][0] == "z" and axes[1][0] == "z":
        return np.asarray(z[:, [int(axes[0][1]), int(axes[1][1])]], dtype=np.float64)
    dtype = z.dtype if z.dtype in (np.float32, np.float64) else np.float64
    W = np.stack([w1, w2], axis=1).astype(dtype)
    return (z @ W).astype(np.float64) - np.array([o1, o2])


class PairProjector:
    """Caches a cloud's coordinates on its first ``pca_axes`` PCA axes (float32), so that projecting
    it onto any pair of axes is a column copy (~ms) instead of a pass over N×d (≈100 ms for 170,000 × 256).
    Pairs outside the cache fall back to :func:`project`."""

    def __init__(self, z: np.ndarray, stats: LatentStats, pca_axes: int = 32) -> None:
        self.z = np.asarray(z)
        self.stats = stats
        k = max(0, min(int(pca_axes), stats.z_dim))
        comps = stats.pca.components[:k].T.astype(np.float32)
        offset = (stats.pca.mean @ stats.pca.components[:k].T).astype(np.float32)
        self.pca_coords = np.asarray(self.z, dtype=np.float32) @ comps - offset

    def column(self, axis: Axis) -> Optional[np.ndarray]:
        kind, i = axis
        if kind == "z" and 0 <= int(i) < self.stats.z_dim:
            return np.asarray(self.z[:, int(i)], dtype=np.float64)
        if kind == "pca" and 0 <= int(i) < self.pca_coords.shape[1]:
            return self.pca_coords[:, int(i)].astype(np.float64)
        return None

    def project(self, axes: tuple[Axis, Axis]) -> np.ndarray:
        cols = [self.column(a) for a in axes]
        if any(c is None for c in cols):
            return project(self.z, self.stats, axes)
        return np.stack(cols, axis=1)


def pair_moments(stats: LatentStats, axes: tuple[Axis, Axis]) -> tuple[np.ndarray, np.ndarray]:
    """Mean (2,) and covariance (2, 2) of the cloud on the two axes (exact, from the full covariance)."""
    (w1, o1), (w2, o2) = (_axis_vector(stats, a) for a in axes)
    W = np.stack([w1, w2], axis=1)
    mean2 = stats.mean @ W - np.array([o1, o2])
    cov2 = W.T @ stats.cov @ W
    return mean2, 0.5 * (cov2 + cov2.T)


def ellipse_radius(level: float, scaling: str = "sigma") -> float:
    """The Mahalanobis radius of a level-σ confidence ellipse (see :func:`confidence_ellipse`)."""
    if scaling == "sigma":
        return float(level)
    if scaling == "chi2":
        p = float(level_probability(level))
        return math.sqrt(-2.0 * math.log1p(-p)) if p < 1 else math.inf
    raise DataError(f"ellipse scaling must be 'sigma' or 'chi2', got {scaling!r}")


def confidence_ellipse(mean2, cov2, level: float, scaling: str = "sigma", points: int = 181) -> np.ndarray:
    """The closed polyline (points, 2) of a confidence ellipse of the 2-D Gaussian (mean2, cov2).

    scaling="sigma": the half-axes are level·σ along the principal axes of cov2 (the blog's
      "n σ ellipse"; it covers 1 − exp(−level²/2) of a 2-D Gaussian: 39 %, 86 %, 99 % for 1, 2, 3).
    scaling="chi2": the radius is the χ²(2) quantile of the probability of a level-σ interval in 1-D
      (68.27 %, 95.45 %, 99.73 %), so the ellipse covers the same probability as ±level σ does in 1-D.
    """
    mean2 = np.asarray(mean2, dtype=np.float64)
    w, v = np.linalg.eigh(np.asarray(cov2, dtype=np.float64))
    r = ellipse_radius(level, scaling)
    t = np.linspace(0.0, 2.0 * np.pi, points)
    circle = np.stack([np.cos(t), np.sin(t)], axis=1) * r
    out = circle * np.sqrt(np.maximum(w, 0.0)) @ v.T + mean2
    out[-1] = out[0]
    return out


def pca_sigmas(stats: "LatentStats") -> np.ndarray:
    """The standard deviation of the cloud along each principal axis (the unit of a PCA slider)."""
    return np.sqrt(np.maximum(np.asarray(stats.pca.explained_variance, np.float64), 1e-12))


def move_along_pcs(z: np.ndarray, stats: "LatentStats", amounts) -> np.ndarray:
    """``z`` moved by ``amounts[k]`` standard deviations along principal axis k (k = 0 … len(amounts)-1)."""
    a = np.asarray(amounts, np.float64)
    comps = np.asarray(stats.pca.components, np.float64)[: len(a)]
    return np.asarray(z, np.float64) + (a * pca_sigmas(stats)[: len(a)]) @ comps


def nearest_points(latents: np.ndarray, z: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` z-points nearest to ``z`` (Euclidean), nearest first: (row indices, distances)."""
    latents = np.asarray(latents)
    d = np.sqrt(np.einsum("ij,ij->i", latents - z[None, :], latents - z[None, :], dtype=np.float64))
    k = min(int(k), len(d))
    if k <= 0:
        return np.empty(0, int), np.empty(0)
    order = np.argpartition(d, k - 1)[:k]
    order = order[np.argsort(d[order], kind="stable")]
    return order, d[order]


def pair_mahalanobis_sq(xy, mean2, cov2) -> np.ndarray:
    """Squared 2-D Mahalanobis distance of each point ``xy`` (N, 2) under the pair's moments (see
    :func:`pair_moments`); compute it once per pair, then :func:`fraction_within` for every level."""
    xy = np.asarray(xy, dtype=np.float64)
    W, _ = whitening(cov2, 1e-12)
    y = (xy - np.asarray(mean2, dtype=np.float64)) @ W
    return np.einsum("ij,ij->i", y, y)


def fraction_within(r2: np.ndarray, level: float, scaling: str = "sigma") -> float:
    """Fraction of the squared distances ``r2`` inside the ellipse of :func:`confidence_ellipse` at ``level``."""
    r2 = np.asarray(r2)
    if len(r2) == 0:
        return float("nan")
    r = ellipse_radius(level, scaling)
    return float(np.mean(r2 <= r * r))


def fraction_inside_ellipse(xy, mean2, cov2, level: float, scaling: str = "sigma") -> float:
    """Fraction of the points ``xy`` (N, 2) inside the ellipse of :func:`confidence_ellipse`."""
    return fraction_within(pair_mahalanobis_sq(xy, mean2, cov2), level, scaling)


@dataclass
class DensityGrid:
    x_edges: np.ndarray
    y_edges: np.ndarray
    density: np.ndarray  # (len(x_edges)-1, len(y_edges)-1), x first; integrates to ≈1 over the extent

    @property
    def x_centres(self) -> np.ndarray:
        return 0.5 * (self.x_edges[:-1] + self.x_edges[1:])

    @property
    def y_centres(self) -> np.ndarray:
        return 0.5 * (self.y_edges[:-1] + self.y_edges[1:])


def density_grid(xy: np.ndarray, bins: int = 160, smooth: float = 1.5, extent=None) -> DensityGrid:
    """A smoothed 2-D histogram (binned Gaussian KDE with a kernel of ``smooth`` bins).

    ``extent`` = (xmin, xmax, ymin, ymax); by default the 0.1–99.9 % range of each coordinate, padded."""
    from scipy.ndimage import gaussian_filter

    xy = np.asarray(xy, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2 or len(xy) == 0:
        raise DataError(f"density needs an N×2 array of points, got shape {list(xy.shape)}")
    bins = int(bins)
    if extent is None:
        lo = np.percentile(xy, 0.1, axis=0)
        hi = np.percentile(xy, 99.9, axis=0)
        pad = 0.15 * np.maximum(hi - lo, 1e-9)
        extent = (lo[0] - pad[0], hi[0] + pad[0], lo[1] - pad[1], hi[1] + pad[1])
    x0, x1, y0, y1 = (float(e) for e in extent)
    if not (x1 > x0 and y1 > y0):
        x1, y1 = max(x1, x0 + 1e-9), max(y1, y0 + 1e-9)
    fx = (xy[:, 0] - x0) * (bins / (x1 - x0))
    fy = (xy[:, 1] - y0) * (bins / (y1 - y0))
    keep = (fx >= 0) & (fx < bins) & (fy >= 0) & (fy < bins)
    idx = fx[keep].astype(np.int64) * bins + fy[keep].astype(np.int64)
    h = np.bincount(idx, minlength=bins * bins).reshape(bins, bins).astype(np.float64)
    if smooth > 0:
        h = gaussian_filter(h, sigma=float(smooth), mode="constant")
    x_edges = np.linspace(x0, x1, bins + 1)
    y_edges = np.linspace(y0, y1, bins + 1)
    area = (x_edges[1] - x_edges[0]) * (y_edges[1] - y_edges[0])
    h /= max(len(xy), 1) * area
    return DensityGrid(x_edges, y_edges, h)


def density_contours(grid: DensityGrid, levels: Optional[Sequence[float]] = None, n_levels: int = 6) -> list[tuple[float, list[np.ndarray]]]:
    """Contour lines of the density by contourpy: ``[(level, [polyline (k, 2), ...]), ...]``.

    Default levels: ``n_levels`` equally spaced between 0 and the peak density (exclusive)."""
    import contourpy

    if levels is None:
        peak = float(grid.density.max())
        if peak <= 0:
            return []
        levels = peak * np.arange(1, n_levels + 1) / (n_levels + 1)
    gen = contourpy.contour_generator(grid.x_centres, grid.y_centres, grid.density.T,
                                      line_type=contourpy.LineType.Separate)
    return [(float(lv), [np.asarray(line) for line in gen.lines(float(lv))]) for lv in levels]
