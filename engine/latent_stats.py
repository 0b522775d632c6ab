"""Statistics of a latent z-point cloud (N×d): per-component histograms with Gaussian fits, mean,
covariance, Pearson matrix, PCA, a normality check, and per-pair ellipses and density contours.

Everything is vectorised so that 170,000 × 256 z-points take a few seconds (see
``benchmarks/bench_latent_stats.py``); :func:`load_or_compute_stats` caches the result per model
in the user's cache folder (``~/.cache/latent-face-studio/stats/KEY.npz``, KEY a hash of the z-points and
the interval; plain arrays, no pickles, written atomically) — never inside the model folder, which may be
read-only (the installed default model) or someone else's.

Axes are ``("z", i)`` (original component i) or ``("pca", i)`` (principal component i, 0-based).

Three modules by idea: this one (histograms and Gaussian fits, the whole-cloud statistics, their cache),
:mod:`engine.latent_whitening` (PCA, whitening, Mahalanobis, χ²) and :mod:`engine.latent_pairs` (pairs of axes:
projection, ellipses, density contours). This module re-exports the other two's names.
"""
from __future__ import annotations

import hashlib
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from .errors import DataError
from .latent_pairs import (  # noqa: F401 - re-exported: importers say `from engine.latent_stats import X`
    Axis, _axis_vector, project, PairProjector, pair_moments, ellipse_radius, confidence_ellipse, pca_sigmas,
    move_along_pcs, nearest_points, pair_mahalanobis_sq, fraction_within, fraction_inside_ellipse, DensityGrid,
    density_grid, density_contours,
)
from .latent_whitening import (  # noqa: F401 - re-exported: importers say `from engine.latent_stats import X`
    _CHUNK, PCAResult, single_thread_blas, level_probability, chi2_threshold, chi2_pdf, pca_from_cov, pca_of,
    whitening, whitening_from_eigen, Whitener, mahalanobis_sq, subsample_rows, cloud_moments,
)
from .progress import CancelToken, Progress, ProgressCallback, StepTicker, no_progress

STATS_CACHE = "stats_cache.npz"
CACHE_VERSION = 1
NORMALITY_LEVELS = (1.0, 2.0, 3.0)
#: A cloud of more than this many z-points gets its mean and std from every point (one streamed pass) and the
#: rest of its statistics (covariance, correlations, PCA, histograms, Gaussian fits, normality check) from a seeded
#: subsample of ``STATS_SAMPLE_ROWS`` rows: at 2,000,000 × 256 they differ from the full pass by about their own
#: run-to-run noise (benchmarks/scale_2m.py --accuracy; docs/scaling.md, section 5).
STATS_FULL_ROWS = 500_000
STATS_SAMPLE_ROWS = 200_000
STATS_SAMPLE_SEED = 0
#: the statistics a subsampled :class:`LatentStats` computed on its subsample (the words a front end shows)
SAMPLED_STATISTICS = ("covariance", "correlations", "PCA", "histograms", "Gaussian fits", "normality check")


# ----------------------------------------------------------------------------------------------
# data classes (the GUI's contract)


@dataclass
class NormalityCheck:
    levels: np.ndarray  # σ-levels, e.g. [1, 2, 3]
    observed: np.ndarray  # fraction of z-points with d_M² ≤ the χ²(d) quantile of that level
    expected: np.ndarray  # the probability of that level (68.27 %, 95.45 %, 99.73 %)
    mahalanobis_sq: np.ndarray  # (N,) squared Mahalanobis distances
    thresholds: np.ndarray = field(default_factory=lambda: np.zeros(0))  # χ²(d) quantiles used


@dataclass
class ComponentHistogram:
    edges: np.ndarray  # (B+1,) bin edges, multiples of the sampling interval
    counts: np.ndarray  # (B,) z-points per bin

    @property
    def centres(self) -> np.ndarray:
        return 0.5 * (self.edges[:-1] + self.edges[1:])


