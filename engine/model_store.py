"""The model folder format: ``config.json`` + ``weights.safetensors`` (+ ``latents.npy`` and
``latents_files.txt`` once encoded).

Loading validates everything and refuses anything else with a message naming the file and the
problem: a pickle (never unpickled), a truncated or garbage file, missing or wrongly typed config
keys, weights whose shapes do not match the config, latents of the wrong width or with NaN/Inf.
Every write is atomic (temp file + rename).
"""
from __future__ import annotations

import json
import os
import struct
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from . import __version__, atomic_io
from .errors import EngineError, ModelFileError
from .image_data import Preprocess

FORMAT_NAME = "latent-face-studio-model"
FORMAT_VERSION = 1
CONFIG = "config.json"
WEIGHTS = "weights.safetensors"
LATENTS = "latents.npy"
LATENT_FILES = "latents_files.txt"
CHECKPOINT = "checkpoint.safetensors"
LABELS = "labels.csv"
#: The safetensors library refuses headers above 100 MB; so do we, before reading one.
MAX_SAFETENSORS_HEADER = 100_000_000
#: A config.json is a few kB (its training history grows ~150 bytes an epoch); anything this large is not one.
MAX_CONFIG_BYTES = 16 * 2**20


def new_model_id() -> str:
    return uuid.uuid4().hex[:16]


@dataclass
class ModelConfig:
    """Everything in ``config.json``: architecture, preprocessing and training facts."""

    arch: "object"  # ArchitectureConfig (imported lazily: torch)
    preprocess: Preprocess
    model_id: str = field(default_factory=new_model_id)
    training: dict = field(default_factory=dict)
    app_version: str = __version__
    weights_dtype: str = "float32"

    def to_dict(self) -> dict:
        return {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "model_id": self.model_id,
            "app_version": self.app_version,
            "architecture": self.arch.to_dict(),
            "preprocess": self.preprocess.to_dict(),
            "weights_dtype": self.weights_dtype,
            "training": self.training,
        }

    @classmethod
    def from_dict(cls, d: dict, source: str = CONFIG) -> "ModelConfig":
        from .autoencoder import ArchitectureConfig

        if not isinstance(d, dict):
            raise ModelFileError(f"{source}: expected a JSON object")
        if d.get("format") != FORMAT_NAME:
            raise ModelFileError(f"{source}: not a Latent Face Studio model config (\"format\" is {d.get('format')!r})")
        if d.get("format_version") != FORMAT_VERSION:
            raise ModelFileError(f"{source}: unsupported format_version {d.get('format_version')!r} (this app reads {FORMAT_VERSION})")
        for key, typ in (("model_id", str), ("architecture", dict), ("preprocess", dict)):
            if key not in d:
                raise ModelFileError(f"{source}: missing key \"{key}\"")
            if not isinstance(d[key], typ):
                raise ModelFileError(f"{source}: \"{key}\" must be a {typ.__name__}, got {type(d[key]).__name__}")
        slope = d["architecture"].get("leaky_slope", 0.2)
        if isinstance(slope, bool) or not isinstance(slope, (int, float)) or not 0 <= slope < 1:
            raise ModelFileError(f"{source}: architecture.leaky_slope must be a number in [0, 1), got {slope!r}")
        try:
            arch = ArchitectureConfig.from_dict(d["architecture"])
        except ModelFileError as exc:
            raise ModelFileError(f"{source}: {exc}") from None
        except (TypeError, ValueError) as exc:
            raise ModelFileError(f"{source}: bad \"architecture\" section ({exc})") from None
        try:
            pre = Preprocess.from_dict(d["preprocess"])
        except (EngineError, KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"{source}: bad \"preprocess\" section ({exc})") from None
        if pre.image_size != arch.image_size:
            raise ModelFileError(
                f"{source}: preprocess.image_size {pre.image_size} differs from architecture.image_size {arch.image_size}"
            )
        training = d.get("training", {})
        if not isinstance(training, dict):
            raise ModelFileError(f"{source}: \"training\" must be an object")
        return cls(arch, pre, d["model_id"], training, str(d.get("app_version", "?")), str(d.get("weights_dtype", "float32")))


