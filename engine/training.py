"""Training the autoencoder: MSE reconstruction loss, Adam, mini-batches, a validation split.

Reproducible for a seed: the batch order and the flips of epoch ``e`` are drawn from
``seed * 100003 + e``, so a resumed run sees exactly what an uninterrupted one would have seen.
After every epoch the model folder (config + weights) and ``checkpoint.safetensors`` (weights,
Adam state, epoch counter, loss history in its metadata) are written atomically: cancelling or
killing the process loses at most the current epoch, and ``resume=True`` continues from there.

Devices:

* CPU: the uint8 images (often a read-only memmap of the decode cache) are gathered per step;
  plain float32 — the path the desktop uses.
* CUDA: mixed precision (bf16 autocast where the GPU has it, else fp16 with a ``GradScaler``),
  channels-last tensors, cuDNN autotuning, and a feeder that keeps the GPU busy: the whole uint8
  training set is uploaded to GPU memory once when it fits (gather, flip and convert on the GPU),
  otherwise a background thread gathers batches from the memmap into pinned memory and copies
  them with ``non_blocking=True`` (the feeders: :mod:`engine.training_feed`).

Several processes (``torchrun --nproc_per_node=K main.py train …``, one or many machines):
PyTorch's DistributedDataParallel, see :mod:`engine.distributed`. ``batch_size`` is the *global*
batch: every rank draws the same per-epoch permutation and computes its contiguous share of each
global batch; the loss is weighted so the averaged gradient is the gradient of the global batch's
mean loss, and batch norm uses the global batch's statistics, so results match a single process
with the same ``batch_size`` (up to float rounding). Only rank 0 writes files and reports progress;
a barrier after every checkpoint keeps the other ranks from running ahead of it.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Optional

import numpy as np

from .errors import import_extra

torch = import_extra("torch", feature="training")  # the optional extra "train"
import torch.nn.functional as F  # noqa: E402

from . import distributed
from .formats import native as model_store
from .autoencoder import ArchitectureConfig, ConvAutoencoder, images_to_tensor, probe_outputs, tensor_to_images
from .errors import DataError, EngineError, ModelFileError
from .image_data import FaceDataset
from .model_lock import model_writer
from .output_folders import check_model_output
from .progress import CancelToken, EpochEnded, EtaClock, Progress, ProgressCallback, TrainingPreview, no_progress
from .training_feed import make_feeder

PRECISIONS = ("auto", "fp32", "bf16", "fp16")


@dataclass
class TrainOptions:
    epochs: int = 30
    batch_size: int = 128  # the global batch; split across the ranks of a DDP job
    learning_rate: float = 1e-3
    seed: int = 0
    val_count: Optional[int] = None  # default: min(500, N // 18), the last images by name
    flip: bool = True  # random horizontal flips of training images
    device: str = "auto"
    precision: str = "auto"  # auto: bf16 (or fp16 + GradScaler) autocast on CUDA, fp32 on the CPU
    channels_last: Optional[bool] = None  # None: on CUDA only
    data_on_device: str = "auto"  # CUDA: "auto" keeps the uint8 training set on the GPU when it fits; "always"; "never"
    sync_batch_norm: bool = True  # DDP: batch-norm statistics over the global batch (needed for identical results)
    compile: bool = False  # torch.compile the model (CUDA; worth it for long runs)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainResult:
    folder: Path
    epochs_done: int
    history: list[dict] = field(default_factory=list)  # per epoch: epoch, train_loss, val_loss, seconds, images_per_s

    @property
    def val_loss(self) -> Optional[float]:
        return self.history[-1]["val_loss"] if self.history else None


def split_counts(n: int, val_count: Optional[int]) -> tuple[int, int]:
    if val_count is None:
        val_count = min(500, n // 18)
    val_count = max(0, min(val_count, n - 1))
    return n - val_count, val_count


def resolve_precision(requested: str, device: torch.device) -> str:
    """``auto`` → bf16 on a CUDA GPU that has it, fp16 on older GPUs, fp32 on the CPU."""
    if requested not in PRECISIONS:
        raise EngineError(f"precision must be one of {', '.join(PRECISIONS)}, got {requested!r}")
    if requested == "auto":
        if device.type == "cuda":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return "fp32"
    if requested == "fp16" and device.type != "cuda":
        raise EngineError("precision fp16 needs a CUDA device (use bf16 or fp32 on the CPU)")
    return requested


def _checkpoint_state(model, opt) -> dict[str, torch.Tensor]:
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    for pid, st in opt.state_dict()["state"].items():
        for k, v in st.items():
            t = v if torch.is_tensor(v) else torch.tensor(v)
            tensors[f"adam.{pid}.{k}"] = t.reshape(-1) if t.ndim == 0 else t
    return tensors


ADAM_STATE = ("exp_avg", "exp_avg_sq", "step")


def _check_options(opts: TrainOptions) -> None:
    """The options by type and range before any work starts: the same schema the checkpoint and config.json are
    read back with, so training never writes a model whose recorded options would be refused when loaded."""
    try:
        model_store.validate(model_store.TRAIN_OPTIONS, opts.to_dict(), "options")
    except model_store.SchemaError as exc:
        field = exc.path.rsplit(".", 1)[-1]
        param = _OPTION_PARAMS.get(field, field)
        raise EngineError(exc.problem, param=param) from None


#: TrainOptions' fields whose train parameter has another name
_OPTION_PARAMS = {"learning_rate": "lr"}


def _restore_checkpoint(path: Path, model, opt, arch: ArchitectureConfig) -> dict:
    """Load weights and Adam state from ``checkpoint.safetensors`` into ``model`` / ``opt`` and return its
    validated ``training_state`` (epochs_done, history, options, grad_scale). Every field, tensor name, dtype,
    shape and value is checked first: anything else is a ModelFileError naming the file and the field."""
    tensors, meta = model_store.read_safetensors(path)
    try:
        info = model_store.parse_json(meta["training_state"], f"{path}: training_state metadata")
    except (KeyError, ValueError, TypeError):
        raise ModelFileError(f"{path}: not a training checkpoint (no training_state metadata)") from None
    try:
        model_store.validate(model_store.CHECKPOINT_STATE, info, "training_state")
    except model_store.SchemaError as exc:
        raise ModelFileError(f"{path}: {exc}") from None
    if len(info["history"]) != info["epochs_done"]:
        raise ModelFileError(f"{path}: training_state.history has {len(info['history'])} epoch record(s) for "
                             f"epochs_done {info['epochs_done']}")
    model_state = {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}
    model_state = model_store.check_state_dict(model_state, arch, path)
    params = list(model.parameters())
    state: dict = {}
    for key, v in tensors.items():
        if key.startswith("model."):
            continue
        parts = key.split(".")
        if len(parts) != 3 or parts[0] != "adam" or not (parts[1].isascii() and parts[1].isdigit()) or parts[2] not in ADAM_STATE:
            raise ModelFileError(f"{path}: unexpected tensor {key!r} (a checkpoint holds model.* and "
                                 f"adam.<parameter>.{{{','.join(ADAM_STATE)}}})")
        pid, name = int(parts[1]), parts[2]
        if pid >= len(params):
            raise ModelFileError(f"{path}: tensor {key} names parameter {pid}; the network has {len(params)}")
        dt = str(v.dtype).replace("torch.", "")
        if dt not in model_store.WEIGHT_DTYPES + (model_store.COUNTER_DTYPES if name == "step" else ()):
            raise ModelFileError(f"{path}: tensor {key} has dtype {dt}; Adam state must be "
                                 f"{'/'.join(model_store.WEIGHT_DTYPES)}")
        want = (1,) if name == "step" else tuple(params[pid].shape)
        if tuple(v.shape) != want:
            raise ModelFileError(f"{path}: tensor {key} has shape {list(v.shape)}; parameter {pid} needs {list(want)}")
        f = v.float()
        lo, hi = (float(t) for t in torch.aminmax(f))  # NaN propagates; float64 beyond float32 becomes Inf
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise ModelFileError(f"{path}: tensor {key} holds NaN or Inf values")
        if name != "exp_avg" and lo < 0:
            raise ModelFileError(f"{path}: tensor {key} holds a negative value ({lo:.3g}); Adam's {name} is never below 0")
        state.setdefault(pid, {})[name] = f.reshape(()) if name == "step" else f
    for pid, st in state.items():
        missing = [n for n in ADAM_STATE if n not in st]
        if missing:
            raise ModelFileError(f"{path}: the Adam state of parameter {pid} lacks {', '.join(missing)}")
    model.load_state_dict(model_state)
    opt_state = opt.state_dict()
    opt_state["state"] = state
    opt.load_state_dict(opt_state)
    return info


#: What the checkpoint records of the images it was trained on (``training_state.data``).
DATA_IDENTITY = model_store.Obj({"folder": model_store.Str(), "images": model_store.Int(0),
                                 "fingerprint": model_store.Str(200)}, required=("images", "fingerprint"))


def data_identity(data: FaceDataset) -> dict:
    """The identity of the images a model is trained on: the folder, the count, and a fingerprint of the
    used files' names (in order) and sizes — one ``stat`` per file, no pixel read. A folder moved or
    copied elsewhere keeps its fingerprint; a file added, removed, renamed or edited changes it."""
    folder = Path(data.folder)
    h = hashlib.sha256()
    for name in data.files:
        try:
            size = os.stat(folder / name).st_size
        except (OSError, ValueError):
            size = -1
        h.update(f"{name}\0{size}\n".encode("utf-8", "surrogateescape"))
    return {"folder": str(folder), "images": len(data.files), "fingerprint": h.hexdigest()[:32]}


def _check_same_data(ckpt_path: Path, info: dict, config, data: FaceDataset, out: Path, allow_other: bool) -> None:
    """Refuse (DataError, one line) to resume on other images than the checkpoint was trained on: the seed and
    the train/validation split define the run, and another folder would silently change both. Checkpoints
    written before the identity was recorded are compared by what config.json holds (count, first held-out file)."""
    if allow_other:
        return
    now = data_identity(data)
    recorded = info.get("data")
    if recorded is not None:
        try:
            model_store.validate(DATA_IDENTITY, recorded, "training_state.data")
        except model_store.SchemaError as exc:
            raise ModelFileError(f"{ckpt_path}: {exc}") from None
        if recorded["fingerprint"] == now["fingerprint"]:
            return
        was_n, was_folder = recorded["images"], recorded.get("folder", "?")
    else:
        t = config.training
        was_n, was_folder, first = t.get("images"), t.get("dataset", "?"), t.get("val_first_file")
        n_train, n_val = split_counts(len(data), info["options"].get("val_count"))
        if not isinstance(was_n, int) or (was_n == len(data) and (first is None or (n_val and data.files[n_train] == first))):
            return
    if was_n != len(data):
        change = f"this folder gives {len(data):,}"
    else:
        change = "this folder gives as many, but other files (names or sizes differ)"
    where = "" if str(was_folder) == str(data.folder) else f" of {was_folder}"
    raise DataError(f"{data.folder}: cannot resume {out} on these images — it was trained on {was_n:,} images{where}, "
                    f"{change}; resume with the images it was trained on, or train a new model into a new folder")


def _divergence(model, loss_sum: float, seen: float) -> Optional[str]:
    """Why the weights after an epoch must not be saved (None: they are fine). Checked on every rank (same
    weights everywhere), so a DDP job stops together. A NaN loss, NaN/Inf weights or batch-norm statistics, weights
    beyond any trained network's (an lr of 1e30 makes finite weights of 1e30 in one Adam step while the sigmoid
    keeps the loss finite), or a network whose probe outputs are NaN/absurd: load_model would refuse all of these."""
    if not math.isfinite(loss_sum):
        return "the loss is NaN or Inf"
    try:
        model_store.check_weight_values(dict(model.state_dict()), "weights")
    except ModelFileError as exc:  # "weights: tensor X holds values up to 1e+30; a trained network's …"
        return str(exc).removeprefix("weights: ").split("; a ")[0]
    return probe_outputs(model)


# --------------------------------------------------------------------------------------------


def train(
    data: FaceDataset,
    out_dir: str | Path,
    arch: Optional[ArchitectureConfig] = None,
    options: Optional[TrainOptions] = None,
    *,
    resume: bool = False,
    progress: ProgressCallback = no_progress,
    cancel: Optional[CancelToken] = None,
    dist_ctx: Optional[distributed.DistContext] = None,
    allow_other_data: bool = False,
) -> TrainResult:
    """Train (or resume training) a model into the folder ``out_dir``.

    ``out_dir`` must be new or empty, or (``resume``) a model of ours: never a folder of the user's
    files, never over an existing model (:func:`engine.output_folders.check_model_output`). The run
    holds the model folder's writer lock (:mod:`engine.model_lock`) from start to end.

    Under torchrun (a process group initialised, e.g. by :func:`engine.distributed.init_from_env`)
    every rank calls this with the same data and options; see the module docstring.

    ``resume`` continues only on the images the checkpoint was trained on (:func:`data_identity`), else a
    :class:`DataError` before anything is written; ``allow_other_data`` continues on other images on purpose.
    """
    ctx = dist_ctx or distributed.current()
    _check_options(options or TrainOptions())  # before anything is created or locked
    check_model_output(out_dir, data=getattr(data, "folder", None), resume=resume)
    args = (data, Path(out_dir), arch, options, resume, progress, cancel, ctx, allow_other_data)
    if ctx.world_size > 1:  # a refusal on rank 0 alone would leave the other ranks at a barrier (docs/robustness.md)
        return _train(*args)
    with model_writer(out_dir, "train"):
        return _train(*args)


@dataclass
class _Run:
    """The state of one training run: what :func:`_set_up` builds and the epochs advance."""

    data: FaceDataset
    out: Path
    opts: TrainOptions
    ctx: distributed.DistContext
    device: torch.device
    precision: str
    channels_last: bool
    config: model_store.ModelConfig
    model: ConvAutoencoder
    opt: torch.optim.Optimizer
    start_epoch: int = 0
    history: list = field(default_factory=list)
    grad_scale: Optional[float] = None
    n_train: int = 0
    steps_per_epoch: int = 0
    total_steps: int = 0
    clock: Optional[EtaClock] = None
    preview_idx: np.ndarray = field(default_factory=lambda: np.array([], int))
    step: int = 0

    @property
    def ckpt_path(self) -> Path:
        return self.out / model_store.CHECKPOINT

    @property
    def arch(self) -> ArchitectureConfig:
        return self.config.arch


def _train(data, out, arch, options, resume, progress, cancel, ctx, allow_other_data=False) -> TrainResult:
    cancel = cancel or CancelToken()
    if not ctx.is_main:
        progress = no_progress
    run = _set_up(data, out, arch, options, resume, ctx, allow_other_data)
    steps = _StepMachinery(run)
    feeder = make_feeder(data.images, run.n_train, run.device, ctx, run.opts, run.channels_last)
    run.config.training["data_pipeline"] = feeder.name
    try:
        for epoch in range(run.start_epoch, run.opts.epochs):
            cancel.raise_if_cancelled()
            loss_sum, seen, seconds = _train_epoch(run, steps, feeder, epoch, progress, cancel)
            _end_epoch(run, epoch, loss_sum, seen, seconds, steps.scaler, progress)
            ctx.barrier()  # nobody starts the next epoch before rank 0's checkpoint is on disk
    finally:
        feeder.close()
    return TrainResult(out, len(run.history), run.history)


def _device_for(opts: TrainOptions, ctx) -> tuple[torch.device, str, bool]:
    """The run's device (CUDA tuned for training), its precision and whether tensors are channels-last."""
    device = distributed.device_for(ctx, opts.device)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise EngineError(f"device {opts.device!r} requested but CUDA is not available")
        torch.cuda.set_device(device)
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    precision = resolve_precision(opts.precision, device)
    channels_last = device.type == "cuda" if opts.channels_last is None else bool(opts.channels_last)
    return device, precision, channels_last


