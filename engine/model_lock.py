"""One writer per model folder: train, encode, label import and every future import or export.

Every use case that writes into a model folder holds :func:`model_writer` for its whole run; the
low-level writers of :mod:`engine.formats.native` take it too (re-entrantly, so a job that holds it
writes freely), so no code path writes a model folder unguarded. A second writer — another
process, or another thread of this one (the GUI's worker while the CLI runs) — is refused at
once with one line naming the holder and what it is doing. A lock left by a process that died
(kill -9, power loss) on this machine is taken over.
"""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from . import atomic_io
from .errors import EngineError

LOCK_NAME = ".model.lock"

_held: dict[tuple[str, int], int] = {}  # (folder, thread id) → depth: re-entry by the holding thread
_guard = threading.Lock()


def _key(folder: Path) -> tuple[str, int]:
    return os.path.realpath(folder), threading.get_ident()


@contextmanager
def model_writer(folder: str | os.PathLike, job: str, wait_s: float = 0.0) -> Iterator[None]:
    """Hold the model folder's writer lock for ``job`` ("train", "encode", "import labels", …)."""
    folder = Path(folder)
    key = _key(folder)
    with _guard:
        depth = _held.get(key, 0)
        if depth:
            _held[key] = depth + 1
    if depth:
        try:
            yield
        finally:
            with _guard:
                _held[key] -= 1
        return
    lock = atomic_io.FolderLock(folder, LOCK_NAME, what=job)
    try:
        lock.acquire(wait_s)
    except atomic_io.FolderBusy as exc:
        raise EngineError(f"{folder}: cannot {job} — another writer ({exc.holder or 'unknown'}) is working on "
                          f"this model folder; wait for it to finish, or stop it") from None
    except OSError as exc:  # a full disk or a read-only folder: not even the lock file could be written
        raise EngineError(f"{folder}: cannot {job} — {exc.strerror or exc} while taking the writer lock "
                          f"({LOCK_NAME}); nothing was written, the previous files are unchanged") from None
    with _guard:
        _held[key] = 1
    try:
        yield
    finally:
        with _guard:
            _held.pop(key, None)
        lock.release()

