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

from dataclasses import dataclass, field
from pathlib import Path

from ... import __version__
from ...errors import EngineError, ModelFileError
from ...image_data import Preprocess
from ..card import CONFIG, MAX_CONFIG_BYTES, TrainingFacts, new_model_id, read_config_json, training_facts  # noqa: F401
from ..schema import MAX_EPOCHS, SEED_MAX, TRAINING_SECTION, SchemaError, Str, _show, check_json_tree, validate  # noqa: F401

FORMAT_NAME = "latent-face-studio-model"
FORMAT_VERSION = 1
WEIGHTS = "weights.safetensors"
LATENTS = "latents.npy"
LATENT_FILES = "latents_files.txt"
CHECKPOINT = "checkpoint.safetensors"
LABELS = "labels.csv"
#: The safetensors library refuses headers above 100 MB; so do we, before reading one.
MAX_SAFETENSORS_HEADER = 100_000_000
#: A weight or batch-norm statistic beyond this is damage, not training (the default model's largest is 121).
MAX_WEIGHT_MAGNITUDE = 1e6
#: A z-point coordinate beyond this is damage (the default model's training z-points stay below 33).
LATENT_LIMIT = 1e6
#: Floating dtypes a weights file may hold (converted to float32 when loaded); the only integer tensors
#: are batch norm's ``num_batches_tracked`` counters.
WEIGHT_DTYPES = ("float16", "bfloat16", "float32", "float64")
COUNTER_DTYPES = ("int64", "int32")


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
        from ...architecture import ArchitectureConfig

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


def read_config(folder: Path) -> ModelConfig:
    return ModelConfig.from_dict(read_config_json(folder), str(Path(folder) / CONFIG))
