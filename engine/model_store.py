"""The model folder format: ``config.json`` + ``weights.safetensors`` (+ ``latents.npy`` and
``latents_files.txt`` once encoded).

Loading validates everything and refuses anything else with a message naming the file and the
problem: a pickle (never unpickled), a truncated or garbage file, missing or wrongly typed config
keys (every field of config.json and of the checkpoint's metadata is checked by type and range
against the schema below), JSON nested absurdly deep, weights whose names, dtypes or shapes do not
match the config, weights with NaN/Inf, absurd magnitudes or negative batch-norm variances, a network
whose outputs on a tiny probe batch are not finite, latents of the wrong width, with NaN/Inf or beyond
float32's range. Every write is atomic (temp file + rename), and nothing is written that these checks
would refuse to read back (file names with line breaks, NaN weights or latents).
"""
from __future__ import annotations

import json
import math
import os
import struct
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from . import __version__, atomic_io
from .errors import EngineError, ModelFileError
from .image_data import Preprocess
from .model_lock import model_writer

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
#: config.json is 4 levels deep (training.history[i].val_loss); deeper JSON is refused before anything recurses.
MAX_JSON_DEPTH = 32
#: A weight or batch-norm statistic beyond this is damage, not training (the default model's largest is 121).
MAX_WEIGHT_MAGNITUDE = 1e6
#: A z-point coordinate beyond this is damage (the default model's training z-points stay below 33).
LATENT_LIMIT = 1e6
#: Floating dtypes a weights file may hold (converted to float32 when loaded); the only integer tensors
#: are batch norm's ``num_batches_tracked`` counters.
WEIGHT_DTYPES = ("float16", "bfloat16", "float32", "float64")
COUNTER_DTYPES = ("int64", "int32")
MAX_EPOCHS = 1_000_000
SEED_MAX = 2**32 - 1


# --------------------------------------------------------------------------------------------
# a compact declarative schema for the JSON this app reads back (config.json's "training" section,
# the checkpoint's training_state): every field by type and range, one validator; unknown keys are kept
# (a newer app may add facts), known ones must be right. Messages name the field path.


class SchemaError(Exception):
    def __init__(self, path: str, problem: str):
        super().__init__(f"{path} {problem}")
        self.path, self.problem = path, problem


@dataclass(frozen=True)
class Int:
    lo: Optional[int] = 0
    hi: Optional[int] = None
    null: bool = False


@dataclass(frozen=True)
class Num:
    lo: float = 0.0
    hi: float = math.inf
    above_lo: bool = False  # lo itself excluded
    null: bool = False


@dataclass(frozen=True)
class Str:
    max_len: int = 4096
    null: bool = False


@dataclass(frozen=True)
class Bool:
    null: bool = False


@dataclass(frozen=True)
class Obj:
    fields: dict
    required: tuple = ()


@dataclass(frozen=True)
class List:
    item: Any
    max_len: int


