"""Make the embedded default model from a trained model folder (how resources/models/celeba64-z256 was made).

    python main.py train --data ../shared/datasets/celeba-9k/img_align_celeba --out /tmp/celeba64-z256 --epochs 30 --seed 0
    python scripts/export_default_model.py /tmp/celeba64-z256 ../shared/datasets/celeba-9k/img_align_celeba

Copies config + weights as float16 (half the size; decoding differences are far below one grey level), drops the
training checkpoint, then encodes the dataset with the float16 weights so latents and decoder agree exactly.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.formats import native as model_store  # noqa: E402
from engine.encoding import encode_dataset, mse, reconstruct_images  # noqa: E402
from engine.image_data import load_folder  # noqa: E402
from engine.resources import default_model_dir  # noqa: E402


def main(src: str, data: str, dst: str | None = None) -> None:
    out = Path(dst) if dst else default_model_dir()
    model, config = model_store.load_model(src)
    model_store.save_model(out, model, config, dtype="float16")
    model, config = model_store.load_model(out)
    ds = load_folder(data, config.preprocess)
    print(ds.summary())
    encode_dataset(out, ds, model=model)
    n_val = int(config.training["val_images"])
    val = ds.images[len(ds) - n_val:]
    print(f"held-out MSE with float16 weights: {mse(val, reconstruct_images(model, val)):.5f} over {n_val} images")


if __name__ == "__main__":
    main(*sys.argv[1:])
