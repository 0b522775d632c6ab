"""Evaluate: compare samplers on a model (latent and image metrics), optionally measure conditional
sampling (attribute rates), and write the report — the CLI's ``evaluate``."""
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
    from ..evaluation import REPORT_KEYS, evaluate, write_report
    from ..output_folders import check_output_file, json_file_with_keys

    if out is not None:  # never over a file we did not write, never inside the model or data folder
        check_output_file(out, inputs=[model_folder, data], overwrite=overwrite, what="report",
                          is_ours=lambda path: json_file_with_keys(path, REPORT_KEYS))
    values = sampler_values or {}
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
        write_report(out, report)
    return result
