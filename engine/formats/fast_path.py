"""The fast path of the native format: its network exported once to ONNX (``native_onnx_pair``), checked against
torch on a probe batch, cached in the user's cache folder (``<cache>/onnx/<model_id>-<key>/``) with a sealed marker
(``fast_path_seal``) that lets the next open skip torch, and run by ONNX Runtime.
"""
from __future__ import annotations

import contextlib
import contextvars
import hashlib
import io
import os
import warnings
from pathlib import Path
from typing import Optional

import numpy as np

from .. import __version__
from ..errors import EngineError
from .onnx import safety as onnx_safety
from .onnx.card import DECODER, ENCODER
from .onnx.codec import inference_session, read_onnx_bytes, sha256

#: The ONNX opset written (ONNX Runtime 1.17 and later read it).
OPSET = 17


def torch_to_onnx_bytes(module, example, input_name: str, output_name: str) -> bytes:
    """``module`` (eval mode, CPU) as a self-contained ONNX graph with a dynamic batch dimension.

    Uses the TorchScript exporter (``dynamo=False``): it needs no extra package (the dynamo exporter needs
    onnxscript) and writes plain Conv/ConvTranspose/Gemm/BatchNormalization graphs."""
    import torch

    buf = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (example,), buf, dynamo=False, input_names=[input_name], output_names=[output_name],
                          dynamic_axes={input_name: {0: "batch"}, output_name: {0: "batch"}}, opset_version=OPSET,
                          do_constant_folding=True)
    return buf.getvalue()


def native_onnx_pair(module) -> tuple[bytes, bytes]:
    """(encoder.onnx, decoder.onnx) bytes of a native ConvAutoencoder: N×3×S×S [0, 1] → N×z → N×3×S×S [0, 1]."""
    import torch
    from torch import nn

    class Enc(nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, x):
            return self.m.encode(x)

    class Dec(nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, z):
            return self.m.decode(z)

    a = module.arch
    was = module.training
    module = module.float().cpu().eval()
    try:
        enc = torch_to_onnx_bytes(Enc(module).eval(), torch.rand(2, 3, a.image_size, a.image_size), "image", "z")
        dec = torch_to_onnx_bytes(Dec(module).eval(), torch.randn(2, a.z_dim), "z", "image")
    finally:
        module.train(was)
    return enc, dec


# ------------------------------------------------------------------------------------------------
# the fast path of the native format: its network exported once to ONNX, run by ONNX Runtime

#: Set to "0" to keep the native format on torch (the fast path is on by default where onnxruntime is installed).
FAST_PATH_ENV = "LFS_ONNX_RUNTIME"
#: Largest |difference| from torch on the check batch for the fast path to be used.
FAST_PATH_TOLERANCE = 1e-4
#: The marker in a fast path's cache folder: its two graphs were checked against torch for the network of a key.
VERIFIED = "verified.json"
VERIFIED_VERSION = 2  # 2: sealed with the installation key (engine/formats/fast_path_seal.py)
#: A marker is a few hundred bytes; anything this large is not one.
MAX_VERIFIED_BYTES = 64 * 1024


class FastPath:
    """ONNX Runtime sessions for a native ConvAutoencoder (CPU, eval mode): exported once into the user's cache
    folder (``<cache>/onnx/<model_id>-<key>/``), checked against torch on a probe batch before use."""

    def __init__(self, enc_sess, dec_sess):
        self.enc, self.dec = enc_sess, dec_sess

    def encode(self, x: np.ndarray) -> np.ndarray:
        return self.enc.run(None, {"image": np.ascontiguousarray(x, dtype=np.float32)})[0]

    def decode(self, z: np.ndarray) -> np.ndarray:
        return self.dec.run(None, {"z": np.ascontiguousarray(z, dtype=np.float32)})[0]


_PREPARING: contextvars.ContextVar = contextvars.ContextVar("fast_path_preparing", default=None)


def preparation_seconds(arch) -> float:
    """About how long a model's one-time preparation takes: loading torch, exporting the network to ONNX and
    checking it (measured on 2 quiet cores, benchmarks/first_launch.py: ~1.5 s for torch, ~0.3 s per million
    weights)."""
    from ..architecture import parameter_count

    n = parameter_count(arch.image_size, arch.z_dim, arch.channels, arch.kernel_size, arch.batch_norm)
    return 1.5 + 0.3 * n / 1e6


