"""Evaluate: compare samplers on a model (latent and image metrics), optionally measure conditional
sampling (attribute rates), and write the report — the CLI's ``evaluate``.

Everything that can be refused is refused before any work: the sampler names (``--samplers``, ``--set``'s
samplers, the swept one), the output file (a place that can be written; an existing file only when it is a
report we wrote, by the folder's record of our files, and ``overwrite`` is asked)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

from ..errors import SamplerError
from ..progress import CancelToken, ProgressCallback, no_progress


def _evaluate_params():
    from ..params import Param
    from ..samplers import default_sweep_sampler

    return (
        Param("model", str, None, "", kind="path"),
        Param("data", str, None, "the model's training image folder (for the image metrics against real faces)",
              kind="path"),
        Param("n", int, 256, "vectors per sampler", minimum=2),
        Param("seed", int, 0, "", kind="seed"),
        Param("samplers", str, None, "samplers to compare (default: all)", metavar="a,b,...", kind="text"),
        Param("set", str, None, "a sampler parameter (repeatable)", metavar="SAMPLER.KEY=VALUE", repeat=True,
              kind="text"),
        Param("sweep", str, None, "metric curves of one sampler across a parameter", metavar="KEY=START:STOP:STEPS",
              kind="text"),
        Param("sweep_sampler", str, None, "the swept sampler (default: the only one compared, else "
              f"{default_sweep_sampler()})", metavar="NAME"),
        Param("out", str, None, "write the report as JSON", metavar="report.json", kind="path"),
        Param("overwrite", bool, False, "replace a report written earlier by evaluate"),
        Param("where", str, None, "also measure conditional sampling: the attribute rate a linear probe on held-out "
              "z-points assigns to samples fitted on this subset vs on all (default sampler: normal); "
              "either Smiling=1,Male=-1 or a query (Smiling and not Male and PC3 > 1)",
              metavar="QUERY", kind="text"),
        Param("judge", str, None, "with a condition: further attributes to judge (e.g. Male)", metavar="NAME,...",
              kind="text"),
    )


#: The evaluate use case's options, declared once (the CLI's flags are built from them).
EVALUATE_PARAMS = _evaluate_params()


@dataclass
class EvaluateOptions:
    """What :func:`evaluate_opened_model` measures: ``n`` vectors per sampler for ``seed``; ``samplers`` compared
    (None: the registry's default comparison); ``sweep`` (sampler, key, values); ``sampler_values``
    {sampler: {key: value}}; ``where`` a condition for the attribute rates, ``judge`` further attributes."""

    n: int = 256
    seed: int = 0
    samplers: Optional[Sequence[str]] = None
    sweep: Any = None
    sampler_values: dict = field(default_factory=dict)
    where: Optional[str] = None
    judge: Sequence[str] = ()
    #: a data folder without the model's held-out images: compare on the latent metrics (with a note) instead of
    #: refusing (the GUI's comparison panel runs on whatever dataset is open)
    real_faces_optional: bool = False


@dataclass
class Evaluation:
    report: Any  # engine.evaluation.EvaluationReport
    rates: list = field(default_factory=list)  # attribute-rate reports, one per sampler that could be fitted
    notes: list[str] = field(default_factory=list)  # samplers that could not be fitted on the condition


def sweep_spec(text: Optional[str], sampler: Optional[str], samplers: Optional[Sequence[str]]):
    """``KEY=START:STOP:STEPS`` for ``sampler`` (default: the only one asked for, else the sampler that
    declares itself the default sweep target) → (sampler, key, values), validated; None without text."""
    if not text:
        return None
    from ..evaluation import parse_sweep_text
    from ..samplers import default_sweep_sampler, sampler_class

    key, vals = parse_sweep_text(text)
    target = sampler or (samplers[0] if samplers and len(samplers) == 1 else default_sweep_sampler())
    sampler_class(target).param(key)
    return target, key, vals


def evaluate_model(model_folder: str | os.PathLike, data: Optional[str | os.PathLike] = None, *, n: int = 256,
                   seed: int = 0, samplers: Optional[Sequence[str]] = None, sweep=None,
                   sampler_values: Optional[dict] = None, where: Optional[str] = None,
                   judge: Sequence[str] = (), out: Optional[str | os.PathLike] = None, overwrite: bool = False,
                   progress: ProgressCallback = no_progress, cancel: Optional[CancelToken] = None) -> Evaluation:
    """The CLI's ``evaluate``: refuse bad names and the output file first, open the model, compare, write."""
    from ..evaluation import evaluate
    from ..output_folders import check_output_file

    values = sampler_values or {}
    check_sampler_names(samplers, values, sweep)
    if out is not None:  # never over a file we did not write, never inside the model or data folder
        out = check_output_file(out, inputs=[model_folder, data], overwrite=overwrite, what="report", kind=REPORT_FILE_KIND)
    report = evaluate(model_folder, data, n=n, seed=seed, samplers=samplers, sweep=sweep, sampler_values=values,
                      progress=progress, cancel=cancel)
    result = Evaluation(report)
    if where is not None:  # conditional sampling, measured: engine.attributes.attribute_rates
        _attribute_rates(result, model_folder, samplers, values, where, judge, n, seed)
    if out is not None:
        write_report_file(out, report)
    return result


def evaluate_opened_model(opened, data: Optional[str | os.PathLike] = None, options: Optional[EvaluateOptions] = None,
                          *, progress: ProgressCallback = no_progress,
                          cancel: Optional[CancelToken] = None) -> Evaluation:
    """Compare samplers on a model already open (its codec and z-points: nothing re-read from its folder); the
    attribute rates too when ``options.where``. Nothing is written."""
    from ..evaluation import evaluate_opened

    from ..errors import DataError

    o = options or EvaluateOptions()
    check_sampler_names(o.samplers, o.sampler_values, o.sweep)

    def run(data_folder):
        return evaluate_opened(opened.codec, opened.require_latents(), opened.latent_files, data_folder,
                               folder=opened.folder, n=o.n, seed=o.seed, samplers=o.samplers, sweep=o.sweep,
                               sampler_values=o.sampler_values, progress=progress, cancel=cancel)

    try:
        report = run(data)
    except DataError as exc:
        if data is None or not o.real_faces_optional:
            raise
        report = run(None)  # the latent metrics still compare the samplers
        report.notes.insert(0, f"the open dataset cannot serve as the real faces ({exc}); latent metrics only, no "
                               "Fréchet distance — open the model's training folder for it")
    result = Evaluation(report)
    if o.where is not None:
        _attribute_rates(result, opened.folder, o.samplers, o.sampler_values, o.where, o.judge, o.n, o.seed)
    return result


def _attribute_rates(result: Evaluation, model_folder, samplers, values, where, judge, n, seed) -> None:
    """Conditional sampling, measured (engine.attributes.attribute_rates), into ``result``."""
    from ..attributes import attribute_rates

    for name in (samplers or ["normal"]):
        try:
            rep = attribute_rates(model_folder, where, sampler=name, values=values.get(name), n=n, seed=seed,
                                  attributes=list(judge))
        except SamplerError as exc:
            if samplers and len(samplers) == 1:
                raise
            result.notes.append(f"{name}: no attribute rates ({exc})")
            continue
        result.rates.append(rep)
    result.report.info["attribute_rates"] = [r.to_json() for r in result.rates]


#: The kind under which ``evaluate --out`` files are recorded as ours (``output_folders.writing_owned_file``).
REPORT_FILE_KIND = "evaluation-report"


def write_report_file(out, report) -> None:
    """Write the report's JSON to ``out`` (checked by ``check_output_file``) and record it as ours."""
    import json

    from .. import atomic_io
    from ..output_folders import writing_owned_file

    with writing_owned_file(out, REPORT_FILE_KIND) as tmp:
        atomic_io.write_into(tmp, (json.dumps(report.to_json(), indent=2, sort_keys=False) + "\n").encode("utf-8"))


def check_sampler_names(samplers: Optional[Sequence[str]], values: Optional[dict] = None, sweep=None,
                        label: str = "{opt:samplers}") -> list[str]:
    """Refuse unknown or repeated sampler names, and parameters (``--set``) of a sampler not compared, before
    any work; the names compared (the default list when ``samplers`` is None)."""
    from ..samplers import compared_samplers, sampler_class

    names = list(compared_samplers() if samplers is None else samplers)
    seen: set = set()
    for name in names:
        try:
            sampler_class(name)
        except SamplerError as exc:
            raise SamplerError(f"{label}: {exc}") from None
        if name in seen:
            raise SamplerError(f"{label}: {name!r} is named twice")
        seen.add(name)
    for name in (values or {}):
        sampler_class(name)
        if name not in seen:
            raise SamplerError(f"{name}.…: {name} is not among the samplers compared ({', '.join(names)})",
                               param="set")
    if sweep is not None:
        sampler_class(sweep[0])
    return names
