"""A latent cloud's Gaussian geometry: PCA, whitening (z → identity covariance and back), Mahalanobis
distances and the χ² quantities that turn them into probabilities.

Part of the latent statistics (:mod:`engine.latent_stats` re-exports every name here); no scipy.stats import
(0.8 s at start-up): the χ² functions use scipy.special.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

_CHUNK = 16384  # rows per pass over the cloud (bounded memory)


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


def subsample_rows(n: int, cap: int, seed: int = 0) -> np.ndarray:
    """Sorted indices of a seeded random subsample of ``cap`` of ``n`` rows (all rows when ``n ≤ cap``). Nested:
    for the same ``n`` and ``seed`` a smaller cap picks a subset of a larger cap's rows (one permutation's prefix)."""
    if n <= cap:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).permutation(n)[: int(cap)])


def cloud_moments(z: np.ndarray, exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    """(mean, covariance, count) of the rows of ``z`` (N×d), float64, ``exclude`` (row indices) left out.

    Up to :data:`_CHUNK` rows: ``np.cov`` of a float64 copy (exact, as always). Beyond: streamed in chunks
    (a read-only memory-mapped array is never copied whole): sums and the Gram matrix of rows shifted by the first
    chunk's mean, in float32 products summed in float64 (the centred data keep the float32 products accurate)."""
    n_all, d = z.shape
    keep = None
    if exclude is not None and len(exclude):
        keep = np.ones(n_all, bool)
        keep[np.asarray(exclude, dtype=np.int64)] = False
    if n_all <= _CHUNK:
        z64 = np.asarray(z if keep is None else z[keep], dtype=np.float64)
        return z64.mean(axis=0), np.cov(z64, rowvar=False).reshape(d, d), len(z64)
    with single_thread_blas():  # 2 BLAS threads on 2 busy cores spin-wait (see compute_stats)
        return _streamed_moments(z, keep)


def _streamed_moments(z: np.ndarray, keep: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, int]:
    n_all, d = z.shape
    shift = None
    total = np.zeros(d)
    gram = np.zeros((d, d))
    count = 0
    for i in range(0, n_all, _CHUNK):
        chunk = np.asarray(z[i : i + _CHUNK], dtype=np.float32)
        if keep is not None:
            chunk = chunk[keep[i : i + _CHUNK]]
        if not len(chunk):
            continue
        if shift is None:
            shift = chunk.mean(axis=0, dtype=np.float64).astype(np.float32)
        c = chunk - shift
        total += c.sum(axis=0, dtype=np.float64)
        gram += (c.T @ c).astype(np.float64)
        count += len(c)
    dm = total / count
    cov = (gram - count * np.outer(dm, dm)) / max(count - 1, 1)
    return shift.astype(np.float64) + dm, 0.5 * (cov + cov.T), count


def pca_of(z: np.ndarray) -> PCAResult:
    """PCA of a cloud of z-points (N×d), in float64: :func:`pca_from_cov` of its mean and covariance
    (:func:`cloud_moments`: streamed for a large cloud)."""
    z = np.asarray(z)
    mean, cov, _ = cloud_moments(z)
    return pca_from_cov(mean, cov)


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
    """A cloud's mean (``exclude``: row indices left out), covariance and whitening: z → (z − mean) @ W has identity covariance, u → mean + u @ R
    goes back (:func:`whitening`, a dead component floored, never singular). The one "mean + whiten" of the
    engine: the normal and kde samplers, evaluate's reference cloud, the attribute probes and the per-group
    normality check all fit theirs here. (Logistic probes on whitened inputs converge in ~10 iterations
    instead of ~70 on merely standardised ones, at the same accuracy.)"""

    def __init__(self, z: np.ndarray, rel_eps: float = 1e-6, exclude: np.ndarray | None = None) -> None:
        self.mean, self.cov, self.n = cloud_moments(np.asarray(z), exclude)  # streamed for a large cloud
        self.W, self.R = whitening(self.cov, rel_eps)

    def transform(self, z: np.ndarray) -> np.ndarray:
        """Whitened coordinates of ``z`` (N×d), float64, computed a chunk at a time (no N×d temporaries)."""
        z = np.asarray(z)
        if len(z) <= _CHUNK:
            return (np.asarray(z, dtype=np.float64) - self.mean) @ self.W
        out = np.empty((len(z), self.W.shape[1]))
        for i in range(0, len(z), _CHUNK):
            np.matmul(np.asarray(z[i : i + _CHUNK], dtype=np.float64) - self.mean, self.W, out=out[i : i + _CHUNK])
        return out

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
