"""How well the z-points separate an attribute: effect sizes, cross-fitted separation, linear probes, per-group normality.

* ``d_z[j]`` / ``d_pca[k]``: difference of the group means in units of the pooled σ
  (Cohen's d), per original component and per PCA axis of the whole cloud.
* ``best_axes``: the two axes (both original components or both PCA axes, whichever pair separates
  more) to show the attribute in the pair plot, as ``latent_stats.Axis`` tuples ``("z", i)`` /
  ``("pca", i)``.
* ``separation``: d along the difference-of-means direction, *cross-fitted* (the direction from
  one half of the points, d measured on the other half, averaged both ways) so that rare attributes
  are not flattered by fitting noise. The ranking uses it when the probe is skipped.
* ``probe_accuracy``: the cross-validated *balanced* accuracy (chance 0.5) of a scikit-learn
  logistic-regression probe (on the cloud's whitened coordinates, L2, class-balanced);
  ``mean_accuracy`` is the same score for the
  plain difference-of-means direction with a midpoint threshold, for comparison. The ranking sorts
  by ``probe_accuracy``.
* ``normality``: per group, the same check as for the whole cloud — squared Mahalanobis distances
  to the group's own mean/covariance compared with the χ² distribution (fraction inside the level-σ
  quantile vs the expected probability). A group needs many more points than dimensions for the
  sample covariance to be trusted, so a group of n points is checked in the whole cloud's leading
  ``min(d, n // 10)`` PCA dimensions (``dims`` says how many).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from ..errors import SamplerError
from ..latent_stats import Whitener


def pca_coordinates(z: np.ndarray, pca=None):
    """PCA coordinates of ``z`` with ``pca`` (latent_stats.PCAResult or an sklearn PCA) or, by default,
    latent_stats' own PCA of the cloud (the same axes, order and signs as the app's PCA views)."""
    if pca is None:
        from ..latent_stats import pca_of

        pca = pca_of(z)
    return pca, np.asarray(pca.transform(z), dtype=np.float64)


def cohens_d(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(mean(a) − mean(b)) / pooled σ, per column."""
    na, nb = len(a), len(b)
    va = a.var(axis=0, ddof=1) if na > 1 else np.zeros(a.shape[1])
    vb = b.var(axis=0, ddof=1) if nb > 1 else np.zeros(b.shape[1])
    pooled = np.sqrt(((na - 1) * va + (nb - 1) * vb) / max(1, na + nb - 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        d = (a.mean(axis=0) - b.mean(axis=0)) / pooled
    return np.nan_to_num(d, nan=0.0, posinf=0.0, neginf=0.0)


def _balanced_accuracy(score: np.ndarray, y: np.ndarray) -> float:
    pred = score > 0
    tpr = pred[y].mean() if y.any() else 0.5
    tnr = (~pred[~y]).mean() if (~y).any() else 0.5
    return float((tpr + tnr) / 2)


def cross_fitted_separation(z: np.ndarray, y: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """(d along the difference-of-means direction, balanced accuracy of a midpoint threshold on it),
    each measured on the half of the points the direction was *not* computed from, averaged."""
    rng = np.random.default_rng(seed)
    idx = np.arange(len(z))
    folds = np.zeros(len(z), dtype=int)
    for cls in (True, False):  # stratified halves
        members = idx[y == cls]
        rng.shuffle(members)
        folds[members[: len(members) // 2]] = 1
    ds, accs = [], []
    for f in (0, 1):
        tr, te = folds != f, folds == f
        if min(y[tr].sum(), (~y[tr]).sum(), y[te].sum(), (~y[te]).sum()) < 2:
            continue
        mp, mn = z[tr & y].mean(axis=0), z[tr & ~y].mean(axis=0)
        v = mp - mn
        norm = np.linalg.norm(v)
        if norm == 0:
            continue
        u = v / norm
        p = z[te] @ u
        yt = y[te]
        ds.append(float(cohens_d(p[yt, None], p[~yt, None])[0]))
        accs.append(_balanced_accuracy(p - (mp + mn) @ u / 2, yt))
    if not ds:
        return 0.0, 0.5
    return float(np.mean(ds)), float(np.mean(accs))



def _logistic(C: float = 0.05, balanced: bool = True, max_iter: int = 500):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, class_weight="balanced" if balanced else None, max_iter=max_iter)


class LinearProbe:
    """A scikit-learn logistic regression on whitened z, expressed back in z units:
    decision(z) = z·weights + bias (> 0: the attribute is present)."""

    def __init__(self, C: float = 0.05, balanced: bool = True, whitener: Optional[Whitener] = None) -> None:
        self.C, self.balanced, self.whitener = C, balanced, whitener

    def fit(self, z: np.ndarray, y: np.ndarray) -> "LinearProbe":
        import warnings

        from sklearn.exceptions import ConvergenceWarning

        wh = self.whitener or Whitener(z)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            lr = _logistic(self.C, self.balanced).fit(wh.transform(z), np.asarray(y, dtype=bool))
        self.weights = wh.W @ lr.coef_[0]
        self.bias = float(lr.intercept_[0] - wh.mean @ self.weights)
        return self

    def decision_function(self, z: np.ndarray) -> np.ndarray:
        return np.asarray(z, dtype=np.float64) @ self.weights + self.bias

    def predict_proba(self, z: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.decision_function(z)))


@dataclass
class ProbeResult:
    accuracy: float  # cross-validated balanced accuracy (chance 0.5)
    accuracy_std: float
    plain_accuracy: float  # cross-validated plain accuracy
    majority_rate: float  # plain accuracy of always answering the larger group
    weights: np.ndarray  # (d,) decision function w·z + b in z units (fit on all points)
    bias: float


def fit_probe(z: np.ndarray, y: np.ndarray, *, cv: int = 5, seed: int = 0, C: float = 0.05,
              whitener: Optional[Whitener] = None) -> ProbeResult:
    """A class-balanced logistic-regression probe for ``y`` (bool) on z, with its ``cv``-fold
    cross-validated accuracy. ``whitener`` (unsupervised, from the whole cloud) may be shared."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import StratifiedKFold, cross_validate

    y = np.asarray(y, dtype=bool)
    n_min = int(min(y.sum(), (~y).sum()))
    if n_min < 2:
        raise SamplerError(f"a probe needs at least 2 z-points in each group, got {int(y.sum())} and {int((~y).sum())}")
    folds = max(2, min(cv, n_min))
    wh = whitener or Whitener(z)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = cross_validate(
            _logistic(C), wh.transform(z), y, cv=StratifiedKFold(folds, shuffle=True, random_state=seed),
            scoring=("balanced_accuracy", "accuracy"),
        )
    probe = LinearProbe(C, True, wh).fit(z, y)
    return ProbeResult(
        float(res["test_balanced_accuracy"].mean()), float(res["test_balanced_accuracy"].std()),
        float(res["test_accuracy"].mean()), float(max(y.mean(), 1 - y.mean())), probe.weights, probe.bias,
    )


@dataclass
class GroupNormality:
    """Squared Mahalanobis distances of one group vs χ²(dims): the whole cloud's normality check."""

    label: str
    n: int
    dims: int  # dimensions checked (the whole cloud's leading PCA axes when the group is small)
    levels: np.ndarray
    observed: np.ndarray  # fraction with d_M² ≤ the χ²(dims) quantile of a level-σ interval
    expected: np.ndarray  # that probability: P(|N(0,1)| ≤ level)
    mahalanobis_sq: np.ndarray

    @property
    def max_gap(self) -> float:
        """Largest |observed − expected| over the levels (0 = a perfect Gaussian)."""
        return float(np.max(np.abs(self.observed - self.expected))) if len(self.levels) else 0.0


def group_normality(coords: np.ndarray, label: str = "", levels: Optional[Sequence[float]] = None,
                    points_per_dim: int = 10) -> GroupNormality:
    """Normality check of the points ``coords`` (N×d, e.g. PCA coordinates sorted by variance) with
    latent_stats' method for the whole cloud: squared Mahalanobis distances to their own mean and
    covariance against χ². Uses the leading ``min(d, N // points_per_dim)`` columns so the covariance
    estimate is sound."""
    from ..latent_stats import NORMALITY_LEVELS, chi2_threshold, level_probability

    coords = np.asarray(coords, dtype=np.float64)
    n, d = coords.shape
    k = int(max(1, min(d, n // points_per_dim)))
    x = coords[:, :k]
    lv = np.asarray(NORMALITY_LEVELS if levels is None else levels, dtype=float)
    expected = np.asarray(level_probability(lv), dtype=float)
    if n < 3:
        return GroupNormality(label, n, k, lv, np.full_like(lv, np.nan), expected, np.zeros(n))
    m2 = Whitener(x).mahalanobis_sq(x)
    q = np.asarray(chi2_threshold(lv, k), dtype=float)
    observed = (m2[:, None] <= q[None, :]).mean(axis=0)
    return GroupNormality(label, n, k, lv, observed, expected, m2)


def group_moments(xy: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (2,) and covariance (2, 2) of the projected points of one group (for its ellipse)."""
    pts = np.asarray(xy, dtype=np.float64)[np.asarray(mask, dtype=bool)]
    if len(pts) < 2:
        return (pts.mean(axis=0) if len(pts) else np.zeros(2)), np.eye(2) * 1e-12
    return pts.mean(axis=0), np.cov(pts, rowvar=False)