def validate(spec, value, path: str) -> None:
    """Check ``value`` against ``spec``; raise SchemaError(path, problem) at the first field that is wrong."""
    if value is None and getattr(spec, "null", False):
        return
    if isinstance(spec, Int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise SchemaError(path, f"must be a whole number, got {_show(value)}")
        if (spec.lo is not None and value < spec.lo) or (spec.hi is not None and value > spec.hi):
            lo = "" if spec.lo is None else f" from {spec.lo:,}"
            hi = "" if spec.hi is None else f" to {spec.hi:,}"
            raise SchemaError(path, f"must be a whole number{lo}{hi}, got {_show(value)}")
    elif isinstance(spec, Num):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SchemaError(path, f"must be a number, got {_show(value)}")
        if not math.isfinite(value):
            raise SchemaError(path, f"must be a finite number, got {value}")
        if value < spec.lo or value > spec.hi or (spec.above_lo and value == spec.lo):
            rel = ">" if spec.above_lo else "≥"
            raise SchemaError(path, f"must be a number {rel} {spec.lo:g}" + (f" and ≤ {spec.hi:g}" if spec.hi < math.inf else "")
                              + f", got {value!r}")
    elif isinstance(spec, Str):
        if not isinstance(value, str):
            raise SchemaError(path, f"must be a string, got {_show(value)}")
        if len(value) > spec.max_len:
            raise SchemaError(path, f"is {len(value):,} characters long (at most {spec.max_len:,})")
    elif isinstance(spec, Bool):
        if not isinstance(value, bool):
            raise SchemaError(path, f"must be true or false, got {_show(value)}")
    elif isinstance(spec, List):
        if not isinstance(value, list):
            raise SchemaError(path, f"must be a list, got {_show(value)}")
        if len(value) > spec.max_len:
            raise SchemaError(path, f"has {len(value):,} entries (at most {spec.max_len:,})")
        for i, v in enumerate(value):
            validate(spec.item, v, f"{path}[{i}]")
    elif isinstance(spec, Obj):
        if not isinstance(value, dict):
            raise SchemaError(path, f"must be an object, got {_show(value)}")
        for key in spec.required:
            if key not in value:
                raise SchemaError(path, f'is missing the key "{key}"')
        for key, sub in spec.fields.items():
            if key in value:
                validate(sub, value[key], f"{path}.{key}")
    else:  # pragma: no cover - a bug in a schema below
        raise TypeError(f"unknown schema node {spec!r}")


def _show(value) -> str:
    """A value for a message: its type for containers, a short repr otherwise."""
    if isinstance(value, (dict, list)):
        return f"a JSON {'object' if isinstance(value, dict) else 'list'}"
    if value is None:
        return "null"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


EPOCH_RECORD = Obj({
    "epoch": Int(1, MAX_EPOCHS), "train_loss": Num(), "val_loss": Num(null=True), "seconds": Num(),
    "images_per_s": Num(),
})
TRAIN_OPTIONS = Obj({
    "epochs": Int(1, MAX_EPOCHS), "batch_size": Int(1, 2**31 - 1), "learning_rate": Num(above_lo=True),
    "seed": Int(0, SEED_MAX), "val_count": Int(0, 2**31 - 1, null=True), "flip": Bool(), "device": Str(200),
    "precision": Str(200), "channels_last": Bool(null=True), "data_on_device": Str(200), "sync_batch_norm": Bool(),
    "compile": Bool(),
})
TRAINING_SECTION = Obj({
    "dataset": Str(), "images": Int(0), "train_images": Int(0), "val_images": Int(0), "val_first_file": Str(null=True),
    "options": TRAIN_OPTIONS, "device": Str(200), "precision": Str(200), "world_size": Int(1, 2**31 - 1),
    "loss": Str(200), "data_pipeline": Str(200), "epochs_done": Int(0, MAX_EPOCHS), "purpose": Str(),
    "history": List(EPOCH_RECORD, MAX_EPOCHS),
})
CHECKPOINT_STATE = Obj({
    "epochs_done": Int(1, MAX_EPOCHS), "history": List(EPOCH_RECORD, MAX_EPOCHS), "options": TRAIN_OPTIONS,
    "grad_scale": Num(above_lo=True, null=True),
}, required=("epochs_done", "history", "options"))


def check_json_tree(value, source: str, where: str = "") -> None:
    """Refuse JSON nested deeper than MAX_JSON_DEPTH or holding a lone UTF-16 surrogate (``"\\ud800"`` parses,
    but cannot be printed or written as UTF-8), iteratively: a hostile file never makes anything recurse."""
    stack = [(value, 1, where)]
    while stack:
        v, depth, path = stack.pop()
        if isinstance(v, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                raise ModelFileError(f"{source}: nested more than {MAX_JSON_DEPTH} levels deep (at {path.lstrip('.') or 'the top'})")
            items = v.items() if isinstance(v, dict) else enumerate(v)
            for k, sub in items:
                if isinstance(k, str) and not _utf8_ok(k):
                    raise ModelFileError(f"{source}: a key in {path.lstrip('.') or 'the top level'} holds a lone UTF-16 surrogate (not text)")
                stack.append((sub, depth + 1, f"{path}.{k}" if isinstance(k, str) else f"{path}[{k}]"))
        elif isinstance(v, str) and not _utf8_ok(v):
            raise ModelFileError(f"{source}: {path.lstrip('.') or 'the value'} holds a lone UTF-16 surrogate (not text)")


def _utf8_ok(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def parse_json(data: bytes | str, source: str):
    """``json.loads`` for untrusted bytes: RecursionError (absurd nesting) becomes a ModelFileError naming
    ``source``, deep or non-text values are refused; ValueError / UnicodeDecodeError pass to the caller."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise ModelFileError(f"{source}: nested far too deeply (at most {MAX_JSON_DEPTH} levels)") from None
    check_json_tree(value, source)
    return value


@dataclass(frozen=True)
class EpochRecord:
    epoch: int
    train_loss: Optional[float]
    val_loss: Optional[float]


@dataclass(frozen=True)
class TrainingFacts:
    """A typed view of config.json's "training" section (every field optional: a model may lack them)."""

    present: bool
    epochs_done: Optional[int] = None
    images: Optional[int] = None
    train_images: Optional[int] = None
    val_images: Optional[int] = None
    history: tuple = ()  # EpochRecord per epoch

    @property
    def last(self) -> Optional[EpochRecord]:
        return self.history[-1] if self.history else None

    def summary(self) -> str:
        """One line: ``30 epochs on 8500 images (+500 held out); train MSE 0.01000, val MSE 0.01100``."""
        def n(v):
            return "?" if v is None else f"{v}"

        def mse(v):
            return "—" if v is None else f"{v:.5f}"

        last = self.last
        return (f"{n(self.epochs_done)} epochs on {n(self.train_images)} images (+{n(self.val_images)} held out); "
                f"train MSE {mse(last.train_loss if last else None)}, val MSE {mse(last.val_loss if last else None)}")


def training_facts(training) -> TrainingFacts:
    """The typed view of a "training" dict; fields of the wrong type are left out (never a crash)."""
    if not isinstance(training, dict) or not training:
        return TrainingFacts(False)

    def num(spec, v):
        try:
            validate(spec, v, "")
        except SchemaError:
            return None
        return v

    hist = training.get("history")
    records = []
    if isinstance(hist, list):
        for i, h in enumerate(hist):
            if isinstance(h, dict):
                ep = num(Int(1, MAX_EPOCHS), h.get("epoch"))
                records.append(EpochRecord(i + 1 if ep is None else ep, num(Num(), h.get("train_loss")),
                                           num(Num(), h.get("val_loss"))))
    return TrainingFacts(True, num(Int(0, MAX_EPOCHS), training.get("epochs_done")), num(Int(0), training.get("images")),
                         num(Int(0), training.get("train_images")), num(Int(0), training.get("val_images")), tuple(records))


def new_model_id() -> str:
    return uuid.uuid4().hex[:16]


@dataclass
class ModelConfig:
    """Everything in ``config.json``: architecture, preprocessing and training facts."""

    arch: "object"  # engine.architecture.ArchitectureConfig
    preprocess: Preprocess
    model_id: str = field(default_factory=new_model_id)
    training: dict = field(default_factory=dict)
    app_version: str = __version__
    weights_dtype: str = "float32"

    @property
    def facts(self) -> TrainingFacts:
        """The training facts, typed (what ``info`` and the Model & data panel show)."""
        return training_facts(self.training)

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
        from .architecture import ArchitectureConfig

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
        check_json_tree(d, source)  # from_dict may be given a dict that never went through parse_json
        model_id = d["model_id"]
        if not 1 <= len(model_id) <= 128 or not model_id.isprintable():
            raise ModelFileError(f"{source}: model_id must be 1 to 128 printable characters, got {_show(model_id)}")
        for key, spec in (("app_version", Str(200)), ("weights_dtype", Str(200))):
            try:
                validate(spec, d.get(key, ""), key)
            except SchemaError as exc:
                raise ModelFileError(f"{source}: {exc}") from None
        weights_dtype = d.get("weights_dtype", "float32")
        if weights_dtype not in WEIGHT_DTYPES:
            raise ModelFileError(f"{source}: weights_dtype must be one of {', '.join(WEIGHT_DTYPES)}, got {_show(weights_dtype)}")
        slope = d["architecture"].get("leaky_slope", 0.2)
        if isinstance(slope, bool) or not isinstance(slope, (int, float)) or not 0 <= slope < 1:
            raise ModelFileError(f"{source}: architecture.leaky_slope must be a number in [0, 1), got {slope!r}")
        try:
            arch = ArchitectureConfig.from_dict(d["architecture"])
        except EngineError as exc:
            raise ModelFileError(f"{source}: {exc}") from None
        except (TypeError, ValueError, OverflowError) as exc:
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
        try:
            validate(TRAINING_SECTION, training, "training")
        except SchemaError as exc:
            raise ModelFileError(f"{source}: {exc}") from None
        return cls(arch, pre, model_id, training, str(d.get("app_version", "?")), weights_dtype)


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


# --------------------------------------------------------------------------------------------
# model folders


def read_config_json(folder: Path):
    """The parsed ``config.json`` of a model folder, whatever its format: a regular file of sane size (a FIFO
    or a device never blocks), valid UTF-8 JSON of sane depth; otherwise a ModelFileError naming the file."""
    from .image_data import read_regular_file

    path = Path(folder) / CONFIG
    if not path.is_file():  # also a FIFO or a device named config.json: never opened
        raise ModelFileError(f"{path}: missing (a model folder holds config.json and its weights)")
    size = path.stat().st_size
    if size > MAX_CONFIG_BYTES:
        raise ModelFileError(f"{path}: {size:,} bytes is far too large for a model config (at most {MAX_CONFIG_BYTES:,})")
    raw = read_regular_file(path, "model config", limit=MAX_CONFIG_BYTES, error=ModelFileError)
    try:
        return parse_json(raw.decode("utf-8"), str(path))
    except UnicodeDecodeError:
        raise ModelFileError(f"{path}: not a text file") from None
    except ValueError as exc:
        raise ModelFileError(f"{path}: not valid JSON ({exc})") from None


def read_config(folder: Path) -> ModelConfig:
    return ModelConfig.from_dict(read_config_json(folder), str(Path(folder) / CONFIG))


def weights_file_limit(arch) -> int:
    """The most bytes a weights.safetensors for ``arch`` can hold: every tensor as float64, plus the largest header."""
    from .architecture import parameter_count

    n = parameter_count(arch.image_size, arch.z_dim, arch.channels, arch.kernel_size, arch.batch_norm)
    return 8 + MAX_SAFETENSORS_HEADER + 8 * (n + 16)  # + the batch-norm counters


def network_key(folder: str | os.PathLike, config: ModelConfig) -> str:
    """The identity of a model folder's network, without torch: sha256 of the weights.safetensors bytes and of
    the canonical JSON of ``config``'s architecture and weights_dtype (64 hex digits). Raises ModelFileError."""
    import hashlib

    from .image_data import read_regular_file

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
    from .autoencoder import expected_tensors

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
    from .autoencoder import probe_outputs

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
    state = check_state_dict(state, config.arch, path)
    model = ConvAutoencoder(config.arch)
    model.load_state_dict(state)
    model.to(torch.device(device)).eval()
    check_model_outputs(model, path)
    return model, config


def names_file_bytes(files) -> bytes:
    """``latents_files.txt``'s bytes: one name a line, "\n"-terminated. A name holding "\n" or "\r" could not be
    read back one-to-one, so it is refused (EngineError naming it); a name that is not valid text (a surrogate
    from a non-UTF-8 file name) is stored with U+FFFD, never as a crash."""
    parts = []
    for i, f in enumerate(files):
        name = os.fspath(f) if isinstance(f, os.PathLike) else f
        if not isinstance(name, str):
            raise EngineError(f"file name #{i} is a {type(name).__name__}, not text")
        if "\n" in name or "\r" in name:
            raise EngineError(f"file name {name!r} (#{i}) holds a line break; {LATENT_FILES} stores one name a line "
                              "and could not be read back — rename the file")
        try:  # a non-UTF-8 file name's bytes (surrogateescape) read back as U+FFFD
            parts.append(name.encode("utf-8", "surrogateescape"))
        except UnicodeEncodeError:  # a lone surrogate that is no such byte
            parts.append(name.encode("utf-8", "replace"))
    return b"".join(p + b"\n" for p in parts)


def read_names_file(path: Path) -> list[str]:
    """The names of ``latents_files.txt``: split on "\n" only (never on U+2028, U+0085, form feeds … that
    ``str.splitlines`` splits on), one trailing "\r" dropped (a file edited on Windows), the final "\n" ending the
    last name, not starting an empty one."""
    from .image_data import read_regular_file

    text = read_regular_file(path, "names file", error=ModelFileError).decode("utf-8", errors="replace")
    names = text.split("\n")
    if names and names[-1] == "":
        names.pop()
    return [n[:-1] if n.endswith("\r") else n for n in names]


def check_latent_values(z: np.ndarray, source) -> None:
    """Refuse rows with NaN/Inf or coordinates beyond ±LATENT_LIMIT (which float32 could not even hold
    past 3.4e38), naming the first such row."""
    if z.size == 0:
        return
    mag = np.abs(z).max(axis=1).astype(np.float64)  # NaN propagates
    bad = ~np.isfinite(mag)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise ModelFileError(f"{source}: {len(rows)} row(s) hold NaN or Inf (first: row {rows[0]}); re-run encode")
    big = mag > LATENT_LIMIT
    if big.any():
        rows = np.flatnonzero(big)
        raise ModelFileError(f"{source}: {len(rows)} row(s) hold values beyond ±{LATENT_LIMIT:g} (first: row {rows[0]}, "
                             f"{float(mag[rows[0]]):.3g}); a z-point is never that large — re-run encode")


def save_latents(folder: str | os.PathLike, latents: np.ndarray, files: list[str], dtype: str = "float32") -> None:
    folder = Path(folder)
    if len(files) != len(latents):
        raise ValueError("one file name per latent row is needed")
    z = np.asarray(latents)
    if z.ndim != 2 or z.dtype.kind != "f":
        raise EngineError(f"latents must be an N×z_dim float array, got shape {list(z.shape)} dtype {z.dtype}")
    check_latent_values(z, folder / LATENTS)  # never write latents that load_latents would refuse
    names = names_file_bytes(files)
    with model_writer(folder, "save z-points"):  # re-entrant for a job (encode) that holds it already
        _write_latents(folder, z, names, dtype)


def _write_latents(folder: Path, z: np.ndarray, names: bytes, dtype: str) -> None:
    atomic_io.remove_stale_temps(folder, (LATENTS, LATENT_FILES))
    # both files land together or not at all (a full disk never pairs new names with old z-points)
    with atomic_io.atomic_paths(folder / LATENTS, folder / LATENT_FILES) as (tmp_z, tmp_names):
        atomic_io.write_into(tmp_z, atomic_io.npy_bytes(np.asarray(z, dtype=dtype)))
        atomic_io.write_into(tmp_names, names)


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
    check_latent_values(z, path)
    fpath = folder / LATENT_FILES
    if fpath.is_file():
        files = read_names_file(fpath)
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
