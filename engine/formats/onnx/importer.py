"""Import an ONNX encoder + decoder pair of any architecture: the two graphs copied as they are, read from the files
alone (nothing runs here: each graph is checked by ``safety`` and its signature read from the protobuf)."""
from __future__ import annotations

from pathlib import Path

from ...errors import EngineError
from ..registry import Importer, register_importer


def sniff(path: Path) -> float:
    """A ``.onnx`` file surely; any other file is left to the ONNX reader last (it names what the file is)."""
    return 1.0 if Path(path).name.lower().endswith(".onnx") else 0.01


def import_files(encoder=None, decoder=None, model_file=None, *, architecture=None, split_layer=None, cancel=None):
    """(encoder bytes, decoder bytes, facts) of two ONNX files."""
    if model_file is not None:
        raise EngineError(f"{model_file}: one file holding both halves must be a Keras .keras/.h5 file; give ONNX "
                          "models as {opt:encoder} and {opt:decoder}", param="model_file")
    if split_layer:
        raise EngineError("{opt:split_layer} applies to a Keras file holding the whole autoencoder")
    return _onnx_pair(Path(encoder), Path(decoder))


def _onnx_pair(encoder: Path, decoder: Path):
    """The two graphs' bytes and what their signatures say, read from the files alone: nothing runs here (the
    graphs are checked by ``safety`` and their signatures read from the protobuf, before any session)."""
    from .codec import final_activation_range, graph_shapes, read_onnx_bytes
    from .safety import Signature, check_structure

    enc = read_onnx_bytes(encoder, "ONNX encoder")
    dec = read_onnx_bytes(decoder, "ONNX decoder")
    em, dm = check_structure(enc, encoder), check_structure(dec, decoder)
    shapes = graph_shapes(Signature(em), Signature(dm), encoder, decoder)
    del em, dm
    facts = {"image_size": shapes.image_size, "z_dim": shapes.z_dim, "channel_order": shapes.channel_order,
             "value_range": final_activation_range(dec),
             "source": {"imported_from": "onnx", "encoder": str(encoder), "decoder": str(decoder)}}
    return enc, dec, facts


register_importer(Importer("onnx", "an ONNX", (".onnx",), sniff, import_files))
