"""The ONNX codec: an encoder.onnx + decoder.onnx pair, each file read as a user's file (regular, size-capped, not
something else), its graph bounded by ``safety`` before ONNX Runtime loads it, its signature read and checked
against the model card, then probed with every run watched (see ``card.py`` for the folder's layout).
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from ...errors import Cancelled, ModelFileError
from ..card import _sniff_foreign
from ..codec import ModelCodec
from ..registry import register_codec
from . import safety as onnx_safety
from .card import DECODER, ENCODER, FORMAT_NAME, MAX_ONNX_BYTES, PROBE_Z_LIMIT, OnnxConfig, read_onnx_config


# reading and checking one .onnx file


def read_onnx_bytes(path: Path, what: str) -> bytes:
    """The bytes of a user's .onnx file: a regular file, size-capped, that looks like an ONNX protobuf."""
    from ...image_data import read_regular_file

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


register_codec(OnnxAutoencoderCodec)
