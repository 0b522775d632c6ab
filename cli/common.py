"""What every command shares: bad-input errors, the model folder argument, argument types, progress on stderr,
the engine's parameter names as flags."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from engine import interrupts

EXIT_BAD_INPUT = 2
#: ``photo``: some photos missed (no face, unreadable), at least one written; every one missed is bad input (2)
EXIT_SOME_MISSED = 3
EXIT_CANCELLED = 130
EXIT_INTERNAL = 1


class TqdmProgress:
    """Renders engine Progress records as a tqdm bar on stderr (one bar per job name)."""

    def __init__(self, quiet: bool = False):
        self.quiet = quiet or not sys.stderr.isatty() and os.environ.get("LFS_PROGRESS") != "1"
        self.bar = None
        self.job = None

    def __call__(self, p) -> None:
        interrupts.checkpoint()  # a Ctrl-C that a library swallowed ends the job at its next step
        if self.quiet:
            return
        from tqdm import tqdm

        if self.bar is None or self.job != p.job or self.bar.total != p.total:
            self.close()
            self.bar = tqdm(total=p.total, desc=p.job, unit="", file=sys.stderr, leave=False, dynamic_ncols=True)
            self.job = p.job
        self.bar.n = p.done
        post = {}
        if p.epoch:
            post["epoch"] = f"{p.epoch}/{p.epochs}"
        if p.loss is not None:
            post["loss"] = f"{p.loss:.5f}"
        if p.val_loss is not None:
            post["val"] = f"{p.val_loss:.5f}"
        if post:
            self.bar.set_postfix(post, refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def model_dir(arg) -> Path:
    from engine.resources import default_model_dir

    if arg is None:
        return default_model_dir()
    if not str(arg).strip():
        raise_bad("--model: an empty path; name a model folder, or leave --model out for the embedded default model")
    return Path(arg)


def cuda_ok(device: str) -> bool:
    if device == "cpu":
        return False
    import torch

    return torch.cuda.is_available()


class BadInput(Exception):
    pass


def raise_bad(msg: str):
    raise BadInput(msg)


def _int_at_least(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is below the minimum {minimum}")
        return value

    parse.__name__ = f"int ≥ {minimum}"
    return parse


def _seed(text: str) -> int:
    from engine.formats.native import SEED_MAX  # what every random generator of the app takes whole

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 0 <= value <= SEED_MAX:
        raise argparse.ArgumentTypeError(f"{value} is outside 0 … {SEED_MAX}")
    return value


def _positive_float(text: str) -> float:
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be a finite number > 0")
    return value


def _image_size(text: str) -> int:
    value = _int_at_least(16)(text)
    if value % 16:
        raise argparse.ArgumentTypeError(f"{value} is not a multiple of 16 (4 stride-2 layers)")
    return value


def _channels(text: str) -> str:
    parts = [t.strip() for t in str(text).split(",")]
    if len(parts) != 4 or not all(t.isdigit() and int(t) > 0 for t in parts):
        raise argparse.ArgumentTypeError(f"{text!r}: expected 4 positive whole numbers, e.g. 32,64,128,256")
    return ",".join(parts)


def _device(text: str) -> str:
    import re

    if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", text):
        raise argparse.ArgumentTypeError(f"{text!r}: expected auto, cpu, cuda or cuda:N")
    return text


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, as for every bad input
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


#: parameters whose flag is not their name (``import_file`` → ``--import``), as the schemas declare them
#: (``Param.flag``; filled by ``cli.schema.add_params`` while the parser is built)
FLAG_NAMES: dict[str, str] = {}


def cli_name(param: str) -> str:
    """An engine parameter as the CLI names it: its flag (``image_size`` → ``--image-size``)."""
    if not FLAG_NAMES:  # the parser not built yet (a test, a script): build it once to learn the schemas' flags
        from .parser import build_parser

        build_parser()
    if param in FLAG_NAMES:
        return FLAG_NAMES[param]
    return "--" + param.rstrip("_").replace("_", "-")  # from_ (a Python keyword's parameter) → --from


def one_line(exc) -> str:
    from engine.errors import EngineError

    return " ".join((exc.render(cli_name) if isinstance(exc, EngineError) else str(exc)).split())

