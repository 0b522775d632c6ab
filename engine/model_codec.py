"""One interface to a model, whatever format it came in: encode faces to z, decode z to faces.

Every consumer — encoding a dataset, decoding a grid, the inspector's live sliders, the evaluation,
the workflows and the GUI — reaches a model through a :class:`ModelCodec`. A codec knows its
``z_dim``, its ``image_size``, how input faces are framed (``preprocess``: the crop box of the
training images), its ``model_id``, and where it runs (``device``); it encodes N×S×S×3 uint8
images into N×z_dim float32 vectors and decodes them back, in batches, with progress and cancel.

A new model format is one more subclass registered with :func:`register_codec` under the
``"format"`` its ``config.json`` names; :func:`open_model` dispatches on it. Today's format is the
safetensors autoencoder trained here (:class:`TorchAutoencoderCodec`).
"""
from __future__ import annotations

import os
import threading
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Optional

import numpy as np

from .errors import EngineError, ModelFileError
from .progress import CancelToken, EtaClock, Progress, ProgressCallback, no_progress

#: Images or z-vectors per batch when the caller does not say (what a CPU decodes fastest per face).
DEFAULT_BATCH = 256


class ModelCodec(ABC):
    """A loaded model: its facts, and the two halves of the autoencoder as numpy-in, numpy-out calls."""

    #: The ``"format"`` value of the config.json this codec reads.
    format_name: ClassVar[str] = ""

    def __init__(self, config, folder: Optional[Path] = None):
        self.config = config  # the format's config (for the safetensors AE: model_store.ModelConfig)
        self.folder = None if folder is None else Path(folder)

    # ---- facts -------------------------------------------------------------------------------
    @property
    def z_dim(self) -> int:
        return int(self.config.arch.z_dim)

    @property
    def image_size(self) -> int:
        return int(self.config.arch.image_size)

    @property
    def preprocess(self):
        """How faces are framed before encoding (``image_data.Preprocess``: crop box, size)."""
        return self.config.preprocess

    @property
    def model_id(self) -> str:
        return str(self.config.model_id)

    @property
    @abstractmethod
    def device(self) -> str:
        """Where it runs, in words ("cpu", "cuda:0", "onnxruntime cpu")."""

    @property
    def torch_module(self) -> Any:
        """The torch ``nn.Module`` behind this codec, for what only a torch network allows (training,
        reading the decoder's first layer); None for formats that have none."""
        return None

    def weights_identity(self, folder=None) -> list:
        """A JSON-able value that changes whenever the network's files change (a resumed encode checks it):
        the native format's weights file size and mtime (of ``folder``, default the codec's own); other
        formats say their own (the ONNX codec: its files' checksums)."""
        folder = folder if folder is not None else self.folder
        if folder is None:
            return []
        from .model_store import WEIGHTS

        st = (Path(folder) / WEIGHTS).stat()
        return [st.st_size, st.st_mtime_ns]

    def describe(self) -> list[tuple[str, str]]:
        """(label, value) rows that say what this model is (``info``, the Model & data panel)."""
        return [("format", self.format_name), ("image", self._image_row()), ("z_dim", str(self.z_dim)),
                ("runs on", self.device)]

    def _image_row(self) -> str:
        pre = self.preprocess
        return (f"{self.image_size}×{self.image_size} RGB, crop {list(pre.crop_box)} of "
                f"{list(pre.reference_size)}")

    # ---- one batch: what a format implements -------------------------------------------------
    @abstractmethod
    def encode_batch(self, images: np.ndarray) -> np.ndarray:
        """B×S×S×3 uint8 → B×z_dim float32."""

    @abstractmethod
    def decode_batch(self, z: np.ndarray) -> np.ndarray:
        """B×z_dim float32 → B×S×S×3 uint8."""

    # ---- any number: shared ------------------------------------------------------------------
    def encode(self, images: np.ndarray, *, batch_size: int = DEFAULT_BATCH, progress: ProgressCallback = no_progress,
               cancel: Optional[CancelToken] = None) -> np.ndarray:
        """N×S×S×3 uint8 (an array or a memmap) → N×z_dim float32, batch by batch."""
        cancel = cancel or CancelToken()
        n = len(images)
        if n and tuple(images.shape[1:]) != (self.image_size, self.image_size, 3):
            raise EngineError(f"images of shape {list(images.shape[1:])} do not fit this model "
                              f"({self.image_size}×{self.image_size}×3)")
        out = np.empty((n, self.z_dim), dtype=np.float32)
        clock = EtaClock(n)
        for i in range(0, n, batch_size):
            cancel.raise_if_cancelled()
            batch = np.asarray(images[i : i + batch_size])
            out[i : i + len(batch)] = self.encode_batch(batch)
            done = min(n, i + batch_size)
            progress(Progress("encode", done, n, "encoding", eta_s=clock.eta(done)))
        return out

    def decode(self, z: np.ndarray, *, batch_size: int = DEFAULT_BATCH, progress: ProgressCallback = no_progress,
               cancel: Optional[CancelToken] = None) -> np.ndarray:
        """N×z_dim → N×S×S×3 uint8, batch by batch."""
        cancel = cancel or CancelToken()
        z = self.check_z(z)
        s = self.image_size
        out = np.empty((len(z), s, s, 3), dtype=np.uint8)
        for i in range(0, len(z), batch_size):
            cancel.raise_if_cancelled()
            out[i : i + batch_size] = self.decode_batch(z[i : i + batch_size])
            progress(Progress("decode", min(len(z), i + batch_size), len(z), "decoding"))
        return out

    def reconstruct(self, images: np.ndarray, *, batch_size: int = DEFAULT_BATCH,
                    cancel: Optional[CancelToken] = None) -> np.ndarray:
        """The model's reconstructions (uint8) of N×S×S×3 uint8 images."""
        cancel = cancel or CancelToken()
        out = np.empty_like(np.asarray(images[:0], dtype=np.uint8), shape=(len(images), self.image_size,
                                                                              self.image_size, 3))
        for i in range(0, len(images), batch_size):
            cancel.raise_if_cancelled()
            out[i : i + batch_size] = self.decode_batch(self.encode_batch(np.asarray(images[i : i + batch_size])))
        return out

    def check_z(self, z) -> np.ndarray:
        z = np.asarray(z, dtype=np.float32)
        if z.ndim != 2 or z.shape[1] != self.z_dim:
            raise EngineError(f"z-vectors of shape {list(z.shape)} do not fit this model (z_dim {self.z_dim})")
        return z


