"""Train the default architecture with and without batch normalisation, side by side.

Same data, same seed, same epochs, same threads (``--threads``); prints the held-out MSE of each after every epoch.
This is the measurement behind the shipped default (`ArchitectureConfig.batch_norm`). The compared figure is the MSE,
which does not depend on the machine's load; the img/s printed beside it come from two runs one after the other and
are not a speed comparison (for speed, see ``bench_spine.py`` and ``bench_onnx_runtime.py``).

    python benchmarks/compare_batchnorm.py --data ../shared/datasets/celeba-9k/img_align_celeba --epochs 4
"""
import argparse
import sys
from pathlib import Path
import tempfile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.autoencoder import ArchitectureConfig  # noqa: E402
from engine.image_data import load_folder  # noqa: E402
from engine.training import TrainOptions, train  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--limit", type=int, default=0, help="use only the first N images")
    ap.add_argument("--threads", type=int, default=2, help="torch intra-op threads for both runs")
    a = ap.parse_args()
    import torch

    torch.set_num_threads(a.threads)
    ds = load_folder(a.data)
    if a.limit:
        ds.images, ds.files = ds.images[: a.limit], ds.files[: a.limit]
    print(ds.summary())
    rows = {}
    for bn in (False, True):
        with tempfile.TemporaryDirectory() as tmp:
            res = train(ds, tmp, ArchitectureConfig(batch_norm=bn), TrainOptions(epochs=a.epochs, seed=1))
            rows[bn] = res.history
            for h in res.history:
                print(f"batch_norm={bn!s:5} epoch {h['epoch']:2d} train {h['train_loss']:.5f} val {h['val_loss']:.5f} {h['images_per_s']:.0f} img/s", flush=True)
    a_, b_ = rows[False][-1]["val_loss"], rows[True][-1]["val_loss"]
    print(f"final val MSE: no BN {a_:.5f}, BN {b_:.5f}, ratio BN/noBN {b_ / a_:.3f}")


if __name__ == "__main__":
    main()