def _set_up(data, out, arch, options, resume, ctx, allow_other_data) -> _Run:
    """The model, optimiser and options of a new run, or of a resumed one from its checkpoint; the data split."""
    opts = replace(options) if options is not None else TrainOptions()  # the caller's options stay as given
    ckpt_path = out / model_store.CHECKPOINT
    device, precision, channels_last = _device_for(opts, ctx)
    if resume:
        if not ckpt_path.is_file():
            raise EngineError(f"{ckpt_path}: no checkpoint to resume from (train without {{opt:resume}} first)")
        config = model_store.read_config(out)
        arch = config.arch
    else:
        arch = arch or ArchitectureConfig(image_size=data.preprocess.image_size)
        config = model_store.ModelConfig(arch, data.preprocess)
    if data.images.shape[1] != arch.image_size:
        raise EngineError(f"images are {data.images.shape[1]}px but the model expects {arch.image_size}px")

    torch.manual_seed(opts.seed)
    model = ConvAutoencoder(arch).to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=opts.learning_rate)
    run = _Run(data, out, opts, ctx, device, precision, channels_last, config, model, opt)
    if resume:
        _resume(run, allow_other_data)
    _split(run)
    return run


def _resume(run: _Run, allow_other_data: bool) -> None:
    """Weights, Adam state, epoch counter and history from the checkpoint; the saved seed, split and batch."""
    opts, model, opt = run.opts, run.model, run.opt
    info = _restore_checkpoint(run.ckpt_path, model, opt, run.arch)
    _check_same_data(run.ckpt_path, info, run.config, run.data, run.out, allow_other_data)
    run.start_epoch = int(info["epochs_done"])
    run.history = list(info.get("history", []))
    run.grad_scale = info.get("grad_scale")
    saved = info.get("options", {})
    # the seed and split define the run: keep them; the epoch target may grow
    opts.seed = int(saved.get("seed", opts.seed))
    opts.val_count = saved.get("val_count", opts.val_count)
    opts.batch_size = int(saved.get("batch_size", opts.batch_size))
    if run.channels_last:  # Adam moments in the parameters' memory format
        for p in model.parameters():
            for k, v in opt.state.get(p, {}).items():
                if torch.is_tensor(v) and v.dim() == 4:
                    opt.state[p][k] = v.contiguous(memory_format=torch.channels_last)


