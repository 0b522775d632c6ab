"""The lab's cache files (attribute judges, maps): ``.npz`` in the user's cache folder, keyed by a hash of
their inputs. A damaged or foreign file is a miss; an unwritable folder only means no cache."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from .. import atomic_io

CACHE_VERSION = 1
#: a cache file larger than this is not ours (the set file's limit on vectors)
MAX_CACHE_BYTES = 256 * 2**20


def load_cached(path: Path, key: str, arrays: Sequence[str]) -> Optional[dict]:
    try:
        if not path.is_file() or path.stat().st_size > MAX_CACHE_BYTES:
            return None
        with np.load(path, allow_pickle=False) as f:
            if str(f["key"]) != key:
                return None
            return {a: f[a] for a in arrays}
    except Exception:  # noqa: BLE001 - a damaged cache file is a miss, never a crash
        return None


def save_cached(path: Path, key: str, **arrays) -> None:
    buf = io.BytesIO()
    np.savez(buf, key=np.array(key), **arrays)
    try:
        atomic_io.write_bytes(path, buf.getvalue())
    except OSError:
        pass  # an unwritable cache folder just means no cache
