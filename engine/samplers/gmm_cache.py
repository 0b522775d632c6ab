"""The gmm sampler's fits, kept: one sealed ``.npz`` per (z-points, fit parameters) in the user's cache folder
(``<cache>/samplers/gmm-<key>.npz``, ``engine.sealed_npz``: arrays only, never unpickled, sealed with the
installation's key), or shipped with the default model. A second fit of the same z-points with the same
components, covariance type and fit seed reads the arrays back (milliseconds) instead of running EM again (about a
minute for the default model); a damaged or foreign file is a miss and is written again."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from .. import sealed_npz

#: bump when the fit itself changes
FIT_VERSION = 1
ARRAYS = ("weights", "means", "covariances", "converged", "notes")


def _sklearn_version() -> str:
    try:
        from importlib.metadata import version

        return version("scikit-learn")
    except Exception:  # noqa: BLE001
        return "?"


def fit_key(latents: np.ndarray, values: dict) -> str:
    """The key of a fit of ``latents`` with the fit parameters ``values`` (scikit-learn's version included)."""
    return sealed_npz.inputs_key("gmm", FIT_VERSION, _sklearn_version(), values,
                                 arrays=[np.asarray(latents, dtype=np.float32)])


def path_of(key: str) -> Path:
    from ..image_data import default_cache_dir

    return default_cache_dir("samplers") / f"gmm-{key}.npz"


def load(key: str) -> Optional[dict]:
    """The cached fit of ``key`` (arrays ``ARRAYS``), or None."""
    return sealed_npz.load(path_of(key), key, ARRAYS)


def save(key: str, **arrays) -> bool:
    return sealed_npz.save(path_of(key), key, **arrays)


def is_cached(latents: np.ndarray, values: dict) -> bool:
    """True when a fit of ``latents`` with ``values`` (the fit parameters) is in the cache or shipped."""
    return load(fit_key(latents, values)) is not None
