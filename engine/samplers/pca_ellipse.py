"""``pca-ellipse``: the seed's part X sampler, vectorised.

PCA of the cloud to ``components`` axes; in PCA coordinates every pair (i, j) of a new vector must lie
inside the ellipse with half-axes a_i = fact·level·σ_i, a_j = fact·level·σ_j (σ = √explained variance).
The blog builds each vector in a per-vector Python loop: components in a random order, each value
uniform in the interval that all ellipses with the already chosen components allow
(|v_j| ≤ a_j·√(1 − (v_i/a_i)²) for every earlier i). Then it transforms back; the dropped PCA
components stay at the centre (``residual=centre``) or are drawn from their own Gaussians
(``residual=gaussian``).

Vectorised equivalent: with u_i = v_i / a_i every pairwise condition u_i² + u_j² ≤ 1 holds exactly
when the two largest u_i² sum to at most 1. The interval of the value chosen at position t of the
random order is therefore [−c_t, c_t] with c_t = √(1 − max_{s<t} u_s²), which depends only on the
values chosen before, not on which components they belong to. So the values are drawn position by
position for all vectors at once (a loop over ``components`` numpy operations), and each row is then
permuted randomly — the random order of the blog. Same distribution as the loop (KS-tested in
tests/test_samplers.py, timed in benchmarks/bench_pca_ellipse.py).
"""
from __future__ import annotations

import numpy as np

from .base import Param, Sampler


def pair_conditions_hold(u: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """Per row of normalised coordinates u (n, k): do all pairs satisfy u_i² + u_j² ≤ 1?"""
    u2 = np.asarray(u, dtype=np.float64) ** 2
    if u2.shape[1] < 2:
        return (u2 <= 1 + tol).all(axis=1)
    top2 = np.partition(u2, u2.shape[1] - 2, axis=1)[:, -2:]
    return top2.sum(axis=1) <= 1.0 + tol


def ellipse_values(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """(n, k) normalised coordinates u with all pairwise ellipse conditions, blog-distributed."""
    vals = rng.random((k, n))  # position-major: one contiguous row per position of the order
    vals *= 2.0
    vals -= 1.0
    running_max = np.zeros(n)
    c = np.empty(n)
    for t in range(k):
        np.subtract(1.0, running_max, out=c)
        np.maximum(c, 0.0, out=c)
        np.sqrt(c, out=c)
        row = vals[t]
        row *= c  # uniform in [−c_t, c_t]
        np.maximum(running_max, row * row, out=running_max)
    out = vals.T.copy()
    return rng.permuted(out, axis=1, out=out)  # the random order: position → component, per vector


def ellipse_values_loop(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """The blog's per-vector loop over all pairs (reference for tests and the benchmark; slow)."""
    import math
    import random

    r = random.Random(int(rng.integers(0, 2**63 - 1)))
    out = []
    for _ in range(n):
        order = list(range(k))
        r.shuffle(order)
        u = [0.0] * k
        chosen = []
        for j in order:
            c = 1.0
            for i in chosen:  # check the pair (i, j) ellipse and shrink j's interval
                c = min(c, math.sqrt(max(0.0, 1.0 - u[i] * u[i])))
            u[j] = r.uniform(-c, c)
            chosen.append(j)
        out.append(u)
    return np.array(out, dtype=np.float64).reshape(n, k)


class PCAEllipseSampler(Sampler):
    name = "pca-ellipse"
    order = 30
    fits_covariance = True
    default_sweep = True  # the seed's sampler: the comparison panel sweeps its fact first
    summary = ("coordinates along the principal axes drawn one by one, every pair kept inside an ellipse "
               "of fact × level σ")
    params = (
        Param("components", int, 100, "number of PCA components drawn (the rest: see residual)", minimum=1, maximum=4096),
        Param("level", float, 2.35, "σ-level of the ellipses' half-axes", minimum=0.0, maximum=10.0),
        Param("fact", float, 0.7, "factor on the half-axes level·σ", minimum=0.0, maximum=5.0, sweep=True),
        Param("residual", str, "centre", "the principal axes left out: at the centre, or drawn from their Gaussians", choices=("centre", "gaussian")),
    )

    def _fit(self, latents: np.ndarray) -> None:
        from ..latent_stats import pca_of

        self.pca = pca_of(latents)
        self.k = min(self.values["components"], self.z_dim)
        self.sigmas = self.pca.sigmas
        self._last_v = None

    @property
    def half_axes(self) -> np.ndarray:
        return self.values["fact"] * self.values["level"] * self.sigmas[: self.k]

    def _sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        u = ellipse_values(n, self.k, rng)
        u *= self.half_axes
        if self.values["residual"] == "gaussian" and self.k < self.z_dim:
            v = np.empty((n, self.z_dim))
            v[:, : self.k] = u
            v[:, self.k :] = rng.standard_normal((n, self.z_dim - self.k)) * self.sigmas[self.k :]
        else:
            v = u  # dropped components at the centre (0)
        self._last_v = v
        return self.pca.inverse_transform(v)  # uses only the first v.shape[1] axes

    def _diagnostics(self) -> dict:
        """Spread (std) of the last generated vectors per PCA axis relative to the cloud's σ on that axis."""
        out = {"components_used": int(self.k)}
        if self._last_v is None or len(self._last_v) < 2:
            return out
        sig = np.where(self.sigmas > 0, self.sigmas, np.nan)
        std = np.zeros(self.z_dim)
        std[: self._last_v.shape[1]] = self._last_v.std(axis=0)
        spread = std / sig
        out.update(
            spread_per_axis=[None if not np.isfinite(s) else float(s) for s in spread],
            mean_spread_drawn=(float(np.nanmean(spread[: self.k])) if np.isfinite(spread[: self.k]).any()
                               else None),  # a cloud without spread on any drawn axis
            max_half_axis_sigma=float(self.values["fact"] * self.values["level"]),
            uniform_spread_without_pair_conditions=float(self.values["fact"] * self.values["level"] / np.sqrt(3.0)),
        )
        return out
