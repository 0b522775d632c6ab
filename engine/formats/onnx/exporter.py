"""Export to ONNX: a model folder → ``encoder.onnx`` + ``decoder.onnx`` + the model card (``config.json``).

The exported folder is itself an ONNX model folder (``"format": "onnx-autoencoder"``): it opens in this app
(and imports back) with the same z and images, and runs in any ONNX runtime. The encoder takes N×3×S×S
float32 in [0, 1]; the decoder gives the same; the card names the framing of the input faces.
``write_onnx_folder`` writes such a folder (the importers' too).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from ...errors import EngineError
from ...progress import CancelToken, Progress, ProgressCallback, no_progress
from ..registry import Exported, register_exporter


def write_onnx_folder(out: Path, config, enc: bytes, dec: bytes) -> None:
    """Write encoder.onnx, decoder.onnx and config.json into ``out`` (checked by the caller: new or empty),
    staged in a hidden folder beside the files and moved into place together, config.json last."""
    import json
    import shutil
    import tempfile

    from ... import atomic_io
    from ...model_lock import model_writer
    from ..card import CONFIG
    from .card import DECODER, ENCODER

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with model_writer(out, "write the model"):
        check_empty(out)  # again under the lock: another import or export may have filled it since the check
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


def check_empty(out: Path) -> None:
    """Refuse a folder that holds anything but hidden entries (a model is written only into a new or empty one)."""
    visible = sorted(n for n in os.listdir(out) if not n.startswith("."))
    if visible:
        shown = ", ".join(visible[:3]) + (f" and {len(visible) - 3} more" if len(visible) > 3 else "")
        raise EngineError(f"{out}: is not empty ({shown}); a model is written only into a new or empty "
                          "folder — nothing was written", param="out")


@register_exporter("onnx")
def export_onnx(model_folder, out: Path, *, progress: ProgressCallback = no_progress,
                cancel: Optional[CancelToken] = None) -> Exported:
    """Export the model in ``model_folder`` as an ONNX model folder ``out`` (checked by the caller: new or empty)."""
    from ... import __version__
    from ..registry import open_model
    from .card import DECODER, ENCODER, OnnxArch, OnnxConfig
    from .codec import OnnxAutoencoderCodec, read_onnx_bytes, sha256

    cancel = cancel or CancelToken()
    codec = open_model(model_folder)
    progress(Progress("export", 0, 3, "exporting to ONNX"))
    if isinstance(codec, OnnxAutoencoderCodec):  # already ONNX: the same graphs, re-checked
        enc = read_onnx_bytes(Path(model_folder) / ENCODER, "ONNX model")
        dec = read_onnx_bytes(Path(model_folder) / DECODER, "ONNX model")
        c = codec.config
        order, vrange, source = c.channel_order, c.value_range, dict(c.source)
    else:
        if codec.torch_module is None or not hasattr(codec, "onnx_pair"):
            raise EngineError(f"{model_folder}: this model's format ({codec.format_name}) cannot be exported to ONNX")
        enc, dec = codec.onnx_pair()
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
