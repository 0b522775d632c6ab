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
per graph with shapes that fit the card, then ``onnx_safety``'s gate (self-contained, no control flow, bounded
nodes and memory) before ONNX Runtime loads it; then a probe batch, every run under a time budget, must give
finite outputs. A batch dimension fixed in the graph (1, or any k) still works: batches are cut (and padded)
to it. Nothing from a file is executed but the ONNX graph itself, by ONNX Runtime's own operators.
"""
from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from . import __version__, onnx_safety
from .errors import Cancelled, EngineError, ModelFileError
from .image_data import Preprocess
from .model_codec import ModelCodec, register_codec

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
    from .model_store import Int, List, Num, Obj, Str

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
        from .model_store import training_facts

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
        from .model_store import SchemaError, check_json_tree, validate

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
# reading and checking one .onnx file


def read_onnx_bytes(path: Path, what: str) -> bytes:
    """The bytes of a user's .onnx file: a regular file, size-capped, that looks like an ONNX protobuf."""
    from .image_data import read_regular_file
    from .model_store import _sniff_foreign

    data = read_regular_file(path, what, limit=MAX_ONNX_BYTES, error=ModelFileError)
    foreign = _sniff_foreign(Path(path), data[:16])
    if foreign:
        raise ModelFileError(f"{path}: this is {foreign}, not an ONNX model; nothing from it was run")
    if data[:8] == b"\x89HDF\r\n\x1a\n":
        raise ModelFileError(f"{path}: this is an HDF5 (Keras .h5) file, not an ONNX model — import it as Keras")
    if len(data) < 16:
        raise ModelFileError(f"{path}: truncated ({len(data)} bytes): not an ONNX model")
    return data


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def inference_session(data: bytes, path, threads: int = 0, *, ours: bool = False, checked: bool = False):
    """An ONNX Runtime CPU session for the model ``data`` (refused in one line when it cannot be loaded). A user's
    graph first passes ``onnx_safety.check_structure`` (self-contained, bounded, no control flow) unless the caller
    did (``checked``); ``ours``: a graph this app exported itself, known by its sha256 (the fast path's cache), is
    not parsed again with onnx. ONNX Runtime's own log is silenced for every session."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise ModelFileError(f"{path}: ONNX models need the onnxruntime package (pip install onnxruntime)") from None
    onnx_safety.quiet_onnxruntime(ort)
    if not (ours or checked):
        onnx_safety.check_structure(data, path)
    try:
        return ort.InferenceSession(data, sess_options=onnx_safety.session_options(ort, threads),
                                    providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - onnxruntime's own error types; its message is passed on
        text = " ".join(str(exc).split())
        if len(text) > 300:
            text = text[:297] + "…"
        raise ModelFileError(f"{path}: not a usable ONNX model (truncated, damaged or an unsupported operator): {text}") from None


def final_activation_range(data: bytes) -> Optional[tuple[float, float]]:
    """The value range the decoder's last operator implies (Sigmoid → [0, 1], Tanh → [-1, 1]), through
    trailing layout operators; None when the graph does not say."""
    try:
        import onnx

        model = onnx.load_from_string(data)
    except Exception:  # noqa: BLE001
        return None
    g = model.graph
    if len(g.output) != 1:
        return None
    producer = {o: n for n in g.node for o in n.output}
    name = g.output[0].name
    for _ in range(32):
        node = producer.get(name)
        if node is None:
            return None
        if node.op_type in ("Transpose", "Reshape", "Identity", "Flatten", "Squeeze", "Unsqueeze"):
            name = node.input[0]
            continue
        return {"Sigmoid": (0.0, 1.0), "Tanh": (-1.0, 1.0)}.get(node.op_type)
    return None


@dataclass
class GraphShapes:
    """What the two graphs' signatures say: the input layout, image size, z_dim and fixed batch sizes."""

    image_size: Optional[int]
    z_dim: Optional[int]
    channel_order: Optional[str]  # None when the shape does not tell (3×3 images, symbolic dims)
    encoder_batch: Optional[int]  # a fixed batch size, or None when any works
    decoder_batch: Optional[int]
    decoder_z_shape: tuple  # the decoder input's dims after the batch (z_dim,) or (z_dim, 1, 1)


