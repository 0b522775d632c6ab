"""ONNX Runtime with and without busy-waiting threads (``session.intra_op.allow_spinning``), alternated in one run
(``benchmarks/_fair.py``): the default model's decoder, each call followed by 20 ms idle as in an interactive app;
wall time of the call and CPU time of call + idle (what the spinning threads burn while the app waits). The app's
sessions turn spinning off (``engine/formats/onnx/safety.session_options``).

    python benchmarks/onnx_spinning.py [--rounds 30] [--threads 2]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _fair import ROOT, compare, load_average  # noqa: E402

DECODER = ROOT / "resources" / "models" / "celeba64-z256" / "fast_path_decoder.onnx"
IDLE_S = 0.02


def _session(spin: bool, threads: int):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 4
    opts.intra_op_num_threads = threads
    if not spin:
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(DECODER), opts, providers=["CPUExecutionProvider"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    sessions = {"spinning": _session(True, a.threads), "not spinning": _session(False, a.threads)}
    name = sessions["spinning"].get_inputs()[0].name
    for batch in (1, 32):
        z = {name: np.random.default_rng(0).normal(size=(batch, 256)).astype(np.float32)}
        cpu: dict[str, list[float]] = {n: [] for n in sessions}

        def runner(n):
            def run() -> float:
                c, t = time.process_time(), time.perf_counter()
                sessions[n].run(None, z)
                wall = time.perf_counter() - t
                time.sleep(IDLE_S)
                cpu[n].append(time.process_time() - c)
                return wall

            return run

        res = compare({n: runner(n) for n in sessions}, rounds=a.rounds, warmup=2)
        print(f"batch {batch}: wall time of a decode")
        print("\n".join(res.report(unit="ms", scale=1000, digits=1)))
        print(f"  CPU of a decode + {IDLE_S * 1000:.0f} ms idle (median, warm-up included): " + ", ".join(
            f"{n} {np.median(v) * 1000:.1f} ms" for n, v in cpu.items()))
    print(load_average())


if __name__ == "__main__":
    main()
