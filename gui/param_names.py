"""The engine's parameter names as the window names them: the labels of the controls the user sees.

An engine message names one of the user's options by its parameter name (``param="out"``, ``{opt:n}``,
see ``engine/errors.py``); the CLI shows its flag (``--out``), the window the control's label
(``Output folder``). A name the window has no control for falls back to the engine's domain words
(``image_size`` → ``image size``). Labels start with a capital: most messages open with the option.
"""
from __future__ import annotations

from typing import Optional

from engine.errors import EngineError

#: parameter name → the control's label (as in the dialogs and panels; capitalised)
CONTROL_NAMES: dict[str, str] = {
    # files and folders (file dialogs, the train dialog's folder rows)
    "out": "Output folder",
    "data": "Dataset folder",
    "model": "Model folder",
    "overwrite": "Replace",  # the save dialogs ask before replacing
    # sampler panel
    "sampler": "Sampler",
    "n": "Faces",
    "seed": "Seed",
    "set": "Sampler parameter",
    "where": "Condition on attributes",
    # train dialog
    "epochs": "Epochs",
    "image_size": "Image size",
    "z_dim": "Z-dim",
    "batch_size": "Batch size",
    "lr": "Learning rate",
    "channels": "Channels",
    "resume": "Continue the model in that folder",
    # directions panel
    "method": "Method",
    "k": "K",  # the spin box beside the method: how many directions
    "attribute": "Move",
    "hold": "Hold",
    "sort": "Sort column",
    "index": "Direction",
    "amount": "Amount",
    # movie dialog
    "frames": "Frames",
    "fps": "Frames per second",
    "size": "Size",
    "range": "Sweep range (σ)",
    "axis": "Axis",
    "from": "Path start",
    "to": "Path end",
    # File ▸ Import model… / Export model…
    "model_file": "Whole model file",
    "encoder": "Encoder file",
    "decoder": "Decoder file",
    "architecture": "Architecture (JSON)",
    "framing": "Framing",
    "channel_order": "Channel order",
    "value_range": "Value range",
    "split_layer": "Split after layer",
    "format": "Format",
    # photo panel
    "no_detect": "Centre square (no detection)",
    "detector": "Face detector",
}


def control_name(param: str) -> Optional[str]:
    """The label of the control for ``param``; None (domain words) for a name the window has no control for."""
    return CONTROL_NAMES.get(param)


def gui_text(exc: BaseException) -> str:
    """An engine error's message with its options named as the window names them."""
    return exc.render(control_name) if isinstance(exc, EngineError) else str(exc)
