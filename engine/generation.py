"""Kept for callers of ``engine.generation.generate(model_dir, …)``: the use case lives in
:mod:`engine.workflows.generate`."""
from __future__ import annotations

from .workflows.generate import GeneratedSet, generate_from_folder as generate

__all__ = ["GeneratedSet", "generate"]