@dataclass
class LatentStats:
    n: int
    z_dim: int
    interval: float
    mean: np.ndarray
    std: np.ndarray
    cov: np.ndarray
    corr: np.ndarray
    centres: np.ndarray  # Gaussian fit per component: centre
    sigmas: np.ndarray  # σ
    half_widths: np.ndarray  # half width at half maximum = σ·√(2 ln 2)
    fit_quality: np.ndarray  # R² of the fit to the histogram counts (1 = perfect)
    amplitudes: np.ndarray  # fitted peak height in counts per bin
    pca: PCAResult
    normality: NormalityCheck
    hist_lo: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (d,) first edge per component
    hist_counts: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (d, Bmax) padded counts
    hist_bins: np.ndarray = field(default_factory=lambda: np.zeros(0, int))  # (d,) bins per component
    key: str = ""
    #: the z-points of the seeded subsample that gave SAMPLED_STATISTICS (histogram counts add up to it);
    #: 0: every one of the n z-points gave every statistic
    sample_rows: int = 0
    #: (n, k) coordinates of every z-point on the k leading principal axes when the statistics were computed with
    #: ``project_axes=k`` (never cached: :func:`take_coords` hands them over once)
    coords: Optional[np.ndarray] = field(default=None, repr=False, compare=False)

    @property
    def subsampled(self) -> bool:
        """True when SAMPLED_STATISTICS come from a subsample of the z-points (mean and std never do)."""
        return 0 < self.sample_rows < self.n

    def sample_note(self) -> str:
        """"on a seeded 200,000 of the 2,000,000 z-points" for subsampled statistics, else ""."""
        return f"on a seeded {self.sample_rows:,} of the {self.n:,} z-points" if self.subsampled else ""

    def histogram(self, component: int) -> ComponentHistogram:
        if not 0 <= component < self.z_dim:
            raise DataError(f"component {component} is out of range 0..{self.z_dim - 1}")
        b = int(self.hist_bins[component])
        edges = self.hist_lo[component] + self.interval * np.arange(b + 1)
        return ComponentHistogram(edges, self.hist_counts[component, :b].copy())


# ----------------------------------------------------------------------------------------------
# per-component histograms and Gaussian fits


def gaussian(x, amplitude, centre, sigma) -> np.ndarray:
    """amplitude · exp(−½ ((x − centre)/σ)²), for drawing a fitted curve."""
    x = np.asarray(x, dtype=np.float64)
    return amplitude * np.exp(-0.5 * ((x - centre) / sigma) ** 2)


def component_histogram(values: np.ndarray, interval: float = 0.25) -> ComponentHistogram:
    """Counts of ``values`` in bins of width ``interval`` aligned to multiples of it (the seed's sampling)."""
    values = np.asarray(values, dtype=np.float64).ravel()
    if interval <= 0 or not math.isfinite(interval):
        raise DataError(f"sampling interval must be > 0, got {interval}")
    if values.size == 0:
        return ComponentHistogram(np.array([0.0, interval]), np.zeros(1, np.int64))
    lo = math.floor(values.min() / interval) * interval
    b = max(1, int(math.floor((values.max() - lo) / interval)) + 1)
    idx = np.clip(((values - lo) / interval).astype(np.int64), 0, b - 1)
    return ComponentHistogram(lo + interval * np.arange(b + 1), np.bincount(idx, minlength=b))


def _bin_layout(zmin: np.ndarray, zmax: np.ndarray, interval: float) -> tuple[np.ndarray, np.ndarray]:
    lo = np.floor(zmin / interval) * interval
    bins = np.maximum(1, np.floor((zmax - lo) / interval).astype(np.int64) + 1)
    if bins.sum() > 50_000_000:
        raise DataError(
            f"the z-points span too wide a range for a sampling interval of {interval} "
            f"({int(bins.sum())} bins); choose a larger interval"
        )
    return lo, bins


