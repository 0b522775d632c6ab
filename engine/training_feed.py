"""Feeding training batches to the device: the uint8 images gathered per step on the host (the CPU path),
kept whole on the GPU when they fit, or prefetched by a background thread into pinned memory.

Part of :mod:`engine.training` (see its docstring for the devices); :func:`make_feeder` picks one.
"""
from __future__ import annotations

import queue
import threading
from typing import Iterator, Optional

import numpy as np

from .errors import import_extra

torch = import_extra("torch", feature="training")  # the optional extra "train"

from . import distributed
from .autoencoder import images_to_tensor
from .errors import EngineError


def _pinned(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Page-locked host memory for an asynchronous copy to a GPU (a no-op for a CPU device)."""
    return t.pin_memory() if device.type == "cuda" else t


class HostBatches:
    """Gather each batch from the host uint8 array (a memmap is fine) and convert it on the fly.

    The CPU path: the gather is a few hundred kB per step, negligible next to the model.
    """

    name = "host"

    def __init__(self, images: np.ndarray, device: torch.device, ctx: distributed.DistContext, channels_last: bool):
        self.images, self.device, self.ctx, self.channels_last = images, device, ctx, channels_last

    def _finish(self, x: torch.Tensor, f: Optional[torch.Tensor]) -> torch.Tensor:
        if f is not None:
            x = torch.where(f[:, None, None, None], x.flip(3), x)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def epoch(self, batches: list[np.ndarray], flips: Optional[np.ndarray]) -> Iterator[tuple[torch.Tensor, int]]:
        """Yield (this rank's share of each global batch as float N×3×S×S in [0, 1], global batch size)."""
        for idx in batches:
            local = distributed.shard(idx, self.ctx.rank, self.ctx.world_size)
            x = images_to_tensor(self.images[local], self.device)
            f = torch.from_numpy(flips[local]).to(self.device) if flips is not None else None
            yield self._finish(x, f), len(idx)

    def close(self) -> None:
        pass


class DeviceResidentBatches(HostBatches):
    """CUDA: the whole uint8 training set lives in GPU memory; gather, flip and convert there.

    Nothing crosses the PCIe bus per step: the epoch's index list is uploaded once per epoch.
    """

    name = "gpu-resident"

    def __init__(self, images, n_train: int, device, ctx, channels_last: bool, chunk: int = 8192):
        super().__init__(images, device, ctx, channels_last)
        shape = (n_train,) + tuple(images.shape[1:])
        self.u8 = torch.empty(shape, dtype=torch.uint8, device=device)
        for i in range(0, n_train, chunk):  # chunked: the host never holds a second full copy
            part = torch.from_numpy(np.ascontiguousarray(images[i : min(n_train, i + chunk)]))
            self.u8[i : i + len(part)].copy_(_pinned(part, device), non_blocking=True)
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    def epoch(self, batches, flips):
        shares = [distributed.shard(idx, self.ctx.rank, self.ctx.world_size) for idx in batches]
        bounds = np.cumsum([0] + [len(s) for s in shares])
        flat = np.concatenate(shares) if shares else np.empty(0, np.int64)
        idx_dev = _pinned(torch.from_numpy(flat.astype(np.int64)), self.device).to(self.device, non_blocking=True)
        flip_dev = _pinned(torch.from_numpy(flips[flat]), self.device).to(self.device, non_blocking=True) if flips is not None else None
        for k, idx in enumerate(batches):
            lo, hi = int(bounds[k]), int(bounds[k + 1])
            sel = idx_dev[lo:hi]
            # N×S×S×3 storage permuted to N×3×S×S *is* channels-last memory
            x = self.u8.index_select(0, sel).permute(0, 3, 1, 2).float().div_(255.0)
            if not self.channels_last:
                x = x.contiguous()
            yield self._finish(x, flip_dev[lo:hi] if flip_dev is not None else None), len(idx)

    def close(self) -> None:
        del self.u8


class PrefetchBatches(HostBatches):
    """CUDA, data set larger than the GPU budget: a background thread gathers batches from the
    (memmapped) array into pinned memory a few steps ahead; the copy to the GPU is non-blocking."""

    name = "prefetch"

    def __init__(self, images, device, ctx, channels_last: bool, depth: int = 6):
        super().__init__(images, device, ctx, channels_last)
        self.depth = depth

    def epoch(self, batches, flips):
        q: queue.Queue = queue.Queue(maxsize=self.depth)
        stop = threading.Event()

        def put(item) -> bool:
            while not stop.is_set():
                try:
                    q.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        def work():
            try:
                for idx in batches:
                    local = distributed.shard(idx, self.ctx.rank, self.ctx.world_size)
                    a = _pinned(torch.from_numpy(np.ascontiguousarray(self.images[local])), self.device)
                    f = _pinned(torch.from_numpy(flips[local]), self.device) if flips is not None else None
                    if not put((a, f, len(idx))):
                        return
                put(None)
            except BaseException as exc:  # noqa: BLE001 - handed to the training thread
                put(exc)

        thread = threading.Thread(target=work, name="batch-prefetch", daemon=True)
        thread.start()
        try:
            while True:
                item = q.get()
                if item is None:
                    break
                if isinstance(item, BaseException):
                    raise item
                a, f, m = item
                x = a.to(self.device, non_blocking=True).permute(0, 3, 1, 2).float().div_(255.0)
                if not self.channels_last:
                    x = x.contiguous()
                fd = f.to(self.device, non_blocking=True) if f is not None else None
                yield self._finish(x, fd), m
        finally:
            stop.set()
            thread.join(timeout=5)


def make_feeder(images, n_train: int, device: torch.device, ctx, opts: "TrainOptions", channels_last: bool):
    if device.type != "cuda":
        return HostBatches(images, device, ctx, channels_last)
    mode = opts.data_on_device
    if mode not in ("auto", "always", "never"):
        raise EngineError(f"data_on_device must be auto, always or never, got {mode!r}")
    need = n_train * int(np.prod(images.shape[1:]))
    free, _ = torch.cuda.mem_get_info(device)
    if mode == "always" or (mode == "auto" and need <= 0.5 * free):
        return DeviceResidentBatches(images, n_train, device, ctx, channels_last)
    return PrefetchBatches(images, device, ctx, channels_last)
