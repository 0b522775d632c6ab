"""Attribute judges and the names they give directions (cached).

Per labelled attribute, engine.attributes' LinearProbe (class-balanced logistic regression on the whitened
cloud, C = 0.05 — the ranking's probe and the judge of ``evaluate``), cached in the user's cache folder (sealed,
``lab.cache``) and shipped with the default model (about 40 s to train for its 40 attributes).
**Effect size** of a direction v on attribute a: ``e_a = w_a·v``, the change of the judge's **log-odds** of
a for one unit (1σ) along v: ``+1.3`` multiplies the odds the judge gives the attribute by e^1.3 ≈ 3.7 per
step, ``-0.2`` divides them by 1.22. (For two Gaussian classes with a shared covariance the logistic judge
is LDA and e_a is Cohen's d of the attribute's groups along the direction.) A log-odds scale does not
inflate weak attributes — a judge that barely separates an attribute has a flat logit — whereas dividing by
the class-mean logit gap did (measured: it named the principal axes after Big_Lips, Oval_Face,
Wearing_Necklace). The name is the three largest ``|e_a|``, signed:
``"+Smiling 1.30, +Mouth_Slightly_Open 0.90, −Male 0.20"``.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from ..errors import EngineError
from ..progress import CancelToken, Progress, ProgressCallback, no_progress
from .cache import CACHE_VERSION, load_cached, save_cached
from .direction import Direction, check_z

PROBE_C = 0.05
MIN_GROUP = 10  # an attribute judge needs this many labelled z-points with and without the attribute


@dataclass
class AttributeProbes:
    """One linear judge per labelled attribute: logit_a(z) = weights[a]·z + bias[a];
    ``gaps[a]`` = weights[a]·(μ₊ − μ₋), the logit gap between the class means (for reference)."""

    names: list[str]
    weights: np.ndarray  # (A, d)
    bias: np.ndarray  # (A,)
    gaps: np.ndarray  # (A,)
    n_present: np.ndarray  # (A,)
    n_absent: np.ndarray  # (A,)

    def effects(self, vectors: np.ndarray) -> np.ndarray:
        """(k, d) direction vectors → (k, A) effect sizes: the judges' log-odds change per unit."""
        v = np.atleast_2d(np.asarray(vectors, dtype=np.float64))
        return v @ self.weights.T


def _probe_key(z: np.ndarray, table, names: Sequence[str]) -> str:
    h = hashlib.blake2b(digest_size=16)
    z = np.ascontiguousarray(z, dtype=np.float32)
    vals = np.ascontiguousarray(table.values, dtype=np.float32)
    h.update(f"probes v{CACHE_VERSION}|C{PROBE_C}|{z.shape}|{vals.shape}|{json.dumps(list(names))}|{json.dumps(list(table.names))}|".encode())
    h.update(memoryview(z).cast("B"))
    h.update(memoryview(vals).cast("B"))
    return h.hexdigest()


def _probes_path(key: str):
    from ..image_data import default_cache_dir

    return default_cache_dir("directions") / f"probes-{key}.npz"


_FIELDS = ("names", "weights", "bias", "gaps", "n_present", "n_absent")


def probes_cached(z: np.ndarray, table, names: Optional[Sequence[str]] = None) -> bool:
    """True when the judges of these z-points and labels are in the cache (or shipped with the default model)."""
    todo = list(names) if names is not None else list(table.names)
    key = _probe_key(np.asarray(z, dtype=np.float32), table, todo)
    return load_cached(_probes_path(key), key, _FIELDS) is not None


