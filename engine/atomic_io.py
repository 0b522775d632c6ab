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
from typing import Any, Callable, Iterator, Optional


def _current_umask() -> int:
    """The process's umask, read without changing it where the system says it (Linux: /proc); elsewhere
    set and restored once (os.umask has no read-only form)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK_CACHE: list[int] = []


def _umask() -> int:
    if not _UMASK_CACHE:
        _UMASK_CACHE.append(_current_umask())
    return _UMASK_CACHE[0]


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
def atomic_path(path: str | os.PathLike, before_replace: Optional[Callable[[Path], None]] = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it replaces ``path``.

    Use it for writers that want a file name (safetensors, Pillow, FFmpeg): the writer must have finished
    and closed the file, its errors raised, when the ``with`` body ends. Then the file is fsynced,
    ``before_replace(tmp)`` may check or fingerprint it, and only then is it renamed into place. On any
    error the temporary file is removed and ``path`` is untouched; an OSError without a file name (a
    full disk seen by fsync, a writer library's error) or naming the temporary file gets ``path`` as
    its file name — a message never names a temporary file.
    """
    path = Path(path)
    with _named_errors(path), _temp_for(path) as tmp:
        yield tmp
        _fsync(tmp)
        if before_replace is not None:
            before_replace(tmp)
        os.replace(tmp, path)


@contextmanager
def atomic_paths(*paths: str | os.PathLike) -> Iterator[list[Path]]:
    """Like :func:`atomic_path` for files that belong together (config + weights, latents + names).

    Every temp file is written and fsynced before the first rename, so a write error or a full
    disk leaves all the old files in place; the renames themselves need no space.
    """
    paths = [Path(p) for p in paths]
    with _named_errors(paths[0].parent), ExitStack() as stack:
        temps = [stack.enter_context(_temp_for(p)) for p in paths]
        yield temps
        for tmp, path in zip(temps, paths):
            with _named_errors(path):
                _fsync(tmp)
        for tmp, path in zip(temps, paths):
            os.replace(tmp, path)


def _fsync(tmp: Path) -> None:
    os.chmod(tmp, 0o666 & ~_umask())  # a writer may have recreated the temp file with 0600
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())


@contextmanager
def _named_errors(path: Path) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        if exc.errno is not None and (exc.filename is None or _is_temp_of(exc.filename, path)):
            raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
        raise


def _is_temp_of(filename, path: Path) -> bool:
    """True when ``filename`` is one of the temp files :func:`atomic_path` makes for ``path``."""
    try:
        f = Path(os.fsdecode(filename))
    except (TypeError, ValueError):
        return False
    return f.parent == path.parent and f.name.startswith(_temp_prefix(path.name)) and f.name.endswith(".tmp")


_IN_FLIGHT = [0]


@contextmanager
def in_flight() -> Iterator[None]:
    """Count a write under way (a temp file, a staging folder) for :func:`writes_in_flight`."""
    _IN_FLIGHT[0] += 1
    try:
        yield
    finally:
        _IN_FLIGHT[0] -= 1


def writes_in_flight() -> int:
    """How many writes of this process have a temp file or staging folder now (0: ending the process at once
    leaves no temp file behind — engine/interrupts.py)."""
    return _IN_FLIGHT[0]


@contextmanager
def _temp_for(path: Path) -> Iterator[Path]:
    with in_flight():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path.name), suffix=".tmp", dir=path.parent)
        os.close(fd)
        os.chmod(tmp, 0o666 & ~_umask())
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
    tmp = Path(tmp)
    with _named_errors(target_of(tmp)):
        with open(tmp, "wb") as fh:
            fh.write(data)


def target_of(tmp: Path) -> Path:
    """``dir/.NAME.XXXXXXXX.tmp`` → ``dir/NAME`` (for messages)."""
    name = tmp.name
    if name.startswith(".") and name.endswith(".tmp") and len(name) > 14:
        return tmp.with_name(name[1:-13])
    return tmp


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


def png_bytes(image) -> bytes:
    """A HxWx3 uint8 array or a PIL image as the bytes of a PNG file."""
    from PIL import Image
    import numpy as np

    if not isinstance(image, Image.Image):
        image = Image.fromarray(np.asarray(image, dtype=np.uint8))
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def save_png(path: str | os.PathLike, image) -> None:
    """Save a HxWx3 uint8 array or a PIL image as PNG, atomically."""
    write_bytes(path, png_bytes(image))


