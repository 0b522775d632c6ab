"""Attribute ranking: a model's labelled attributes ranked by how well its z-points separate them,
cached in the user's cache folder — the Attributes panel's use case.

Two steps, because the second is slow (1–2 s of CPU per attribute on 9,000×256):

1. :func:`rank_attributes` — the quick ranking (``engine.attributes.summarise_attributes(probe=False)``:
   cross-fitted separation d of the difference-of-means direction, its balanced accuracy, the best pair
   of axes), a few seconds for 40 attributes; or the ranking stored by an earlier run;
2. :func:`measure_probe` — the linear probe's cross-validated balanced accuracy of one attribute
   (``engine.attributes.analyse_attribute``), so that a caller can measure attribute by attribute and
   stop between them.

Both return / fill an :class:`AttributeRanking` and store it as JSON in the user's cache folder
(``~/.cache/latent-face-studio/attributes/KEY.json``, KEY a hash of the z-points and the labels), never
beside the model (which may be read-only or someone else's). A damaged or foreign file is ignored and
rewritten; a cache that cannot be written only costs the measurement next time.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from ..progress import CancelToken, Progress, ProgressCallback, no_progress

#: version of the cache files' JSON (and part of their name's hash)
CACHE_FORMAT = 1


def _attributes_params():
    from ..attributes import attribute_rates
    from ..params import Param

    return (
        Param("model", str, None, "", kind="path"),
        Param("import_file", str, None, "CelebA list_attr_celeba.txt or CSV file,label1,… → labels.csv",
              metavar="LABEL_FILE", flag="import", kind="path"),
        Param("rank", bool, False, "with a label file imported: also print the ranking"),
        Param("no_probe", bool, False, "skip the (slower) cross-validated linear probes"),
        Param("rates", str, None, "measure conditional sampling for this condition instead of ranking "
              "(Smiling=1,Male=-1 or a query: Smiling and not Male)", metavar="QUERY", kind="text"),
        Param("also", str, None, "with a condition: further attributes to judge", metavar="NAME,...", kind="text"),
        Param("sampler", str, attribute_rates.__kwdefaults__["sampler"], ""),
        Param("set", str, None, "", metavar="KEY=VALUE", repeat=True, kind="text"),
        Param("n", int, 256, "", minimum=2),
        Param("seed", int, 0, "", kind="seed"),
    )


#: The attributes command's options (ranking, labels, rates), declared once (the CLI's flags are built from them).
ATTRIBUTES_PARAMS = _attributes_params()


@dataclass
class AttributeRanking:
    """One model's attribute ranking: the quick rows in ranking order and the probe rows measured so far
    (``engine.attributes.AttributeSummary`` each)."""

    key: Optional[str] = None  # the cache key (:func:`ranking_key`); None: not ranked yet
    quick: dict[str, Any] = field(default_factory=dict)  # name -> AttributeSummary (probe_accuracy None)
    order: list[str] = field(default_factory=list)  # names in quick-ranking order (best separated first)
    probe: dict[str, Any] = field(default_factory=dict)  # name -> AttributeSummary with probe_accuracy
    from_cache: bool = False  # read from the cache folder rather than measured now
    kept: bool = True  # stored in (and read from) the user's cache folder
    prepared: Optional[tuple] = field(default=None, repr=False)  # (pca, coords, whitener) for the probe steps

    @property
    def complete(self) -> bool:
        """Every ranked attribute has its probe accuracy."""
        return bool(self.order) and all(n in self.probe for n in self.order)

    @property
    def measured(self) -> int:
        return sum(n in self.probe for n in self.order)

    def row(self, name: str):
        """The best row known for ``name``: with the probe's accuracy when measured, else the quick one."""
        return self.probe.get(name) or self.quick.get(name)

    def rows(self) -> list:
        """All rows, in the quick ranking's order."""
        return [self.row(n) for n in self.order]


# ----------------------------------------------------------------------------------------------
# the cache


def ranking_key(z: np.ndarray, table, model_id: str = "") -> str:
    """A hash of the z-points and their labels (names and values): the name of the ranking's cache file."""
    z = np.ascontiguousarray(z)
    h = hashlib.sha256()
    h.update(f"{CACHE_FORMAT}\0{model_id}\0{z.shape}\0{','.join(table.names)}".encode())
    h.update(z.tobytes())
    h.update(np.ascontiguousarray(table.values).tobytes())
    return h.hexdigest()[:32]


def cache_path(key: str) -> Path:
    from ..image_data import default_cache_dir

    return default_cache_dir("attributes") / f"{key}.json"


def _row_to_json(r) -> dict:
    d = {k: getattr(r, k) for k in r.__dataclass_fields__}
    d["best_axes"] = [list(a) for a in r.best_axes]
    d["best_axis_d"] = list(r.best_axis_d)
    return d


def _row_from_json(d: dict):
    from ..attributes import AttributeSummary

    d = dict(d)
    d["best_axes"] = tuple((str(a[0]), int(a[1])) for a in d["best_axes"])
    d["best_axis_d"] = tuple(float(x) for x in d["best_axis_d"])
    return AttributeSummary(**{k: d[k] for k in AttributeSummary.__dataclass_fields__ if k in d})


