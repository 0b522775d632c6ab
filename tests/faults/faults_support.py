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


def mounted_tmpfs(mnt: Path, size: str):
    """A generator for a fixture: a real tmpfs of ``size`` (e.g. "3m") mounted at ``mnt`` for the test, unmounted
    after; the test is skipped where mounting is not allowed (needs root and mount rights)."""
    import os
    import subprocess

    import pytest

    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)], capture_output=True,
                         text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def fill_disk(disk: Path, leave: int = 0) -> None:
    """Fill the file system at ``disk`` to the last byte, then give back ``leave`` bytes."""
    import errno
    import os

    path = disk / "filler.bin"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        for chunk in (65536, 512, 1):
            try:
                while True:
                    os.write(fd, b"\0" * chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    if leave:
        os.truncate(path, max(0, path.stat().st_size - leave))


cli = _conftest.cli  # run the CLI in this process: (exit status, stdout, stderr)
