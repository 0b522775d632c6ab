#!/usr/bin/env python3
"""Latent Face Studio — the GUI by default, sub-commands for headless work.

    python main.py                      # the GUI on the embedded default model
    python main.py train --data DIR --out MODEL_DIR [--epochs N] [--image-size 64] [--z-dim 256] ...
    python main.py encode --model MODEL_DIR --data DIR
    python main.py reconstruct [--model MODEL_DIR] --data DIR --out DIR [--n N]
    python main.py generate [--model MODEL_DIR] --sampler NAME [--set KEY=VALUE ...] --n N [--seed S] --out DIR [--z-only] [--where Smiling=1,Male=-1]
    python main.py edit [--model MODEL_DIR] --data DIR --attribute NAME --amount -2:2:5 --out DIR [--n N] [--method probe|mean]
    python main.py attributes [--model MODEL_DIR] [--import LABEL_FILE] [--no-probe] [--rates Smiling=1 --sampler NAME]
    python main.py samplers
    python main.py evaluate [--model MODEL_DIR] [--data DIR] [--n 256] [--seed S] [--samplers a,b] [--sweep fact=0.4:1.0:7] [--out report.json]
    python main.py compare-models --model A --model B --out DIR [--data DIR]
    python main.py info [--model MODEL_DIR]

Bad input ends with a non-zero exit status and one clear line on stderr, never a traceback.
"""
from __future__ import annotations

import _signal  # first (built in): from this line on a Ctrl-C ends with 130 and one line, nothing written half
import os

if __name__ == "__main__":  # until engine/interrupts.py takes over below; nothing has been written before
    _signal.signal(_signal.SIGINT, lambda *_: (os.write(2, b"interrupted; nothing was written\n"), os._exit(130)))

from engine import interrupts  # noqa: E402

if __name__ == "__main__":
    interrupts.install()
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from cli.commands_compare import cmd_compare_models  # noqa: E402
from cli.commands_edit import cmd_directions, cmd_edit, cmd_movie, cmd_photo  # noqa: E402
from cli.commands_model import cmd_encode, cmd_export, cmd_gui, cmd_import, cmd_info, cmd_reconstruct, cmd_train  # noqa: E402
from cli.commands_sample import cmd_attributes, cmd_evaluate, cmd_generate, cmd_report, cmd_samplers  # noqa: E402
from cli.common import (  # noqa: E402,F401 - the names tests and scripts import from main
    EXIT_BAD_INPUT, EXIT_CANCELLED, EXIT_INTERNAL, BadInput, TqdmProgress, cli_name, raise_bad,
)
from cli.common import one_line as _one_line  # noqa: E402
from cli.outcome import outcome  # noqa: E402
from cli.parser import build_parser  # noqa: E402,F401

COMMANDS = {
    "train": cmd_train, "encode": cmd_encode, "reconstruct": cmd_reconstruct, "generate": cmd_generate,
    "samplers": cmd_samplers, "info": cmd_info, "gui": cmd_gui, "edit": cmd_edit, "attributes": cmd_attributes,
    "evaluate": cmd_evaluate, "directions": cmd_directions, "photo": cmd_photo, "import": cmd_import,
    "export": cmd_export, "report": cmd_report, "movie": cmd_movie, "compare-models": cmd_compare_models,
}


def run(argv=None) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    if argv is None:  # a command-line run (the console script too): Ctrl-C is engine/interrupts.py's
        interrupts.install()
    parser = build_parser()
    a = parser.parse_args(argv)
    command = a.command or "gui"
    if command == "gui":
        interrupts.uninstall()
    progress = TqdmProgress()
    interrupts.job_started()
    try:
        _refuse_empty_paths(a)
        status = COMMANDS[command](a, progress)
        interrupts.checkpoint()  # pressed, but swallowed by a library until the end: still 130
        return status
    except BaseException as exc:  # noqa: BLE001 - every outcome is one line and an exit status
        progress.close()
        status, line = outcome(exc, bad_input=BadInput, one_line=_one_line)
        if line is None:
            raise  # SystemExit; or a bug's traceback when asked (LFS_DEBUG=1)
        print(line, file=sys.stderr)
        return status


#: Arguments that name a file or folder: "" would silently mean the current folder (or the default model).
PATH_ARGS = {"data": "--data", "out": "--out", "model": "--model", "import_file": "--import", "screenshot": "--screenshot",
             "direction": "--direction", "from_": "--from", "to": "--to", "encoder": "--encoder", "decoder": "--decoder",
             "model_file": "--model-file", "architecture": "--architecture"}


def _refuse_empty_paths(a) -> None:
    for attr, flag in PATH_ARGS.items():
        value = getattr(a, attr, None)
        if value is not None and not str(value).strip():
            raise_bad(f"{flag}: an empty path; name the {'folder' if attr in ('data', 'out', 'model') else 'file'}")
        if value is not None and "\0" in str(value):
            raise_bad(f"{flag} {value!r}: a path cannot contain a NUL character")


def run_gui_entry() -> int:
    """Entry point of the windowed launcher (``latent-face-studio-gui``): always the GUI."""
    return run(["gui", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(run())
