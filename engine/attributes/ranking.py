"""The attribute ranking: every attribute analysed (:func:`analyse_attribute`) and sorted by how well the
z-points separate it (:func:`summarise_attributes`; the use case, cached, is
``engine.workflows.rank_attributes``), as a text table (:func:`ranking_table`); the measures are in
:mod:`engine.attributes.probes`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

import numpy as np

from ..errors import SamplerError
from ..latent_stats import Whitener
from ..progress import CancelToken, Progress, ProgressCallback, no_progress
from .directions import AttributeDirection, _direction_from, _labels_for, attribute_direction
from .labels import AttributeTable
from .probes import (
    ProbeResult, cohens_d, cross_fitted_separation, fit_probe, group_normality, pca_coordinates,
)


@dataclass
class AttributeSummary:
    """One row of the attribute ranking."""

    name: str
    n_present: int
    n_absent: int
    separation: float  # cross-fitted d along the difference-of-means direction
    mean_accuracy: float  # cross-fitted balanced accuracy of that direction (midpoint threshold)
    best_axes: tuple  # ((family, i), (family, j)) for the pair plot
    best_axis_d: tuple[float, float]  # d on those two axes
    max_d_z: float  # largest |d| of one original component
    max_d_pca: float  # largest |d| of one PCA axis
    probe_accuracy: Optional[float] = None  # cross-validated balanced accuracy (chance 0.5)
    probe_accuracy_std: Optional[float] = None

    @property
    def rate(self) -> float:
        n = self.n_present + self.n_absent
        return self.n_present / n if n else float("nan")


@dataclass
class AttributeAnalysis(AttributeSummary):
    d_z: np.ndarray = None  # (d,) d per original component
    d_pca: np.ndarray = None  # (d,) d per PCA axis
    mean_direction: "AttributeDirection" = None
    probe_direction: Optional["AttributeDirection"] = None
    probe: Optional[ProbeResult] = None
    normality: tuple = ()  # (GroupNormality present, GroupNormality absent)

    def summary_row(self) -> AttributeSummary:
        return AttributeSummary(**{k: getattr(self, k) for k in AttributeSummary.__dataclass_fields__})


def _best_pair(d: np.ndarray) -> tuple[int, int]:
    order = np.argsort(-np.abs(d), kind="stable")
    return int(order[0]), int(order[1] if len(order) > 1 else order[0])


def analyse_attribute(
    z: np.ndarray, table: AttributeTable, name: str, *, pca=None, coords: Optional[np.ndarray] = None,
    probe: bool = True, cv: int = 5, seed: int = 0, normality: bool = True, whitener: Optional[Whitener] = None,
    directions: bool = True,
) -> AttributeAnalysis:
    """Everything about one attribute: d per component and PCA axis, best axes, cross-fitted
    separation, both directions, the probe's cross-validated accuracy and per-group normality.
    ``pca`` (latent_stats' PCAResult or an sklearn PCA) and its ``coords`` = pca.transform(z) may be
    passed to avoid refitting."""
    z = np.asarray(z, dtype=np.float64)
    present, absent = _labels_for(z, table, name)
    if coords is None:
        pca, coords = pca_coordinates(z, pca)
    d_z = cohens_d(z[present], z[absent])
    d_pca = cohens_d(coords[present], coords[absent])
    zi, zj = _best_pair(d_z)
    pi, pj = _best_pair(d_pca)
    if d_pca[pi] ** 2 + d_pca[pj] ** 2 >= d_z[zi] ** 2 + d_z[zj] ** 2:
        axes, dd = (("pca", pi), ("pca", pj)), (float(d_pca[pi]), float(d_pca[pj]))
    else:
        axes, dd = (("z", zi), ("z", zj)), (float(d_z[zi]), float(d_z[zj]))
    keep = present | absent
    sep, mean_acc = cross_fitted_separation(z[keep], present[keep], seed)
    mean_dir = _direction_from(z, present, absent, name, "mean", z[present].mean(axis=0) - z[absent].mean(axis=0))
    pr = probe_dir = None
    if probe:
        pr = fit_probe(z[keep], present[keep], cv=cv, seed=seed, whitener=whitener)
        if directions:
            probe_dir = attribute_direction(z, table, name, "probe")
    norm_checks = ()
    if normality:
        gp, ga = table.group_names(name)
        norm_checks = (group_normality(coords[present], gp), group_normality(coords[absent], ga))
    return AttributeAnalysis(
        name, int(present.sum()), int(absent.sum()), sep, mean_acc, axes, dd,
        float(np.max(np.abs(d_z))), float(np.max(np.abs(d_pca))),
        pr.accuracy if pr else None, pr.accuracy_std if pr else None,
        d_z=d_z, d_pca=d_pca, mean_direction=mean_dir, probe_direction=probe_dir, probe=pr, normality=norm_checks,
    )


def summarise_attributes(
    z: np.ndarray, table: AttributeTable, *, pca=None, probe: bool = True, cv: int = 5, seed: int = 0,
    names: Optional[Iterable[str]] = None, sort_by: str = "auto", progress: ProgressCallback = no_progress,
    cancel: Optional[CancelToken] = None,
) -> list[AttributeSummary]:
    """Every attribute (with ≥ 2 labelled points per group), best separated first: by the probe's
    cross-validated balanced accuracy when ``probe`` (``sort_by="auto"``/"probe"), else by the
    cross-fitted ``separation`` d (``sort_by="separation"``)."""
    cancel = cancel or CancelToken()
    z = np.asarray(z, dtype=np.float64)
    pca, coords = pca_coordinates(z, pca)
    whitener = Whitener(z) if probe else None
    todo = list(names) if names is not None else list(table.names)
    out = []
    for i, name in enumerate(todo):
        cancel.raise_if_cancelled()
        progress(Progress("attributes", i, len(todo), f"analysing {name}"))
        p, a, _ = table.counts(name)
        if min(p, a) < 2:
            continue
        res = analyse_attribute(z, table, name, pca=pca, coords=coords, probe=probe, cv=cv, seed=seed, normality=False,
                                whitener=whitener, directions=False)
        out.append(res.summary_row())
    progress(Progress("attributes", len(todo), len(todo), "done"))
    if sort_by not in ("auto", "probe", "separation"):
        raise SamplerError(f"sort_by must be auto, probe or separation, got {sort_by!r}")
    if sort_by == "probe" or (sort_by == "auto" and probe):
        out.sort(key=lambda r: -(r.probe_accuracy if r.probe_accuracy is not None else r.mean_accuracy))
    else:
        out.sort(key=lambda r: -r.separation)
    return out


def ranking_table(rows: Sequence[AttributeSummary]) -> str:
    """A readable text table of :func:`summarise_attributes` rows (``AttributeRanking.rows()``)."""
    head = f"{'#':>3} {'attribute':<20} {'present':>8} {'rate':>6} {'sep d':>6} {'mean acc':>8} {'probe acc':>10} {'max|d| z':>8} {'max|d| pca':>10}  best axes"
    lines = [head]
    for k, r in enumerate(rows, 1):
        pa = "—" if r.probe_accuracy is None else f"{r.probe_accuracy:.3f}±{r.probe_accuracy_std:.3f}"
        ax = " × ".join(f"{f}{i}" for f, i in r.best_axes)
        lines.append(
            f"{k:>3} {r.name:<20} {r.n_present:>8} {r.rate:>6.3f} {r.separation:>6.2f} {r.mean_accuracy:>8.3f} "
            f"{pa:>10} {r.max_d_z:>8.2f} {r.max_d_pca:>10.2f}  {ax}"
        )
    return "\n".join(lines)
