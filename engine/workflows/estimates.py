"""How long a job is expected to take, known before it starts: so that a job of a minute says so first.

Each use case that can be slow has an ``expected_*`` function here returning an :class:`Expected`: a rough
number of seconds and whether the slow part happens only the first time for a model (a sampler's fit, the
attribute judges: cached afterwards). The slow fits say their own cost and whether they are cached (a sampler's
``fit_seconds``/``fit_is_cached`` through ``generate.fit_estimate``; the judges' ``lab.probes_seconds``/
``probes_cached``), asked in one place each (:func:`fit_cost`, :func:`judges_cost`). The rest is this table,
measured on a quiet two-core machine with the default model (9,000 z-points of 256 components), scaled by the
size of the work and by how busy the machine is now (:func:`busy_factor`). They are meant to say "a few
seconds" or "about a minute", not to the second.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

#: A job expected to take longer than this says so as it starts.
LONG_JOB_S = 3.0

#: the reference cloud the table's seconds were measured on (quiet machine, two cores)
REF_POINTS, REF_DIM = 9000, 256
#: decoding one face (ONNX Runtime or torch on the CPU)
DECODE_S_PER_FACE = 0.01
#: a direction method and its measures on the reference cloud (ica, pca, …), beside the attribute judges
METHOD_S = 4.0
#: the report's parts: the six statistics figures; one atlas (12×12 faces, drawn); the sampler comparison
REPORT_STATISTICS_S = 6.0
REPORT_ATLAS_S = 1.5
REPORT_FACE_GRID_S = 0.8  # drawing one sampler's grid, beside its fit and decode
COMPARISON_S_PER_SAMPLER = 25.0  # evaluate: n faces, their features, the data's features, the metrics


@dataclass(frozen=True)
class Expected:
    """A job's expected duration: ``seconds``; ``first_time`` when most of it is done once for this model and
    cached afterwards (then ``cached_seconds`` is the time of the later runs); ``what`` names the slow part."""

    seconds: float
    first_time: bool = False
    what: str = ""
    cached_seconds: Optional[float] = None

    @property
    def long(self) -> bool:
        """Long enough to say so before it starts."""
        return self.seconds > LONG_JOB_S

    def duration(self) -> str:
        """The expected time in plain words: "a few seconds", "about 20 s", "about a minute", "about 3 minutes"."""
        return about(self.seconds)

    def notice(self, what: bool = True) -> str:
        """What a job says as it starts: "first time for this model: about 20 s (fitting gmm); cached afterwards"
        (without the slow part's name when ``what`` is False: a status bar's short line)."""
        what = f" ({self.what})" if self.what and what else ""
        if self.first_time:
            return f"first time for this model: {self.duration()}{what}; cached afterwards"
        return f"expected to take {self.duration()}{what}"

    def __add__(self, other: "Expected") -> "Expected":
        cached = None
        if self.first_time or other.first_time:
            cached = _cached(self) + _cached(other)
        what = "; ".join(w for w in (self.what, other.what) if w)
        return Expected(self.seconds + other.seconds, self.first_time or other.first_time, what, cached)


def _cached(e: Expected) -> float:
    return e.cached_seconds if e.cached_seconds is not None else e.seconds


def about(seconds: float) -> str:
    """A duration as a person says it, rounded to what an estimate can promise."""
    s = float(seconds)
    if s < 1.5:
        return "about a second"
    if s < 8:
        return "a few seconds"
    if s < 45:
        return f"about {int(5 * round(s / 5))} s"
    if s < 90:
        return "about a minute"
    return f"about {int(round(s / 60))} minutes"


def clock(seconds: float) -> str:
    """Elapsed or remaining time on a clock: "0:07", "2:31", "1:02:00"."""
    s = max(0, int(round(seconds)))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def busy_factor() -> float:
    """How much slower than the table this machine is now: its load per core (1 on an idle machine, at most 6),
    applied to this table's own numbers (measured on a quiet machine)."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # not on this system
        return 1.0
    return float(min(6.0, max(1.0, load / max(1, os.cpu_count() or 1))))


def declared_busy_factor() -> float:
    """The same for the costs the fits declare themselves, measured with a core already busy: half the factor."""
    return max(1.0, busy_factor() / 2)


