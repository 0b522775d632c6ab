"""The default model's fast path, shipped with the app: its ONNX export made once when the model was packaged, so
the first launch runs on ONNX Runtime at once (no torch, no export, nothing written to the user's cache).

A packaged model folder holds, beside its weights, ``fast_path.json`` (the manifest), ``fast_path_encoder.onnx``,
``fast_path_decoder.onnx`` and ``fast_path_probe.npz`` (a probe image, its z-vector and that z-vector's decoded
image, as torch computed them when the export was made). These are the app's own files, not a user's: they are
trusted by content, not by a per-user seal. An open uses them only when

* the manifest's sha256 is one the app's code pins (``engine.resources.SHIPPED_FAST_PATHS``): a manifest written
  anywhere else, or edited, is not ours and is ignored;
* the folder's ``network_key`` (sha256 of weights.safetensors + the architecture) is the manifest's: the weights
  are the ones the graphs were exported from;
* each file's sha256 is the manifest's;
* this ONNX Runtime reproduces the probe's z-vector and image within ``fast_path.FAST_PATH_TOLERANCE`` (a few ms:
  the check against torch, made without torch, under whatever ONNX Runtime is installed).

Anything else (a copy of the folder with other weights, a changed file, an ONNX Runtime that computes otherwise)
leaves the open to the user's sealed cache (``fast_path``) or torch, exactly as for any other model.

Whoever can change the pinned hash can change the app's code: the boundary is the installation itself.
``write_shipped(folder)`` makes the files (torch needed) and returns the manifest's sha256 to pin.
"""
from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Optional

import numpy as np

MANIFEST = "fast_path.json"
ENCODER_FILE = "fast_path_encoder.onnx"
DECODER_FILE = "fast_path_decoder.onnx"
PROBE_FILE = "fast_path_probe.npz"
SHIPPED_FILES = (ENCODER_FILE, DECODER_FILE, PROBE_FILE)
#: The sub-folder of a packaged model that holds its shipped cache files (``engine.sealed_npz.shipped``).
SHIPPED_CACHES = "caches"
MANIFEST_VERSION = 1
#: A manifest is a few hundred bytes; a probe file about 100 KB.
MAX_MANIFEST_BYTES = 64 * 1024
MAX_PROBE_BYTES = 4 * 2**20


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def shipped_fast_path(folder: Path, key: str, arch) -> Optional[object]:
    """The packaged fast path of the model ``folder`` whose ``network_key`` is ``key``, as a ``fast_path.FastPath``,
    or None when the folder ships none we trust (see the module's docstring). Never raises; never imports torch."""
    try:
        from ..resources import SHIPPED_FAST_PATHS
        from ..image_data import read_regular_file
        from .fast_path import FAST_PATH_TOLERANCE, FastPath, fast_path_enabled
        from .onnx.codec import MAX_ONNX_BYTES, inference_session
        from .schema import parse_json

        folder = Path(folder)
        if not fast_path_enabled() or not (folder / MANIFEST).is_file():
            return None
        raw = read_regular_file(folder / MANIFEST, "fast path manifest", limit=MAX_MANIFEST_BYTES)
        if _sha256(raw) not in SHIPPED_FAST_PATHS:
            return None  # not a manifest this app packaged
        manifest = parse_json(raw, str(folder / MANIFEST))
        if manifest.get("version") != MANIFEST_VERSION or manifest.get("network_key") != key:
            return None  # other weights or another architecture than the ones exported
        data = {}
        for name in SHIPPED_FILES:
            limit = MAX_PROBE_BYTES if name == PROBE_FILE else MAX_ONNX_BYTES
            data[name] = read_regular_file(folder / name, "fast path file", limit=limit)
            if _sha256(data[name]) != manifest["files"][name]:
                return None
        fast = FastPath(inference_session(data[ENCODER_FILE], folder / ENCODER_FILE, ours=True),
                        inference_session(data[DECODER_FILE], folder / DECODER_FILE, ours=True))
        with np.load(io.BytesIO(data[PROBE_FILE]), allow_pickle=False) as probe:
            x, z, y = probe["x"], probe["z"], probe["y"]
        if x.shape[1:] != (3, arch.image_size, arch.image_size) or z.shape[1:] != (arch.z_dim,):
            return None
        zo, yo = fast.encode(x), fast.decode(z)
        if zo.shape != z.shape or yo.shape != y.shape or float(np.abs(zo - z).max()) > FAST_PATH_TOLERANCE \
                or float(np.abs(yo - y).max()) > FAST_PATH_TOLERANCE:
            return None
        return fast
    except Exception:  # noqa: BLE001 - any problem leaves the model to the user's cache or torch, never an error
        return None


