"""Statistics of a group of z-points (a selection) against the whole cloud or a second group.

* **Per component**: the group's histogram beside the whole cloud's on shared bins, its mean shift (in the whole
  cloud's σ of that component) and its σ ratio.
* **Attribute prevalence**: the share of the group with each label present, and the judges' mean probability,
  against the whole set.
* **What distinguishes it**: labels, judges and directions (the principal axes, plus any lab ``Direction`` given)
  ranked by how they separate the group from the rest (or from a second group): the **AUC** (the chance that a
  random member of the group lies further along than a random member of the other: 0.5 = no separation; 1 or 0 =
  complete, the sign says which side) and the **standardized mean difference** ``(mean_group − mean_other) / σ``,
  with σ the *whole cloud's* σ along it: the lab's unit (:mod:`engine.lab.direction`), so SMD 1 = one step of the
  lab's sliders. A label's SMD is the prevalence difference over the whole set's ``sqrt(p(1−p))``.
* **The direction between two groups**: the difference of their means as a lab :class:`~engine.lab.direction.
  Direction` (one unit = one σ of the cloud along it) and how many units separate the two means.

Speed at 202,599 points: :func:`cloud_basis` does the work that does not depend on a group once per model (the
whole cloud's histograms, the judges' scores of every point). A group's means, label prevalence and judge means are
exact (one pass of a 0/1 vector through the z-points, a matrix-vector product); its histograms, σ and AUCs are read
from at most :data:`ROWS_MAX` of its points (all of them when it has fewer; a fixed-seed uniform sample otherwise,
the counts scaled to the group's size: the AUC's sampling error is then about 0.005). The AUCs are computed from
shared-bin histograms (:data:`BINS` bins over ±:data:`SPAN` σ, the outer bins open): within-bin ties count half, so
an AUC is exact to within about 0.01 (``tests/test_group_stats.py`` compares with the exact rank AUC). The axes'
AUCs need the group's coordinates on those axes, so they are computed for the :data:`AUC_AXES` axes with the
largest |SMD| (every axis has its SMD). A component's group histogram is computed when asked for
(:meth:`GroupStats.histogram`): a view shows one or two components at a time.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np

from .errors import EngineError

#: shared bins of every histogram (component, axis, judge), over mean ± :data:`SPAN` σ
BINS = 128
SPAN = 5.0
#: axes (principal or given directions) whose AUC is computed, by largest |SMD|
AUC_AXES = 16
#: the most points of a group its histograms, σ and AUCs are read from (a uniform sample beyond)
ROWS_MAX = 10_000
_CHUNK = 16384


def _edges(mean: np.ndarray, sd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(low, 1/width) per column of shared bins over mean ± SPAN·σ."""
    sd = np.where(sd > 0, sd, 1.0)
    lo = (mean - SPAN * sd).astype(np.float32)
    return lo, (BINS / (2 * SPAN * sd)).astype(np.float32)


def _hist(x: np.ndarray, lo: np.ndarray, inv_w: np.ndarray) -> np.ndarray:
    """(m, k) values → (k, BINS) counts on the columns' bins (outside values in the end bins)."""
    m, k = x.shape
    if m == 0:
        return np.zeros((k, BINS), np.int64)
    b = ((np.asarray(x, np.float32) - lo) * inv_w)
    np.clip(b, 0, BINS - 1, out=b)
    b = b.astype(np.int32)
    b += np.arange(k, dtype=np.int32) * BINS
    return np.bincount(b.ravel(), minlength=k * BINS).reshape(k, BINS).astype(np.int64)