def _dims(shape) -> list:
    return [d if isinstance(d, int) and d > 0 else None for d in shape]


def _one_io(sess, path) -> tuple:
    ins, outs = sess.get_inputs(), sess.get_outputs()
    if len(ins) != 1 or len(outs) != 1:
        raise ModelFileError(f"{path}: the graph has {len(ins)} inputs and {len(outs)} outputs; an encoder or decoder "
                             "has exactly one of each")
    if ins[0].type != "tensor(float)":
        raise ModelFileError(f"{path}: its input {ins[0].name!r} is {ins[0].type}; float32 is needed")
    return ins[0], outs[0]


def image_layout(shape, path, what: str) -> tuple[Optional[str], Optional[int]]:
    """(channel order, image size) from a rank-4 image shape (None where the dims do not tell)."""
    dims = _dims(shape)
    if len(dims) != 4:
        raise ModelFileError(f"{path}: the {what} has shape {list(shape)}; an image batch has 4 dimensions "
                             "(N×3×S×S or N×S×S×3)")
    nchw = dims[1] == 3 and dims[3] != 3
    nhwc = dims[3] == 3 and dims[1] != 3
    if dims[1] == 3 and dims[3] == 3:
        nchw = nhwc = False
        order = None
    elif nchw:
        order = "nchw"
    elif nhwc:
        order = "nhwc"
    elif dims[1] is None and dims[3] is None:
        order = None
    else:
        raise ModelFileError(f"{path}: the {what} has shape {list(shape)}: no dimension of 3 colour channels")
    h, w = (dims[2], dims[3]) if order == "nchw" else (dims[1], dims[2]) if order == "nhwc" else (dims[2], dims[2])
    if h is not None and w is not None and h != w:
        raise ModelFileError(f"{path}: the {what} is {h}×{w}; only square images are supported")
    return order, h


def graph_shapes(enc_sess, dec_sess, enc_path, dec_path) -> GraphShapes:
    ein, eout = _one_io(enc_sess, enc_path)
    din, dout = _one_io(dec_sess, dec_path)
    order, size = image_layout(ein.shape, enc_path, "encoder input")
    dorder, dsize = image_layout(dout.shape, dec_path, "decoder output")
    if order and dorder and order != dorder:
        raise ModelFileError(f"{dec_path}: the decoder gives {dorder.upper()} images, the encoder takes {order.upper()}")
    if size and dsize and size != dsize:
        raise ModelFileError(f"{dec_path}: the decoder gives {dsize}×{dsize} images, the encoder takes {size}×{size}")
    ez = _dims(eout.shape)[1:]
    dz = _dims(din.shape)[1:]
    z_enc = math.prod(ez) if ez and all(ez) else None
    z_dec = math.prod(dz) if dz and all(dz) else None
    if z_enc and z_dec and z_enc != z_dec:
        raise ModelFileError(f"{dec_path}: the decoder takes z-vectors of {z_dec} values ({list(din.shape)}), the encoder "
                             f"gives {z_enc} ({list(eout.shape)}); they are not two halves of one autoencoder")

    def fixed(shape):
        d = _dims(shape)
        return d[0] if d else None

    return GraphShapes(size or dsize, z_enc or z_dec, order or dorder, fixed(ein.shape), fixed(din.shape),
                       tuple(dz) if dz and all(dz) else ())


# ------------------------------------------------------------------------------------------------
# the codec


