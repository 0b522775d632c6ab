"""Direction lab: meaningful directions in z-space, found with and without labels, named, measured, kept.

Every direction here is a z-space vector ``v`` scaled so that **one unit = one standard deviation of the
model's z-points along it**: ``v = u·σ_u`` with ``u`` a unit vector and ``σ_u = sqrt(uᵀΣu)`` (Σ the cloud's
covariance). Amount 2 therefore means "two σ of the cloud along this direction" for every method, and
``direction.apply(z, a) = z + a·v``. (Attribute directions of :mod:`engine.attributes` measure amounts in
class-mean gaps instead; a :class:`Direction` made from one records that gap in σ units as
``meta["class_gap_sigma"]``.)

Unsupervised (:func:`unsupervised_directions`)
-----------------------------------------------
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

Supervised (:func:`attribute_directions`, :func:`conditional_direction`)
------------------------------------------------------------------------
* ``attribute``: engine.attributes' editing direction (by default the class-balanced logistic probe on
  standardised z), rescaled to σ units.
* ``conditional`` ("move A, hold B, C …", InterFaceGAN's ``project_boundary`` for our cloud): A's
  editing direction ``v`` projected so that the *held attributes' judges do not change*: each held
  attribute has a linear judge (:class:`AttributeProbes`: its logit is ``w_B·z + b``), and the result
  ``v'`` satisfies ``w_B·v' = 0`` for every held B. Among the vectors that do, ``v'`` is the one closest
  to ``v`` in the **cloud's Mahalanobis metric** (``(v'−v)ᵀΣ⁻¹(v'−v)`` minimal):
  ``v' = v − ΣW (WᵀΣW)⁻¹ Wᵀv`` with W = [w_B, w_C, …]. The judges are (regularised) LDA-like probes,
  ``w_B ∝ Σ⁻¹d_B`` with ``d_B = Σw_B`` the held attribute's own direction in z, so ``w_B·v' = 0`` is
  ``v'ᵀΣ⁻¹d_B = 0``: **v' is orthogonal to the held direction in the Mahalanobis metric**, which is
  the metric in which a linear judge of B cannot see the move, and the correction runs along
  ``d_B`` — a well-populated direction of the cloud — instead of along ``w_B`` itself, which leans on
  low-variance axes the decoder hardly renders (and would push faces out of the cloud).
  The Euclidean cosine with the held editing direction is reported in ``meta`` too.

Names and measures (:func:`measure_directions`, :func:`table_rows`, :func:`format_table`)
-------------------------------------------------------------------------------------------
* Attribute judges (:func:`attribute_probes`): per labelled attribute, engine.attributes' LinearProbe
  (class-balanced logistic regression on the whitened cloud, C = 0.05 — the ranking's probe and the
  judge of ``evaluate``), cached in the user's cache folder. **Effect size** of a direction v on
  attribute a: ``e_a = w_a·v``, the change of the judge's **log-odds** of a for one unit (1σ) along v:
  ``+1.3`` multiplies the odds the judge gives the attribute by e^1.3 ≈ 3.7 per step, ``-0.2`` divides
  them by 1.22. (For two Gaussian classes with a shared covariance the logistic judge is LDA and e_a is
  Cohen's d of the attribute's groups along the direction.) A log-odds scale does not inflate weak
  attributes — a judge that barely separates an attribute has a flat logit — whereas dividing by the
  class-mean logit gap did (measured: it named the principal axes after Big_Lips, Oval_Face,
  Wearing_Necklace). The name is the three largest ``|e_a|``, signed:
  ``"+Smiling 1.30, +Mouth_Slightly_Open 0.90, −Male 0.20"``.
* ``pixel_mse``: mean squared pixel change (pixels in [0, 1]) when n typical faces are decoded at z and
  at z + v (one unit); ``feature_change``: the mean distance the move makes in the feature space of
  ``evaluate``'s Fréchet distance, divided by the median feature distance between two different real
  faces (1.0 = as far as another person's face).
* ``outside_2s``: the fraction of typical faces (z-points inside the cloud's 2σ Mahalanobis ellipsoid)
  that a ±2 move carries outside it (mean of + and −); ``maha_per_unit``: the Mahalanobis length of one
  unit, ``sqrt(vᵀΣ⁻¹v)`` (1 for a principal axis; larger = the direction leaves the cloud's shape).
* ``variance_share``: σ_v² / trace Σ. ``max_overlap``: the largest |cosine| with another direction of
  the set (:func:`overlap_matrix` gives them all).

Keeping them (:func:`save_direction_set`, :func:`load_direction_set`)
---------------------------------------------------------------------
``NAME.json`` (format, version, model id, z_dim, per-direction name/method/label/σ/meta) and ``NAME.npy``
(k × z_dim float32, the σ-scaled vectors, written first; the JSON is the manifest, written last).
Written only where new or holding a set we wrote (``overwrite``), never over a user's file. Loading
validates like every user file (size-capped regular files, no pickle, types, shapes, finite values) and
refuses another model's set unless ``force=True`` (a z_dim mismatch is refused always).

Maps (:func:`compute_map`, view only)
-------------------------------------
t-SNE (scikit-learn) or PCA of the cloud to 2-D, with progress and cancel, cached in the user's cache
folder. These maps have no inverse: a point of the map is not a z-vector ("view only").

For the GUI (no Qt here; every function may run in a worker thread)
-------------------------------------------------------------------
* a lab panel: ``dirs = unsupervised_directions(z, method, k, model=model, progress=…, cancel=…)`` or
  ``attribute_directions`` / ``conditional_direction``; ``probes = attribute_probes(z, table, …)``
  (cached; ~0.5 s per attribute the first time); ``measures = measure_directions(z, dirs, probes=probes,
  model=model, features=FeatureSpace() or None, …)``; ``rows = table_rows(dirs, measures)``;
  ``sort_rows(rows, column)``; ``COLUMNS`` names the columns and their headers.
* an inspector slider / pair-plot or atlas axis: ``d.vector`` (z units per slider unit) and
  ``d.coordinate(z)`` (the slider value of a z-point: its offset from the cloud mean along d, in σ).
* ``save_direction_set`` / ``load_direction_set(path, model_id=config.model_id, z_dim=…, force=…)``.
* maps: ``compute_map(z, "tsne", progress=…, cancel=…)`` → ``LatentMap.xy``; colour with
  ``table.groups(name)`` or ``d.coordinate(z)``; ``attribute_silhouettes`` for the note.
"""
from __future__ import annotations