def compact_onnx(data: bytes) -> bytes:
    """``data`` with every float32 initializer that float16 holds exactly stored as float16 behind a Cast node
    (the same numbers: ONNX Runtime folds the Cast when the session is made). About half the size for a model
    whose weights are float16, as the default model's are."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load_from_string(data)
    g = model.graph
    casts, keep = [], []
    for init in g.initializer:
        a = numpy_helper.to_array(init)
        if a.dtype == np.float32 and a.size >= 64 and np.array_equal(a.astype(np.float16).astype(np.float32), a):
            half = numpy_helper.from_array(a.astype(np.float16), init.name + "__f16")
            keep.append(half)
            casts.append(helper.make_node("Cast", [half.name], [init.name], to=TensorProto.FLOAT,
                                          name=init.name + "__cast"))
        else:
            keep.append(init)
    del g.initializer[:]
    g.initializer.extend(keep)
    nodes = casts + list(g.node)
    del g.node[:]
    g.node.extend(nodes)
    onnx.checker.check_model(model)
    return model.SerializeToString()


def write_shipped(folder: Path, module, key: str, caches: Optional[dict] = None) -> str:
    """Export ``module`` (the network of the model in ``folder``, loaded by ``native.load_model``; ``key``: the
    folder's ``native.weights.network_key``), check the export against torch, and write the shipped fast path's
    files and manifest into the folder; ``caches`` ({file name: bytes}, ``sealed_npz.encode_shipped``) go to its
    ``caches/`` sub-folder, listed in the manifest. Returns the manifest's sha256 (to pin in ``engine.resources``)."""

    import torch

    from .. import __version__, atomic_io
    from .fast_path import FastPath, _matches_torch, native_onnx_pair
    from .onnx.codec import inference_session

    folder = Path(folder)
    enc, dec = (compact_onnx(b) for b in native_onnx_pair(module))
    fast = FastPath(inference_session(enc, folder / ENCODER_FILE), inference_session(dec, folder / DECODER_FILE))
    if not _matches_torch(fast, module):
        raise RuntimeError("the export does not match torch")
    a = module.arch
    x = torch.rand((1, 3, a.image_size, a.image_size), generator=torch.Generator().manual_seed(11))
    with torch.no_grad():
        z = module.encode(x)
        y = module.decode(z)
    buf = io.BytesIO()
    np.savez(buf, x=x.numpy(), z=z.numpy(), y=y.numpy())
    files = {ENCODER_FILE: enc, DECODER_FILE: dec, PROBE_FILE: buf.getvalue()}
    for name, data in files.items():
        atomic_io.write_bytes(folder / name, data)
    import onnxruntime

    manifest = {"version": MANIFEST_VERSION, "network_key": key,
                "files": {name: _sha256(data) for name, data in files.items()},
                "made_with": {"app": __version__, "torch": torch.__version__.split("+")[0],
                              "onnxruntime": onnxruntime.__version__}}
    if caches:
        (folder / SHIPPED_CACHES).mkdir(exist_ok=True)
        for name, data in caches.items():
            atomic_io.write_bytes(folder / SHIPPED_CACHES / name, data)
        manifest["caches"] = {name: _sha256(data) for name, data in sorted(caches.items())}
    atomic_io.write_json(folder / MANIFEST, manifest)
    return _sha256((folder / MANIFEST).read_bytes())
