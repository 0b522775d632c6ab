"""Edit strips: faces moved along an attribute direction (``python main.py edit``).

A strip per face: the original image, a gap, then the decoded z-vector moved by each amount along
the attribute's direction (:class:`engine.attributes.AttributeDirection`; amount 1 = the gap between
the class means, so ``-2:2:5`` runs from "twice less" through the plain reconstruction at 0 to
"twice more"). The output folder holds ``<stem>.png`` per face, ``grid.png`` (all strips stacked)
and ``params.json`` (attribute, method, amounts, model id, files) written last.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from . import __version__, atomic_io, output_folders
from .errors import EngineError

PARAMS = "params.json"
GRID = "grid.png"


def parse_amounts(text: str) -> np.ndarray:
    """``"-2:2:5"`` (start:stop:count, both ends included) or ``"-1,0,1.5"`` or ``"2"`` → amounts."""
    t = str(text).strip()
    try:
        if ":" in t:
            parts = t.split(":")
            if len(parts) != 3:
                raise ValueError
            lo, hi, cnt = float(parts[0]), float(parts[1]), float(parts[2])
            if not cnt.is_integer() or cnt < 1 or cnt > 64:
                raise EngineError(f"{text!r}: the count must be a whole number from 1 to 64", param="amount")
            out = np.linspace(lo, hi, int(cnt))
        else:
            out = np.array([float(p) for p in t.split(",") if p.strip()])
    except ValueError:
        raise EngineError(f"{text!r}: expected START:STOP:COUNT (e.g. -2:2:5) or a list like -1,0,1", param="amount") from None
    if len(out) == 0 or len(out) > 64 or not np.isfinite(out).all():
        raise EngineError(f"{text!r}: expected 1 to 64 finite amounts (e.g. -2:2:5)", param="amount")
    if np.abs(out).max() > 100:
        raise EngineError(f"{text!r}: amounts are in direction units (class-mean gaps or σ); |amount| ≤ 100", param="amount")
    return out.astype(np.float64)


def edit_strips(model, z: np.ndarray, direction, amounts: Sequence[float], *, cancel=None) -> np.ndarray:
    """(N, d) z-vectors → (N, K, S, S, 3) uint8: each decoded after moving by each amount."""
    from .attributes import edit_latents
    from .encoding import decode_latents

    moved = edit_latents(z, direction, amounts)  # (N, K, d)
    n, k, d = moved.shape
    images = decode_latents(model, moved.reshape(n * k, d), cancel=cancel)
    return images.reshape(n, k, *images.shape[1:])


def strip_image(tiles: np.ndarray, original: Optional[np.ndarray] = None, pad: int = 2, gap: int = 6,
                background: int = 255) -> np.ndarray:
    """One row: [original, gap,] tile, tile, … (uint8 H×W×3)."""
    k, h, w = tiles.shape[:3]
    lead = (w + gap) if original is not None else 0
    out = np.full((h + 2 * pad, pad + lead + k * (w + pad), 3), background, np.uint8)
    x = pad
    if original is not None:
        out[pad : pad + h, x : x + w] = original
        x += w + gap
    for t in tiles:
        out[pad : pad + h, x : x + w] = t
        x += w + pad
    return out


def write_edit_strips(
    folder: str | os.PathLike, names: Sequence[str], strips: np.ndarray, originals: Optional[np.ndarray],
    params: dict, *, overwrite: bool = False, inputs=(),
) -> Path:
    """Write ``<stem>.png`` per face, ``grid.png`` and ``params.json`` (last) into ``folder``.

    Staged and moved into place by the rules of :mod:`engine.output_folders` (new, empty or edit
    strips we wrote; never inside ``inputs``); ``face.jpg`` and ``face.png`` get distinct strips.
    """

    def fill(stage: Path) -> dict:
        out_files = output_folders.unique_file_names((Path(n).stem for n in names), reserved=(GRID, PARAMS))
        rows = []
        for i, fname in enumerate(out_files):
            row = strip_image(strips[i], None if originals is None else originals[i])
            atomic_io.write_staged(stage / fname, atomic_io.png_bytes(row))
            rows.append(row)
        if rows:
            atomic_io.save_png(stage / GRID, np.concatenate(rows, axis=0))
        meta = dict(params)
        meta.setdefault("app_version", __version__)
        meta["files"] = out_files
        meta["sources"] = list(names)
        return meta

    return output_folders.write_owned_set(folder, "edit-strips", fill, overwrite=overwrite, inputs=inputs)


class Move:
    """One way to move z-vectors: ``z + amount·vector``, with the words that say what it is.

    ``vector`` is the z-space length of one unit of amount; ``unit`` says what a unit is (one σ of the
    cloud along the direction for axes and lab directions, the gap between the class means for an
    attribute). :meth:`provenance` is what a moved set records in its ``params.json``.
    """

    def __init__(self, name: str, kind: str, vector, unit: str, facts: Optional[dict] = None) -> None:
        self.name, self.kind, self.unit = str(name), str(kind), str(unit)
        self.vector = np.asarray(vector, np.float64).reshape(-1)
        if not np.isfinite(self.vector).all():
            raise EngineError(f"{name}: the direction holds NaN or infinite values")
        self.facts = dict(facts or {})

    @classmethod
    def of_attribute(cls, direction) -> "Move":
        """An attribute's editing direction (``engine.attributes.AttributeDirection``): amount in class-mean gaps."""
        return cls(direction.name, "attribute", direction.vector, ATTRIBUTE_UNIT, direction.to_json())

    @classmethod
    def of_direction(cls, direction) -> "Move":
        """A direction of the lab (``engine.lab.Direction``): amount in σ of the cloud along it."""
        facts = {"method": direction.method, "sigma": direction.sigma}
        if direction.label:
            facts["label"] = direction.label
        return cls(direction.name, "direction", direction.vector, SIGMA_UNIT, facts)

    @classmethod
    def of_axis(cls, stats, axis) -> "Move":
        """A principal axis (``("pca", k)``) or a component (``("z", i)``) of the cloud: amount in σ along it."""
        from .atlas import plane_axis

        ax = plane_axis(stats, axis, "axis")
        sd = float(np.sqrt(max(ax.vector @ np.asarray(stats.cov, np.float64) @ ax.vector, 0.0)))
        if sd <= 0:
            raise EngineError(f"{ax.label}: the cloud does not vary along it (σ = 0)", param="axis")
        return cls(ax.label, "axis", ax.vector * sd, SIGMA_UNIT, {"sigma": sd})

    def apply(self, z: np.ndarray, amount: float) -> np.ndarray:
        """Every row of ``z`` (n, d) moved by ``amount`` units: ``z + amount·vector`` (float32)."""
        z = np.asarray(z, np.float32)
        if z.shape[-1] != len(self.vector):
            raise EngineError(f"{self.name}: a direction of {len(self.vector)} components for z-vectors of "
                              f"{z.shape[-1]}")
        return (z + np.float32(amount) * self.vector.astype(np.float32)).astype(np.float32)

    def provenance(self, amount: float) -> dict:
        """What was applied, by how much and in which unit (JSON-safe), for a moved set's ``params.json``."""
        from .lab.direction import json_safe

        return {"kind": self.kind, "name": self.name, "amount": float(amount), "unit": self.unit,
                "z_length_per_unit": float(np.linalg.norm(self.vector)), **json_safe(self.facts)}


SIGMA_UNIT = "σ of the cloud along the direction"
ATTRIBUTE_UNIT = "gaps between the class means (1 = from the mean without to the mean with the attribute)"