def _split(run: _Run) -> None:
    """The training/validation split, the step counts and the run's record in ``config.training``."""
    opts, ctx, data, device = run.opts, run.ctx, run.data, run.device
    n = len(data)
    n_train, n_val = split_counts(n, opts.val_count)
    opts.val_count = n_val
    if n_train < 1:
        raise EngineError("need at least 2 images to train (one for validation)")
    if opts.batch_size < 1:
        raise EngineError(f"batch size must be at least 1, got {opts.batch_size}")
    world = ctx.world_size
    ctx.same_everywhere([n, n_train, opts.batch_size, opts.epochs, run.start_epoch, opts.seed],
                        "the data set size, batch size, epochs, seed or checkpoint", device if ctx.backend == "nccl" else None)
    run.n_train = n_train
    run.steps_per_epoch = math.ceil(n_train / opts.batch_size)
    run.total_steps = run.steps_per_epoch * max(1, opts.epochs - run.start_epoch)
    run.clock = EtaClock(run.total_steps)
    run.config.training.update(
        {
            "dataset": str(data.folder),
            "images": n,
            "train_images": n_train,
            "val_images": n_val,
            "val_first_file": data.files[n_train] if n_val else None,
            "options": opts.to_dict(),
            "device": str(device) if world == 1 else f"{world} × {device.type} ({ctx.backend})",
            "precision": run.precision,
            "world_size": world,
            "loss": "mse",
        }
    )
    run.preview_idx = np.linspace(0, max(0, n_val - 1), num=min(8, n_val)).astype(int) if n_val else np.array([], int)


