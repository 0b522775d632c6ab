"""Statistics of a latent z-point cloud (N×d): per-component histograms with Gaussian fits, mean,
covariance, Pearson matrix, PCA, a normality check, and per-pair ellipses and density contours.

Everything is vectorised so that 170,000 × 256 z-points take a few seconds (see
``benchmarks/bench_latent_stats.py``); :func:`load_or_compute_stats` caches the result per model
in the user's cache folder (``~/.cache/latent-face-studio/stats/KEY.npz``, KEY a hash of the z-points and
the interval; plain arrays, no pickles, written atomically) — never inside the model folder, which may be
read-only (the installed default model) or someone else's.

Axes are ``("z", i)`` (original component i) or ``("pca", i)`` (principal component i, 0-based).
"""
from __future__ import annotations

import hashlib
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from .errors import DataError
from .progress import CancelToken, Progress, ProgressCallback, StepTicker, no_progress

Axis = tuple[str, int]

STATS_CACHE = "stats_cache.npz"
CACHE_VERSION = 1
NORMALITY_LEVELS = (1.0, 2.0, 3.0)
_CHUNK = 16384  # rows per pass over the cloud (bounded memory)


# ----------------------------------------------------------------------------------------------
# data classes (the GUI's contract)


@dataclass
class PCAResult:
    mean: np.ndarray  # (d,)
    components: np.ndarray  # (d, d): rows are principal axes, sorted by variance (largest first)
    explained_variance: np.ndarray  # (d,)
    explained_variance_ratio: np.ndarray  # (d,)

    def transform(self, z: np.ndarray) -> np.ndarray:
        """(N, d) z-points → (N, d) PCA coordinates."""
        return (np.asarray(z, dtype=np.float64) - self.mean) @ self.components.T

    def inverse_transform(self, v: np.ndarray) -> np.ndarray:
        """(N, k ≤ d) PCA coordinates → (N, d) z-points; missing trailing coordinates are 0 (the centre)."""
        v = np.atleast_2d(np.asarray(v, dtype=np.float64))
        k = v.shape[1]
        return v @ self.components[:k] + self.mean

    @property
    def sigmas(self) -> np.ndarray:
        return np.sqrt(np.maximum(self.explained_variance, 0.0))


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


# ----------------------------------------------------------------------------------------------
# the whole-cloud statistics


