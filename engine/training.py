"""Training the autoencoder: MSE reconstruction loss, Adam, mini-batches, a validation split.

Reproducible for a seed: the batch order and the flips of epoch ``e`` are drawn from
``seed + e``, so a resumed run sees exactly what an uninterrupted one would have seen.
After every epoch the model folder (config + weights) and ``checkpoint.safetensors`` (weights,
Adam state, epoch counter, loss history in its metadata) are written atomically: cancelling or
killing the process loses at most the current epoch, and ``resume=True`` continues from there.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F

from . import model_store
from .autoencoder import ArchitectureConfig, ConvAutoencoder, images_to_tensor, pick_device, tensor_to_images
from .errors import EngineError, ModelFileError
from .image_data import FaceDataset
from .progress import CancelToken, EtaClock, Progress, ProgressCallback, no_progress


@dataclass
class TrainOptions:
    epochs: int = 30
    batch_size: int = 128
    learning_rate: float = 1e-3
    seed: int = 0
    val_count: Optional[int] = None  # default: min(500, N // 18), the last images by name
    flip: bool = True  # random horizontal flips of training images
    device: str = "auto"

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


def _checkpoint_state(model, opt) -> dict[str, torch.Tensor]:
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    for pid, st in opt.state_dict()["state"].items():
        for k, v in st.items():
            t = v if torch.is_tensor(v) else torch.tensor(v)
            tensors[f"adam.{pid}.{k}"] = t.reshape(-1) if t.ndim == 0 else t
    return tensors


def _restore_checkpoint(path: Path, model, opt, arch: ArchitectureConfig) -> dict:
    tensors, meta = model_store.read_safetensors(path)
    try:
        info = json.loads(meta["training_state"])
    except (KeyError, ValueError):
        raise ModelFileError(f"{path}: not a training checkpoint (no training_state metadata)") from None
    model_state = {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}
    model_store.check_state_dict(model_state, arch, path)
    model.load_state_dict(model_state)
    opt_state = opt.state_dict()
    state: dict = {}
    for key, v in tensors.items():
        if key.startswith("adam."):
            _, pid, name = key.split(".", 2)
            state.setdefault(int(pid), {})[name] = v.reshape(()) if name == "step" else v
    opt_state["state"] = state
    opt.load_state_dict(opt_state)
    return info


def train(
    data: FaceDataset,
    out_dir: str | Path,
    arch: Optional[ArchitectureConfig] = None,
    options: Optional[TrainOptions] = None,
    *,
    resume: bool = False,
    progress: ProgressCallback = no_progress,
    cancel: Optional[CancelToken] = None,
) -> TrainResult:
    """Train (or resume training) a model into the folder ``out_dir``."""
    opts = options or TrainOptions()
    cancel = cancel or CancelToken()
    out = Path(out_dir)
    ckpt_path = out / model_store.CHECKPOINT
    device = pick_device(opts.device)

    if resume:
        if not ckpt_path.is_file():
            raise EngineError(f"{ckpt_path}: no checkpoint to resume from (train without --resume first)")
        config = model_store.read_config(out)
        arch = config.arch
    else:
        arch = arch or ArchitectureConfig(image_size=data.preprocess.image_size)
        if (out / model_store.CONFIG).exists() and ckpt_path.exists():
            raise EngineError(f"{out}: already holds a model being trained; use --resume to continue it or choose another folder")
        config = model_store.ModelConfig(arch, data.preprocess)
    if data.images.shape[1] != arch.image_size:
        raise EngineError(f"images are {data.images.shape[1]}px but the model expects {arch.image_size}px")

    torch.manual_seed(opts.seed)
    model = ConvAutoencoder(arch).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=opts.learning_rate)
    start_epoch = 0
    history: list[dict] = []
    if resume:
        info = _restore_checkpoint(ckpt_path, model, opt, arch)
        start_epoch = int(info["epochs_done"])
        history = list(info.get("history", []))
        saved = info.get("options", {})
        # the seed and split define the run: keep them; the epoch target may grow
        opts.seed = int(saved.get("seed", opts.seed))
        opts.val_count = saved.get("val_count", opts.val_count)
        opts.batch_size = int(saved.get("batch_size", opts.batch_size))

    n = len(data)
    n_train, n_val = split_counts(n, opts.val_count)
    opts.val_count = n_val
    if n_train < 1:
        raise EngineError("need at least 2 images to train (one for validation)")
    images = data.images
    val_images = images[n_train:]
    steps_per_epoch = math.ceil(n_train / opts.batch_size)
    total_steps = steps_per_epoch * max(1, opts.epochs - start_epoch)
    clock = EtaClock(total_steps)
    config.training.update(
        {
            "dataset": str(data.folder),
            "images": n,
            "train_images": n_train,
            "val_images": n_val,
            "val_first_file": data.files[n_train] if n_val else None,
            "options": opts.to_dict(),
            "device": str(device),
            "loss": "mse",
        }
    )
    preview_idx = np.linspace(0, max(0, n_val - 1), num=min(8, n_val)).astype(int) if n_val else np.array([], int)

    step = 0
    for epoch in range(start_epoch, opts.epochs):
        cancel.raise_if_cancelled()
        g = torch.Generator().manual_seed(opts.seed * 100003 + epoch)
        order = torch.randperm(n_train, generator=g).numpy()
        flips = torch.rand(n_train, generator=g).numpy() < 0.5
        model.train()
        t0 = time.perf_counter()
        loss_sum, seen = 0.0, 0
        for b in range(steps_per_epoch):
            cancel.raise_if_cancelled()
            idx = np.sort(order[b * opts.batch_size : (b + 1) * opts.batch_size])
            x = images_to_tensor(images[idx], device)
            if opts.flip:
                f = torch.from_numpy(flips[idx]).to(device)
                x = torch.where(f[:, None, None, None], x.flip(3), x)
            opt.zero_grad(set_to_none=True)
            loss = F.mse_loss(model(x), x)
            loss.backward()
            opt.step()
            loss_sum += float(loss.detach()) * len(idx)
            seen += len(idx)
            step += 1
            progress(
                Progress(
                    "train", step, total_steps, f"epoch {epoch + 1}/{opts.epochs}", epoch=epoch + 1,
                    epochs=opts.epochs, loss=loss_sum / seen, eta_s=clock.eta(step),
                )
            )
        seconds = time.perf_counter() - t0
        val_loss, preview = evaluate_loss(model, val_images, device, preview_idx)
        record = {
            "epoch": epoch + 1,
            "train_loss": loss_sum / seen,
            "val_loss": val_loss,
            "seconds": round(seconds, 3),
            "images_per_s": round(seen / seconds, 1),
        }
        history.append(record)
        config.training["history"] = history
        config.training["epochs_done"] = epoch + 1
        # Model folder first, checkpoint last: both atomic; the checkpoint names the epoch it holds.
        model_store.save_model(out, model, config)
        meta = {"training_state": json.dumps({"epochs_done": epoch + 1, "history": history, "options": opts.to_dict()})}
        model_store.write_safetensors(ckpt_path, _checkpoint_state(model, opt), meta)
        progress(
            Progress(
                "train", step, total_steps, f"epoch {epoch + 1} done", epoch=epoch + 1, epochs=opts.epochs,
                loss=record["train_loss"], val_loss=val_loss, eta_s=clock.eta(step),
                extra={"event": "epoch_end", "history": list(history), "preview": preview},
            )
        )
    return TrainResult(out, len(history), history)


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
