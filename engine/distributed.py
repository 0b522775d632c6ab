"""Data-parallel training across processes, GPUs and machines with PyTorch's own DDP.

Nothing here invents a distributed system: ``torchrun`` starts the processes and sets ``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK`` (and ``MASTER_ADDR``/``MASTER_PORT`` or its rendezvous), this module
reads them, calls ``torch.distributed.init_process_group`` (NCCL on CUDA, gloo on the CPU) and
offers the few helpers training needs:

* :class:`DistContext` — who am I (rank, world size, device), with ``barrier`` and ``all_sum``;
* :func:`shard` — the contiguous slice of a global batch that one rank computes, so that the
  ranks together see exactly the batch a single process would see;
* :func:`sync_batch_norm` — batch-norm statistics over the *global* batch (PyTorch's
  ``SyncBatchNorm`` on CUDA; :class:`CrossRankBatchNorm2d` on the CPU, where ``SyncBatchNorm``
  is not supported), which is what makes DDP results match single-process training.

Without those environment variables everything is a single process and costs nothing.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Optional

import numpy as np

from .errors import EngineError

ENV_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK")


@dataclass
class DistContext:
    """This process's place in a (possibly one-process) training job."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: Optional[str] = None  # "nccl" / "gloo" once a process group is up
    initialized_here: bool = False  # we called init_process_group, so we tear it down

    @property
    def is_main(self) -> bool:
        """Rank 0: the only process that writes files, logs and reports progress."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def barrier(self) -> None:
        if self.distributed:
            import torch.distributed as dist

            dist.barrier()

    def all_sum(self, values, device=None) -> np.ndarray:
        """Element-wise sum over all ranks of a short float vector (float64 on the CPU side)."""
        arr = np.asarray(values, dtype=np.float64)
        if not self.distributed:
            return arr
        import torch
        import torch.distributed as dist

        t = torch.tensor(arr, dtype=torch.float64, device=device)  # a copy: all_reduce works in place
        dist.all_reduce(t)
        return t.cpu().numpy()

    def same_everywhere(self, values, what: str, device=None) -> None:
        """Raise (on every rank) when ``values`` differ between ranks, e.g. the data set size."""
        if not self.distributed:
            return
        arr = np.asarray(values, dtype=np.float64)
        total = self.all_sum(arr, device)
        square = self.all_sum(arr * arr, device)
        if not np.allclose(total * total, square * self.world_size):  # Cauchy–Schwarz equality ⇔ all equal
            raise EngineError(f"{what} differs between the {self.world_size} processes: give every rank the same data and options")

    def shutdown(self) -> None:
        if self.initialized_here:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()
            self.initialized_here = False


def env_world() -> tuple[int, int, int]:
    """(rank, world_size, local_rank) from torchrun's environment; (0, 1, 0) without it."""
    try:
        rank = int(os.environ.get("RANK", 0))
        world = int(os.environ.get("WORLD_SIZE", 1))
        local = int(os.environ.get("LOCAL_RANK", rank))
    except ValueError:
        raise EngineError("RANK / WORLD_SIZE / LOCAL_RANK must be integers (set by torchrun)") from None
    if world < 1 or not 0 <= rank < world:
        raise EngineError(f"bad torchrun environment: RANK={rank} WORLD_SIZE={world}")
    return rank, world, local


_current: Optional[DistContext] = None


def current() -> DistContext:
    """The process group this process belongs to (one already initialised by someone else counts)."""
    global _current
    if _current is not None:
        return _current
    try:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            rank, world = dist.get_rank(), dist.get_world_size()
            _, _, local = env_world()
            return DistContext(rank, world, local, dist.get_backend())
    except ImportError:
        pass
    return DistContext()


def init_from_env(device_request: str = "auto", timeout_s: float = 1800) -> DistContext:
    """Join the job torchrun started (if any) and return this process's context.

    Call it once, early (before loading data), in every process. Single-process runs get a
    trivial context and no process group.
    """
    global _current
    rank, world, local = env_world()
    if world == 1:
        _current = DistContext(0, 1, 0)
        return _current
    import torch
    import torch.distributed as dist

    if dist.is_initialized():
        _current = DistContext(dist.get_rank(), dist.get_world_size(), local, dist.get_backend())
        return _current
    use_cuda = device_request.startswith("cuda") or (device_request == "auto" and torch.cuda.is_available())
    backend = "nccl" if use_cuda else "gloo"
    kwargs = {}
    if use_cuda:
        torch.cuda.set_device(local)
        kwargs["device_id"] = torch.device("cuda", local)
    dist.init_process_group(backend, timeout=timedelta(seconds=timeout_s), **kwargs)
    _current = DistContext(rank, world, local, backend, initialized_here=True)
    return _current


def shutdown() -> None:
    global _current
    if _current is not None:
        _current.shutdown()
    _current = None


