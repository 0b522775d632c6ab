"""Attribute directions in z-space and editing along them.

:func:`attribute_direction` gives an :class:`AttributeDirection` by ``method="mean"`` (difference of
class means) or ``method="probe"`` (a class-balanced logistic regression on *standardised* z, its
weights mapped back to z units). Amounts are in one common unit for both: amount 1 moves a z-vector by
the gap between the two class means measured along the direction, i.e. from the "absent" mean to the
"present" mean for the mean method (``z + amount · step · unit``). :func:`edit_latents` applies a
list of amounts.

Which edits better, measured on the default model (``benchmarks/attribute_editing.py``, output in
``docs/attributes_editing.txt``: directions from one half of the z-points, judges — a latent probe
after decode/re-encode and a pixel-space logistic regression on decoded faces — from the other half,
200 faces per attribute and direction): moved the same distance in z (the mean direction's amount 1),
the probe direction flips about as many faces (pixel judge, add/remove averaged: Smiling 0.82 vs 0.81,
Male 0.85 vs 0.82, Young 0.67 vs 0.66, Blond_Hair 0.88 vs 0.81, Eyeglasses 0.76 vs 0.80, Bangs 0.62 vs
0.82) while changing the picture 2–3× less (mean |Δpixel| 3.7 vs 5.8, 3.6 vs 9.1, 2.8 vs 7.5, 9.4 vs
29.0, 5.0 vs 10.4, 5.5 vs 9.6) with about the same off-target drift (other attributes' judged labels
flipping: 0.07 vs 0.06, 0.18 vs 0.18, 0.09 vs 0.10; Blond_Hair 0.21 vs 0.12 is the exception). So the
probe direction is the better editor — the same effect for less collateral change — and is
``DEFAULT_EDIT_METHOD``; per unit of *amount* the mean direction is stronger (its step is longer), so
it stays available for bold edits. The ranking's probe on whitened z (≈ the LDA direction Σ⁻¹Δμ)
classifies as well but edits poorly (0.17–0.35 flips at the same distance): it leans on low-variance
directions that the decoder hardly renders, which is why the editing probe is fitted on standardised z.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..errors import DataError, SamplerError
from .labels import AttributeTable
from .probes import _logistic

#: the direction method the CLI and GUI use unless told otherwise (measured: see module docstring)
DEFAULT_EDIT_METHOD = "probe"
EDIT_METHODS = ("mean", "probe")


@dataclass
class AttributeDirection:
    """A direction in z-space; ``apply(z, a)`` moves by ``a`` class-mean gaps along it."""

    name: str
    method: str  # "mean" or "probe"
    unit: np.ndarray  # (d,) unit vector, pointing from "absent" to "present"
    step: float  # the class-mean gap along ``unit`` (z units): the length of amount 1
    n_present: int = 0
    n_absent: int = 0

    @property
    def vector(self) -> np.ndarray:
        return self.unit * self.step

    def apply(self, z: np.ndarray, amount: float) -> np.ndarray:
        return (np.asarray(z, dtype=np.float32) + np.float32(amount) * self.vector.astype(np.float32)).astype(np.float32)

    def to_json(self) -> dict:
        return {"attribute": self.name, "method": self.method, "step": float(self.step),
                "n_present": self.n_present, "n_absent": self.n_absent}


def _labels_for(z: np.ndarray, table: AttributeTable, name: str) -> tuple[np.ndarray, np.ndarray]:
    if len(table) != len(z):
        raise DataError(f"labels for {len(table)} z-points do not match the model's {len(z)} z-points")
    present, absent = table.groups(name)
    if present.sum() < 2 or absent.sum() < 2:
        raise SamplerError(
            f"attribute {name}: needs at least 2 labelled z-points with and 2 without it, "
            f"got {int(present.sum())} and {int(absent.sum())}"
        )
    return present, absent


def _direction_from(z, present, absent, name, method, unit) -> AttributeDirection:
    unit = np.asarray(unit, dtype=np.float64)
    unit = unit / (np.linalg.norm(unit) or 1.0)
    gap = float((z[present].mean(axis=0) - z[absent].mean(axis=0)) @ unit)
    if gap < 0:  # keep "positive amount = more of the attribute"
        unit, gap = -unit, -gap
    return AttributeDirection(name, method, unit, gap, int(present.sum()), int(absent.sum()))


def standardised_probe_weights(z: np.ndarray, y: np.ndarray, C: float = 0.05) -> np.ndarray:
    """Weights (in z units) of a class-balanced logistic regression on *standardised* z — the probe
    used as an editing direction. (The whitened probe of :func:`fit_probe` classifies as well but
    leans on low-variance directions that the decoder hardly renders, so it edits poorly; measured in
    benchmarks/attribute_editing.py.)"""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(z)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        lr = _logistic(C, True).fit(scaler.transform(z), np.asarray(y, dtype=bool))
    return lr.coef_[0] / scaler.scale_


def attribute_direction(z: np.ndarray, table: AttributeTable, name: str, method: str = DEFAULT_EDIT_METHOD,
                        *, C: float = 0.05) -> AttributeDirection:
    """The editing direction of attribute ``name`` ("mean": difference of class means; "probe": the
    weights of a logistic probe on standardised z, see :func:`standardised_probe_weights`)."""
    if method not in EDIT_METHODS:
        raise SamplerError(f"unknown direction method {method!r}; allowed: {', '.join(EDIT_METHODS)}")
    z = np.asarray(z, dtype=np.float64)
    present, absent = _labels_for(z, table, name)
    if method == "mean":
        unit = z[present].mean(axis=0) - z[absent].mean(axis=0)
    else:
        keep = present | absent
        unit = standardised_probe_weights(z[keep], present[keep], C)
    return _direction_from(z, present, absent, name, method, unit)


def edit_latents(z: np.ndarray, direction: AttributeDirection, amounts: Sequence[float]) -> np.ndarray:
    """z (d,) or (N, d) → (N, K, d): each z moved by each amount (in class-mean gaps) along ``direction``."""
    z = np.atleast_2d(np.asarray(z, dtype=np.float32))
    a = np.asarray(list(amounts), dtype=np.float32)
    return z[:, None, :] + a[None, :, None] * direction.vector.astype(np.float32)[None, None, :]