class TorchAutoencoderCodec(ModelCodec):
    """The 4 Conv2D + 4 Conv2DTranspose autoencoder trained by this app (``weights.safetensors``)."""

    format_name = "latent-face-studio-model"

    def __init__(self, module, config, folder: Optional[Path] = None, fast_path: bool = False, *,
                 key: Optional[str] = None, fast=None):
        super().__init__(config, folder)
        self._module = None if module is None else module.eval()
        self._module_lock = threading.Lock()
        #: model_store.network_key of the folder when it was opened (None: a bare module, or not known)
        self.key = key
        # ONNX Runtime for encode/decode (measured 2-12× faster on the CPU: benchmarks/bench_onnx_runtime.py); only
        # for a model opened from its folder (its weights do not change), set up on first use, torch as fallback;
        # ``fast`` given: a verified cached fast path, opened without torch (the module is loaded when first asked for)
        self._fast_wanted = fast_path and fast is None
        self._fast = fast
        if module is None and (fast is None or folder is None or key is None):
            raise ValueError("a codec without its module needs its folder, its key and a verified fast path")

    @classmethod
    def open(cls, folder: Path, device: str = "cpu") -> "TorchAutoencoderCodec":
        """The model in ``folder``: on its verified cached fast path when there is one (torch is not even imported),
        otherwise loaded and validated by ``load_model`` (its fast path set up and verified on first use)."""
        from .model_store import load_model, network_key, read_config
        from .onnx_codec import fast_path_enabled, verified_fast_path

        folder = Path(folder)
        key = None
        if device == "cpu" and fast_path_enabled():  # the fast path runs on the CPU only
            try:
                config = read_config(folder)
                key = network_key(folder, config)
                fast = verified_fast_path(config.model_id, key)
                if fast is not None:
                    return cls(None, config, folder, key=key, fast=fast)
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
        from .model_store import CONFIG, WEIGHTS, load_model, network_key, read_config

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
        """The ONNX Runtime sessions of this model (engine.onnx_codec.FastPath), or None: torch is used."""
        if self._fast_wanted and self._fast is None:
            self._fast_wanted = False  # one try per codec
            from .onnx_codec import fast_path_for

            self._fast = fast_path_for(self.module, self.model_id, self.key)
        m = self._module  # an unloaded module is in eval mode: its loading is not forced here
        return self._fast if self._fast is not None and (m is None or not m.training) else None

    @property
    def device(self) -> str:
        m = self._module
        return "cpu" if m is None else str(next(m.parameters()).device)

    @property
    def torch_module(self):
        return self.module

    def describe(self) -> list[tuple[str, str]]:
        from .architecture import parameter_count

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
            from .onnx_codec import fast_cache_folder

            ort = sys.modules.get("onnxruntime")
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

        from .autoencoder import images_to_tensor

        with torch.no_grad():
            x = images_to_tensor(images, next(self.module.parameters()).device)
            return self.module.encode(x).float().cpu().numpy()

    def decode_batch(self, z: np.ndarray) -> np.ndarray:
        fast = self.fast_path()
        if fast is not None:
            y = fast.decode(z)
            return np.ascontiguousarray((np.clip(y, 0.0, 1.0) * np.float32(255.0) + np.float32(0.5)).astype(np.uint8).transpose(0, 2, 3, 1))
        import torch

        from .autoencoder import tensor_to_images

        with torch.no_grad():
            zt = torch.from_numpy(np.ascontiguousarray(z, dtype=np.float32)).to(next(self.module.parameters()).device)
            return tensor_to_images(self.module.decode(zt))


