"""Commands on sampling: generate, samplers, evaluate, attributes, report."""
from __future__ import annotations

import sys

from . import render
from .common import cli_name, raise_bad
from .common import model_dir as _model_dir


def cmd_generate(a, progress) -> int:
    from engine.samplers import parse_settings
    from engine.workflows.generate import generate_to_folder

    values = parse_settings(a.sampler, a.set or [])
    res = generate_to_folder(_model_dir(a.model), a.sampler, values, a.n, a.seed, a.out, where=a.where,
                             z_only=a.z_only, overwrite=a.overwrite, progress=progress)
    progress.close()
    print(render.generated_line(res, a.n, a.sampler, a.seed, a.out, a.z_only))
    return 0


def cmd_samplers(a, progress) -> int:
    from engine.samplers import SAMPLERS

    for name, cls in SAMPLERS.items():
        print(f"{name}: {cls.summary}")
        for p in cls.params:
            print(f"    {p.describe()}")
    return 0


def cmd_evaluate(a, progress) -> int:
    from engine.samplers import parse_settings
    from engine.workflows.evaluate import evaluate_model, sweep_spec

    names = [x.strip() for x in a.samplers.split(",") if x.strip()] if a.samplers else None
    values: dict = {}
    for item in a.set or []:
        head, _, rest = item.partition(".")
        if not rest or "=" not in rest:
            raise_bad(f"--set {item!r}: expected SAMPLER.KEY=VALUE, e.g. pca-ellipse.fact=0.8")
        values.setdefault(head, {}).update(parse_settings(head, [rest]))
    sweep = sweep_spec(a.sweep, a.sweep_sampler, names)
    res = evaluate_model(_model_dir(a.model), a.data, n=a.n, seed=a.seed, samplers=names, sweep=sweep,
                         sampler_values=values, where=a.where,
                         judge=[s for s in (a.judge or "").split(",") if s.strip()], out=a.out,
                         overwrite=a.overwrite, progress=progress)
    progress.close()
    print(res.report.table())
    for note in res.notes:
        print(note)
    for rep in res.rates:
        print(rep.table(cli_name))
    if a.out is not None:
        print(f"report written to {a.out}")
    return 0


def cmd_attributes(a, progress) -> int:
    from engine.attributes import attribute_rates, ranking_table
    from engine.workflows.rank_attributes import labelled_latents, rank_attributes

    model_dir = _model_dir(a.model)
    lab = labelled_latents(model_dir, a.import_file)
    table = lab.table
    if lab.imported:
        print(table.report.summary())
        print(f"labels for {table.report.matched} z-points written to {model_dir / 'labels.csv'}")
        if not a.rank:
            return 0
    elif table.report and table.report.problems:
        print(table.report.summary(), file=sys.stderr)
    if a.rates is not None:
        from engine.samplers import parse_settings

        values = parse_settings(a.sampler, a.set or [])
        rep = attribute_rates(model_dir, a.rates, sampler=a.sampler, values=values, n=a.n, seed=a.seed,
                              attributes=[s for s in (a.also or "").split(",") if s.strip()], progress=progress)
        progress.close()
        print(rep.table(cli_name))
        return 0
    ranking = rank_attributes(lab.z, table, probe=not a.no_probe, use_cache=False, progress=progress)
    rows = ranking.rows()
    progress.close()
    by = "separation (d along the difference of means, cross-fitted)" if a.no_probe else "the linear probe's cross-validated accuracy"
    print(f"{len(rows)} attribute(s) of {model_dir} ranked by {by}; accuracies are balanced (chance 0.5)")
    print(ranking_table(rows))
    return 0


def cmd_report(a, progress) -> int:
    from engine.workflows.report import ReportOptions, make_report

    try:
        comps = [int(c) for c in a.components.split(",") if c.strip()] if a.components else None
    except ValueError:
        raise_bad(f"--components {a.components!r}: expected component numbers, e.g. 0,1,2")
    names = [s.strip() for s in a.samplers.split(",") if s.strip()] if a.samplers else None
    parts = [s.strip() for s in a.parts.split(",") if s.strip()] if a.parts else None
    opts = ReportOptions(components=comps, samplers=names, seed=a.seed, formats=("png", a.vector), parts=parts)
    rep = make_report(_model_dir(a.model), a.out, data=a.data, options=opts, overwrite=a.overwrite, progress=progress)
    progress.close()
    print(f"report written to {rep.folder / 'report.html'} ({len(rep.figures)} figures, {rep.seconds:.1f} s)")
    return 0