class _StepMachinery:
    """What one optimiser step runs: the model (under DDP and/or ``torch.compile``), autocast and the grad scaler."""

    def __init__(self, run: _Run) -> None:
        opts, ctx, device, model = run.opts, run.ctx, run.device, run.model
        self.world = ctx.world_size
        self.runner = model
        if self.world > 1:
            from torch.nn.parallel import DistributedDataParallel as DDP

            synced = opts.sync_batch_norm and run.arch.batch_norm and distributed.sync_batch_norm(model, device) > 0
            kwargs = {"device_ids": [device.index], "gradient_as_bucket_view": True} if device.type == "cuda" else {}
            # synced batch norm keeps the running statistics equal on every rank: no per-forward buffer broadcast
            import inspect

            flag = "forward_sync_buffers" if "forward_sync_buffers" in inspect.signature(DDP.__init__).parameters else "broadcast_buffers"
            kwargs[flag] = not synced
            self.runner = DDP(model, **kwargs)
        if opts.compile:
            self.runner = torch.compile(self.runner)
        amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(run.precision)
        self.autocast = (lambda: torch.autocast(device.type, dtype=amp_dtype)) if amp_dtype else contextlib.nullcontext
        self.scaler = (torch.amp.GradScaler("cuda", init_scale=run.grad_scale or 2.0**16)
                       if run.precision == "fp16" else None)
        self.pixels = 3 * run.arch.image_size * run.arch.image_size
        self.opt = run.opt

    def __call__(self, x: torch.Tensor, m: int) -> tuple[torch.Tensor, float]:
        """One optimiser step on the batch ``x`` (of a global batch of ``m``): its loss and its share of the epoch sum."""
        self.opt.zero_grad(set_to_none=True)
        with self.autocast():
            y = self.runner(x)
        if self.world == 1:
            loss = F.mse_loss(y.float(), x)
            share = len(x)  # loss × share = this step's sum of per-image MSEs
        else:
            # sum / (global batch) × world: DDP's gradient average is then the global batch mean's gradient
            loss = F.mse_loss(y.float(), x, reduction="sum") * (self.world / (m * self.pixels))
            share = m / self.world
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.step(self.opt)
            self.scaler.update()
        else:
            loss.backward()
            self.opt.step()
        return loss, share