def _accumulate_histograms(chunk: np.ndarray, lo: np.ndarray, bins: np.ndarray, offsets: np.ndarray,
                           interval: float, total: np.ndarray) -> None:
    """Add the counts of ``chunk`` (rows × d) to ``total`` (every component's bins, one after another)."""
    idx = ((chunk - lo) * (1.0 / interval)).astype(np.int32)  # int32: half the memory traffic of int64
    np.minimum(idx, (bins - 1).astype(np.int32), out=idx)  # the top edge (rounding); nothing lies below lo
    np.maximum(idx, 0, out=idx)
    idx += offsets.astype(np.int32)
    total += np.bincount(idx.ravel(), minlength=total.size)


def _ranges(z: np.ndarray, chunk: int = _CHUNK) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, min, max) of every column of ``z`` (float64), in one chunked pass (a memory-mapped cloud is read once)."""
    d = z.shape[1]
    total, lo, hi = np.zeros(d), np.full(d, np.inf), np.full(d, -np.inf)
    for i in range(0, len(z), chunk):
        c = np.asarray(z[i : i + chunk])
        total += c.sum(axis=0, dtype=np.float64)
        np.minimum(lo, c.min(axis=0), out=lo)
        np.maximum(hi, c.max(axis=0), out=hi)
    return total / len(z), lo, hi


def _gaussian_jacobian(x, amplitude, centre, sigma) -> np.ndarray:
    """∂gaussian/∂(amplitude, centre, sigma) at ``x``: (B, 3), for curve_fit."""
    dx = x - centre
    e = np.exp(-0.5 * (dx / sigma) ** 2)
    return np.stack([e, amplitude * e * dx / sigma**2, amplitude * e * dx**2 / sigma**3], axis=1)


def fit_gaussians(counts: np.ndarray, x: np.ndarray, valid: Optional[np.ndarray] = None) -> dict[str, np.ndarray]:
    """Least-squares Gaussian fits of many histograms: ``scipy.optimize.curve_fit`` (Levenberg–Marquardt, an
    analytic Jacobian) per row, started from the histogram's moments.

    ``counts`` and ``x`` are (m, B) (padding bins marked False in ``valid``). Minimises
    Σ (counts − a·exp(−½((x−c)/σ)²))² per row. Returns amplitude, centre, sigma, r2 (fit quality) arrays.
    Rows with fewer than 3 populated bins keep their moment estimates (r2 = 0); a row whose fit fails keeps
    its moment estimates (and their r2).
    (It replaced a hand-written batched fit: the same results within 2e-6 relative on the default model, 2.3×
    faster; benchmarks/bench_latent_stats.py.)"""
    import warnings

    from scipy.optimize import OptimizeWarning, curve_fit

    c = np.asarray(counts, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    if valid is None:
        valid = np.ones_like(c, dtype=bool)
    w = valid.astype(np.float64)
    c = c * w
    tot = c.sum(axis=1)
    safe_tot = np.where(tot > 0, tot, 1.0)
    mu = (c * x).sum(axis=1) / safe_tot
    var = (c * (x - mu[:, None]) ** 2).sum(axis=1) / safe_tot
    width = valid.sum(axis=1)
    step = np.where(width > 1, (x[:, 1] - x[:, 0]) if x.shape[1] > 1 else 1.0, 1.0)
    p = np.stack([c.max(axis=1), mu, np.sqrt(np.maximum(var, (step**2) / 12.0))], axis=1)
    fittable = ((c > 0).sum(axis=1) >= 3) & (tot > 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OptimizeWarning)
        for i in np.flatnonzero(fittable):
            v = valid[i]
            try:
                got = curve_fit(gaussian, x[i, v], c[i, v], p0=p[i], jac=_gaussian_jacobian, method="lm")[0]
            except (RuntimeError, ValueError):  # no convergence: the moments stand, like a rejected step
                continue
            if np.isfinite(got).all() and abs(got[2]) > 1e-12:
                p[i] = got[0], got[1], abs(got[2])
    g = p[:, 0:1] * np.exp(-0.5 * ((x - p[:, 1:2]) / p[:, 2:3]) ** 2) * w
    ssr = ((c - g) ** 2).sum(axis=1)
    mean_c = tot / np.maximum(width, 1)
    sst = (((c - mean_c[:, None]) * w) ** 2).sum(axis=1)
    r2 = np.where(sst > 0, 1.0 - ssr / np.where(sst > 0, sst, 1.0), 0.0)
    r2 = np.where(fittable, r2, 0.0)
    return {"amplitude": p[:, 0], "centre": p[:, 1], "sigma": p[:, 2], "r2": r2}


def _padded(lo, bins, flat_counts, interval):
    bmax = int(bins.max())
    counts = np.zeros((len(bins), bmax), dtype=np.int64)
    valid = np.arange(bmax)[None, :] < bins[:, None]
    counts[valid] = flat_counts
    x = lo[:, None] + interval * (np.arange(bmax)[None, :] + 0.5)
    return counts, x, valid


def component_fits(z: np.ndarray, interval: float = 0.25) -> dict[str, np.ndarray]:
    """Histograms and Gaussian fits of every component of ``z`` (N×d) — a light part of compute_stats."""
    z = np.asarray(z)
    mean, zmin, zmax = _ranges(z)
    lo, bins = _bin_layout(zmin, zmax, interval)
    offsets = np.concatenate([[0], np.cumsum(bins)[:-1]])
    flat = np.zeros(int(bins.sum()), dtype=np.int64)
    sq = np.zeros(z.shape[1])
    for i in range(0, len(z), _CHUNK):  # chunked: a read-only memory-mapped cloud is never copied whole
        chunk = np.asarray(z[i : i + _CHUNK], dtype=np.float64)
        _accumulate_histograms(chunk, lo, bins, offsets, interval, flat)
        sq += ((chunk - mean) ** 2).sum(axis=0)
    counts, x, valid = _padded(lo, bins, flat, interval)
    fit = fit_gaussians(counts, x, valid)
    std = np.sqrt(sq / len(z))
    return _fit_summary(fit, mean, std) | {"hist_lo": lo, "hist_bins": bins, "hist_counts": counts}


def _fit_summary(fit: dict, mean: np.ndarray, std: np.ndarray) -> dict[str, np.ndarray]:
    sigma = np.where(fit["r2"] > 0, fit["sigma"], std)
    centre = np.where(fit["r2"] > 0, fit["centre"], mean)
    return {
        "centres": centre,
        "sigmas": sigma,
        "half_widths": sigma * math.sqrt(2.0 * math.log(2.0)),
        "fit_quality": fit["r2"],
        "amplitudes": fit["amplitude"],
    }


def compute_stats(z: np.ndarray, interval: float = 0.25, *, progress: ProgressCallback = no_progress,
                  cancel: Optional[CancelToken] = None, sample_rows: Optional[int] = None,
                  project_axes: int = 0) -> LatentStats:
    """All statistics of the cloud ``z`` (N×d) in two passes over the data.

    A cloud of more than ``STATS_FULL_ROWS`` z-points (``sample_rows`` None), or any cloud given ``sample_rows``
    (> 0): mean and std from every row in one streamed pass, the rest from a seeded subsample of
    ``STATS_SAMPLE_ROWS`` (or ``sample_rows``) rows, recorded in ``LatentStats.sample_rows``. ``sample_rows=0``:
    every statistic from every row. With ``project_axes`` k, a subsampled cloud's pass over every row also gives
    its coordinates on the k leading principal axes (``LatentStats.coords``; a full pass leaves them to the caller).

    BLAS runs single-threaded here: measured on 2 busy cores, 170,000 × 256 take 2.4 s with one
    thread and 5.7–7.6 s with two (OpenBLAS spin-waits); see benchmarks/bench_latent_stats.py."""
    shape = np.shape(z)
    n = shape[0] if len(shape) == 2 else 0
    k = stats_sample_size(n, sample_rows)
    cancel = cancel or CancelToken()
    with single_thread_blas():
        if k >= n:
            return _compute_stats(z, interval, progress, cancel)
        return _sampled_stats(z, interval, k, progress, cancel, project_axes)


def stats_sample_size(n: int, sample_rows: Optional[int] = None) -> int:
    """The z-points of an ``n``-point cloud that give its subsampled statistics (``n``: all of them)."""
    if sample_rows is None:
        sample_rows = STATS_SAMPLE_ROWS if n > STATS_FULL_ROWS else 0
    return n if sample_rows <= 0 or sample_rows >= n else max(3, int(sample_rows))


def _sampled_stats(z, interval, k, progress, cancel, project_axes: int = 0) -> LatentStats:
    """The statistics of a large cloud: those of a seeded subsample of ``k`` rows, with the mean and std of every
    row (and the PCA centred on that mean); with ``project_axes``, every row's leading PCA coordinates too."""
    from .z_store import subsample_rows as gather

    progress(Progress("latent statistics", 0, 1, f"reading a seeded {k:,} of {len(z):,} z-points"))
    cancel.raise_if_cancelled()
    rows = gather(z, k, seed=STATS_SAMPLE_SEED)[1]
    tick = StepTicker("latent statistics", 2 * math.ceil(k / _CHUNK) + 1 + math.ceil(len(z) / MOMENT_TICK_ROWS),
                      progress, cancel)
    stats = _compute_stats(rows, interval, progress, cancel, tick)
    del rows
    lead = np.asarray(stats.pca.components[: max(0, int(project_axes))], np.float64)  # (k, d)
    stats.mean, stats.std, coords, shift = streamed_mean_std(z, tick, lead.T.astype(np.float32) if len(lead) else None)
    stats.n, stats.sample_rows = len(z), k
    stats.pca = PCAResult(stats.mean.copy(), stats.pca.components, stats.pca.explained_variance,
                          stats.pca.explained_variance_ratio)
    if coords is not None:  # the rows were projected shifted by ``shift``: centre them on the mean
        coords += (shift - stats.mean) @ lead.T
        stats.coords = coords
    return stats