def save_ranking(ranking: AttributeRanking) -> None:
    """Keep the ranking (and the probe accuracies measured so far) in the user's cache folder."""
    from .. import atomic_io

    if ranking.key is None or not ranking.kept:
        return
    try:
        atomic_io.write_json(cache_path(ranking.key), {
            "format": CACHE_FORMAT,
            "quick": [_row_to_json(ranking.quick[n]) for n in ranking.order],
            "probe": [_row_to_json(r) for r in list(ranking.probe.values()) if r.probe_accuracy is not None],
        })
    except OSError:
        pass  # a cache that cannot be written only costs the measurement next time


def load_ranking(key: str, names=None) -> Optional[AttributeRanking]:
    """The ranking stored under ``key``, or None (none stored, damaged, another format, or ranking
    attributes that are not among ``names``)."""
    try:
        path = cache_path(key)
        if not path.is_file():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != CACHE_FORMAT:
            return None
        rows = [_row_from_json(d) for d in data["quick"]]
        r = AttributeRanking(key, {row.name: row for row in rows}, [row.name for row in rows], from_cache=True)
        r.probe = {d["name"]: _row_from_json(d) for d in data.get("probe", []) if d.get("name") in r.quick}
        if names is not None and not set(r.order) <= set(names):
            return None
        return r
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # a damaged cache file is ignored (and rewritten)


# ----------------------------------------------------------------------------------------------
# the workflow


@dataclass
class LabelledLatents:
    """A model's z-points with their labels: ``imported`` when the labels were attached just now."""

    folder: Path
    z: np.ndarray
    files: list
    table: Any  # engine.attributes.AttributeTable
    imported: bool = False


def labelled_latents(model_folder, label_file=None) -> LabelledLatents:
    """The z-points of the model in ``model_folder`` and their labels: those of ``label_file`` attached now
    (written as the model's labels.csv), else its labels.csv (refused, one line, when it has none)."""
    from ..attributes import import_labels, load_labels
    from ..errors import DataError
    from ..formats.native import load_latents, read_config

    folder = Path(model_folder)
    z, files = load_latents(folder, read_config(folder).arch.z_dim)
    if label_file:
        return LabelledLatents(folder, z, list(files), import_labels(folder, label_file, files), imported=True)
    table = load_labels(folder, files)
    if table is None:
        raise DataError(f"{folder}: the model has no labels.csv; attach labels with {{opt:import_file}} LABEL_FILE "
                        "(CelebA's list_attr_celeba.txt or a CSV file,label1,…)")
    return LabelledLatents(folder, z, list(files), table)


def rank_attributes(z: np.ndarray, table, *, pca=None, model_id: str = "", probe: bool = False,
                    use_cache: bool = True, progress: ProgressCallback = no_progress,
                    cancel: Optional[CancelToken] = None) -> AttributeRanking:
    """Every labelled attribute ranked, best separated first — the one ranking of both fronts.

    ``probe=False`` (the panel's first step): the quick ranking by cross-fitted separation, from the cache when it
    holds one for these z-points and labels, else measured and stored; :func:`measure_probe` adds the probes one by
    one. ``probe=True`` (the CLI's ``attributes``): every probe measured now, ranked by its cross-validated
    accuracy. ``use_cache=False``: nothing read from or written to the user's cache folder. ``pca``: the cloud's PCA
    when at hand (``LatentStats.pca``), so that the best axes are the app's PCA axes without refitting."""
    from ..attributes import summarise_attributes

    cancel = cancel or CancelToken()
    key = ranking_key(z, table, model_id)
    if use_cache and not probe:
        cached = load_ranking(key, table.names)
        if cached is not None:
            progress(Progress("rank attributes", 1, 1, "from the cache"))
            return cached
    rows = summarise_attributes(z, table, pca=pca, probe=probe, progress=progress, cancel=cancel)
    ranking = AttributeRanking(key, {r.name: r for r in rows}, [r.name for r in rows], kept=use_cache)
    if probe:
        ranking.probe = {r.name: r for r in rows}
    else:
        ranking.prepared = _prepare(z, pca)
    save_ranking(ranking)
    return ranking


def _prepare(z: np.ndarray, pca=None) -> tuple:
    from ..attributes import pca_coordinates
    from ..latent_stats import Whitener

    z64 = np.asarray(z, dtype=np.float64)
    return (*pca_coordinates(z64, pca), Whitener(z64))


def measure_probe(ranking: AttributeRanking, z: np.ndarray, table, name: str, *, pca=None,
                  progress: ProgressCallback = no_progress, cancel: Optional[CancelToken] = None):
    """Measure the probe accuracy of attribute ``name`` (one of ``ranking.order``), record it in
    ``ranking.probe`` and the cache, and return its row (an ``AttributeSummary``)."""
    from ..attributes import analyse_attribute

    cancel = cancel or CancelToken()
    total = len(ranking.order)
    progress(Progress("attribute probe", ranking.measured, total, name))
    cancel.raise_if_cancelled()
    if ranking.prepared is None:  # the ranking came from the cache: prepare once
        ranking.prepared = _prepare(z, pca)
    p, coords, whitener = ranking.prepared
    row = analyse_attribute(z, table, name, pca=p, coords=coords, probe=True, normality=False,
                            whitener=whitener, directions=False).summary_row()
    cancel.raise_if_cancelled()
    ranking.probe[name] = row
    save_ranking(ranking)
    return row
