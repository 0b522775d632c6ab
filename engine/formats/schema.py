"""A compact declarative schema for the JSON this app reads back (config.json's "training" section, the checkpoint's
training_state, an ONNX model card): every field by type and range, one validator; and ``parse_json`` for untrusted
JSON (absurd nesting, lone surrogates refused). Shared by every model format.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Optional

from ..errors import ModelFileError

#: config.json is 4 levels deep (training.history[i].val_loss); deeper JSON is refused before anything recurses.
MAX_JSON_DEPTH = 32
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
