"""Fair A-against-B timing for the benchmarks: one run, the sides alternated, the same threads, warm-up discarded.

Every benchmark that compares two ways of doing a job (torch against ONNX Runtime, a loop against its vectorised
form, a cold cache against a warm one) goes through here, so that drift in a shared machine's load hits every side
alike:

- ``schedule``: the order of the sides in each round; ``"alternate"`` runs A B, then B A, then A B, … (so neither
  side always runs first), ``"random"`` shuffles each round with a fixed seed;
- ``compare``: runs the warm-up rounds (discarded) and the measured rounds in that order and keeps every side's
  times; ``Comparison.report`` prints each side's median (min–max) and, for each pair, the ratio of the medians
  with the spread of the per-round ratios (the two sides of a round ran back to back, so their ratio is what drift
  disturbs least);
- ``Worker``: a long-lived child process holding one heavy library (torch, onnxruntime), so the two never share a
  process (their thread pools and allocators interfere); the parent only sends it calls and gets numbers back;
- ``thread_env`` / ``set_threads``: the same intra-op thread count for every side (OMP/MKL/OpenBLAS environment,
  ``torch.set_num_threads``, ONNX Runtime's ``intra_op_num_threads``);
- ``fold_batchnorm``: a copy of a torch network with each BatchNorm folded into the convolution before it, as
  the ONNX export does, so torch is timed on the same arithmetic.

The module imports only the standard library at the top (torch is imported inside ``fold_batchnorm``).
"""
from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

BENCHMARKS = Path(__file__).resolve().parent
ROOT = BENCHMARKS.parent
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS")


# ---------------------------------------------------------------- statistics


@dataclass(frozen=True)
class Spread:
    """The median of some measurements with their smallest and largest value."""

    median: float
    lo: float
    hi: float
    n: int

    @classmethod
    def of(cls, values: Sequence[float]) -> "Spread":
        if not values:
            raise ValueError("no measurements")
        return cls(float(statistics.median(values)), float(min(values)), float(max(values)), len(values))

    def text(self, scale: float = 1.0, digits: int = 2, unit: str = "") -> str:
        """'median (min–max)unit', every value multiplied by ``scale``."""
        f = f"{{:.{digits}f}}"
        return f"{f.format(self.median * scale)} ({f.format(self.lo * scale)}–{f.format(self.hi * scale)}){unit}"


def schedule(names: Sequence[str], rounds: int, order: str = "alternate", seed: int = 0) -> list[list[str]]:
    """The order of the sides in each of ``rounds`` rounds: ``alternate`` (A B, B A, A B, …) or ``random``
    (each round shuffled, reproducibly from ``seed``)."""
    names = list(names)
    if order == "alternate":
        return [names if r % 2 == 0 else names[::-1] for r in range(rounds)]
    if order == "random":
        rng = random.Random(seed)
        out = []
        for _ in range(rounds):
            r = names[:]
            rng.shuffle(r)
            out.append(r)
        return out
    raise ValueError(f"order must be 'alternate' or 'random', not {order!r}")


@dataclass
class Comparison:
    """Every side's measured values (warm-up excluded), round by round, in the order they ran."""

    names: list[str]
    values: dict[str, list[float]] = field(default_factory=dict)
    ran: list[list[str]] = field(default_factory=list)  # the measured rounds' order

    def spread(self, name: str) -> Spread:
        return Spread.of(self.values[name])

    def ratio(self, a: str, b: str) -> float:
        """median(a) ÷ median(b)."""
        return self.spread(a).median / self.spread(b).median

    def round_ratios(self, a: str, b: str) -> Spread:
        """The ratios a ÷ b of each round (the two ran back to back): their median and min–max."""
        return Spread.of([x / y for x, y in zip(self.values[a], self.values[b])])

    def report(self, unit: str = "s", scale: float = 1.0, digits: int = 2, higher_is_better: bool = False,
               pairs: Optional[Sequence[tuple[str, str]]] = None) -> list[str]:
        """Lines: each side's median (min–max), then for each pair (default: every side against the first) the
        ratio of the medians and the spread of the per-round ratios. With times (lower is better) the ratio is
        time first ÷ time other, i.e. how many times faster the other side is; with rates, rate other ÷ rate first."""
        lines = [f"  {n:<24} {self.spread(n).text(scale, digits, ' ' + unit if unit else '')}   "
                 f"[{self.spread(n).n} rounds]" for n in self.names]
        for a, b in pairs or [(self.names[0], n) for n in self.names[1:]]:
            num, den = (b, a) if higher_is_better else (a, b)
            rr = self.round_ratios(num, den)
            what = "rate" if higher_is_better else "time"
            lines.append(f"  {what} {num} ÷ {den}: ×{self.ratio(num, den):.2f} (ratio of medians; per round "
                         f"{rr.text(digits=2)})")
        return lines