class OnnxAutoencoderCodec(ModelCodec):
    """An encoder.onnx + decoder.onnx pair run with ONNX Runtime on the CPU."""

    format_name = FORMAT_NAME

    def __init__(self, config: OnnxConfig, enc_sess, dec_sess, shapes: GraphShapes, folder: Optional[Path] = None):
        super().__init__(config, folder)
        self.enc_sess, self.dec_sess, self.shapes = enc_sess, dec_sess, shapes
        self._ein = enc_sess.get_inputs()[0].name
        self._din = dec_sess.get_inputs()[0].name
        self._run_opts = onnx_safety.run_options()
        self._guard = None  # (where, cancel) while the probe runs: every run watched (onnx_safety.guarded_run)

    @classmethod
    def open(cls, folder: Path, device: str = "cpu", cancel=None) -> "OnnxAutoencoderCodec":
        folder = Path(folder)
        config = read_onnx_config(folder)
        blobs = {}
        for name in (ENCODER, DECODER):
            path = folder / name
            data = read_onnx_bytes(path, "ONNX model")
            want = config.files[name]
            if len(data) != want["bytes"] or sha256(data) != want["sha256"]:
                raise ModelFileError(f"{path}: its checksum differs from config.json's (files.{name}.sha256): the file "
                                     "was changed or damaged after import")
            blobs[name] = data
        return cls.from_bytes(config, blobs[ENCODER], blobs[DECODER], folder, cancel=cancel)

    @classmethod
    def from_bytes(cls, config: OnnxConfig, enc: bytes, dec: bytes, folder: Optional[Path] = None,
                   where: Optional[Path] = None, cancel=None, paths: Optional[tuple] = None) -> "OnnxAutoencoderCodec":
        """A codec on two graphs in memory: read, checked against the card and bounded in memory
        (``onnx_safety``) before ONNX Runtime loads them, then probed with every run watched (time, ``cancel``).
        ``paths``: the files the graphs came from, as messages name them (default: ``where``'s)."""
        where = Path(where or folder or ".")
        enc_path, dec_path = paths or (where / ENCODER, where / DECODER)
        em, dm = onnx_safety.check_structure(enc, enc_path), onnx_safety.check_structure(dec, dec_path)
        shapes = graph_shapes(onnx_safety.Signature(em), onnx_safety.Signature(dm), enc_path, dec_path)
        cls._check_card(config, shapes, enc_path)
        s = config.arch.image_size
        onnx_safety.check_memory(em, enc_path, (3, s, s) if config.channel_order == "nchw" else (s, s, 3),
                                 onnx_safety.batches(shapes.encoder_batch))
        onnx_safety.check_memory(dm, dec_path, shapes.decoder_z_shape or (config.arch.z_dim,),
                                 onnx_safety.batches(shapes.decoder_batch))
        del em, dm
        es, ds = inference_session(enc, enc_path, checked=True), inference_session(dec, dec_path, checked=True)
        codec = cls(config, es, ds, graph_shapes(es, ds, enc_path, dec_path), folder)
        codec._paths = (enc_path, dec_path)  # what a refused probe run names
        codec.probe(where, cancel)
        return codec

    @staticmethod
    def _check_card(config: OnnxConfig, shapes: GraphShapes, enc_path) -> None:
        a = config.arch
        if shapes.image_size and shapes.image_size != a.image_size:
            raise ModelFileError(f"{enc_path}: the graph takes {shapes.image_size}×{shapes.image_size} images; "
                                 f"the card says image_size {a.image_size}")
        if shapes.z_dim and shapes.z_dim != a.z_dim:
            raise ModelFileError(f"{enc_path}: the graph's z has {shapes.z_dim} values; the card says z_dim {a.z_dim}")
        if shapes.channel_order and shapes.channel_order != config.channel_order:
            raise ModelFileError(f"{enc_path}: the graph takes {shapes.channel_order.upper()} images; the card says "
                                 f"{config.channel_order.upper()}")

    # ---- facts ---------------------------------------------------------------------------------
    @property
    def device(self) -> str:
        return "onnxruntime cpu"

    def describe(self) -> list[tuple[str, str]]:
        c = self.config
        lo, hi = c.value_range
        rows = [("format", "ONNX encoder + decoder (ONNX Runtime)"), ("image", self._image_row()),
                ("z_dim", str(self.z_dim)),
                ("network", f"input {c.channel_order.upper()}, values [{lo:g}, {hi:g}]"
                            + (f", batch fixed at {self.shapes.encoder_batch}" if self.shapes.encoder_batch else ""))]
        src = c.source
        if src:
            rows.append(("source", "; ".join(f"{k} {v}" for k, v in src.items())[:400]))
        rows.append(("runs on", self.device))
        return rows

    def weights_identity(self, folder=None) -> list:
        return [self.config.files[ENCODER]["sha256"], self.config.files[DECODER]["sha256"]]

    # ---- batches -------------------------------------------------------------------------------
    def to_model_values(self, images: np.ndarray) -> np.ndarray:
        """B×S×S×3 uint8 → the encoder's input (layout and value range of the card), float32."""
        lo, hi = self.config.value_range
        x = np.asarray(images, dtype=np.float32) * np.float32((hi - lo) / 255.0)
        if lo:
            x += np.float32(lo)
        if self.config.channel_order == "nchw":
            x = x.transpose(0, 3, 1, 2)
        return np.ascontiguousarray(x)

    def from_model_values(self, y: np.ndarray) -> np.ndarray:
        """The decoder's output → B×S×S×3 uint8 (as the native codec rounds: clip to [0, 1], ×255 + 0.5, truncate)."""
        lo, hi = self.config.value_range
        y = np.asarray(y, dtype=np.float32)
        if self.config.channel_order == "nchw":
            y = y.transpose(0, 2, 3, 1)
        f = (y - np.float32(lo)) * np.float32(1.0 / (hi - lo))
        return (np.clip(f, 0.0, 1.0) * np.float32(255.0) + np.float32(0.5)).astype(np.uint8)

    def _call(self, sess, name, x: np.ndarray) -> np.ndarray:
        if self._guard is not None:
            where = getattr(self, "_paths", (self._guard[0],) * 2)[0 if sess is self.enc_sess else 1]
            return onnx_safety.guarded_run(sess, {name: x}, where, cancel=self._guard[1],
                                           memory=onnx_safety.probe_memory_cap(len(x)))[0]
        return sess.run(None, {name: x}, self._run_opts)[0]

    def _run(self, sess, name, x: np.ndarray, fixed: Optional[int]) -> np.ndarray:
        if not fixed:
            return self._call(sess, name, x)
        parts = []
        for i in range(0, len(x), fixed):
            chunk = x[i : i + fixed]
            n = len(chunk)
            if n < fixed:  # pad the last chunk to the graph's batch size
                chunk = np.concatenate([chunk, np.repeat(chunk[-1:], fixed - n, axis=0)])
            parts.append(self._call(sess, name, chunk)[:n])
        return np.concatenate(parts) if parts else np.empty((0,), np.float32)

    def encode_raw(self, x: np.ndarray) -> np.ndarray:
        z = self._run(self.enc_sess, self._ein, x, self.shapes.encoder_batch)
        return np.asarray(z, dtype=np.float32).reshape(len(x), -1)

    def decode_raw(self, z: np.ndarray) -> np.ndarray:
        z = np.ascontiguousarray(z, dtype=np.float32)
        if self.shapes.decoder_z_shape and len(self.shapes.decoder_z_shape) > 1:
            z = z.reshape((len(z),) + tuple(self.shapes.decoder_z_shape))
        return self._run(self.dec_sess, self._din, z, self.shapes.decoder_batch)

    def encode_batch(self, images: np.ndarray) -> np.ndarray:
        if len(images) == 0:
            return np.empty((0, self.z_dim), np.float32)
        z = self.encode_raw(self.to_model_values(images))
        if z.shape[1] != self.z_dim:
            raise ModelFileError(f"{self.folder}: the encoder gave z-vectors of {z.shape[1]} values; the card says z_dim {self.z_dim}")
        return z

    def decode_batch(self, z: np.ndarray) -> np.ndarray:
        s = self.image_size
        if len(z) == 0:
            return np.empty((0, s, s, 3), np.uint8)
        y = self.decode_raw(z)
        want = (len(z), 3, s, s) if self.config.channel_order == "nchw" else (len(z), s, s, 3)
        if tuple(y.shape) != want:
            raise ModelFileError(f"{self.folder}: the decoder gave images of shape {list(y.shape)}; the card needs {list(want)}")
        return self.from_model_values(y)

    def probe(self, where, cancel=None) -> None:
        """Refuse graphs whose outputs on a fixed probe batch are NaN/Inf, absurd or of the wrong shape; every run is
        watched (``onnx_safety.guarded_run``: the time budget, ``cancel``)."""
        self._guard = (where, cancel)
        try:
            self._probe(where)
        finally:
            self._guard = None

    def _probe(self, where) -> None:
        s = self.image_size
        rng = np.random.default_rng(20240601)
        imgs = np.stack([np.full((s, s, 3), 128, np.uint8), rng.integers(0, 256, (s, s, 3), dtype=np.uint8)])
        try:
            z = self.encode_raw(self.to_model_values(imgs))
            if z.shape != (2, self.z_dim):
                raise ModelFileError(f"{where}: the encoder gives z of shape {list(z.shape)}; the card says z_dim {self.z_dim}")
            if not np.isfinite(z).all():
                raise ModelFileError(f"{where}: the network is damaged: encoding a probe image gives NaN or Inf")
            if np.abs(z).max() > PROBE_Z_LIMIT:
                raise ModelFileError(f"{where}: the network is damaged: encoding a probe image gives |z| up to "
                                     f"{float(np.abs(z).max()):.3g}")
            zz = np.concatenate([z[:1], rng.standard_normal((1, self.z_dim)).astype(np.float32)])
            y = self.decode_raw(zz)
        except (ModelFileError, Cancelled):
            raise
        except Exception as exc:  # noqa: BLE001 - onnxruntime's run errors (a shape the graph cannot take)
            text = " ".join(str(exc).split())[:300]
            raise ModelFileError(f"{where}: the graphs cannot run on a probe batch of {s}×{s} faces: {text}") from None
        want = (2, 3, s, s) if self.config.channel_order == "nchw" else (2, s, s, 3)
        if tuple(y.shape) != want:
            raise ModelFileError(f"{where}: the decoder gives images of shape {list(y.shape)}; the card needs {list(want)}")
        if not np.isfinite(y).all():
            raise ModelFileError(f"{where}: the network is damaged: decoding a probe z-vector gives NaN or Inf")


