"""Act on a selection of a model's z-points: select by a query, describe it, export it, generate faces like it.

A selection is a boolean mask over the model's z-points (the GUI's lasso, box or range, or a query of
:mod:`engine.query`). The use cases:

* :func:`select` — a query → the mask, its count, and its :class:`~engine.group_stats.GroupStats` against the rest
  (or against a second query's group), with the direction between the two groups when there is a second one.
* :func:`generate_like` — any registered sampler fitted to the selection's z-points (on a uniform sample of at most
  :data:`FIT_MAX` of them when it is larger, said in the result), ``n`` faces, and their quality measured against
  the selection itself with :mod:`engine.evaluation`'s latent metrics (fitted on 80 % of the selection, compared
  with the held-out 20 %: the held-out members' own scores are the reference row), plus how strongly the faces
  carry the attributes that distinguish the selection (the judges' mean probability: generated, selection, whole).
* :func:`export_selection` — one folder written by the rules of :mod:`engine.output_folders` (kind ``selection``):
  ``selection.csv`` (name, index and z of each member), ``grid.png`` (its first faces: the training images when the
  dataset folder is given, reconstructions otherwise), the faces themselves (copies of the training images, or
  reconstructions as PNG), ``distinguish.csv`` + ``.json`` (the ranked table), ``selection.json`` (the query, the
  counts, the generated faces' quality) and the generated faces (``generated_z.npy``, ``generated_NNNN.png``,
  ``generated_grid.png``).
* :func:`select_to_folder` — the CLI's ``select``: all of the above from option values (a saved direction set's
  directions ranked beside the principal axes).
"""
from __future__ import annotations

import csv
import io
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from ..errors import EngineError, SamplerError
from ..progress import CancelToken, Progress, ProgressCallback, no_progress
from .open_model import OpenedModel

#: a sampler is fitted on at most this many of a selection's z-points (a uniform sample beyond; see the benchmark)
FIT_MAX = 10_000
#: faces in grid.png
GRID_FACES = 64
#: the most faces an export writes one file each for
MAX_EXPORT_IMAGES = 20_000
EXPORT_KINDS = ("csv", "grid", "images")
#: the share of a selection held out to measure the generated faces against
HELD_OUT = 0.2
#: the quality's bounds: the reference points (the nearest-neighbour scale, the moments) and held-out points measured
QUALITY_REFERENCE = 4000
QUALITY_HELD_OUT = 512


@dataclass
class SelectionSpace:
    """A model's z-points ready for queries and group statistics (built once per model: :func:`selection_space`)."""

    opened: OpenedModel
    space: Any  # engine.query.QuerySpace
    basis: Any = None  # engine.group_stats.CloudBasis, built on first use
    directions: Sequence = ()

    def cloud(self):
        if self.basis is None:
            from ..group_stats import cloud_basis

            judges = self.space.resolved("judges", self.space.judges) if self.space.judges is not None else None
            self.basis = cloud_basis(self.space.z, labels=self.space.labels, judges=judges, pca=self.space._pca(),
                                     directions=self.directions)
        return self.basis


def selection_space(opened: OpenedModel, *, judges: bool = True, directions: Sequence = ()) -> SelectionSpace:
    """The query space of a model's z-points: its labels, its attribute judges (trained or read from the cache on
    first use), the PCA of its statistics."""
    from ..query import QuerySpace
    from .generate import _model_pca, where_inputs

    z = opened.require_latents()
    labels, judge_fn = where_inputs(opened)  # the labels when the model has them
    space = QuerySpace(z, labels=labels, judges=judge_fn if judges else None, pca=lambda: _model_pca(opened))
    return SelectionSpace(opened, space, directions=tuple(directions))


def faces_space(sel: SelectionSpace, z: np.ndarray, what: str = "generated faces"):
    """A query space over other z-vectors (generated faces) of the same model: its judges and principal axes, its
    label names known but refused in one line (labels exist only for the model's own z-points)."""
    from ..query import QuerySpace

    sp = sel.space
    return QuerySpace(np.asarray(z, np.float32), label_names=list(sp.label_names), judges=sp.judges, pca=sp.pca,
                      what=what)


