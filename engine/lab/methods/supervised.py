"""Supervised directions: from the model's labels (``labels.csv``).

* ``attribute``: engine.attributes' editing direction (by default the class-balanced logistic probe on
  standardised z), rescaled to σ units.
* ``conditional`` ("move A, hold B, C …", InterFaceGAN's ``project_boundary`` for our cloud): A's
  editing direction ``v`` projected so that the *held attributes' judges do not change*: each held
  attribute has a linear judge (:class:`~engine.lab.probes.AttributeProbes`: its logit is ``w_B·z + b``),
  and the result ``v'`` satisfies ``w_B·v' = 0`` for every held B. Among the vectors that do, ``v'`` is
  the one closest to ``v`` in the **cloud's Mahalanobis metric** (``(v'−v)ᵀΣ⁻¹(v'−v)`` minimal):
  ``v' = v − ΣW (WᵀΣW)⁻¹ Wᵀv`` with W = [w_B, w_C, …]. The judges are (regularised) LDA-like probes,
  ``w_B ∝ Σ⁻¹d_B`` with ``d_B = Σw_B`` the held attribute's own direction in z, so ``w_B·v' = 0`` is
  ``v'ᵀΣ⁻¹d_B = 0``: **v' is orthogonal to the held direction in the Mahalanobis metric**, which is
  the metric in which a linear judge of B cannot see the move, and the correction runs along
  ``d_B`` — a well-populated direction of the cloud — instead of along ``w_B`` itself, which leans on
  low-variance axes the decoder hardly renders (and would push faces out of the cloud).
  The Euclidean cosine with the held editing direction is reported in ``meta`` too.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from ...errors import EngineError
from ..direction import Direction, check_z, cloud, sigma_scaled
from ..probes import AttributeProbes, attribute_probes
from . import MethodInputs, direction_method


def attribute_directions(z: np.ndarray, table, names: Sequence[str], method: Optional[str] = None) -> list[Direction]:
    """engine.attributes' editing directions of ``names`` (default method: the probe), in σ units."""
    from ...attributes import DEFAULT_EDIT_METHOD, attribute_direction

    z = check_z(z)
    if not names:
        raise EngineError(": name at least one attribute, e.g. Smiling or Smiling,Male", param="attribute")
    method = method or DEFAULT_EDIT_METHOD
    mean, cov = cloud(z)
    out = []
    for nm in names:
        ad = attribute_direction(z, table, nm, method)
        v = sigma_scaled(ad.unit, cov)[0]
        s = float(np.linalg.norm(v))
        out.append(Direction(nm, "attribute", v, origin=mean, meta={
            "attribute": nm, "attribute_method": method, "class_gap_sigma": float(ad.step / s) if s > 0 else None,
            "n_present": ad.n_present, "n_absent": ad.n_absent}))
    return out


def conditional_direction(z: np.ndarray, table, name: str, hold: Sequence[str], *, probes: AttributeProbes = None,
                          method: Optional[str] = None) -> Direction:
    """Move ``name`` while holding every attribute of ``hold``: see the module docstring (the held judges'
    logits stay constant; the projection is the nearest in the cloud's Mahalanobis metric)."""
    from ...attributes import DEFAULT_EDIT_METHOD, attribute_direction

    z = check_z(z)
    hold = [h for h in dict.fromkeys(hold)]
    if not hold:
        raise EngineError(": name at least one attribute to hold, e.g. {opt:hold} Male", param="hold")
    if name in hold:
        raise EngineError(f"{','.join(hold)}: {name} cannot be moved and held at once", param="hold")
    method = method or DEFAULT_EDIT_METHOD
    mean, cov = cloud(z)
    for h in hold:
        table.index(h)  # unknown names: one line listing the allowed ones
    if probes is None or any(h not in probes.names for h in hold):
        probes = attribute_probes(z, table, names=hold, cache=True)
    W = np.stack([probes.weights[probes.names.index(h)] for h in hold], axis=1)  # d × m
    ad = attribute_direction(z, table, name, method)
    v = ad.unit
    SW = cov @ W
    G = W.T @ SW
    try:
        coef = np.linalg.solve(G, W.T @ v)
    except np.linalg.LinAlgError:
        coef = np.linalg.lstsq(G, W.T @ v, rcond=None)[0]
    v2 = v - SW @ coef
    if np.linalg.norm(v2) < 1e-9 * np.linalg.norm(v):
        raise EngineError(f"{','.join(hold)}: nothing of {name}'s direction is left once they are held", param="hold")
    # keep "positive = more of the attribute"
    present, absent = table.groups(name)
    if (z[present].mean(axis=0) - z[absent].mean(axis=0)) @ v2 < 0:
        v2 = -v2
    vec = sigma_scaled(v2, cov)[0]
    u2 = vec / np.linalg.norm(vec)
    euclid = {}
    for h in hold:
        hd = attribute_direction(z, table, h, method).unit
        euclid[h] = float(abs(u2 @ hd))
    kept = float(abs(u2 @ v))
    s = float(np.linalg.norm(vec))
    return Direction(f"{name} | hold {','.join(hold)}", "conditional", vec, origin=mean, meta={
        "attribute": name, "hold": list(hold), "attribute_method": method,
        "metric": "Mahalanobis (cloud covariance); held judges' logits unchanged",
        "cosine_with_unconditional": kept, "euclidean_cosine_with_held": euclid,
        "class_gap_sigma": float(ad.step * (u2 @ ad.unit) / s) if s > 0 else None})


# ---- the registry's entries


@direction_method("attribute", kind="supervised", order=10, params=("attributes",),
                  help="one labelled direction per attribute named (the logistic probe)")
def _attribute(q: MethodInputs) -> list[Direction]:
    return attribute_directions(q.z, q.table, q.attributes)


@direction_method("conditional", kind="supervised", order=20, params=("attributes", "hold"),
                  help="move one attribute while the held ones do not change (their judges' logits stay constant)")
def _conditional(q: MethodInputs) -> list[Direction]:
    return [conditional_direction(q.z, q.table, nm, q.hold, probes=q.probes) for nm in q.attributes]
