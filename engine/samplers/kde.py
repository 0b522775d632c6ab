"""``kde``: a Gaussian kernel density fitted ex post (scikit-learn), the RAE paper's other ex-post density.

The kernel is isotropic in whitened coordinates (the cloud's covariance mapped to the identity), so
the bandwidth is in units of the cloud's σ along every principal axis. ``rule``: Scott's rule
h = n^(−1/(d+4)), Silverman's h = (n(d+2)/4)^(−1/(d+4)), or ``cv``: 3-fold cross-validated
log-likelihood (scikit-learn GridSearchCV) over a grid, on at most 2,000 z-points. ``bandwidth``
scales the chosen h. Sampling a KDE = a random training z-point plus kernel noise, so small
bandwidths copy training faces (see the nearest-neighbour ratio in ``evaluate``).
"""
import numpy as np

from .base import Param, Sampler


class KDESampler(Sampler):
    name = "kde"
    order = 60
    #: a larger cloud is fitted on a seeded subsample of this many z-points (the kernel sum's data): sampling
    #: picks a stored point plus kernel noise, so the sample's distribution does not change (docs/scale.md)
    max_fit_points = 50_000
    summary = "new points scattered closely around the training points (a kernel density, scikit-learn)"
    params = (
        Param("rule", str, "scott", "bandwidth selection", choices=("scott", "silverman", "cv")),
        Param("bandwidth", float, 1.0, "factor on the selected bandwidth", minimum=1e-3, maximum=10.0, sweep=True),
    )

    def _fit(self, latents: np.ndarray) -> None:
        from sklearn.neighbors import KernelDensity

        from ..latent_stats import Whitener

        n, d = latents.shape
        cloud = Whitener(latents)
        self.mean, self.whiten, self.colour = cloud.mean, cloud.W, cloud.R
        u = cloud.transform(latents)
        rule = self.values["rule"]
        if rule == "scott":
            h = n ** (-1.0 / (d + 4))
        elif rule == "silverman":
            h = (n * (d + 2) / 4.0) ** (-1.0 / (d + 4))
        else:
            h = self._cross_validated(u)
        self.selected_bandwidth = float(h)
        self.model = KernelDensity(kernel="gaussian", bandwidth=float(h * self.values["bandwidth"])).fit(u)

    @staticmethod
    def _cross_validated(u: np.ndarray) -> float:
        from sklearn.model_selection import GridSearchCV
        from sklearn.neighbors import KernelDensity

        rng = np.random.default_rng(0)
        sub = u[rng.permutation(len(u))[:2000]]
        grid = {"bandwidth": np.geomspace(0.1, 1.5, 12)}
        search = GridSearchCV(KernelDensity(kernel="gaussian"), grid, cv=3).fit(sub)
        return float(search.best_params_["bandwidth"])

    def _sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        u = self.model.sample(n, random_state=int(rng.integers(0, 2**31 - 1)))
        return self.mean + u @ self.colour

    def _diagnostics(self) -> dict:
        return {"selected_bandwidth": self.selected_bandwidth, "bandwidth_used": self.model.bandwidth_}
