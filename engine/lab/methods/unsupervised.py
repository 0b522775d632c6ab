"""Unsupervised directions: found in the cloud (and the decoder) without labels.

* ``pca``: the principal axes of the cloud (latent_stats' own PCA: same order and signs as the app).
* ``ica``: scikit-learn's FastICA of the cloud (k components, whitened to unit variance inside the k
  leading principal dimensions); the direction of source i is the mixing matrix's column i (raising
  source i by one moves z along it). Sorted by σ along the direction, largest first.
* ``varimax``: the k leading principal axes' loadings ``V_k·Λ_k^½`` rotated by varimax (Kaiser's
  criterion, :func:`varimax`), each rotated factor's loading column being its direction. Sorted by σ.
* ``decoder``: SeFa's closed form: the leading eigenvectors of ``WᵀW`` for the decoder's first dense
  layer ``W = decoder_fc.weight`` (flat × z_dim): the unit z-moves that change that layer's output the
  most. A model without a readable ``decoder_fc`` is refused with an :class:`EngineError`.
Signs follow latent_stats' PCA convention: the largest-magnitude entry of ``u`` is positive.
"""
from __future__ import annotations

import warnings
from typing import Optional

import numpy as np

from ...errors import EngineError
from ...progress import CancelToken, Progress, ProgressCallback, no_progress
from ..direction import Direction, by_sigma, check_k, check_z, cloud, make, orient
from . import MethodInputs, direction_method


def pca_directions(z: np.ndarray, k: int = 10, *, pca=None) -> list[Direction]:
    """The k leading principal axes (latent_stats' PCA: the app's order and signs)."""
    from ...latent_stats import pca_of

    z = check_z(z)
    k = check_k(k, z.shape[1])
    mean, cov = cloud(z)
    pca = pca or pca_of(z)
    ratio = np.asarray(pca.explained_variance_ratio)
    return make("pca", "pca", pca.components[:k], mean, cov, [{"axis": i, "variance_ratio": float(ratio[i])} for i in range(k)])


def ica_directions(z: np.ndarray, k: int = 10, *, seed: int = 0, max_iter: int = 1000, tol: float = 1e-4,
                   progress: ProgressCallback = no_progress, cancel: Optional[CancelToken] = None) -> list[Direction]:
    """FastICA (scikit-learn) of the cloud: the mixing matrix's columns, sorted by σ along them."""
    from sklearn.decomposition import FastICA
    from sklearn.exceptions import ConvergenceWarning

    cancel = cancel or CancelToken()
    z = check_z(z)
    k = check_k(k, z.shape[1], len(z) - 1)
    mean, cov = cloud(z)
    progress(Progress("directions", 0, 1, f"ICA of {len(z)} z-points, {k} components"))
    cancel.raise_if_cancelled()
    ica = FastICA(n_components=k, whiten="unit-variance", random_state=seed, max_iter=max_iter, tol=tol)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        ica.fit(z)
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    cancel.raise_if_cancelled()
    units = by_sigma(orient(ica.mixing_.T), cov)
    progress(Progress("directions", 1, 1, "ICA done"))
    meta = {"iterations": int(ica.n_iter_), "converged": bool(converged), "seed": int(seed)}
    return make("ica", "ica", units, mean, cov, [dict(meta) for _ in units])


def varimax(loadings: np.ndarray, gamma: float = 1.0, max_iter: int = 500, tol: float = 1e-8) -> tuple[np.ndarray, np.ndarray]:
    """Kaiser's varimax rotation of a loadings matrix (p variables × k factors): (rotated loadings, R).

    Maximises the variance of the squared loadings per factor (gamma 1; 0 = quartimax) by the usual
    SVD iteration; R is orthogonal, rotated = loadings @ R."""
    L = np.asarray(loadings, dtype=np.float64)
    p, k = L.shape
    R = np.eye(k)
    crit = 0.0
    for _ in range(max_iter):
        LR = L @ R
        grad = L.T @ (LR**3 - (gamma / p) * LR @ np.diag(np.sum(LR**2, axis=0)))
        u, s, vt = np.linalg.svd(grad)
        R = u @ vt
        new = float(np.sum(s))
        if crit > 0 and new < crit * (1 + tol):
            break
        crit = new
    return L @ R, R


