"""Atomic file writes: a temp file in the same folder, fsync, then rename.

A crash, a full disk or a cancelled job never leaves a half-written file behind; the
previous version of the file stays intact until the new one is complete.
"""
from __future__ import annotations

import glob
import io
import json
import os
import tempfile
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Iterator


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


#: Bytes a temp name adds around the target's name: "." + name + "." + 8 random + ".tmp".
_TEMP_EXTRA = 1 + 1 + 8 + 4
_NAME_MAX = 255


def _temp_prefix(name: str) -> str:
    """``.name.``, shortened so that the temp file's name fits the usual 255-byte limit."""
    raw = name.encode("utf-8", "surrogateescape")
    room = _NAME_MAX - _TEMP_EXTRA
    if len(raw) > room:  # a cut inside a UTF-8 character round-trips through surrogateescape
        name = raw[:room].decode("utf-8", "surrogateescape")
    return f".{name}."


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it replaces ``path``.

    Use it for writers that want a file name (safetensors, Pillow). On any error the
    temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path.name), suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file the usual permissions
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        try:
            tmp_path.unlink()
        except FileNotFoundError:
            pass
        raise


@contextmanager
def atomic_paths(*paths: str | os.PathLike) -> Iterator[list[Path]]:
    """Like :func:`atomic_path` for files that belong together (config + weights, latents + names).

    Every temp file is written and fsynced before the first rename, so a write error or a full
    disk leaves all the old files in place; the renames themselves need no space.
    """
    with ExitStack() as stack:
        temps = [stack.enter_context(_temp_for(Path(p))) for p in paths]
        yield temps
        for tmp in temps:
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        for tmp, path in zip(temps, paths):
            os.replace(tmp, path)


@contextmanager
def _temp_for(path: Path) -> Iterator[Path]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path.name), suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
    finally:
        try:
            tmp_path.unlink()  # already renamed on success
        except FileNotFoundError:
            pass


def remove_stale_temps(folder: str | os.PathLike, names) -> list[str]:
    """Delete temp files that an interrupted atomic write of ``names`` left in ``folder``.

    A process killed (kill -9, power loss) between creating its temp file and renaming it leaves
    ``.NAME.XXXXXXXX.tmp`` behind; the target itself is intact. Call this only where no other
    process can be writing the same files (e.g. when a job claims its output folder).
    """
    removed = []
    folder = Path(folder)
    for name in names:
        prefix = _temp_prefix(name)
        for tmp in folder.glob(glob.escape(prefix) + "*.tmp"):
            if len(tmp.name) == len(prefix) + 8 + 4:
                try:
                    tmp.unlink()
                    removed.append(tmp.name)
                except OSError:
                    pass
    return removed


def write_into(tmp: Path, data: bytes) -> None:
    """Fill a temp file given by :func:`atomic_path` / :func:`atomic_paths`."""
    with open(tmp, "wb") as fh:
        fh.write(data)


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        write_into(tmp, data)


def write_text(path: str | os.PathLike, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def npy_bytes(array) -> bytes:
    """An array as the bytes of a .npy file (never pickled)."""
    import numpy as np

    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array), allow_pickle=False)
    return buf.getvalue()


def save_npy(path: str | os.PathLike, array) -> None:
    write_bytes(path, npy_bytes(array))


def save_png(path: str | os.PathLike, image) -> None:
    """Save a HxWx3 uint8 array or a PIL image as PNG, atomically."""
    from PIL import Image
    import numpy as np

    if not isinstance(image, Image.Image):
        image = Image.fromarray(np.asarray(image, dtype=np.uint8))
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    write_bytes(path, buf.getvalue())
