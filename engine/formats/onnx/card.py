"""An ONNX autoencoder as a model folder: ``config.json`` (the model card) + ``encoder.onnx`` + ``decoder.onnx``.

Any architecture works: the two graphs run in ONNX Runtime (CPU). The card says what the graphs cannot:

* ``image_size``, ``z_dim`` — read from the graphs' shapes at import, checked against them at open;
* ``channel_order`` — ``"nchw"`` or ``"nhwc"``: the layout of the encoder's input and the decoder's output;
* ``value_range`` — ``[0, 1]``, ``[-1, 1]`` or ``[0, 255]``: the pixel values the encoder takes and the decoder
  gives (uint8 faces are mapped onto it linearly, decoded values are mapped back, clipped and rounded);
* ``preprocess`` — how faces are framed before encoding (``image_data.Preprocess``: a crop box in reference
  pixels); without one the whole image is resized (no crop);
* ``source`` — where the model came from (free text fields); ``files`` — each file's size and sha256.

Opening validates everything before it is used (like the native format): the config by a declarative
schema, each .onnx file as a regular, size-capped file whose sha256 matches the card, one input and one output
per graph with shapes that fit the card, then ``safety``'s gate (self-contained, no control flow, bounded
nodes and memory) before ONNX Runtime loads it; then a probe batch, every run under a time budget, must give
finite outputs. A batch dimension fixed in the graph (1, or any k) still works: batches are cut (and padded)
to it. Nothing from a file is executed but the ONNX graph itself, by ONNX Runtime's own operators.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ... import __version__
from ...errors import EngineError, ModelFileError
from ...image_data import Preprocess
from ..card import CONFIG, read_config_json, training_facts
from ..schema import Int, List, Num, Obj, SchemaError, Str, check_json_tree, validate

FORMAT_NAME = "onnx-autoencoder"
FORMAT_VERSION = 1
ENCODER = "encoder.onnx"
DECODER = "decoder.onnx"
#: One graph file: 1 GiB = the 250 M float32 parameters the native format allows (``architecture.MAX_PARAMETERS``);
#: ours are a few MB. Checking and loading one holds it about three times (bytes, parsed, ONNX Runtime's copy).
MAX_ONNX_BYTES = 2**30
CHANNEL_ORDERS = ("nchw", "nhwc")
#: The value ranges a card may name, as written on the command line.
VALUE_RANGES = {"0,1": (0.0, 1.0), "-1,1": (-1.0, 1.0), "0,255": (0.0, 255.0)}
MAX_IMAGE_SIZE = 4096
MAX_Z_DIM = 1 << 20
#: |z| beyond this on a probe image is damage (the same bound as the native format's probe).
PROBE_Z_LIMIT = 1e6


def _schema():
    file_entry = Obj({"sha256": Str(64), "bytes": Int(0, MAX_ONNX_BYTES)}, required=("sha256", "bytes"))
    return Obj({
        "format": Str(100), "format_version": Int(1, 1_000), "model_id": Str(128), "app_version": Str(200),
        "image_size": Int(1, MAX_IMAGE_SIZE), "z_dim": Int(1, MAX_Z_DIM), "channel_order": Str(10),
        "value_range": List(Num(lo=-1e6, hi=1e6), 2), "preprocess": Obj({}),
        "source": Obj({}), "files": Obj({ENCODER: file_entry, DECODER: file_entry}, required=(ENCODER, DECODER)),
        "training": Obj({}),
    }, required=("format", "format_version", "model_id", "image_size", "z_dim", "channel_order", "value_range",
                 "preprocess", "files"))


def full_frame(image_size: int) -> Preprocess:
    """No crop: the whole image resized to the model's size (the default framing of an imported model)."""
    return Preprocess(image_size=image_size, reference_size=(image_size, image_size),
                      crop_box=(0, 0, image_size, image_size))


