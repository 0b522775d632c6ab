"""Where the application's bundled files live (the default model, icons)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

DEFAULT_MODEL_NAME = "celeba64-z256"
INSTALLED_PACKAGE = "latent_face_studio_resources"  # pyproject.toml maps resources/ to this package
#: sha256 of the fast-path manifests this app packaged (``engine.formats.fast_path_shipped``): a model folder whose
#: ``fast_path.json`` has one of these opens on its shipped ONNX export, checked by content, without torch.
#: ``scripts/ship_fast_path.py`` writes the files and prints the hash to put here.
SHIPPED_FAST_PATHS = frozenset({
    "4cffa399777b19af2e2e21ff145f02dbaaca66f14286ae2870407934e592979a",  # celeba64-z256
    "7a8f1db34ce762b5e88b42aea364f3c4bb7b11f543740f7bcb3774a635cc5b37",  # feature-encoder-celeba64 (no torch to measure)
})


def resources_dir() -> Path:
    env = os.environ.get("LFS_RESOURCES")
    if env:
        return Path(env)
    frozen = getattr(sys, "_MEIPASS", None)  # PyInstaller bundle
    if frozen:
        return Path(frozen) / "resources"
    root = Path(__file__).resolve().parent.parent
    installed = root / INSTALLED_PACKAGE  # pip-installed: resources/ ships as this package beside engine/
    if installed.is_dir():
        return installed
    return root / "resources"  # the source tree


def default_model_dir() -> Path:
    return resources_dir() / "models" / DEFAULT_MODEL_NAME


def icon_path(name: str = "app.png") -> Path:
    return resources_dir() / "icons" / name
