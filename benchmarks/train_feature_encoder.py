#!/usr/bin/env python3
"""Train the small, independent encoder whose z-space is the feature space of the Fréchet distance
in ``python main.py evaluate`` (engine/feature_space.py).

Why a second encoder: the Fréchet distance must be measured in a feature space that was fitted
neither on the generated images nor by the model under test. This network has a different width
(channels 16-32-64-128), a 64-d bottleneck and a different seed, and it is trained on the same
8,500 training images of celeba-9k with the same 500 held-out images (the last by name), for a few
epochs only. It is stored as a normal model folder (config.json + float16 weights.safetensors,
≈1.2 MB) in resources/models/feature-encoder-celeba64/.

Limits: its features are those of a pixel-MSE autoencoder (colour, pose, lighting, coarse layout),
not the semantic features of an ImageNet Inception network, so the numbers are not comparable to
published FID values; only rows of the same report compare with each other.

    python benchmarks/train_feature_encoder.py [--data DIR] [--epochs 6] [--out DIR]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_DATA = "/work/shared/datasets/celeba-9k/img_align_celeba"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=str(ROOT / "resources" / "models" / "feature-encoder-celeba64"))
    a = ap.parse_args()

    import torch

    torch.set_num_threads(a.threads)
    from engine.formats import native as model_store
    from engine.autoencoder import ArchitectureConfig
    from engine.feature_space import FEATURE_ARCH
    from engine.image_data import Preprocess, load_folder
    from engine.training import TrainOptions, train

    t0 = time.perf_counter()
    data = load_folder(a.data, Preprocess(image_size=64))
    print(data.summary(), flush=True)
    out = Path(a.out)
    arch = ArchitectureConfig(**FEATURE_ARCH)
    res = train(data, out, arch, TrainOptions(epochs=a.epochs, batch_size=64, learning_rate=2e-3, seed=7, val_count=500))
    for h in res.history:
        print(f"epoch {h['epoch']}  train {h['train_loss']:.5f}  val {h['val_loss']:.5f}  {h['images_per_s']:.0f} img/s", flush=True)
    model, config = model_store.load_model(out)
    config.training["purpose"] = "feature space of the Fréchet distance in `evaluate` (not a face generator)"
    model_store.save_model(out, model, config, dtype="float16")
    (out / model_store.CHECKPOINT).unlink(missing_ok=True)
    size = (out / model_store.WEIGHTS).stat().st_size
    print(f"wrote {out} ({size / 1e6:.2f} MB weights) in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
