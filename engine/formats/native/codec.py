"""The native format's codec: the 4 Conv2D + 4 Conv2DTranspose autoencoder trained by this app, run by torch or by
its verified ONNX Runtime fast path (``engine.formats.fast_path``); ``as_codec`` wraps a bare network.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Optional

import numpy as np

from ...errors import EngineError, ModelFileError
from ..codec import ModelCodec
from ..registry import register_codec


@register_codec(default=True)
class TorchAutoencoderCodec(ModelCodec):
    """The 4 Conv2D + 4 Conv2DTranspose autoencoder trained by this app (``weights.safetensors``)."""

    format_name = "latent-face-studio-model"

    def __init__(self, module, config, folder: Optional[Path] = None, fast_path: bool = False, *,
                 key: Optional[str] = None, fast=None):
        super().__init__(config, folder)
        self._module = None if module is None else module.eval()
        self._module_lock = threading.Lock()
        #: native.weights.network_key of the folder when it was opened (None: a bare module, or not known)
        self.key = key
        # ONNX Runtime for encode/decode (1.1-3.5× faster on the CPU: benchmarks/bench_onnx_runtime.py); only
        # for a model opened from its folder (its weights do not change), set up on first use, torch as fallback;
        # ``fast`` given: a verified cached fast path, opened without torch (the module is loaded when first asked for)
        self._fast_wanted = fast_path and fast is None
        self._fast = fast
        #: where the fast path came from: "shipped" (packaged with the app, beside the weights) or "cache"
        self.fast_source = "cache"
        if module is None and (fast is None or folder is None or key is None):
            raise ValueError("a codec without its module needs its folder, its key and a verified fast path")

    @classmethod
    def open(cls, folder: Path, device: str = "cpu") -> "TorchAutoencoderCodec":
        """The model in ``folder``: on its verified cached fast path when there is one (torch is not even imported),
        otherwise loaded and validated by ``load_model`` (its fast path set up and verified on first use)."""
        from ..fast_path import announce_preparation, fast_path_enabled, verified_fast_path
        from ..fast_path_shipped import shipped_fast_path
        from .config import read_config
        from .weights import load_model, network_key

        folder = Path(folder)
        key = None
        if device == "cpu" and fast_path_enabled():  # the fast path runs on the CPU only
            try:
                config = read_config(folder)
                key = network_key(folder, config)
                fast = shipped_fast_path(folder, key, config.arch)  # packaged with the app (the default model)
                if fast is not None:
                    codec = cls(None, config, folder, key=key, fast=fast)
                    codec.fast_source = "shipped"
                    return codec
                fast = verified_fast_path(config.model_id, key)
                if fast is not None:
                    return cls(None, config, folder, key=key, fast=fast)
                announce_preparation(config.arch)  # torch, the export and its check follow: said before
            except Exception:  # noqa: BLE001 - any problem leaves the open to load_model, which names it
                key = None
        module, config = load_model(folder, device=device)
        if key is not None and _network_key_or_none(folder, config) != key:
            key = None  # the files changed while being read: this open's fast path is not recorded
        return cls(module, config, folder, fast_path=True, key=key)

    @property
    def module(self):
        """The torch network (loaded and validated on first use when the codec was opened on its fast path)."""
        if self._module is None:
            with self._module_lock:
                if self._module is None:
                    self._module = self._load_module()
        return self._module

    @module.setter
    def module(self, value) -> None:
        self._module = value

    def _load_module(self):
        """``load_model`` of the folder (fully validated), refused when its network is no longer the opened one."""
        from .config import CONFIG, WEIGHTS, read_config
        from .weights import load_model, network_key

        def check(config) -> None:
            if network_key(self.folder, config) != self.key:
                same = (config.arch, config.weights_dtype) == (self.config.arch, self.config.weights_dtype)
                raise ModelFileError(f"{self.folder / (WEIGHTS if same else CONFIG)} changed since the model was "
                                     "opened; open it again")

        check(read_config(self.folder))
        module, config = load_model(self.folder, device="cpu")
        check(config)  # changed while it was being read
        return module

    def fast_path(self):
        """The ONNX Runtime sessions of this model (engine.formats.fast_path.FastPath), or None: torch is used."""
        if self._fast_wanted and self._fast is None:
            self._fast_wanted = False  # one try per codec
            from ..fast_path import fast_path_for

            self._fast = fast_path_for(self.module, self.model_id, self.key)
        m = self._module  # an unloaded module is in eval mode: its loading is not forced here
        return self._fast if self._fast is not None and (m is None or not m.training) else None

    def needs_preparation(self) -> bool:
        """True while the fast path is still to be made: the first encode or decode exports the network to ONNX
        and checks it against torch (once per model: the next open finds it in the cache)."""
        if not self._fast_wanted or self._fast is not None:
            return False
        from ..fast_path import fast_path_enabled

        try:
            import importlib.util

            return fast_path_enabled() and importlib.util.find_spec("onnxruntime") is not None
        except (ImportError, ValueError):
            return False

    def prepare(self) -> None:
        """Make the fast path now (what the first encode or decode would do): export, check, cache."""
        self.fast_path()

    @property
    def device(self) -> str:
        m = self._module
        return "cpu" if m is None else str(next(m.parameters()).device)

    @property
    def torch_module(self):
        return self.module

    def weights_identity(self, folder=None) -> list:
        """The weights file's size and mtime (of ``folder``, default the codec's own)."""
        folder = folder if folder is not None else self.folder
        if folder is None:
            return []
        from .config import WEIGHTS

        st = (Path(folder) / WEIGHTS).stat()
        return [st.st_size, st.st_mtime_ns]

    def onnx_pair(self) -> tuple[bytes, bytes]:
        """(encoder.onnx, decoder.onnx) bytes of this network: N×3×S×S [0, 1] → N×z → N×3×S×S [0, 1]."""
        from ..fast_path import native_onnx_pair

        return native_onnx_pair(self.module)

    def describe(self) -> list[tuple[str, str]]:
        from ...architecture import parameter_count

        a = self.config.arch
        n = parameter_count(a.image_size, a.z_dim, a.channels, a.kernel_size, a.batch_norm)
        return [("image", self._image_row()),
                ("network", f"4 conv {list(a.channels)} k{a.kernel_size} → z_dim {a.z_dim} → 4 conv-transpose; "
                            f"batch_norm {a.batch_norm}; {n:,} parameters ({self.config.weights_dtype})"),
                ("runs on", self._engine_row())]

    def _engine_row(self) -> str:
        """Which engine runs encode/decode now, and from where (``info``, the model panel)."""
        import sys

        if self._fast is not None:
            from ..fast_path import fast_cache_folder

            ort = sys.modules.get("onnxruntime")
            if self.fast_source == "shipped":
                return (f"ONNX Runtime {getattr(ort, '__version__', '')} (CPU), the checked export shipped with the "
                        f"model in {self.folder}")
            where = fast_cache_folder(self.model_id, self.key) if self.key else "the cache"
            return f"ONNX Runtime {getattr(ort, '__version__', '')} (CPU), its checked export in {where}"
        torch = sys.modules.get("torch")
        row = f"torch {getattr(torch, '__version__', '')} on {self.device}"
        if self._fast_wanted:
            row += "; ONNX Runtime (CPU) once its export is checked, on first use"
        return row

    def encode_batch(self, images: np.ndarray) -> np.ndarray:
        fast = self.fast_path()
        if fast is not None:
            x = np.asarray(images, dtype=np.float32).transpose(0, 3, 1, 2) / np.float32(255.0)
            return fast.encode(x)
        import torch

        from ...autoencoder import images_to_tensor

        with torch.no_grad():
            x = images_to_tensor(images, next(self.module.parameters()).device)
            return self.module.encode(x).float().cpu().numpy()

    def decode_batch(self, z: np.ndarray) -> np.ndarray:
        fast = self.fast_path()
        if fast is not None:
            y = fast.decode(z)
            return np.ascontiguousarray((np.clip(y, 0.0, 1.0) * np.float32(255.0) + np.float32(0.5)).astype(np.uint8).transpose(0, 2, 3, 1))
        import torch

        from ...autoencoder import tensor_to_images

        with torch.no_grad():
            zt = torch.from_numpy(np.ascontiguousarray(z, dtype=np.float32)).to(next(self.module.parameters()).device)
            return tensor_to_images(self.module.decode(zt))


def _network_key_or_none(folder: Path, config=None) -> Optional[str]:
    """``native.weights.network_key`` of a model folder, or None when it cannot be read (load_model then says why)."""
    from .config import read_config
    from .weights import network_key

    try:
        return network_key(folder, config or read_config(folder))
    except (EngineError, OSError, ValueError):
        return None


def as_codec(model) -> ModelCodec:
    """A codec as it is, or a bare ``ConvAutoencoder`` (tests, training) wrapped in the torch codec."""
    if isinstance(model, ModelCodec):
        return model
    return TorchAutoencoderCodec(model, _ModuleFacts(model))


class _ModuleFacts:
    """The config facts of a bare module (no folder): its architecture, default framing, no id."""

    def __init__(self, module):
        from ...image_data import Preprocess

        self.arch = module.arch
        self.preprocess = Preprocess(image_size=module.arch.image_size)
        self.model_id = ""
        self.weights_dtype = "float32"
