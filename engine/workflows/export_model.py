"""Export: a model folder → ``encoder.onnx`` + ``decoder.onnx`` + the model card (``config.json``).

The exported folder is itself an ONNX model folder (``"format": "onnx-autoencoder"``): it opens in this app
(and imports back) with the same z and images, and runs in any ONNX runtime. The encoder takes N×3×S×S
float32 in [0, 1]; the decoder gives the same; the card names the framing of the input faces.
"""
from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..errors import EngineError
from ..progress import CancelToken, Progress, ProgressCallback, no_progress

#: The ONNX opset written (ONNX Runtime 1.17 and later read it).
OPSET = 17
FORMATS = ("onnx",)


@dataclass
class Exported:
    folder: Path
    files: list
    z_dim: int
    image_size: int


def torch_to_onnx_bytes(module, example, input_name: str, output_name: str) -> bytes:
    """``module`` (eval mode, CPU) as a self-contained ONNX graph with a dynamic batch dimension.

    Uses the TorchScript exporter (``dynamo=False``): it needs no extra package (the dynamo exporter needs
    onnxscript) and writes plain Conv/ConvTranspose/Gemm/BatchNormalization graphs."""
    import torch

    buf = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (example,), buf, dynamo=False, input_names=[input_name], output_names=[output_name],
                          dynamic_axes={input_name: {0: "batch"}, output_name: {0: "batch"}}, opset_version=OPSET,
                          do_constant_folding=True)
    return buf.getvalue()


def native_onnx_pair(module) -> tuple[bytes, bytes]:
    """(encoder.onnx, decoder.onnx) bytes of a native ConvAutoencoder: N×3×S×S [0, 1] → N×z → N×3×S×S [0, 1]."""
    import torch
    from torch import nn

    class Enc(nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, x):
            return self.m.encode(x)

    class Dec(nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, z):
            return self.m.decode(z)

    a = module.arch
    was = module.training
    module = module.float().cpu().eval()
    try:
        enc = torch_to_onnx_bytes(Enc(module).eval(), torch.rand(2, 3, a.image_size, a.image_size), "image", "z")
        dec = torch_to_onnx_bytes(Dec(module).eval(), torch.randn(2, a.z_dim), "z", "image")
    finally:
        module.train(was)
    return enc, dec


def write_onnx_folder(out: Path, config, enc: bytes, dec: bytes) -> None:
    """Write encoder.onnx, decoder.onnx and config.json into ``out`` (checked by the caller: new or empty),
    staged in a hidden folder beside the files and moved into place together, config.json last."""
    import json
    import shutil
    import tempfile

    from .. import atomic_io
    from ..model_lock import model_writer
    from ..model_store import CONFIG
    from ..onnx_codec import DECODER, ENCODER

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with model_writer(out, "write the model"):
        _check_empty(out)  # again under the lock: another import or export may have filled it since the check
        stage = Path(tempfile.mkdtemp(prefix=".importing-", dir=out))
        try:
            for name, data in ((ENCODER, enc), (DECODER, dec),
                               (CONFIG, (json.dumps(config.to_dict(), indent=2) + "\n").encode("utf-8"))):
                atomic_io.write_staged(stage / name, data)
            atomic_io.sync_staged([stage / n for n in (ENCODER, DECODER, CONFIG)])
            for name in (ENCODER, DECODER, CONFIG):  # config.json last: without it the folder is no model
                os.replace(stage / name, out / name)
        finally:
            shutil.rmtree(stage, ignore_errors=True)


def check_new_model_folder(out, inputs=()) -> Path:
    """A model folder to create: new, or an existing empty one (hidden entries aside); never inside an input."""
    from ..output_folders import check_can_write, check_not_inside, check_path_text

    out = check_path_text(out, "--out")
    if out.exists() and not out.is_dir():
        raise EngineError(f"--out {out}: exists and is not a folder")
    for parent in out.parents:
        if parent.exists() and not parent.is_dir():
            raise EngineError(f"--out {out}: {parent} is a file, not a folder")
    check_not_inside(out, [i for i in inputs if i is not None], "--out")
    if out.is_dir():
        _check_empty(out)
    check_can_write(out, "--out")  # a read-only or impossible place is refused before any work
    return out


def _check_empty(out: Path) -> None:
    visible = sorted(n for n in os.listdir(out) if not n.startswith("."))
    if visible:
        shown = ", ".join(visible[:3]) + (f" and {len(visible) - 3} more" if len(visible) > 3 else "")
        raise EngineError(f"--out {out}: is not empty ({shown}); a model is written only into a new or empty "
                          "folder — nothing was written")


def export_model(model_folder: str | os.PathLike, out: str | os.PathLike, format: str = "onnx", *,
                 progress: ProgressCallback = no_progress, cancel: Optional[CancelToken] = None) -> Exported:
    """Export the model in ``model_folder`` as an ONNX model folder ``out`` (new or empty)."""
    from ..model_codec import open_model
    from ..onnx_codec import DECODER, ENCODER, OnnxArch, OnnxConfig, OnnxAutoencoderCodec, sha256
    from .. import __version__

    cancel = cancel or CancelToken()
    if format not in FORMATS:
        raise EngineError(f"--format {format!r}: expected one of {', '.join(FORMATS)}")
    out = check_new_model_folder(out, [model_folder])
    codec = open_model(model_folder)
    progress(Progress("export", 0, 3, "exporting to ONNX"))
    if isinstance(codec, OnnxAutoencoderCodec):  # already ONNX: the same graphs, re-checked
        from ..onnx_codec import read_onnx_bytes

        enc = read_onnx_bytes(Path(model_folder) / ENCODER, "ONNX model")
        dec = read_onnx_bytes(Path(model_folder) / DECODER, "ONNX model")
        c = codec.config
        order, vrange, source = c.channel_order, c.value_range, dict(c.source)
    else:
        module = codec.torch_module
        if module is None:
            raise EngineError(f"{model_folder}: this model's format ({codec.format_name}) cannot be exported to ONNX")
        enc, dec = native_onnx_pair(module)
        order, vrange = "nchw", (0.0, 1.0)
        source = {"exported_from": str(model_folder), "format": codec.format_name, "app_version": __version__}
    cancel.raise_if_cancelled()
    progress(Progress("export", 1, 3, "checking the ONNX graphs"))
    training = getattr(codec.config, "training", {}) or {}
    config = OnnxConfig(OnnxArch(codec.image_size, codec.z_dim), codec.preprocess, codec.model_id, order, tuple(vrange),
                        source, {ENCODER: {"sha256": sha256(enc), "bytes": len(enc)},
                                 DECODER: {"sha256": sha256(dec), "bytes": len(dec)}},
                        dict(training) if isinstance(training, dict) else {})
    OnnxAutoencoderCodec.from_bytes(config, enc, dec, where=out)  # never write what open would refuse
    cancel.raise_if_cancelled()
    write_onnx_folder(out, config, enc, dec)
    progress(Progress("export", 3, 3, "exported"))
    return Exported(out, [ENCODER, DECODER, "config.json"], codec.z_dim, codec.image_size)
