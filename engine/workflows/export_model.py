"""Export: a model folder → a model folder of another format (today ONNX: ``encoder.onnx`` + ``decoder.onnx`` + the
model card ``config.json``; see ``engine/formats/onnx/exporter.py``), by the exporter the format names in the
registry (``engine.formats.exporter_names()``).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from ..errors import EngineError, MissingExtra
from ..formats.onnx.exporter import check_empty, write_onnx_folder  # noqa: F401  (the import workflow's writer)
from ..formats.registry import Exported, exporter, exporter_names  # noqa: F401
from ..params import Param
from ..progress import CancelToken, ProgressCallback, no_progress

#: The export use case's options, declared once (the CLI's flags are built from them).
EXPORT_PARAMS: tuple[Param, ...] = (
    Param("model", str, None, "", kind="path"),
    Param("format", str, "onnx", "", choices=tuple(exporter_names())),
    Param("out", str, None, "the folder to write (new or empty)", kind="path", required=True),
)


def check_new_model_folder(out, inputs=()) -> Path:
    """A model folder to create: new, or an existing empty one (hidden entries aside); never inside an input."""
    from ..output_folders import check_can_write, check_not_inside, check_path_text

    out = check_path_text(out)
    if out.exists() and not out.is_dir():
        raise EngineError(f"{out}: exists and is not a folder", param="out")
    for parent in out.parents:
        if parent.exists() and not parent.is_dir():
            raise EngineError(f"{out}: {parent} is a file, not a folder", param="out")
    check_not_inside(out, [i for i in inputs if i is not None])
    if out.is_dir():
        check_empty(out)
    check_can_write(out)  # a read-only or impossible place is refused before any work
    return out


def export_model(model_folder: str | os.PathLike, out: str | os.PathLike, format: str = "onnx", *,
                 progress: ProgressCallback = no_progress, cancel: Optional[CancelToken] = None) -> Exported:
    """Export the model in ``model_folder`` as a model folder ``out`` (new or empty) of ``format`` (one of
    ``exporter_names()``)."""
    cancel = cancel or CancelToken()
    if format not in exporter_names():
        raise EngineError(f"{format!r}: expected one of {', '.join(exporter_names())}", param="format")
    out = check_new_model_folder(out, [model_folder])
    try:
        return exporter(format)(model_folder, out, progress=progress, cancel=cancel)
    except MissingExtra as exc:  # the export of a native model runs torch: said as the export's need
        raise MissingExtra(feature="export", package=exc.package, extra=exc.extra) from None