@dataclass
class CloudBasis:
    """What the statistics of any group of these z-points share, computed once (:func:`cloud_basis`)."""

    z: np.ndarray  # (N, d) float32, or a read-only memory map (float16 / float32) of millions
    mean: np.ndarray  # (d,)
    sd: np.ndarray  # (d,) σ of each component
    sums: np.ndarray  # (d,) Σz (float64)
    sumsq: np.ndarray  # (d,) Σz²
    z_lo: np.ndarray
    z_inv: np.ndarray
    z_hist: np.ndarray  # (d, BINS)
    axis_names: list[str]  # "PC1"…, then the given directions' names
    axes: np.ndarray  # (K, d) unit vectors
    axis_sd: np.ndarray  # (K,) the cloud's σ along each (the lab's unit)
    ev: np.ndarray  # (d,) the PCA's eigenvalues
    components: np.ndarray  # (d, d) the PCA's axes (rows)
    label_names: list[str] = field(default_factory=list)
    present: Optional[np.ndarray] = None  # (N, A) float32 1 = present (known), 0 otherwise
    known: Optional[np.ndarray] = None  # (N, A) float32 1 = labelled
    judge_names: list[str] = field(default_factory=list)
    logits: Optional[np.ndarray] = None  # (N, J) float32
    logit_mean: Any = None
    logit_sd: Any = None
    judge_lo: Any = None
    judge_inv: Any = None
    judge_hist: Any = None  # (J, BINS)
    probs: Any = None  # (N, J) float32
    prob_sum: Any = None  # (J,) Σ p over the whole
    present_sum: Any = None  # (A,)
    judges: Any = None  # the judges given (names, weights, bias): to score other z-vectors
    extra: Any = None  # (N, 2A + 2J) float32: present, known, logits, probs side by side (one pass sums them all)
    extra_sum: Any = None
    known_sum: Any = None  # (A,)

    @property
    def n(self) -> int:
        return len(self.z)


def cloud_basis(z: np.ndarray, *, labels=None, judges=None, pca=None, directions: Sequence = ()) -> CloudBasis:
    """The whole cloud's share of every group statistic: ``labels`` (an ``AttributeTable`` aligned with ``z``),
    ``judges`` (names, weights (J, d), bias), ``pca`` (``latent_whitening.PCAResult``; by default of ``z``),
    ``directions`` (lab ``Direction``s ranked beside the principal axes)."""
    from .z_store import is_mapped, row_chunks

    mapped = is_mapped(z) and z.flags.c_contiguous  # millions of z-points: read chunk by chunk, never copied whole
    z = z if mapped else np.ascontiguousarray(z, dtype=np.float32)
    if z.ndim != 2 or len(z) < 2:
        raise EngineError(f"z-points: expected an N×d array with N ≥ 2, got shape {list(z.shape)}")
    if pca is None:
        from .latent_whitening import pca_of

        pca = pca_of(z if mapped else z.astype(np.float64))
    if mapped:
        sums, sumsq = np.zeros(z.shape[1]), np.zeros(z.shape[1])
        for _, c in row_chunks(z, _CHUNK):
            sums += c.sum(axis=0, dtype=np.float64)
            sumsq += np.einsum("ij,ij->j", c, c, dtype=np.float64)
    else:
        sums = z.sum(axis=0, dtype=np.float64)
        sumsq = np.einsum("ij,ij->j", z, z, dtype=np.float64)
    n = len(z)
    mean = sums / n
    sd = np.sqrt(np.maximum(sumsq / n - mean**2, 0.0))
    z_lo, z_inv = _edges(mean, sd)
    ev = np.maximum(np.asarray(pca.explained_variance, np.float64), 0.0)
    comps = np.asarray(pca.components, np.float64)
    names = [f"PC{i + 1}" for i in range(len(comps))]
    axes = [comps]
    for dv in directions:
        u = np.asarray(dv.unit, np.float64)
        axes.append(u[None])
        names.append(dv.name)
    axes = np.concatenate(axes, axis=0)
    axis_sd = np.sqrt(np.maximum(((axes @ comps.T) ** 2) @ ev, 1e-300))
    b = CloudBasis(z, mean, sd, sums, sumsq, z_lo, z_inv, np.zeros((z.shape[1], BINS), np.int64), names,
                   axes, axis_sd, ev, comps)
    for _, c in row_chunks(z, _CHUNK):
        b.z_hist += _hist(c, z_lo, z_inv)
    if labels is not None:
        vals = np.asarray(labels.values)
        b.label_names = list(labels.names)
        pres = np.zeros(vals.shape, np.float32)
        for a, nm in enumerate(labels.names):
            p, _ = labels.groups(nm)
            pres[:, a] = p
        b.present, b.known = pres, np.isfinite(vals).astype(np.float32)
        b.present_sum, b.known_sum = pres.sum(axis=0, dtype=np.float64), b.known.sum(axis=0, dtype=np.float64)
    if judges is not None and len(judges.names):
        _judge_basis(b, judges)
    cols = [c for c in (b.present, b.known, b.logits, b.probs) if c is not None]
    if cols:
        b.extra = np.ascontiguousarray(np.concatenate(cols, axis=1), np.float32)
        b.extra_sum = b.extra.sum(axis=0, dtype=np.float64)
    return b


