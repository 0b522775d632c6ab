"""How a command-line run ends: its exit status and the one line on stderr, for whatever ended it.

The lines speak the command line's language (``--n``, ``--batch-size``); the engine's errors are rendered
through :func:`cli.common.one_line`."""
from __future__ import annotations

import os

from engine import interrupts


def outcome(exc: BaseException, *, bad_input=(), one_line=str) -> tuple[int, "str | None"]:
    """(exit status, the one line for stderr) of a run that ended with ``exc``; the line is None when ``exc``
    must propagate (SystemExit, GeneratorExit; a bug's traceback with LFS_DEBUG=1).

    Ctrl-C (even one a library turned into another error) and a cancel: 130; bad input (``EngineError``,
    ``bad_input``), a full disk or another OSError, too little memory: 2; anything else is a bug: 1."""
    from engine.errors import Cancelled, EngineError

    if isinstance(exc, Cancelled):
        return interrupts.EXIT_STATUS, "cancelled; results written so far are intact"
    if interrupts.interrupted() or isinstance(exc, KeyboardInterrupt):
        return interrupts.EXIT_STATUS, interrupts.MESSAGE
    if isinstance(exc, (EngineError, bad_input)):
        return 2, f"error: {one_line(exc)}"
    if isinstance(exc, OSError):
        name = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        return 2, f"error: {name}{one_line(exc.strerror or exc)}"
    if isinstance(exc, MemoryError):
        return 2, "error: not enough memory for this request (use a smaller --n or --batch-size)"
    if not isinstance(exc, Exception) or os.environ.get("LFS_DEBUG"):
        return 1, None
    return 1, f"internal error: {type(exc).__name__}: {one_line(exc)} (set LFS_DEBUG=1 for the traceback)"
