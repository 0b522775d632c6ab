"""Two models side by side, the building blocks: the faces both encoded, matched by their file names; the two
latent spaces aligned on them (orthogonal Procrustes, a linear least-squares map, canonical correlations); each
face's neighbourhood in one space against the other; per-attribute probe accuracy in each space.

Everything works on standardised z (each component centred and divided by its standard deviation, so a model
whose z is ten times larger is not a worse fit). The models' ``z_dim`` may differ. The use case that combines
these and writes the JSON and the figure is :mod:`engine.workflows.compare_models`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from .errors import DataError

#: fewest faces both models must have encoded to be compared
MIN_SHARED = 50
#: neighbours per face of the neighbourhood overlap
NEIGHBOURS = 10


@dataclass
class SharedFaces:
    """The faces two models both encoded: ``names[i]`` is row ``rows_a[i]`` of A's z-points and ``rows_b[i]`` of
    B's; ``only_a`` / ``only_b`` count the faces one model has and the other lacks."""

    names: list[str]
    rows_a: np.ndarray
    rows_b: np.ndarray
    only_a: int
    only_b: int

    def __len__(self) -> int:
        return len(self.names)


def match_faces(files_a: Sequence[str], files_b: Sequence[str], *, minimum: int = MIN_SHARED) -> SharedFaces:
    """The faces in both name lists (``latents_files.txt``), in A's order; refused (``DataError``) when fewer than
    ``minimum`` are shared. A name listed twice counts once (its first row)."""
    first_b: dict[str, int] = {}
    for j, name in enumerate(files_b):
        first_b.setdefault(str(name), j)
    seen: set[str] = set()
    names, ra, rb = [], [], []
    for i, name in enumerate(files_a):
        name = str(name)
        if name in seen:
            continue
        seen.add(name)
        j = first_b.get(name)
        if j is not None:
            names.append(name)
            ra.append(i)
            rb.append(j)
    if len(names) < minimum:
        raise DataError(f"the two models share {len(names)} encoded faces (by file name; {len(seen)} in the first, "
                        f"{len(first_b)} in the second); at least {minimum} are needed — encode the same image folder "
                        "with both", param="model")
    return SharedFaces(names, np.asarray(ra, dtype=np.int64), np.asarray(rb, dtype=np.int64),
                       len(seen) - len(names), len(first_b) - len(names))