def _judge_basis(b: CloudBasis, judges) -> None:
    w = np.asarray(judges.weights, np.float32)
    from .z_store import project

    logits = project(b.z, w.T) + np.asarray(judges.bias, np.float32)
    b.judge_names = list(judges.names)
    b.judges = judges
    b.logits = logits
    b.logit_mean = logits.mean(axis=0, dtype=np.float64)
    b.logit_sd = logits.std(axis=0, dtype=np.float64)
    b.judge_lo, b.judge_inv = _edges(b.logit_mean, b.logit_sd)
    b.judge_hist = _hist(logits, b.judge_lo, b.judge_inv)
    b.probs = _sigmoid(logits).astype(np.float32)
    b.prob_sum = b.probs.sum(axis=0, dtype=np.float64)


def judge_probabilities(b: CloudBasis, z: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """(n, len(names)) the judges' probabilities of any z-vectors (generated faces)."""
    idx = [b.judge_names.index(nm) for nm in names]
    w = np.asarray(b.judges.weights, np.float32)[idx]
    return _sigmoid(np.asarray(z, np.float32) @ w.T + np.asarray(b.judges.bias, np.float32)[idx])


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60, 60)))


# ------------------------------------------------------------------------------------------------------------------
# one side


@dataclass
class _Side:
    """One group: exact sums (z, labels, judges) and, from at most ROWS_MAX of its rows, σ and histograms."""

    n: int
    sums: np.ndarray  # (d,) Σz, exact
    present: Optional[np.ndarray]  # (A,) Σ present, exact
    known: Optional[np.ndarray]
    logit_sum: Optional[np.ndarray]  # (J,) exact
    prob_sum: Optional[np.ndarray]
    rows: np.ndarray  # the rows read for σ and histograms
    scale: float  # n / len(rows)
    sumsq: np.ndarray  # (d,) Σz² (scaled)
    zs: np.ndarray  # (len(rows), d) the rows' z
    logit_hist: Optional[np.ndarray]  # (J, BINS) (scaled)
    extra: Optional[np.ndarray] = None  # the sums of the basis' extra columns


