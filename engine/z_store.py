"""Large clouds of z-points without holding them in memory: a memory-mapped ``latents.npy`` read chunk by chunk,
and the names of ``latents_files.txt`` as one buffer of bytes instead of millions of Python strings.

* :func:`row_chunks` — consecutive rows as float32 arrays; on a memory map, the pages just read are handed back to
  the kernel after each chunk (``MADV_DONTNEED``), so a pass over a 2 GB file never makes the process 2 GB big.
* :func:`release` — hand back every mapped page of a memory map (they are re-read from the file when touched).
* :func:`subsample_rows` — a seeded, sorted subsample of rows (fits and scatter plots of large clouds).
* :func:`project`, :func:`column` — a product with a few vectors, one column: chunk by chunk, never a full copy.
* :class:`NameList` — a read-only sequence of names (``len``, index, slice, iteration, ``in``, ``==`` a list)
  kept as the file's bytes plus an array of line offsets: 2,000,000 names cost ~40 MB, not ~200 MB.
"""
from __future__ import annotations

import mmap
from collections.abc import Sequence
from typing import Iterator, Optional

import numpy as np

#: ``latents.npy`` files larger than this are memory-mapped instead of read into memory.
MAP_BYTES = 256 * 2**20
#: rows per chunk of :func:`row_chunks` (65,536 × 256 float32 = 64 MB)
CHUNK_ROWS = 65536


def is_mapped(z) -> bool:
    """True for a (view of a) memory-mapped array."""
    return isinstance(z, np.memmap) and getattr(z, "_mmap", None) is not None


