"""Flags built from the workflows' option schemas (:class:`engine.params.Param` rows): one row, one flag
(a switch on by default, ``Param.off_help``, also its ``--no-…`` flag).

Names, defaults, ranges, choices and help come from the engine; this module only decides how argparse reads
them (the same argument types as the hand-written flags: ``int ≥ N``, seeds, positive numbers, image sizes, channel
widths)."""
from __future__ import annotations

from typing import Sequence

from .common import FLAG_NAMES, _channels, _device, _image_size, _int_at_least, _positive_float, _seed

#: the argument types of the rows' kinds (beyond their Python type)
KIND_TYPES = {"seed": _seed, "device": _device, "positive": _positive_float, "image_size": _image_size,
              "channels": _channels}


def flag_of(p) -> str:
    return "--" + (p.flag or p.name).replace("_", "-")


def off_flag_of(p) -> str:
    """The flag that turns off a switch on by default (``Param.off_help``): ``--no-batch-norm``."""
    return "--no-" + (p.flag or p.name).replace("_", "-")


def add_params(parser, params: Sequence, *, skip: Sequence[str] = (), **overrides) -> None:
    """Add one flag per row of ``params`` (the names in ``skip`` are left to the caller); ``overrides`` maps a
    row's name to argparse keywords that replace the built ones (a command's own help text, say)."""
    for p in params:
        if p.name in skip:
            continue
        if p.flag:
            FLAG_NAMES[p.name] = flag_of(p)
        kw: dict = {"dest": p.name}
        if p.type is bool and not p.repeat:
            kw.update(action="store_true")
            if p.default:
                kw["default"] = True
        else:
            if p.repeat:
                kw["action"] = "append"
            if p.required:
                kw["required"] = True
            else:
                kw["default"] = p.default
            if p.kind in KIND_TYPES:
                kw["type"] = KIND_TYPES[p.kind]
            elif p.type is int:
                kw["type"] = _int_at_least(int(p.minimum)) if p.minimum is not None else int
            elif p.type is float:
                kw["type"] = float
            if p.choices:
                kw["choices"] = tuple(p.choices)
            if p.metavar:
                kw["metavar"] = p.metavar
        if p.help:
            kw["help"] = p.help.replace("%", "%%")
        kw.update(overrides.get(p.name, {}))
        parser.add_argument(flag_of(p), **kw)
        if p.off_help is not None:  # a switch on by default: --no-x turns it off
            parser.add_argument(off_flag_of(p), dest=p.name, action="store_false", help=p.off_help.replace("%", "%%"))
