"""``gmm``: a Gaussian mixture density fitted ex post to the z-points (scikit-learn), as in the RAE
paper's ex-post density estimation for deterministic autoencoders (Ghosh et al. 2020). A fit (about a minute on the
default model's 9,000 z-points) is kept in the user's cache, per z-points and fit parameters (``gmm_cache``)."""
import numpy as np

from .base import Param, Sampler

#: EM iterations of one fit
MAX_ITER = 100
#: the most z-points one fit uses (``Sampler.max_fit_points``)
GMM_FIT_POINTS = 9_000


class GMMSampler(Sampler):
    name = "gmm"
    order = 50
    #: a larger cloud is fitted on a seeded subsample of this many z-points: EM's cost grows with the points,
    #: its quality past this many does not change by more than the run-to-run noise (docs/scale.md)
    max_fit_points = GMM_FIT_POINTS
    fits_covariance = True
    #: the last fit was read from the cache (``gmm_cache``) instead of running EM
    cached = False
    summary = "several bell shapes (a Gaussian mixture) fitted to the training points (scikit-learn)"
    params = (
        Param("components", int, 10, "number of mixture components", minimum=1, maximum=200),
        Param("covariance", str, "full", "covariance type of each component", choices=("full", "diag")),
        Param("scale", float, 1.0, "temperature: multiplies each component's spread", minimum=0.0, maximum=10.0, sweep=True),
        Param("fit_seed", int, 0, "random state of the EM fit (k-means initialisation)", minimum=0, maximum=2**31 - 1),
    )

    @classmethod
    def fit_seconds(cls, n: int, z_dim: int, values: dict) -> float:
        """EM's cost grows with the points, the components and, for full covariances, z_dim²: measured 53 s for
        9,000 × 256 with 10 full components on one core (benchmarks/first_launch.py)."""
        v = cls(**dict(values or {})).values
        n = min(n, cls.max_fit_points)
        per_dim = (z_dim / 256) ** 2 if v["covariance"] == "full" else z_dim / 256 / 20
        return 0.2 + 53.0 * (n / 9000) * (v["components"] / 10) * per_dim

    @classmethod
    def fit_is_cached(cls, latents: np.ndarray, values: dict) -> bool:
        from . import gmm_cache

        return gmm_cache.is_cached(cls.fit_input(latents), cls(**dict(values or {})).fit_values())

    def _fit(self, latents: np.ndarray) -> None:
        from threadpoolctl import threadpool_limits  # comes with scikit-learn

        # one thread for BLAS and for k-means' OpenMP loops: small problems, where a second thread only spins
        # (10,000 points: 2.1 → 1.4 CPU s on 2 busy cores, and no slower in wall time)
        with threadpool_limits(limits=1):
            self._fit_or_read(latents)

    def _fit_or_read(self, latents: np.ndarray) -> None:
        from . import gmm_cache

        key = gmm_cache.fit_key(latents, self.fit_values())
        hit = gmm_cache.load(key)
        if hit is not None:  # the same z-points and fit parameters: the fit made before, on this machine or shipped
            self._use_fit(hit["weights"], hit["means"], hit["covariances"], bool(hit["converged"]))
            self.notes.extend(str(n) for n in hit["notes"])
            self.cached = True
            return
        self._fit_mixture(latents)
        gmm_cache.save(key, weights=self.weights, means=self.means, covariances=self.covariances,
                       converged=np.array(self.converged), notes=np.array(self.notes, dtype=str))
        self.cached = False

    def fit_values(self) -> dict:
        """The parameters the fit depends on (``scale`` only changes the sampling)."""
        return {k: v for k, v in self.values.items() if k != "scale"}

    def _fit_mixture(self, latents: np.ndarray) -> None:
        from sklearn.mixture import GaussianMixture

        from ..errors import SamplerError

        k = self.values["components"]
        if k > len(latents):
            raise SamplerError(f"gmm: components={k} exceeds the {len(latents)} z-points")
        z = latents.astype(np.float64)
        distinct = len(np.unique(latents, axis=0)) if k > 1 else k
        if k > distinct:  # k-means cannot place k centres on fewer points: scikit-learn only warns
            raise SamplerError(f"gmm: components={k} exceeds the {distinct} distinct z-point(s) among the "
                               f"{len(latents)} given; use components ≤ {distinct}")
        # regularise relative to the cloud's scale so a dead latent component cannot make a singular matrix
        reg = 1e-6 * max(float(np.mean(np.var(z, axis=0))), 1e-12)
        settings = dict(n_components=k, covariance_type=self.values["covariance"], reg_covar=reg, max_iter=MAX_ITER,
                        n_init=1, random_state=self.values["fit_seed"])
        try:  # EM in float32: about 1.7× faster, the same quality (docs/scale.md)
            m = GaussianMixture(**settings).fit(np.asarray(latents, dtype=np.float32))
        except ValueError:  # a component's covariance float32 cannot factor: the same fit in float64
            m = GaussianMixture(**settings).fit(z)
        converged = bool(m.converged_)
        if not converged:  # said in the sampler's own words (diagnostics "converged"), not sklearn's warning
            self.notes[:] = [n for n in self.notes if not n.startswith("ConvergenceWarning: Best performing")]
            self.notes.append(f"the EM fit did not converge in {MAX_ITER} iterations; its last estimate is used")
        self._use_fit(*(np.asarray(a, dtype=np.float64) for a in (m.weights_, m.means_, m.covariances_)), converged)

    def _use_fit(self, weights: np.ndarray, means: np.ndarray, covariances: np.ndarray, converged: bool) -> None:
        """Take a fitted mixture's arrays (float64): the component weights, means, covariances (full or diagonal)."""
        self.weights, self.means, self.covariances = weights, means, covariances
        self.converged = converged
        if self.values["covariance"] == "full":
            roots = []
            for c in covariances:
                w, v = np.linalg.eigh(c)
                roots.append((v * np.sqrt(np.maximum(w, 0.0))).T)
            self.roots = np.stack(roots)
        else:
            self.roots = None
            self.stds = np.sqrt(covariances)

    def _sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        which = rng.choice(len(self.weights), size=n, p=self.weights / self.weights.sum())
        u = rng.standard_normal((n, self.z_dim)) * self.values["scale"]
        if self.roots is not None:
            dev = np.einsum("nj,njk->nk", u, self.roots[which])
        else:
            dev = u * self.stds[which]
        return self.means[which] + dev

    def _diagnostics(self) -> dict:
        return {"converged": self.converged, "weights": self.weights.tolist()}
