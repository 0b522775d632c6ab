"""Every model format in one place: the registry (``registry``: codecs, importers, exporters), the codec interface
(``codec.ModelCodec``), what every model folder shares (``card``, ``schema``), and one module or small package per
format: ``native`` (the model folder trained here), ``fast_path`` (the native model's verified ONNX Runtime cache),
``onnx`` (an ONNX encoder + decoder: codec, importer, exporter), ``keras`` (an importer, without TensorFlow).

Importing this package imports every format module, so the registry is complete: every module found in this folder
is imported (a new format is one new module here, nothing else to edit).
"""
from __future__ import annotations

import importlib
import pkgutil

from .registry import (codec_names, config_format, exporter, exporter_names, importer, importer_for,  # noqa: F401
                       importer_names, open_model)

#: Modules of this package that are no format (shared building blocks, imported by the formats themselves).
_NOT_FORMATS = {"registry", "codec", "card", "schema", "fast_path_seal"}

for _info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
    if _info.name not in _NOT_FORMATS and not _info.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_info.name}")
