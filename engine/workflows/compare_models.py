"""Two models side by side — the CLI's ``compare-models`` and the GUI's Two models panel.

The faces both models encoded are matched by file name (``engine.model_compare.match_faces``), the two latent
spaces aligned on them (Procrustes, a linear map, canonical correlations, measured on a held-out 20 %), each face's
neighbourhood compared, the attribute judges' accuracy measured in each space (when labels reach the shared faces),
the samplers' quality measured on each model (``engine.evaluation``, a quick setting), and one face decoded by
both (and by B from A's z carried over by the linear map). :func:`compare_opened` measures (nothing written);
:func:`compare_models` opens both folders, measures and writes ``comparison.json`` + ``comparison.png`` into an
owned folder (``output_folders.write_owned_set``, kind ``"model-comparison"``).
"""
from __future__ import annotations

import io
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from ..errors import DataError, EngineError
from ..progress import CancelToken, Progress, ProgressCallback, no_progress

COMPARISON_KIND = "model-comparison"
COMPARISON_JSON = "comparison.json"
COMPARISON_PNG = "comparison.png"
JOB = "compare models"


def _compare_params():
    from ..model_compare import MIN_SHARED, NEIGHBOURS
    from ..params import Param

    return (
        Param("model", str, None, "a model folder; give two (A, then B), or one to compare with the default model",
              kind="path", repeat=True, metavar="MODEL_DIR"),
        Param("out", str, None, "folder to write comparison.json and comparison.png into", kind="path",
              required=True),
        Param("data", str, None, "the image folder both models encoded (shows the original face beside the "
              "decodes)", kind="path"),
        Param("face", str, None, "the face decoded by both (a file name; default: the first shared face)",
              metavar="NAME", kind="text"),
        Param("k", int, NEIGHBOURS, "neighbours per face for the neighbourhood overlap", minimum=1),
        Param("whiten", bool, False, "compare neighbourhoods in whitened z (default: standardised z)"),
        Param("min_shared", int, MIN_SHARED, "fewest shared faces to compare", minimum=10),
        Param("held_out", float, 0.2, "share of the shared faces the alignment is measured on", minimum=0.05,
              maximum=0.5),
        Param("attributes", str, None, "attributes whose judges are compared (default: every labelled one)",
              metavar="NAME,...", kind="text"),
        Param("no_probes", bool, False, "skip the per-attribute judge accuracies"),
        Param("probe_faces", int, 3000, "shared faces (at most, a random subset) the judges are measured on",
              minimum=20),
        Param("samplers", str, "normal,pca-ellipse", "samplers whose quality is measured on each model "
              "(none: skip)", metavar="a,b,...", kind="text"),
        Param("n", int, 128, "vectors per sampler for the sampler quality", minimum=8),
        Param("seed", int, 0, "", kind="seed"),
        Param("overwrite", bool, False, "replace a comparison written earlier into the folder"),
    )


#: The compare-models use case's options, declared once (the CLI's flags are built from them).
COMPARE_PARAMS = _compare_params()


@dataclass
class CompareOptions:
    """What :func:`compare_opened` measures (the rows of :data:`COMPARE_PARAMS`, as values)."""

    k: int = 10
    whiten: bool = False
    min_shared: int = 50
    held_out: float = 0.2
    attributes: Optional[Sequence[str]] = None  # None: every labelled attribute
    probes: bool = True
    probe_faces: int = 3000
    samplers: Sequence[str] = ("normal", "pca-ellipse")
    n: int = 128
    seed: int = 0
    face: Optional[str] = None


