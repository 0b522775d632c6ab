"""The native format's weights: ``weights.safetensors``, validated before it is trusted (never a pickle; names, dtypes,
shapes and values checked against config.json; a probe batch through the network), the network's identity
(``network_key``), and saving and loading a model (atomically, under the model folder's writer lock).
"""
from __future__ import annotations

import json
import math
import os
import struct
from pathlib import Path
from typing import Optional

from ... import atomic_io
from ...errors import ModelFileError, import_extra
from ...model_lock import model_writer
from ..card import _sniff_foreign
from ..schema import parse_json
from .config import (CHECKPOINT, CONFIG, COUNTER_DTYPES, FORMAT_NAME, MAX_SAFETENSORS_HEADER, MAX_WEIGHT_MAGNITUDE,
                     WEIGHT_DTYPES, WEIGHTS, ModelConfig, read_config)


def read_safetensors(path: Path) -> tuple[dict, dict]:
    """Load tensors (as torch) and the metadata dict, refusing non-safetensors files."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: file not found")
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(16)
    foreign = _sniff_foreign(path, head)
    if foreign:
        raise ModelFileError(
            f"{path}: this is {foreign}, not safetensors; Latent Face Studio never unpickles files — "
            "convert the weights with safetensors.torch.save_file"
        )
    if size < 8:
        raise ModelFileError(f"{path}: truncated file ({size} bytes)")
    (header_len,) = struct.unpack("<Q", head[:8])
    if header_len <= 0 or 8 + header_len > size:
        raise ModelFileError(f"{path}: truncated or not a safetensors file (header says {header_len} bytes, file has {size})")
    if header_len > MAX_SAFETENSORS_HEADER:
        raise ModelFileError(f"{path}: not a safetensors file (a {header_len}-byte header is beyond the format's limit)")
    try:
        with open(path, "rb") as fh:
            fh.seek(8)
            header = parse_json(fh.read(header_len), f"{path}: safetensors header")
    except (ValueError, UnicodeDecodeError):
        raise ModelFileError(f"{path}: not a safetensors file (header is not JSON)") from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{path}: damaged safetensors header (a JSON {type(header).__name__}, not an object)")
    end = 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            end = max(end, int(info["data_offsets"][1]))
        except (KeyError, TypeError, ValueError, IndexError):
            raise ModelFileError(f"{path}: damaged safetensors header (tensor {name!r})") from None
    if 8 + header_len + end > size:
        raise ModelFileError(f"{path}: truncated file ({size} bytes, tensors need {8 + header_len + end})")
    try:
        tensors = {}
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            for k in f.keys():
                tensors[k] = f.get_tensor(k)
    except Exception as exc:  # noqa: BLE001 - the library's message is passed on
        raise ModelFileError(f"{path}: cannot read safetensors ({exc})") from None
    return tensors, meta


def write_safetensors(path: Path, tensors: dict, metadata: Optional[dict] = None) -> None:
    with atomic_io.atomic_path(path) as tmp:
        _save_safetensors(tmp, tensors, metadata)


def _save_safetensors(tmp: Path, tensors: dict, metadata: Optional[dict]) -> None:
    from safetensors.torch import save_file

    clean = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    try:
        save_file(clean, str(tmp), metadata=metadata)
    except OSError:
        raise
    except Exception as exc:  # noqa: BLE001 - safetensors reports I/O errors (a full disk) as its own type
        import re

        m = re.search(r"os error (\d+)", str(exc))
        if m is None:
            raise
        code = int(m.group(1))
        raise OSError(code, os.strerror(code), str(atomic_io.target_of(Path(tmp)))) from exc


def weights_file_limit(arch) -> int:
    """The most bytes a weights.safetensors for ``arch`` can hold: every tensor as float64, plus the largest header."""
    from ...architecture import parameter_count

    n = parameter_count(arch.image_size, arch.z_dim, arch.channels, arch.kernel_size, arch.batch_norm)
    return 8 + MAX_SAFETENSORS_HEADER + 8 * (n + 16)  # + the batch-norm counters


def network_key(folder: str | os.PathLike, config: ModelConfig) -> str:
    """The identity of a model folder's network, without torch: sha256 of the weights.safetensors bytes and of
    the canonical JSON of ``config``'s architecture and weights_dtype (64 hex digits). Raises ModelFileError."""
    import hashlib

    from ...image_data import read_regular_file

    data = read_regular_file(Path(folder) / WEIGHTS, "weights file", limit=weights_file_limit(config.arch),
                             error=ModelFileError)
    network = json.dumps({"architecture": config.arch.to_dict(), "weights_dtype": config.weights_dtype},
                         sort_keys=True, separators=(",", ":"))
    h = hashlib.sha256(b"latent-face-studio network key 1\0")
    h.update(hashlib.sha256(data).hexdigest().encode("ascii") + b"\0" + network.encode("utf-8"))
    return h.hexdigest()