def take_coords(stats: LatentStats, k: int, n: int) -> Optional[np.ndarray]:
    """The leading PCA coordinates computed with ``stats`` (at least ``k`` axes of ``n`` rows, the first ``k``
    handed over), or None; the statistics let go of them."""
    coords, stats.coords = getattr(stats, "coords", None), None
    if coords is None or coords.shape[0] != n or coords.shape[1] < k:
        return None
    return coords if coords.shape[1] == k else np.ascontiguousarray(coords[:, :k])


#: rows per progress step of :func:`streamed_mean_std` (it reads ``MOMENT_CHUNK`` rows at a time: a chunk stays
#: in the processor's cache between its conversion and its sums, 1.6× faster than 65,536 rows at a time)
MOMENT_TICK_ROWS = 65536
MOMENT_CHUNK = 4096


def streamed_mean_std(z: np.ndarray, tick=None, project: Optional[np.ndarray] = None):
    """``(mean, std with ddof 1, projections, shift)`` of the columns of ``z`` (N×d), float64, in one pass of small
    chunks (a memory map hands each chunk's pages back): float32 sums of rows shifted by ``shift`` (the first
    chunk's mean), summed in float64. With ``project`` (d×k float32), every shifted row's product with it
    ((N, k) float64; else None)."""
    from .z_store import row_chunks

    n, d = z.shape
    s1, s2 = np.zeros(d), np.zeros(d)
    shift = ones = None
    out = None if project is None else np.empty((n, project.shape[1]), dtype=np.float64)
    for i, chunk in row_chunks(z, rows=MOMENT_CHUNK):
        if shift is None:
            shift = chunk.mean(axis=0, dtype=np.float64).astype(np.float32)
        chunk -= shift
        if out is not None:
            out[i : i + len(chunk)] = chunk @ project
        if ones is None or len(ones) != len(chunk):
            ones = np.ones(len(chunk), dtype=np.float32)
        s1 += ones @ chunk
        np.square(chunk, out=chunk)
        s2 += ones @ chunk
        if tick is not None and (i + len(chunk)) % MOMENT_TICK_ROWS < len(chunk):
            tick("mean and spread of every z-point")
    m = s1 / n
    var = np.maximum(s2 / n - m * m, 0.0) * (n / max(n - 1, 1))
    return shift.astype(np.float64) + m, np.sqrt(var), out, shift.astype(np.float64)


