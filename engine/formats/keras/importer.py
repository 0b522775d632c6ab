"""Import a Keras autoencoder: ``.keras`` or ``.h5`` (whole model, or weights + architecture JSON), read without
TensorFlow (``reader``), translated into an equivalent torch network and exported to ONNX, so the imported model
runs in ONNX Runtime like any other ONNX model. A model saved whole is split at its bottleneck (or at
``split_layer``); encoder and decoder files may also be given separately.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from ...errors import EngineError, ModelFileError, import_extra
from ..registry import Importer, register_importer

SUFFIXES = (".keras", ".h5", ".hdf5")


def sniff(path: Path) -> float:
    """1 for a .keras zip or an HDF5 file (the first 16 bytes say), 0 for anything else; a ModelFileError when the
    file is named or looks like one but cannot be used (a pickle, truncated, not a regular file, too large)."""
    from .reader import HDF5_MAGIC
    from .reader import sniff as keras_sniff

    path = Path(path)
    try:
        return 1.0 if keras_sniff(path) in ("keras", "h5") else 0.0
    except ModelFileError:
        if path.name.lower().endswith(SUFFIXES):
            raise
        with open(path, "rb") as fh:
            head = fh.read(8)
        if head[:8] == HDF5_MAGIC:
            raise
        return 0.0


def import_files(encoder=None, decoder=None, model_file=None, *, architecture=None, split_layer=None, cancel=None):
    """(encoder bytes, decoder bytes, facts) of one Keras file holding the whole autoencoder, or of two halves."""
    for module in ("h5py", "torch"):  # read with h5py, rebuilt and exported by torch: said before any reading
        import_extra(module, feature="Keras import", extra="keras")
    if model_file is not None:
        return _keras_pair(Path(model_file), None, architecture, split_layer, cancel)
    return _keras_pair(Path(encoder), Path(decoder), architecture, split_layer, cancel)


def _keras_pair(first: Path, second: Optional[Path], architecture, split_layer, cancel):
    """The ONNX encoder and decoder of a Keras autoencoder (one file split at its bottleneck, or two halves).
    Each file's sizes, and the pair's, are checked against the app's limits from the configs alone before
    that file's weights are read or a network is built (``limits``); torch is imported only
    then (a refused file costs neither its time nor its memory)."""
    from ..fast_path import torch_to_onnx_bytes
    from .limits import MAX_Z_DIM, check_pair, plan_layers
    from .network import torch_network
    from .reader import read_keras, split_point

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
            raise EngineError("{opt:split_layer} applies to one Keras file holding the whole autoencoder ({opt:model_file})")
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


register_importer(Importer("keras", "a Keras", SUFFIXES, sniff, import_files))
