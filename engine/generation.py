"""Sample z-vectors with a named sampler, decode them, and describe the run for ``params.json``."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from . import __version__, model_store
from .samplers import make_sampler


@dataclass
class GeneratedSet:
    z: np.ndarray
    images: Optional[np.ndarray]
    params: dict


def loaded_latents(model_dir: Path, z_dim: int) -> np.ndarray:
    z, _ = model_store.load_latents(model_dir, z_dim)
    return z


def generate(
    model_dir: str | Path,
    sampler: str,
    values: Optional[dict[str, Any]] = None,
    n: int = 16,
    seed: int = 0,
    *,
    decode: bool = True,
    model=None,
    config=None,
    latents: Optional[np.ndarray] = None,
    where=None,
    labels=None,
) -> GeneratedSet:
    """Fit ``sampler`` on the model's z-points, draw ``n`` vectors for ``seed`` and decode them.

    ``where`` ("Smiling=1,Male=-1" or a list of ``attributes.Condition``) fits the sampler only on
    the z-points whose labels match (``labels``: an ``attributes.AttributeTable`` aligned with
    ``latents``; default: the model's ``labels.csv``)."""
    from .encoding import decode_latents

    model_dir = Path(model_dir)
    if model is None or config is None:
        model, config = model_store.load_model(model_dir)
    if latents is None:
        latents = loaded_latents(model_dir, config.arch.z_dim)
    s = make_sampler(sampler, values)
    conditions = []
    if where is not None:  # "" is refused by parse_where, never read as "no condition"
        from .attributes import conditional_latents, describe_where, parse_where, require_labels

        conditions = parse_where(where) if isinstance(where, str) else list(where)
    if conditions:
        if labels is None:
            labels = require_labels(model_dir)
        subset = conditional_latents(latents, labels, conditions, sampler)
        try:
            s.fit(subset)
        except (np.linalg.LinAlgError, ValueError) as exc:
            from .errors import SamplerError

            raise SamplerError(f"--where {describe_where(conditions)}: the {sampler} sampler cannot be fitted on "
                               f"the {len(subset)} matching z-points ({exc})") from None
    else:
        s.fit(latents)
    z = s.sample(n, seed)
    images = decode_latents(model, z) if decode else None
    params = {
        "sampler": sampler,
        "parameters": dict(s.values),
        "seed": int(seed),
        "n": int(n),
        "model_id": config.model_id,
        "model_folder": str(model_dir),
        "app_version": __version__,
    }
    if conditions:
        params["where"] = describe_where(conditions)
        params["where_points"] = int(len(subset))
    return GeneratedSet(z, images, params)