@dataclass
class Selection:
    """What :func:`select` found."""

    query: str  # the query's normal form
    mask: np.ndarray  # (N,) bool
    against: Optional[str] = None
    against_mask: Optional[np.ndarray] = None
    stats: Any = None  # GroupStats
    direction: Any = None  # lab Direction from the second group to this one (with ``against``)
    seconds: float = 0.0

    @property
    def count(self) -> int:
        return int(self.mask.sum())


def select(sel: SelectionSpace, where: str, against: Optional[str] = None, *, stats: bool = True,
           progress: ProgressCallback = no_progress) -> Selection:
    """The z-points ``where`` holds for, and (``stats``) what describes and distinguishes them from the rest or from
    the z-points ``against`` holds for."""
    from ..group_stats import direction_between, group_stats
    from ..query import evaluate, parse_query

    t0 = time.perf_counter()
    q = parse_query(where)
    mask = evaluate(q, sel.space)
    res = Selection(q.describe(), mask)
    if against is not None:
        qa = parse_query(against)
        res.against, res.against_mask = qa.describe(), evaluate(qa, sel.space)
    if res.count == 0:
        raise EngineError(f"{res.query!r} selects none of the {len(mask)} z-points", param="where")
    if res.against_mask is not None and not res.against_mask.any():
        raise EngineError(f"{res.against!r} selects none of the {len(mask)} z-points", param="against")
    if stats:
        progress(Progress("select", 0, 1, "group statistics"))
        basis = sel.cloud()
        res.stats = group_stats(basis, mask, res.against_mask, other=res.against)
        if res.against_mask is not None:
            res.direction = direction_between(basis, res.against_mask, mask, f"{res.against} → {res.query}")
        progress(Progress("select", 1, 1, "done"))
    res.seconds = time.perf_counter() - t0
    return res


# ------------------------------------------------------------------------------------------------------------------
# generate like it


@dataclass
class GeneratedLike:
    z: np.ndarray  # (n, d) float32
    images: Optional[np.ndarray]
    sampler: str
    values: dict
    fit_points: int  # the z-points the sampler was fitted on
    selected: int  # the selection's size
    subsampled: bool  # fitted on a uniform sample of the selection (FIT_MAX)
    quality: dict = field(default_factory=dict)  # {"generated": {metric: v}, "held_out": {...}, "attributes": [...]}
    seconds: dict = field(default_factory=dict)  # fit, sample, decode, quality


def generate_like(opened: OpenedModel, mask: np.ndarray, sampler: str, n: int, seed: int = 0, *,
                  values: Optional[dict] = None, decode: bool = True, quality: bool = True, basis=None,
                  stats=None, fit_max: int = FIT_MAX, cancel: Optional[CancelToken] = None) -> GeneratedLike:
    """``n`` faces from ``sampler`` fitted to the selection's z-points; too small a selection for the sampler is
    refused in one line. ``basis``/``stats`` (of :func:`select`) add the attribute rows to the quality."""
    from ..attributes.conditions import min_points_for
    from ..samplers import make_sampler
    from .generate import check_size

    cancel = cancel or CancelToken()
    check_size(n, opened.z_dim)
    z = opened.require_latents()
    rows = np.flatnonzero(np.asarray(mask, bool))
    need = min_points_for(sampler, opened.z_dim)
    fit_need = int(np.ceil(need / (1 - HELD_OUT))) if quality else need
    if len(rows) < fit_need:
        held = f" ({need} to fit, with a fifth held out to measure the faces)" if quality else ""
        raise SamplerError(f"the selection holds {len(rows)} z-points; the {sampler} sampler needs at least "
                           f"{fit_need}{held}: select more points or pick a sampler that needs fewer")
    rng = np.random.default_rng(seed)
    rows = rng.permutation(rows)
    held = rows[: int(len(rows) * HELD_OUT)] if quality else rows[:0]
    fit_rows = rows[len(held):]
    subsampled = len(fit_rows) > fit_max
    if subsampled:
        fit_rows = fit_rows[:fit_max]
    times = {}
    t = time.perf_counter()
    s = make_sampler(sampler, values)
    try:
        s.fit(np.asarray(z[np.sort(fit_rows)], np.float32))
    except SamplerError as exc:
        raise SamplerError(f"{exc} — the selection's {len(fit_rows)} z-points") from None
    times["fit"] = time.perf_counter() - t
    cancel.raise_if_cancelled()
    t = time.perf_counter()
    gz = s.sample(n, seed).astype(np.float32, copy=False)
    times["sample"] = time.perf_counter() - t
    t = time.perf_counter()
    images = opened.codec.decode(gz, cancel=cancel) if decode and n else None
    times["decode"] = time.perf_counter() - t
    res = GeneratedLike(gz, images, sampler, dict(s.values), len(fit_rows), int(len(rows)), subsampled,
                        seconds=times)
    if quality and n:
        t = time.perf_counter()
        res.quality = _quality(z, fit_rows, held, gz, basis, stats)
        times["quality"] = time.perf_counter() - t
    return res


