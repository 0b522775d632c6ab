"""The lab's cache files (attribute judges, maps): sealed ``.npz`` in the user's cache folder, keyed by a hash of
their inputs (``engine.sealed_npz``: arrays only, never unpickled, sealed with the installation's key). A damaged,
edited or foreign file is a miss (computed again and rewritten); an unwritable folder only means no cache."""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

from .. import sealed_npz

CACHE_VERSION = 2  # 2: sealed (engine.sealed_npz)
#: a cache file larger than this is not ours (the set file's limit on vectors)
MAX_CACHE_BYTES = sealed_npz.MAX_BYTES


def load_cached(path: Path, key: str, arrays: Sequence[str]) -> Optional[dict]:
    """The arrays of ``path`` when it is our sealed file for ``key`` (or the default model's shipped copy), else None."""
    return sealed_npz.load(path, key, arrays)


def save_cached(path: Path, key: str, **arrays) -> None:
    sealed_npz.save(path, key, **arrays)  # an unwritable cache folder just means no cache
