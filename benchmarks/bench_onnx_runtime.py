"""Torch against ONNX Runtime on the default model (issue 14's fast path), measured fairly (issue 26): images per
second for decode and encode at batch 1, 32 and 256, and the largest difference of the outputs (must stay below
1e-4).

Fair means (``benchmarks/_fair.py``): each library in its own long-lived process (they never share one), the same
intra-op threads for each (``--threads``, default 2), torch in ``torch.inference_mode()`` and also with its
BatchNorm layers folded into the convolutions as the exported graph has them ("torch folded"), warm-up rounds
discarded, the sides alternated round by round (A B C, C B A, …) within one run, and medians with min–max.

    python benchmarks/bench_onnx_runtime.py [--model MODEL_DIR] [--rounds 7] [--threads 2] [--batches 1,32,256]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import _fair  # noqa: E402

SIDES = ("torch", "torch folded", "ORT")


def inputs(what: str, batch: int, z_dim: int, size: int) -> np.ndarray:
    """The same input for every side: seeded by the case."""
    rng = np.random.default_rng(batch + (0 if what == "decode" else 1000))
    if what == "decode":
        return rng.standard_normal((batch, z_dim)).astype(np.float32)
    return rng.random((batch, 3, size, size), dtype=np.float32)


class _Side:
    """What both workers share: the inputs of the current case and the timing of ``calls`` calls."""

    def _run(self, what: str, x):  # pragma: no cover - defined by each side
        raise NotImplementedError

    def _input(self, what, batch):
        raise NotImplementedError

    def measure(self, what: str, batch: int, calls: int) -> float:
        """Seconds per image over ``calls`` back-to-back calls on one batch."""
        x = self._input(what, batch)
        t = time.perf_counter()
        for _ in range(calls):
            self._run(what, x)
        return (time.perf_counter() - t) / (calls * batch)

    def output(self, what: str, batch: int, path: str) -> None:
        np.save(path, np.asarray(self._run(what, self._input(what, batch))))


class TorchSide(_Side):
    """The model's torch network in inference mode; ``fold``: BatchNorm folded into the convolutions."""

    def __init__(self, model: str, threads: int, fold: bool):
        import torch

        from engine.formats import open_model

        if threads:
            torch.set_num_threads(threads)
        self.torch = torch
        codec = open_model(model)
        self.codec = codec
        module = codec.torch_module.float().cpu().eval()
        self.folded = 0
        if fold:
            module, self.folded = _fair.fold_batchnorm(module)
        self.module = module
        self.bn = sum(isinstance(m, torch.nn.BatchNorm2d) for m in module.modules())

    def info(self) -> dict:
        c = self.codec
        return {"model_id": c.model_id, "size": c.image_size, "z_dim": c.z_dim, "torch": self.torch.__version__,
                "threads": self.torch.get_num_threads(), "batchnorm_left": self.bn, "folded": self.folded}

    def export(self, folder: str) -> float:
        """Write the fast path's encoder.onnx / decoder.onnx of this network into ``folder``; seconds taken."""
        from engine.formats.fast_path import native_onnx_pair

        t = time.perf_counter()
        enc, dec = native_onnx_pair(self.codec.torch_module)
        Path(folder, "encoder.onnx").write_bytes(enc)
        Path(folder, "decoder.onnx").write_bytes(dec)
        return time.perf_counter() - t

    def _input(self, what, batch):
        return self.torch.from_numpy(inputs(what, batch, self.codec.z_dim, self.codec.image_size))

    def _run(self, what, x):
        with self.torch.inference_mode():
            return (self.module.decode(x) if what == "decode" else self.module.encode(x)).numpy()


