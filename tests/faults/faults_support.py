"""Helpers of the fault suite: the names it needs from the root ``tests/conftest.py``.

``from conftest import …`` breaks as soon as another folder's conftest.py (tests/gui/) has been
imported under the same module name, so the root conftest is found by its path instead: the module
pytest already loaded when it is still in ``sys.modules``, else a private copy.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_PATH = Path(__file__).resolve().parents[1] / "conftest.py"


def _root_conftest():
    for mod in list(sys.modules.values()):
        f = getattr(mod, "__file__", None)
        if f and Path(f).resolve() == _PATH:
            return mod
    spec = importlib.util.spec_from_file_location("lfs_tests_root_conftest", _PATH)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


_conftest = _root_conftest()
ROOT: Path = _conftest.ROOT
TINY_ARCH: dict = _conftest.TINY_ARCH
write_faces = _conftest.write_faces
synthetic_face = _conftest.synthetic_face
