"""``uniform``: every component uniform in a common interval [-r, r] — the seed's failing baseline.

It ignores where the training cloud lies, so its vectors mostly miss the cloud's core (blog parts IV/V).
"""
import numpy as np

from .base import Param, Sampler


class UniformSampler(Sampler):
    name = "uniform"
    order = 10
    summary = "every number drawn evenly from [-range, range], ignoring the cloud: the baseline that misses it"
    params = (Param("range", float, 2.0, "half-width r of the common interval [-r, r]", minimum=1e-6, maximum=1e3, sweep=True),)

    def _fit(self, latents: np.ndarray) -> None:
        pass

    def _sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        r = self.values["range"]
        return rng.uniform(-r, r, size=(n, self.z_dim))