def device_for(ctx: DistContext, requested: str = "auto"):
    """The torch device of this rank: ``cuda:LOCAL_RANK`` under a multi-GPU job."""
    import torch

    if requested == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", ctx.local_rank if ctx.distributed else torch.cuda.current_device())
        return torch.device("cpu")
    dev = torch.device(requested)
    if dev.type == "cuda" and dev.index is None and torch.cuda.is_available():
        # an explicit index: torch.cuda.set_device and mem_get_info refuse a bare "cuda"
        return torch.device("cuda", ctx.local_rank if ctx.distributed else torch.cuda.current_device())
    return dev


def shard(indices: np.ndarray, rank: int, world_size: int) -> np.ndarray:
    """This rank's contiguous part of one global batch (sizes differ by at most one; may be empty)."""
    n = len(indices)
    lo = (n * rank) // world_size
    hi = (n * (rank + 1)) // world_size
    return indices[lo:hi]


# --------------------------------------------------------------------------------------------
# batch norm over the global batch


def _all_reduce_autograd():
    import torch
    import torch.distributed as dist

    class AllReduceSum(torch.autograd.Function):
        """Sum over ranks whose gradient is again the sum over ranks (every rank's output uses every input)."""

        @staticmethod
        def forward(ctx, tensor, group):
            ctx.group = group
            out = tensor.clone(memory_format=torch.contiguous_format)
            dist.all_reduce(out, group=group)
            return out

        @staticmethod
        def backward(ctx, grad):
            g = grad.clone(memory_format=torch.contiguous_format)
            dist.all_reduce(g, group=ctx.group)
            return g, None

    return AllReduceSum


def _cross_rank_bn_class():
    import torch
    from torch import nn

    all_reduce = _all_reduce_autograd()

    class CrossRankBatchNorm2d(nn.BatchNorm2d):
        """BatchNorm2d whose training statistics are those of the global batch (all ranks).

        A two-pass mean/variance through an autograd-aware all-reduce on its own process group,
        for backends where ``nn.SyncBatchNorm`` is unsupported (gloo on the CPU). Same parameters
        and buffers as ``nn.BatchNorm2d``, so weights files do not change.
        """

        group = None

        def forward(self, x):
            if not self.training or self.group is None:
                return super().forward(x)
            c = x.shape[1]
            xf = x.float()
            count = torch.full((1,), float(xf.numel() // c if c else 0), dtype=xf.dtype, device=xf.device)
            tot = all_reduce.apply(torch.cat([xf.sum(dim=(0, 2, 3)), count]), self.group)
            n = tot[c].clamp_min(1.0)
            mean = tot[:c] / n
            d = xf - mean.view(1, c, 1, 1)
            var = all_reduce.apply((d * d).sum(dim=(0, 2, 3)), self.group) / n
            y = d * torch.rsqrt(var + self.eps).view(1, c, 1, 1)
            if self.affine:
                y = y * self.weight.view(1, c, 1, 1) + self.bias.view(1, c, 1, 1)
            if self.track_running_stats:
                with torch.no_grad():
                    self.num_batches_tracked.add_(1)
                    m = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
                    unbiased = var.detach() * (n / (n - 1).clamp_min(1.0))
                    self.running_mean.mul_(1 - m).add_(mean.detach(), alpha=m)
                    self.running_var.mul_(1 - m).add_(unbiased, alpha=m)
            return y.to(x.dtype)

    return CrossRankBatchNorm2d


_bn_cls = None


def cross_rank_batch_norm_class():
    global _bn_cls
    if _bn_cls is None:
        _bn_cls = _cross_rank_bn_class()
    return _bn_cls


def sync_batch_norm(model, device) -> int:
    """Make every ``BatchNorm2d`` of ``model`` normalise over the global batch; returns how many.

    CUDA: ``nn.SyncBatchNorm`` (NCCL). CPU: :class:`CrossRankBatchNorm2d` on a dedicated gloo
    group, so its collectives never interleave with DDP's gradient all-reduces.
    """
    import torch.distributed as dist
    from torch import nn

    if device.type == "cuda":
        count = sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
        nn.SyncBatchNorm.convert_sync_batchnorm(model)
        return count
    cls = cross_rank_batch_norm_class()
    group = dist.new_group(backend="gloo")
    count = 0
    for module in model.modules():
        for name, child in list(module.named_children()):
            if type(child) is nn.BatchNorm2d:
                new = cls(child.num_features, child.eps, child.momentum, child.affine, child.track_running_stats,
                          device=child.running_mean.device if child.running_mean is not None else device)
                # the same Parameter and buffer objects: the optimizer and the state-dict keys stay valid
                if child.affine:
                    new.weight, new.bias = child.weight, child.bias
                if child.track_running_stats:
                    new.running_mean, new.running_var = child.running_mean, child.running_var
                    new.num_batches_tracked = child.num_batches_tracked
                new.train(child.training)
                new.group = group
                setattr(module, name, new)
                count += 1
    return count
