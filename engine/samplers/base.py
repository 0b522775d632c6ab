"""The sampler interface: a parameter schema, ``fit`` on training z-points, ``sample(n, seed)``.

Every sampler declares its parameters as :class:`Param` rows (name, type, default, range, one-line
help); the CLI parses ``--set KEY=VALUE`` with them and the GUI builds its controls from them.

A sampler is one file in ``engine/samplers/``: a :class:`Sampler` subclass with a ``name`` is found
there by the registry (``engine.samplers.SAMPLERS``, ordered by ``order``) and with it by the CLI, the
GUI, ``evaluate``'s default comparison (``compared``), the conditional minimum number of z-points
(:meth:`Sampler.min_points`, from ``fits_covariance``) and the comparison panel's sweep
(``Param(sweep=True)``, ``default_sweep``). Nothing outside the file names the sampler.

No third-party warning reaches the user: whatever numpy or scikit-learn warn while a sampler fits,
samples or reports (a k-means initialisation on duplicate points, EM that did not converge, the mean
of an empty slice) is caught here and kept, one line each, in ``diagnostics()["notes"]`` (one text); a sample
that is not finite is a :class:`SamplerError`. Degenerate clouds a sampler cannot fit meaningfully are
refused by the sampler itself, one line naming it.
"""
from __future__ import annotations

import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, Optional

import numpy as np

from .. import params
from ..errors import SamplerError


@dataclass(frozen=True)
class Param(params.Param):
    """A sampler's parameter (the shape every workflow's options use, :mod:`engine.params`); its errors are
    :class:`SamplerError`."""

    error: ClassVar[type] = SamplerError


#: the fewest z-points a (conditional) fit of any sampler accepts
MIN_FIT_POINTS = 10
#: the seed of the subsample a capped fit uses (``Sampler.max_fit_points``): a fit is the same every time
FIT_SUBSAMPLE_SEED = 0