def read_onnx_config(folder: Path) -> OnnxConfig:
    from .model_store import CONFIG, read_config_json

    if not Path(folder).is_dir():
        raise ModelFileError(f"{folder}: no such model folder")
    return OnnxConfig.from_dict(read_config_json(folder), str(Path(folder) / CONFIG))


register_codec(OnnxAutoencoderCodec)

__all__ = ["OnnxAutoencoderCodec", "OnnxConfig", "OnnxArch", "FORMAT_NAME", "ENCODER", "DECODER", "full_frame",
           "read_onnx_bytes", "inference_session", "graph_shapes", "final_activation_range", "VALUE_RANGES",
           "CHANNEL_ORDERS", "sha256"]


# ------------------------------------------------------------------------------------------------
# the fast path of the native format: its network exported once to ONNX, run by ONNX Runtime

#: Set to "0" to keep the native format on torch (the fast path is on by default where onnxruntime is installed).
FAST_PATH_ENV = "LFS_ONNX_RUNTIME"
#: Largest |difference| from torch on the check batch for the fast path to be used.
FAST_PATH_TOLERANCE = 1e-4
#: The marker in a fast path's cache folder: its two graphs were checked against torch for the network of a key.
VERIFIED = "verified.json"
VERIFIED_VERSION = 2  # 2: sealed with the installation key (engine/fast_path_seal.py)
#: A marker is a few hundred bytes; anything this large is not one.
MAX_VERIFIED_BYTES = 64 * 1024