@contextlib.contextmanager
def preparing_notice(callback):
    """While the block runs, an open that has to prepare a model's fast path calls ``callback(seconds)`` first
    (``announce_preparation``), before torch is even loaded: the caller can say so at once."""
    token = _PREPARING.set(callback)
    try:
        yield
    finally:
        _PREPARING.reset(token)


def announce_preparation(arch) -> None:
    """Tell the ``preparing_notice`` in effect (if any) that a preparation starts now (when it can happen at all)."""
    callback = _PREPARING.get()
    if callback is None or not fast_path_enabled():
        return
    import importlib.util

    if importlib.util.find_spec("onnxruntime") is not None:
        callback(preparation_seconds(arch))


def fast_path_enabled() -> bool:
    """False when LFS_ONNX_RUNTIME=0 keeps the native format on torch."""
    return os.environ.get(FAST_PATH_ENV, "1") != "0"


def weights_hash(module) -> str:
    h = hashlib.sha256()
    for k, v in module.state_dict().items():
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:24]


def fast_cache_folder(model_id: str, key: str) -> Path:
    """The cache folder of one network's fast path: ``<cache>/onnx/<model id>-<key>``."""
    from ..image_data import default_cache_dir

    return default_cache_dir("onnx") / f"{''.join(c for c in model_id if c.isalnum())[:32] or 'model'}-{key[:24]}"


#: Fast-path folders kept per model id (a model resumed or retrained in place gets a new key, and a folder of ~14 MB
#: for the default model, each time it is opened): the newest ones, the one just written among them.
FAST_CACHE_KEEP = 3
#: The files a fast-path cache folder holds (and the temporaries of their atomic writes): nothing else is removed.
_FAST_CACHE_FILES = (ENCODER, DECODER, VERIFIED)


def prune_fast_cache(current: Path, keep: int = FAST_CACHE_KEEP) -> list[Path]:
    """Remove the older fast-path folders of ``current``'s model id, beyond the ``keep`` newest (``current``
    always kept). Only folders holding nothing but a fast path's own files are touched; any error leaves the
    rest as it is (a cache is never worth a failure). Returns the folders removed."""
    import shutil

    removed: list[Path] = []
    try:
        current = Path(current)
        prefix = current.name.rsplit("-", 1)[0] + "-"
        candidates = []
        for entry in current.parent.iterdir():
            if entry == current or not entry.name.startswith(prefix) or entry.is_symlink() or not entry.is_dir():
                continue
            if entry.name[len(prefix):].count("-") or not all(
                    f.name in _FAST_CACHE_FILES or f.name.endswith(".tmp") for f in entry.iterdir()):
                continue  # another model's id that shares this prefix, or a folder that is not only ours
            candidates.append((entry.stat().st_mtime, entry))
        candidates.sort(reverse=True)
        for _mtime, entry in candidates[max(0, keep - 1):]:
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    except OSError:
        pass
    return removed


def verified_fast_path(model_id: str, key: str) -> Optional[FastPath]:
    """The cached fast path of the network whose ``native.weights.network_key`` is ``key``, built without torch, when
    its verified.json says that these very graphs (by sha256) matched torch within FAST_PATH_TOLERANCE under this
    onnxruntime and app version; None otherwise (no marker, a garbled one, changed files, an ORT error)."""
    if not fast_path_enabled():
        return None
    try:
        import onnxruntime as ort

        from ..image_data import read_regular_file
        from .schema import parse_json

        folder = fast_cache_folder(model_id, key)
        marker = parse_json(read_regular_file(folder / VERIFIED, "fast path marker", limit=MAX_VERIFIED_BYTES,
                                              error=EngineError), str(folder / VERIFIED))
        if not isinstance(marker, dict) or not isinstance(marker.get("files"), dict):
            return None
        from . import fast_path_seal

        tolerance = marker.get("tolerance")
        if (not fast_path_seal.check({k: v for k, v in marker.items() if k != "seal"}, marker.get("seal"))
                or marker.get("version") != VERIFIED_VERSION or marker.get("key") != key
                or marker.get("onnxruntime") != ort.__version__ or marker.get("app_version") != __version__
                or isinstance(tolerance, bool) or not isinstance(tolerance, (int, float))
                or not 0 <= tolerance <= FAST_PATH_TOLERANCE):
            return None
        sessions = []
        for name in (ENCODER, DECODER):
            data = read_onnx_bytes(folder / name, "cached ONNX model")
            if sha256(data) != marker["files"].get(name):
                return None
            sessions.append(inference_session(data, folder / name, ours=True))
        return FastPath(*sessions)
    except Exception:  # noqa: BLE001 - any problem with the cache leaves the model on torch, never an error
        return None