def _busy(e: Expected) -> Expected:
    f = busy_factor()
    if f == 1.0:
        return e
    cached = None if e.cached_seconds is None else e.cached_seconds * f
    return Expected(e.seconds * f, e.first_time, e.what, cached)


def _scale(points: int, dim: int, power: float = 1.0) -> float:
    """The work of a cloud of ``points`` × ``dim`` relative to the reference (``dim`` to ``power``)."""
    return max(0.05, (points / REF_POINTS) * (dim / REF_DIM) ** power)


# ---- the slow parts and their caches: one question each ---------------------------------------------------


def fit_cost(opened, sampler: str, values: Optional[dict], where=None, fits=None) -> tuple[float, bool]:
    """(seconds the sampler's fit takes, whether it is cached: kept in ``fits``, on disk or shipped): the sampler's
    own declaration of its cost and cache (``generate.fit_estimate``; measured on a busy machine already)."""
    from .generate import fit_estimate

    seconds, cached = fit_estimate(opened, sampler, values, where, fits)
    return (seconds if cached else seconds * declared_busy_factor()), cached


def fit_cached(opened, sampler: str, values: Optional[dict], where=None, fits=None) -> bool:
    """Whether that fit is kept (this session's ``fits``, the sampler's disk cache, or shipped): no fit to wait for."""
    try:
        return fit_cost(opened, sampler, values, where, fits)[1]
    except Exception:  # noqa: BLE001 - unknown sampler or values: the job itself will say why
        return False


def judges_cost(z: np.ndarray, table) -> tuple[float, bool]:
    """(seconds training the attribute judges takes, whether they are cached or shipped) for these z-points and
    labels (``lab.probes_seconds``, ``lab.probes_cached``); no labels: no judges."""
    if table is None:
        return 0.0, True
    from ..lab import probes_cached, probes_seconds

    return probes_seconds(z, table) * declared_busy_factor(), probes_cached(z, table)


# ---- the use cases ----------------------------------------------------------------------------------------


def expected_generate(opened, sampler: str, values: Optional[dict], n: int, where=None, fits=None) -> Expected:
    """Generate ``n`` faces with ``sampler``: its fit (unless cached) and the decode."""
    decode = n * DECODE_S_PER_FACE * busy_factor()
    if opened.latents is None:
        return Expected(decode)
    fit, cached = fit_cost(opened, sampler, values, where, fits)
    if cached or fit <= LONG_JOB_S:
        return Expected(fit + decode)
    return Expected(fit + decode, first_time=True, what=f"fitting the {sampler} sampler", cached_seconds=decode)


def expected_judges(z: np.ndarray, table) -> Expected:
    """The attribute judges that name directions: trained once for these z-points and labels, cached afterwards."""
    seconds, cached = judges_cost(z, table)
    if cached:
        return Expected(0.0)
    return Expected(seconds, first_time=True, what="training the attribute judges", cached_seconds=0.0)


def expected_directions(z: np.ndarray, table, method: str, k: int = 10) -> Expected:
    """The Directions panel's Compute: the judges (first time), the method, the measures."""
    method_s = METHOD_S * _scale(*np.shape(z)) * max(1.0, k / 10)
    return expected_judges(z, table) + _busy(Expected(method_s))


def expected_report_parts(opened, data=None, samplers: Optional[Sequence[str]] = None, faces: int = 16,
                          atlas_side: int = 12, fits=None) -> dict[str, Expected]:
    """Each part of the report (see ``report.REPORT_PARTS``): the statistics figures, the faces of each sampler
    (their fits unless cached), the atlas, and the sampler comparison (with a data folder)."""
    from ..samplers import compared_samplers

    names = list(samplers) if samplers else list(compared_samplers())
    points, dim = opened.latents.shape if opened.latents is not None else (REF_POINTS, REF_DIM)
    out = {"statistics": _busy(Expected(REPORT_STATISTICS_S * max(0.3, math.sqrt(points / REF_POINTS))))}
    grid = Expected(0.0)
    for name in names:
        grid = grid + expected_generate(opened, name, None, faces, fits=fits) + _busy(Expected(REPORT_FACE_GRID_S))
    out["faces"] = grid
    out["atlas"] = _busy(Expected(REPORT_ATLAS_S * (atlas_side / 12) ** 2))
    out["comparison"] = _busy(Expected(COMPARISON_S_PER_SAMPLER * len(names), what="generating and judging faces "
                                       f"of {len(names)} samplers against the dataset"))
    return out
