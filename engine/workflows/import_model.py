"""Import: an autoencoder trained elsewhere → an ordinary model folder of this app (an ONNX model folder:
``config.json`` = the model card, ``encoder.onnx``, ``decoder.onnx``; see ``engine/formats/onnx/``).

The files are read by the importer the registry picks by sniffing them (``engine.formats.importer_for``):

* ONNX: an encoder + decoder pair of any architecture, copied as they are (checked, probed).
* Keras: ``.keras`` or ``.h5`` (whole model, or weights + architecture JSON), read without TensorFlow
  (``engine/formats/keras/``), translated into an equivalent torch network and exported to ONNX, so the imported
  model runs in ONNX Runtime like any other ONNX model. A model saved whole is split at its bottleneck (or at
  ``split_layer``); encoder and decoder files may also be given separately.

The output folder must be new or empty; the files are staged and moved into place together under the model
folder's writer lock; nothing is written when any check fails.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .. import __version__
from ..errors import EngineError, MissingExtra, ModelFileError
from ..formats.onnx.card import CHANNEL_ORDERS, VALUE_RANGES
from ..formats.registry import importer, importer_for
from ..params import Param
from ..progress import CancelToken, Progress, ProgressCallback, no_progress

#: The import use case's options, declared once (the CLI's flags are built from them).
IMPORT_PARAMS: tuple[Param, ...] = (
    Param("encoder", str, None, "the encoder: .onnx, .keras or .h5", kind="path", metavar="FILE"),
    Param("decoder", str, None, "the decoder: .onnx, .keras or .h5", kind="path", metavar="FILE"),
    Param("model_file", str, None, "one Keras .keras/.h5 file holding the whole autoencoder", kind="path",
          metavar="FILE"),
    Param("architecture", str, None, "the architecture (model.to_json()) of a weights-only .h5", kind="path",
          metavar="JSON"),
    Param("out", str, None, "the model folder to write (new or empty)", kind="path", required=True),
    Param("image_size", int, None, "when the model does not fix it", minimum=1),
    Param("framing", str, None, "crop of the input faces (default full: the whole image, no crop)", kind="text",
          metavar="full|celeba|x0,y0,x1,y1@W×H"),
    Param("channel_order", str, None, "when the graph does not say", choices=CHANNEL_ORDERS),
    Param("value_range", str, None, "pixel values the model takes and gives (default: from its last activation, "
          "else 0,1)", choices=tuple(VALUE_RANGES)),
    Param("split_layer", str, None, "with one file holding the whole autoencoder: the encoder's last layer "
          "(default: the bottleneck)", kind="text", metavar="NAME"),
)


@dataclass
class Imported:
    folder: Path
    kind: str  # "onnx" or "keras"
    image_size: int
    z_dim: int
    channel_order: str
    value_range: tuple
    notes: list

    def summary(self, name_of=None) -> str:
        """One line of what was imported; options in the notes named by ``name_of`` (a front end's namer)."""
        from ..errors import render_text

        lo, hi = self.value_range
        what = importer(self.kind).title
        text = (f"imported {what} autoencoder → {self.folder}: {self.image_size}×{self.image_size} faces, "
                f"z_dim {self.z_dim}, {self.channel_order.upper()}, values [{lo:g}, {hi:g}]")
        return text + "".join(f"; {render_text(n, name_of)}" for n in self.notes)


def parse_value_range(text) -> Optional[tuple]:
    from ..formats.onnx.card import VALUE_RANGES

    if text is None:
        return None
    if isinstance(text, (tuple, list)):
        key = ",".join(f"{float(v):g}" for v in text)
    else:
        key = str(text).replace(" ", "")
    if key not in VALUE_RANGES:
        raise EngineError(f"{text!r}: expected one of {', '.join(VALUE_RANGES)}", param="value_range")
    return VALUE_RANGES[key]


def parse_framing(text, image_size: int):
    """``full`` (no crop, the default), ``celeba`` (the CelebA aligned crop), ``x0,y0,x1,y1@W×H`` (a crop box in
    an image of W×H reference pixels), or a Preprocess dict → a Preprocess for ``image_size``."""
    from ..image_data import Preprocess
    from ..formats.onnx.card import full_frame

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
        raise EngineError(f"{text!r}: expected full, celeba or x0,y0,x1,y1@W×H (a crop box in W×H pixels)",
                          param="framing")
    x0, y0, x1, y1, w, h = (int(g) for g in m.groups())
    try:
        return Preprocess(image_size=image_size, reference_size=(w, h), crop_box=(x0, y0, x1, y1))
    except EngineError as exc:
        raise EngineError(f"{text!r}: {exc}", param="framing") from None


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
        raise EngineError("{opt:out}: name the model folder to write")
    if model_file is not None and (encoder is not None or decoder is not None):
        raise EngineError("give either {opt:model_file} (one file holding both halves) or {opt:encoder} and {opt:decoder}")
    if model_file is None and (encoder is None or decoder is None):
        raise EngineError("give {opt:encoder} and {opt:decoder} (or {opt:model_file} for a Keras file holding the whole "
                          "autoencoder)")
    if channel_order is not None and channel_order not in CHANNEL_ORDERS:
        raise EngineError(f"{channel_order!r}: expected nchw or nhwc", param="channel_order")
    if image_size is not None and (isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 1):
        raise EngineError(f"{image_size!r}: expected a whole number ≥ 1", param="image_size")
    vrange = parse_value_range(value_range)
    inputs = [p for p in (encoder, decoder, model_file, architecture) if p is not None]
    out = check_new_model_folder(out, inputs)
    progress(Progress("import", 0, 4, "reading the model"))
    try:
        if model_file is not None:
            imp = importer_for(Path(model_file))
            enc, dec, facts = imp.import_files(model_file=Path(model_file), architecture=architecture,
                                               split_layer=split_layer, cancel=cancel)
        else:
            imp, other = importer_for(Path(encoder)), importer_for(Path(decoder))
            if imp is not other:
                raise EngineError(f"{encoder} is {imp.name.upper()} but {{opt:decoder}} {decoder} is "
                                  f"{other.name.upper()}; give two of one kind", param="encoder")
            enc, dec, facts = imp.import_files(Path(encoder), Path(decoder), architecture=architecture,
                                               split_layer=split_layer, cancel=cancel)
    except MissingExtra as exc:  # a Keras file is read with h5py and rebuilt in torch: said as the import's need
        raise MissingExtra(feature="Keras import", package=exc.package, extra="keras") from None
    kind = imp.name
    cancel.raise_if_cancelled()
    progress(Progress("import", 2, 4, "checking the model"))
    return _finish(out, kind, enc, dec, facts, image_size, framing, channel_order, vrange, progress, cancel)


def _finish(out: Path, kind: str, enc: bytes, dec: bytes, facts: dict, image_size, framing, channel_order, vrange,
            progress, cancel) -> Imported:
    from ..formats.card import new_model_id
    from ..formats.onnx.card import DECODER, ENCODER, OnnxArch, OnnxConfig
    from ..formats.onnx.codec import OnnxAutoencoderCodec, sha256
    from ..formats.onnx.exporter import write_onnx_folder

    notes = []
    size = facts["image_size"]
    if image_size is not None:
        if size and size != image_size:
            raise EngineError(f"{image_size}: the model takes {size}×{size} images", param="image_size")
        size = image_size
    if not size:
        raise EngineError("the model's graph does not fix its image size; give {opt:image_size}")
    order = facts["channel_order"]
    if channel_order is not None:
        if order and order != channel_order:
            raise EngineError(f"{channel_order}: the model's graph takes {order.upper()} images", param="channel_order")
        order = channel_order
    if not order:
        order = "nchw"
        notes.append("channel order assumed NCHW (the graph does not say; {opt:channel_order} overrides)")
    vr = vrange or facts["value_range"]
    if vr is None:
        vr = (0.0, 1.0)
        notes.append("value range assumed [0, 1] (the decoder's last operator does not say; {opt:value_range} overrides)")
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
