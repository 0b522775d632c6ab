"""HDF5 files from strangers (Keras ``.h5``, the ``model.weights.h5`` in a ``.keras`` zip), read with h5py so
that a model file reads nothing but its own bytes, runs no code and allocates no more than it holds.

* **Opening**: a path is opened once, without blocking (a FIFO never hangs), checked to be a regular file
  of bounded size by ``fstat`` on that very descriptor (no swap between check and use), and handed to
  h5py as a Python file object — h5py's ``fileobj`` driver, without HDF5's file locking. HDF5 then never
  opens a file by name itself. HDF5's filter-plugin search path is emptied (``h5pl``), so no shared
  library named by ``HDF5_PLUGIN_PATH`` can be loaded (loading one runs its code).
* **Audit before anything is read** (:func:`audit`): every link of the file is walked without following
  it (``getlink``); anything but a hard link (a soft link, an external link to another file, a
  user-defined link) is refused, as is every dataset whose bytes are not inside this file (external
  storage, a virtual dataset), a filter other than gzip / shuffle / fletcher32 (the ones read here by
  bounded code), a dtype that is not a plain number (references, strings, compound, vlen, opaque), a chunk
  grid of absurd size, storage beyond the end of the file, a reference, a huge or too many attributes,
  or more than :data:`MAX_OBJECTS` objects. Each refusal is one line naming the object and the reason.
* **Reading** (:func:`read_weight`): the declared shape is compared with what the layer needs before a
  byte is read; float16/32 stay as they are (float64 is narrowed, never float32 widened); chunks are read
  raw and inflated here with an output cap of one chunk (a deflate bomb inside a chunk stops there).
"""
from __future__ import annotations

import io
import math
import os
import zlib
from typing import Optional

import numpy as np

from ...errors import ModelFileError

#: Objects (groups, datasets) in one file: a Keras face model has a few hundred.
MAX_OBJECTS = 100_000
MAX_ATTRIBUTES_PER_OBJECT = 256
#: Declared size of one attribute (a Keras ``model_config`` JSON is far smaller).
MAX_ATTRIBUTE_BYTES = 16 * 2**20
MAX_CHUNKS_PER_DATASET = 65_536
#: The filters read here, by this module's own bounded code (HDF5's pipeline is never asked for a filter).
FILTERS = {1: "gzip", 2: "shuffle", 3: "fletcher32"}
KNOWN_FILTERS = {4: "szip", 5: "nbit", 6: "scaleoffset", 32000: "lzf", 32001: "blosc", 32004: "lz4",
                 32008: "bitshuffle", 32015: "zstd"}

#: |w| beyond this in a weight is damage (or a model scaled beyond float32 sense).
MAX_WEIGHT_MAGNITUDE = 1e6

_plugins_off = False


def _h5py(source):
    global _plugins_off
    try:
        import h5py
    except ImportError:
        raise ModelFileError(f"{source}: reading Keras files needs the h5py package (pip install h5py)") from None
    if not _plugins_off:  # no filter plugin is ever loaded into this process (a plugin is code)
        while h5py.h5pl.size():
            h5py.h5pl.remove(0)
        _plugins_off = True
    return h5py


def open_user_file(path, what: str, limit: int):
    """A user's file opened for reading (binary file object) after ``fstat`` on the open descriptor says it is
    a regular file of at most ``limit`` bytes; never blocks on a FIFO. Returns (file object, size)."""
    from ...image_data import _refuse_unless_regular, _unopenable

    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise ModelFileError(_unopenable(exc, path, what, "open")) from None
    try:
        st = os.fstat(fd)
        _refuse_unless_regular(st, path, what, limit, ModelFileError)
        if hasattr(os, "O_NONBLOCK"):
            os.set_blocking(fd, True)
        fh = os.fdopen(fd, "rb", closefd=True)
    except BaseException:
        os.close(fd)
        raise
    return fh, st.st_size