class OrtSide(_Side):
    """The exported graphs in ONNX Runtime sessions made as the app makes them (``inference_session``)."""

    def __init__(self, folder: str, threads: int, z_dim: int, size: int):
        import onnxruntime

        from engine.formats.onnx.codec import inference_session

        self.version = onnxruntime.__version__
        self.z_dim, self.size = z_dim, size
        self.sessions = {w: inference_session(Path(folder, f"{n}.onnx").read_bytes(), f"{n}.onnx", threads, ours=True)
                         for w, n in (("decode", "decoder"), ("encode", "encoder"))}
        assert "torch" not in sys.modules, "the ONNX Runtime side must not load torch"

    def info(self) -> dict:
        return {"onnxruntime": self.version}

    def _input(self, what, batch):
        return inputs(what, batch, self.z_dim, self.size)

    def _run(self, what, x):
        name = "z" if what == "decode" else "image"
        return self.sessions[what].run(None, {name: x})[0]


def main(argv=None) -> int:
    from engine.resources import default_model_dir

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2, help="intra-op threads for every side")
    ap.add_argument("--batches", default="1,32,256")
    ap.add_argument("--order", choices=("alternate", "random"), default="alternate")
    a = ap.parse_args(argv)
    model = str(a.model or default_model_dir())
    batches = [int(b) for b in a.batches.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        plain = _fair.Worker("bench_onnx_runtime:TorchSide", a.threads,
                              {"model": model, "threads": a.threads, "fold": False})
        folded = _fair.Worker("bench_onnx_runtime:TorchSide", a.threads,
                               {"model": model, "threads": a.threads, "fold": True})
        info = plain.call("info")
        export_s = plain.call("export", folder=tmp)
        ort = _fair.Worker("bench_onnx_runtime:OrtSide", a.threads, {"folder": tmp, "threads": a.threads,
                           "z_dim": info["z_dim"], "size": info["size"]})
        workers = {"torch": plain, "torch folded": folded, "ORT": ort}
        fi = folded.call("info")
        print(f"model {info['model_id']}: {info['size']}×{info['size']}, z_dim {info['z_dim']}; torch {info['torch']} "
              f"({info['threads']} threads, inference_mode; {info['batchnorm_left']} BatchNorm layers, folded: "
              f"{fi['folded']}), onnxruntime {ort.call('info')['onnxruntime']} ({a.threads} intra-op threads); "
              f"export to ONNX {export_s:.1f} s; each side in its own process; {a.warmup} warm-up + {a.rounds} "
              f"rounds, {a.order} order; {_fair.load_average()}")
        print("images/s: median (min–max) over rounds; ×: ORT ÷ torch, ratio of medians [per-round min–max]")
        print(f"{'what':<7}{'batch':>6}{'torch':>22}{'torch folded':>22}{'ORT':>22}{'ORT÷torch':>22}"
              f"{'ORT÷folded':>22}{'max |diff|':>11}")
        worst = 0.0
        try:
            for what in ("decode", "encode"):
                for b in batches:
                    outs = {}
                    for n, w in workers.items():
                        p = str(Path(tmp) / f"{n.replace(' ', '_')}.npy")
                        w.call("output", what=what, batch=b, path=p)
                        outs[n] = np.load(p)
                    diff = max(float(np.abs(outs[n] - outs["ORT"]).max()) for n in ("torch", "torch folded"))
                    worst = max(worst, diff)
                    calls = max(1, 32 // b)
                    cmp = _fair.compare({n: (lambda w=w: w.call("measure", what=what, batch=b, calls=calls))
                                         for n, w in workers.items()}, rounds=a.rounds, warmup=a.warmup, order=a.order)
                    cells = [_fair.Spread(1 / s.median, 1 / s.hi, 1 / s.lo, s.n).text(digits=0)
                             for s in (cmp.spread(n) for n in SIDES)]
                    ratios = [f"×{cmp.ratio(t, 'ORT'):.2f} [{cmp.round_ratios(t, 'ORT').lo:.2f}–"
                              f"{cmp.round_ratios(t, 'ORT').hi:.2f}]" for t in ("torch", "torch folded")]
                    print(f"{what:<7}{b:>6}" + "".join(f"{c:>22}" for c in cells + ratios) + f"{diff:>11.1e}",
                          flush=True)
        finally:
            for w in workers.values():
                w.close()
    print(f"largest difference torch vs ORT: {worst:.2e} ({'within' if worst <= 1e-4 else 'BEYOND'} 1e-4); at the end "
          f"{_fair.load_average()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
