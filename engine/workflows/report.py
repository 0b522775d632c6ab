"""Report: the blog's figures for one model, as a self-contained HTML page, separate PNG and SVG files and a
JSON of every number shown — the CLI's ``report`` and the GUI's File ▸ Export report.

Every number comes from the engine's own results, computed once: the model's cached
:class:`~engine.latent_stats.LatentStats` (histograms, Gaussian fits, correlations, PCA, normality),
``latent_stats.pair_moments`` / ``fraction_inside_ellipse`` / ``density_grid`` / ``density_contours`` for
the pair plots, ``generation.generate`` for the face grids, ``evaluation.evaluate`` for the sampler table
(with ``data``), ``atlas.atlas`` for the atlas and ``OpenedModel.describe()`` for the model card — the
numbers the GUI's panels show. Figures are drawn with matplotlib's object API (no pyplot, no global
backend), so the report can be built on the GUI's worker thread.

A report has parts (``REPORT_PARTS``: the statistics figures, the faces of each sampler, the atlas, the sampler
comparison); ``ReportOptions.parts`` chooses them, by default every part its inputs allow. What each part is expected
to cost is :func:`engine.workflows.estimates.expected_report_parts` (the GUI asks before a slow one).

The folder is written as an owned set (``output_folders.write_owned_set``, kind ``"report"``): a new or
empty folder, or a report we wrote (with ``overwrite``); the files are staged and moved into place when
all are complete.
"""
from __future__ import annotations

import base64
import html
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

from ..errors import EngineError
from ..progress import CancelToken, Progress, ProgressCallback, no_progress
from .report_figures import (  # noqa: F401 - the figures, importable from here as before
    DPI, TOP_PAIRS, Figure, _r, fig_atlas, fig_correlations, fig_faces, fig_histogram_overview, fig_histograms,
    fig_normality, fig_pairs, fig_pca, fig_sampler_table, pair_numbers, strongest_pairs,
)

REPORT_KIND = "report"
REPORT_HTML = "report.html"
REPORT_JSON = "report.json"
SIGMA_LEVELS = (1.0, 2.0, 3.0)
DEFAULT_COMPONENTS = 6
FACES_PER_SAMPLER = 16
ATLAS_SIDE = 12


#: The vector formats a report's figures can be written in (beside PNG).
VECTOR_FORMATS = ("svg", "pdf")


@dataclass(frozen=True)
class ReportPart:
    """A part of the report a user may leave out: its name (the option's value), title and what it shows."""

    name: str
    title: str
    help: str
    needs_data: bool = False  # only with the model's training image folder


#: The report's parts, in page order (their expected times: ``engine.workflows.estimates.expected_report_parts``).
REPORT_PARTS = (
    ReportPart("statistics", "Statistics figures", "histograms with Gaussian fits, correlations, pair plots, PCA and "
               "the normality check"),
    ReportPart("faces", "Faces of each sampler", "a grid of faces from every compared sampler (each is fitted)"),
    ReportPart("atlas", "Face atlas", "the decoder's faces over the plane of the two leading principal axes"),
    ReportPart("comparison", "Sampler comparison", "every sampler's faces measured against the training images "
               "(slow)", needs_data=True),
)


def _report_params():
    from .. import params

    return (
        params.Param("model", str, None, "", kind="path"),
        params.Param("data", str, None, "the model's training image folder: adds the sampler comparison table",
                     kind="path"),
        params.Param("out", str, None, "", kind="path", required=True, metavar="DIR"),
        params.Param("components", str, None, "the histograms shown large (default: the first 6)", metavar="0,1,2",
                     kind="text"),
        params.Param("samplers", str, None, "face grids of these samplers (default: all compared)", metavar="a,b",
                     kind="text"),
        params.Param("seed", int, 0, "", kind="seed"),
        params.Param("parts", str, None, "the parts of the report (default: all; the comparison needs the data "
                     "folder)", metavar=",".join(p.name for p in REPORT_PARTS), kind="text"),
        params.Param("vector", str, "svg", "vector format of the figure files", choices=VECTOR_FORMATS),
        params.Param("overwrite", bool, False, "replace a report written earlier to the output folder"),
    )


#: The report use case's options, declared once (the CLI's flags are built from them).
REPORT_PARAMS = _report_params()


@dataclass
class ReportOptions:
    components: Optional[Sequence[int]] = None  # the chosen histograms (default: the first 6)
    samplers: Optional[Sequence[str]] = None  # face grids (default: evaluate's compared samplers)
    faces: int = FACES_PER_SAMPLER
    seed: int = 0
    atlas_side: int = ATLAS_SIDE
    levels: Sequence[float] = SIGMA_LEVELS
    evaluate_n: int = 256
    compare: Optional[Sequence[str]] = None  # samplers of the comparison table (default: evaluate's list)
    formats: Sequence[str] = ("png", "svg")  # vector: "svg" and/or "pdf"
    parts: Optional[Sequence[str]] = None  # names of REPORT_PARTS (default: every part the inputs allow)


