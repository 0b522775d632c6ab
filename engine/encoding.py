"""Encode images into z-points and decode z-vectors into images, in batches.

``encode_dataset`` writes the model folder's ``latents.npy`` and ``latents_files.txt``
(atomically, so a cancelled or failed run leaves the previous latents intact).
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import torch

from . import model_store
from .autoencoder import images_to_tensor, tensor_to_images
from .image_data import FaceDataset
from .progress import CancelToken, EtaClock, Progress, ProgressCallback, no_progress


@torch.no_grad()
def encode_images(
    model,
    images: np.ndarray,
    *,
    batch_size: int = 256,
    progress: ProgressCallback = no_progress,
    cancel: Optional[CancelToken] = None,
) -> np.ndarray:
    """N×S×S×3 uint8 → N×z_dim float32."""
    cancel = cancel or CancelToken()
    device = next(model.parameters()).device
    model.eval()
    n = len(images)
    out = np.empty((n, model.arch.z_dim), dtype=np.float32)
    clock = EtaClock(n)
    for i in range(0, n, batch_size):
        cancel.raise_if_cancelled()
        x = images_to_tensor(images[i : i + batch_size], device)
        out[i : i + len(x)] = model.encode(x).float().cpu().numpy()
        done = min(n, i + batch_size)
        progress(Progress("encode", done, n, "encoding", eta_s=clock.eta(done)))
    return out


@torch.no_grad()
def decode_latents(
    model,
    z: np.ndarray,
    *,
    batch_size: int = 256,
    progress: ProgressCallback = no_progress,
    cancel: Optional[CancelToken] = None,
) -> np.ndarray:
    """N×z_dim → N×S×S×3 uint8."""
    cancel = cancel or CancelToken()
    device = next(model.parameters()).device
    model.eval()
    z = np.asarray(z, dtype=np.float32)
    if z.ndim != 2 or z.shape[1] != model.arch.z_dim:
        from .errors import EngineError

        raise EngineError(f"z-vectors of shape {list(z.shape)} do not fit this model (z_dim {model.arch.z_dim})")
    s = model.arch.image_size
    out = np.empty((len(z), s, s, 3), dtype=np.uint8)
    for i in range(0, len(z), batch_size):
        cancel.raise_if_cancelled()
        zt = torch.from_numpy(z[i : i + batch_size]).to(device)
        out[i : i + len(zt)] = tensor_to_images(model.decode(zt))
        progress(Progress("decode", min(len(z), i + batch_size), len(z), "decoding"))
    return out


@torch.no_grad()
def reconstruct_images(model, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """The model's reconstructions (uint8) of N×S×S×3 uint8 images."""
    device = next(model.parameters()).device
    model.eval()
    out = np.empty_like(images)
    for i in range(0, len(images), batch_size):
        x = images_to_tensor(images[i : i + batch_size], device)
        out[i : i + len(x)] = tensor_to_images(model(x))
    return out


def mse(a: np.ndarray, b: np.ndarray) -> float:
    """Per-pixel mean squared error of two uint8 image stacks, on the [0, 1] scale."""
    d = a.astype(np.float32) / 255.0 - b.astype(np.float32) / 255.0
    return float(np.mean(d * d))


def encode_dataset(
    model_dir: str | Path,
    data: FaceDataset,
    *,
    model=None,
    dtype: str = "float32",
    progress: ProgressCallback = no_progress,
    cancel: Optional[CancelToken] = None,
) -> np.ndarray:
    """Encode ``data`` with the model in ``model_dir`` and store the latents there."""
    model_dir = Path(model_dir)
    if model is None:
        model, config = model_store.load_model(model_dir)
    else:
        config = model_store.read_config(model_dir)
    if data.preprocess.to_dict() != config.preprocess.to_dict():
        from .errors import EngineError

        raise EngineError(
            f"{data.folder}: was loaded with preprocessing {data.preprocess.to_dict()}, the model needs {config.preprocess.to_dict()}"
        )
    z = encode_images(model, data.images, progress=progress, cancel=cancel)
    model_store.save_latents(model_dir, z, data.files, dtype=dtype)
    return z
