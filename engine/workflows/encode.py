"""The encode use case: a folder (CLI ``encode``) or an opened dataset (the GUI's Encode dataset) into a model's
z-points (``latents.npy`` + ``latent_files.txt``), holding the model folder's writer lock.

The policy both fronts apply before replacing z-points is here too: :func:`replacement_check` says whether the
images are (mostly) the model's own training set, and the words to ask the user with when they are not.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Sequence

from ..params import Param
from ..progress import CancelToken, ProgressCallback, no_progress

if TYPE_CHECKING:  # the encoder's modules load when a run starts, not when the CLI builds its parser
    from ..encoding import EncodeResult

#: The number types ``latents.npy`` may hold (every reader takes both; a float16 store is memory-mapped as it is).
LATENT_DTYPES = ("float32", "float16")

#: The encode use case's options, declared once (the CLI's flags are built from them).
ENCODE_PARAMS: tuple[Param, ...] = (
    Param("model", str, None, "", kind="path", required=True),
    Param("data", str, None, "", kind="path", required=True),
    Param("batch_size", int, 256, "", minimum=1),
    Param("device", str, "auto", "auto, cpu or cuda", kind="device"),
    Param("fresh", bool, False, "start over instead of resuming an interrupted encode"),
    Param("dtype", str, "float32", "how the z-points are stored: float16 halves latents.npy (millions of faces), "
          "within float16's rounding (3 significant digits)", choices=LATENT_DTYPES),
)

#: Below this share of the model's z-points among the images, encoding them replaces another set: asked first.
SHARED_FOR_SAME_SET = 0.5


@dataclass
class EncodeOptions:
    batch_size: int = 256
    fresh: bool = False  # start over instead of resuming an interrupted run
    workers: Optional[int] = None
    dtype: str = "float32"  # the z-points' number type in latents.npy (LATENT_DTYPES)


@dataclass
class ReplacementCheck:
    """Whether encoding these images replaces the model's z-points with another set (``ok`` False: ask first)."""

    ok: bool
    shared: int  # images among the model's z-points
    images: int
    known: int  # the model's z-points
    question: str = ""  # the words to ask with ("… Encode anyway?")


def replacement_check(opened, files: Sequence[str], folder=None) -> ReplacementCheck:
    """Compare the images ``files`` with the opened model's z-points (their file names)."""
    known = set(opened.latent_files)
    shared = sum(1 for f in files if f in known) if known else 0
    ok = not known or shared >= SHARED_FOR_SAME_SET * len(known)
    question = "" if ok else (
        f"{folder or 'this folder'} is not this model's training set: {shared:,} of its {len(files):,} images are "
        f"among the model's {len(known):,} z-points. Encoding replaces the z-points (and labels.csv no longer "
        "matches them). Encode anyway?")
    return ReplacementCheck(ok, shared, len(files), len(known), question)


def encode_folder_into(model, data: str | os.PathLike, options: Optional[EncodeOptions] = None, *,
                       progress: Optional[ProgressCallback] = None, cancel: Optional[CancelToken] = None,
                       dist_ctx=None) -> EncodeResult:
    """Stream the images of ``data`` into the model's z-points (bounded memory; an interrupted run resumes unless
    ``options.fresh``). ``model``: an opened model (``.folder``, ``.codec``) or a codec with its ``folder``.

    Under torchrun (``dist_ctx``, or the process group this process joined, of several processes) each process
    encodes its shard of the files and the first merges them (``engine.encode_shards``): the result on the other
    processes describes their shard only."""
    from .. import distributed
    from ..encoding import encode_folder

    options = options or EncodeOptions()
    codec = getattr(model, "codec", model)
    ctx = dist_ctx or distributed.current()
    if ctx.distributed:
        from ..encode_shards import encode_sharded
        from ..encoding import FolderSource

        source = FolderSource(data, codec.preprocess, workers=options.workers)
        return encode_sharded(Path(model.folder), source, codec, ctx, batch_size=options.batch_size,
                              dtype=options.dtype, fresh=options.fresh, progress=progress or no_progress, cancel=cancel)
    return encode_folder(Path(model.folder), data, model=codec, batch_size=options.batch_size, fresh=options.fresh,
                         workers=options.workers, dtype=options.dtype, progress=progress or no_progress, cancel=cancel)


@dataclass
class EncodedDataset:
    folder: Path
    rows: int
    z_dim: int


def encode_dataset_into(opened, dataset, *, progress: Optional[ProgressCallback] = None,
                        cancel: Optional[CancelToken] = None) -> EncodedDataset:
    """Encode an opened dataset (engine.image_data) into the opened model's z-points."""
    from ..encoding import encode_dataset

    z = encode_dataset(opened.folder, dataset, model=opened.codec, progress=progress or no_progress, cancel=cancel)
    return EncodedDataset(Path(opened.folder), int(z.shape[0]), int(z.shape[1]))


__all__ = ["ENCODE_PARAMS", "LATENT_DTYPES", "EncodeOptions", "EncodedDataset", "ReplacementCheck", "encode_dataset_into",
           "encode_folder_into", "replacement_check"]
