"""GPU training throughput: the full training path vs a raw train step on the same GPU (issue 7).

For each image size (64×64 and 128×128 by default) and each data pipeline it prints images/s of

* raw step: forward/backward/Adam on ONE pre-converted float batch already on the GPU, in the same
  precision and memory format — the ceiling the model itself allows;
* raw fp32: the same in plain float32, contiguous (what AMP + channels-last buy);
* full train(): ``engine.training.train`` (feeder, flips, sharding, loss bookkeeping, progress),
  the batch loop's images/s of the last epoch (the first pays for cuDNN autotuning / compilation),
  and the whole call's wall time including validation and checkpoints;

with the ratio full / raw (goal ≥ 80 %). The sides alternate round by round in one run (``benchmarks/_fair.py``),
medians with min–max. Pipelines: ``gpu-resident`` (the uint8 set uploaded once)
and ``prefetch`` (background thread + pinned memory, for sets larger than the GPU).

It needs a CUDA GPU and was NOT run in the session that wrote it (no GPU was lent): run it on a GPU
box and record the figures, e.g.

    python benchmarks/bench_train_gpu.py                                 # synthetic faces, 64 and 128 px
    python benchmarks/bench_train_gpu.py --data /data/celeba/img_align_celeba --sizes 64,128 --json gpu.json
    python benchmarks/bench_train_gpu.py --device cpu --sizes 32 --images 512 --steps 5 --epochs 1   # smoke test

Synthetic data (random uint8 images) is the default so the figure depends on the GPU only; the
model's speed does not depend on image content.
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

from engine.autoencoder import ArchitectureConfig, ConvAutoencoder  # noqa: E402
from engine.image_data import FaceDataset, Preprocess, load_folder  # noqa: E402
from engine.training import TrainOptions, resolve_precision, train  # noqa: E402


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def raw_step_rate(arch, device, batch_size: int, steps: int, precision: str, channels_last: bool, compile_: bool) -> float:
    """Images/s of forward/backward/Adam on one batch resident on the device (median of 3 timings)."""
    torch.manual_seed(0)
    model = ConvAutoencoder(arch).to(device)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    runner = torch.compile(model) if compile_ else model
    x = torch.rand(batch_size, 3, arch.image_size, arch.image_size, device=device).contiguous(memory_format=fmt)
    amp = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    scaler = torch.amp.GradScaler("cuda") if precision == "fp16" else None

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=amp, enabled=amp is not None):
            y = runner(x)
        loss = F.mse_loss(y.float(), x)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        else:
            loss.backward()
            opt.step()

    for _ in range(max(5, steps // 10)):  # warm-up: cuDNN autotuning, compilation
        step()
    sync(device)
    rates = []
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        sync(device)
        rates.append(steps * batch_size / (time.perf_counter() - t0))
    return statistics.median(rates)


def dataset(args, size: int) -> FaceDataset:
    if args.data:
        return load_folder(args.data, Preprocess(image_size=size))
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (args.images, size, size, 3), dtype=np.uint8)
    return FaceDataset(Path("synthetic"), images, [f"{i:06d}.png" for i in range(args.images)],
                       preprocess=Preprocess(image_size=size))


def full_rate(ds, arch, device, args, precision: str, pipeline: str) -> dict:
    opts = TrainOptions(epochs=args.epochs, batch_size=args.batch_size, seed=0, device=str(device), precision=precision,
                        data_on_device={"gpu-resident": "always", "prefetch": "never", "host": "never"}[pipeline],
                        compile=args.compile, val_count=min(500, len(ds) // 18))
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        res = train(ds, out, arch, opts)
        wall = time.perf_counter() - t0
    n_train = res.history[-1]["images_per_s"] * res.history[-1]["seconds"]
    return {"loop_img_s": res.history[-1]["images_per_s"], "wall_img_s": n_train * len(res.history) / wall,
            "epochs": [h["images_per_s"] for h in res.history]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", help="a folder of face images (default: synthetic images)")
    ap.add_argument("--images", type=int, default=50_000, help="synthetic images (default 50,000)")
    ap.add_argument("--sizes", default="64,128")
    ap.add_argument("--z-dim", type=int, default=256)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--steps", type=int, default=200, help="timed raw steps per measurement")
    ap.add_argument("--epochs", type=int, default=2, help="full-path epochs (the last one is reported)")
    ap.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"])
    ap.add_argument("--pipelines", default="gpu-resident,prefetch")
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--rounds", type=int, default=3, help="alternated rounds of every side (medians with min–max)")
    ap.add_argument("--json")
    args = ap.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        sys.exit("bench_train_gpu: no CUDA device here (use --device cpu for a smoke test)")
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        name = torch.cuda.get_device_name(device)
    else:
        name = "cpu"
    precision = resolve_precision(args.precision, device)
    channels_last = device.type == "cuda"
    pipelines = [p for p in args.pipelines.split(",") if p] if device.type == "cuda" else ["host"]
    print(f"{name}, torch {torch.__version__}, precision {precision}, channels_last {channels_last}, batch {args.batch_size}")
    report = {"device": name, "torch": torch.__version__, "precision": precision, "batch_size": args.batch_size, "sizes": {}}
    for size in (int(s) for s in args.sizes.split(",")):
        arch = ArchitectureConfig(image_size=size, z_dim=args.z_dim)
        ds = dataset(args, size)
        # side by side in one run (benchmarks/_fair.py): raw, raw fp32 and each pipeline's full train() alternate
        # round by round (the order flipped every round), so a GPU's clock or a neighbour's load hits them alike
        full_rows: dict[str, list[dict]] = {pipe: [] for pipe in pipelines}

        def full(pipe):
            r = full_rate(ds, arch, device, args, precision, pipe)
            full_rows[pipe].append(r)
            return r["loop_img_s"]

        runners = {"raw": lambda: raw_step_rate(arch, device, args.batch_size, args.steps, precision, channels_last,
                                                args.compile),
                   "raw fp32": lambda: raw_step_rate(arch, device, args.batch_size, args.steps, "fp32", False, False)}
        runners.update({pipe: (lambda p=pipe: full(p)) for pipe in pipelines})
        cmp = _fair.compare(runners, rounds=args.rounds, warmup=0)
        raw, raw32 = cmp.spread("raw").median, cmp.spread("raw fp32").median
        row = {"raw_img_s": raw, "raw_fp32_img_s": raw32, "images": len(ds), "raw_all": cmp.values["raw"],
               "raw_fp32_all": cmp.values["raw fp32"]}
        print(f"{size:4d}px  raw step {cmp.spread('raw').text(digits=0)} img/s ({precision}"
              f"{', channels-last' if channels_last else ''}) | raw fp32 contiguous {cmp.spread('raw fp32').text(digits=0)}"
              f" img/s   [median (min–max) of {args.rounds} alternated rounds]", flush=True)
        for pipe in pipelines:
            rs = full_rows[pipe]
            loop_s = _fair.Spread.of([r["loop_img_s"] for r in rs])
            wall = statistics.median(r["wall_img_s"] for r in rs)
            row[pipe] = {"loop_img_s": loop_s.median, "wall_img_s": wall, "runs": rs}
            print(f"      full train() [{pipe:12s}] loop {loop_s.text(digits=0)} img/s = {loop_s.median / raw:5.0%} of raw | "
                  f"whole call incl. val+checkpoints {wall:9.0f} img/s = {wall / raw:5.0%}   (goal ≥ 80 %)",
                  flush=True)
        report["sizes"][size] = row
        del ds
        if device.type == "cuda":
            torch.cuda.empty_cache()
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
        print(f"figures written to {args.json}")


if __name__ == "__main__":
    main()
