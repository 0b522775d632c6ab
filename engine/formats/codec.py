"""One interface to a model, whatever format it came in: encode faces to z, decode z to faces.

Every consumer — encoding a dataset, decoding a grid, the inspector's live sliders, the evaluation,
the workflows and the GUI — reaches a model through a :class:`ModelCodec`. A codec knows its
``z_dim``, its ``image_size``, how input faces are framed (``preprocess``: the crop box of the
training images), its ``model_id``, and where it runs (``device``); it encodes N×S×S×3 uint8
images into N×z_dim float32 vectors and decodes them back, in batches, with progress and cancel.

A new model format is one more subclass registered with ``engine.formats.registry.register_codec`` under the
``"format"`` its ``config.json`` names; ``registry.open_model`` dispatches on it. The formats: the safetensors
autoencoder trained here (``engine.formats.native``), an ONNX encoder + decoder (``engine.formats.onnx``).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Optional

import numpy as np

from ..errors import EngineError
from ..progress import CancelToken, EtaClock, Progress, ProgressCallback, no_progress

#: Images or z-vectors per batch when the caller does not say (what a CPU decodes fastest per face).
DEFAULT_BATCH = 256


class ModelCodec(ABC):
    """A loaded model: its facts, and the two halves of the autoencoder as numpy-in, numpy-out calls."""

    #: The ``"format"`` value of the config.json this codec reads.
    format_name: ClassVar[str] = ""

    def __init__(self, config, folder: Optional[Path] = None):
        self.config = config  # the format's config (for the safetensors AE: native.config.ModelConfig)
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
        each format says its own (the native format: its weights file's size and mtime; the ONNX codec: its files'
        checksums); none by default."""
        return []

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