def attribute_probes(z: np.ndarray, table, *, names: Optional[Sequence[str]] = None, cache: bool = True,
                     progress: ProgressCallback = no_progress, cancel: Optional[CancelToken] = None) -> AttributeProbes:
    """A class-balanced logistic judge (engine.attributes.LinearProbe, whitened, C=0.05) per attribute with at
    least MIN_GROUP labelled z-points in each group; cached in the user's cache folder (keyed by z and labels)."""
    from ..attributes import LinearProbe, Whitener

    cancel = cancel or CancelToken()
    z = check_z(z)
    if len(table) != len(z):
        raise EngineError(f"labels for {len(table)} z-points do not match the model's {len(z)} z-points")
    todo = list(names) if names is not None else list(table.names)
    for nm in todo:
        table.index(nm)
    key = _probe_key(z, table, todo)
    path = _probes_path(key)
    fields = _FIELDS
    if cache:
        hit = load_cached(path, key, fields)
        if hit is not None and hit["weights"].shape[1:] == (z.shape[1],):
            progress(Progress("attribute judges", 1, 1, "from cache"))
            return AttributeProbes([str(s) for s in hit["names"]], hit["weights"], hit["bias"], hit["gaps"],
                                   hit["n_present"], hit["n_absent"])
    wh = Whitener(z)
    out_names, W, B, G, NP, NA = [], [], [], [], [], []
    for i, nm in enumerate(todo):
        cancel.raise_if_cancelled()
        progress(Progress("attribute judges", i, len(todo), f"fitting {nm}"))
        p, a = table.groups(nm)
        if p.sum() < MIN_GROUP or a.sum() < MIN_GROUP:
            continue
        keep = p | a
        pr = LinearProbe(PROBE_C, True, wh).fit(z[keep], p[keep])
        gap = float((z[p].mean(axis=0) - z[a].mean(axis=0)) @ pr.weights)
        out_names.append(nm)
        W.append(pr.weights)
        B.append(pr.bias)
        G.append(gap)
        NP.append(int(p.sum()))
        NA.append(int(a.sum()))
    progress(Progress("attribute judges", len(todo), len(todo), "done"))
    d = z.shape[1]
    res = AttributeProbes(out_names, np.array(W, dtype=np.float64).reshape(-1, d), np.array(B, dtype=np.float64),
                          np.array(G, dtype=np.float64), np.array(NP, dtype=np.int64), np.array(NA, dtype=np.int64))
    if cache:
        save_cached(path, key, names=np.array(out_names, dtype=str), weights=res.weights, bias=res.bias,
                    gaps=res.gaps, n_present=res.n_present, n_absent=res.n_absent)
    return res


def shipped_probes_file(z: np.ndarray, table) -> tuple[str, bytes]:
    """(file name, bytes) of the judges of ``z`` and every attribute of ``table``, to ship with a packaged model
    (``scripts/ship_fast_path.py``; ``sealed_npz.shipped`` reads it)."""
    from ..sealed_npz import encode_shipped

    z = check_z(z)
    key = _probe_key(z, table, list(table.names))
    res = attribute_probes(z, table, cache=False)
    return _probes_path(key).name, encode_shipped(key, dict(
        names=np.array(res.names, dtype=str), weights=res.weights, bias=res.bias, gaps=res.gaps,
        n_present=res.n_present, n_absent=res.n_absent))


def name_of(effects_row: np.ndarray, names: Sequence[str], top: int = 3) -> tuple[str, list[tuple[str, float]]]:
    """``"+Smiling 1.30, +Mouth_Slightly_Open 0.90, −Male 0.20"`` and the (name, effect) pairs."""
    e = np.asarray(effects_row, dtype=np.float64)
    order = np.argsort(-np.abs(e), kind="stable")[:top]
    pairs = [(names[i], float(e[i])) for i in order]
    text = ", ".join(f"{'+' if v >= 0 else '−'}{n} {abs(v):.2f}" for n, v in pairs)
    return text, pairs


def name_directions(directions: Sequence[Direction], probes: AttributeProbes, top: int = 3) -> np.ndarray:
    """Sets each direction's ``label``; returns the (k, A) effect matrix."""
    if not directions:
        return np.zeros((0, len(probes.names)))
    eff = probes.effects(np.stack([d.vector for d in directions]))
    if len(probes.names):
        for d, row in zip(directions, eff):
            d.label, _ = name_of(row, probes.names, top)
    return eff
