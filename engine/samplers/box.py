"""``box``: each component uniform in centre ± fact·half-width of its fitted Gaussian (seed, part VII).

Centres and half-widths (half width at half maximum) come from Gaussian fits to the per-component
histograms with the seed's sampling interval (engine.latent_stats.component_fits). The box ignores
correlations, so most of its corners lie outside the cloud's core.
"""
import numpy as np

from .base import Param, Sampler


class BoxSampler(Sampler):
    name = "box"
    order = 20
    summary = ("each number drawn on its own, evenly inside a box around the centre of its histogram "
               "(ignores how the numbers move together)")
    params = (
        Param("fact", float, 1.0, "multiple of each component's half-width (HWHM) used as the half-side of the box", minimum=0.0, maximum=10.0, sweep=True),
        Param("interval", float, 0.25, "histogram sampling interval of the Gaussian fits", minimum=1e-4, maximum=10.0),
    )

    def _fit(self, latents: np.ndarray) -> None:
        from ..latent_stats import component_fits

        fits = component_fits(latents, self.values["interval"])
        self.centres = fits["centres"]
        self.half_widths = fits["half_widths"]

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        h = self.values["fact"] * self.half_widths
        return self.centres - h, self.centres + h

    def _sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        lo, hi = self.bounds
        return lo + (hi - lo) * rng.random((n, self.z_dim))