class FastPath:
    """ONNX Runtime sessions for a native ConvAutoencoder (CPU, eval mode): exported once into the user's cache
    folder (``<cache>/onnx/<model_id>-<key>/``), checked against torch on a probe batch before use."""

    def __init__(self, enc_sess, dec_sess):
        self.enc, self.dec = enc_sess, dec_sess

    def encode(self, x: np.ndarray) -> np.ndarray:
        return self.enc.run(None, {"image": np.ascontiguousarray(x, dtype=np.float32)})[0]

    def decode(self, z: np.ndarray) -> np.ndarray:
        return self.dec.run(None, {"z": np.ascontiguousarray(z, dtype=np.float32)})[0]


def fast_path_enabled() -> bool:
    """False when LFS_ONNX_RUNTIME=0 keeps the native format on torch."""
    return os.environ.get(FAST_PATH_ENV, "1") != "0"


def weights_hash(module) -> str:
    h = hashlib.sha256()
    for k, v in module.state_dict().items():
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:24]


def fast_cache_folder(model_id: str, key: str) -> Path:
    """The cache folder of one network's fast path: ``<cache>/onnx/<model id>-<key>``."""
    from .image_data import default_cache_dir

    return default_cache_dir("onnx") / f"{''.join(c for c in model_id if c.isalnum())[:32] or 'model'}-{key[:24]}"