def _rows_not_finite(z: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """Indices of the rows of ``z`` that hold NaN or Inf, checked a chunk at a time (a memory map's pages handed
    back after each)."""
    from ..z_store import row_chunks

    bad = [i + np.flatnonzero(~np.isfinite(c).all(axis=1)) for i, c in row_chunks(z, chunk, dtype=z.dtype)]
    return np.concatenate(bad) if bad else np.zeros(0, np.int64)


class Sampler:
    """Base class. Subclasses set ``name``, ``summary``, ``params`` and implement ``_fit``/``_sample``
    (and ``_diagnostics`` when they have facts to report); the class attributes below declare the rest."""

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    params: ClassVar[tuple[Param, ...]] = ()
    #: place in the registry (CLI listing, GUI menu, evaluate's rows): naive baselines first
    order: ClassVar[int] = 1000
    #: part of ``evaluate``'s default comparison
    compared: ClassVar[bool] = True
    #: the fit estimates a covariance or PCA of the cloud: it needs more z-points than dimensions
    fits_covariance: ClassVar[bool] = False
    #: the sampler the comparison panel sweeps unless told otherwise (one sampler sets it)
    default_sweep: ClassVar[bool] = False
    #: the most z-points a fit uses: a larger cloud is fitted on a seeded random subsample of this many rows
    #: (:meth:`fit_rows`; None: every row). Set where a fit's cost grows with the points faster than its quality
    #: (measured in docs/scale.md).
    max_fit_points: ClassVar[Optional[int]] = None
    #: the fit reads a large cloud itself (a few of its rows, or a subsample it draws): a memory-mapped cloud of
    #: millions of z-points is handed to it whole, not as the generate workflow's subsample, so that row numbers
    #: keep their meaning; :meth:`fit_input` then must not copy it
    reads_whole_cloud: ClassVar[bool] = False

    def __init__(self, **values: Any) -> None:
        known = {p.name: p for p in self.params}
        unknown = sorted(set(values) - set(known))
        if unknown:
            allowed = ", ".join(known) or "none"
            raise SamplerError(f"{self.name}: unknown parameter(s) {', '.join(unknown)}; allowed: {allowed}")
        self.values = {p.name: p.default for p in self.params}
        for k, v in values.items():
            self.values[k] = known[k].check(v, self.name)
        self.fitted = False
        self.z_dim: Optional[int] = None

    @classmethod
    def param(cls, name: str) -> Param:
        for p in cls.params:
            if p.name == name:
                return p
        raise SamplerError(f"{cls.name}: unknown parameter {name}; allowed: {', '.join(p.name for p in cls.params) or 'none'}")

    @classmethod
    def min_points(cls, z_dim: int) -> int:
        """The fewest z-points a fit accepts in ``z_dim`` dimensions (conditional subsets are refused below it)."""
        return max(MIN_FIT_POINTS, z_dim + 1) if cls.fits_covariance else MIN_FIT_POINTS

    @classmethod
    def fit_seconds(cls, n: int, z_dim: int, values: dict) -> float:
        """About how long a fit on ``n`` z-points of ``z_dim`` takes when it is not cached (a sampler whose fit
        takes more than a moment says so: the window warns before a long fit)."""
        return 0.2

    @classmethod
    def fit_is_cached(cls, latents: np.ndarray, values: dict) -> bool:
        """True when a fit of ``latents`` with ``values`` is kept on disk (a sampler with a fit cache says so)."""
        return False

    @classmethod
    def sweep_params(cls) -> tuple[Param, ...]:
        """The parameters a sweep can vary (numeric, no list of choices), in schema order."""
        return tuple(p for p in cls.params if p.sweepable)

    @classmethod
    def preferred_sweep(cls) -> Optional[str]:
        """The parameter declared ``Param(sweep=True)``, else the first sweepable one, else None."""
        params = cls.sweep_params()
        marked = [p.name for p in params if p.sweep]
        return marked[0] if marked else (params[0].name if params else None)

    @classmethod
    def fit_rows(cls, n: int) -> Optional[np.ndarray]:
        """The rows of an ``n``-point cloud a fit uses (a seeded subsample, nested for growing caps), or None for
        all of them."""
        if cls.max_fit_points is None or n <= cls.max_fit_points:
            return None
        from ..latent_stats import subsample_rows

        return subsample_rows(n, cls.max_fit_points, seed=FIT_SUBSAMPLE_SEED)

    @classmethod
    def fit_input(cls, latents: np.ndarray) -> np.ndarray:
        """The z-points a fit of ``latents`` sees (float32): all of them, or the seeded subsample of
        :meth:`fit_rows`. A read-only memory-mapped cloud is read only where the fit needs it."""
        latents = np.asarray(latents)
        rows = cls.fit_rows(len(latents)) if latents.ndim == 2 else None
        if rows is not None:
            latents = latents[rows]
        return np.asarray(latents, dtype=np.float32)

    def fit(self, latents: np.ndarray) -> "Sampler":
        shape = np.shape(latents)
        if len(shape) != 2 or shape[0] < 2:
            raise SamplerError(f"{self.name}: needs an N×z_dim array of at least 2 z-points, got shape {list(shape)}")
        self.total_points = int(shape[0])
        latents = self.fit_input(latents)
        rows = _rows_not_finite(latents)
        if len(rows):
            raise SamplerError(f"{self.name}: {len(rows)} z-point(s) hold NaN or Inf (first: row {rows[0]}); cannot fit")
        self.fit_points = len(latents)
        self.z_dim = latents.shape[1]
        self.fitted = False
        self.notes = []
        try:
            with self._quiet():
                self._fit(latents)
        except SamplerError:
            raise
        except (np.linalg.LinAlgError, ValueError, ArithmeticError) as exc:
            # the one wrapper of numerical fit failures (a singular matrix, sklearn refusing the data, …)
            raise SamplerError(f"the {self.name} sampler cannot be fitted on these {len(latents)} z-points "
                               f"({type(exc).__name__}: {exc})") from exc
        self.fitted = True
        return self

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` z-vectors (float32, n×z_dim), the same for the same seed and parameters."""
        if not self.fitted:
            raise SamplerError(f"{self.name}: fit() the sampler on z-points before sampling")
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise SamplerError(f"n must be a whole number ≥ 0, got {n!r}")
        rng = np.random.default_rng(seed)
        if n == 0:
            return np.empty((0, self.z_dim), dtype=np.float32)
        with self._quiet():
            z = np.asarray(self._sample(int(n), rng), dtype=np.float32)
        if not np.isfinite(z).all():
            rows = np.flatnonzero(~np.isfinite(z).all(axis=1))
            why = f" ({self.notes[-1]})" if self.notes else ""
            raise SamplerError(f"{self.name}: {len(rows)} of the {n} sampled vectors hold NaN or Inf (first: "
                               f"row {rows[0]}){why}; the parameters are too extreme for this cloud")
        return z

    def diagnostics(self) -> dict:
        """Extra facts about the fitted sampler or its last sample (e.g. spread per axis); {} if none
        or before :meth:`fit`. ``notes``: what numpy/scikit-learn warned, one line each."""
        if not self.fitted:
            return {}
        with self._quiet():
            out = self._diagnostics()
        if getattr(self, "fit_points", 0) < getattr(self, "total_points", 0):
            out = {**out, "fitted_on": f"a seeded subsample of {self.fit_points:,} of the {self.total_points:,} z-points"}
        if self.notes:
            out = {**out, "notes": "; ".join(self.notes)}
        return out

    @contextmanager
    def _quiet(self):
        """Catch every warning of the block (third-party libraries included) into ``self.notes``."""
        notes = getattr(self, "notes", None)
        if notes is None:
            notes = self.notes = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                yield
            finally:
                for w in caught:
                    text = " ".join(str(w.message).split())
                    line = f"{w.category.__name__}: {text[:200]}"
                    if line not in notes and len(notes) < 20:
                        notes.append(line)

    # subclasses -------------------------------------------------------------------------
    def _fit(self, latents: np.ndarray) -> None:
        raise NotImplementedError

    def _sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def _diagnostics(self) -> dict:
        return {}
