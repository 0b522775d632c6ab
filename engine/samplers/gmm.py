"""``gmm``: a Gaussian mixture density fitted ex post to the z-points (scikit-learn), as in the RAE
paper's ex-post density estimation for deterministic autoencoders (Ghosh et al. 2020)."""
import numpy as np

from .base import Param, Sampler


class GMMSampler(Sampler):
    name = "gmm"
    order = 50
    fits_covariance = True
    summary = "several bell shapes (a Gaussian mixture) fitted to the training points (scikit-learn)"
    params = (
        Param("components", int, 10, "number of mixture components", minimum=1, maximum=200),
        Param("covariance", str, "full", "covariance type of each component", choices=("full", "diag")),
        Param("scale", float, 1.0, "temperature: multiplies each component's spread", minimum=0.0, maximum=10.0, sweep=True),
        Param("fit_seed", int, 0, "random state of the EM fit (k-means initialisation)", minimum=0, maximum=2**31 - 1),
    )

    def _fit(self, latents: np.ndarray) -> None:
        from ..latent_stats import single_thread_blas

        with single_thread_blas():
            self._fit_mixture(latents)

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
        self.model = GaussianMixture(n_components=k, covariance_type=self.values["covariance"], reg_covar=reg,
                                     max_iter=100, n_init=1, random_state=self.values["fit_seed"]).fit(z)
        self.converged = bool(self.model.converged_)
        if not self.converged:  # said in the sampler's own words (diagnostics "converged"), not sklearn's warning
            self.notes[:] = [n for n in self.notes if not n.startswith("ConvergenceWarning: Best performing")]
            self.notes.append(f"the EM fit did not converge in {self.model.max_iter} iterations; its last "
                              "estimate is used")
        m = self.model
        if self.values["covariance"] == "full":
            roots = []
            for c in m.covariances_:
                w, v = np.linalg.eigh(c)
                roots.append((v * np.sqrt(np.maximum(w, 0.0))).T)
            self.roots = np.stack(roots)
        else:
            self.roots = None
            self.stds = np.sqrt(m.covariances_)

    def _sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        m = self.model
        which = rng.choice(len(m.weights_), size=n, p=m.weights_ / m.weights_.sum())
        u = rng.standard_normal((n, self.z_dim)) * self.values["scale"]
        if self.roots is not None:
            dev = np.einsum("nj,njk->nk", u, self.roots[which])
        else:
            dev = u * self.stds[which]
        return m.means_[which] + dev

    def _diagnostics(self) -> dict:
        return {"converged": self.converged, "weights": self.model.weights_.tolist()}