#: Fast-path folders kept per model id (a model resumed or retrained in place gets a new key, and a folder of ~14 MB
#: for the default model, each time it is opened): the newest ones, the one just written among them.
FAST_CACHE_KEEP = 3
#: The files a fast-path cache folder holds (and the temporaries of their atomic writes): nothing else is removed.
_FAST_CACHE_FILES = (ENCODER, DECODER, VERIFIED)


def prune_fast_cache(current: Path, keep: int = FAST_CACHE_KEEP) -> list[Path]:
    """Remove the older fast-path folders of ``current``'s model id, beyond the ``keep`` newest (``current``
    always kept). Only folders holding nothing but a fast path's own files are touched; any error leaves the
    rest as it is (a cache is never worth a failure). Returns the folders removed."""
    import shutil

    removed: list[Path] = []
    try:
        current = Path(current)
        prefix = current.name.rsplit("-", 1)[0] + "-"
        candidates = []
        for entry in current.parent.iterdir():
            if entry == current or not entry.name.startswith(prefix) or entry.is_symlink() or not entry.is_dir():
                continue
            if entry.name[len(prefix):].count("-") or not all(
                    f.name in _FAST_CACHE_FILES or f.name.endswith(".tmp") for f in entry.iterdir()):
                continue  # another model's id that shares this prefix, or a folder that is not only ours
            candidates.append((entry.stat().st_mtime, entry))
        candidates.sort(reverse=True)
        for _mtime, entry in candidates[max(0, keep - 1):]:
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    except OSError:
        pass
    return removed


def verified_fast_path(model_id: str, key: str) -> Optional[FastPath]:
    """The cached fast path of the network whose ``model_store.network_key`` is ``key``, built without torch, when
    its verified.json says that these very graphs (by sha256) matched torch within FAST_PATH_TOLERANCE under this
    onnxruntime and app version; None otherwise (no marker, a garbled one, changed files, an ORT error)."""
    if not fast_path_enabled():
        return None
    try:
        import onnxruntime as ort

        from .image_data import read_regular_file
        from .model_store import parse_json

        folder = fast_cache_folder(model_id, key)
        marker = parse_json(read_regular_file(folder / VERIFIED, "fast path marker", limit=MAX_VERIFIED_BYTES,
                                              error=EngineError), str(folder / VERIFIED))
        if not isinstance(marker, dict) or not isinstance(marker.get("files"), dict):
            return None
        from . import fast_path_seal

        tolerance = marker.get("tolerance")
        if (not fast_path_seal.check({k: v for k, v in marker.items() if k != "seal"}, marker.get("seal"))
                or marker.get("version") != VERIFIED_VERSION or marker.get("key") != key
                or marker.get("onnxruntime") != ort.__version__ or marker.get("app_version") != __version__
                or isinstance(tolerance, bool) or not isinstance(tolerance, (int, float))
                or not 0 <= tolerance <= FAST_PATH_TOLERANCE):
            return None
        sessions = []
        for name in (ENCODER, DECODER):
            data = read_onnx_bytes(folder / name, "cached ONNX model")
            if sha256(data) != marker["files"].get(name):
                return None
            sessions.append(inference_session(data, folder / name, ours=True))
        return FastPath(*sessions)
    except Exception:  # noqa: BLE001 - any problem with the cache leaves the model on torch, never an error
        return None