def open_hdf5(fh, size: int, source: str):
    """h5py on an open binary file object (a checked user file or ``io.BytesIO``), audited before it is returned."""
    h5py = _h5py(source)
    try:
        f = h5py.File(fh, "r", locking=False)
    except Exception as exc:  # noqa: BLE001 - h5py's OSError for a truncated or damaged file
        text = " ".join(str(exc).split())[:200]
        raise ModelFileError(f"{source}: truncated or damaged HDF5 file ({text})") from None
    try:
        audit(f, source, size)
    except BaseException:
        f.close()
        raise
    return f


def open_hdf5_bytes(data: bytes, source: str):
    return open_hdf5(io.BytesIO(data), len(data), source)


# ------------------------------------------------------------------------------------------------
# the audit


def audit(f, source: str, file_size: int) -> None:
    """Refuse the file unless every object is a group or a dataset stored in this file (see the module doc)."""
    h5py = _h5py(source)
    h5l, h5o = h5py.h5l, h5py.h5o
    seen = set()
    stack = [("/", f.id)]
    count = 0
    _check_attributes(f.id, "/", source)
    while stack:
        path, gid = stack.pop()
        if gid.get_num_objs() > MAX_OBJECTS:
            raise ModelFileError(f"{source}: group {path} holds {gid.get_num_objs():,} objects; a model file holds far fewer")
        for raw in list(gid):
            name = raw.decode("utf-8", "replace")
            where = f"{path.rstrip('/')}/{name}"
            try:
                kind = gid.links.get_info(raw).type
            except Exception:  # noqa: BLE001 - a link type HDF5 does not know
                kind = -1
            if kind != h5l.TYPE_HARD:
                what = {h5l.TYPE_SOFT: "a soft link", h5l.TYPE_EXTERNAL: "a link to another file (ExternalLink)"}.get(
                    kind, "a user-defined link")
                raise ModelFileError(f"{source}: {where} is {what}; links are never followed (only objects stored in "
                                     "the file itself are read)")
            count += 1
            if count > MAX_OBJECTS:
                raise ModelFileError(f"{source}: more than {MAX_OBJECTS:,} objects; a model file holds far fewer")
            oid = h5o.open(gid, raw)
            info = h5o.get_info(oid)
            key = (info.fileno, info.addr)
            if key in seen:
                continue  # a second hard link to an object already audited (or a cycle)
            seen.add(key)
            _check_attributes(oid, where, source)
            if info.type == h5o.TYPE_GROUP:
                stack.append((where, oid))
            elif info.type == h5o.TYPE_DATASET:
                check_dataset(oid, where, source, file_size)
            else:
                raise ModelFileError(f"{source}: {where} is a named datatype, not a group or dataset")


def _check_attributes(oid, where: str, source: str) -> None:
    import h5py

    n = h5py.h5a.get_num_attrs(oid)
    if n > MAX_ATTRIBUTES_PER_OBJECT:
        raise ModelFileError(f"{source}: {where} has {n} attributes; a model file's objects have a few")
    for i in range(n):
        aid = h5py.h5a.open(oid, index=i)
        name = aid.get_name().decode("utf-8", "replace")
        t = aid.get_type()
        cls = t.get_class()
        if cls == h5py.h5t.REFERENCE or (cls == h5py.h5t.VLEN and not isinstance(t, h5py.h5t.TypeStringID)):
            raise ModelFileError(f"{source}: {where}: attribute {name!r} holds references or variable-length data, "
                                 "which a model file never needs")
        size = math.prod(aid.shape or ()) * t.get_size()  # declared: nothing is read (H5Aget_storage_size fails on 0)
        if size > MAX_ATTRIBUTE_BYTES:
            raise ModelFileError(f"{source}: {where}: attribute {name!r} declares {size:,} bytes; at most "
                                 f"{MAX_ATTRIBUTE_BYTES // 2**20} MB are read")


def _filters(dcpl) -> list:
    return [dcpl.get_filter(i) for i in range(dcpl.get_nfilters())]


