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
        report.info["attribute_rates"] = [r.to_json() for r in result.rates]
    if out is not None:
        write_report_file(out, report)
    return result


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
                        label: str = "--samplers") -> list[str]:
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
            raise SamplerError(f"--set {name}.…: {name} is not among the samplers compared ({', '.join(names)})")
    if sweep is not None:
        sampler_class(sweep[0])
    return names
