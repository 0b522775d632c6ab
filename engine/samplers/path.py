"""``path``: points along a straight line — along one PCA axis through the cloud's centre, or between
two training z-points (seed part VI: interpolating between two faces).

``steps`` points (0: as many as requested) evenly spaced along the path; when more vectors than
steps are requested the path repeats. The seed changes nothing: a path is deterministic.
Programmatic callers (the GUI) may set any two z-points with :meth:`PathSampler.set_endpoints`.
"""
from __future__ import annotations

import numpy as np

from ..errors import SamplerError
from .base import FIT_SUBSAMPLE_SEED, Param, Sampler

#: a memory-mapped cloud of more z-points is given its principal axes from a seeded subsample of this many
PCA_FIT_ROWS = 200_000


class PathSampler(Sampler):
    name = "path"
    order = 70
    summary = "points along a straight line: a principal axis through the centre, or between two training faces"
    params = (
        Param("mode", str, "pca", "path along a PCA axis, or between two training z-points", choices=("pca", "points")),
        Param("axis", int, 0, "PCA axis (0 = largest variance) for mode=pca", minimum=0, maximum=4095),
        Param("extent", float, 3.0, "mode=pca: the path runs from −extent·σ to +extent·σ", minimum=0.0, maximum=20.0),
        Param("start", int, 0, "mode=points: index of the first training z-point (row of latents.npy)", minimum=0),
        Param("end", int, 1, "mode=points: index of the last training z-point", minimum=0),
        Param("steps", int, 0, "points along the path (0 = as many as vectors requested)", minimum=0, maximum=100000),
    )

    reads_whole_cloud = True  # two rows, or the PCA of a subsample: row numbers are the model's own

    @classmethod
    def fit_input(cls, latents: np.ndarray) -> np.ndarray:
        """The z-points as given: a memory-mapped cloud is read only where the fit needs it (no copy)."""
        return latents if isinstance(latents, np.ndarray) and latents.ndim == 2 else super().fit_input(latents)

    def _fit(self, latents: np.ndarray) -> None:
        from .. import z_store
        from ..latent_stats import pca_of

        z = latents  # only the two end rows are copied (mode=points)
        d = self.z_dim
        if self.values["mode"] == "pca":
            ax = self.values["axis"]
            if ax >= d:
                raise SamplerError(f"path: axis={ax} is out of range; the model has PCA axes 0..{d - 1}")
            if z_store.is_mapped(z) and len(z) > PCA_FIT_ROWS:  # millions of z-points: the axes of a subsample
                z = z_store.subsample_rows(z, PCA_FIT_ROWS, seed=FIT_SUBSAMPLE_SEED)[1]
                self.fit_points = len(z)
            pca = pca_of(z)
            half = self.values["extent"] * pca.sigmas[ax] * pca.components[ax]
            self.endpoints = (pca.mean - half, pca.mean + half)
        else:
            n = len(z)
            for key in ("start", "end"):
                if self.values[key] >= n:
                    raise SamplerError(f"path: {key}={self.values[key]} is out of range; there are {n} training z-points (0..{n - 1})")
            self.endpoints = (z[self.values["start"]].astype(np.float64), z[self.values["end"]].astype(np.float64))

    def set_endpoints(self, z_start, z_end) -> "PathSampler":
        """Use two arbitrary z-points as the path's ends (after fit)."""
        a = np.asarray(z_start, dtype=np.float64).ravel()
        b = np.asarray(z_end, dtype=np.float64).ravel()
        if not self.fitted or a.shape != (self.z_dim,) or b.shape != (self.z_dim,):
            raise SamplerError(f"path: endpoints must be two z-vectors of length {self.z_dim} (fit first)")
        self.endpoints = (a, b)
        return self

    def positions(self, n: int) -> np.ndarray:
        steps = self.values["steps"] or n
        t = np.linspace(0.0, 1.0, steps) if steps > 1 else np.full(1, 0.5)
        return t[np.arange(n) % steps]

    def _sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        a, b = self.endpoints
        t = self.positions(n)[:, None]
        return (1.0 - t) * a + t * b