def _compute_stats(z, interval, progress, cancel, tick: Optional[StepTicker] = None) -> LatentStats:
    """The statistics of every row of ``z`` (``tick``: the progress of a larger job this is part of)."""
    z = np.asarray(z)
    if z.ndim != 2 or len(z) < 2:
        raise DataError(f"statistics need an N×d array of at least 2 z-points, got shape {list(z.shape)}")
    if not np.isfinite(interval) or interval <= 0:
        raise DataError(f"sampling interval must be > 0, got {interval}")
    n, d = z.shape
    tick = tick or StepTicker("latent statistics", 2 * math.ceil(n / _CHUNK) + 1, progress, cancel)

    # pass 1: mean and range; pass 2: Gram matrix + histograms; pass 3: Mahalanobis distances (chunk by chunk:
    # a read-only memory-mapped cloud is read three times, never copied whole)
    mean, zmin, zmax = _ranges(z)
    lo, bins = _bin_layout(zmin, zmax, interval)
    offsets = np.concatenate([[0], np.cumsum(bins)[:-1]])
    flat = np.zeros(int(bins.sum()), dtype=np.int64)
    gram = np.zeros((d, d), dtype=np.float64)
    mean32 = mean.astype(np.float32)
    for i in range(0, n, _CHUNK):
        chunk = np.asarray(z[i : i + _CHUNK], dtype=np.float32)
        zc = chunk - mean32
        gram += (zc.T @ zc).astype(np.float64)  # float32 product per chunk, float64 sum across chunks
        _accumulate_histograms(chunk, lo.astype(np.float32), bins, offsets, interval, flat)
        tick("covariance and histograms")
    cov = gram / (n - 1)
    cov = 0.5 * (cov + cov.T)
    std = np.sqrt(np.maximum(np.diag(cov), 0.0))
    safe = np.where(std > 0, std, 1.0)
    corr = cov / safe[:, None] / safe[None, :]
    corr[std == 0, :] = 0.0
    corr[:, std == 0] = 0.0
    np.fill_diagonal(corr, 1.0)

    counts, x, valid = _padded(lo, bins, flat, interval)
    fits = _fit_summary(fit_gaussians(counts, x, valid), mean, std)
    pca = pca_from_cov(mean, cov)

    # pass 2: squared Mahalanobis distances (the normality check); whitening from the PCA's eigenvectors
    W, _ = whitening_from_eigen(pca.explained_variance, pca.components.T)
    d2 = np.empty(n, dtype=np.float64)
    W32 = W.astype(np.float32)
    for i in range(0, n, _CHUNK):
        y = (np.asarray(z[i : i + _CHUNK], dtype=np.float32) - mean32) @ W32
        d2[i : i + len(y)] = np.einsum("ij,ij->i", y, y, dtype=np.float64)
        tick("Mahalanobis distances")
    levels = np.asarray(NORMALITY_LEVELS)
    thresholds = chi2_threshold(levels, d)
    normality = NormalityCheck(levels, (d2[:, None] <= thresholds[None, :]).mean(axis=0), level_probability(levels), d2, thresholds)
    tick("done")
    return LatentStats(
        n=n, z_dim=d, interval=float(interval), mean=mean, std=std, cov=cov, corr=corr, pca=pca, normality=normality,
        hist_lo=lo, hist_counts=counts, hist_bins=bins, **fits,
    )