def varimax_directions(z: np.ndarray, k: int = 10, *, pca=None) -> list[Direction]:
    """The k leading principal axes' loadings (V_k·Λ_k^½), varimax-rotated; sorted by σ."""
    from ...latent_stats import pca_of

    z = check_z(z)
    k = check_k(k, z.shape[1])
    mean, cov = cloud(z)
    pca = pca or pca_of(z)
    loadings = pca.components[:k].T * np.sqrt(np.maximum(pca.explained_variance[:k], 0.0))[None, :]
    rotated, _ = varimax(loadings)
    units = by_sigma(orient(rotated.T), cov)
    return make("varimax", "varimax", units, mean, cov, [{"rotated_axes": k} for _ in units])


def decoder_weight(model, z_dim: Optional[int] = None) -> np.ndarray:
    """The decoder's first dense layer ``decoder_fc.weight`` (out × z_dim) as float64, or an EngineError
    saying the model has none we can read (an imported model of another architecture)."""
    module = getattr(model, "torch_module", model)  # a ModelCodec: the torch network behind it, if any
    layer = getattr(module, "decoder_fc", None)
    w = getattr(layer, "weight", None) if layer is not None else None
    if w is None and isinstance(model, np.ndarray):
        w = model
    if w is None:
        raise EngineError(f"{type(model).__name__}: the model's first decoder layer is not a readable dense layer "
                          "(no decoder_fc.weight); closed-form decoder directions need one — use pca, ica or varimax")
    try:
        if hasattr(w, "detach"):
            w = w.detach().cpu().double().numpy()
        w = np.asarray(w, dtype=np.float64)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise EngineError(f"decoder_fc.weight: cannot be read as a matrix ({exc})") from None
    if w.ndim != 2 or (z_dim is not None and w.shape[1] != z_dim) or not np.isfinite(w).all():
        raise EngineError(f"decoder_fc.weight: expected a finite (out × {z_dim or 'z_dim'}) matrix, got shape {list(w.shape)}")
    return w


def decoder_directions(z: np.ndarray, model, k: int = 10) -> list[Direction]:
    """SeFa: the leading eigenvectors of WᵀW (W = ``decoder_fc.weight``), largest eigenvalue first."""
    z = check_z(z)
    k = check_k(k, z.shape[1])
    w = decoder_weight(model, z.shape[1])
    mean, cov = cloud(z)
    evals, evecs = np.linalg.eigh(w.T @ w)
    order = np.argsort(evals)[::-1][:k]
    units = orient(evecs[:, order].T)
    total = float(np.sum(np.maximum(evals, 0)))
    metas = [{"eigenvalue": float(evals[i]), "eigenvalue_share": float(evals[i] / total) if total > 0 else 0.0}
             for i in order]
    return make("decoder", "decoder", units, mean, cov, metas)


# ---- the registry's entries


@direction_method("pca", kind="unsupervised", order=10, help="principal axes of the cloud (the app's PCA)")
def _pca(q: MethodInputs) -> list[Direction]:
    return pca_directions(q.z, q.k, pca=q.pca)


@direction_method("ica", kind="unsupervised", order=20, params=("k", "seed"),
                  help="independent components (scikit-learn FastICA), sorted by σ")
def _ica(q: MethodInputs) -> list[Direction]:
    return ica_directions(q.z, q.k, seed=q.seed, progress=q.progress, cancel=q.cancel)


@direction_method("varimax", kind="unsupervised", order=30, help="varimax-rotated principal axes, sorted by σ")
def _varimax(q: MethodInputs) -> list[Direction]:
    return varimax_directions(q.z, q.k, pca=q.pca)


@direction_method("decoder", kind="unsupervised", order=40, needs_model="decoder_fc.weight",
                  help="closed form from the decoder's first dense layer (SeFa): eigenvectors of WᵀW")
def _decoder(q: MethodInputs) -> list[Direction]:
    return decoder_directions(q.z, q.model, q.k)