@dataclass
class ModelComparison:
    """Two models compared: the numbers (``numbers``, what ``comparison.json`` holds), the per-face overlap, one
    face decoded (``faces``: label → S×S×3 uint8, original first when the data folder was given)."""

    numbers: dict
    overlap: np.ndarray
    faces: dict = field(default_factory=dict)
    face_name: str = ""
    alignment: Any = None  # engine.model_compare.Alignment
    folder: Optional[Path] = None
    figure_png: bytes = b""
    shared: Any = field(default=None, repr=False)  # engine.model_compare.SharedFaces
    model_a: Any = field(default=None, repr=False)  # the two OpenedModels (the GUI decodes other faces with them)
    model_b: Any = field(default=None, repr=False)

    def table_rows(self) -> list[tuple[str, str, str]]:
        """(measure, A, B) rows: what the GUI's table and the CLI print."""
        n = self.numbers
        al, ov = n["alignment"], n["overlap"]
        rows = [("z dimensions", str(al["z_dim_a"]), str(al["z_dim_b"])),
                ("shared faces", str(n["shared"]["faces"]), ""),
                ("held-out R², linear map (A→B, B→A)", f"{al['linear_r2_held_out']:.3f}",
                 f"{al['linear_r2_b_to_a_held_out']:.3f}"),
                ("held-out R², Procrustes (A→B)", f"{al['procrustes_r2_held_out']:.3f}", ""),
                ("canonical correlations (top 3, held-out)",
                 ", ".join(f"{c:.3f}" for c in al["canonical_correlations_held_out"][:3]), ""),
                (f"neighbour overlap (k={ov['k']}): median, mean", f"{ov['median']:.3f}", f"{ov['mean']:.3f}")]
        for name, acc in n.get("probes", {}).items():
            rows.append((f"judge accuracy: {name}", _fmt(acc.get("a")), _fmt(acc.get("b"))))
        for name, q in n.get("samplers", {}).items():
            rows.append((f"{name} faces: inside 2σ / nn ratio", _fmt_pair(q.get("a")), _fmt_pair(q.get("b"))))
        return rows


def _fmt(v) -> str:
    return "—" if v is None else f"{v:.3f}"


def _fmt_pair(q) -> str:
    if not q:
        return "—"
    return f"{_fmt(q.get('inside_2s'))} / {_fmt(q.get('nn_ratio'))}"


def _same_folder(a, b) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve() or os.path.samefile(a, b)
    except OSError:
        return False


def check_options(o: CompareOptions) -> None:
    """Refuse, before any work, options outside their rows' ranges (:data:`COMPARE_PARAMS`)."""
    for p in COMPARE_PARAMS:
        value = getattr(o, p.name, None)
        if p.type in (int, float) and value is not None and (
                (p.minimum is not None and value < p.minimum) or (p.maximum is not None and value > p.maximum)):
            raise EngineError(f"{value}: outside {p.minimum:g} … {p.maximum if p.maximum is not None else '∞'}",
                              param=p.name)


def check_pair(folder_a, folder_b) -> None:
    """Refuse two folders that are one model."""
    if _same_folder(folder_a, folder_b):
        raise EngineError(f"{folder_b}: the same folder as the first model; choose another model to compare with",
                          param="model")


def _probes(a, b, shared, o: CompareOptions, progress, cancel) -> tuple[dict, str]:
    """{attribute: {"a": acc, "b": acc}} and where the labels came from ("" when none)."""
    from ..model_compare import probe_accuracies

    if not o.probes:
        return {}, ""
    source, rows = (a.labels, shared.rows_a) if a.labels is not None else (b.labels, shared.rows_b)
    if source is None:
        return {}, ""
    names = list(o.attributes) if o.attributes is not None else list(source.names)
    for name in names:
        source.index(name)
    total = 2 * len(names)
    pick = np.arange(len(shared))
    if len(pick) > o.probe_faces:
        pick = np.sort(np.random.default_rng(o.seed).choice(len(pick), o.probe_faces, replace=False))
    rows = rows[pick]

    def tick(side):
        def f(i, name):
            cancel.raise_if_cancelled()
            progress(Progress(JOB, i + (len(names) if side == "b" else 0), total, f"judge of {name} ({side.upper()})"))
        return f

    acc_a = probe_accuracies(a.latents[shared.rows_a[pick]], source, names, rows=rows, seed=o.seed, progress=tick("a"))
    acc_b = probe_accuracies(b.latents[shared.rows_b[pick]], source, names, rows=rows, seed=o.seed, progress=tick("b"))
    return {nm: {"a": acc_a[nm], "b": acc_b[nm]} for nm in names}, ("A" if source is a.labels else "B")