def _weighted_sum(w: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``w @ z`` (float64) of a float32 weight per row; a memory-mapped cloud chunk by chunk."""
    from .z_store import is_mapped, row_chunks

    if not is_mapped(z):
        return (w @ z).astype(np.float64)
    out = np.zeros(z.shape[1])
    for i, c in row_chunks(z, _CHUNK):
        out += w[i : i + len(c)] @ c
    return out


def _side(b: CloudBasis, mask: np.ndarray, seed: int = 0, rest_of: Optional["_Side"] = None) -> _Side:
    """The sums and samples of the group ``mask`` (``rest_of``: ``mask`` is that group's complement, whose exact sums
    are the whole's minus the group's)."""
    from .z_store import take_rows

    mask = np.asarray(mask, bool)
    if mask.shape != (b.n,):
        raise EngineError(f"a selection of {mask.shape[0] if mask.ndim else 0} points for {b.n} z-points")
    rows = np.flatnonzero(mask)
    n = len(rows)
    if rest_of is not None:  # the rest: the whole minus the group, exactly
        sums = b.sums - rest_of.sums
        ex = None if b.extra is None else b.extra_sum - rest_of.extra
    elif n <= b.n // 8:  # a small group: its rows
        sums = take_rows(b.z, rows).sum(axis=0, dtype=np.float64)
        ex = b.extra[rows].sum(axis=0, dtype=np.float64) if b.extra is not None else None
    else:  # a large one: a 0/1 vector through the z-points (no copy of the rows)
        w = mask.astype(np.float32)
        sums = _weighted_sum(w, b.z)
        ex = (w @ b.extra).astype(np.float64) if b.extra is not None else None
    pres = kn = ls = ps = lh = None
    A, J = len(b.label_names) if b.present is not None else 0, len(b.judge_names)
    if b.present is not None:
        pres, kn = ex[:A], ex[A : 2 * A]
    if b.logits is not None:
        ls, ps = ex[2 * A : 2 * A + J], ex[2 * A + J :]
    if n > ROWS_MAX:
        rows = np.sort(np.random.default_rng(seed).choice(rows, ROWS_MAX, replace=False))
    scale = n / max(len(rows), 1)
    zs = take_rows(b.z, rows)  # float32 (a memory-mapped cloud: only these rows are read)
    sumsq = np.einsum("ij,ij->j", zs, zs).astype(np.float64) * scale  # float32: a σ to 4 digits is plenty
    if b.logits is not None:
        lh = _hist(b.logits[rows], b.judge_lo, b.judge_inv) * scale
    return _Side(n, sums, pres, kn, ls, ps, rows, scale, sumsq, zs, lh, ex)


def auc_from_hists(g: np.ndarray, o: np.ndarray) -> np.ndarray:
    """(k, B) counts of two groups on shared bins → (k,) P(group > other) + ½ P(same bin)."""
    g = np.asarray(g, np.float64)
    o = np.asarray(o, np.float64)
    below = np.cumsum(o, axis=1) - o
    ng, no = g.sum(axis=1), o.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (g * (below + 0.5 * o)).sum(axis=1) / (ng * no)
    return np.where((ng > 0) & (no > 0), auc, 0.5)


# ------------------------------------------------------------------------------------------------------------------
# the statistics


@dataclass
class Separation:
    """One row of "what distinguishes it": ``kind`` label / judge / axis; ``auc`` P(group > other) (None when not
    computed), ``smd`` in the whole cloud's σ (labels: prevalence difference over sqrt(p(1−p))), the group's and the
    other's value (prevalence, mean probability, or mean coordinate in σ units)."""

    kind: str
    name: str
    auc: Optional[float]
    smd: float
    group: float
    other: float

    @property
    def strength(self) -> float:
        """How far from no separation: |AUC − 0.5| · 2 (0 … 1), or |SMD| / 4 when the AUC is not computed."""
        return abs(self.auc - 0.5) * 2 if self.auc is not None else min(1.0, abs(self.smd) / 4)

    def to_json(self) -> dict:
        return {"kind": self.kind, "name": self.name, "auc": self.auc, "smd": self.smd, "group": self.group,
                "other": self.other}


@dataclass
class GroupStats:
    """A group against the whole (distribution, prevalence) and against the rest or a second group (ranking)."""

    count: int
    total: int
    other_count: int
    other: str  # "the rest" or the second group's description
    mean_shift: np.ndarray  # (d,) (group mean − whole mean) / whole σ per component
    sd_ratio: np.ndarray  # (d,) group σ / whole σ
    bin_low: np.ndarray  # (d,) the shared bins: low edge and width per component
    bin_width: np.ndarray
    hist_whole: np.ndarray  # (d, BINS)
    prevalence: list = field(default_factory=list)  # (name, group share, whole share) per label
    judge_prevalence: list = field(default_factory=list)  # (name, group mean p, whole mean p) per judge
    ranking: list = field(default_factory=list)  # [Separation], most separating first
    _zs: Any = field(default=None, repr=False)  # the group's rows read (ROWS_MAX at most) and their weight
    _scale: float = field(default=1.0, repr=False)
    _lo: Any = field(default=None, repr=False)
    _inv: Any = field(default=None, repr=False)
    _hists: dict = field(default_factory=dict, repr=False)

    def histogram(self, component: int) -> np.ndarray:
        """(BINS,) the group's counts on a component's shared bins (beside ``hist_whole[component]``), computed on
        first use: a view shows one or two components, and all 256 of 10,000 rows would cost more than the rest."""
        h = self._hists.get(component)
        if h is None:
            c = slice(component, component + 1)
            h = self._hists[component] = _hist(self._zs[:, c], self._lo[c], self._inv[c])[0] * self._scale
        return h

    @property
    def hist_group(self) -> np.ndarray:
        """(d, BINS) every component's group histogram (all of them computed)."""
        return np.stack([self.histogram(k) for k in range(len(self.hist_whole))])

    def edges(self, component: int) -> np.ndarray:
        """The BINS + 1 bin edges of a component's histograms."""
        return self.bin_low[component] + self.bin_width[component] * np.arange(BINS + 1)

    def top(self, k: int = 10, kinds: Sequence[str] = ("label", "judge", "axis")) -> list:
        return [r for r in self.ranking if r.kind in kinds][:k]

    def to_json(self) -> dict:
        return {"count": self.count, "total": self.total, "other": self.other, "other_count": self.other_count,
                "ranking": [r.to_json() for r in self.ranking],
                "prevalence": [{"name": n, "group": g, "whole": w} for n, g, w in self.prevalence],
                "judge_prevalence": [{"name": n, "group": g, "whole": w} for n, g, w in self.judge_prevalence],
                "mean_shift": [float(x) for x in self.mean_shift], "sd_ratio": [float(x) for x in self.sd_ratio]}


def group_stats(b: CloudBasis, mask: np.ndarray, against: Optional[np.ndarray] = None, *,
                other: Optional[str] = None, auc_axes: int = AUC_AXES) -> GroupStats:
    """The statistics of the group ``mask`` (bool, one per z-point of ``b``): its distribution and prevalence against
    the whole; its ranking against the rest, or against the group ``against`` when given."""
    g = _side(b, mask)
    if g.n == 0:
        raise EngineError("the selection is empty: no z-points to describe")
    if against is not None:
        o = _side(b, against)
        if o.n == 0:
            raise EngineError("the second group is empty: no z-points to compare with")
    else:
        o = _side(b, ~np.asarray(mask, bool), seed=1, rest_of=g)
        if o.n == 0:
            raise EngineError("the selection holds every z-point: there is no rest to compare it with")
    n = b.n
    gm = g.sums / g.n
    gsd = np.sqrt(np.maximum(g.sumsq / g.n - gm**2, 0.0))
    sd = np.where(b.sd > 0, b.sd, 1.0)
    om = o.sums / o.n
    res = GroupStats(g.n, n, o.n, other or ("the second group" if against is not None else "the rest"),
                     (gm - b.mean) / sd, gsd / sd, b.z_lo.astype(np.float64), 1.0 / b.z_inv.astype(np.float64),
                     b.z_hist, _zs=g.zs, _scale=g.scale, _lo=b.z_lo, _inv=b.z_inv)
    rows: list[Separation] = []
    if b.present is not None:
        gp = g.present / np.maximum(g.known, 1)
        op = o.present / np.maximum(o.known, 1)
        wp = b.present_sum / np.maximum(b.known_sum, 1)
        res.prevalence = [(nm, float(gp[a]), float(wp[a])) for a, nm in enumerate(b.label_names)]
        base = np.sqrt(np.maximum(wp * (1 - wp), 1e-12))
        for a, nm in enumerate(b.label_names):
            auc = 0.5 + (gp[a] - op[a]) / 2  # a yes/no value: P(g > o) + ½ P(tie)
            rows.append(Separation("label", nm, float(auc), float((gp[a] - op[a]) / base[a]), float(gp[a]),
                                   float(op[a])))
    if b.logits is not None:
        res.judge_prevalence = [(nm, float(g.prob_sum[j] / g.n), float(b.prob_sum[j] / n))
                                for j, nm in enumerate(b.judge_names)]
        auc = auc_from_hists(g.logit_hist, o.logit_hist)
        smd = (g.logit_sum / g.n - o.logit_sum / o.n) / np.where(b.logit_sd > 0, b.logit_sd, 1.0)
        for j, nm in enumerate(b.judge_names):
            rows.append(Separation("judge", nm, float(auc[j]), float(smd[j]), float(g.prob_sum[j] / g.n),
                                   float(o.prob_sum[j] / o.n)))
    rows += _axis_rows(b, g, o, gm, om, auc_axes)
    rows.sort(key=lambda r: (-r.strength, -abs(r.smd)))
    res.ranking = rows
    return res


def _axis_rows(b: CloudBasis, g: _Side, o: _Side, gm: np.ndarray, om: np.ndarray, k: int) -> list:
    """The principal axes' and directions' rows: every SMD from the means; the AUC of the k largest |SMD|."""
    gmu = (gm - b.mean) @ b.axes.T / b.axis_sd
    omu = (om - b.mean) @ b.axes.T / b.axis_sd
    smd = gmu - omu
    top = np.argsort(-np.abs(smd), kind="stable")[:k]
    aucs = dict(zip(top.tolist(), _axis_aucs(b, g, o, top).tolist())) if len(top) else {}
    return [Separation("axis", b.axis_names[i], aucs.get(i), float(smd[i]), float(gmu[i]), float(omu[i]))
            for i in range(len(smd))]


def _axis_hist(b: CloudBasis, s: _Side, axes: np.ndarray, lo, inv) -> np.ndarray:
    proj = (b.axes[axes] / b.axis_sd[axes, None]).T.astype(np.float32)
    shift = (b.mean @ proj).astype(np.float32)
    return _hist(s.zs @ proj - shift, lo, inv)


def _axis_aucs(b: CloudBasis, g: _Side, o: _Side, axes: np.ndarray) -> np.ndarray:
    lo, inv = _edges(np.zeros(len(axes)), np.ones(len(axes)))
    return auc_from_hists(_axis_hist(b, g, axes, lo, inv), _axis_hist(b, o, axes, lo, inv))


def direction_between(b: CloudBasis, a: np.ndarray, to: np.ndarray, name: str = "A → B"):
    """The difference of the two groups' means (from ``a`` to ``to``) as a lab ``Direction`` (one unit = one σ of the
    cloud along it; ``meta["amount"]``: how many units separate the two means)."""
    from .lab.direction import Direction

    sa, sb = _side(b, a), _side(b, to, seed=1)
    if sa.n == 0 or sb.n == 0:
        raise EngineError("both groups need at least one z-point for a direction between them")
    v = sb.sums / sb.n - sa.sums / sa.n
    norm = float(np.linalg.norm(v))
    if norm == 0:
        raise EngineError("the two groups have the same mean: there is no direction between them")
    u = v / norm
    sigma = float(np.sqrt(max(((b.components @ u) ** 2) @ b.ev, 1e-300)))
    return Direction(name, "attribute", u * sigma, label=name,
                     meta={"amount": norm / sigma, "from_count": sa.n, "to_count": sb.n, "kind": "between groups"},
                     origin=b.mean.copy())
