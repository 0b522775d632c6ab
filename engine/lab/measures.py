"""What a direction does, measured; the lab's table (rows, sorting, text).

* ``pixel_mse``: mean squared pixel change (pixels in [0, 1]) when n typical faces are decoded at z and
  at z + v (one unit); ``feature_change``: the mean distance the move makes in the feature space of
  ``evaluate``'s Fréchet distance, divided by the median feature distance between two different real
  faces (1.0 = as far as another person's face).
* ``outside_2s``: the fraction of typical faces (z-points inside the cloud's 2σ Mahalanobis ellipsoid)
  that a ±2 move carries outside it (mean of + and −); ``maha_per_unit``: the Mahalanobis length of one
  unit, ``sqrt(vᵀΣ⁻¹v)`` (1 for a principal axis; larger = the direction leaves the cloud's shape).
* ``variance_share``: σ_v² / trace Σ. ``max_overlap``: the largest |cosine| with another direction of
  the set (:func:`overlap_matrix` gives them all).
* names and effects: :mod:`engine.lab.probes`.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from ..errors import EngineError
from ..progress import CancelToken, Progress, ProgressCallback, no_progress
from .direction import Direction, check_z, cloud
from .probes import AttributeProbes, name_directions, name_of


@dataclass
class DirectionMeasures:
    sigma: float  # z units per unit
    variance_share: float  # σ² / trace Σ
    maha_per_unit: float  # sqrt(vᵀΣ⁻¹v)
    outside_2s: float  # fraction of typical faces a ±2 move carries outside the 2σ ellipsoid
    outside_2s_plus: float
    outside_2s_minus: float
    max_overlap: float  # largest |cos| with another direction of the set
    overlap_with: Optional[int]  # its index
    label: str = ""
    top: list = field(default_factory=list)  # [(attribute, effect), …]
    effects: Optional[np.ndarray] = None  # (A,)
    pixel_mse: float = float("nan")  # per unit, pixels in [0, 1]
    feature_change: float = float("nan")  # per unit ÷ median feature distance between two faces


def overlap_matrix(directions: Sequence[Direction]) -> np.ndarray:
    """(k, k) cosines between the directions."""
    if not directions:
        return np.zeros((0, 0))
    u = np.stack([d.unit for d in directions])
    return u @ u.T


def _typical(z: np.ndarray, mean, W, n: int, seed: int) -> np.ndarray:
    from ..latent_stats import chi2_threshold

    y = (z - mean) @ W
    d2 = np.einsum("ij,ij->i", y, y)
    inside = np.flatnonzero(d2 <= float(chi2_threshold(2.0, z.shape[1])))
    if len(inside) == 0:
        inside = np.arange(len(z))
    rng = np.random.default_rng(seed)
    return rng.permutation(inside)[: min(n, len(inside))]


def measure_directions(z: np.ndarray, directions: Sequence[Direction], *, probes: Optional[AttributeProbes] = None,
                       model=None, features=None, n_faces: int = 64, n_typical: int = 3000, seed: int = 0,
                       progress: ProgressCallback = no_progress, cancel: Optional[CancelToken] = None) -> list[DirectionMeasures]:
    """The measures of the module docstring for each direction. ``model`` (for pixel_mse) and ``features`` (a
    FeatureSpace, for feature_change) are optional: without them those columns stay NaN."""
    from ..latent_stats import chi2_threshold, whitening

    cancel = cancel or CancelToken()
    z = check_z(z)
    mean, cov = cloud(z)
    W, _ = whitening(cov)
    total_var = float(np.trace(cov))
    q2 = float(chi2_threshold(2.0, z.shape[1]))
    idx = _typical(z, mean, W, n_typical, seed)
    y = (z[idx] - mean) @ W
    d2 = np.einsum("ij,ij->i", y, y)
    eff = name_directions(directions, probes) if probes is not None else None
    ov = overlap_matrix(directions)
    out = []
    for i, d in enumerate(directions):
        cancel.raise_if_cancelled()
        vw = d.vector @ W
        m2 = float(vw @ vw)
        cross = y @ vw
        plus = float(np.mean(d2 + 4 * cross + 4 * m2 > q2))
        minus = float(np.mean(d2 - 4 * cross + 4 * m2 > q2))
        others = np.abs(ov[i]).copy()
        others[i] = -1
        j = int(np.argmax(others)) if len(others) > 1 else None
        m = DirectionMeasures(d.sigma, d.sigma**2 / total_var if total_var > 0 else 0.0, math.sqrt(m2),
                              (plus + minus) / 2, plus, minus, float(others[j]) if j is not None else 0.0, j)
        if eff is not None and len(probes.names):
            m.effects = eff[i]
            m.label, m.top = name_of(eff[i], probes.names)
        out.append(m)
    if model is not None and directions:
        _image_measures(z, directions, out, model, features, n_faces, seed, progress, cancel)
    return out


def _image_measures(z, directions, out, model, features, n_faces, seed, progress, cancel) -> None:
    from ..encoding import decode_latents

    rng = np.random.default_rng(seed + 1)
    mean, cov = cloud(z)
    from ..latent_stats import whitening

    W, _ = whitening(cov)
    base_z = z[_typical(z, mean, W, n_faces, seed + 1)].astype(np.float32)
    base = decode_latents(model, base_z, cancel=cancel)
    fb = ref = None
    if features is not None:
        fb = features.features(base)
        pairs = rng.permutation(len(fb))
        dist = np.linalg.norm(fb - fb[pairs], axis=1)
        dist = dist[pairs != np.arange(len(fb))]
        ref = float(np.median(dist)) if len(dist) else float("nan")
    for i, d in enumerate(directions):
        cancel.raise_if_cancelled()
        progress(Progress("measuring directions", i, len(directions), f"decoding {d.name}"))
        moved = decode_latents(model, base_z + d.vector.astype(np.float32)[None, :], cancel=cancel)
        diff = (moved.astype(np.float32) - base.astype(np.float32)) / 255.0
        out[i].pixel_mse = float(np.mean(diff**2))
        if features is not None and ref and ref > 0:
            fm = features.features(moved)
            out[i].feature_change = float(np.mean(np.linalg.norm(fm - fb, axis=1)) / ref)
    progress(Progress("measuring directions", len(directions), len(directions), "done"))


#: (key, header, format) of the table's columns; every key sorts
COLUMNS = (
    ("index", "#", "{:>3}"),
    ("name", "direction", "{:<24}"),
    ("sigma", "σ (z)", "{:>7.3f}"),
    ("variance_share", "var %", "{:>6.2%}"),
    ("top_effect", "top effect", "{:>10.2f}"),
    ("pixel_mse", "pix MSE", "{:>8.5f}"),
    ("feature_change", "feat Δ", "{:>6.3f}"),
    ("outside_2s", "out 2σ", "{:>6.3f}"),
    ("maha_per_unit", "maha", "{:>6.2f}"),
    ("max_overlap", "max|cos|", "{:>8.3f}"),
    ("label", "moves most (effect: judge log-odds change per unit)", "{}"),
)
COLUMN_KEYS = tuple(c[0] for c in COLUMNS)


def table_rows(directions: Sequence[Direction], measures: Sequence[DirectionMeasures]) -> list[dict]:
    rows = []
    for i, (d, m) in enumerate(zip(directions, measures), 1):
        rows.append({
            "index": i, "name": d.name, "method": d.method, "sigma": m.sigma, "variance_share": m.variance_share,
            "top_effect": abs(m.top[0][1]) if m.top else float("nan"), "pixel_mse": m.pixel_mse,
            "feature_change": m.feature_change, "outside_2s": m.outside_2s, "maha_per_unit": m.maha_per_unit,
            "max_overlap": m.max_overlap, "label": m.label or d.label,
        })
    return rows


def sort_rows(rows: list[dict], column: Optional[str] = None, descending: Optional[bool] = None) -> list[dict]:
    """Rows sorted by ``column`` (a COLUMN_KEYS name, or its header; a leading '-' / '+' forces descending /
    ascending; numbers default to descending, text to ascending; NaN last)."""
    if not column:
        return list(rows)
    col = column.strip()
    if col[:1] in "+-" and len(col) > 1:
        descending, col = col[0] == "-", col[1:]
    by_header = {h.split(" (")[0].lower(): k for k, h, _ in COLUMNS}
    key = col if col in COLUMN_KEYS else by_header.get(col.lower())
    if key is None:
        raise EngineError(f"{column!r}: unknown column; allowed: {', '.join(COLUMN_KEYS)}", param="sort")
    numeric = key not in ("name", "label")
    if descending is None:
        descending = numeric and key != "index"

    def k(r):
        v = r.get(key)
        if numeric:
            bad = v is None or (isinstance(v, float) and math.isnan(v))
            return (bad, (-v if descending else v) if not bad else 0)
        return (False, str(v))

    out = sorted(rows, key=k)
    if descending and not numeric:
        out.reverse()
    return out


def format_table(rows: Sequence[dict]) -> str:
    """A text table of :func:`table_rows` (the name column as wide as the longest name, up to 48)."""
    width = max([24] + [min(48, len(str(r.get("name", "")))) for r in rows])
    cols = [(k, h, "{:<%d}" % width if k == "name" else f) for k, h, f in COLUMNS[:-1]]
    head = " ".join(_pad(h, f) for _, h, f in cols) + "  " + COLUMNS[-1][1]
    lines = [head]
    for r in rows:
        cells = []
        for key, _, fmt in cols:
            v = r.get(key)
            if isinstance(v, float) and math.isnan(v):
                cells.append(_pad("—", fmt))
            else:
                cells.append(fmt.format(v))
        lines.append(" ".join(cells) + "  " + str(r.get("label") or "—"))
    return "\n".join(lines)


def _pad(text: str, fmt: str) -> str:
    m = re.search(r"([<>])(\d+)", fmt)
    if not m:
        return text
    w = int(m.group(2))
    return text.ljust(w) if m.group(1) == "<" else text.rjust(w)