def _sampler_quality(opened, o: CompareOptions, progress, cancel) -> dict:
    """{sampler: {metric: value}} of one model, latent metrics only (no images against real faces)."""
    from .evaluate import EvaluateOptions, evaluate_opened_model

    ev = evaluate_opened_model(opened, None, EvaluateOptions(n=o.n, seed=o.seed, samplers=list(o.samplers)),
                               progress=progress, cancel=cancel)
    keep = ("inside_2s", "inside_3s", "nn_ratio", "face_rate")
    return {r["name"]: {m: (None if r.get(m) is None or not np.isfinite(r.get(m)) else round(float(r[m]), 5))
                        for m in keep} for r in ev.report.rows}


def face_row(a, b, shared, alignment, face: Optional[str] = None, data=None) -> tuple[str, dict]:
    """The face ``face`` (a file name; None: the first shared face) decoded by both models: (its name, {label:
    image}): the original (when ``data`` holds it, framed like A's training faces), A's decode of A's z, B's of
    B's z, and B's decode of A's z carried over by the alignment's linear map."""
    from ..encoding import decode_latents
    from ..image_data import decode_face, file_in_folder

    if face is None:
        i = 0
    else:
        try:
            i = shared.names.index(face)
        except ValueError:
            raise DataError(f"{face!r}: not among the faces both models encoded", param="face") from None
    name = shared.names[i]
    za = a.latents[shared.rows_a[i]][None]
    zb = b.latents[shared.rows_b[i]][None]
    faces: dict = {}
    if data is not None:
        path = file_in_folder(data, name)
        if path is not None and path.is_file():
            try:
                faces["original"] = decode_face(path, a.codec.preprocess)
            except (OSError, ValueError):
                pass
    faces["A"] = decode_latents(a.codec, za)[0]
    faces["B"] = decode_latents(b.codec, zb)[0]
    faces["B from A's z"] = decode_latents(b.codec, alignment.map_a_to_b(za))[0]
    return name, faces


def compare_opened(a, b, options: Optional[CompareOptions] = None, *, data=None, judges: bool = True,
                   progress: ProgressCallback = no_progress, cancel: Optional[CancelToken] = None) -> ModelComparison:
    """Compare two models already open (``workflows.open_model.OpenedModel``, both encoded); nothing is written.
    Without ``judges`` the slow part (the attribute judges, the samplers' quality) is left to
    :func:`measure_judges` (the GUI shows the rest first)."""
    from ..model_compare import align, match_faces, neighbour_overlap, overlap_summary

    o = options or CompareOptions()
    cancel = cancel or CancelToken()
    t0 = time.perf_counter()
    check_options(o)
    check_pair(a.folder, b.folder)
    za, zb = a.require_latents(), b.require_latents()
    progress(Progress(JOB, 0, 4, "matching faces"))
    shared = match_faces(a.latent_files, b.latent_files, minimum=o.min_shared)
    progress(Progress(JOB, 1, 4, f"aligning on {len(shared)} shared faces"))
    alignment = align(za[shared.rows_a], zb[shared.rows_b], held_out=o.held_out, seed=o.seed)
    cancel.raise_if_cancelled()
    progress(Progress(JOB, 2, 4, "neighbourhoods"))
    overlap = neighbour_overlap(za[shared.rows_a], zb[shared.rows_b], o.k, whiten=o.whiten)
    cancel.raise_if_cancelled()
    face_name, faces = face_row(a, b, shared, alignment, o.face, data)
    numbers = {
        "comparison": "two-models", "seed": int(o.seed),
        "model_a": {"folder": str(a.folder), "model_id": a.model_id, "z_dim": int(a.z_dim), "z_points": len(za)},
        "model_b": {"folder": str(b.folder), "model_id": b.model_id, "z_dim": int(b.z_dim), "z_points": len(zb)},
        "shared": {"faces": len(shared), "only_a": shared.only_a, "only_b": shared.only_b},
        "alignment": alignment.summary(),
        "overlap": {**overlap_summary(overlap, shared.names, o.k), "space": "whitened" if o.whiten else "standardised"},
        "probes": {}, "labels_from": "", "samplers": {}, "judged": not (o.probes or o.samplers),
        "face": face_name, "faces_shown": list(faces), "data": None if data is None else str(data),
    }
    numbers["seconds"] = round(time.perf_counter() - t0, 3)
    progress(Progress(JOB, 4, 4, "done"))
    comp = ModelComparison(numbers, overlap, faces, face_name, alignment, shared=shared, model_a=a, model_b=b)
    if judges:
        measure_judges(comp, o, progress=progress, cancel=cancel)
    return comp


