"""Samplers of new z-vectors, by name. ``SAMPLERS`` maps the fixed CLI/GUI names to classes."""
from __future__ import annotations

from typing import Any, Mapping

from ..errors import SamplerError
from .base import Param, Sampler
from .box import BoxSampler
from .gmm import GMMSampler
from .kde import KDESampler
from .normal import NormalSampler
from .path import PathSampler
from .pca_ellipse import PCAEllipseSampler
from .uniform import UniformSampler

SAMPLERS: dict[str, type[Sampler]] = {
    cls.name: cls
    for cls in (UniformSampler, BoxSampler, PCAEllipseSampler, NormalSampler, GMMSampler, KDESampler, PathSampler)
}


def sampler_class(name: str) -> type[Sampler]:
    try:
        return SAMPLERS[name]
    except KeyError:
        raise SamplerError(f"unknown sampler {name!r}; available: {', '.join(SAMPLERS)}") from None


def make_sampler(name: str, values: Mapping[str, Any] | None = None) -> Sampler:
    return sampler_class(name)(**dict(values or {}))


def parse_settings(name: str, settings: list[str]) -> dict[str, Any]:
    """``["KEY=VALUE", ...]`` → checked values for sampler ``name``."""
    cls = sampler_class(name)
    out: dict[str, Any] = {}
    for item in settings:
        if "=" not in item:
            raise SamplerError(f"--set {item!r}: expected KEY=VALUE")
        key, text = item.split("=", 1)
        out[key.strip()] = cls.param(key.strip()).parse(text.strip(), name)
    return out


__all__ = ["SAMPLERS", "Param", "Sampler", "make_sampler", "parse_settings", "sampler_class"]
