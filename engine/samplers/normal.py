"""``normal``: a full-covariance multivariate Gaussian fitted to the cloud, with a temperature
``scale`` and an optional truncation at a σ-level of the cloud's Mahalanobis distance.

Truncation at level t keeps d_M² ≤ the χ²(d) quantile that a level-t interval covers in 1-D
(68.3 % / 95.4 % / 99.7 % of a Gaussian cloud for t = 1 / 2 / 3). It is exact, with no rejection:
the radius is drawn from the truncated χ distribution, the direction uniformly.
A singular covariance (a dead latent component) is regularised, never a crash.
"""
import numpy as np

from .base import Param, Sampler


class NormalSampler(Sampler):
    name = "normal"
    order = 40
    fits_covariance = True
    summary = ("a bell-shaped (Gaussian) cloud fitted to the training points; scale widens or narrows it, "
               "truncate cuts off far points")
    params = (
        Param("scale", float, 1.0, "multiplies the spread around the average (below 1: more typical faces; a temperature)", minimum=0.0, maximum=10.0, sweep=True),
        Param("truncate", float, 0.0, "keep only vectors within this σ-level of the cloud's Mahalanobis distance (0 = off)", minimum=0.0, maximum=10.0),
    )

    def _fit(self, latents: np.ndarray) -> None:
        from ..latent_stats import Whitener

        cloud = Whitener(latents)
        self.mean, self.cov, self.whiten, self.colour = cloud.mean, cloud.cov, cloud.W, cloud.R

    def _sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        d = self.z_dim
        scale = self.values["scale"]
        t = self.values["truncate"]
        u = rng.standard_normal((n, d))
        if t > 0 and scale > 0:
            from scipy.stats import chi2

            from ..latent_stats import chi2_threshold

            # radius² ~ χ²(d) restricted to scale²·r² ≤ q (the cloud's level-t quantile)
            q = float(chi2_threshold(t, d)) / scale**2 if scale**2 > 0 else np.inf  # tiny scale: nothing is cut
            top = chi2.cdf(q, d)
            r2 = chi2.ppf(rng.random(n) * top, d)
            norm = np.sqrt(np.einsum("ij,ij->i", u, u))
            u = u / np.maximum(norm, 1e-300)[:, None] * np.sqrt(r2)[:, None]
        return self.mean + scale * (u @ self.colour)
