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
    whitening, whitening_from_eigen, Whitener, mahalanobis_sq,
)
from .progress import CancelToken, Progress, ProgressCallback, StepTicker, no_progress

STATS_CACHE = "stats_cache.npz"
CACHE_VERSION = 1
NORMALITY_LEVELS = (1.0, 2.0, 3.0)


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
    idx = ((chunk - lo) * (1.0 / interval)).astype(np.int64)
    np.clip(idx, 0, bins - 1, out=idx)
    idx += offsets
    total += np.bincount(idx.ravel(), minlength=total.size)


def fit_gaussians(counts: np.ndarray, x: np.ndarray, valid: Optional[np.ndarray] = None,
                  iterations: int = 40) -> dict[str, np.ndarray]:
    """Least-squares Gaussian fits of many histograms at once (batched Levenberg–Marquardt).

    ``counts`` and ``x`` are (m, B) (padding bins marked False in ``valid``). Minimises
    Σ (counts − a·exp(−½((x−c)/σ)²))² per row — the same objective as ``scipy.optimize.curve_fit``
    — started from the histogram's moments. Returns amplitude, centre, sigma, r2 (fit quality) arrays.
    Rows with fewer than 3 populated bins keep their moment estimates (r2 = 0).
    """
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
    width = np.where(valid, 1, 0).sum(axis=1)
    step = np.where(width > 1, (x[:, 1] - x[:, 0]) if x.shape[1] > 1 else 1.0, 1.0)
    sig = np.sqrt(np.maximum(var, (step**2) / 12.0))
    amp = c.max(axis=1)
    p = np.stack([amp, mu, sig], axis=1)
    fittable = ((c > 0).sum(axis=1) >= 3) & (tot > 0)

    def model(p):
        e = np.exp(-0.5 * ((x - p[:, 1:2]) / p[:, 2:3]) ** 2) * w
        return p[:, 0:1] * e, e

    g, e = model(p)
    ssr = ((c - g) ** 2).sum(axis=1)
    lam = np.full(len(c), 1e-3)
    for _ in range(iterations):
        a, m, s = p[:, 0:1], p[:, 1:2], p[:, 2:3]
        dx = x - m
        J = np.stack([e, a * e * dx / s**2, a * e * dx**2 / s**3], axis=2)  # (m, B, 3)
        r = c - g
        JtJ = np.einsum("mbi,mbj->mij", J, J)
        Jtr = np.einsum("mbi,mb->mi", J, r)
        diag = np.einsum("mii->mi", JtJ)
        A = JtJ + lam[:, None, None] * (diag[:, :, None] * np.eye(3) + 1e-12 * np.eye(3))
        try:
            delta = np.linalg.solve(A, Jtr[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:
            delta = np.zeros_like(p)
        trial = p + delta
        trial[:, 2] = np.abs(trial[:, 2])
        ok_shape = np.isfinite(trial).all(axis=1) & (trial[:, 2] > 1e-12)
        g_t, e_t = model(np.where(ok_shape[:, None], trial, p))
        ssr_t = ((c - g_t) ** 2).sum(axis=1)
        better = ok_shape & (ssr_t < ssr) & fittable
        p[better] = trial[better]
        g[better], e[better], ssr[better] = g_t[better], e_t[better], ssr_t[better]
        lam = np.where(better, lam * 0.3, lam * 10.0)
        lam = np.clip(lam, 1e-9, 1e9)
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
    lo, bins = _bin_layout(z.min(axis=0).astype(np.float64), z.max(axis=0).astype(np.float64), interval)
    offsets = np.concatenate([[0], np.cumsum(bins)[:-1]])
    flat = np.zeros(int(bins.sum()), dtype=np.int64)
    for i in range(0, len(z), _CHUNK):
        _accumulate_histograms(np.asarray(z[i : i + _CHUNK], dtype=np.float64), lo, bins, offsets, interval, flat)
    counts, x, valid = _padded(lo, bins, flat, interval)
    fit = fit_gaussians(counts, x, valid)
    return _fit_summary(fit, z.mean(axis=0), z.std(axis=0)) | {"hist_lo": lo, "hist_bins": bins, "hist_counts": counts}


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
                  cancel: Optional[CancelToken] = None) -> LatentStats:
    """All statistics of the cloud ``z`` (N×d) in two passes over the data.

    BLAS runs single-threaded here: measured on 2 busy cores, 170,000 × 256 take 2.4 s with one
    thread and 5.7–7.6 s with two (OpenBLAS spin-waits); see benchmarks/bench_latent_stats.py."""
    with single_thread_blas():
        return _compute_stats(z, interval, progress, cancel)


def _compute_stats(z, interval, progress, cancel) -> LatentStats:
    cancel = cancel or CancelToken()
    z = np.asarray(z)
    if z.ndim != 2 or len(z) < 2:
        raise DataError(f"statistics need an N×d array of at least 2 z-points, got shape {list(z.shape)}")
    if not np.isfinite(interval) or interval <= 0:
        raise DataError(f"sampling interval must be > 0, got {interval}")
    n, d = z.shape
    steps = 2 * math.ceil(n / _CHUNK) + 1
    tick = StepTicker("latent statistics", steps, progress, cancel)

    # pass 1: mean, range (cheap reductions), then Gram matrix + histograms chunk by chunk
    mean = z.mean(axis=0, dtype=np.float64)
    zmin = z.min(axis=0).astype(np.float64)
    zmax = z.max(axis=0).astype(np.float64)
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
        version=np.array(CACHE_VERSION),
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
            return LatentStats(n=int(f["n"]), z_dim=int(f["z_dim"]), interval=float(f["interval"]), pca=pca,
                               normality=norm, key=str(f["key"]), **a)
    except (OSError, ValueError, KeyError, EOFError):
        return None
    except Exception:  # noqa: BLE001 - a damaged zip is a cache miss, never a crash
        return None


def load_or_compute_stats(model_dir: str | Path, z: np.ndarray, interval: float = 0.25, *,
                          progress: ProgressCallback = no_progress, cancel: Optional[CancelToken] = None) -> LatentStats:
    """Statistics of ``z``, cached per model in the user's cache folder (keyed by a hash of z and the interval).

    ``model_dir`` is kept for the callers' sake; the cache key alone identifies the z-points. An unwritable
    cache folder just means no cache is written."""
    from .image_data import default_cache_dir

    key = stats_key(z, interval)
    path = default_cache_dir("stats") / f"{key}.npz"
    hit = load_stats(path, key) if path.is_file() else None
    if hit is None:  # the default model ships its statistics (engine.sealed_npz.shipped_bytes: its pinned manifest)
        from .sealed_npz import shipped_bytes

        data = shipped_bytes(path.name)
        hit = load_stats(io.BytesIO(data), key) if data is not None else None
    if hit is not None:
        progress(Progress("latent statistics", 1, 1, "from cache"))
        return hit
    stats = compute_stats(z, interval, progress=progress, cancel=cancel)
    stats.key = key
    try:
        save_stats(path, stats)
    except OSError:
        pass
    return stats