def write_staged(path: str | os.PathLike, data: bytes) -> None:
    """Write a file inside a private staging folder, without an fsync of its own.

    For many small files (the PNGs of an image set) that only become visible when the staging
    folder's contents are moved into place: call :func:`sync_staged` once before that move
    instead of paying one fsync per file (≈7 ms each on a journalled disk).
    """
    path = Path(path)
    with _named_errors(path):
        with open(path, "wb") as fh:
            fh.write(data)


def sync_staged(paths) -> None:
    """Make staged files durable before they are moved into place; errors (ENOSPC, EIO) are raised.

    The fsyncs run on 16 threads, so the file system commits them together: ≈0.5 ms a file
    instead of ≈5 ms one by one (measured on ext4).
    """
    from concurrent.futures import ThreadPoolExecutor

    def one(p):
        with _named_errors(Path(p)):
            _fsync(Path(p))

    paths = list(paths)
    if len(paths) <= 2:
        for p in paths:
            one(p)
        return
    with ThreadPoolExecutor(min(16, len(paths))) as pool:
        list(pool.map(one, paths))


class FolderBusy(OSError):
    """Another live process (or thread) holds the lock file; ``holder`` says who (``pid@host``)."""

    def __init__(self, lock: Path, holder: str):
        super().__init__(f"{lock}: held by {holder or 'another writer'}")
        self.lock, self.holder = lock, holder


class FolderLock:
    """An exclusive lock file (``O_EXCL``) in a folder for one writer at a time.

    The file holds ``pid@host`` (then, after a space, what the holder is doing: ``what``); a lock
    left by a process that died (kill -9, power loss) on this host is taken over. ``acquire(wait_s)`` retries for up to ``wait_s`` seconds, then raises
    :class:`FolderBusy`. Usable as a context manager (waits ``wait_s`` given to the constructor).
    """

    def __init__(self, folder: str | os.PathLike, name: str = ".lock", wait_s: float = 0.0, what: str = ""):
        self.path = Path(folder) / name
        self.wait_s = wait_s
        self.what = " ".join(str(what).split())
        self.held = False

    def acquire(self, wait_s: float | None = None) -> "FolderLock":
        import socket
        import time

        deadline = time.monotonic() + (self.wait_s if wait_s is None else wait_s)
        me = f"{os.getpid()}@{socket.gethostname()}" + (f" {self.what}" if self.what else "")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = self._holder()
                if self._stale(holder):
                    try:
                        self.path.unlink()
                    except FileNotFoundError:
                        pass
                    continue
                if time.monotonic() >= deadline:
                    raise FolderBusy(self.path, holder) from None
                time.sleep(0.02)
                continue
            try:
                os.write(fd, me.encode())
            except OSError as exc:  # e.g. a full disk: no lock is left behind
                os.close(fd)
                self.path.unlink(missing_ok=True)
                raise OSError(exc.errno, exc.strerror, str(self.path)) from exc
            os.close(fd)
            self.held = True
            return self

    def release(self) -> None:
        if self.held:
            self.held = False
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass

    def __enter__(self) -> "FolderLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()

    def is_stale(self, unowned_after_s: float = 3600.0) -> bool:
        """True when the lock's holder is gone (or, without a lock file, the folder is older than
        ``unowned_after_s``): what it guarded was abandoned."""
        import time

        if not self.path.exists():
            try:
                return time.time() - self.path.parent.stat().st_mtime > unowned_after_s
            except OSError:
                return False
        return self._stale(self._holder())

    def _holder(self) -> str:
        try:
            return self.path.read_text().strip()
        except OSError:
            return ""

    def _stale(self, holder: str) -> bool:
        import socket
        import time

        if not holder:  # between O_EXCL and write, or a writer that died right there
            try:
                return time.time() - self.path.stat().st_mtime > 5
            except OSError:
                return False
        pid_text, _, host = holder.split()[0].partition("@")
        if host and host != socket.gethostname():
            return False  # cannot tell from here
        try:
            pid = int(pid_text)
        except ValueError:
            return True
        if pid == os.getpid():
            return False  # another thread of this process
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False