@dataclass(frozen=True)
class OnnxArch:
    """What consumers read as ``config.arch`` (``z_dim``, ``image_size``)."""

    image_size: int
    z_dim: int


@dataclass
class OnnxConfig:
    """config.json of an ONNX model folder: the model card."""

    arch: OnnxArch
    preprocess: Preprocess
    model_id: str
    channel_order: str = "nchw"
    value_range: tuple = (0.0, 1.0)
    source: dict = field(default_factory=dict)
    files: dict = field(default_factory=dict)  # name → {"sha256", "bytes"}
    training: dict = field(default_factory=dict)
    app_version: str = __version__
    weights_dtype: str = "float32"

    @property
    def facts(self):
        return training_facts(self.training)

    def to_dict(self) -> dict:
        d = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "model_id": self.model_id,
             "app_version": self.app_version, "image_size": self.arch.image_size, "z_dim": self.arch.z_dim,
             "channel_order": self.channel_order, "value_range": [float(v) for v in self.value_range],
             "preprocess": self.preprocess.to_dict(), "source": dict(self.source), "files": dict(self.files)}
        if self.training:
            d["training"] = self.training
        return d

    @classmethod
    def from_dict(cls, d, source: str = "config.json") -> "OnnxConfig":
        if not isinstance(d, dict):
            raise ModelFileError(f"{source}: expected a JSON object")
        if d.get("format") != FORMAT_NAME:
            raise ModelFileError(f"{source}: not an ONNX model card (\"format\" is {d.get('format')!r})")
        check_json_tree(d, source)
        try:
            validate(_schema(), d, "config")
        except SchemaError as exc:
            raise ModelFileError(f"{source}: {exc}") from None
        if d["format_version"] != FORMAT_VERSION:
            raise ModelFileError(f"{source}: unsupported format_version {d['format_version']!r} (this app reads {FORMAT_VERSION})")
        model_id = d["model_id"]
        if not 1 <= len(model_id) <= 128 or not model_id.isprintable():
            raise ModelFileError(f"{source}: model_id must be 1 to 128 printable characters")
        order = d["channel_order"]
        if order not in CHANNEL_ORDERS:
            raise ModelFileError(f"{source}: channel_order must be nchw or nhwc, got {order!r}")
        lo, hi = (float(v) for v in d["value_range"]) if len(d["value_range"]) == 2 else (0.0, 0.0)
        if not hi > lo:
            raise ModelFileError(f"{source}: value_range must be [low, high] with low < high, got {d['value_range']}")
        try:
            pre = Preprocess.from_dict(d["preprocess"])
        except (EngineError, TypeError, ValueError) as exc:
            raise ModelFileError(f"{source}: bad \"preprocess\" section ({exc})") from None
        if pre.image_size != d["image_size"]:
            raise ModelFileError(f"{source}: preprocess.image_size {pre.image_size} differs from image_size {d['image_size']}")
        for name, entry in d["files"].items():
            if name in (ENCODER, DECODER) and (len(entry["sha256"]) != 64
                                               or any(c not in "0123456789abcdef" for c in entry["sha256"])):
                raise ModelFileError(f"{source}: files.{name}.sha256 must be 64 lower-case hex digits")
        src = {k: v for k, v in d.get("source", {}).items() if isinstance(v, (str, int, float, bool))}
        return cls(OnnxArch(int(d["image_size"]), int(d["z_dim"])), pre, model_id, order, (lo, hi), src,
                   {k: dict(d["files"][k]) for k in (ENCODER, DECODER)}, dict(d.get("training", {})),
                   str(d.get("app_version", "?")))


# ------------------------------------------------------------------------------------------------


def read_onnx_config(folder: Path) -> OnnxConfig:
    if not Path(folder).is_dir():
        raise ModelFileError(f"{folder}: no such model folder")
    return OnnxConfig.from_dict(read_config_json(folder), str(Path(folder) / CONFIG))
