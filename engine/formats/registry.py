"""One registry of the model formats: codecs (open a model folder), importers (read files made elsewhere) and
exporters (write a model folder in another format).

Each format module registers what it offers when it is imported, and ``engine/formats/__init__.py`` imports every
format module, so the registry is complete whenever any part of ``engine.formats`` is in use.

* A codec: a :class:`~engine.formats.codec.ModelCodec` subclass, registered with :func:`register_codec` under the
  ``"format"`` its ``config.json`` names; :func:`open_model` opens a folder with it.
* An importer: a name, the file suffixes it takes, ``sniff(path) -> float`` (how surely the file is of this
  format, reading at most a bounded head of it; 0: not this format; a ModelFileError when the file plainly is of
  this format but unusable) and ``import_files(...)`` giving the encoder's and decoder's ONNX bytes and the facts
  the files say (:class:`Importer`). :func:`importer_for` picks one by sniffing.
* An exporter: a name and a function writing a model folder from a model folder (:func:`register_exporter`).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import EngineError, ModelFileError

# ------------------------------------------------------------------------------------------------
# codecs: one per model folder format

CODECS: dict = {}
_DEFAULT: list = []  # the codec that reads a folder whose format is unknown (and names what is wrong)


def register_codec(cls=None, *, default: bool = False):
    """Make ``open_model`` open folders whose config.json says ``"format": cls.format_name`` (a decorator, with or
    without arguments). ``default``: the codec whose reader is tried on a folder of an unknown format."""
    def add(c):
        CODECS[c.format_name] = c
        if default:
            _DEFAULT[:] = [c]
        return c

    return add if cls is None else add(cls)


def codec_names() -> list[str]:
    """The ``"format"`` values of the model folders this app opens."""
    return list(CODECS)


def config_format(folder: Path) -> str:
    """The ``"format"`` a model folder's config.json names (validated by the codec that reads it)."""
    from .card import read_config_json

    if not Path(folder).exists():
        raise ModelFileError(f"{folder}: no such model folder")
    if not Path(folder).is_dir():
        raise ModelFileError(f"{folder}: a model is a folder with config.json and weights.safetensors, not a file")
    try:
        raw = read_config_json(folder)
    except ModelFileError:
        return ""  # the default codec's reader reads it again and names the problem
    fmt = raw.get("format") if isinstance(raw, dict) else None
    return fmt if isinstance(fmt, str) else ""


def refuse_links_out(folder: Path) -> None:
    """A model folder is read for its own bytes only: a file in it that is a link leading out of the folder (to
    another user's file, a device, a path that does not exist) is refused, naming it, before anything is read."""
    try:
        root = folder.resolve(strict=True)
        entries = list(os.scandir(folder)) if folder.is_dir() else []
    except OSError:
        return  # a missing or unreadable folder: the format's reader says what is wrong
    for entry in entries:
        if not entry.is_symlink() or entry.name.startswith("."):
            continue  # our own hidden records and temp files: their readers ignore anything but a regular file
        try:
            target = Path(entry.path).resolve(strict=True)
        except (OSError, RuntimeError):
            raise ModelFileError(f"{entry.path}: a link to nothing readable; a model folder holds its own files") from None
        if root not in target.parents:
            raise ModelFileError(f"{entry.path}: a link leading out of the model folder (to {target}); a model folder "
                                 "is read for its own files only — copy the file in instead")


def open_model(folder: str | os.PathLike, device: str = "cpu"):
    """Open a model folder with the codec its config.json names (validated; ModelFileError otherwise)."""
    folder = Path(folder)
    refuse_links_out(folder)
    fmt = config_format(folder)
    cls = CODECS.get(fmt) or _DEFAULT[0]  # an unknown format: the default reader says what is wrong
    return cls.open(folder, device)


# ------------------------------------------------------------------------------------------------
# importers: files made elsewhere → the encoder's and decoder's ONNX bytes + what the files say


@dataclass(frozen=True)
class Importer:
    """One importable format.

    ``import_files(encoder=None, decoder=None, model_file=None, *, architecture=None, split_layer=None, cancel)``
    returns ``(encoder_onnx_bytes, decoder_onnx_bytes, facts)``; ``facts``: ``image_size``, ``z_dim``,
    ``channel_order``, ``value_range`` (each None where the files do not say) and ``source`` (a dict of text:
    where the model came from; its ``encoder`` or ``model_file`` names the file messages name). It refuses the
    argument combinations it cannot take (a whole model in one file, a split layer), naming them."""

    name: str  # as messages and Imported.kind say it ("onnx", "keras")
    title: str  # "an ONNX", "a Keras": what an import summary calls it
    suffixes: tuple  # file name endings (lower case) that name this format
    sniff: Callable[[Path], float]
    import_files: Callable[..., tuple]


IMPORTERS: dict[str, Importer] = {}


def register_importer(importer: Importer) -> Importer:
    IMPORTERS[importer.name] = importer
    return importer


def importer_names() -> list[str]:
    return list(IMPORTERS)


def importer(name: str) -> Importer:
    return IMPORTERS[name]


def importer_for(path: Path) -> Importer:
    """The importer of the file ``path``: the one whose suffix it has, when that one's sniff agrees; otherwise the
    one whose sniff is surest (each reads at most a bounded head of the file). A sniff's ModelFileError (the file
    plainly is of its format, but unusable) is raised."""
    path = Path(path)
    name = path.name.lower()
    for imp in IMPORTERS.values():
        if imp.suffixes and name.endswith(tuple(imp.suffixes)) and imp.sniff(path) > 0:
            return imp
    best, score = None, 0.0
    for imp in IMPORTERS.values():
        s = imp.sniff(path)
        if s > score:
            best, score = imp, s
    if best is None:
        raise ModelFileError(f"{path}: not a model file this app imports ({', '.join(IMPORTERS)})")
    return best


# ------------------------------------------------------------------------------------------------
# exporters: a model folder → a model folder of another format


@dataclass
class Exported:
    folder: Path
    files: list
    z_dim: int
    image_size: int


#: name → ``export(model_folder, out, *, progress, cancel) -> Exported`` (``out``: checked by the caller, new or empty)
EXPORTERS: dict[str, Callable[..., Exported]] = {}


def register_exporter(name: str):
    """A decorator: the function writes the model folder ``out`` in format ``name`` from ``model_folder``."""
    def add(fn):
        EXPORTERS[name] = fn
        return fn

    return add


def exporter_names() -> list[str]:
    return list(EXPORTERS)


def exporter(name: str) -> Callable[..., Exported]:
    if name not in EXPORTERS:
        raise EngineError(f"{name!r}: expected one of {', '.join(EXPORTERS)}", param="format")
    return EXPORTERS[name]