# --------------------------------------------------------------------------------------------
# safetensors, validated before it is trusted


def _sniff_foreign(path: Path, head: bytes) -> Optional[str]:
    if head[:2] == b"PK":
        return "a zip archive (a torch.save/pickle checkpoint?)"
    if head[:1] == b"\x80" and len(head) > 1 and head[1] in range(2, 6):
        return "a Python pickle"
    if head[:6] == b"\x93NUMPY":
        return "a NumPy .npy file"
    return None


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
            header = json.loads(fh.read(header_len))
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


# --------------------------------------------------------------------------------------------
# model folders


def read_config(folder: Path) -> ModelConfig:
    path = Path(folder) / CONFIG
    if not path.is_file():
        raise ModelFileError(f"{path}: missing (a model folder holds config.json and weights.safetensors)")
    size = path.stat().st_size
    if size > MAX_CONFIG_BYTES:
        raise ModelFileError(f"{path}: {size:,} bytes is far too large for a model config (at most {MAX_CONFIG_BYTES:,})")
    try:
        raw = json.loads(path.read_text("utf-8"))
    except UnicodeDecodeError:
        raise ModelFileError(f"{path}: not a text file") from None
    except ValueError as exc:
        raise ModelFileError(f"{path}: not valid JSON ({exc})") from None
    return ModelConfig.from_dict(raw, str(path))


def check_state_dict(state: dict, arch, source: Path) -> None:
    """Refuse weights whose names or shapes do not fit ``arch``, explaining the difference."""
    from .autoencoder import expected_shapes

    want = expected_shapes(arch)
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
    for k, shape in want.items():
        got = tuple(state[k].shape)
        if got != shape:
            raise ModelFileError(
                f"{source}: weights do not match config.json: {k} has shape {list(got)} in the file, "
                f"the config (z_dim={arch.z_dim}, image_size={arch.image_size}, channels={list(arch.channels)}) "
                f"needs {list(shape)}"
            )
    for k, v in state.items():
        if v.is_floating_point() and not bool(v.isfinite().all()):
            raise ModelFileError(f"{source}: tensor {k} holds NaN or Inf values")


def save_model(folder: str | os.PathLike, model, config: ModelConfig, dtype: str = "float32") -> Path:
    """Write ``config.json`` and ``weights.safetensors`` atomically (weights first)."""
    import torch

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tdtype = {"float32": torch.float32, "float16": torch.float16}[dtype]
    state = {k: (v.to(tdtype) if v.is_floating_point() else v) for k, v in model.state_dict().items()}
    config.weights_dtype = dtype
    atomic_io.remove_stale_temps(folder, (WEIGHTS, CONFIG, CHECKPOINT))  # left by a killed earlier run
    # both files land together or not at all: a full disk never leaves new weights with an old config
    with atomic_io.atomic_paths(folder / WEIGHTS, folder / CONFIG) as (tmp_weights, tmp_config):
        _save_safetensors(tmp_weights, state, {"model_id": config.model_id, "format": FORMAT_NAME})
        atomic_io.write_into(tmp_config, (json.dumps(config.to_dict(), indent=2) + "\n").encode("utf-8"))
    return folder


def load_model(folder: str | os.PathLike, device: str = "cpu"):
    """Return (model in eval mode, ModelConfig), validated. Raises ModelFileError."""
    import torch

    from .autoencoder import ConvAutoencoder

    folder = Path(folder)
    if not folder.exists():
        raise ModelFileError(f"{folder}: no such model folder")
    if not folder.is_dir():
        raise ModelFileError(f"{folder}: a model is a folder with config.json and weights.safetensors, not a file")
    config = read_config(folder)
    path = folder / WEIGHTS
    state, _ = read_safetensors(path)
    check_state_dict(state, config.arch, path)
    model = ConvAutoencoder(config.arch)
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    model.to(torch.device(device)).eval()
    return model, config