def write_verified(folder: Path, key: str, enc: bytes, dec: bytes) -> None:
    """Write ``folder``'s verified.json (atomically): ``enc`` and ``dec`` matched torch for the network of ``key``."""
    import onnxruntime as ort

    from .. import atomic_io
    from . import fast_path_seal

    fields = {"version": VERIFIED_VERSION, "key": key, "files": {ENCODER: sha256(enc), DECODER: sha256(dec)},
              "onnxruntime": ort.__version__, "tolerance": FAST_PATH_TOLERANCE, "app_version": __version__}
    mac = fast_path_seal.seal(fields)
    if mac is not None:  # no key (a read-only config folder): no marker, the next open checks against torch again
        atomic_io.write_json(Path(folder) / VERIFIED, {**fields, "seal": mac})


def fast_path_for(module, model_id: str, key: Optional[str] = None) -> Optional[FastPath]:
    """The ONNX Runtime fast path for ``module``, or None (onnxruntime missing, switched off, the export failed,
    or the outputs differ from torch's beyond FAST_PATH_TOLERANCE): the caller then stays on torch. With ``key``
    (``native.weights.network_key`` of the folder the module was loaded from) the cache folder is named by it and,
    once the check against torch passed, verified.json lets the next open skip torch."""
    if not fast_path_enabled():
        return None
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return None
    try:
        import torch

        from .. import atomic_io

        if module.training or next(module.parameters()).device.type != "cpu" \
                or next(module.parameters()).dtype != torch.float32:
            return None
        folder = fast_cache_folder(model_id, key or weights_hash(module))
        enc_p, dec_p = folder / ENCODER, folder / DECODER
        fast = None
        if enc_p.is_file() and dec_p.is_file():
            try:
                enc, dec = read_onnx_bytes(enc_p, "cached ONNX model"), read_onnx_bytes(dec_p, "cached ONNX model")
                a = module.arch  # files in a cache folder, not yet verified: bounded like any user's graph
                onnx_safety.bounded(enc, enc_p, (3, a.image_size, a.image_size))
                onnx_safety.bounded(dec, dec_p, (a.z_dim,))
                fast = FastPath(inference_session(enc, enc_p, checked=True), inference_session(dec, dec_p, checked=True))
                if not _matches_torch(fast, module):
                    fast = None
            except EngineError:
                fast = None
        if fast is None:
            enc, dec = native_onnx_pair(module)
            fast = FastPath(inference_session(enc, enc_p), inference_session(dec, dec_p))
            if not _matches_torch(fast, module):
                return None
            try:
                folder.mkdir(parents=True, exist_ok=True)
                atomic_io.write_bytes(enc_p, enc)
                atomic_io.write_bytes(dec_p, dec)
            except OSError:
                return fast  # a read-only or full cache: the sessions work all the same, this time
        if key is not None:
            try:
                write_verified(folder, key, enc, dec)
            except OSError:
                pass  # the next open checks against torch again
            prune_fast_cache(folder)
        return fast
    except Exception:  # noqa: BLE001 - any failure of the fast path leaves the model on torch
        return None


def _matches_torch(fast: FastPath, module) -> bool:
    import torch

    a = module.arch
    g = torch.Generator().manual_seed(7)
    x = torch.rand((2, 3, a.image_size, a.image_size), generator=g)
    with torch.no_grad():
        z = module.encode(x)
        y = module.decode(z)
    zo = onnx_safety.guarded_run(fast.enc, {"image": x.numpy()}, "the fast path's encoder")[0]
    yo = onnx_safety.guarded_run(fast.dec, {"z": z.numpy()}, "the fast path's decoder")[0]
    return zo.shape == tuple(z.shape) and yo.shape == tuple(y.shape) \
        and float(np.abs(zo - z.numpy()).max()) <= FAST_PATH_TOLERANCE \
        and float(np.abs(yo - y.numpy()).max()) <= FAST_PATH_TOLERANCE
