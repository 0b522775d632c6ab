"""Torch vs ONNX Runtime on the default model (issue 14's fast path): images per second for decode and encode at
batch 1, 32 and 256, side by side in one run (medians over repeats), their ratio, and the largest difference of
the outputs (must stay below 1e-4).

    python benchmarks/bench_onnx_runtime.py [--model MODEL_DIR] [--repeats 7] [--threads N]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def timed(fn, n_images: int, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return n_images / statistics.median(times)


def main(argv=None) -> int:
    import torch

    from engine.formats import open_model
    from engine.formats.onnx.codec import inference_session
    from engine.resources import default_model_dir
    from engine.formats.fast_path import native_onnx_pair

    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=None)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=0, help="intra-op threads for both (0: each library's default)")
    a = ap.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    codec = open_model(a.model or default_model_dir())
    module = codec.torch_module
    t0 = time.perf_counter()
    enc_b, dec_b = native_onnx_pair(module)
    export_s = time.perf_counter() - t0
    es, ds = inference_session(enc_b, "encoder.onnx", a.threads), inference_session(dec_b, "decoder.onnx", a.threads)
    s, zd = codec.image_size, codec.z_dim
    rng = np.random.default_rng(0)
    print(f"model {codec.model_id}: {s}×{s}, z_dim {zd}; torch {torch.__version__} ({torch.get_num_threads()} threads), "
          f"export to ONNX {export_s:.1f} s; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"{'what':<8}{'batch':>6}{'torch img/s':>14}{'ORT img/s':>12}{'ORT/torch':>11}{'max |diff|':>12}")
    worst = 0.0
    for what in ("decode", "encode"):
        for b in (1, 32, 256):
            if what == "decode":
                x = rng.standard_normal((b, zd)).astype(np.float32)
                xt = torch.from_numpy(x)

                def run_torch():
                    with torch.no_grad():
                        return module.decode(xt).numpy()

                def run_ort():
                    return ds.run(None, {"z": x})[0]
            else:
                x = rng.random((b, 3, s, s), dtype=np.float32)
                xt = torch.from_numpy(x)

                def run_torch():
                    with torch.no_grad():
                        return module.encode(xt).numpy()

                def run_ort():
                    return es.run(None, {"image": x})[0]
            diff = float(np.abs(run_torch() - run_ort()).max())
            worst = max(worst, diff)
            reps = a.repeats if b > 1 else a.repeats * 20
            tt = timed(run_torch, b, reps)
            to = timed(run_ort, b, reps)
            print(f"{what:<8}{b:>6}{tt:>14,.0f}{to:>12,.0f}{to / tt:>10.2f}×{diff:>12.2e}")
    print(f"largest difference torch vs ORT: {worst:.2e} ({'within' if worst <= 1e-4 else 'BEYOND'} 1e-4)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
