"""What every model folder shares, whatever its format: ``config.json`` (read safely, before its format is known),
the typed view of its "training" section, a new model id, and the sniffing of files that are something else.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..errors import ModelFileError
from .schema import MAX_EPOCHS, Int, Num, SchemaError, parse_json, validate

CONFIG = "config.json"
#: A config.json is a few kB (its training history grows ~150 bytes an epoch); anything this large is not one.
MAX_CONFIG_BYTES = 16 * 2**20


def _sniff_foreign(path: Path, head: bytes) -> Optional[str]:
    if head[:2] == b"PK":
        return "a zip archive (a torch.save/pickle checkpoint?)"
    if head[:1] == b"\x80" and len(head) > 1 and head[1] in range(2, 6):
        return "a Python pickle"
    if head[:6] == b"\x93NUMPY":
        return "a NumPy .npy file"
    return None


def read_config_json(folder: Path):
    """The parsed ``config.json`` of a model folder, whatever its format: a regular file of sane size (a FIFO
    or a device never blocks), valid UTF-8 JSON of sane depth; otherwise a ModelFileError naming the file."""
    from ..image_data import read_regular_file

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