def check_state_dict(state: dict, arch, source: Path) -> dict:
    """Refuse weights whose names, dtypes, shapes or values do not fit ``arch``, explaining the difference;
    return the state as float32 (integer counters as they are), ready for ``load_state_dict``."""
    from ...autoencoder import expected_tensors

    kinds = expected_tensors(arch)
    want = {k: shape for k, (shape, _) in kinds.items()}
    missing = sorted(set(want) - set(state))
    extra = sorted(set(state) - set(want))
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} tensor(s) e.g. {missing[0]}")
        if extra:
            parts.append(f"unexpected {len(extra)} tensor(s) e.g. {extra[0]}")
        hint = " (batch_norm in config.json differs from the weights?)" if any("running" in k for k in missing + extra) else ""
        raise ModelFileError(f"{source}: weights do not match config.json: {'; '.join(parts)}{hint}")
    for k, (_, floating) in kinds.items():
        dt = str(state[k].dtype).replace("torch.", "")
        allowed = WEIGHT_DTYPES if floating else COUNTER_DTYPES
        if dt not in allowed:
            kind = "a weight" if floating else "a batch-norm counter"
            raise ModelFileError(f"{source}: tensor {k} has dtype {dt}; {kind} must be {'/'.join(allowed)}")
    for k, shape in want.items():
        got = tuple(state[k].shape)
        if got != shape:
            raise ModelFileError(
                f"{source}: weights do not match config.json: {k} has shape {list(got)} in the file, "
                f"the config (z_dim={arch.z_dim}, image_size={arch.image_size}, channels={list(arch.channels)}) "
                f"needs {list(shape)}"
            )
    return check_weight_values(state, source)


def check_weight_values(state: dict, source) -> dict:
    """Refuse NaN/Inf (also after the float32 cast: float64 1e300 overflows), magnitudes beyond
    MAX_WEIGHT_MAGNITUDE, negative batch-norm variances or counters; return the state as float32."""
    import torch

    out = {}
    for k, v in state.items():
        if not v.is_floating_point():
            if v.numel() and int(v.min()) < 0:
                raise ModelFileError(f"{source}: tensor {k} holds a negative count ({int(v.min())})")
            out[k] = v
            continue
        f = v if v.dtype == torch.float32 else v.float()
        if f.numel():
            exact = v if v.dtype == torch.float64 else f  # float64 is judged before its float32 cast overflows
            lo, hi = (float(t) for t in torch.aminmax(exact))  # NaN propagates into both
            if not (math.isfinite(lo) and math.isfinite(hi)):
                raise ModelFileError(f"{source}: tensor {k} holds NaN or Inf values")
            big = max(-lo, hi)
            if big > MAX_WEIGHT_MAGNITUDE:
                raise ModelFileError(f"{source}: tensor {k} holds values up to {big:.3g}; a trained network's stay far "
                                     f"below {MAX_WEIGHT_MAGNITUDE:g} (damaged or scaled weights)")
            if k.endswith("running_var") and lo < 0:
                raise ModelFileError(f"{source}: tensor {k} holds a negative variance ({lo:.3g}); a batch-norm "
                                     "running variance is never below 0")
        out[k] = f
    return out


def check_model_outputs(model, source) -> None:
    """Refuse a network whose outputs on a tiny fixed probe batch are NaN/Inf or absurd (a few ms)."""
    from ...autoencoder import probe_outputs

    problem = probe_outputs(model)
    if problem:
        raise ModelFileError(f"{source}: the network is damaged: {problem}")


def save_model(folder: str | os.PathLike, model, config: ModelConfig, dtype: str = "float32") -> Path:
    """Write ``config.json`` and ``weights.safetensors`` atomically (weights first)."""
    import torch

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tdtype = {"float32": torch.float32, "float16": torch.float16}[dtype]
    state = {k: (v.to(tdtype) if v.is_floating_point() else v) for k, v in model.state_dict().items()}
    # never write a model that load_model would refuse (NaN weights, float16 overflow, …)
    check_weight_values(state, folder / WEIGHTS)
    config.weights_dtype = dtype
    with model_writer(folder, "save the model"):  # re-entrant for a job (train) that holds it already
        _write_model(folder, state, config)
    return folder


def _write_model(folder: Path, state: dict, config: ModelConfig) -> None:
    atomic_io.remove_stale_temps(folder, (WEIGHTS, CONFIG, CHECKPOINT))  # left by a killed earlier run
    # both files land together or not at all: a full disk never leaves new weights with an old config
    with atomic_io.atomic_paths(folder / WEIGHTS, folder / CONFIG) as (tmp_weights, tmp_config):
        _save_safetensors(tmp_weights, state, {"model_id": config.model_id, "format": FORMAT_NAME})
        atomic_io.write_into(tmp_config, (json.dumps(config.to_dict(), indent=2) + "\n").encode("utf-8"))


def load_model(folder: str | os.PathLike, device: str = "cpu"):
    """Return (model in eval mode, ModelConfig), validated. Raises ModelFileError (MissingExtra without torch)."""
    torch = import_extra("torch", feature="opening a model without its checked ONNX export")

    from ...autoencoder import ConvAutoencoder

    folder = Path(folder)
    if not folder.exists():
        raise ModelFileError(f"{folder}: no such model folder")
    if not folder.is_dir():
        raise ModelFileError(f"{folder}: a model is a folder with config.json and weights.safetensors, not a file")
    config = read_config(folder)
    path = folder / WEIGHTS
    state, _ = read_safetensors(path)
    state = check_state_dict(state, config.arch, path)
    model = ConvAutoencoder(config.arch)
    model.load_state_dict(state)
    model.to(torch.device(device)).eval()
    check_model_outputs(model, path)
    return model, config