def write_verified(folder: Path, key: str, enc: bytes, dec: bytes) -> None:
    """Write ``folder``'s verified.json (atomically): ``enc`` and ``dec`` matched torch for the network of ``key``."""
    import onnxruntime as ort

    from . import atomic_io, fast_path_seal

    fields = {"version": VERIFIED_VERSION, "key": key, "files": {ENCODER: sha256(enc), DECODER: sha256(dec)},
              "onnxruntime": ort.__version__, "tolerance": FAST_PATH_TOLERANCE, "app_version": __version__}
    mac = fast_path_seal.seal(fields)
    if mac is not None:  # no key (a read-only config folder): no marker, the next open checks against torch again
        atomic_io.write_json(Path(folder) / VERIFIED, {**fields, "seal": mac})


def fast_path_for(module, model_id: str, key: Optional[str] = None) -> Optional[FastPath]:
    """The ONNX Runtime fast path for ``module``, or None (onnxruntime missing, switched off, the export failed,
    or the outputs differ from torch's beyond FAST_PATH_TOLERANCE): the caller then stays on torch. With ``key``
    (``model_store.network_key`` of the folder the module was loaded from) the cache folder is named by it and,
    once the check against torch passed, verified.json lets the next open skip torch."""
    if not fast_path_enabled():
        return None
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return None
    try:
        import torch

        from . import atomic_io

        if module.training or next(module.parameters()).device.type != "cpu" \
                or next(module.parameters()).dtype != torch.float32:
            return None
        folder = fast_cache_folder(model_id, key or weights_hash(module))
        enc_p, dec_p = folder / ENCODER, folder / DECODER
        fast = None
        if enc_p.is_file() and dec_p.is_file():
            try:
                enc, dec = read_onnx_bytes(enc_p, "cached ONNX model"), read_onnx_bytes(dec_p, "cached ONNX model")
                a = module.arch  # files in a cache folder, not yet verified: bounded like any user's graph
                onnx_safety.bounded(enc, enc_p, (3, a.image_size, a.image_size))
                onnx_safety.bounded(dec, dec_p, (a.z_dim,))
                fast = FastPath(inference_session(enc, enc_p, checked=True), inference_session(dec, dec_p, checked=True))
                if not _matches_torch(fast, module):
                    fast = None
            except EngineError:
                fast = None
        if fast is None:
            from .workflows.export_model import native_onnx_pair

            enc, dec = native_onnx_pair(module)
            fast = FastPath(inference_session(enc, enc_p), inference_session(dec, dec_p))
            if not _matches_torch(fast, module):
                return None
            try:
                folder.mkdir(parents=True, exist_ok=True)
                atomic_io.write_bytes(enc_p, enc)
                atomic_io.write_bytes(dec_p, dec)
            except OSError:
                return fast  # a read-only or full cache: the sessions work all the same, this time
        if key is not None:
            try:
                write_verified(folder, key, enc, dec)
            except OSError:
                pass  # the next open checks against torch again
            prune_fast_cache(folder)
        return fast
    except Exception:  # noqa: BLE001 - any failure of the fast path leaves the model on torch
        return None


def _matches_torch(fast: FastPath, module) -> bool:
    import torch

    a = module.arch
    g = torch.Generator().manual_seed(7)
    x = torch.rand((2, 3, a.image_size, a.image_size), generator=g)
    with torch.no_grad():
        z = module.encode(x)
        y = module.decode(z)
    zo = onnx_safety.guarded_run(fast.enc, {"image": x.numpy()}, "the fast path's encoder")[0]
    yo = onnx_safety.guarded_run(fast.dec, {"z": z.numpy()}, "the fast path's decoder")[0]
    return zo.shape == tuple(z.shape) and yo.shape == tuple(y.shape) \
        and float(np.abs(zo - z.numpy()).max()) <= FAST_PATH_TOLERANCE \
        and float(np.abs(yo - y.numpy()).max()) <= FAST_PATH_TOLERANCE