def _train_epoch(run: _Run, steps: _StepMachinery, feeder, epoch: int, progress, cancel) -> tuple[float, float, float]:
    """One epoch over the training images: the summed loss and image count over all ranks, and its seconds."""
    opts, device, ctx = run.opts, run.device, run.ctx
    sync_each_step = device.type != "cuda"  # reading the loss every step would stall a GPU's queue
    g = torch.Generator().manual_seed(opts.seed * 100003 + epoch)
    order = torch.randperm(run.n_train, generator=g).numpy()
    flips = torch.rand(run.n_train, generator=g).numpy() < 0.5
    batches = [np.sort(order[b * opts.batch_size : (b + 1) * opts.batch_size]) for b in range(run.steps_per_epoch)]
    run.model.train()
    t0 = time.perf_counter()
    loss_sum, seen = 0.0, 0
    loss_dev = torch.zeros((), device=device, dtype=torch.float64) if not sync_each_step else None
    last_read, shown_loss = t0, None
    for x, m in feeder.epoch(batches, flips if opts.flip else None):
        cancel.raise_if_cancelled()
        loss, share = steps(x, m)
        seen += len(x)
        run.step += 1
        if sync_each_step:
            loss_sum += float(loss.detach()) * share
            shown_loss = loss_sum / max(1, seen)
        else:
            loss_dev += loss.detach().double() * share
            now = time.perf_counter()
            if now - last_read > 0.5:
                shown_loss, last_read = float(loss_dev) / max(1, seen), now
        progress(
            Progress(
                "train", run.step, run.total_steps, f"epoch {epoch + 1}/{opts.epochs}", epoch=epoch + 1,
                epochs=opts.epochs, loss=shown_loss, eta_s=run.clock.eta(run.step),
            )
        )
    if not sync_each_step:
        loss_sum = float(loss_dev)
    loss_sum, seen = (float(v) for v in ctx.all_sum([loss_sum, seen], device if ctx.backend == "nccl" else None))
    seconds = time.perf_counter() - t0
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        seconds = time.perf_counter() - t0
    return loss_sum, seen, seconds