import hashlib
import io
import json
import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from . import __version__, atomic_io
from .errors import EngineError
from .progress import CancelToken, Progress, ProgressCallback, no_progress

FORMAT_NAME = "latent-face-studio-directions"
FORMAT_VERSION = 1
WRITTEN_BY = "latent-face-studio"
UNSUPERVISED = ("pca", "ica", "varimax", "decoder")
SUPERVISED = ("attribute", "conditional")
METHODS = UNSUPERVISED + SUPERVISED
MAP_METHODS = ("tsne", "pca", "umap")
#: a direction set's JSON is a few kB; anything far larger is not ours
MAX_SET_JSON_BYTES = 4 * 2**20
#: the vectors file: MAX_DIRECTIONS × z_dim float64 at most
MAX_DIRECTIONS = 4096
MAX_VECTOR_BYTES = 256 * 2**20
MAX_NAME_CHARS = 200
#: the largest |entry| of a stored vector (z-points are never beyond model_store.LATENT_LIMIT)
VECTOR_LIMIT = 1e6
PROBE_C = 0.05
MIN_GROUP = 10  # an attribute judge needs this many labelled z-points with and without the attribute
CACHE_VERSION = 1
UNIT_TEXT = "one standard deviation of the model's z-points along the direction"
VIEW_ONLY_NOTE = ("view only: a 2-D map of the z-points has no inverse — a position on it is not a z-vector, "
                  "and distances between far-apart clusters of a t-SNE/UMAP map mean little")


# =============================================================================================
# directions


@dataclass
class Direction:
    """A z-space direction; one unit of amount = one standard deviation of the cloud along it."""

    name: str  # "pca 1", "ica 3", "Smiling", "Smiling | hold Male"
    method: str  # one of METHODS
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
                "meta": _json_safe(self.meta)}


def _json_safe(v):
    if isinstance(v, dict):
        return {str(k): _json_safe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_json_safe(x) for x in v]
    if isinstance(v, (np.floating, float)):
        f = float(v)
        return f if math.isfinite(f) else None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, np.ndarray):
        return _json_safe(v.tolist())
    return v


