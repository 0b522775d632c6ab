"""Commands on model folders: train, encode, reconstruct, import, export, info, gui."""
from __future__ import annotations

import sys
from pathlib import Path

from . import render
from .common import TqdmProgress, cli_name, cuda_ok, raise_bad
from .common import model_dir as _model_dir


def cmd_train(a, progress) -> int:
    from engine import distributed

    # Under torchrun (RANK/WORLD_SIZE/LOCAL_RANK set) this joins the DDP job; otherwise a no-op.
    ctx = distributed.init_from_env(a.device)
    try:
        return _train(a, progress if ctx.is_main else TqdmProgress(quiet=True), ctx)
    finally:
        distributed.shutdown()


def _train(a, progress, ctx) -> int:
    from engine.architecture import OPTION_NAMES, ArchitectureConfig, check_architecture_limits
    from engine.training import TrainOptions
    from engine.workflows.train import train_model

    if a.device.startswith("cuda") and not cuda_ok(a.device):
        raise_bad(f"--device {a.device}: CUDA is not available on this machine (use --device cpu or auto)")
    arch = None
    if not a.resume:  # sizes whose network could not be allocated: refused before any work starts
        channels = tuple(int(c) for c in a.channels.split(","))
        check_architecture_limits(a.image_size, a.z_dim, channels, names=OPTION_NAMES)
        arch = ArchitectureConfig(image_size=a.image_size, z_dim=a.z_dim, batch_norm=a.batch_norm, channels=channels)
    opts = TrainOptions(epochs=a.epochs, batch_size=a.batch_size, learning_rate=a.lr, seed=a.seed,
                        val_count=a.val_count, flip=not a.no_flip, device=a.device,
                        precision=a.precision, compile=a.compile)
    res = train_model(a.data, a.out, arch, opts, resume=a.resume, allow_other_data=a.allow_other_data,
                      encode=not a.no_encode,
                      encode_device="cuda" if cuda_ok(a.device) else "cpu", dist_ctx=ctx, progress=progress,
                      on_data=lambda data: print(data.summary(), file=sys.stderr))
    progress.close()
    if not res.is_main:
        return 0  # rank 0 reports
    for h in res.history:
        print(render.epoch_line(h))
    print(f"model written to {res.folder}")
    return 0


def cmd_encode(a, progress) -> int:
    from engine import distributed
    from engine.formats import open_model
    from engine.workflows.encode import EncodeOptions, encode_folder_into

    # Under torchrun (RANK/WORLD_SIZE/LOCAL_RANK set) each process encodes a shard and rank 0 merges; otherwise
    # a no-op. Every rank opens the model itself (on its own GPU under CUDA).
    ctx = distributed.init_from_env(a.device)
    try:
        device = ("cuda" if not ctx.distributed else f"cuda:{ctx.local_rank}") if cuda_ok(a.device) else "cpu"
        codec = open_model(a.model, device=device)
        # streams the folder in chunks (bounded memory) and resumes an interrupted run
        res = encode_folder_into(codec, a.data, EncodeOptions(batch_size=a.batch_size, fresh=a.fresh,
                                                                 dtype=a.dtype),
                                 progress=progress if ctx.is_main else TqdmProgress(quiet=True), dist_ctx=ctx)
        progress.close()
        if ctx.is_main:
            print(res.summary())
        return 0
    finally:
        distributed.shutdown()


def cmd_reconstruct(a, progress) -> int:
    from engine.workflows.reconstruct import reconstruct_folder

    res = reconstruct_folder(_model_dir(a.model), a.data, a.out, n=a.n, overwrite=a.overwrite, progress=progress)
    progress.close()
    print(res.data_summary, file=sys.stderr)
    print(f"MSE {res.mse:.6f} over {res.n} images")
    return 0


def cmd_import(a, progress) -> int:
    from engine.workflows.import_model import import_model

    res = import_model(a.encoder, a.decoder, a.out, model_file=a.model_file, architecture=a.architecture,
                       image_size=a.image_size, framing=a.framing, channel_order=a.channel_order,
                       value_range=a.value_range, split_layer=a.split_layer, progress=progress)
    progress.close()
    print(res.summary(cli_name))
    return 0


def cmd_export(a, progress) -> int:
    from engine.workflows.export_model import export_model

    res = export_model(_model_dir(a.model), a.out, a.format, progress=progress)
    progress.close()
    print(f"exported {', '.join(res.files)} ({res.image_size}×{res.image_size}, z_dim {res.z_dim}) to {res.folder}")
    return 0


def cmd_info(a, progress) -> int:
    from engine.workflows.open_model import open_model

    opened = open_model(_model_dir(a.model), labels=False)
    for label, value in opened.describe():
        print(f"{label:<10} {value}")
    return 0


def cmd_gui(a, progress) -> int:
    from gui.app import run_gui

    shot = getattr(a, "screenshot", None)
    if shot is not None:
        shot = Path(shot)
        if shot.is_dir():
            raise_bad(f"--screenshot {shot}: is a folder; give the PNG file's name")
        if not shot.parent.is_dir():
            raise_bad(f"--screenshot {shot}: the folder {shot.parent} does not exist")
    session = getattr(a, "session", None)
    model = getattr(a, "model", None)
    if session is not None:  # a bad session file is one line before any window opens
        from engine.session_file import read_session

        record = read_session(session)
        model = model or record["model"]["folder"]
    return run_gui(model_dir=_model_dir(model), screenshot=getattr(a, "screenshot", None),
                   sampler=getattr(a, "sampler", None), session=None if session is None else Path(session))