def _quality(z: np.ndarray, fit_rows, held, gz: np.ndarray, basis, stats) -> dict:
    """engine.evaluation's latent metrics of the generated z and of the held-out members, against the selection;
    the judges' mean probability of the selection's most distinguishing attributes."""
    from ..evaluation import LatentReference

    ref_rows = np.sort(fit_rows[:QUALITY_REFERENCE])  # bounded: the metrics cost O(reference × measured × d)
    held = np.sort(held[:QUALITY_HELD_OUT])
    ref = LatentReference(z[ref_rows], z[held])
    out: dict = {"generated": ref.metrics(gz), "held_out": ref.metrics(z[held]),
                 "reference_points": int(len(ref_rows)), "held_out_points": int(len(held))}
    if basis is not None and stats is not None and basis.logits is not None:
        from ..group_stats import judge_probabilities

        names = [r.name for r in stats.top(3, kinds=("judge",))]
        gen = judge_probabilities(basis, gz, names).mean(axis=0) if names else []
        prev = {nm: (g, w) for nm, g, w in stats.judge_prevalence}
        out["attributes"] = [{"attribute": nm, "generated": float(p), "selection": prev[nm][0], "whole": prev[nm][1]}
                             for nm, p in zip(names, gen)]
    return out


# ------------------------------------------------------------------------------------------------------------------
# export


def distinguish_rows(stats) -> list[dict]:
    """The ranked table as rows (rank, kind, name, auc, smd, group, other)."""
    return [{"rank": i + 1, **r.to_json()} for i, r in enumerate(stats.ranking)]


def _csv_text(header: Sequence[str], rows) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def _fmt(v) -> str:
    return "" if v is None else (f"{v:.6g}" if isinstance(v, float) else str(v))


def _member_faces(opened: OpenedModel, rows: np.ndarray, data) -> tuple[np.ndarray, str]:
    """The faces of z-points ``rows``: the training images (framed like the model's input) when ``data`` is given,
    else their reconstructions."""
    if data is None:
        return opened.codec.decode(opened.latents[rows]), "reconstructions"
    from ..image_data import decode_face, file_in_folder

    faces = []
    for i in rows:
        path = file_in_folder(data, opened.latent_files[i]) if i < len(opened.latent_files) else None
        try:
            faces.append(decode_face(path, opened.codec.preprocess) if path is not None else None)
        except (OSError, ValueError):
            faces.append(None)
    missing = [i for i, f in zip(rows, faces) if f is None]
    if missing:
        recon = dict(zip(missing, opened.codec.decode(opened.latents[np.array(missing)])))
        faces = [f if f is not None else recon[i] for i, f in zip(rows, faces)]
    return np.stack(faces), "training images" if not missing else "training images (reconstructions where missing)"


