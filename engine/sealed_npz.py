"""Cache files of computed arrays (a sampler's fit, the attribute judges, 2-D maps), trusted only when they are ours.

A cache file is an ``.npz`` read with ``allow_pickle=False`` (arrays only: nothing in it is ever unpickled), keyed
by a hash of its inputs (``key``), and sealed like the fast-path cache (``formats.fast_path_seal``): an HMAC-SHA256
under this installation's key over the key and every array's dtype, shape and sha256. A file that was truncated,
edited, copied from another installation or written for other inputs is a miss — the value is computed again and
the file rewritten —, never an error and never trusted. An unwritable cache folder, or no installation key, only
means no cache.

The default model ships some of these files (``shipped``): they are the app's own, listed with their sha256 in the
default model's pinned manifest (``formats.fast_path_shipped``), and trusted by that hash instead of a seal.
"""
from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

#: a cache file larger than this is not ours
MAX_BYTES = 256 * 2**20


def _digest(key: str, arrays: dict) -> dict:
    return {"key": key, "arrays": {name: [str(a.dtype), list(a.shape),
                                          hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()]
                                   for name, a in sorted(arrays.items())}}


def encode(key: str, arrays: dict) -> Optional[bytes]:
    """The bytes of a sealed cache file holding ``arrays`` for ``key``; None when nothing can be sealed."""
    from .formats import fast_path_seal

    arrays = {name: np.asarray(a) for name, a in arrays.items()}
    mac = fast_path_seal.seal(_digest(key, arrays))
    if mac is None:
        return None
    buf = io.BytesIO()
    np.savez(buf, __key__=np.array(key), __seal__=np.array(mac), **arrays)
    return buf.getvalue()


def encode_shipped(key: str, arrays: dict) -> bytes:
    """The bytes of a cache file to ship with the default model (no seal: trusted by its sha256 in the pinned
    manifest, ``shipped``)."""
    buf = io.BytesIO()
    np.savez(buf, __key__=np.array(key), __seal__=np.array("shipped"), **{n: np.asarray(a) for n, a in arrays.items()})
    return buf.getvalue()


def _read(data: bytes, key: str, names: Sequence[str]) -> Optional[tuple[dict, str]]:
    with np.load(io.BytesIO(data), allow_pickle=False) as f:
        if str(f["__key__"]) != key or set(f.files) != {"__key__", "__seal__", *names}:
            return None
        return {n: f[n] for n in names}, str(f["__seal__"])


def decode(data: bytes, key: str, names: Sequence[str]) -> Optional[dict]:
    """The arrays ``names`` of sealed cache bytes written for ``key`` under this installation's key, or None."""
    from .formats import fast_path_seal

    try:
        got = _read(data, key, names)
        if got is None or not fast_path_seal.check(_digest(key, got[0]), got[1]):
            return None
        return got[0]
    except Exception:  # noqa: BLE001 - a damaged cache file is a miss, never a crash
        return None


def save(path: Path, key: str, **arrays) -> bool:
    """Write a sealed cache file (atomically); False when it could not be written (no key, a read-only folder)."""
    from . import atomic_io

    data = encode(key, arrays)
    if data is None:
        return False
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        atomic_io.write_bytes(path, data)
    except OSError:
        return False
    return True


def load(path: Path, key: str, names: Sequence[str]) -> Optional[dict]:
    """The arrays of the sealed cache file ``path`` for ``key`` (the user's own, then the default model's shipped
    copy of the same name), or None: a miss."""
    from .image_data import read_regular_file

    try:
        data = read_regular_file(path, "cache file", limit=MAX_BYTES)
    except Exception:  # noqa: BLE001 - missing, not a regular file, too large: a miss
        data = None
    hit = decode(data, key, names) if data is not None else None
    return hit if hit is not None else shipped(Path(path).name, key, names)


def shipped(name: str, key: str, names: Sequence[str]) -> Optional[dict]:
    """The arrays of the default model's shipped cache file ``name`` for ``key`` (``shipped_bytes``), or None."""
    try:
        data = shipped_bytes(name)
        got = None if data is None else _read(data, key, names)
        return None if got is None else got[0]
    except Exception:  # noqa: BLE001 - not ours: a miss
        return None


def shipped_bytes(name: str) -> Optional[bytes]:
    """The bytes of the default model's shipped cache file ``name``, when the pinned manifest lists it with this
    sha256 (no seal: the file is the app's own); None otherwise (not shipped, changed, not ours)."""
    try:
        from .formats.fast_path_shipped import MANIFEST, SHIPPED_CACHES
        from .image_data import read_regular_file
        from .resources import SHIPPED_FAST_PATHS, default_model_dir

        folder = default_model_dir()
        if not (folder / MANIFEST).is_file():
            return None
        raw = read_regular_file(folder / MANIFEST, "manifest", limit=64 * 1024)
        if hashlib.sha256(raw).hexdigest() not in SHIPPED_FAST_PATHS:
            return None
        want = json.loads(raw).get("caches", {}).get(name)
        if not isinstance(want, str) or not (folder / SHIPPED_CACHES / name).is_file():
            return None
        data = read_regular_file(folder / SHIPPED_CACHES / name, "cache file", limit=MAX_BYTES)
        return data if hashlib.sha256(data).hexdigest() == want else None
    except Exception:  # noqa: BLE001 - not shipped, or not ours: a miss
        return None


def inputs_key(kind: str, *parts, arrays: Sequence[np.ndarray] = ()) -> str:
    """A hash of a cached value's inputs: ``kind``, JSON-able ``parts`` and the bytes of ``arrays``."""
    h = hashlib.blake2b(digest_size=16)
    h.update(json.dumps([kind, *parts], sort_keys=True, default=str).encode())
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"|{a.dtype}|{a.shape}|".encode())
        h.update(memoryview(a).cast("B"))
    return h.hexdigest()
