"""Options declared once: the :class:`Param` rows every workflow's options and every sampler's parameters use.

A row names the option in the engine's words (``image_size``), its type, default, range or choices and one line of
help. The command line builds its flags from the rows (``cli/schema.py``), the GUI its controls; a front end never
repeats a default, a range or a list of registered names.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Optional, Sequence

import numpy as np

from .errors import EngineError


@dataclass(frozen=True)
class Param:
    name: str
    type: type  # float, int, str or bool
    default: Any
    help: str
    minimum: Optional[float] = None
    maximum: Optional[float] = None
    choices: Optional[Sequence[str]] = None
    #: the parameter a sweep of this sampler varies unless told otherwise (at most one per sampler)
    sweep: bool = False
    #: how a front end asks for it beyond its type: "seed" (0 … SEED_MAX), "positive" (a number > 0), "path"
    #: (a file or folder), "text" (a value the workflow parses, e.g. amounts -2:2:5), "device" (auto, cpu,
    #: cuda[:N]), "image_size" (a multiple of 16), "channels" (the 4 encoder channel widths, e.g. 32,64,128,256)
    kind: str = ""
    #: the option must be given (no default)
    required: bool = False
    #: the value shown in help (``FILE``, ``START:STOP:COUNT``)
    metavar: Optional[str] = None
    #: the front end's name when it is not the parameter's (the CLI's ``--from`` of ``frm``)
    flag: Optional[str] = None
    #: given several times, a list
    repeat: bool = False
    #: a switch on by default (``default=True``): the help of the front end's way to turn it off (the CLI's
    #: ``--no-…`` flag)
    off_help: Optional[str] = None

    #: the error raised for a bad value (samplers: SamplerError)
    error: ClassVar[type] = EngineError

    @property
    def sweepable(self) -> bool:
        """Numeric and without a list of choices: a sweep can vary it."""
        return self.type in (float, int) and not self.choices

    def describe(self) -> str:
        rng = ""
        if self.choices:
            rng = " one of " + "|".join(self.choices)
        elif self.minimum is not None or self.maximum is not None:
            lo = "-inf" if self.minimum is None else f"{self.minimum:g}"
            hi = "inf" if self.maximum is None else f"{self.maximum:g}"
            rng = f" in [{lo}, {hi}]"
        return f"{self.name}={self.default} ({self.type.__name__}{rng}): {self.help}"

    def parse(self, text: str, sampler: str = "") -> Any:
        """Text from the command line → a checked value."""
        where = f"{sampler}: " if sampler else ""
        try:
            if self.type is bool:
                low = str(text).strip().lower()
                if low not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                    raise ValueError
                value: Any = low in ("1", "true", "yes", "on")
            elif self.type is int:
                f = float(text)
                if not f.is_integer():
                    raise ValueError
                value = int(f)
            else:
                value = self.type(text)
        except (TypeError, ValueError):
            raise self.error(f"{where}{self.name}={text!r} is not a valid {self.type.__name__}; {self.describe()}") from None
        return self.check(value, sampler)

    def check(self, value: Any, sampler: str = "") -> Any:
        where = f"{sampler}: " if sampler else ""
        if self.type is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise self.error(f"{where}{self.name}={value!r} is not a finite number; {self.describe()}")
            value = float(value)
        elif self.type is int:
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise self.error(f"{where}{self.name}={value!r} is not an integer; {self.describe()}")
            value = int(value)
        elif self.type is bool:
            if not isinstance(value, bool):
                raise self.error(f"{where}{self.name}={value!r} is not true/false")
        elif self.type is str:
            value = str(value)
        if self.choices and value not in self.choices:
            raise self.error(f"{where}{self.name}={value!r} is not allowed; {self.describe()}")
        if self.minimum is not None and value < self.minimum:
            raise self.error(f"{where}{self.name}={value!r} is below the minimum; {self.describe()}")
        if self.maximum is not None and value > self.maximum:
            raise self.error(f"{where}{self.name}={value!r} is above the maximum; {self.describe()}")
        return value


def defaults(params: Sequence[Param]) -> dict:
    """``{name: default}`` of a schema."""
    return {p.name: p.default for p in params}


def find(params: Sequence[Param], name: str) -> Param:
    for p in params:
        if p.name == name:
            return p
    raise KeyError(name)