def _write_members(stage: Path, opened: OpenedModel, rows: np.ndarray, data) -> list[str]:
    """The members' faces as files: copies of the training images (``data``), else reconstructions as PNG."""
    from .. import atomic_io
    from ..image_data import file_in_folder, read_regular_file
    from ..output_folders import unique_file_names

    names = [opened.latent_files[i] if i < len(opened.latent_files) else f"{i}.png" for i in rows]
    if data is not None:
        out = unique_file_names((Path(n).stem for n in names), suffix="", reserved=("params.json",))
        written = []
        for fname, name in zip(out, names):
            path = file_in_folder(data, name)
            target = f"{fname}{Path(name).suffix.lower()}"
            atomic_io.write_staged(stage / f"face_{target}", read_regular_file(path, "training image", limit=64 * 2**20))
            written.append(f"face_{target}")
        return written
    out = unique_file_names((f"face_{Path(n).stem}" for n in names), reserved=("params.json",))
    for k in range(0, len(rows), 256):
        for fname, img in zip(out[k : k + 256], opened.codec.decode(opened.latents[rows[k : k + 256]])):
            atomic_io.write_staged(stage / fname, atomic_io.png_bytes(img))
    return out


def export_selection(opened: OpenedModel, sel: Selection, out, kinds: Sequence[str] = EXPORT_KINDS, *, data=None,
                     generated: Optional[GeneratedLike] = None, overwrite: bool = False,
                     progress: ProgressCallback = no_progress) -> tuple[Path, list[str]]:
    """Write the selection's files into ``out`` (kind ``selection``, by the rules of engine.output_folders):
    (the folder, the file names written)."""
    from .. import atomic_io
    from ..image_sets import make_grid
    from ..output_folders import write_owned_set

    bad = [k for k in kinds if k not in EXPORT_KINDS]
    if bad:
        raise EngineError(f"{bad[0]!r}: expected some of {', '.join(EXPORT_KINDS)}", param="export")
    rows = np.flatnonzero(sel.mask)
    if "images" in kinds and len(rows) > MAX_EXPORT_IMAGES:
        raise EngineError(f"the selection holds {len(rows):,} faces; an export writes at most {MAX_EXPORT_IMAGES:,} "
                          "images (narrow the query, or export csv and grid only)", param="export")
    z = opened.require_latents()
    written: list[str] = []

    def fill(stage: Path) -> dict:
        meta: dict = {"command": "select", "model_id": opened.model_id, "model_folder": str(opened.folder),
                      "query": sel.query, "count": sel.count, "total": int(len(sel.mask))}
        if "csv" in kinds:
            names = [opened.latent_files[i] if i < len(opened.latent_files) else "" for i in rows]
            body = ((nm, int(i), *(f"{v:.7g}" for v in z[i])) for nm, i in zip(names, rows))
            atomic_io.write_staged(stage / "selection.csv", _csv_text(
                ["name", "index", *(f"z{j}" for j in range(z.shape[1]))], body).encode())
        if "grid" in kinds:
            faces, meta["grid_faces"] = _member_faces(opened, rows[:GRID_FACES], data)
            atomic_io.save_png(stage / "grid.png", make_grid(faces))
        if "images" in kinds:
            progress(Progress("export", 0, len(rows), "faces"))
            meta["images"] = _write_members(stage, opened, rows, data)
        if sel.stats is not None:
            table = distinguish_rows(sel.stats)
            atomic_io.write_staged(stage / "distinguish.csv", _csv_text(
                ["rank", "kind", "name", "auc", "smd", "group", "other"],
                ([_fmt(r[k]) for k in ("rank", "kind", "name", "auc", "smd", "group", "other")] for r in table)).encode())
            atomic_io.write_json(stage / "distinguish.json", {"query": sel.query, "other": sel.stats.other,
                                                              **sel.stats.to_json()})
            meta["against"] = sel.against
        if sel.direction is not None:
            meta["direction"] = {"name": sel.direction.name, "amount": sel.direction.meta["amount"],
                                 "sigma": sel.direction.sigma, "vector": [float(v) for v in sel.direction.vector]}
        if generated is not None:
            _write_generated(stage, generated, meta)
        atomic_io.write_json(stage / "selection.json", meta)
        written.extend(sorted(p.name for p in stage.iterdir() if not p.name.startswith(".")))
        return meta

    folder = write_owned_set(out, "selection", fill, overwrite=overwrite, inputs=[opened.folder] + ([data] if data else []))
    return folder, written