def check_dataset(dsid, where: str, source: str, file_size: int) -> None:
    """One dataset: stored in this file, read by bounded code, of plain numbers (metadata only, no data read)."""
    import h5py

    h5d = h5py.h5d
    dcpl = dsid.get_create_plist()
    if dcpl.get_external_count() > 0:
        ext = dcpl.get_external(0)[0].decode("utf-8", "replace")
        raise ModelFileError(f"{source}: dataset {where} keeps its bytes in another file ({ext!r}, external storage); "
                             "only data stored in the model file itself is read")
    layout = dcpl.get_layout()
    if layout == getattr(h5d, "VIRTUAL", 3):
        raise ModelFileError(f"{source}: dataset {where} is a virtual dataset assembled from other files; only data "
                             "stored in the model file itself is read")
    if layout not in (h5d.COMPACT, h5d.CONTIGUOUS, h5d.CHUNKED):
        raise ModelFileError(f"{source}: dataset {where} has an unknown storage layout ({layout})")
    for code, _flags, _values, name in _filters(dcpl):
        if code not in FILTERS:
            label = KNOWN_FILTERS.get(code) or name.decode("utf-8", "replace") or "unknown"
            raise ModelFileError(f"{source}: dataset {where} needs the HDF5 filter {code} ({label}); only gzip, shuffle "
                                 "and fletcher32 are read (filter plugins are never loaded)")
    t = dsid.get_type()
    cls = t.get_class()
    if cls not in (h5py.h5t.FLOAT, h5py.h5t.INTEGER) or t.get_size() not in (1, 2, 4, 8):
        raise ModelFileError(f"{source}: dataset {where} is not an array of plain numbers (HDF5 type class {cls}); "
                             "weights are float16/32/64")
    shape = dsid.shape or ()
    nbytes = math.prod(shape) * t.get_size()
    if layout == h5d.CONTIGUOUS:
        offset = dsid.get_offset()
        stored = dsid.get_storage_size()
        if offset is not None and (stored > nbytes or offset + stored > file_size):
            raise ModelFileError(f"{source}: dataset {where} claims {stored:,} bytes at offset {offset:,}, beyond the "
                                 f"end of the file ({file_size:,} bytes): truncated or damaged")
    elif layout == h5d.CHUNKED:
        chunk = dcpl.get_chunk()
        if len(chunk) != len(shape) or any(c < 1 or c > max(d, 1) for c, d in zip(chunk, shape)):
            raise ModelFileError(f"{source}: dataset {where} has chunks of {list(chunk)} for its shape {list(shape)}")
        grid = math.prod(-(-d // c) for c, d in zip(chunk, shape))
        if grid > MAX_CHUNKS_PER_DATASET:
            raise ModelFileError(f"{source}: dataset {where} is cut into {grid:,} chunks; at most "
                                 f"{MAX_CHUNKS_PER_DATASET:,} are read")


# ------------------------------------------------------------------------------------------------
# reading one weight


def read_weight(ds, want: tuple, source: str, name: str) -> np.ndarray:
    """The float32 array of the dataset ``ds`` (audited), whose shape must be ``want``: compared before reading."""
    import h5py

    if not isinstance(ds, h5py.Dataset):
        raise ModelFileError(f"{source}: {name} is not a dataset")
    dt = ds.dtype
    if dt.kind != "f" or dt.itemsize not in (2, 4, 8):
        raise ModelFileError(f"{source}: weight {name} has dtype {dt}; only float16/32/64 weights are read")
    if tuple(ds.shape or ()) != tuple(want):
        raise ModelFileError(f"{source}: weight {name} has shape {list(ds.shape or ())}; its layer's config needs "
                             f"{list(want)}")
    try:
        a = _read(ds, dt.newbyteorder("="), name, source)
    except ModelFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - a truncated or damaged dataset
        raise ModelFileError(f"{source}: cannot read weight {name} (truncated or damaged: "
                             f"{' '.join(str(exc).split())[:120]})") from None
    if a.dtype != np.float32:
        a = a.astype(np.float32)  # float16 widened to float32, float64 narrowed: never more than float32
    if a.size:
        lo, hi = float(a.min()), float(a.max())  # NaN propagates; no temporary copy of the array
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise ModelFileError(f"{source}: weight {name} holds NaN or Inf values")
        if max(-lo, hi) > MAX_WEIGHT_MAGNITUDE:
            raise ModelFileError(f"{source}: weight {name} holds values up to {max(-lo, hi):.3g} (damaged or scaled weights)")
    return a


def _read(ds, dtype, name: str, source: str) -> np.ndarray:
    import h5py

    out = np.empty(ds.shape, dtype)
    if out.size == 0:
        return out
    layout = ds.id.get_create_plist().get_layout()
    if layout != h5py.h5d.CHUNKED:
        if layout == h5py.h5d.CONTIGUOUS and ds.id.get_offset() is None:
            raise ModelFileError(f"{source}: weight {name} holds no data (its storage was never written)")
        ds.read_direct(out)
        return out
    return _read_chunks(ds, out, name, source)


def _read_chunks(ds, out: np.ndarray, name: str, source: str) -> np.ndarray:
    """Every chunk read raw and unfiltered here: each inflates to at most its own size (no deflate bomb)."""
    dcpl = ds.id.get_create_plist()
    chunk = dcpl.get_chunk()
    filters = _filters(dcpl)
    itemsize = ds.dtype.itemsize
    cbytes = math.prod(chunk) * itemsize
    grid = math.prod(-(-d // c) for c, d in zip(chunk, ds.shape))
    if ds.id.get_num_chunks() != grid:
        raise ModelFileError(f"{source}: weight {name} stores {ds.id.get_num_chunks()} of its {grid} chunks (truncated "
                             "or never written)")
    native = out.dtype
    file_dt = ds.dtype
    for i in range(grid):
        info = ds.id.get_chunk_info(i)
        mask, raw = ds.id.read_direct_chunk(info.chunk_offset)
        data = _unfilter(bytes(raw), filters, mask, cbytes, name, source)
        block = np.frombuffer(data, file_dt).reshape(chunk)
        sl = tuple(slice(o, min(o + c, d)) for o, c, d in zip(info.chunk_offset, chunk, ds.shape))
        out[sl] = block[tuple(slice(0, s.stop - s.start) for s in sl)].astype(native, copy=False)
    return out


def _unfilter(data: bytes, filters: list, mask: int, cbytes: int, name: str, source: str) -> bytes:
    extra = 4 * sum(1 for f in filters if f[0] == 3)
    for i in reversed(range(len(filters))):
        if mask & (1 << i):
            continue  # this filter was skipped for this chunk
        code, values = filters[i][0], filters[i][2]
        if code == 3:  # fletcher32: 4 checksum bytes at the end
            if len(data) < 4:
                raise ModelFileError(f"{source}: weight {name}: a chunk is too short for its checksum")
            data = data[:-4]
        elif code == 1:
            d = zlib.decompressobj()
            try:
                data = d.decompress(data, cbytes + extra)
            except zlib.error as exc:
                raise ModelFileError(f"{source}: weight {name}: a chunk is not valid gzip data ({exc})") from None
            if d.unconsumed_tail:
                raise ModelFileError(f"{source}: weight {name}: a compressed chunk inflates to more than its "
                                     f"{cbytes:,} bytes (a decompression bomb)")
            if not d.eof:
                raise ModelFileError(f"{source}: weight {name}: a compressed chunk is truncated")
        elif code == 2:
            size = int(values[0]) if values else 1
            n = len(data) // size if size > 0 else 0
            if size > 1 and n:
                head = np.frombuffer(data, np.uint8, n * size).reshape(size, n).T.tobytes()
                data = head + data[n * size:]
    if len(data) != cbytes:
        raise ModelFileError(f"{source}: weight {name}: a chunk holds {len(data):,} bytes, not {cbytes:,}")
    return data


__all__ = ["open_user_file", "open_hdf5", "open_hdf5_bytes", "audit", "check_dataset", "read_weight",
           "MAX_OBJECTS", "FILTERS"]