def save_latents(folder: str | os.PathLike, latents: np.ndarray, files: list[str], dtype: str = "float32") -> None:
    folder = Path(folder)
    if len(files) != len(latents):
        raise ValueError("one file name per latent row is needed")
    atomic_io.remove_stale_temps(folder, (LATENTS, LATENT_FILES))
    # both files land together or not at all (a full disk never pairs new names with old z-points)
    with atomic_io.atomic_paths(folder / LATENTS, folder / LATENT_FILES) as (tmp_z, tmp_names):
        atomic_io.write_into(tmp_z, atomic_io.npy_bytes(np.asarray(latents, dtype=dtype)))
        atomic_io.write_into(tmp_names, "".join(f"{f}\n" for f in files).encode("utf-8"))


def load_latents(folder: str | os.PathLike, z_dim: int) -> tuple[np.ndarray, list[str]]:
    """The training z-points (float32, N×z_dim) and their source file names; validated."""
    folder = Path(folder)
    path = folder / LATENTS
    if not path.is_file():
        raise ModelFileError(f"{path}: missing — run `python main.py encode --model {folder} --data DIR` first")
    with open(path, "rb") as fh:
        head = fh.read(16)
    foreign = _sniff_foreign(path, head)
    if foreign and foreign != "a NumPy .npy file":
        raise ModelFileError(f"{path}: this is {foreign}, not a .npy array")
    _check_npy_size(path)
    try:
        z = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise ModelFileError(f"{path}: not a plain numeric .npy array ({exc}); object arrays are never unpickled") from None
    except (OSError, EOFError) as exc:
        raise ModelFileError(f"{path}: truncated or damaged .npy file ({exc})") from None
    if z.dtype not in (np.float16, np.float32, np.float64):
        raise ModelFileError(f"{path}: dtype {z.dtype} is not float16/float32/float64")
    if z.ndim != 2 or z.shape[1] != z_dim:
        raise ModelFileError(f"{path}: shape {list(z.shape)} does not match the model's z_dim {z_dim} (expected N×{z_dim})")
    if len(z) == 0:
        raise ModelFileError(f"{path}: holds no z-points")
    bad = ~np.isfinite(z).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise ModelFileError(f"{path}: {len(rows)} row(s) hold NaN or Inf (first: row {rows[0]}); re-run encode")
    fpath = folder / LATENT_FILES
    if fpath.is_file():
        files = fpath.read_text("utf-8", errors="replace").splitlines()
        if len(files) != len(z):
            raise ModelFileError(f"{fpath}: {len(files)} names for {len(z)} z-points in {LATENTS}; re-run encode")
    else:
        files = [f"#{i}" for i in range(len(z))]
    return z.astype(np.float32, copy=False), files


def _check_npy_size(path: Path) -> None:
    """Refuse a .npy whose header claims more data than the file holds, before allocating it."""
    fmt = np.lib.format
    try:
        with open(path, "rb") as fh:
            version = fmt.read_magic(fh)
            reader = {(1, 0): fmt.read_array_header_1_0, (2, 0): fmt.read_array_header_2_0}.get(version)
            if reader is None:
                return  # np.load gives its own error for other versions
            shape, _, dtype = reader(fh)
            offset = fh.tell()
    except (ValueError, OSError, EOFError, SyntaxError):
        return  # not a readable header: np.load's error names the problem
    if dtype.hasobject:
        raise ModelFileError(f"{path}: holds Python objects (dtype {dtype}); object arrays are never unpickled")
    need = int(np.prod(shape, dtype=object)) * dtype.itemsize
    have = path.stat().st_size - offset
    if need > have:
        raise ModelFileError(f"{path}: truncated (its header claims shape {list(shape)}, {need} bytes of data; the file holds {have})")


@dataclass
class ModelInfo:
    folder: Path
    config: ModelConfig
    n_latents: Optional[int]
    weights_bytes: int


def model_info(folder: str | os.PathLike) -> ModelInfo:
    """Validate a model folder without building the network (config, header, latents width)."""
    folder = Path(folder)
    model, config = load_model(folder)
    n = None
    if (folder / LATENTS).is_file():
        z, _ = load_latents(folder, config.arch.z_dim)
        n = len(z)
    return ModelInfo(folder, config, n, (folder / WEIGHTS).stat().st_size)
