"""The spine's throughput, measured side by side in one run (issue 3's Benchmarks section).

1. Dataset load: ``load_folder`` with a fresh (empty) cache folder vs the second, cached call.
2. Encode: images/s of the full path (``load_folder`` from the cache + ``encode_dataset`` writing
   latents.npy; and the CLI's streaming ``encode_folder``) vs a raw encoder forward over tensors
   that were decoded and converted beforehand. Goal: full ≥ 80 % of raw.
3. Training: images/s of the full path (``engine.training.train``, one epoch, wall time of the whole
   call: setup, batches, validation, checkpoint) vs a raw loop of forward/backward/Adam steps on
   pre-converted float batches of the same size. Goal: full ≥ 80 % of raw.

Runs alternate in one run (``benchmarks/_fair.py``: raw, full, then full, raw, …, a warm-up round discarded) so
drift hits every side; the raw encoder runs in ``torch.inference_mode()`` (its best mode); medians with min–max.

    python benchmarks/bench_spine.py --data ../shared/datasets/celeba-9k/img_align_celeba
    python benchmarks/bench_spine.py --data DIR --repeats 3 --json spine.json
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _fair  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from engine.formats import native as model_store  # noqa: E402
from engine.autoencoder import ArchitectureConfig, ConvAutoencoder, images_to_tensor  # noqa: E402
from engine.encoding import encode_dataset, encode_folder  # noqa: E402
from engine.image_data import Preprocess, load_folder  # noqa: E402
from engine.training import TrainOptions, split_counts, train  # noqa: E402


def median(xs):
    return statistics.median(xs)


def bench_load(data: Path, pre: Preprocess, repeats: int) -> dict:
    cold, warm = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as cache:
            t0 = time.perf_counter()
            ds = load_folder(data, pre, cache_dir=Path(cache))
            cold.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            ds2 = load_folder(data, pre, cache_dir=Path(cache))
            warm.append(time.perf_counter() - t0)
            assert ds2.from_cache and len(ds2) == len(ds)
    return {"images": len(ds), "cold_s": median(cold), "cached_s": median(warm), "cold_all": cold, "cached_all": warm}


@torch.inference_mode()
def raw_encode(model, tensors: list[torch.Tensor]) -> float:
    model.eval()
    t0 = time.perf_counter()
    for x in tensors:
        model.encode(x)
    return time.perf_counter() - t0


def bench_encode(data: Path, pre: Preprocess, model_dir: Path, cache: Path, repeats: int) -> dict:
    model, _ = model_store.load_model(model_dir)
    ds = load_folder(data, pre, cache_dir=cache)  # warm the cache
    n = len(ds)
    tensors = [images_to_tensor(ds.images[i : i + 256]) for i in range(0, n, 256)]  # pre-decoded, pre-converted

    def full():
        t0 = time.perf_counter()
        d = load_folder(data, pre, cache_dir=cache)
        encode_dataset(model_dir, d, model=model)
        return n / (time.perf_counter() - t0)

    def stream():  # the CLI's `encode`: streaming, resumable, reads the same cache
        t0 = time.perf_counter()
        encode_folder(model_dir, data, model=model, fresh=True, cache_dir=cache)
        return n / (time.perf_counter() - t0)

    cmp = _fair.compare({"raw": lambda: n / raw_encode(model, tensors), "full": full, "stream": stream},
                        rounds=repeats, warmup=1)
    return {"images": n, "raw_img_s": cmp.spread("raw").median, "full_img_s": cmp.spread("full").median,
            "stream_img_s": cmp.spread("stream").median, "raw_all": cmp.values["raw"],
            "full_all": cmp.values["full"], "stream_all": cmp.values["stream"]}


def raw_train_epoch(arch, x_all: torch.Tensor, batch_size: int, seed: int) -> float:
    """Forward/backward/Adam over pre-converted float batches; returns images/s."""
    torch.manual_seed(seed)
    model = ConvAutoencoder(arch)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    n = len(x_all)
    perm = torch.randperm(n)
    batches = [x_all[perm[i : i + batch_size]] for i in range(0, n, batch_size)]  # gathered up front
    t0 = time.perf_counter()
    for x in batches:
        opt.zero_grad(set_to_none=True)
        loss = F.mse_loss(model(x), x)
        loss.backward()
        opt.step()
    return n / (time.perf_counter() - t0)


def bench_train(data: Path, pre: Preprocess, cache: Path, arch, batch_size: int, limit: int, repeats: int) -> dict:
    ds = load_folder(data, pre, cache_dir=cache)
    if limit:
        ds.images, ds.files = ds.images[:limit], ds.files[:limit]
    n_train, n_val = split_counts(len(ds), None)
    x_all = images_to_tensor(ds.images[:n_train])
    seeds = {"raw": iter(range(1000)), "full": iter(range(1000))}
    loop = []

    def full():
        r = next(seeds["full"])
        with tempfile.TemporaryDirectory() as out:
            t0 = time.perf_counter()
            res = train(ds, out, arch, TrainOptions(epochs=1, batch_size=batch_size, seed=r, device="cpu"))
            rate = n_train / (time.perf_counter() - t0)
        loop.append(res.history[-1]["images_per_s"])
        return rate

    cmp = _fair.compare({"raw": lambda: raw_train_epoch(arch, x_all, batch_size, next(seeds["raw"])), "full": full},
                        rounds=repeats, warmup=1)
    loop = loop[1:]  # the warm-up round's
    return {"train_images": n_train, "val_images": n_val, "raw_img_s": cmp.spread("raw").median,
            "full_img_s": cmp.spread("full").median, "full_loop_img_s": median(loop),
            "raw_all": cmp.values["raw"], "full_all": cmp.values["full"], "loop_all": loop}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--image-size", type=int, default=64)
    ap.add_argument("--z-dim", type=int, default=256)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--load-repeats", type=int, default=2, help="cold loads decode every JPEG: keep it small")
    ap.add_argument("--train-limit", type=int, default=0, help="train on the first N images only (0: all)")
    ap.add_argument("--skip", default="", help="comma list of sections to skip: load,encode,train")
    ap.add_argument("--json", help="also write the figures to this JSON file")
    a = ap.parse_args()
    skip = set(filter(None, a.skip.split(",")))
    data = Path(a.data)
    pre = Preprocess(image_size=a.image_size)
    arch = ArchitectureConfig(image_size=a.image_size, z_dim=a.z_dim)
    report = {"torch_threads": torch.get_num_threads(), "torch": torch.__version__, "data": str(data)}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, data {data}")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cache = tmp / "cache"
        if "load" not in skip:
            r = report["load"] = bench_load(data, pre, a.load_repeats)
            print(f"load   {r['images']} images: cold {_fair.Spread.of(r['cold_all']).text(unit=' s')} "
                  f"({r['images'] / r['cold_s']:.0f} img/s), cached {_fair.Spread.of(r['cached_all']).text(1000, 1, ' ms')}"
                  f"  → ×{r['cold_s'] / r['cached_s']:.0f} (ratio of medians)", flush=True)
        model_dir = tmp / "model"
        torch.manual_seed(0)
        model_store.save_model(model_dir, ConvAutoencoder(arch), model_store.ModelConfig(arch, pre))
        if "encode" not in skip:
            r = report["encode"] = bench_encode(data, pre, model_dir, cache, a.repeats)
            sp = {k: _fair.Spread.of(r[f"{k}_all"]).text(digits=0) for k in ("raw", "full", "stream")}
            print(f"encode {r['images']} images, img/s median (min–max): raw encoder {sp['raw']} | full load+encode "
                  f"{sp['full']} = {r['full_img_s'] / r['raw_img_s']:.0%} | streaming CLI encode "
                  f"{sp['stream']} = {r['stream_img_s'] / r['raw_img_s']:.0%}   (goal ≥ 80 %)", flush=True)
        if "train" not in skip:
            r = report["train"] = bench_train(data, pre, cache, arch, a.batch_size, a.train_limit, a.repeats)
            sp = {k: _fair.Spread.of(r[f"{k}_all"]).text(digits=0) for k in ("raw", "full")}
            print(f"train  {r['train_images']} images/epoch, batch {a.batch_size}, img/s median (min–max): raw step "
                  f"{sp['raw']} | full train() {sp['full']} = {r['full_img_s'] / r['raw_img_s']:.0%} "
                  f"(its batch loop alone {r['full_loop_img_s']:.0f} img/s = {r['full_loop_img_s'] / r['raw_img_s']:.0%})   (goal ≥ 80 %)", flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps(report, indent=2) + "\n")
        print(f"figures written to {a.json}")


if __name__ == "__main__":
    main()