def _end_epoch(run: _Run, epoch: int, loss_sum: float, seen: float, seconds: float, scaler, progress) -> None:
    """After an epoch: stop on divergence; on rank 0 validate, write the model and checkpoint, report the epoch."""
    problem = _divergence(run.model, loss_sum, seen)  # every rank: same weights, same verdict
    if problem:
        kept = (f"the files of epoch {epoch} are kept — resume with a lower {{opt:lr}}" if epoch else
                "no model was written — start again with a lower {opt:lr}")
        raise EngineError(f"training diverged in epoch {epoch + 1} ({problem}); {kept}")
    record = {"epoch": epoch + 1, "train_loss": loss_sum / seen, "val_loss": None,
              "seconds": round(seconds, 3), "images_per_s": round(seen / seconds, 1)}
    if not run.ctx.is_main:
        run.history.append(record)
        return
    val_loss, preview = evaluate_loss(run.model, run.data.images[run.n_train:], run.device, run.preview_idx)
    record["val_loss"] = val_loss
    run.history.append(record)
    _checkpoint(run, epoch, scaler)
    opts = run.opts
    tick = dict(epoch=epoch + 1, epochs=opts.epochs, loss=record["train_loss"], val_loss=val_loss,
                eta_s=run.clock.eta(run.step))
    ended = EpochEnded(epoch + 1, opts.epochs, record["train_loss"], val_loss, record["seconds"],
                       record["images_per_s"], tuple(dict(r) for r in run.history))
    progress(Progress("train", run.step, run.total_steps, f"epoch {epoch + 1} done", **tick, event=ended))
    if preview is not None:
        progress(Progress("train", run.step, run.total_steps, f"epoch {epoch + 1} done", **tick,
                          event=TrainingPreview(epoch + 1, *preview)))