def _write_generated(stage: Path, gen: GeneratedLike, meta: dict) -> None:
    from .. import atomic_io
    from ..image_sets import make_grid

    atomic_io.save_npy(stage / "generated_z.npy", gen.z)
    if gen.images is not None:
        for i, img in enumerate(gen.images):
            atomic_io.write_staged(stage / f"generated_{i:04d}.png", atomic_io.png_bytes(img))
        atomic_io.save_png(stage / "generated_grid.png", make_grid(gen.images[:GRID_FACES]))
    meta["generated"] = {"n": int(len(gen.z)), "sampler": gen.sampler, "parameters": gen.values,
                         "fit_points": gen.fit_points, "selected": gen.selected, "subsampled": gen.subsampled,
                         "quality": gen.quality}


# ------------------------------------------------------------------------------------------------------------------
# the CLI's select


def _select_params():
    from ..params import Param
    from ..samplers import SAMPLERS

    return (
        Param("model", str, None, "", kind="path"),
        Param("where", str, None, "the selection: a query over labels, p(judge), z0…, PC1… with and/or/not, e.g. "
              "'Smiling and not Male and p(Eyeglasses) > 0.8 and PC3 > 1'", metavar="QUERY", kind="text",
              required=True),
        Param("against", str, None, "a second query: rank what distinguishes the selection from its points "
              "(default: from the rest) and give the direction between them", metavar="QUERY", kind="text"),
        Param("out", str, None, "write the selection's files into this folder", kind="path"),
        Param("export", str, "csv,grid", "with the output folder: what to write, some of csv,grid,images "
              "(distinguish.csv/json are always written)", metavar="KINDS", kind="text"),
        Param("directions", str, None, "a direction set (written by the directions command) ranked beside the "
              "principal axes", kind="path"),
        Param("data", str, None, "the dataset folder: grid and images show the training images "
              "(reconstructions otherwise)", kind="path"),
        Param("generate", int, 0, "generate this many faces like the selection (a sampler fitted to it)", minimum=0),
        Param("sampler", str, "normal" if "normal" in SAMPLERS else next(iter(SAMPLERS)), "the sampler fitted to "
              "the selection", choices=tuple(SAMPLERS)),
        Param("seed", int, 0, "", kind="seed"),
        Param("top", int, 10, "rows of the distinguishing table to print", minimum=1),
        Param("overwrite", bool, False, "replace a selection written earlier to the output folder"),
    )


#: the select use case's options (the CLI's flags are built from them)
SELECT_PARAMS = _select_params()


@dataclass
class SelectRun:
    selection: Selection
    generated: Optional[GeneratedLike]
    folder: Optional[Path]
    files: list


def select_to_folder(model_folder, where: str, *, against: Optional[str] = None, out=None,
                     export: Sequence[str] = ("csv", "grid"), data=None, generate: int = 0, sampler: str = "normal",
                     seed: int = 0, overwrite: bool = False, values: Optional[dict] = None, directions=None,
                     progress: ProgressCallback = no_progress) -> SelectRun:
    """The CLI's ``select``: check ``out`` first, open the model, select, describe, generate like it, write."""
    from ..output_folders import check_output_folder
    from ..query import parse_query
    from .open_model import open_model

    bad = [k for k in export if k not in EXPORT_KINDS]
    if bad:
        raise EngineError(f"{bad[0]!r}: expected some of {', '.join(EXPORT_KINDS)}", param="export")
    parse_query(where)  # a typo is one line before the model opens
    if against is not None:
        parse_query(against)
    if out is not None:
        check_output_folder(out, inputs=[model_folder] + ([data] if data else []), overwrite=overwrite,
                            kind="selection")
    opened = open_model(model_folder)
    extra = ()
    if directions is not None:
        from ..lab.set_file import load_direction_set

        extra = load_direction_set(directions, model_id=opened.model_id, z_dim=opened.z_dim).directions
    sel_space = selection_space(opened, directions=extra)
    sel = select(sel_space, where, against, progress=progress)
    gen = None
    if generate:
        gen = generate_like(opened, sel.mask, sampler, generate, seed, values=values, decode=out is not None,
                            basis=sel_space.basis, stats=sel.stats)
    folder, files = (None, [])
    if out is not None:
        folder, files = export_selection(opened, sel, out, export, data=data, generated=gen, overwrite=overwrite,
                                         progress=progress)
    return SelectRun(sel, gen, folder, files)