@dataclass
class Report:
    folder: Optional[Path]
    numbers: dict  # everything in report.json
    figures: list[Figure]
    html: str
    seconds: float


# ----------------------------------------------------------------------------------------------
# the page


def _png_tag(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _table(header: Sequence[str], rows: Sequence[Sequence], cls: str = "") -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


CSS = """body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;color:#222;line-height:1.45}
img{max-width:100%;border:1px solid #ddd}table{border-collapse:collapse;margin:.6em 0;font-size:90%}
td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}td:first-child,th:first-child{text-align:left}
.card td{text-align:left}figure{margin:1.5em 0}figcaption{font-size:90%;color:#444}h2{border-bottom:1px solid #ccc}
.files{font-size:85%;color:#555}"""


def build_html(numbers: dict, figures: list[Figure]) -> str:
    card = numbers["model_card"]
    parts = [f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>Latent space report — "
             f"{html.escape(str(numbers['model']['model_id'] or numbers['model']['folder']))}</title><style>{CSS}</style>"
             "</head><body>", "<h1>Latent space report</h1>",
             f"<p>Written by Latent Face Studio {html.escape(numbers['app_version'])}; every number shown is in "
             f"<code>{REPORT_JSON}</code>, every figure also as separate files.</p>",
             "<h2>Model card</h2>", _table(["", ""], [(r["label"], r["value"]) for r in card], "card")]
    pairs = numbers.get("correlations", {}).get("strongest_pairs", [])
    for fig in figures:
        parts.append(f"<h2>{html.escape(fig.title)}</h2><figure>{_png_tag(fig.png, fig.title)}"
                     f"<figcaption>{html.escape(fig.caption)}</figcaption></figure>")
        files = [f"{fig.name}.png"] + [f"{fig.name}.{ext}" for ext in fig.vectors]
        parts.append(f'<p class="files">files: {", ".join(html.escape(f) for f in files)}</p>')
        if fig.name == "fig-03-correlations" and pairs:
            parts.append(_table(["pair", "r"], [(f"z{p['i']} – z{p['j']}", f"{p['r']:+.3f}") for p in pairs]))
        if fig.name == "fig-06-normality":
            n = numbers["normality"]
            parts.append(_table(["level", "observed", "Gaussian"],
                                [(f"{lv:g}σ", f"{100 * o:.1f}%", f"{100 * e:.1f}%")
                                 for lv, o, e in zip(n["levels"], n["observed"], n["expected"])]))
        if fig.name == "fig-09-sampler-table":
            ev = numbers["sampler_comparison"]
            cols = ["name", "kind"] + ev["metrics"]

            def cell(r, c):
                v = r.get(c)
                if c in ("name", "kind"):
                    return v
                if v is None:
                    return "—"
                return f"{v:.1f}" if c == "frechet" else f"{v:.3f}"

            parts.append(_table(cols, [[cell(r, c) for c in cols] for r in ev["rows"]]))
            parts.append("<ul>" + "".join(f"<li><b>{html.escape(m)}</b>: {html.escape(ev['metric_help'][m])}</li>"
                                          for m in ev["metrics"]) + "".join(f"<li>{html.escape(nt)}</li>" for nt in ev["notes"])
                         + "</ul>")
    if "sampler_comparison" not in numbers and numbers.get("data") is None:
        parts.append("<h2>Sampler comparison</h2><p>Not measured: give the model's training image folder "
                     "(the dataset folder) to compare the samplers.</p>")
    left_out = [p.title for p in REPORT_PARTS if p.name not in numbers.get("parts", [p.name])
                and (numbers.get("data") is not None or not p.needs_data)]
    if left_out:
        parts.append(f"<p class=files>Left out of this report: {html.escape(', '.join(left_out))}.</p>")
    parts.append(f"<p class=files>Built in {numbers['timings']['total_s']:.1f} s.</p></body></html>")
    return "\n".join(parts)


# ----------------------------------------------------------------------------------------------
# the use case


def chosen_parts(options: Optional[ReportOptions] = None, data=None) -> tuple[str, ...]:
    """The parts a report will have, in page order: those asked for (``options.parts``), or every part the inputs
    allow (the sampler comparison with a data folder). Unknown names, no part, or the comparison without a data
    folder are refused."""
    o = options or ReportOptions()
    if o.parts is None:
        return tuple(p.name for p in REPORT_PARTS if data is not None or not p.needs_data)
    asked = [str(p).strip() for p in o.parts if str(p).strip()]
    known = {p.name: p for p in REPORT_PARTS}
    for name in asked:
        if name not in known:
            raise EngineError(f"unknown report part {name!r}; choose among {', '.join(known)}", param="parts")
    if not asked:
        raise EngineError(f"choose at least one part of the report: {', '.join(known)}", param="parts")
    for name in asked:
        if known[name].needs_data and data is None:
            raise EngineError(f"the {known[name].title.lower()} needs the model's training image folder", param="data")
    return tuple(p.name for p in REPORT_PARTS if p.name in asked)


def _statistics_figures(stats, latents, comps, o: ReportOptions, vec, timed) -> tuple[list, dict]:
    """The statistics part: histograms, their overview, correlations, pair plots, PCA, normality."""
    d = int(stats.z_dim)
    figures, numbers = [], {}
    for key, step, fn in (("histograms", "drawing the histograms", lambda: fig_histograms(stats, comps, vec)),
                          ("histogram_overview", "drawing every component's histogram",
                           lambda: fig_histogram_overview(stats, vec)),
                          ("correlations", "drawing the correlations", lambda: fig_correlations(stats, vec))):
        f, numbers[key] = timed(key, step, fn)
        figures.append(f)
    top = numbers["correlations"]["strongest_pairs"]
    zpair = (("z", top[0]["i"]), ("z", top[0]["j"])) if top else (("z", 0), ("z", 1 % d))
    f, numbers["pair_plots"] = timed("pair_plots", "drawing the pair plots", lambda: fig_pairs(
        latents, stats, [zpair, (("pca", 0), ("pca", 1 % d))], list(o.levels), vec, o.seed))
    figures.append(f)
    for key, step, fn in (("pca", "drawing the PCA", lambda: fig_pca(stats, vec)),
                          ("normality", "drawing the normality check", lambda: fig_normality(stats, vec))):
        f, numbers[key] = timed(key, step, fn)
        figures.append(f)
    return figures, numbers


def build_report(opened, *, data=None, options: Optional[ReportOptions] = None, progress: ProgressCallback = no_progress,
                 cancel: Optional[CancelToken] = None) -> Report:
    """The figures and numbers of the report's chosen parts (:func:`chosen_parts`) for an opened model (with
    statistics), in memory."""
    from .. import __version__

    cancel = cancel or CancelToken()
    o = options or ReportOptions()
    if opened.stats is None or opened.latents is None:
        raise EngineError(f"{opened.folder}: a report needs the model's z-points and statistics (encode a dataset first)")
    check_report_options(o)
    parts = chosen_parts(o, data)
    stats, latents = opened.stats, opened.latents
    d = int(stats.z_dim)
    comps = list(range(min(DEFAULT_COMPONENTS, d))) if o.components is None else [int(c) for c in o.components]
    for c in comps:
        if not 0 <= c < d:
            raise EngineError(f"report components: z{c} is out of range z0…z{d - 1}")
    if not comps:
        raise EngineError("report components: choose at least one component")
    vec = tuple(f for f in o.formats if f != "png")
    t_start = time.perf_counter()
    timings: dict = {}
    total = {"statistics": 6, "faces": 1, "atlas": 1, "comparison": 1}
    total = sum(total[p] for p in parts) + 1
    done = [0]

    def timed(key: str, step: str, fn: Callable):
        cancel.raise_if_cancelled()
        progress(Progress("report", done[0], total, step))
        t0 = time.perf_counter()
        out = fn()
        timings[key] = round(time.perf_counter() - t0, 3)
        done[0] += 1
        return out

    figures, numbers = [], {}
    if "statistics" in parts:
        figures, numbers = _statistics_figures(stats, latents, comps, o, vec, timed)
    if "faces" in parts:
        f, numbers["faces"] = timed("faces", "generating the faces of each sampler", lambda: fig_faces(
            opened, o.samplers, o.faces, o.seed, vec, cancel, lambda m: None))
        figures.append(f)
    if "atlas" in parts:
        f, numbers["atlas"] = timed("atlas", "decoding the face atlas", lambda: fig_atlas(opened, o.atlas_side,
                                                                                          list(o.levels), vec))
        figures.append(f)
    if "comparison" in parts:
        from .evaluate import EvaluateOptions, evaluate_opened_model

        def compare():  # on the model already open: not opened again from its folder
            return fig_sampler_table(evaluate_opened_model(opened, data, EvaluateOptions(
                n=o.evaluate_n, seed=o.seed, samplers=o.compare), cancel=cancel).report, vec)

        f, numbers["sampler_comparison"] = timed("sampler_comparison", "comparing the samplers against the dataset",
                                                 compare)
        figures.append(f)
    card = [{"label": k, "value": v} for k, v in opened.describe()]
    timings["total_s"] = round(time.perf_counter() - t_start, 3)
    numbers = {"report": "latent-space", "app_version": __version__,
               "model": {"folder": str(opened.folder), "model_id": opened.model_id, "z_dim": d, "z_points": int(stats.n)},
               "data": None if data is None else str(data), "seed": int(o.seed), "parts": list(parts),
               "model_card": card, **numbers,
               "figures": [{"name": fg.name, "title": fg.title, "files": [f"{fg.name}.png"] +
                            [f"{fg.name}.{e}" for e in fg.vectors]} for fg in figures],
               "timings": timings}
    numbers = _r(numbers)
    progress(Progress("report", done[0], total, "writing the page"))
    page = build_html(numbers, figures)
    progress(Progress("report", total, total, "done"))
    return Report(None, numbers, figures, page, time.perf_counter() - t_start)


def write_report_folder(report: Report, out, *, inputs: Sequence = (), overwrite: bool = False) -> Path:
    """Write ``report`` into ``out`` as an owned set (staged; params.json lists the files)."""
    from .. import atomic_io
    from ..output_folders import write_owned_set

    def fill(stage: Path) -> dict:
        for fig in report.figures:
            atomic_io.write_staged(stage / f"{fig.name}.png", fig.png)
            for ext, data in fig.vectors.items():
                atomic_io.write_staged(stage / f"{fig.name}.{ext}", data)
        atomic_io.write_staged(stage / REPORT_JSON, json.dumps(report.numbers, indent=1, ensure_ascii=False).encode())
        atomic_io.write_staged(stage / REPORT_HTML, report.html.encode("utf-8"))
        return {"report": REPORT_HTML, "numbers": REPORT_JSON, "model_id": report.numbers["model"]["model_id"],
                "model_folder": report.numbers["model"]["folder"]}

    folder = write_owned_set(out, REPORT_KIND, fill, overwrite=overwrite, inputs=[i for i in inputs if i is not None])
    report.folder = Path(folder)
    return report.folder


def check_report_options(options: Optional[ReportOptions]) -> None:
    """Refuse, before any work, options that name no sampler we have or an unknown format."""
    from .evaluate import check_sampler_names

    o = options or ReportOptions()
    if o.samplers is not None:
        check_sampler_names(o.samplers)
    if o.compare is not None:
        check_sampler_names(o.compare, label="report comparison samplers")
    for ext in o.formats:
        if ext not in ("png", "svg", "pdf"):
            raise EngineError(f"report format {ext!r}: choose png, svg or pdf")


def check_report_output(model_folder, out, *, data=None, options: Optional[ReportOptions] = None,
                        overwrite: bool = False) -> list:
    """Refuse, before any work, bad options, an output folder the report may not go to (never among the user's
    files, never inside the model's or the data folder) and a data folder that is not there; the input folders."""
    from ..output_folders import check_output_folder

    inputs = [i for i in (model_folder, data) if i is not None]
    check_report_options(options)
    chosen_parts(options, data)
    check_output_folder(out, inputs=inputs, overwrite=overwrite, kind=REPORT_KIND)
    if data is not None and not Path(data).is_dir():
        raise EngineError(f"{data}: no such folder", param="data")
    return inputs


def report_of_model(opened, out, *, data=None, options: Optional[ReportOptions] = None, overwrite: bool = False,
                    progress: ProgressCallback = no_progress, cancel: Optional[CancelToken] = None) -> Report:
    """Build and write the report of a model already open (the GUI's Export report; the CLI's after opening):
    its codec, z-points and statistics as they are — the statistics computed here only when it has none."""
    inputs = check_report_output(opened.folder, out, data=data, options=options, overwrite=overwrite)
    if opened.stats is None and opened.latents is not None and len(opened.latents) >= 3:
        from dataclasses import replace

        from ..latent_stats import load_or_compute_stats
        from .open_model import leading_pca_coords

        stats = load_or_compute_stats(opened.folder, opened.latents, progress=progress, cancel=cancel)
        opened = replace(opened, stats=stats, pca_coords=leading_pca_coords(opened.latents, stats))
    report = build_report(opened, data=data, options=options, progress=progress, cancel=cancel)
    write_report_folder(report, out, inputs=inputs, overwrite=overwrite)
    return report


def make_report(model_folder, out, *, data=None, options: Optional[ReportOptions] = None, overwrite: bool = False,
                progress: ProgressCallback = no_progress, cancel: Optional[CancelToken] = None) -> Report:
    """The CLI's ``report``: check ``out`` first, open the model (with statistics), build and write the report."""
    from .open_model import open_model

    check_report_output(model_folder, out, data=data, options=options, overwrite=overwrite)
    opened = open_model(model_folder, statistics=True, labels=False, progress=progress, cancel=cancel)
    return report_of_model(opened, out, data=data, options=options, overwrite=overwrite, progress=progress,
                           cancel=cancel)
