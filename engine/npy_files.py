"""A user's .npy file (z-points, z-vectors for a path or a movie): its header is checked before numpy allocates
what the header declares (a 1 KB file claiming 4×10⁹ floats made np.load allocate and fail after 5 s), and
object arrays are refused (never unpickled)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import EngineError


def check_npy_header(path: Path, error: type[EngineError] = EngineError, param=None) -> None:
    """Refuse a .npy whose header declares object data, or more data than the file holds, before it is read
    (``param``: the option that named the file)."""
    fmt = np.lib.format
    try:
        with open(path, "rb") as fh:
            version = fmt.read_magic(fh)
            reader = {(1, 0): fmt.read_array_header_1_0, (2, 0): fmt.read_array_header_2_0}.get(version)
            if reader is None:
                return  # np.load gives its own error for other versions
            shape, _, dtype = reader(fh)
            offset = fh.tell()
    except (ValueError, OSError, EOFError, SyntaxError):
        return  # not a readable header: np.load's error names the problem
    if dtype.hasobject:
        raise error(f"{path}: holds Python objects (dtype {dtype}); object arrays are never unpickled", param=param)
    need = int(np.prod(shape, dtype=object)) * dtype.itemsize
    have = path.stat().st_size - offset
    if need > have:
        raise error(f"{path}: truncated (its header claims shape {list(shape)}, {need} bytes of data; the file "
                    f"holds {have})", param=param)