def single_thread_blas():
    """A context in which BLAS/LAPACK use one thread.

    Small dense problems (eigh/Cholesky of 256×256, the per-component products of a GMM) run
    ~100× slower with OpenBLAS's 2 threads when the cores are busy (spin-waiting), and no faster
    when they are idle; the big N×d products stay multi-threaded."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        from contextlib import nullcontext

        return nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def level_probability(level) -> np.ndarray:
    """P(|N(0,1)| ≤ level): 0.6827, 0.9545, 0.9973 for 1, 2, 3 σ."""
    from scipy.special import erf

    return erf(np.asarray(level, dtype=np.float64) / math.sqrt(2.0))


def chi2_threshold(level, dof: int) -> np.ndarray:
    """The d_M² below which a fraction ``level_probability(level)`` of a d-dim Gaussian lies."""
    from scipy.special import gammaincinv  # χ²(k).ppf(p) = 2·P⁻¹(k/2, p), without importing scipy.stats

    return 2.0 * gammaincinv(0.5 * dof, level_probability(level))


def chi2_pdf(x, dof: int) -> np.ndarray:
    """The χ²(dof) density at ``x`` (0 for x < 0): what d_M² of a Gaussian cloud follows. In log space, so that
    dof in the thousands neither overflows nor underflows; no scipy.stats import (0.8 s at start-up)."""
    x = np.asarray(x, dtype=np.float64)
    k = 0.5 * float(dof)
    with np.errstate(divide="ignore", invalid="ignore"):
        logp = (k - 1.0) * np.log(np.where(x > 0, x, 1.0)) - 0.5 * x - k * math.log(2.0) - math.lgamma(k)
        out = np.where(x > 0, np.exp(logp), 0.0)
    if k <= 1.0:  # at 0: χ²(1) is infinite, χ²(2) is 1/2
        out = np.where(x == 0, np.inf if k < 1.0 else 0.5, out)
    return out


def pca_from_cov(mean: np.ndarray, cov: np.ndarray) -> PCAResult:
    """PCA by the eigen-decomposition of the covariance — scikit-learn's ``svd_solver="covariance_eigh"``
    algorithm, with its sign convention (the largest-magnitude entry of each axis is positive)."""
    with single_thread_blas():
        w, v = np.linalg.eigh(np.asarray(cov, dtype=np.float64))
    order = np.argsort(w)[::-1]
    w = np.maximum(w[order], 0.0)
    comps = v[:, order].T.copy()
    big = np.argmax(np.abs(comps), axis=1)
    signs = np.sign(comps[np.arange(len(comps)), big])
    signs[signs == 0] = 1.0
    comps *= signs[:, None]
    total = w.sum()
    ratio = w / total if total > 0 else np.zeros_like(w)
    return PCAResult(np.asarray(mean, np.float64), comps, w, ratio)


def pca_of(z: np.ndarray) -> PCAResult:
    """PCA of a cloud of z-points (N×d), in float64: :func:`pca_from_cov` of its mean and covariance."""
    z64 = np.asarray(z, dtype=np.float64)
    d = z64.shape[1]
    return pca_from_cov(z64.mean(axis=0), np.cov(z64, rowvar=False).reshape(d, d))


def whitening(cov: np.ndarray, rel_eps: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """(W, R) with W = V·λ^-½ (whiten: (z−μ)@W) and R = λ^½·Vᵀ (colour: u@R), eigenvalues floored at
    rel_eps·mean(λ) so that a dead (constant) latent component never makes a singular matrix."""
    cov = np.asarray(cov, dtype=np.float64)
    with single_thread_blas():
        w, v = np.linalg.eigh(0.5 * (cov + cov.T))
    return whitening_from_eigen(w, v, rel_eps)


def whitening_from_eigen(eigenvalues: np.ndarray, eigenvectors: np.ndarray,
                         rel_eps: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """:func:`whitening` from an eigen-decomposition already at hand (eigenvectors as columns, e.g. a PCA's
    ``components.T``): the one place where eigenvalues are floored and inverted."""
    w = np.asarray(eigenvalues, dtype=np.float64)
    v = np.asarray(eigenvectors, dtype=np.float64)
    floor = rel_eps * max(float(np.mean(np.abs(w))), 1e-30)
    w = np.maximum(w, floor)
    return v / np.sqrt(w), (v * np.sqrt(w)).T


class Whitener:
    """A cloud's mean, covariance and whitening: z → (z − mean) @ W has identity covariance, u → mean + u @ R
    goes back (:func:`whitening`, a dead component floored, never singular). The one "mean + whiten" of the
    engine: the normal and kde samplers, evaluate's reference cloud, the attribute probes and the per-group
    normality check all fit theirs here. (Logistic probes on whitened inputs converge in ~10 iterations
    instead of ~70 on merely standardised ones, at the same accuracy.)"""

    def __init__(self, z: np.ndarray, rel_eps: float = 1e-6) -> None:
        z = np.asarray(z, dtype=np.float64)
        d = z.shape[1]
        self.mean = z.mean(axis=0)
        self.cov = np.cov(z, rowvar=False).reshape(d, d)
        self.W, self.R = whitening(self.cov, rel_eps)

    def transform(self, z: np.ndarray) -> np.ndarray:
        """Whitened coordinates of ``z`` (N×d)."""
        return (np.asarray(z, dtype=np.float64) - self.mean) @ self.W

    def colour(self, u: np.ndarray) -> np.ndarray:
        """Whitened coordinates ``u`` back to z-space (the inverse of :meth:`transform`)."""
        return self.mean + np.asarray(u, dtype=np.float64) @ self.R

    def mahalanobis_sq(self, z: np.ndarray) -> np.ndarray:
        """Squared Mahalanobis distance of each row of ``z`` to the cloud."""
        y = self.transform(z)
        return np.einsum("ij,ij->i", y, y)


def mahalanobis_sq(z: np.ndarray, mean: np.ndarray, W: np.ndarray) -> np.ndarray:
    out = np.empty(len(z), dtype=np.float64)
    for i in range(0, len(z), _CHUNK):
        y = (np.asarray(z[i : i + _CHUNK], dtype=np.float64) - mean) @ W
        out[i : i + len(y)] = np.einsum("ij,ij->i", y, y)
    return out


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
    z = np.ascontiguousarray(z)
    h.update(f"v{CACHE_VERSION}|{z.dtype.str}|{z.shape}|{float(interval)!r}|".encode())
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


# ----------------------------------------------------------------------------------------------
# pairs of axes: projection, moments, ellipses, density contours


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