# ----------------------------------------------------------------------------------------------
# cache beside the model


def stats_key(z: np.ndarray, interval: float) -> str:
    h = hashlib.blake2b(digest_size=16)
    from .z_store import is_mapped, row_chunks

    mapped = is_mapped(z) and z.flags.c_contiguous
    z = z if mapped else np.ascontiguousarray(z)
    h.update(f"v{CACHE_VERSION}|{z.dtype.str}|{z.shape}|{float(interval)!r}|".encode())
    if mapped:  # the same bytes chunk by chunk, each chunk's pages handed back (a 2 GB map stays small)
        for _, chunk in row_chunks(z, dtype=z.dtype):
            h.update(memoryview(chunk).cast("B"))
    else:
        h.update(memoryview(z).cast("B"))
    return h.hexdigest()


_ARRAYS = ("mean", "std", "cov", "corr", "centres", "sigmas", "half_widths", "fit_quality", "amplitudes",
           "hist_lo", "hist_counts", "hist_bins")


def save_stats(path: str | Path, stats: LatentStats) -> None:
    from . import atomic_io

    arrays = {k: getattr(stats, k) for k in _ARRAYS}
    arrays.update(
        key=np.array(stats.key), n=np.array(stats.n), z_dim=np.array(stats.z_dim), interval=np.array(stats.interval),
        version=np.array(CACHE_VERSION), sample_rows=np.array(stats.sample_rows),
        pca_mean=stats.pca.mean, pca_components=stats.pca.components, pca_var=stats.pca.explained_variance,
        pca_ratio=stats.pca.explained_variance_ratio,
        norm_levels=stats.normality.levels, norm_observed=stats.normality.observed,
        norm_expected=stats.normality.expected, norm_d2=stats.normality.mahalanobis_sq,
        norm_thresholds=stats.normality.thresholds,
    )
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_io.write_bytes(path, buf.getvalue())


