"""Measured: does conditional sampling produce the attribute? (``attributes --rates``, used by ``evaluate``)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ..errors import SamplerError
from ..latent_stats import Whitener
from ..progress import CancelToken, Progress, ProgressCallback, no_progress
from .conditions import Condition, is_coordinate, conditional_latents, describe_any, is_old_syntax, parse_where, where_query
from .labels import require_labels
from .probes import LinearProbe, _balanced_accuracy


@dataclass
class AttributeRate:
    attribute: str
    judge_accuracy: float  # the judge's balanced accuracy on real z-points it was not trained on
    data_rate: float  # share of labelled z-points with the attribute
    real_subset_rate: float  # judged rate of real faces meeting `where` (the ceiling)
    conditional_rate: float  # judged rate of samples from the sampler fitted on the subset
    unconditional_rate: float  # judged rate of samples from the sampler fitted on all z-points


@dataclass
class AttributeRateReport:
    """How often a linear probe, trained on held-out encoded images, judges samples to have each
    attribute: conditional (fitted on the ``where`` subset) vs unconditional samples."""

    where: str
    sampler: str
    parameters: dict
    n: int
    seed: int
    reencoded: bool
    judge_points: int
    fit_points: int
    subset_points: int
    rows: list[AttributeRate]

    def to_json(self) -> dict:
        from dataclasses import asdict

        return asdict(self)

    def table(self, name_of=None) -> str:
        """The report as text; the ``where`` option named by ``name_of`` (a front end's namer)."""
        from ..errors import render_text

        lines = [
            render_text("attribute rates for {opt:where} ", name_of) + f"{self.where} ({self.sampler}, n={self.n}, seed={self.seed}; "
            f"judge = logistic probe on {self.judge_points} held-out z-points; samples "
            f"{'decoded and re-encoded' if self.reencoded else 'judged as sampled'}; sampler fitted on "
            f"{self.subset_points} of {self.fit_points} z-points)",
            f"{'attribute':<20} {'judge acc':>9} {'data':>6} {'real subset':>11} {'conditional':>11} {'unconditional':>13}",
        ]
        for r in self.rows:
            lines.append(
                f"{r.attribute:<20} {r.judge_accuracy:>9.3f} {r.data_rate:>6.3f} {r.real_subset_rate:>11.3f} "
                f"{r.conditional_rate:>11.3f} {r.unconditional_rate:>13.3f}"
            )
        return "\n".join(lines)


def _judged_names(where) -> list[str]:
    """The attributes a ``where`` names (either syntax), in order: the rows a rate report judges."""
    if is_old_syntax(where):
        conds = parse_where(where) if isinstance(where, str) else list(where)
        if not conds:
            raise SamplerError("attribute rates need a condition on the attributes, e.g. Smiling=1", param="where")
        return [c.name for c in conds if not is_coordinate(c.name)]
    return [t.name for t in where_query(where).terms() if t.kind in ("label", "judge")]


def attribute_rates(
    model_dir: str | os.PathLike, where: str | Sequence[Condition], *, sampler: str = "normal",
    values: Optional[dict] = None, n: int = 256, seed: int = 0, attributes: Optional[Sequence[str]] = None,
    judge_fraction: float = 0.3, reencode: bool = True, model=None, config=None,
    progress: ProgressCallback = no_progress, cancel: Optional[CancelToken] = None,
) -> AttributeRateReport:
    """Measure conditional sampling. The z-points are split at random (``seed``) into a judge part
    (``judge_fraction``) and a fit part. Per attribute a logistic probe (not class-weighted) is trained on the judge part only; the sampler is fitted on the fit
    part's ``where`` subset (conditional) and on the whole fit part (unconditional); ``n`` samples of
    each are decoded and re-encoded (what the face really shows) and the rate is the share the probe
    judges to have the attribute (probability > 0.5). ``real_subset_rate`` is the same for up to ``n``
    real faces of the subset (the ceiling), ``data_rate`` the share of labelled faces with it.

    ``where`` takes either syntax (``Smiling=1,Male=-1`` or a query, ``Smiling and not Male and PC3 > 1``); the
    attributes it names are judged (coordinates are not), then ``attributes``."""
    from ..formats import native as model_store
    from ..encoding import decode_latents, encode_images
    from ..samplers import make_sampler

    cancel = cancel or CancelToken()
    model_dir = Path(model_dir)
    if model is None or config is None:
        from ..formats import open_model

        model = open_model(model_dir)  # any format
        config = model.config
    z, files = model_store.load_latents(model_dir, config.arch.z_dim)
    table = require_labels(model_dir, files)
    names = list(dict.fromkeys(_judged_names(where) + list(attributes or [])))
    if not names:
        raise SamplerError("attribute rates need an attribute to judge: a condition on the attributes "
                           "(e.g. Smiling=1 or Smiling and not Male) or attributes named to judge", param="where")
    for nm in names:
        table.index(nm)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(z))
    k = int(round(len(z) * judge_fraction))
    judge_idx, fit_idx = perm[:k], perm[k:]
    z_fit, t_fit = z[fit_idx], table.subset(fit_idx)
    z_judge, t_judge = z[judge_idx], table.subset(judge_idx)
    z_cond = conditional_latents(z_fit, t_fit, where, sampler)
    progress(Progress("attribute rates", 0, 4, "sampling"))
    uncond = make_sampler(sampler, values)
    zc = make_sampler(sampler, values).fit(z_cond).sample(n, seed)  # a failed fit is a SamplerError (Sampler.fit)
    zu = uncond.fit(z_fit).sample(n, seed)
    real = z_cond[np.random.default_rng(seed + 1).permutation(len(z_cond))[:n]]
    cancel.raise_if_cancelled()

    def judged(zz):
        if not reencode:
            return zz
        return encode_images(model, decode_latents(model, zz, cancel=cancel), cancel=cancel)

    zc, zu, real = judged(zc), judged(zu), judged(real)
    progress(Progress("attribute rates", 2, 4, "judging"))
    rows = []
    judge_whitener = Whitener(z_judge)
    for nm in names:
        cancel.raise_if_cancelled()
        pj, aj = t_judge.groups(nm)
        keep = pj | aj
        if pj.sum() < 2 or aj.sum() < 2:
            raise SamplerError(f"attribute {nm}: too few labelled held-out z-points to train the judge ({int(pj.sum())} with, {int(aj.sum())} without)")
        judge = LinearProbe(balanced=False, whitener=judge_whitener).fit(z_judge[keep], pj[keep])
        pf, af = t_fit.groups(nm)
        kf = pf | af
        score = judge.decision_function(z_fit[kf])
        acc = _balanced_accuracy(score, pf[kf])
        p_all, a_all = table.groups(nm)
        rate = lambda zz: float((judge.decision_function(zz) > 0).mean()) if len(zz) else float("nan")  # noqa: E731
        rows.append(AttributeRate(nm, acc, float(p_all.sum() / max(1, p_all.sum() + a_all.sum())),
                                  rate(real), rate(zc), rate(zu)))
    progress(Progress("attribute rates", 4, 4, "done"))
    return AttributeRateReport(describe_any(where), sampler, dict(uncond.values), int(n), int(seed), reencode,
                               int(len(judge_idx)), int(len(fit_idx)), int(len(z_cond)), rows)