def _network_key_or_none(folder: Path, config=None) -> Optional[str]:
    """``model_store.network_key`` of a model folder, or None when it cannot be read (load_model then says why)."""
    from .model_store import network_key, read_config

    try:
        return network_key(folder, config or read_config(folder))
    except (EngineError, OSError, ValueError):
        return None


# ------------------------------------------------------------------------------------------------
# the registry: one entry per model format

CODECS: dict[str, type[ModelCodec]] = {}


def register_codec(cls: type[ModelCodec]) -> type[ModelCodec]:
    """Make ``open_model`` open folders whose config.json says ``"format": cls.format_name``."""
    CODECS[cls.format_name] = cls
    return cls


register_codec(TorchAutoencoderCodec)

#: Formats whose codec lives in a module of its own, imported the first time a folder names the format
#: (onnxruntime is loaded only when an ONNX model is opened).
LAZY_CODECS = {"onnx-autoencoder": ".onnx_codec"}


def config_format(folder: Path) -> str:
    """The ``"format"`` a model folder's config.json names (validated by the codec that reads it)."""
    from .model_store import read_config_json

    if not Path(folder).exists():
        raise ModelFileError(f"{folder}: no such model folder")
    if not Path(folder).is_dir():
        raise ModelFileError(f"{folder}: a model is a folder with config.json and weights.safetensors, not a file")
    try:
        raw = read_config_json(folder)
    except ModelFileError:
        return ""  # the default codec's reader reads it again and names the problem
    fmt = raw.get("format") if isinstance(raw, dict) else None
    return fmt if isinstance(fmt, str) else ""


def open_model(folder: str | os.PathLike, device: str = "cpu") -> ModelCodec:
    """Open a model folder with the codec its config.json names (validated; ModelFileError otherwise)."""
    folder = Path(folder)
    fmt = config_format(folder)
    if fmt not in CODECS and fmt in LAZY_CODECS:
        import importlib

        importlib.import_module(LAZY_CODECS[fmt], __package__)
    cls = CODECS.get(fmt, TorchAutoencoderCodec)  # an unknown format: the default reader says what is wrong
    return cls.open(folder, device)


def as_codec(model) -> ModelCodec:
    """A codec as it is, or a bare ``ConvAutoencoder`` (tests, training) wrapped in the torch codec."""
    if isinstance(model, ModelCodec):
        return model
    return TorchAutoencoderCodec(model, _ModuleFacts(model))


class _ModuleFacts:
    """The config facts of a bare module (no folder): its architecture, default framing, no id."""

    def __init__(self, module):
        from .image_data import Preprocess

        self.arch = module.arch
        self.preprocess = Preprocess(image_size=module.arch.image_size)
        self.model_id = ""
        self.weights_dtype = "float32"
