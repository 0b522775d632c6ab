"""The ``compare-models`` command: two models side by side, written as JSON and a figure."""
from __future__ import annotations

from .common import model_dir, raise_bad


def _names(text) -> list[str]:
    return [s.strip() for s in (text or "").split(",") if s.strip()]


def cmd_compare_models(a, progress) -> int:
    from engine.workflows.compare_models import CompareOptions, compare_models

    models = list(a.model or [])
    if len(models) not in (1, 2):
        raise_bad(f"--model: give two model folders (A, then B), or one to compare with the default model; got {len(models)}")
    folder_a, folder_b = (model_dir(None), model_dir(models[0])) if len(models) == 1 else map(model_dir, models)
    opts = CompareOptions(k=a.k, whiten=a.whiten, min_shared=a.min_shared, held_out=a.held_out,
                          attributes=_names(a.attributes) or None, probes=not a.no_probes, probe_faces=a.probe_faces,
                          samplers=[s for s in _names(a.samplers) if s != "none"], n=a.n, seed=a.seed, face=a.face)
    comp = compare_models(folder_a, folder_b, a.out, data=a.data, options=opts, overwrite=a.overwrite,
                          progress=progress)
    progress.close()
    rows = [("", "A", "B")] + comp.table_rows()
    w = [max(len(r[i]) for r in rows) for i in range(3)]
    print(f"A: {folder_a}\nB: {folder_b}")
    for r in rows:
        print(f"{r[0].ljust(w[0])}  {r[1].rjust(w[1])}  {r[2].rjust(w[2])}")
    least = ", ".join(f"{x['face']} {x['overlap']:.2f}" for x in comp.numbers["overlap"]["least"][:5])
    print(f"least neighbour overlap: {least}")
    print(f"comparison written to {comp.folder} (comparison.json, comparison.png; {comp.numbers['seconds']:.1f} s)")
    return 0
