"""Exceptions the engine raises for bad input, typed: the engine speaks domain words, each front end renders them.

An error's message is one line naming the file and the problem. Where it names one of the user's options
(a command-line flag in the CLI, a control in the GUI), it does not spell it: the option is a *parameter
name* in the engine's words (``"out"``, ``"method"``, ``"image_size"``) and the front end names it.

* ``param=`` is the option the error is about; its name is put before the message
  (``EngineError(f"{out}: is not empty", param="out")``: the CLI says ``--out /x: is not empty``, the GUI
  ``Output folder /x: is not empty``).
  A message that begins with ``:`` is joined without a space (``EngineError(": an empty path", param="out")``:
  ``--out: an empty path``). A ``param`` that is not a parameter name (words, as a caller may give its own
  label: ``"model folder"``) is shown as it is; one given as a flag (``"--out"``, a caller not yet converted)
  is read as its parameter name.
* ``{opt:NAME}`` inside the message is another option the message mentions
  (``"… choose another name, or {opt:overwrite}"``).
* ``str(error)`` renders both in plain domain words (``out``, ``image size``); :meth:`EngineError.render` takes
  a front end's namer (``main.py``: ``--image-size``; ``gui/``: the control's label).

The other fields (``path``, ``holder``, ``model_id``, …) let a front end act on the error without reading its
text: the GUI never matches a message.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable, Optional

Namer = Callable[[str], Optional[str]]

_OPT = re.compile(r"\{opt:([a-z][a-z0-9_]*)\}")
_PARAM = re.compile(r"[a-z][a-z0-9_]*")
_FLAG = re.compile(r"--([a-z][a-z0-9-]*)")


def domain_name(param: str) -> str:
    """A parameter's name in plain words: ``image_size`` → ``image size``."""
    return param.replace("_", " ")


def _named(param: str, name_of: Optional[Namer]) -> str:
    """How a front end names ``param`` (``name_of``; unknown to it: domain words). A caller's own words for the
    option (not a parameter name) are shown as they are."""
    if not _PARAM.fullmatch(param):
        return param
    return (name_of(param) if name_of is not None else None) or domain_name(param)


def render_text(template: str, name_of: Optional[Namer] = None) -> str:
    """A text of the engine's (a message, a note) with its ``{opt:NAME}`` options named by ``name_of``."""
    return _OPT.sub(lambda m: _named(m.group(1), name_of), template)


class EngineError(Exception):
    """A problem the user can fix: the message names the file and the problem (see the module's doc)."""

    def __init__(self, message: str = "", *, param: Optional[str] = None, path: Any = None, **fields: Any) -> None:
        self.template = str(message)
        if param is not None and _FLAG.fullmatch(param):  # a caller still giving the flag: its parameter
            param = param[2:].replace("-", "_")
        self.param = param
        self.path = None if path is None else Path(path)
        self.fields = fields
        super().__init__(self.render())

    def render(self, name_of: Optional[Namer] = None) -> str:
        """The message with its options named by ``name_of`` (None, or a name it does not know: domain words)."""
        text = render_text(self.template, name_of)
        if not self.param:
            return text
        return f"{_named(self.param, name_of)}{'' if text.startswith(':') else ' '}{text}"

    def __str__(self) -> str:
        return self.render()

    def __getattr__(self, item: str) -> Any:  # the fields: error.holder, error.model_id …
        fields = self.__dict__.get("fields", {})
        if item in fields:
            return fields[item]
        raise AttributeError(item)

    def __reduce__(self):  # errors cross process boundaries (torchrun ranks, tests' children) intact
        return (_rebuild, (type(self), self.template, self.param, self.path, self.fields))


def _rebuild(cls, template, param, path, fields):
    return cls(template, param=param, path=path, **fields)


class DataError(EngineError):
    """A dataset folder or image list cannot be used."""


class ModelFileError(EngineError):
    """A model folder or one of its files is missing, damaged or does not match."""


class SamplerError(EngineError):
    """An unknown sampler, parameter or an out-of-range value."""


class NoFaceFound(DataError):
    """No face was found in a photo (``path``); the photo can still be framed by its centre square."""


class FolderHoldsModel(EngineError):
    """The destination (``path``) already holds a model: train over it only by resuming it."""


class OtherModelsFile(ModelFileError):
    """A file made for another model (``model_id`` is the one it names); it may be used anyway on request."""


class MissingExtra(EngineError):
    """A feature (``feature``: "training", "MP4 movies") needs a package this install left out (``package``: the
    module, e.g. ``torch``), one of the optional extras (``extra``: pyproject's name, e.g. ``train``). The message
    is one line saying what to install: the extra for a pip install, the full bundle for the viewer bundle."""

    def __init__(self, message: str = "", *, feature: str = "", package: str = "", extra: str = "", **fields: Any) -> None:
        if not message:
            message = missing_extra_text(feature, package, extra)
        super().__init__(message, feature=feature, package=package, extra=extra, **fields)


#: pyproject's optional extras and what each brings (``pip install "latent-face-studio[EXTRA]"``).
EXTRAS = {"train": "torch", "keras": "h5py and torch", "movie": "imageio-ffmpeg", "haar": "opencv-python-headless"}


def missing_extra_text(feature: str, package: str, extra: str) -> str:
    """The one line of a :class:`MissingExtra`: what is missing and what to install."""
    import sys

    what = f"{feature} needs {package}" if feature else f"this needs {package}"
    if getattr(sys, "frozen", False):  # a PyInstaller bundle: nothing to pip-install into it
        return f"{what}, which the viewer bundle leaves out; use the full bundle (latent-face-studio)"
    return (f"{what}, which is not installed; install it with: pip install \"latent-face-studio[{extra}]\" "
            f"(or pip install -r requirements.txt)")


def import_extra(module: str, *, feature: str = "", extra: str = "train"):
    """``importlib.import_module(module)``, or :class:`MissingExtra` when the package is not installed (an error of
    the package itself, once installed, is raised as it is)."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        if (exc.name or "").split(".")[0] != top:
            raise
        raise MissingExtra(feature=feature, package=top.replace("_", "-"), extra=extra) from None


def extra_missing(module: str, *, feature: str = "", extra: str = "train") -> Optional[MissingExtra]:
    """The :class:`MissingExtra` that importing ``module`` would raise, or None when it is installed; imports
    nothing (a front end greys out what cannot run)."""
    import importlib.util

    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        found = False
    top = module.split(".")[0]
    return None if found else MissingExtra(feature=feature, package=top.replace("_", "-"), extra=extra)


class Cancelled(Exception):
    """Raised inside a long job when its cancel token was set; earlier results stay intact."""


class QueryError(SamplerError):
    """A query (``Smiling and not Male and PC3 > 1``) that cannot be read or evaluated: ``query`` is its text,
    ``position`` the 0-based character where the problem starts (None when it is about the whole query), ``name``
    the unknown or refused name and ``suggestion`` the closest known one (or None). A :class:`SamplerError` so that
    the callers of the old condition syntax catch it unchanged."""
