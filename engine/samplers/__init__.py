"""Samplers of new z-vectors, by name. ``SAMPLERS`` maps the fixed CLI/GUI names to classes.

The registry finds itself: every module of this package (but ``base``) is imported and each
:class:`Sampler` subclass defined there with a ``name`` is registered, ordered by its ``order``. A new
sampler is one new file here; its class declares what the rest of the program asks of it (see
:mod:`engine.samplers.base`).
"""
from __future__ import annotations

import importlib
import pkgutil
from typing import Any, Mapping, Optional

from ..errors import SamplerError
from .base import MIN_FIT_POINTS, Param, Sampler


def _discover() -> dict[str, type[Sampler]]:
    found: list[type[Sampler]] = []
    for info in pkgutil.iter_modules(__path__):
        if info.name == "base" or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for obj in vars(module).values():
            if (isinstance(obj, type) and issubclass(obj, Sampler) and obj.name
                    and obj.__module__ == module.__name__):
                found.append(obj)
    found.sort(key=lambda cls: (cls.order, cls.name))
    registry: dict[str, type[Sampler]] = {}
    for cls in found:
        if cls.name in registry:
            raise ImportError(f"two samplers are named {cls.name!r}: {registry[cls.name].__module__} and {cls.__module__}")
        registry[cls.name] = cls
    return registry


SAMPLERS: dict[str, type[Sampler]] = _discover()


def compared_samplers() -> tuple[str, ...]:
    """The samplers ``evaluate`` compares unless told otherwise (those declaring ``compared``)."""
    return tuple(name for name, cls in SAMPLERS.items() if cls.compared)


def default_sweep_sampler() -> Optional[str]:
    """The sampler the comparison panel sweeps unless told otherwise (the one declaring ``default_sweep``)."""
    return next((name for name, cls in SAMPLERS.items() if cls.default_sweep), None)


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
            raise SamplerError(f"{item!r}: expected KEY=VALUE", param="set")
        key, text = item.split("=", 1)
        out[key.strip()] = cls.param(key.strip()).parse(text.strip(), name)
    return out


__all__ = ["MIN_FIT_POINTS", "SAMPLERS", "Param", "Sampler", "compared_samplers", "default_sweep_sampler", "make_sampler",
           "parse_settings", "sampler_class"]
