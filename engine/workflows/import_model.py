"""Import: an autoencoder trained elsewhere → an ordinary model folder of this app (an ONNX model folder:
``config.json`` = the model card, ``encoder.onnx``, ``decoder.onnx``; see ``engine/onnx_codec.py``).

* ONNX: an encoder + decoder pair of any architecture, copied as they are (checked, probed).
* Keras: ``.keras`` or ``.h5`` (whole model, or weights + architecture JSON), read without TensorFlow
  (``engine/keras_reader.py``), translated into an equivalent torch network and exported to ONNX, so the imported
  model runs in ONNX Runtime like any other ONNX model. A model saved whole is split at its bottleneck (or at
  ``split_layer``); encoder and decoder files may also be given separately.

The output folder must be new or empty; the files are staged and moved into place together under the model
folder's writer lock; nothing is written when any check fails.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from .. import __version__
from ..errors import EngineError, ModelFileError
from ..progress import CancelToken, Progress, ProgressCallback, no_progress


@dataclass
class Imported:
    folder: Path
    kind: str  # "onnx" or "keras"
    image_size: int
    z_dim: int
    channel_order: str
    value_range: tuple
    notes: list

    def summary(self) -> str:
        lo, hi = self.value_range
        what = "an ONNX" if self.kind == "onnx" else "a Keras"
        text = (f"imported {what} autoencoder → {self.folder}: {self.image_size}×{self.image_size} faces, "
                f"z_dim {self.z_dim}, {self.channel_order.upper()}, values [{lo:g}, {hi:g}]")
        return text + "".join(f"; {n}" for n in self.notes)


def parse_value_range(text) -> Optional[tuple]:
    from ..onnx_codec import VALUE_RANGES

    if text is None:
        return None
    if isinstance(text, (tuple, list)):
        key = ",".join(f"{float(v):g}" for v in text)
    else:
        key = str(text).replace(" ", "")
    if key not in VALUE_RANGES:
        raise EngineError(f"--value-range {text!r}: expected one of {', '.join(VALUE_RANGES)}")
    return VALUE_RANGES[key]


def parse_framing(text, image_size: int):
    """``full`` (no crop, the default), ``celeba`` (the CelebA aligned crop), ``x0,y0,x1,y1@W×H`` (a crop box in
    an image of W×H reference pixels), or a Preprocess dict → a Preprocess for ``image_size``."""
    from ..image_data import Preprocess
    from ..onnx_codec import full_frame

    if text is None or text == "full":
        return full_frame(image_size)
    if isinstance(text, dict):
        d = dict(text)
        d["image_size"] = image_size
        try:
            return Preprocess.from_dict(d)
        except (EngineError, TypeError, ValueError) as exc:
            raise EngineError(f"framing: {exc}") from None
    if text == "celeba":
        return Preprocess(image_size=image_size)
    m = re.fullmatch(r"\s*(\d+),(\d+),(\d+),(\d+)\s*@\s*(\d+)\s*[x×X]\s*(\d+)\s*", str(text))
    if not m:
        raise EngineError(f"--framing {text!r}: expected full, celeba or x0,y0,x1,y1@W×H (a crop box in W×H pixels)")
    x0, y0, x1, y1, w, h = (int(g) for g in m.groups())
    try:
        return Preprocess(image_size=image_size, reference_size=(w, h), crop_box=(x0, y0, x1, y1))
    except EngineError as exc:
        raise EngineError(f"--framing {text!r}: {exc}") from None


def _kind(path: Path) -> str:
    from ..keras_reader import HDF5_MAGIC, sniff

    name = path.name.lower()
    if name.endswith(".onnx"):
        return "onnx"
    try:
        return "keras" if sniff(path) in ("keras", "h5") else "onnx"
    except ModelFileError:
        if name.endswith((".keras", ".h5", ".hdf5")):
            raise
        with open(path, "rb") as fh:
            head = fh.read(8)
        if head[:8] == HDF5_MAGIC:
            raise
        return "onnx"  # the ONNX reader names what it is


def import_model(encoder=None, decoder=None, out=None, *, model_file=None, architecture=None, image_size=None,
                 framing=None, channel_order=None, value_range=None, split_layer=None,
                 progress: ProgressCallback = no_progress, cancel: Optional[CancelToken] = None) -> Imported:
    """Import an autoencoder into the new model folder ``out``.

    Give ``encoder`` + ``decoder`` (two ONNX files, or two Keras files), or ``model_file`` (one Keras file holding
    the whole autoencoder, split at its bottleneck or after ``split_layer``). ``architecture``: the JSON of a
    weights-only Keras file. The card's facts (``image_size``, ``channel_order``, ``value_range``) are read from
    the model where it says them; what is given here overrides (and is checked against) them."""
    from .export_model import check_new_model_folder

    cancel = cancel or CancelToken()
    if out is None:
        raise EngineError("--out: name the model folder to write")
    if model_file is not None and (encoder is not None or decoder is not None):
        raise EngineError("give either --model-file (one file holding both halves) or --encoder and --decoder")
    if model_file is None and (encoder is None or decoder is None):
        raise EngineError("give --encoder and --decoder (or --model-file for a Keras file holding the whole autoencoder)")
    if channel_order is not None and channel_order not in ("nchw", "nhwc"):
        raise EngineError(f"--channel-order {channel_order!r}: expected nchw or nhwc")
    if image_size is not None and (isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 1):
        raise EngineError(f"--image-size {image_size!r}: expected a whole number ≥ 1")
    vrange = parse_value_range(value_range)
    inputs = [p for p in (encoder, decoder, model_file, architecture) if p is not None]
    out = check_new_model_folder(out, inputs)
    progress(Progress("import", 0, 4, "reading the model"))
    if model_file is not None:
        kind = _kind(Path(model_file))
        if kind != "keras":
            raise EngineError(f"--model-file {model_file}: one file holding both halves must be a Keras .keras/.h5 "
                              "file; give ONNX models as --encoder and --decoder")
        enc, dec, facts = _keras_pair(Path(model_file), None, architecture, split_layer, cancel)
    else:
        ke, kd = _kind(Path(encoder)), _kind(Path(decoder))
        if ke != kd:
            raise EngineError(f"--encoder {encoder} is {ke.upper()} but --decoder {decoder} is {kd.upper()}; give two of one kind")
        kind = ke
        if kind == "keras":
            enc, dec, facts = _keras_pair(Path(encoder), Path(decoder), architecture, split_layer, cancel)
        else:
            if split_layer:
                raise EngineError("--split-layer applies to a Keras file holding the whole autoencoder")
            enc, dec, facts = _onnx_pair(Path(encoder), Path(decoder))
    cancel.raise_if_cancelled()
    progress(Progress("import", 2, 4, "checking the model"))
    return _finish(out, kind, enc, dec, facts, image_size, framing, channel_order, vrange, progress, cancel)


def _onnx_pair(encoder: Path, decoder: Path):
    """The two graphs' bytes and what their signatures say, read from the files alone: nothing runs here (the
    graphs are checked by ``onnx_safety`` and their signatures read from the protobuf, before any session)."""
    from ..onnx_codec import final_activation_range, graph_shapes, read_onnx_bytes
    from ..onnx_safety import Signature, check_structure

    enc = read_onnx_bytes(encoder, "ONNX encoder")
    dec = read_onnx_bytes(decoder, "ONNX decoder")
    em, dm = check_structure(enc, encoder), check_structure(dec, decoder)
    shapes = graph_shapes(Signature(em), Signature(dm), encoder, decoder)
    del em, dm
    facts = {"image_size": shapes.image_size, "z_dim": shapes.z_dim, "channel_order": shapes.channel_order,
             "value_range": final_activation_range(dec),
             "source": {"imported_from": "onnx", "encoder": str(encoder), "decoder": str(decoder)}}
    return enc, dec, facts


def _keras_pair(first: Path, second: Optional[Path], architecture, split_layer, cancel):
    """The ONNX encoder and decoder of a Keras autoencoder (one file split at its bottleneck, or two halves).
    Each file's sizes, and the pair's, are checked against the app's limits from the configs alone before
    that file's weights are read or a network is built (``engine/keras_limits.py``); torch is imported only
    then (a refused file costs neither its time nor its memory)."""
    from ..keras_limits import MAX_Z_DIM, check_pair, plan_layers
    from ..keras_reader import read_keras, split_point, torch_network
    from .export_model import torch_to_onnx_bytes

    def encoder_input(m):
        s = m.input_shape
        if len(s) != 3 or s[2] != 3 or s[0] != s[1]:
            raise ModelFileError(f"{first}: the encoder takes input of shape {list(s)}; square RGB images (S, S, 3) are "
                                 "needed")

    def check_halves(enc_layers, dec_layers, in_shape, z_shape, where):
        if len(z_shape) != 1:
            raise ModelFileError(f"{first}: the encoder gives output of shape {list(z_shape)}; a z-vector (flat) is "
                                 "needed (end the encoder with Flatten or Dense, or name the split layer)")
        if z_shape[0] > MAX_Z_DIM:
            raise ModelFileError(f"{first}: the encoder gives z-vectors of {z_shape[0]} values; at most {MAX_Z_DIM}")
        enc_plan, dec_plan = plan_layers(enc_layers, in_shape, str(first)), plan_layers(dec_layers, z_shape, str(where))
        out_shape = dec_plan.shapes[-1] if dec_plan.shapes else z_shape
        if tuple(out_shape) != tuple(in_shape):
            raise ModelFileError(f"{where}: the decoder gives output of shape {list(out_shape)}; the encoder takes "
                                 f"{list(in_shape)}")
        check_pair(enc_plan, dec_plan, where)

    def whole(m):  # the whole autoencoder in one file: checked before its weights are read
        encoder_input(m)
        k = split_point(m, split_layer)
        if not 0 < k < len(m.layers):
            raise ModelFileError(f"{first}: the split after layer {k} of {len(m.layers)} leaves no "
                                 f"{'encoder' if k == 0 else 'decoder'} layers")
        check_halves(m.layers[:k], m.layers[k:], m.input_shape, m.plan.shapes[k - 1], first)

    if second is None:
        m1 = read_keras(first, architecture, check=whole)
        k = split_point(m1, split_layer)
        enc_layers, dec_layers = m1.layers[:k], m1.layers[k:]
        source = {"imported_from": f"keras {m1.keras_version}", "model_file": str(first),
                  "split_after": enc_layers[-1].name}
        in_shape, z_shape = m1.input_shape, m1.plan.shapes[k - 1]
    else:
        if split_layer:
            raise EngineError("--split-layer applies to one Keras file holding the whole autoencoder (--model-file)")
        m1 = read_keras(first, architecture, check=encoder_input)
        enc_layers, in_shape = m1.layers, m1.input_shape
        z_shape = m1.plan.shapes[-1] if m1.plan.shapes else in_shape

        def decoder(m2):  # before the decoder's weights are read
            if len(m2.input_shape) != 1 or len(z_shape) != 1 or m2.input_shape[0] != z_shape[0]:
                raise ModelFileError(f"{second}: the decoder takes input of shape {list(m2.input_shape)}, the encoder "
                                     f"gives {list(z_shape)}; they are not two halves of one autoencoder")
            check_halves(enc_layers, m2.layers, in_shape, z_shape, second)

        dec_layers = read_keras(second, None, check=decoder).layers
        source = {"imported_from": f"keras {m1.keras_version}", "encoder": str(first), "decoder": str(second)}
    import torch

    enc_net, _ = torch_network(enc_layers, in_shape, str(first))
    dec_net, _ = torch_network(dec_layers, z_shape, str(second or first))
    cancel.raise_if_cancelled()
    s = in_shape[0]
    enc = torch_to_onnx_bytes(enc_net, torch.rand(2, s, s, 3), "image", "z")
    dec = torch_to_onnx_bytes(dec_net, torch.randn(2, z_shape[0]), "z", "image")
    last = [L for L in dec_layers if L.cls not in ("Dropout", "SpatialDropout2D", "GaussianNoise", "GaussianDropout")]
    act = None
    if last:
        L = last[-1]
        act = L.config.get("activation") if L.cls != "ReLU" else "relu"
    vr = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}.get(act)
    facts = {"image_size": s, "z_dim": z_shape[0], "channel_order": "nhwc", "value_range": vr, "source": source,
             "torch": (enc_net, dec_net)}
    return enc, dec, facts


def _finish(out: Path, kind: str, enc: bytes, dec: bytes, facts: dict, image_size, framing, channel_order, vrange,
            progress, cancel) -> Imported:
    from ..model_store import new_model_id
    from ..onnx_codec import DECODER, ENCODER, OnnxArch, OnnxAutoencoderCodec, OnnxConfig, sha256
    from .export_model import write_onnx_folder

    notes = []
    size = facts["image_size"]
    if image_size is not None:
        if size and size != image_size:
            raise EngineError(f"--image-size {image_size}: the model takes {size}×{size} images")
        size = image_size
    if not size:
        raise EngineError("the model's graph does not fix its image size; give --image-size")
    order = facts["channel_order"]
    if channel_order is not None:
        if order and order != channel_order:
            raise EngineError(f"--channel-order {channel_order}: the model's graph takes {order.upper()} images")
        order = channel_order
    if not order:
        order = "nchw"
        notes.append("channel order assumed NCHW (the graph does not say; --channel-order overrides)")
    vr = vrange or facts["value_range"]
    if vr is None:
        vr = (0.0, 1.0)
        notes.append("value range assumed [0, 1] (the decoder's last operator does not say; --value-range overrides)")
    z_dim = facts["z_dim"]
    if not z_dim:
        raise EngineError("the model's graphs do not fix the z size")
    _check_app_limits(int(size), int(z_dim), facts["source"].get("encoder") or facts["source"].get("model_file"), out)
    pre = parse_framing(framing, size)
    source = dict(facts["source"])
    source["imported_at_app_version"] = __version__
    config = OnnxConfig(OnnxArch(int(size), int(z_dim)), pre, new_model_id(), order, tuple(vr), source,
                        {ENCODER: {"sha256": sha256(enc), "bytes": len(enc)}, DECODER: {"sha256": sha256(dec), "bytes": len(dec)}})
    # what open would refuse is never written: the card through open's own reader, then the graphs through its gate
    # and probe (every run watched: the time budget and this job's cancel)
    OnnxConfig.from_dict(config.to_dict(), f"{out / 'config.json'} (the model card to write)")
    paths = tuple(Path(source.get(k) or source.get("model_file") or out / name) for k, name in (("encoder", ENCODER),
                                                                                                ("decoder", DECODER)))
    OnnxAutoencoderCodec.from_bytes(config, enc, dec, where=out, cancel=cancel, paths=paths)
    cancel.raise_if_cancelled()
    progress(Progress("import", 3, 4, "writing the model folder"))
    write_onnx_folder(out, config, enc, dec)
    progress(Progress("import", 4, 4, "imported"))
    return Imported(out, kind, int(size), int(z_dim), order, tuple(vr), notes)


def _check_app_limits(size: int, z_dim: int, where, out: Path) -> None:
    """An imported model must fit the limits of the models this app builds and loads (``architecture``): faces of at
    most MAX_IMAGE_SIZE pixels a side, z-vectors of at most MAX_Z_DIM values; checked before anything runs."""
    from ..architecture import MAX_IMAGE_SIZE, MAX_Z_DIM

    if size > MAX_IMAGE_SIZE:
        raise ModelFileError(f"{where}: the model takes {size}×{size} images; this app works with faces of at most "
                             f"{MAX_IMAGE_SIZE}×{MAX_IMAGE_SIZE} pixels — nothing was written to {out}")
    if z_dim > MAX_Z_DIM:
        raise ModelFileError(f"{where}: the model's z-vectors have {z_dim:,} values; this app works with at most {MAX_Z_DIM:,} "
                             f"— nothing was written to {out}")