def load_stats(path: str | Path, key: Optional[str] = None) -> Optional[LatentStats]:
    """The cached statistics, or None when missing, damaged, of another version or for other z-points."""
    try:
        with np.load(path, allow_pickle=False) as f:
            if int(f["version"]) != CACHE_VERSION or (key is not None and str(f["key"]) != key):
                return None
            a = {k: f[k] for k in _ARRAYS}
            pca = PCAResult(f["pca_mean"], f["pca_components"], f["pca_var"], f["pca_ratio"])
            norm = NormalityCheck(f["norm_levels"], f["norm_observed"], f["norm_expected"], f["norm_d2"], f["norm_thresholds"])
            rows = int(f["sample_rows"]) if "sample_rows" in f.files else 0  # written before subsampling: all rows
            return LatentStats(n=int(f["n"]), z_dim=int(f["z_dim"]), interval=float(f["interval"]), pca=pca,
                               normality=norm, key=str(f["key"]), sample_rows=rows, **a)
    except (OSError, ValueError, KeyError, EOFError):
        return None
    except Exception:  # noqa: BLE001 - a damaged zip is a cache miss, never a crash
        return None


def load_or_compute_stats(model_dir: str | Path, z: np.ndarray, interval: float = 0.25, *,
                          progress: ProgressCallback = no_progress, cancel: Optional[CancelToken] = None,
                          key: Optional[str] = None, project_axes: int = 0) -> LatentStats:
    """Statistics of ``z``, cached per model in the user's cache folder (keyed by a hash of z and the interval;
    ``key``: that hash, when the caller knows it already).

    ``model_dir`` is kept for the callers' sake; the cache key alone identifies the z-points. An unwritable
    cache folder just means no cache is written."""
    from .image_data import default_cache_dir

    key = key or stats_key(z, interval)
    path = default_cache_dir("stats") / f"{key}.npz"
    hit = load_stats(path, key) if path.is_file() else None
    if hit is None:  # the default model ships its statistics (engine.sealed_npz.shipped_bytes: its pinned manifest)
        from .sealed_npz import shipped_bytes

        data = shipped_bytes(path.name)
        hit = load_stats(io.BytesIO(data), key) if data is not None else None
    if hit is not None:
        progress(Progress("latent statistics", 1, 1, "from cache"))
        return hit
    stats = compute_stats(z, interval, progress=progress, cancel=cancel, project_axes=project_axes)
    stats.key = key
    try:
        save_stats(path, stats)
    except OSError:
        pass
    return stats