def measure_judges(comp: ModelComparison, options: Optional[CompareOptions] = None, *,
                   progress: ProgressCallback = no_progress, cancel: Optional[CancelToken] = None) -> ModelComparison:
    """The slow part of a comparison, into ``comp.numbers``: each attribute judge's accuracy in both spaces (when
    labels reach the shared faces) and the samplers' quality on each model."""
    o = options or CompareOptions()
    cancel = cancel or CancelToken()
    t0 = time.perf_counter()
    a, b = comp.model_a, comp.model_b
    probes, label_source = _probes(a, b, comp.shared, o, progress, cancel)
    samplers: dict = {}
    if o.samplers:
        qa = _sampler_quality(a, o, progress, cancel)
        qb = _sampler_quality(b, o, progress, cancel)
        samplers = {nm: {"a": qa.get(nm), "b": qb.get(nm)} for nm in dict.fromkeys([*qa, *qb])}
    comp.numbers.update(probes=probes, labels_from=label_source, samplers=samplers, judged=True)
    comp.numbers["seconds"] = round(comp.numbers["seconds"] + time.perf_counter() - t0, 3)
    return comp


def compare_with_folder(a, folder_b, options: Optional[CompareOptions] = None, *, data=None, judges: bool = True,
                        progress: ProgressCallback = no_progress,
                        cancel: Optional[CancelToken] = None) -> ModelComparison:
    """The GUI's "Compare with another model…": the open model ``a`` against the model in ``folder_b`` (opened
    here, with its labels); nothing is written; ``judges`` as :func:`compare_opened`."""
    from .open_model import open_model

    check_pair(a.folder, folder_b)
    b = open_model(folder_b, progress=progress, cancel=cancel)
    return compare_opened(a, b, options, data=data, judges=judges, progress=progress, cancel=cancel)


