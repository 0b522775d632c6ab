"""Where the application's bundled files live (the default model, icons)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

DEFAULT_MODEL_NAME = "celeba64-z256"


def resources_dir() -> Path:
    env = os.environ.get("LFS_RESOURCES")
    if env:
        return Path(env)
    frozen = getattr(sys, "_MEIPASS", None)  # PyInstaller bundle
    if frozen:
        return Path(frozen) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def default_model_dir() -> Path:
    return resources_dir() / "models" / DEFAULT_MODEL_NAME


def icon_path(name: str = "app.png") -> Path:
    return resources_dir() / "icons" / name