def _cloud(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z = _check_z(z)
    d = z.shape[1]
    return z.mean(axis=0), np.cov(z, rowvar=False).reshape(d, d)


def _check_z(z) -> np.ndarray:
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 2 or len(z) < 3 or z.shape[1] < 1:
        raise EngineError(f"z-points: expected an N×d array with N ≥ 3, got shape {list(z.shape)}")
    if not np.isfinite(z).all():
        raise EngineError("z-points: hold NaN or Inf")
    return z


def _check_k(k, d: int, limit: Optional[int] = None) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise EngineError(f"--k {k!r}: expected a whole number of directions")
    top = d if limit is None else min(d, limit)
    if not 1 <= int(k) <= top:
        raise EngineError(f"--k {k}: expected 1 to {top} directions (z_dim {d})")
    return int(k)


def _orient(units: np.ndarray) -> np.ndarray:
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


def _make(prefix: str, method: str, units: np.ndarray, mean, cov, metas=None) -> list[Direction]:
    vecs = sigma_scaled(units, cov)
    metas = metas or [{} for _ in vecs]
    return [Direction(f"{prefix} {i + 1}", method, v, meta=m, origin=mean) for i, (v, m) in enumerate(zip(vecs, metas))]


def _by_sigma(units: np.ndarray, cov: np.ndarray) -> np.ndarray:
    s = np.einsum("ij,jk,ik->i", units, cov, units)
    return units[np.argsort(-s, kind="stable")]


def pca_directions(z: np.ndarray, k: int = 10, *, pca=None) -> list[Direction]:
    """The k leading principal axes (latent_stats' PCA: the app's order and signs)."""
    from .latent_stats import pca_of

    z = _check_z(z)
    k = _check_k(k, z.shape[1])
    mean, cov = _cloud(z)
    pca = pca or pca_of(z)
    ratio = np.asarray(pca.explained_variance_ratio)
    return _make("pca", "pca", pca.components[:k], mean, cov, [{"axis": i, "variance_ratio": float(ratio[i])} for i in range(k)])


def ica_directions(z: np.ndarray, k: int = 10, *, seed: int = 0, max_iter: int = 1000, tol: float = 1e-4,
                   progress: ProgressCallback = no_progress, cancel: Optional[CancelToken] = None) -> list[Direction]:
    """FastICA (scikit-learn) of the cloud: the mixing matrix's columns, sorted by σ along them."""
    from sklearn.decomposition import FastICA
    from sklearn.exceptions import ConvergenceWarning

    cancel = cancel or CancelToken()
    z = _check_z(z)
    k = _check_k(k, z.shape[1], len(z) - 1)
    mean, cov = _cloud(z)
    progress(Progress("directions", 0, 1, f"ICA of {len(z)} z-points, {k} components"))
    cancel.raise_if_cancelled()
    ica = FastICA(n_components=k, whiten="unit-variance", random_state=seed, max_iter=max_iter, tol=tol)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        ica.fit(z)
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    cancel.raise_if_cancelled()
    units = _by_sigma(_orient(ica.mixing_.T), cov)
    progress(Progress("directions", 1, 1, "ICA done"))
    meta = {"iterations": int(ica.n_iter_), "converged": bool(converged), "seed": int(seed)}
    return _make("ica", "ica", units, mean, cov, [dict(meta) for _ in units])


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
    from .latent_stats import pca_of

    z = _check_z(z)
    k = _check_k(k, z.shape[1])
    mean, cov = _cloud(z)
    pca = pca or pca_of(z)
    loadings = pca.components[:k].T * np.sqrt(np.maximum(pca.explained_variance[:k], 0.0))[None, :]
    rotated, _ = varimax(loadings)
    units = _by_sigma(_orient(rotated.T), cov)
    return _make("varimax", "varimax", units, mean, cov, [{"rotated_axes": k} for _ in units])


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
    z = _check_z(z)
    k = _check_k(k, z.shape[1])
    w = decoder_weight(model, z.shape[1])
    mean, cov = _cloud(z)
    evals, evecs = np.linalg.eigh(w.T @ w)
    order = np.argsort(evals)[::-1][:k]
    units = _orient(evecs[:, order].T)
    total = float(np.sum(np.maximum(evals, 0)))
    metas = [{"eigenvalue": float(evals[i]), "eigenvalue_share": float(evals[i] / total) if total > 0 else 0.0}
             for i in order]
    return _make("decoder", "decoder", units, mean, cov, metas)


def unsupervised_directions(z: np.ndarray, method: str, k: int = 10, *, model=None, seed: int = 0, pca=None,
                            progress: ProgressCallback = no_progress,
                            cancel: Optional[CancelToken] = None) -> list[Direction]:
    if method == "pca":
        return pca_directions(z, k, pca=pca)
    if method == "ica":
        return ica_directions(z, k, seed=seed, progress=progress, cancel=cancel)
    if method == "varimax":
        return varimax_directions(z, k, pca=pca)
    if method == "decoder":
        if model is None:
            raise EngineError("--method decoder: needs the model's weights (decoder_fc.weight)")
        return decoder_directions(z, model, k)
    raise EngineError(f"--method {method!r}: unknown; allowed: {', '.join(UNSUPERVISED)}")


# =============================================================================================
# supervised directions


def attribute_directions(z: np.ndarray, table, names: Sequence[str], method: Optional[str] = None) -> list[Direction]:
    """engine.attributes' editing directions of ``names`` (default method: the probe), in σ units."""
    from .attributes import DEFAULT_EDIT_METHOD, attribute_direction

    z = _check_z(z)
    if not names:
        raise EngineError("--attribute: name at least one attribute, e.g. Smiling or Smiling,Male")
    method = method or DEFAULT_EDIT_METHOD
    mean, cov = _cloud(z)
    out = []
    for nm in names:
        ad = attribute_direction(z, table, nm, method)
        v = sigma_scaled(ad.unit, cov)[0]
        s = float(np.linalg.norm(v))
        out.append(Direction(nm, "attribute", v, origin=mean, meta={
            "attribute": nm, "attribute_method": method, "class_gap_sigma": float(ad.step / s) if s > 0 else None,
            "n_present": ad.n_present, "n_absent": ad.n_absent}))
    return out


def conditional_direction(z: np.ndarray, table, name: str, hold: Sequence[str], *, probes: "AttributeProbes" = None,
                          method: Optional[str] = None) -> Direction:
    """Move ``name`` while holding every attribute of ``hold``: see the module docstring (the held judges'
    logits stay constant; the projection is the nearest in the cloud's Mahalanobis metric)."""
    from .attributes import DEFAULT_EDIT_METHOD, attribute_direction

    z = _check_z(z)
    hold = [h for h in dict.fromkeys(hold)]
    if not hold:
        raise EngineError("--hold: name at least one attribute to hold, e.g. --hold Male")
    if name in hold:
        raise EngineError(f"--hold {','.join(hold)}: {name} cannot be moved and held at once")
    method = method or DEFAULT_EDIT_METHOD
    mean, cov = _cloud(z)
    for h in hold:
        table.index(h)  # unknown names: one line listing the allowed ones
    if probes is None or any(h not in probes.names for h in hold):
        probes = attribute_probes(z, table, names=hold, cache=True)
    W = np.stack([probes.weights[probes.names.index(h)] for h in hold], axis=1)  # d × m
    ad = attribute_direction(z, table, name, method)
    v = ad.unit
    SW = cov @ W
    G = W.T @ SW
    try:
        coef = np.linalg.solve(G, W.T @ v)
    except np.linalg.LinAlgError:
        coef = np.linalg.lstsq(G, W.T @ v, rcond=None)[0]
    v2 = v - SW @ coef
    if np.linalg.norm(v2) < 1e-9 * np.linalg.norm(v):
        raise EngineError(f"--hold {','.join(hold)}: nothing of {name}'s direction is left once they are held")
    # keep "positive = more of the attribute"
    present, absent = table.groups(name)
    if (z[present].mean(axis=0) - z[absent].mean(axis=0)) @ v2 < 0:
        v2 = -v2
    vec = sigma_scaled(v2, cov)[0]
    u2 = vec / np.linalg.norm(vec)
    euclid = {}
    for h in hold:
        hd = attribute_direction(z, table, h, method).unit
        euclid[h] = float(abs(u2 @ hd))
    kept = float(abs(u2 @ v))
    s = float(np.linalg.norm(vec))
    return Direction(f"{name} | hold {','.join(hold)}", "conditional", vec, origin=mean, meta={
        "attribute": name, "hold": list(hold), "attribute_method": method,
        "metric": "Mahalanobis (cloud covariance); held judges' logits unchanged",
        "cosine_with_unconditional": kept, "euclidean_cosine_with_held": euclid,
        "class_gap_sigma": float(ad.step * (u2 @ ad.unit) / s) if s > 0 else None})


# =============================================================================================
# attribute judges (for names) — cached


@dataclass
class AttributeProbes:
    """One linear judge per labelled attribute: logit_a(z) = weights[a]·z + bias[a];
    ``gaps[a]`` = weights[a]·(μ₊ − μ₋), the logit gap between the class means (for reference)."""

    names: list[str]
    weights: np.ndarray  # (A, d)
    bias: np.ndarray  # (A,)
    gaps: np.ndarray  # (A,)
    n_present: np.ndarray  # (A,)
    n_absent: np.ndarray  # (A,)

    def effects(self, vectors: np.ndarray) -> np.ndarray:
        """(k, d) direction vectors → (k, A) effect sizes: the judges' log-odds change per unit."""
        v = np.atleast_2d(np.asarray(vectors, dtype=np.float64))
        return v @ self.weights.T


def _probe_key(z: np.ndarray, table, names: Sequence[str]) -> str:
    h = hashlib.blake2b(digest_size=16)
    z = np.ascontiguousarray(z, dtype=np.float32)
    vals = np.ascontiguousarray(table.values, dtype=np.float32)
    h.update(f"probes v{CACHE_VERSION}|C{PROBE_C}|{z.shape}|{vals.shape}|{json.dumps(list(names))}|{json.dumps(list(table.names))}|".encode())
    h.update(memoryview(z).cast("B"))
    h.update(memoryview(vals).cast("B"))
    return h.hexdigest()


def _load_cached(path: Path, key: str, arrays: Sequence[str]) -> Optional[dict]:
    try:
        if not path.is_file() or path.stat().st_size > MAX_VECTOR_BYTES:
            return None
        with np.load(path, allow_pickle=False) as f:
            if str(f["key"]) != key:
                return None
            return {a: f[a] for a in arrays}
    except Exception:  # noqa: BLE001 - a damaged cache file is a miss, never a crash
        return None


def _save_cached(path: Path, key: str, **arrays) -> None:
    buf = io.BytesIO()
    np.savez(buf, key=np.array(key), **arrays)
    try:
        atomic_io.write_bytes(path, buf.getvalue())
    except OSError:
        pass  # an unwritable cache folder just means no cache


def attribute_probes(z: np.ndarray, table, *, names: Optional[Sequence[str]] = None, cache: bool = True,
                     progress: ProgressCallback = no_progress, cancel: Optional[CancelToken] = None) -> AttributeProbes:
    """A class-balanced logistic judge (engine.attributes.LinearProbe, whitened, C=0.05) per attribute with at
    least MIN_GROUP labelled z-points in each group; cached in the user's cache folder (keyed by z and labels)."""
    from .attributes import LinearProbe, Whitener
    from .image_data import default_cache_dir

    cancel = cancel or CancelToken()
    z = _check_z(z)
    if len(table) != len(z):
        raise EngineError(f"labels for {len(table)} z-points do not match the model's {len(z)} z-points")
    todo = list(names) if names is not None else list(table.names)
    for nm in todo:
        table.index(nm)
    key = _probe_key(z, table, todo)
    path = default_cache_dir("directions") / f"probes-{key}.npz"
    fields = ("names", "weights", "bias", "gaps", "n_present", "n_absent")
    if cache:
        hit = _load_cached(path, key, fields)
        if hit is not None and hit["weights"].shape[1:] == (z.shape[1],):
            progress(Progress("attribute judges", 1, 1, "from cache"))
            return AttributeProbes([str(s) for s in hit["names"]], hit["weights"], hit["bias"], hit["gaps"],
                                   hit["n_present"], hit["n_absent"])
    wh = Whitener(z)
    out_names, W, B, G, NP, NA = [], [], [], [], [], []
    for i, nm in enumerate(todo):
        cancel.raise_if_cancelled()
        progress(Progress("attribute judges", i, len(todo), f"fitting {nm}"))
        p, a = table.groups(nm)
        if p.sum() < MIN_GROUP or a.sum() < MIN_GROUP:
            continue
        keep = p | a
        pr = LinearProbe(PROBE_C, True, wh).fit(z[keep], p[keep])
        gap = float((z[p].mean(axis=0) - z[a].mean(axis=0)) @ pr.weights)
        out_names.append(nm)
        W.append(pr.weights)
        B.append(pr.bias)
        G.append(gap)
        NP.append(int(p.sum()))
        NA.append(int(a.sum()))
    progress(Progress("attribute judges", len(todo), len(todo), "done"))
    d = z.shape[1]
    res = AttributeProbes(out_names, np.array(W, dtype=np.float64).reshape(-1, d), np.array(B, dtype=np.float64),
                          np.array(G, dtype=np.float64), np.array(NP, dtype=np.int64), np.array(NA, dtype=np.int64))
    if cache:
        _save_cached(path, key, names=np.array(out_names, dtype=str), weights=res.weights, bias=res.bias,
                     gaps=res.gaps, n_present=res.n_present, n_absent=res.n_absent)
    return res


def name_of(effects_row: np.ndarray, names: Sequence[str], top: int = 3) -> tuple[str, list[tuple[str, float]]]:
    """``"+Smiling 1.30, +Mouth_Slightly_Open 0.90, −Male 0.20"`` and the (name, effect) pairs."""
    e = np.asarray(effects_row, dtype=np.float64)
    order = np.argsort(-np.abs(e), kind="stable")[:top]
    pairs = [(names[i], float(e[i])) for i in order]
    text = ", ".join(f"{'+' if v >= 0 else '−'}{n} {abs(v):.2f}" for n, v in pairs)
    return text, pairs


def name_directions(directions: Sequence[Direction], probes: AttributeProbes, top: int = 3) -> np.ndarray:
    """Sets each direction's ``label``; returns the (k, A) effect matrix."""
    if not directions:
        return np.zeros((0, len(probes.names)))
    eff = probes.effects(np.stack([d.vector for d in directions]))
    if len(probes.names):
        for d, row in zip(directions, eff):
            d.label, _ = name_of(row, probes.names, top)
    return eff


# =============================================================================================
# measures and the table


@dataclass
class DirectionMeasures:
    sigma: float  # z units per unit
    variance_share: float  # σ² / trace Σ
    maha_per_unit: float  # sqrt(vᵀΣ⁻¹v)
    outside_2s: float  # fraction of typical faces a ±2 move carries outside the 2σ ellipsoid
    outside_2s_plus: float
    outside_2s_minus: float
    max_overlap: float  # largest |cos| with another direction of the set
    overlap_with: Optional[int]  # its index
    label: str = ""
    top: list = field(default_factory=list)  # [(attribute, effect), …]
    effects: Optional[np.ndarray] = None  # (A,)
    pixel_mse: float = float("nan")  # per unit, pixels in [0, 1]
    feature_change: float = float("nan")  # per unit ÷ median feature distance between two faces


def overlap_matrix(directions: Sequence[Direction]) -> np.ndarray:
    """(k, k) cosines between the directions."""
    if not directions:
        return np.zeros((0, 0))
    u = np.stack([d.unit for d in directions])
    return u @ u.T


def _typical(z: np.ndarray, mean, W, n: int, seed: int) -> np.ndarray:
    from .latent_stats import chi2_threshold

    y = (z - mean) @ W
    d2 = np.einsum("ij,ij->i", y, y)
    inside = np.flatnonzero(d2 <= float(chi2_threshold(2.0, z.shape[1])))
    if len(inside) == 0:
        inside = np.arange(len(z))
    rng = np.random.default_rng(seed)
    return rng.permutation(inside)[: min(n, len(inside))]


def measure_directions(z: np.ndarray, directions: Sequence[Direction], *, probes: Optional[AttributeProbes] = None,
                       model=None, features=None, n_faces: int = 64, n_typical: int = 3000, seed: int = 0,
                       progress: ProgressCallback = no_progress, cancel: Optional[CancelToken] = None) -> list[DirectionMeasures]:
    """The measures of the module docstring for each direction. ``model`` (for pixel_mse) and ``features`` (a
    FeatureSpace, for feature_change) are optional: without them those columns stay NaN."""
    from .latent_stats import chi2_threshold, whitening

    cancel = cancel or CancelToken()
    z = _check_z(z)
    mean, cov = _cloud(z)
    W, _ = whitening(cov)
    total_var = float(np.trace(cov))
    q2 = float(chi2_threshold(2.0, z.shape[1]))
    idx = _typical(z, mean, W, n_typical, seed)
    y = (z[idx] - mean) @ W
    d2 = np.einsum("ij,ij->i", y, y)
    eff = name_directions(directions, probes) if probes is not None else None
    ov = overlap_matrix(directions)
    out = []
    for i, d in enumerate(directions):
        cancel.raise_if_cancelled()
        vw = d.vector @ W
        m2 = float(vw @ vw)
        cross = y @ vw
        plus = float(np.mean(d2 + 4 * cross + 4 * m2 > q2))
        minus = float(np.mean(d2 - 4 * cross + 4 * m2 > q2))
        others = np.abs(ov[i]).copy()
        others[i] = -1
        j = int(np.argmax(others)) if len(others) > 1 else None
        m = DirectionMeasures(d.sigma, d.sigma**2 / total_var if total_var > 0 else 0.0, math.sqrt(m2),
                              (plus + minus) / 2, plus, minus, float(others[j]) if j is not None else 0.0, j)
        if eff is not None and len(probes.names):
            m.effects = eff[i]
            m.label, m.top = name_of(eff[i], probes.names)
        out.append(m)
    if model is not None and directions:
        _image_measures(z, directions, out, model, features, n_faces, seed, progress, cancel)
    return out


def _image_measures(z, directions, out, model, features, n_faces, seed, progress, cancel) -> None:
    from .encoding import decode_latents

    rng = np.random.default_rng(seed + 1)
    mean, cov = _cloud(z)
    from .latent_stats import whitening

    W, _ = whitening(cov)
    base_z = z[_typical(z, mean, W, n_faces, seed + 1)].astype(np.float32)
    base = decode_latents(model, base_z, cancel=cancel)
    fb = ref = None
    if features is not None:
        fb = features.features(base)
        pairs = rng.permutation(len(fb))
        dist = np.linalg.norm(fb - fb[pairs], axis=1)
        dist = dist[pairs != np.arange(len(fb))]
        ref = float(np.median(dist)) if len(dist) else float("nan")
    for i, d in enumerate(directions):
        cancel.raise_if_cancelled()
        progress(Progress("measuring directions", i, len(directions), f"decoding {d.name}"))
        moved = decode_latents(model, base_z + d.vector.astype(np.float32)[None, :], cancel=cancel)
        diff = (moved.astype(np.float32) - base.astype(np.float32)) / 255.0
        out[i].pixel_mse = float(np.mean(diff**2))
        if features is not None and ref and ref > 0:
            fm = features.features(moved)
            out[i].feature_change = float(np.mean(np.linalg.norm(fm - fb, axis=1)) / ref)
    progress(Progress("measuring directions", len(directions), len(directions), "done"))


#: (key, header, format) of the table's columns; every key sorts
COLUMNS = (
    ("index", "#", "{:>3}"),
    ("name", "direction", "{:<24}"),
    ("sigma", "σ (z)", "{:>7.3f}"),
    ("variance_share", "var %", "{:>6.2%}"),
    ("top_effect", "top |e|", "{:>7.2f}"),
    ("pixel_mse", "pix MSE", "{:>8.5f}"),
    ("feature_change", "feat Δ", "{:>6.3f}"),
    ("outside_2s", "out 2σ", "{:>6.3f}"),
    ("maha_per_unit", "maha", "{:>6.2f}"),
    ("max_overlap", "max|cos|", "{:>8.3f}"),
    ("label", "moves most (effect: judge log-odds change per unit)", "{}"),
)
COLUMN_KEYS = tuple(c[0] for c in COLUMNS)


def table_rows(directions: Sequence[Direction], measures: Sequence[DirectionMeasures]) -> list[dict]:
    rows = []
    for i, (d, m) in enumerate(zip(directions, measures), 1):
        rows.append({
            "index": i, "name": d.name, "method": d.method, "sigma": m.sigma, "variance_share": m.variance_share,
            "top_effect": abs(m.top[0][1]) if m.top else float("nan"), "pixel_mse": m.pixel_mse,
            "feature_change": m.feature_change, "outside_2s": m.outside_2s, "maha_per_unit": m.maha_per_unit,
            "max_overlap": m.max_overlap, "label": m.label or d.label,
        })
    return rows


def sort_rows(rows: list[dict], column: Optional[str] = None, descending: Optional[bool] = None) -> list[dict]:
    """Rows sorted by ``column`` (a COLUMN_KEYS name, or its header; a leading '-' / '+' forces descending /
    ascending; numbers default to descending, text to ascending; NaN last)."""
    if not column:
        return list(rows)
    col = column.strip()
    if col[:1] in "+-" and len(col) > 1:
        descending, col = col[0] == "-", col[1:]
    by_header = {h.split(" (")[0].lower(): k for k, h, _ in COLUMNS}
    key = col if col in COLUMN_KEYS else by_header.get(col.lower())
    if key is None:
        raise EngineError(f"--sort {column!r}: unknown column; allowed: {', '.join(COLUMN_KEYS)}")
    numeric = key not in ("name", "label")
    if descending is None:
        descending = numeric and key != "index"

    def k(r):
        v = r.get(key)
        if numeric:
            bad = v is None or (isinstance(v, float) and math.isnan(v))
            return (bad, (-v if descending else v) if not bad else 0)
        return (False, str(v))

    out = sorted(rows, key=k)
    if descending and not numeric:
        out.reverse()
    return out


def format_table(rows: Sequence[dict]) -> str:
    """A text table of :func:`table_rows` (the name column as wide as the longest name, up to 48)."""
    width = max([24] + [min(48, len(str(r.get("name", "")))) for r in rows])
    cols = [(k, h, "{:<%d}" % width if k == "name" else f) for k, h, f in COLUMNS[:-1]]
    head = " ".join(_pad(h, f) for _, h, f in cols) + "  " + COLUMNS[-1][1]
    lines = [head]
    for r in rows:
        cells = []
        for key, _, fmt in cols:
            v = r.get(key)
            if isinstance(v, float) and math.isnan(v):
                cells.append(_pad("—", fmt))
            else:
                cells.append(fmt.format(v))
        lines.append(" ".join(cells) + "  " + str(r.get("label") or "—"))
    return "\n".join(lines)


def _pad(text: str, fmt: str) -> str:
    import re

    m = re.search(r"([<>])(\d+)", fmt)
    if not m:
        return text
    w = int(m.group(2))
    return text.ljust(w) if m.group(1) == "<" else text.rjust(w)


# =============================================================================================
# keeping them: NAME.json + NAME.npy


@dataclass
class DirectionSet:
    name: str
    model_id: str
    z_dim: int
    directions: list[Direction]
    path: Optional[Path] = None  # the JSON file it was loaded from / saved to
    foreign: bool = False  # loaded with force onto a model other than its own

    @property
    def vectors(self) -> np.ndarray:
        return np.stack([d.vector for d in self.directions]) if self.directions else np.zeros((0, self.z_dim))


def set_paths(path) -> tuple[Path, Path]:
    """``x`` / ``x.json`` / ``x.npy`` → (``x.json``, ``x.npy``)."""
    p = Path(path)
    if p.suffix.lower() in (".json", ".npy"):
        p = p.with_suffix("")
    return p.with_name(p.name + ".json"), p.with_name(p.name + ".npy")


def _is_our_set_json(path: Path) -> bool:
    try:
        if path.stat().st_size > MAX_SET_JSON_BYTES:
            return False
        obj = json.loads(Path(path).read_text("utf-8"))
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(obj, dict) and obj.get("format") == FORMAT_NAME and obj.get("written_by") == WRITTEN_BY


def check_set_output(path, *, overwrite: bool = False, inputs: Sequence = (), label: str = "--out") -> tuple[Path, Path]:
    """Refuse, before any work, a set path that may not be written: (``NAME.json``, ``NAME.npy``) when both are
    new, or (with ``overwrite``) a set we wrote; a user's file of either name is never replaced."""
    from . import output_folders

    jpath, npath = set_paths(output_folders.check_path_text(path, label))
    ours = _is_our_set_json(jpath)
    output_folders.check_output_file(jpath, inputs=inputs, overwrite=overwrite, label=label,
                                     is_ours=lambda p: ours, what="direction set")
    output_folders.check_output_file(npath, inputs=inputs, overwrite=overwrite, label=label,
                                     is_ours=lambda p: ours, what="direction set's vectors file")
    return jpath, npath


def save_direction_set(path, dset: DirectionSet, *, overwrite: bool = False, inputs: Sequence = (),
                       label: str = "--out") -> tuple[Path, Path]:
    """Write ``NAME.npy`` and ``NAME.json`` (the manifest) together, atomically, by the rules of
    :func:`check_set_output`."""
    if not dset.directions:
        raise EngineError(f"{label} {path}: no directions to save")
    if len(dset.directions) > MAX_DIRECTIONS:
        raise EngineError(f"{label} {path}: at most {MAX_DIRECTIONS} directions per set")
    jpath, npath = check_set_output(path, overwrite=overwrite, inputs=inputs, label=label)
    vectors = dset.vectors.astype(np.float32)
    if vectors.shape[1] != dset.z_dim or not np.isfinite(vectors).all():
        raise EngineError(f"{label} {path}: vectors must be finite and {dset.z_dim} wide")
    meta = {
        "format": FORMAT_NAME, "version": FORMAT_VERSION, "written_by": WRITTEN_BY, "app_version": __version__,
        "name": dset.name, "model_id": dset.model_id, "z_dim": int(dset.z_dim), "count": len(dset.directions),
        "vectors_file": npath.name, "unit": UNIT_TEXT, "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "directions": [d.to_json() for d in dset.directions],
    }
    jpath.parent.mkdir(parents=True, exist_ok=True)
    with atomic_io.atomic_paths(npath, jpath) as (tmp_n, tmp_j):
        atomic_io.write_into(tmp_n, atomic_io.npy_bytes(vectors))
        atomic_io.write_into(tmp_j, (json.dumps(_json_safe(meta), indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    dset.path = jpath
    return jpath, npath


def _text(v, what: str, src: Path, limit: int = MAX_NAME_CHARS, empty_ok: bool = False) -> str:
    if not isinstance(v, str) or (not v and not empty_ok) or len(v) > limit or not v.isprintable():
        raise EngineError(f"{src}: {what} must be {'' if empty_ok else 'non-empty '}printable text of at most {limit} characters")
    return v


def _read_vectors(npath: Path, count: int, z_dim: int) -> np.ndarray:
    from .image_data import read_regular_file

    raw = read_regular_file(npath, "direction vectors file", limit=MAX_VECTOR_BYTES, error=EngineError)
    if not raw.startswith(b"\x93NUMPY"):
        raise EngineError(f"{npath}: not a .npy array file")
    fmt = np.lib.format
    try:
        fh = io.BytesIO(raw)
        version = fmt.read_magic(fh)
        reader = {(1, 0): fmt.read_array_header_1_0, (2, 0): fmt.read_array_header_2_0}.get(version)
        if reader is None:
            raise EngineError(f"{npath}: unsupported .npy version {version}")
        shape, fortran, dtype = reader(fh)
    except (ValueError, EOFError, SyntaxError) as exc:
        raise EngineError(f"{npath}: damaged .npy header ({exc})") from None
    if dtype.hasobject:
        raise EngineError(f"{npath}: holds Python objects (dtype {dtype}); object arrays are never unpickled")
    if dtype not in (np.dtype("<f4"), np.dtype("<f8"), np.dtype(">f4"), np.dtype(">f8")):
        raise EngineError(f"{npath}: dtype {dtype} is not float32/float64")
    if tuple(shape) != (count, z_dim):
        raise EngineError(f"{npath}: shape {list(shape)} does not match the set's {count} direction(s) × z_dim {z_dim}")
    need = count * z_dim * dtype.itemsize
    if len(raw) - fh.tell() < need:
        raise EngineError(f"{npath}: truncated (holds {len(raw) - fh.tell()} of {need} bytes of data)")
    try:
        arr = np.load(io.BytesIO(raw), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise EngineError(f"{npath}: damaged .npy file ({exc})") from None
    arr = np.asarray(arr, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise EngineError(f"{npath}: holds NaN or Inf")
    if np.abs(arr).max(initial=0.0) > VECTOR_LIMIT:
        raise EngineError(f"{npath}: holds values beyond ±{VECTOR_LIMIT:g}")
    if (np.linalg.norm(arr, axis=1) == 0).any():
        raise EngineError(f"{npath}: holds an all-zero direction")
    return arr


def load_direction_set(path, *, model_id: Optional[str] = None, z_dim: Optional[int] = None,
                       force: bool = False) -> DirectionSet:
    """Read and validate a set written by :func:`save_direction_set`. A set of another model (``model_id``
    differs) is refused unless ``force``; a z_dim mismatch is refused always. Every problem is an EngineError
    of one line naming the file."""
    from .image_data import read_regular_file
    from .model_store import ModelFileError, parse_json

    jpath, npath = set_paths(path)
    raw = read_regular_file(jpath, "direction set", limit=MAX_SET_JSON_BYTES, error=EngineError)
    try:
        meta = parse_json(raw, str(jpath))
    except ModelFileError as exc:
        raise EngineError(str(exc)) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise EngineError(f"{jpath}: not a JSON file ({str(exc).splitlines()[0][:120]})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise EngineError(f"{jpath}: not a direction set of Latent Face Studio (format {FORMAT_NAME!r} expected)")
    ver = meta.get("version")
    if isinstance(ver, bool) or not isinstance(ver, int) or not 1 <= ver <= FORMAT_VERSION:
        raise EngineError(f"{jpath}: version {ver!r} is not one this app reads (1 to {FORMAT_VERSION})")
    mid = _text(meta.get("model_id"), "model_id", jpath, 128)
    zd = meta.get("z_dim")
    if isinstance(zd, bool) or not isinstance(zd, int) or not 1 <= zd <= 65536:
        raise EngineError(f"{jpath}: z_dim must be a whole number from 1 to 65536, got {zd!r}")
    count = meta.get("count")
    entries = meta.get("directions")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_DIRECTIONS:
        raise EngineError(f"{jpath}: count must be a whole number from 1 to {MAX_DIRECTIONS}, got {count!r}")
    if not isinstance(entries, list) or len(entries) != count:
        raise EngineError(f"{jpath}: directions must be a list of {count} entries")
    vf = meta.get("vectors_file")
    if vf is not None and vf != npath.name:
        raise EngineError(f"{jpath}: names its vectors file {vf!r}, expected {npath.name!r} beside it")
    name = _text(meta.get("name", jpath.stem), "name", jpath)
    if z_dim is not None and zd != z_dim:
        raise EngineError(f"{jpath}: directions of z_dim {zd} cannot be used on a model of z_dim {z_dim}")
    if model_id is not None and mid != model_id and not force:
        raise EngineError(f"{jpath}: belongs to model {mid}, not to this model ({model_id}); its directions mean "
                          "nothing in another model's latent space — use --force to load it anyway")
    parsed = []
    for i, e in enumerate(entries):
        if not isinstance(e, dict):
            raise EngineError(f"{jpath}: directions[{i}] must be a JSON object")
        dn = _text(e.get("name"), f"directions[{i}].name", jpath)
        dm = e.get("method")
        if dm not in METHODS:
            raise EngineError(f"{jpath}: directions[{i}].method {dm!r} is not one of {', '.join(METHODS)}")
        lab = _text(e.get("label", ""), f"directions[{i}].label", jpath, 1000, empty_ok=True)
        dmeta = e.get("meta", {})
        if not isinstance(dmeta, dict):
            raise EngineError(f"{jpath}: directions[{i}].meta must be a JSON object")
        parsed.append((dn, dm, lab, dmeta))
    vectors = _read_vectors(npath, count, zd)
    dirs = [Direction(n, m, v, label=lab, meta=dm) for (n, m, lab, dm), v in zip(parsed, vectors)]
    return DirectionSet(name, mid, zd, dirs, jpath, foreign=model_id is not None and mid != model_id)


def direction_for_edit(path, index: int, *, model_id: str, z_dim: int, force: bool = False,
                       z: Optional[np.ndarray] = None) -> Direction:
    """The ``index``-th direction (1-based, the table's '#') of a saved set, ready for
    ``engine.editing.edit_strips(model, z, direction, amounts)`` (it has ``.vector``; amounts in σ units).
    ``z`` (the model's z-points) sets ``origin`` for ``coordinate``."""
    ds = load_direction_set(path, model_id=model_id, z_dim=z_dim, force=force)
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 1 <= index <= len(ds.directions):
        raise EngineError(f"--index {index!r}: {ds.path} holds directions 1 to {len(ds.directions)}")
    d = ds.directions[int(index) - 1]
    if z is not None:
        d.origin = np.asarray(z, dtype=np.float64).mean(axis=0)
    return d


def edit_params(d: Direction, path, index: int) -> dict:
    """What ``edit --direction`` records in the strips' params.json."""
    return {"direction_file": str(set_paths(path)[0]), "direction_index": int(index), "direction": d.name,
            "direction_method": d.method, "direction_label": d.label, "sigma": d.sigma,
            "amount_unit": UNIT_TEXT}


# =============================================================================================
# maps (view only)


@dataclass
class LatentMap:
    xy: np.ndarray  # (N, 2) float32
    method: str
    params: dict
    seconds: float
    from_cache: bool = False
    note: str = VIEW_ONLY_NOTE


def _map_key(z: np.ndarray, method: str, params: dict) -> str:
    h = hashlib.blake2b(digest_size=16)
    z = np.ascontiguousarray(z, dtype=np.float32)
    h.update(f"map v{CACHE_VERSION}|{method}|{json.dumps(params, sort_keys=True)}|{z.shape}|".encode())
    h.update(memoryview(z).cast("B"))
    return h.hexdigest()


def umap_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("umap") is not None


def compute_map(z: np.ndarray, method: str = "tsne", *, seed: int = 0, perplexity: float = 30.0,
                n_neighbors: int = 15, pca_dims: int = 50, cache: bool = True,
                progress: ProgressCallback = no_progress, cancel: Optional[CancelToken] = None) -> LatentMap:
    """A 2-D map of the cloud (view only). ``tsne``: scikit-learn's Barnes-Hut t-SNE on the leading
    ``pca_dims`` principal coordinates, 1,000 iterations run as four 250-iteration stages (the first with
    early exaggeration 12) so that progress is reported and a cancel takes effect between stages.
    ``pca``: the first two principal coordinates. ``umap``: umap-learn if installed (an optional extra).
    Cached in the user's cache folder by z and the parameters."""
    from .image_data import default_cache_dir
    from .latent_stats import pca_of

    cancel = cancel or CancelToken()
    z = _check_z(z)
    if method not in MAP_METHODS:
        raise EngineError(f"map method {method!r}: allowed: {', '.join(MAP_METHODS)}")
    if method == "umap" and not umap_available():
        raise EngineError("map method 'umap': needs the optional package umap-learn (pip install umap-learn==0.5.12); "
                          "t-SNE and PCA maps need nothing extra")
    params = {"seed": int(seed)}
    if method == "tsne":
        if not 2 <= perplexity < len(z) / 3:
            raise EngineError(f"perplexity {perplexity}: expected 2 to {len(z) / 3:.0f} for {len(z)} z-points")
        params.update(perplexity=float(perplexity), pca_dims=int(pca_dims))
    if method == "umap":
        params.update(n_neighbors=int(n_neighbors), pca_dims=int(pca_dims))
    key = _map_key(z, method, params)
    path = default_cache_dir("maps") / f"{method}-{key}.npz"
    if cache:
        hit = _load_cached(path, key, ("xy", "seconds"))
        if hit is not None and hit["xy"].shape == (len(z), 2) and np.isfinite(hit["xy"]).all():
            progress(Progress(f"{method} map", 1, 1, "from cache"))
            return LatentMap(hit["xy"].astype(np.float32), method, params, float(hit["seconds"]), True)
    t0 = time.perf_counter()
    pca = pca_of(z)
    coords = pca.transform(z)
    if method == "pca":
        xy = coords[:, :2]
    elif method == "tsne":
        xy = _tsne(coords[:, : min(pca_dims, z.shape[1])], perplexity, seed, progress, cancel)
    else:
        import umap  # noqa: F401 - optional

        progress(Progress("umap map", 0, 1, "UMAP (no progress inside)"))
        cancel.raise_if_cancelled()
        reducer = umap.UMAP(n_neighbors=n_neighbors, random_state=seed, n_jobs=1)
        xy = reducer.fit_transform(coords[:, : min(pca_dims, z.shape[1])])
        cancel.raise_if_cancelled()
        progress(Progress("umap map", 1, 1, "done"))
    seconds = time.perf_counter() - t0
    xy = np.asarray(xy, dtype=np.float32)
    if cache:
        _save_cached(path, key, xy=xy, seconds=np.array(seconds))
    return LatentMap(xy, method, params, seconds, False)


TSNE_STAGES = 4
TSNE_STAGE_ITER = 250


def _tsne(x: np.ndarray, perplexity: float, seed: int, progress, cancel) -> np.ndarray:
    from sklearn.manifold import TSNE

    n = len(x)
    lr = max(n / 12.0 / 4.0, 50.0)  # scikit-learn's "auto" rate, kept for every stage
    y = None
    for s in range(TSNE_STAGES):
        cancel.raise_if_cancelled()
        progress(Progress("t-SNE map", s, TSNE_STAGES, f"t-SNE stage {s + 1}/{TSNE_STAGES}"))
        tsne = TSNE(n_components=2, perplexity=perplexity, learning_rate=lr, max_iter=TSNE_STAGE_ITER,
                    early_exaggeration=12.0 if s == 0 else 1.0, init="pca" if y is None else y,
                    random_state=seed, n_jobs=1)
        y = tsne.fit_transform(x)
    progress(Progress("t-SNE map", TSNE_STAGES, TSNE_STAGES, "done"))
    return y


def attribute_silhouettes(points: np.ndarray, table, names: Optional[Sequence[str]] = None, *,
                          sample_size: Optional[int] = 4000, seed: int = 0) -> dict[str, float]:
    """Silhouette score (scikit-learn, Euclidean) of the present/absent split of each attribute on ``points``
    (z-points or a 2-D map): ≈ 0 = the two groups overlap (no clusters), 1 = two tight separate clusters."""
    from sklearn.metrics import silhouette_score

    pts = np.asarray(points, dtype=np.float64)
    out = {}
    for nm in (names or table.names):
        p, a = table.groups(nm)
        keep = p | a
        if p.sum() < 2 or a.sum() < 2:
            continue
        ss = sample_size if sample_size and keep.sum() > sample_size else None
        out[nm] = float(silhouette_score(pts[keep], p[keep], sample_size=ss, random_state=seed))
    return out