def _checkpoint(run: _Run, epoch: int, scaler) -> None:
    """The model folder, then the checkpoint (weights, Adam state, epoch counter, history): both atomic."""
    config = run.config
    config.training["history"] = run.history
    config.training["epochs_done"] = epoch + 1
    # Model folder first, checkpoint last: both atomic; the checkpoint names the epoch it holds.
    model_store.save_model(run.out, run.model, config)
    state = {"epochs_done": epoch + 1, "history": run.history, "options": run.opts.to_dict(),
             "data": data_identity(run.data)}  # one stat per file: ~10 ms for 9,000
    if scaler is not None:
        state["grad_scale"] = float(scaler.get_scale())
    model_store.write_safetensors(run.ckpt_path, _checkpoint_state(run.model, run.opt),
                                  {"training_state": json.dumps(state)})


@torch.no_grad()
def evaluate_loss(model, images: np.ndarray, device, preview_idx=None, batch_size: int = 256):
    """Mean per-pixel MSE over ``images`` and (originals, reconstructions) for ``preview_idx``."""
    if len(images) == 0:
        return None, None
    was_training = model.training
    model.eval()
    total = 0.0
    for i in range(0, len(images), batch_size):
        x = images_to_tensor(images[i : i + batch_size], device)
        total += float(F.mse_loss(model(x), x, reduction="sum"))
    loss = total / (len(images) * images[0].size)
    preview = None
    if preview_idx is not None and len(preview_idx):
        orig = np.asarray(images[preview_idx])
        recon = tensor_to_images(model(images_to_tensor(orig, device)))
        preview = (orig, recon)
    model.train(was_training)
    return loss, preview
