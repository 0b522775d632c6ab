"""Entry script of the PyInstaller bundle: the same command line as ``main.py`` (no sub-command: the GUI).

The windowed executable of Windows/macOS builds (``latent-face-studio-gui``) always starts the GUI.
"""
import multiprocessing
import os
import sys
from pathlib import Path


def launch() -> int:
    multiprocessing.freeze_support()  # spawn-based start methods (Windows, macOS) re-enter the frozen program
    for name in ("stdout", "stderr"):  # a windowed Windows build has no console streams: give prints a sink
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))
    from main import run, run_gui_entry

    return run_gui_entry() if Path(sys.executable).stem.endswith("-gui") else run()


if __name__ == "__main__":
    sys.exit(launch())
