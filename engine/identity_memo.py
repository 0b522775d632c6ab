"""A digest remembered in the app's cache by the identity of the files it was computed from (resolved path, device,
inode, size, modification time; and change time where asked), so that a second open of a large file need not read
it again: a file changed since has another identity and misses. The statistics' key of a large ``latents.npy``
(``engine.workflows.open_model``) and a session's model content hash (``engine.session_file``) are kept this way.
"""
from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Optional, Sequence


def memo_path(kind: str, files: Sequence[tuple[str, Path]], *, salt: str = "", racy_seconds: float = 0.0,
              ctime: bool = False) -> Optional[Path]:
    """Where a digest of ``files`` ((name, path) pairs) with their present identities is remembered (the app
    cache's ``kind`` folder); None when a file cannot be read, or was modified (or, with ``ctime``, changed) less
    than ``racy_seconds`` ago: a rewrite within the file system's timestamp tick would keep its identity (the
    "racy" case git's index has too)."""
    from .image_data import default_cache_dir

    ident = hashlib.blake2b(salt.encode(), digest_size=16)
    now = time.time()
    for name, path in files:
        try:
            st = path.stat()
        except OSError:
            return None
        if racy_seconds and (now - st.st_mtime < racy_seconds or ctime and now - st.st_ctime < racy_seconds):
            return None
        text = f"{name}|{path.resolve()}|{st.st_dev}|{st.st_ino}|{st.st_size}|{st.st_mtime_ns}"
        ident.update((text + (f"|{st.st_ctime_ns}" if ctime else "") + "\n").encode("utf-8", "surrogatepass"))
    return default_cache_dir(kind) / f"{ident.hexdigest()}.txt"


def recall(path: Optional[Path], length: int) -> Optional[str]:
    """The hex digest of ``length`` characters remembered at ``path``, or None (none, unreadable, not one)."""
    try:
        text = path.read_text().strip() if path is not None else ""
    except (OSError, ValueError):
        return None
    return text if len(text) == length and all(c in "0123456789abcdef" for c in text) else None


def remember(path: Optional[Path], digest: str) -> None:
    """Keep ``digest`` at ``path`` (written whole or not at all; a cache that cannot be written is no error)."""
    if path is None or not digest:
        return
    from . import atomic_io

    try:
        atomic_io.write_text(path, digest + "\n")
    except OSError:
        pass
