"""The ``select`` command: a query over a model's z-points → count, what distinguishes it, files."""
from __future__ import annotations

from .common import cli_name
from .common import model_dir as _model_dir


def cmd_select(a, progress) -> int:
    from engine.workflows.selection import select_to_folder

    kinds = [k.strip() for k in (a.export or "").split(",") if k.strip()]
    run = select_to_folder(_model_dir(a.model), a.where, against=a.against, out=a.out, export=kinds, data=a.data,
                           generate=a.generate, sampler=a.sampler, seed=a.seed, overwrite=a.overwrite,
                           directions=a.directions, progress=progress)
    progress.close()
    for line in select_lines(run, a.top):
        print(line)
    return 0


def _num(v, fmt: str) -> str:
    return "–" if v is None else format(v, fmt)


def select_lines(run, top: int) -> list[str]:
    """What ``select`` prints: the count, the distinguishing table, the generated faces' quality, the files."""
    sel, st = run.selection, run.selection.stats
    lines = [f"{sel.query}: {sel.count:,} of {len(sel.mask):,} z-points ({100 * sel.count / len(sel.mask):.1f} %)"]
    if st is not None:
        lines.append(f"what distinguishes it from {st.other} ({st.other_count:,}): AUC = P(selected further along), "
                     "SMD = mean difference in the cloud's σ (labels: share present)")
        lines.append(f"{'#':>3}  {'kind':<5}  {'name':<24} {'AUC':>6} {'SMD':>7}  {'selected':>9} {'other':>9}")
        for i, r in enumerate(st.ranking[:top]):
            lines.append(f"{i + 1:>3}  {r.kind:<5}  {r.name[:24]:<24} {_num(r.auc, '.3f'):>6} {r.smd:>+7.2f}  "
                         f"{r.group:>9.3f} {r.other:>9.3f}")
    if sel.direction is not None:
        lines.append(f"direction {sel.direction.name}: {sel.direction.meta['amount']:.2f} σ between the means")
    gen = run.generated
    if gen is not None:
        sub = f" (a uniform sample of {gen.selected:,})" if gen.subsampled else ""
        lines.append(f"generated {len(gen.z)} faces with {gen.sampler} fitted on {gen.fit_points:,} z-points{sub}")
        q = gen.quality
        if q:
            g, h = q["generated"], q["held_out"]
            lines.append("  against the selection: " + ", ".join(
                f"{k} {g[k]:.3f} (held-out members {h[k]:.3f})" for k in ("inside_2s", "pairs_2s", "nn_ratio")))
            for row in q.get("attributes", []):
                lines.append(f"  p({row['attribute']}): generated {row['generated']:.2f}, selection "
                             f"{row['selection']:.2f}, whole {row['whole']:.2f}")
        if run.folder is None:
            lines.append(f"  (give {cli_name('out')} to write them)")
    if run.folder is not None:
        faces = [f for f in run.files if f.startswith("face_")]
        made = [f for f in run.files if f.startswith("generated_") and f.endswith(".png") and f != "generated_grid.png"]
        named = [f for f in run.files if f not in faces and f not in made]
        extra = (f", {len(faces)} faces (face_*)" if faces else "") + (f", {len(made)} generated faces "
                                                                        "(generated_NNNN.png)" if made else "")
        lines.append(f"wrote {', '.join(named)}{extra} to {run.folder}")
    return lines