def comparison_figure(comp: ModelComparison) -> bytes:
    """One PNG: the overlap histogram, the canonical correlations, the judges' accuracies A vs B, the face row."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    n = comp.numbers
    fig = Figure(figsize=(11, 7.5), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.2, 1])
    ax1, ax2, ax3 = top.subplots(1, 3)
    ov = n["overlap"]
    ax1.hist(comp.overlap, bins=np.linspace(0, 1, 11), color="#4c72b0")
    ax1.axvline(ov["median"], color="k", ls="--", lw=1, label=f"median {ov['median']:.2f}")
    ax1.axvline(ov["chance"], color="#c44e52", ls=":", lw=1, label=f"chance {ov['chance']:.3f}")
    ax1.set(title=f"neighbour overlap (k={ov['k']}, Jaccard)", xlabel="overlap", ylabel="faces")
    ax1.legend(fontsize=8)
    al = n["alignment"]
    cc = comp.alignment.canonical_held_out if comp.alignment is not None else al["canonical_correlations_held_out"]
    ax2.plot(np.arange(1, len(cc) + 1), cc, color="#55a868")
    ax2.set(title="canonical correlations (held-out)", xlabel="canonical pair", ylabel="correlation", ylim=(0, 1.02))
    ax2.text(0.98, 0.95, f"linear R² {al['linear_r2_held_out']:.3f}\nProcrustes R² {al['procrustes_r2_held_out']:.3f}",
             transform=ax2.transAxes, ha="right", va="top", fontsize=9)
    pr = {k: v for k, v in n["probes"].items() if v["a"] is not None and v["b"] is not None}
    if pr:
        xa, xb = [v["a"] for v in pr.values()], [v["b"] for v in pr.values()]
        ax3.scatter(xa, xb, s=14, color="#8172b2")
        lo = min(0.5, *xa, *xb)
        ax3.plot([lo, 1], [lo, 1], color="grey", lw=0.8)
        ax3.set(title="judge accuracy per attribute", xlabel="model A", ylabel="model B")
    else:
        ax3.axis("off")
        ax3.text(0.5, 0.5, "no labels for the shared faces", ha="center", va="center")
    axes = bottom.subplots(1, max(1, len(comp.faces)))
    for ax, (label, img) in zip(np.atleast_1d(axes), comp.faces.items()):
        ax.imshow(img)
        ax.set_title(label, fontsize=10)
        ax.axis("off")
    bottom.suptitle(f"{comp.face_name}: the same face decoded by both models", fontsize=10)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": "Latent Face Studio"})
    return buf.getvalue()


def write_comparison(comp: ModelComparison, out, *, inputs: Sequence = (), overwrite: bool = False) -> Path:
    """Write ``comparison.json`` and ``comparison.png`` into ``out`` as an owned set."""
    from .. import atomic_io
    from ..output_folders import write_owned_set

    comp.figure_png = comparison_figure(comp)

    def fill(stage: Path) -> dict:
        atomic_io.write_staged(stage / COMPARISON_JSON, (json.dumps(comp.numbers, indent=1, ensure_ascii=False)
                                                         + "\n").encode("utf-8"))
        atomic_io.write_staged(stage / COMPARISON_PNG, comp.figure_png)
        return {"numbers": COMPARISON_JSON, "figure": COMPARISON_PNG, "model_a": comp.numbers["model_a"]["folder"],
                "model_b": comp.numbers["model_b"]["folder"]}

    comp.folder = Path(write_owned_set(out, COMPARISON_KIND, fill, overwrite=overwrite,
                                       inputs=[i for i in inputs if i is not None]))
    return comp.folder


def compare_models(folder_a, folder_b, out, *, data=None, options: Optional[CompareOptions] = None,
                   overwrite: bool = False, progress: ProgressCallback = no_progress,
                   cancel: Optional[CancelToken] = None) -> ModelComparison:
    """The CLI's ``compare-models``: refuse one model twice and the output folder first, open both, compare, write."""
    from ..output_folders import check_output_folder
    from .evaluate import check_sampler_names
    from .open_model import open_model

    o = options or CompareOptions()
    check_options(o)
    check_pair(folder_a, folder_b)
    if o.samplers:
        check_sampler_names(o.samplers, label="{opt:samplers}")
    inputs = [folder_a, folder_b, data]
    check_output_folder(out, inputs=[i for i in inputs if i is not None], overwrite=overwrite, kind=COMPARISON_KIND)
    if data is not None and not Path(data).is_dir():
        raise DataError(f"{data}: no such folder", param="data")
    a = open_model(folder_a, progress=progress, cancel=cancel)
    b = open_model(folder_b, progress=progress, cancel=cancel)
    comp = compare_opened(a, b, o, data=data, progress=progress, cancel=cancel)
    write_comparison(comp, out, inputs=inputs, overwrite=overwrite)
    return comp
