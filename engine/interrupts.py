"""Ctrl-C (SIGINT) in a command-line run: exit status 130, one line, nothing written half — at any moment.

Python's own handler raises ``KeyboardInterrupt`` wherever the main thread happens to be, and three places
turn that into something else: the imports before ``main.py`` has parsed anything (a traceback), an import of
a compiled extension (numpy re-raises it as "C-extensions failed … bad install", onnxruntime's fails with an
``ImportError`` that a fallback then swallows, and the whole job runs), and code that catches broad errors.
:func:`install`, the first thing ``main.py`` does, replaces that handler:

* before the job starts (imports, argument parsing) nothing has been written: one line, ``os._exit(130)``;
* during the job, inside an import (a frame of ``importlib`` on the stack): at once as well when no write
  is under way (``atomic_io.writes_in_flight()``: no temp file, no staging folder); otherwise the interrupt
  is held back and delivered by a 20 ms timer (SIGALRM) as soon as the import is done — in plain code,
  where ``finally`` blocks and the atomic writers remove their temp files;
* elsewhere it raises ``KeyboardInterrupt`` (a second Ctrl-C within a second does not cut the clean-up short);
* an interrupt that was swallowed anyway is raised again at the next :func:`checkpoint` (every progress
  report), and :func:`interrupted` lets the CLI end with 130 whatever the job then did.

Only the main thread of a process that called :func:`install` is affected (tests calling ``main.run`` are not).
The exit status and one line of a run that ended (``cli/outcome.py``) belong to the command line.
"""
from __future__ import annotations

import os
import signal
import sys
import time

MESSAGE = "interrupted; the last completed checkpoint and files are intact"
EXIT_STATUS = 130
_IMPORT_FRAMES = ("<frozen importlib._bootstrap>", "<frozen importlib._bootstrap_external>")
_state = {"installed": False, "job": False, "interrupted": False, "held": False, "at": 0.0}


def install() -> None:
    """Take over SIGINT for this command-line run (main thread only)."""
    signal.signal(signal.SIGINT, _on_sigint)
    _state["installed"] = True


def uninstall() -> None:
    """Python's default handler again (the GUI handles its own window closing)."""
    if _state["installed"]:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        _state["installed"] = False


def job_started() -> None:
    """From now on files may be written: an interrupt unwinds the job instead of ending the process at once."""
    _state["job"] = True


def interrupted() -> bool:
    """True once Ctrl-C was pressed during the job (delivered or not)."""
    return _state["interrupted"] or _state["held"]


def checkpoint() -> None:
    """Raise ``KeyboardInterrupt`` when an interrupt was pressed and has not ended the job (it was swallowed)."""
    if _state["installed"] and interrupted():
        _state["held"], _state["interrupted"] = False, True
        raise KeyboardInterrupt


def exit_now() -> None:
    try:
        os.write(2, (MESSAGE + "\n").encode())
    finally:
        os._exit(EXIT_STATUS)


def _in_import(frame) -> bool:
    while frame is not None:
        if frame.f_code.co_filename in _IMPORT_FRAMES:
            return True
        frame = frame.f_back
    return False


def _on_sigint(signum, frame) -> None:
    if not _state["job"]:
        exit_now()
    if _state["held"] or (_state["interrupted"] and time.monotonic() - _state["at"] < 1.0):
        return  # already on its way out: let the clean-up finish (a press a second later is raised again)
    if _in_import(frame):
        in_flight = getattr(sys.modules.get("engine.atomic_io"), "writes_in_flight", None)  # None: not (yet) imported
        if in_flight is None or in_flight() == 0:
            exit_now()  # no temp file or staging folder exists: nothing to clean up, nothing written half
        if hasattr(signal, "setitimer"):  # not on Windows: there it is raised at once, as Python would
            _state["held"] = True
            _arm()
            return
    _state["interrupted"], _state["at"] = True, time.monotonic()
    raise KeyboardInterrupt


def _arm() -> None:
    signal.signal(signal.SIGALRM, _deliver)
    signal.setitimer(signal.ITIMER_REAL, 0.02)


def _deliver(signum, frame) -> None:
    if not _state["held"]:
        return
    if _in_import(frame):
        _arm()
        return
    _state["held"] = False
    _state["interrupted"], _state["at"] = True, time.monotonic()
    raise KeyboardInterrupt
