"""Train (or resume) a model on a folder of faces, then encode the folder into its z-points.

One home for the CLI's ``train`` (also under torchrun) and the GUI's training dialog. The output
folder rules come first (a new or empty folder, or the model to continue with ``resume``), then the
model folder's writer lock is taken and held from before the images are read until the z-points
are written, so no other writer slips in between training and encoding.
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..progress import CancelToken, ProgressCallback, no_progress


def _train_params():
    """Torch-free (the command line builds its parser without it): the sizes' defaults are the architecture's;
    the training options' defaults and precisions are ``training.TrainOptions``'s and ``training.PRECISIONS``
    (a test holds them equal)."""
    from ..architecture import ArchitectureConfig as A
    from ..params import Param

    return (
        Param("data", str, None, "folder of face images (e.g. img_align_celeba)", kind="path", required=True),
        Param("out", str, None, "model folder to write", kind="path", required=True),
        Param("epochs", int, 30, "", minimum=1),
        Param("image_size", int, A.image_size, "", kind="image_size", minimum=16),
        Param("z_dim", int, A.z_dim, "", minimum=2),
        Param("batch_size", int, 128, "", minimum=1),
        Param("seed", int, 0, "", kind="seed"),
        Param("resume", bool, False, "continue from the folder's checkpoint"),
        Param("allow_other_data", bool, False, "when resuming: continue on images other than those it was trained on"),
        Param("lr", float, 1e-3, "Adam learning rate", kind="positive"),
        Param("channels", str, ",".join(str(c) for c in A.channels), "the 4 encoder channel widths", kind="channels"),
        Param("batch_norm", bool, A.batch_norm, "batch normalisation after each conv layer (the default: measured best)",
              off_help="no batch normalisation, as in the blog"),
        Param("val_count", int, None, "held-out images (last by name); default min(500, N/18)", minimum=0),
        Param("no_flip", bool, False, "no horizontal-flip augmentation"),
        Param("no_encode", bool, False, "do not encode the data set after training"),
        Param("device", str, "auto", "auto, cpu or cuda[:N] (under torchrun: cuda:LOCAL_RANK)", kind="device"),
        Param("precision", str, "auto", "auto: bf16 (fp16 on older GPUs) autocast on CUDA, fp32 on the CPU",
              choices=("auto", "fp32", "bf16", "fp16")),
        Param("compile", bool, False, "torch.compile the model (CUDA, long runs)"),
    )


#: The train use case's options, declared once (the CLI's flags are built from them).
TRAIN_PARAMS = _train_params()


@dataclass
class TrainedModel:
    folder: Path
    history: list[dict]
    data_summary: str
    encoded: bool
    is_main: bool = True  # False on the other ranks of a torchrun job (rank 0 reports and encodes)

    @property
    def epochs_done(self) -> int:
        return len(self.history)

    @property
    def val_loss(self) -> Optional[float]:
        return self.history[-1].get("val_loss") if self.history else None


def train_model(data_folder: str | os.PathLike, out: str | os.PathLike, arch=None, options=None, *,
                resume: bool = False, encode: bool = True, encode_device: str = "cpu", dist_ctx=None,
                progress: ProgressCallback = no_progress, cancel: Optional[CancelToken] = None,
                on_data=None, allow_other_data: bool = False) -> TrainedModel:
    """Train ``arch`` (None with ``resume``: the folder's own) with ``options`` (``training.TrainOptions``)
    on the faces of ``data_folder`` into ``out``; with ``encode`` also write their z-points.
    ``on_data(dataset)`` is told once the images are loaded (the CLI prints the summary).

    ``resume`` on other images than the checkpoint was trained on (another folder, files added, removed or
    edited) is a ``DataError`` before anything is written, unless ``allow_other_data``."""
    from .. import distributed
    from ..architecture import check_architecture_limits
    from ..model_lock import model_writer
    from ..output_folders import check_model_output
    from ..training import TrainOptions, _check_options

    cancel = cancel or CancelToken()
    ctx = dist_ctx or distributed.current()
    options = options or TrainOptions()
    out = check_model_output(out, data=data_folder, resume=resume)  # before any work
    _check_options(options)
    if arch is not None:
        check_architecture_limits(arch.image_size, arch.z_dim, tuple(arch.channels), arch.kernel_size)
    # a refusal on rank 0 alone would leave the other ranks of a torchrun job at a barrier: see docs/robustness.md
    guard = contextlib.nullcontext() if ctx.distributed else model_writer(out, "train")
    with guard:
        if not ctx.distributed:  # again under the lock: another train or import may have filled the folder since
            check_model_output(out, data=data_folder, resume=resume)
        return _run(data_folder, out, arch, options, resume, encode, encode_device, ctx, progress, cancel, on_data,
                    allow_other_data)


def _run(data_folder, out: Path, arch, options, resume, encode, encode_device, ctx, progress, cancel, on_data,
         allow_other_data=False):
    from ..image_data import Preprocess, load_folder
    from ..formats.native import read_config
    from ..training import train

    pre = read_config(out).preprocess if resume else Preprocess(image_size=arch.image_size if arch else 64)
    if ctx.distributed and ctx.local_rank != 0:
        ctx.barrier()  # one decode per machine: local rank 0 fills the image cache, the others read it
    data = load_folder(data_folder, pre, progress=progress if ctx.is_main else no_progress)
    if ctx.distributed and ctx.local_rank == 0:
        ctx.barrier()
    if on_data is not None and ctx.is_main:
        on_data(data)
    cancel.raise_if_cancelled()
    res = train(data, out, None if resume else arch, options, resume=resume, progress=progress, cancel=cancel,
                dist_ctx=ctx, allow_other_data=allow_other_data)
    if not ctx.is_main:
        return TrainedModel(out, res.history, data.summary(), False, is_main=False)
    if encode:
        from ..encoding import encode_dataset
        from ..formats import open_model

        encode_dataset(out, data, model=open_model(out, device=encode_device), progress=progress, cancel=cancel)
    return TrainedModel(out, res.history, data.summary(), encode)