def release(z, start_byte: int = 0, end_byte: Optional[int] = None) -> None:
    """Hand the pages of a memory map between two byte offsets of its mapping back to the kernel (no-op for an
    ordinary array). Reading them again re-reads the file; nothing is lost (the map is read-only)."""
    mm = getattr(z, "_mmap", None) if isinstance(z, np.memmap) else None
    if mm is None or not hasattr(mm, "madvise") or not hasattr(mmap, "MADV_DONTNEED"):
        return
    size = len(mm)
    end = size if end_byte is None else min(size, end_byte)
    start = (max(0, start_byte) // mmap.PAGESIZE) * mmap.PAGESIZE
    if end > start:
        try:
            mm.madvise(mmap.MADV_DONTNEED, start, end - start)
        except (OSError, ValueError):
            pass


def _mapping_offset(z: np.memmap) -> int:
    """Byte offset of ``z``'s first element inside its mapping."""
    mm = z._mmap
    base = np.frombuffer(mm, dtype=np.uint8, count=1) if len(mm) else None
    if base is None:
        return 0
    return int(z.__array_interface__["data"][0] - base.__array_interface__["data"][0])


def row_chunks(z, rows: Optional[int] = None, dtype=np.float32, start: int = 0,
               stop: Optional[int] = None) -> Iterator[tuple[int, np.ndarray]]:
    """``(first row, chunk)`` over the rows of ``z`` (a copy in ``dtype`` per chunk, ``CHUNK_ROWS`` rows by
    default); on a memory map the pages of each chunk are handed back once it is copied."""
    rows = int(rows or CHUNK_ROWS)
    n = len(z) if stop is None else min(stop, len(z))
    mapped = is_mapped(z) and z.flags.c_contiguous
    base = _mapping_offset(z) if mapped else 0
    row_bytes = z.strides[0] if z.ndim else 0
    for i in range(start, n, max(1, int(rows))):
        j = min(n, i + rows)
        chunk = np.array(z[i:j], dtype=dtype, copy=True)
        if mapped:
            release(z, base + i * row_bytes, base + j * row_bytes)
        yield i, chunk


def project(z, w: np.ndarray, rows: int = 4096) -> np.ndarray:
    """``z @ w`` as float32 ((N, k) for a (d, k) ``w``, (N,) for a (d,) one): a memory map read chunk by chunk (4,096
    rows at a time stay in the processor's cache; its pages handed back), anything else in one product."""
    w = np.asarray(w, dtype=np.float32)
    if not is_mapped(z):
        return np.asarray(z, dtype=np.float32) @ w
    out = np.empty((len(z),) + w.shape[1:], dtype=np.float32)
    for i, chunk in row_chunks(z, rows):
        out[i : i + len(chunk)] = chunk @ w
    return out


def column(z, i: int) -> np.ndarray:
    """Column ``i`` of ``z`` as float64; a memory map read chunk by chunk (its pages handed back)."""
    if not is_mapped(z):
        return np.asarray(z[:, i], dtype=np.float64)
    out = np.empty(len(z), dtype=np.float64)
    for a, chunk in row_chunks(z, dtype=z.dtype):
        out[a : a + len(chunk)] = chunk[:, i]
    return out


def subsample_rows(z, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(indices, rows)``: ``k`` distinct rows of ``z`` drawn with ``seed`` (all rows when ``k >= len(z)``;
    the indices of :func:`engine.latent_whitening.subsample_rows`, which the samplers' capped fits use), in file
    order, as float32; a memory map reads only those rows."""
    from .latent_whitening import subsample_rows as indices

    idx = indices(len(z), int(k), seed)
    return idx, take_rows(z, idx)


def take_rows(z, idx: np.ndarray) -> np.ndarray:
    """The rows ``idx`` (sorted) of ``z`` as float32; a memory map gathers them chunk by chunk, handing each
    chunk's pages back (rows spread over a 1 GB file would otherwise keep all of it resident)."""
    n = len(z)
    idx = np.asarray(idx)
    if not (is_mapped(z) and z.flags.c_contiguous):
        return np.asarray(z[idx], dtype=np.float32)
    rows = np.empty((len(idx), z.shape[1]), dtype=np.float32)
    step, base, row_bytes = CHUNK_ROWS, _mapping_offset(z), z.strides[0]
    cuts = np.searchsorted(idx, np.arange(0, n + step, step))
    for c in range(len(cuts) - 1):  # a chunk's rows gathered, then its pages handed back
        a, b = cuts[c], cuts[c + 1]
        if b > a:
            rows[a:b] = z[idx[a:b]]
            release(z, base + c * step * row_bytes, base + (c + 1) * step * row_bytes)
    return rows


class NameList(Sequence):
    """The names of a ``latents_files.txt`` as one bytes buffer and line offsets: behaves like the list of names
    (``len``, index, slice, iteration, ``in``, ``index``, ``==``) without a Python string per name until one is
    read. Names are split on "\\n" only, one trailing "\\r" dropped, invalid UTF-8 read as U+FFFD (the same as
    reading the file into a list)."""

    __slots__ = ("_buf", "_starts", "_ends")

    def __init__(self, buf: bytes, starts: Optional[np.ndarray] = None, ends: Optional[np.ndarray] = None):
        self._buf = buf
        if starts is None:
            nl = np.flatnonzero(np.frombuffer(buf, dtype=np.uint8) == 10)
            last = len(buf)
            ends = nl if (len(buf) and buf[-1:] == b"\n") else np.append(nl, last)
            starts = np.concatenate([[0], nl + 1])[: len(ends)]
            if len(buf) == 0:
                starts = ends = np.empty(0, np.int64)
        self._starts = np.asarray(starts, dtype=np.int64)
        self._ends = np.asarray(ends, dtype=np.int64)

    @classmethod
    def from_names(cls, names) -> "NameList":
        """A NameList holding ``names`` (strings without line breaks)."""
        return cls(b"".join(n.encode("utf-8", "surrogateescape") + b"\n" for n in names))

    def __len__(self) -> int:
        return len(self._starts)

    def _name(self, i: int) -> str:
        raw = self._buf[self._starts[i] : self._ends[i]]
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        return raw.decode("utf-8", errors="replace")

    def __getitem__(self, i):
        if isinstance(i, slice):
            return NameList(self._buf, self._starts[i], self._ends[i])
        if isinstance(i, (np.ndarray, list)) and not np.isscalar(i):
            idx = np.asarray(i)
            return NameList(self._buf, self._starts[idx], self._ends[idx])
        n = len(self)
        i = int(i)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("name index out of range")
        return self._name(i)

    def __iter__(self):
        buf = self._buf
        for a, b in zip(self._starts.tolist(), self._ends.tolist()):
            raw = buf[a:b]
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            yield raw.decode("utf-8", errors="replace")

    def __contains__(self, name) -> bool:
        return isinstance(name, str) and any(n == name for n in self)

    def __eq__(self, other) -> bool:
        if isinstance(other, (NameList, list, tuple)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None

    def __repr__(self) -> str:
        head = ", ".join(repr(n) for n in self[:3])
        return f"NameList([{head}{', …' if len(self) > 3 else ''}], {len(self):,} names)"

    @property
    def nbytes(self) -> int:
        """Memory held (the buffer and the offsets)."""
        return len(self._buf) + self._starts.nbytes + self._ends.nbytes


class NumberedNames(Sequence):
    """``#0, #1, …`` for z-points without a names file, made when read."""

    __slots__ = ("_n", "_offset")

    def __init__(self, n: int, offset: int = 0):
        self._n, self._offset = int(n), int(offset)

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(self._n))]
        i = int(i)
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError("name index out of range")
        return f"#{self._offset + i}"

    def __eq__(self, other) -> bool:
        if isinstance(other, Sequence):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None