def compare(runners: dict[str, Callable[[], Optional[float]]], rounds: int = 7, warmup: int = 1,
            order: str = "alternate", seed: int = 0, timer: Callable[[], float] = time.perf_counter) -> Comparison:
    """Run every side ``warmup`` rounds (discarded) and then ``rounds`` rounds in the order ``schedule`` gives.
    A runner returns its own measurement (seconds, or a rate) or None, in which case its wall time by ``timer``
    is kept."""
    names = list(runners)
    plan = schedule(names, warmup + rounds, order, seed)
    out = Comparison(names, {n: [] for n in names})
    for i, round_ in enumerate(plan):
        for n in round_:
            t = timer()
            value = runners[n]()
            took = timer() - t
            if i >= warmup:
                out.values[n].append(took if value is None else float(value))
        if i >= warmup:
            out.ran.append(list(round_))
    return out


# ---------------------------------------------------------------- threads


def thread_env(threads: int, base: Optional[dict] = None) -> dict:
    """A copy of the environment (or ``base``) with every math library's thread count set to ``threads``
    (0: left as it is)."""
    env = dict(os.environ if base is None else base)
    if threads:
        env.update({k: str(threads) for k in THREAD_VARS})
    return env


def set_threads(threads: int) -> None:
    """Give torch (when it is imported) ``threads`` intra-op threads, as ``thread_env`` gives the libraries."""
    if threads and "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


# ---------------------------------------------------------------- workers

_BOOT = r"""
import json, sys, traceback
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import importlib
mod_name, cls_name = sys.argv[3].split(":")
obj = getattr(importlib.import_module(mod_name), cls_name)(**json.loads(sys.argv[4]))
out = sys.stdout
sys.stdout = sys.stderr  # prints of the side never mix with the replies
out.write("READY\n"); out.flush()
for line in sys.stdin:
    msg = json.loads(line)
    try:
        reply = {"ok": getattr(obj, msg["call"])(**msg.get("kw", {}))}
    except Exception:
        reply = {"error": traceback.format_exc()}
    out.write(json.dumps(reply) + "\n"); out.flush()
"""


class Worker:
    """One side of a comparison in its own long-lived process: ``target`` is ``"module:Class"`` (a module of
    ``benchmarks/`` or of the project), built there with the keyword arguments ``kwargs``; ``call(name, **kw)`` runs
    one of its methods and returns its JSON reply. The child gets ``thread_env(threads)``."""

    def __init__(self, target: str, threads: int = 0, kwargs: Optional[dict] = None):
        kwargs = kwargs or {}
        self.target = target
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _BOOT, str(ROOT), str(BENCHMARKS), target, json.dumps(kwargs)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=thread_env(threads), cwd=str(ROOT))
        line = self.proc.stdout.readline()
        if line.strip() != "READY":
            self.close()
            raise RuntimeError(f"worker {target} did not start (exit {self.proc.returncode})")

    def call(self, name: str, **kw):
        self.proc.stdin.write(json.dumps({"call": name, "kw": kw}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"worker {self.target} ended (exit {self.proc.wait()})")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"worker {self.target}: {reply['error']}")
        return reply["ok"]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---------------------------------------------------------------- torch


def fold_batchnorm(module):
    """A copy of ``module`` in eval mode where every BatchNorm2d that directly follows a Conv2d or ConvTranspose2d
    in an ``nn.Sequential`` is folded into that convolution (and replaced by Identity), as ONNX export and ONNX
    Runtime do; the outputs equal the original's up to rounding. Returns (copy, number folded)."""
    import copy

    from torch import nn
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    m = copy.deepcopy(module).eval()
    folded = 0
    for seq in [s for s in m.modules() if isinstance(s, nn.Sequential)]:
        for i in range(len(seq) - 1):
            conv, bn = seq[i], seq[i + 1]
            if isinstance(bn, nn.BatchNorm2d) and isinstance(conv, (nn.Conv2d, nn.ConvTranspose2d)):
                seq[i] = fuse_conv_bn_eval(conv, bn, transpose=isinstance(conv, nn.ConvTranspose2d))
                seq[i + 1] = nn.Identity()
                folded += 1
    return m, folded


def load_average() -> str:
    """'load average L on N CPUs' (what the figures were measured under)."""
    try:
        la = os.getloadavg()[0]
    except OSError:
        return f"{os.cpu_count()} CPUs"
    return f"load average {la:.2f} on {os.cpu_count()} CPUs"
