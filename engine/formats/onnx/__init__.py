"""The ONNX format: an encoder.onnx + decoder.onnx pair of any architecture with its model card (``card``), run by
ONNX Runtime (``codec``) once ``safety`` has bounded each untrusted graph; its importer and its exporter."""
from . import codec, exporter, importer  # noqa: F401  (registers the codec, the importer, the exporter)
