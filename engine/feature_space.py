"""The feature space of the Fréchet distance in ``evaluate``: a second, independently trained encoder.

Choice and its limits (stated in the report too):

* The features are the 64-d bottleneck of a small conv autoencoder (channels 16-32-64-128, seed 7)
  trained by ``benchmarks/train_feature_encoder.py`` for a few epochs on the 8,500 training images
  of celeba-9k (the same 500 held-out images as the default model). It is shipped in
  ``resources/models/feature-encoder-celeba64/`` as an ordinary model folder (float16 weights).
* It was fitted on real faces only — never on generated images, and it shares no weights with the
  model under test, so a generator cannot "game" it by matching its own encoder's statistics.
* It is a pixel-MSE encoder: it sees colour, pose, lighting and coarse layout, not the semantic
  features of an ImageNet Inception network. Values are not comparable with published FIDs; only
  rows of the same report compare with each other. With a few hundred images per set the distance
  has a finite-sample floor, shown by the held-out real reference row.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from .errors import ModelFileError
from .resources import resources_dir

FEATURE_MODEL_NAME = "feature-encoder-celeba64"
FEATURE_ARCH = dict(image_size=64, channels=(16, 32, 64, 128), z_dim=64, batch_norm=True)


def feature_model_dir() -> Path:
    return resources_dir() / "models" / FEATURE_MODEL_NAME


class FeatureSpace:
    """Maps uint8 face images (N×S×S×3) to feature vectors with the independent encoder."""

    def __init__(self, model_dir: Optional[Path] = None) -> None:
        from .formats import native as model_store
        from .formats.native.codec import TorchAutoencoderCodec

        self.model_dir = Path(model_dir) if model_dir else feature_model_dir()
        if not (self.model_dir / model_store.CONFIG).is_file():
            raise ModelFileError(f"{self.model_dir}: the feature encoder is missing (run benchmarks/train_feature_encoder.py)")
        # on its shipped ONNX export (scripts/ship_fast_path.py; no torch needed), else loaded by torch
        self.model = TorchAutoencoderCodec.open(self.model_dir)
        self.config = self.model.config
        self.image_size = self.config.arch.image_size

    def features(self, images: np.ndarray) -> np.ndarray:
        """N×S×S×3 uint8 → N×64 float64 (images of another size are resized bilinearly)."""
        from .encoding import encode_images

        images = np.asarray(images)
        if images.shape[1] != self.image_size:
            images = resize_images(images, self.image_size)
        return encode_images(self.model, images).astype(np.float64)


def resize_images(images: np.ndarray, size: int) -> np.ndarray:
    """N×H×W×3 uint8 → N×size×size×3: area averaged when shrinking, bilinear when enlarging (Pillow)."""
    from PIL import Image

    method = Image.BOX if images.shape[1] > size else Image.BILINEAR
    return np.stack([np.asarray(Image.fromarray(np.ascontiguousarray(im)).resize((size, size), method))
                     for im in images])


def gaussian_moments(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    f = np.asarray(features, dtype=np.float64)
    return f.mean(axis=0), np.cov(f, rowvar=False)


def frechet_distance(mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray, cov2: np.ndarray) -> float:
    """‖μ1−μ2‖² + Tr(C1 + C2 − 2 (C1 C2)^½), the Fréchet distance of two Gaussians (as in FID)."""
    diff = np.asarray(mu1, np.float64) - np.asarray(mu2, np.float64)
    # Tr((C1 C2)^½) = Σ √eig(C1^½ C2 C1^½): a symmetric PSD form, stable without scipy.linalg.sqrtm
    from .latent_stats import single_thread_blas

    with single_thread_blas():
        w, v = np.linalg.eigh(0.5 * (cov1 + cov1.T))
        root1 = (v * np.sqrt(np.maximum(w, 0.0))) @ v.T
        m = root1 @ cov2 @ root1
        tr_covmean = float(np.sqrt(np.maximum(np.linalg.eigvalsh(0.5 * (m + m.T)), 0.0)).sum())
    return float(diff @ diff + np.trace(cov1) + np.trace(cov2) - 2.0 * tr_covmean)


def frechet_distance_of(features_a: np.ndarray, features_b: np.ndarray) -> float:
    return frechet_distance(*gaussian_moments(features_a), *gaussian_moments(features_b))