def standardise(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(standardised z as float64, the mean, the standard deviation); a constant component keeps scale 1."""
    z = np.asarray(z, dtype=np.float64)
    mean = z.mean(axis=0)
    std = z.std(axis=0)
    std = np.where(std > 1e-12, std, 1.0)
    return (z - mean) / std, mean, std


def _r2(pred: np.ndarray, truth: np.ndarray) -> float:
    """The share of ``truth``'s total variance (all components together) that ``pred`` explains."""
    res = float(((truth - pred) ** 2).sum())
    tot = float(((truth - truth.mean(axis=0)) ** 2).sum())
    return 1.0 - res / tot if tot > 0 else float("nan")


def _pad(x: np.ndarray, d: int) -> np.ndarray:
    return x if x.shape[1] == d else np.hstack([x, np.zeros((len(x), d - x.shape[1]))])


def _inv_sqrt(c: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(c)
    return (v / np.sqrt(np.maximum(w, 1e-12))) @ v.T


def cca(x: np.ndarray, y: np.ndarray, *, ridge: float = 1e-3, top: Optional[int] = None
        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Canonical correlation analysis by one SVD: (correlations, x's weights (dx, k), y's weights (dy, k)), the
    correlations in decreasing order. ``ridge`` × the mean variance is added to each covariance's diagonal (a
    small ridge keeps a nearly singular one invertible); x and y need not have as many columns."""
    x = np.asarray(x, dtype=np.float64) - np.mean(x, axis=0)
    y = np.asarray(y, dtype=np.float64) - np.mean(y, axis=0)
    corr, wx, wy = _cca_from(x.T @ x, y.T @ y, x.T @ y, ridge)
    k = len(corr) if top is None else min(int(top), len(corr))
    return corr[:k], wx[:, :k], wy[:, :k]


def _column_correlations(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(axis=0)
    b = b - b.mean(axis=0)
    den = np.sqrt((a * a).sum(axis=0) * (b * b).sum(axis=0))
    return np.where(den > 0, (a * b).sum(axis=0) / np.where(den > 0, den, 1.0), 0.0)


@dataclass
class Alignment:
    """How well one latent space maps onto the other on the shared faces (fitted on 80 %, measured on the held-out
    rest): ``procrustes_r2`` (a rotation and one scale, A → B), ``linear_r2`` (any linear map, A → B) and
    ``linear_r2_b_to_a``; the canonical correlations, fitted and held-out (projections of the held-out faces on
    the fitted canonical axes, correlated)."""

    n_fit: int
    n_held_out: int
    z_dim_a: int
    z_dim_b: int
    procrustes_r2: float
    linear_r2: float
    linear_r2_b_to_a: float
    canonical: np.ndarray
    canonical_held_out: np.ndarray
    seconds: float
    # the maps, in standardised units: A's standardisation, the A → B linear map (with a bias row), B's
    mean_a: np.ndarray = field(repr=False, default=None)
    std_a: np.ndarray = field(repr=False, default=None)
    mean_b: np.ndarray = field(repr=False, default=None)
    std_b: np.ndarray = field(repr=False, default=None)
    linear_map: np.ndarray = field(repr=False, default=None)  # (z_dim_a + 1, z_dim_b)
    rotation: np.ndarray = field(repr=False, default=None)  # (max dim, max dim), times procrustes_scale
    procrustes_scale: float = 1.0

    def map_a_to_b(self, z_a: np.ndarray) -> np.ndarray:
        """A's z-points (raw) → where the linear map puts them in B's space (raw B units)."""
        s = (np.atleast_2d(np.asarray(z_a, dtype=np.float64)) - self.mean_a) / self.std_a
        pred = np.hstack([s, np.ones((len(s), 1))]) @ self.linear_map
        return (pred * self.std_b + self.mean_b).astype(np.float32)

    def summary(self, top: int = 10) -> dict:
        """The numbers as plain JSON values."""
        return {"fitted_on": self.n_fit, "held_out": self.n_held_out, "z_dim_a": self.z_dim_a,
                "z_dim_b": self.z_dim_b, "procrustes_r2_held_out": round(self.procrustes_r2, 5),
                "linear_r2_held_out": round(self.linear_r2, 5),
                "linear_r2_b_to_a_held_out": round(self.linear_r2_b_to_a, 5),
                "canonical_correlations": [round(float(c), 5) for c in self.canonical[:top]],
                "canonical_correlations_held_out": [round(float(c), 5) for c in self.canonical_held_out[:top]],
                "canonical_mean": round(float(np.mean(self.canonical)), 5) if len(self.canonical) else None,
                "seconds": round(self.seconds, 3)}


def _procrustes(cross: np.ndarray, d: int) -> tuple[np.ndarray, float]:
    """The orthogonal Procrustes solution from the cross-product ``Aᵀ B`` (zero-padded to d × d): the rotation R
    minimising ‖A R − B‖ (``scipy.linalg.orthogonal_procrustes``'s answer) and the sum of singular values."""
    m = np.zeros((d, d))
    m[: cross.shape[0], : cross.shape[1]] = cross
    u, s, vt = np.linalg.svd(m)
    return u @ vt, float(s.sum())


def _ridge_solve(gram: np.ndarray, cross: np.ndarray, ridge: float) -> np.ndarray:
    g = gram.copy()
    g[np.diag_indices_from(g)] += ridge * max(np.trace(g) / len(g), 1e-12)
    return np.linalg.solve(g, cross)


def _cca_from(cxx: np.ndarray, cyy: np.ndarray, cxy: np.ndarray, ridge: float):
    cxx, cyy = cxx.copy(), cyy.copy()
    cxx[np.diag_indices_from(cxx)] += ridge * max(np.trace(cxx) / len(cxx), 1e-12)
    cyy[np.diag_indices_from(cyy)] += ridge * max(np.trace(cyy) / len(cyy), 1e-12)
    wx, wy = _inv_sqrt(cxx), _inv_sqrt(cyy)
    u, s, vt = np.linalg.svd(wx @ cxy @ wy, full_matrices=False)
    return np.clip(s, 0.0, 1.0), wx @ u, wy @ vt.T


def align(z_a: np.ndarray, z_b: np.ndarray, *, held_out: float = 0.2, seed: int = 0, ridge: float = 1e-3
          ) -> Alignment:
    """Align B's latent space to A's on the shared faces (row i of both is the same face): standardise both, fit
    orthogonal Procrustes (with one scale), a linear least-squares map (both ways) and CCA on a random
    ``1 - held_out`` of the rows, and measure R² and the canonical correlations on the rest. Every fit reads one
    cross-product matrix of the fitted rows (the standardised fit rows are centred: no bias term is needed)."""
    t0 = time.perf_counter()
    n = len(z_a)
    if len(z_b) != n:
        raise DataError(f"the two models' shared z-points differ in number ({n} and {len(z_b)})")
    n_test = int(round(n * float(held_out)))
    if not 0.0 < held_out < 1.0 or n_test < 2 or n - n_test < 3:
        raise DataError(f"{n} shared faces and a held-out share of {held_out}: too few to fit and to measure",
                        param="held_out")
    perm = np.random.default_rng(seed).permutation(n)
    test, fit = perm[:n_test], perm[n_test:]
    _, mean_a, std_a = standardise(np.asarray(z_a)[fit])
    _, mean_b, std_b = standardise(np.asarray(z_b)[fit])
    a = (np.asarray(z_a, dtype=np.float64) - mean_a) / std_a
    b = (np.asarray(z_b, dtype=np.float64) - mean_b) / std_b
    da, db = a.shape[1], b.shape[1]
    ab = np.hstack([a[fit], b[fit]])
    g = ab.T @ ab  # the one big product: every fit below reads its blocks
    gaa, gbb, gab = g[:da, :da], g[da:, da:], g[:da, da:]
    rot, sing = _procrustes(gab, max(da, db))
    scale = sing / max(float(np.trace(gaa)), 1e-12)
    procrustes = _r2((_pad(a[test], max(da, db)) @ rot * scale)[:, :db], b[test])
    w = _ridge_solve(gaa, gab, ridge)
    linear = _r2(a[test] @ w, b[test])
    linear_back = _r2(b[test] @ _ridge_solve(gbb, gab.T, ridge), a[test])
    corr, xa, yb = _cca_from(gaa, gbb, gab, ridge)
    held = np.abs(_column_correlations(a[test] @ xa, b[test] @ yb))
    w_bias = np.vstack([w, np.zeros((1, db))])
    return Alignment(len(fit), n_test, da, db, procrustes, linear, linear_back, corr, held,
                     time.perf_counter() - t0, mean_a, std_a, mean_b, std_b, w_bias, rot, scale)


# ----------------------------------------------------------------------------------------------
# neighbourhoods


def nearest_neighbours(x: np.ndarray, k: int = NEIGHBOURS, *, chunk: int = 1024) -> np.ndarray:
    """(n, k) indices of each row's k nearest other rows (Euclidean), by chunked matrix products in float32."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    n = len(x)
    k = int(k)
    if not 1 <= k < n:
        raise DataError(f"{k} neighbours among {n} faces: choose fewer", param="k")
    sq = (x * x).sum(axis=1)
    out = np.empty((n, k), dtype=np.int64)
    for s in range(0, n, chunk):
        e = min(n, s + chunk)
        d2 = sq[s:e, None] - 2.0 * (x[s:e] @ x.T) + sq[None, :]
        d2[np.arange(e - s), np.arange(s, e)] = np.inf  # never its own neighbour
        part = np.argpartition(d2, k, axis=1)[:, :k]
        order = np.take_along_axis(d2, part, axis=1).argsort(axis=1)
        out[s:e] = np.take_along_axis(part, order, axis=1)
    return out


def jaccard_rows(na: np.ndarray, nb: np.ndarray) -> np.ndarray:
    """Per row, |A ∩ B| / |A ∪ B| of two (n, k) index sets (each row's indices distinct)."""
    both = np.sort(np.hstack([na, nb]), axis=1)
    inter = (both[:, 1:] == both[:, :-1]).sum(axis=1)
    k2 = na.shape[1] + nb.shape[1]
    return inter / (k2 - inter)


def neighbour_overlap(z_a: np.ndarray, z_b: np.ndarray, k: int = NEIGHBOURS, *, whiten: bool = False) -> np.ndarray:
    """Per shared face, the Jaccard overlap of its k nearest neighbours among the shared faces in A's space and in
    B's (standardised z; ``whiten``: whitened by each cloud's PCA instead). 1: the same neighbours; a random
    pair of neighbourhoods of k among n scores about k / n."""
    def prepared(z):
        s = standardise(z)[0]
        if not whiten:
            return s
        _, sv, vt = np.linalg.svd(s - s.mean(axis=0), full_matrices=False)
        keep = sv > sv[0] * 1e-6
        return (s @ vt[keep].T) / (sv[keep] / np.sqrt(max(len(s) - 1, 1)))

    return jaccard_rows(nearest_neighbours(prepared(z_a), k), nearest_neighbours(prepared(z_b), k))


def overlap_summary(overlap: np.ndarray, names: Sequence[str], k: int, *, least: int = 10) -> dict:
    """The overlap's distribution (mean, quartiles, share of faces with none in common) and the faces with the
    least, as plain JSON values."""
    q = np.quantile(overlap, [0.1, 0.25, 0.5, 0.75, 0.9]) if len(overlap) else [float("nan")] * 5
    order = np.argsort(overlap, kind="stable")[:least]
    n = len(overlap)
    return {"k": int(k), "faces": n, "mean": round(float(np.mean(overlap)), 5),
            "p10": round(float(q[0]), 5), "p25": round(float(q[1]), 5), "median": round(float(q[2]), 5),
            "p75": round(float(q[3]), 5), "p90": round(float(q[4]), 5),
            "none_shared": round(float(np.mean(overlap == 0)), 5),
            "chance": round(k / max(n - 1, 1), 5),
            "least": [{"face": str(names[i]), "overlap": round(float(overlap[i]), 5)} for i in order]}


# ----------------------------------------------------------------------------------------------
# attributes


def probe_accuracies(z: np.ndarray, table, names: Sequence[str], *, rows: Optional[np.ndarray] = None, cv: int = 3,
                     seed: int = 0, progress=None) -> dict[str, Optional[float]]:
    """Per attribute, the cross-validated balanced accuracy (chance 0.5) of the lab's logistic judge
    (``engine.attributes.fit_probe``: class-balanced, whitened, C = 0.05) on ``z``; ``rows`` of ``table`` are the
    labels of z's rows; None where a group is too small or the labels unknown."""
    from .attributes import Whitener, fit_probe

    z = np.asarray(z, dtype=np.float64)
    wh = Whitener(z)
    out: dict[str, Optional[float]] = {}
    for i, name in enumerate(names):
        if progress is not None:
            progress(i, name)
        col = table.column(name)
        col = col if rows is None else col[rows]
        known = np.isfinite(col)
        y = col[known] > table.threshold(name)
        if min(int(y.sum()), int((~y).sum())) < 2 * cv:
            out[name] = None
            continue
        out[name] = float(fit_probe(z[known], y, cv=cv, seed=seed, whitener=wh).accuracy)
    return out
