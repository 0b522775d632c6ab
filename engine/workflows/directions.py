"""The direction lab's use cases: directions found by a method (any of the registry's), measured and named;
a saved set loaded and measured; a set saved; a 2-D map of the cloud — what ``main.py directions`` and the
GUI's Directions panel call. They take domain values (z-points, the codec, the labels, an options
dataclass) and return a :class:`LabDirections`; the callers only render it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from ..errors import EngineError
from ..progress import CancelToken, ProgressCallback, no_progress


def directions_params():
    """The directions use case's options, declared once (the CLI's flags are built from them): the methods, their
    help and the table's columns read from the lab's registries each time."""
    from ..lab import COLUMN_KEYS, method_specs, methods_taking
    from ..params import Param

    specs = method_specs()
    return (
        Param("model", str, None, "", kind="path"),
        Param("method", str, None, "; ".join(f"{m.name}: {m.help}" for m in specs), required=True,
              choices=tuple(m.name for m in specs)),
        Param("attribute", str, None, f"{' / '.join(methods_taking('attributes'))}: the attribute(s) to move",
              metavar="NAME[,NAME…]", kind="text"),
        Param("hold", str, None, f"{' / '.join(methods_taking('hold'))}: attributes whose judges must not change",
              metavar="NAME[,NAME…]", kind="text"),
        Param("k", int, 10, "unsupervised: how many directions (default 10)", minimum=1),
        Param("seed", int, 0, "", kind="seed"),
        Param("sort", str, None, f"sort the table by a column ({', '.join(COLUMN_KEYS)}; '+col' ascending)",
              metavar="COLUMN", kind="text"),
        Param("out", str, None, "write the set as FILE.json + FILE.npy", metavar="FILE", kind="path"),
        Param("name", str, None, "the set's name stored in FILE.json (default: the method)"),
        Param("overwrite", bool, False, "replace a direction set written earlier to the output file"),
        Param("no_images", bool, False, "skip the decoded-face measures (pixel MSE, feature Δ)"),
    )


def __getattr__(name: str):
    if name == "DIRECTIONS_PARAMS":  # live: a method registered later is among the choices
        return directions_params()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass
class DirectionOptions:
    """What to compute: ``method`` (a name of the method registry) and the inputs it reads."""

    method: str
    k: int = 10  # unsupervised: how many directions
    attributes: Sequence[str] = ()  # attribute / conditional: the attribute(s) to move
    hold: Sequence[str] = ()  # conditional: the attributes whose judges must not change
    seed: int = 0
    decode: bool = True  # the decoded-face measures (pixel MSE; feature Δ with feature_space)
    feature_space: bool = False  # the feature-Δ column (loads evaluate's feature network)
    sort: Optional[str] = None  # a table column, '+col' / '-col' to force the order

    def check(self):
        """Refuse, before any work, a combination the method does not take; returns its MethodSpec."""
        from ..lab import method_spec, methods_taking, sort_rows

        m = self.method
        spec = method_spec(m)
        if spec.takes("attributes") and not self.attributes:
            raise EngineError(f"{m}: name the attribute(s) to move with {{opt:attribute}}, "
                              "e.g. {opt:attribute} Smiling", param="method")
        if spec.takes("hold") and not self.hold:
            raise EngineError(f"{m}: name the attribute(s) to hold with {{opt:hold}}, "
                              "e.g. {opt:hold} Male,Eyeglasses", param="method")
        if self.hold and not spec.takes("hold"):
            raise EngineError(f": only with {{opt:method}} {' or '.join(methods_taking('hold'))} "
                              f"(got {{opt:method}} {m})", param="hold")
        if self.attributes and not spec.takes("attributes"):
            raise EngineError(f": only with {{opt:method}} {' or '.join(methods_taking('attributes'))} "
                              f"(got {{opt:method}} {m})", param="attribute")
        if self.sort:
            sort_rows([], self.sort)  # an unknown column is refused before any work
        return spec


@dataclass
class LabDirections:
    """Directions with their measures and the table's rows (sorted as asked)."""

    method: str
    directions: list  # engine.lab.Direction
    measures: list  # engine.lab.DirectionMeasures
    rows: list[dict]  # engine.lab.table_rows, sorted
    named: bool  # attribute judges named them (the model has labels)
    notes: list[str] = field(default_factory=list)  # what was left out and why, one line each
    saved: Optional[tuple[Path, Path]] = None  # (NAME.json, NAME.npy) when written

    def table(self) -> str:
        from ..lab import format_table

        return format_table(self.rows)


#: Seconds the rest of a Directions compute takes on the default model (a method, measuring 10 directions with
#: their decoded faces): about 5 s on 2 busy cores (benchmarks/first_launch.py).
MEASURE_SECONDS = 5.0


def directions_estimate(z: np.ndarray, table=None) -> tuple[float, bool]:
    """(about how many seconds a Directions compute takes, whether the attribute judges it needs are cached):
    the judges are trained once per model's z-points and labels (about 40 s for the default model's 40
    attributes, which ships them), then read back."""
    from ..lab import probes_cached, probes_seconds

    if table is None:
        return MEASURE_SECONDS, True
    if probes_cached(z, table):
        return MEASURE_SECONDS, True
    return MEASURE_SECONDS + probes_seconds(z, table), False


#: A memory-mapped cloud of more z-points is studied by the lab on a seeded subsample of this many (its labels with
#: it): the methods and measures hold float64 copies of the cloud (13 GB at 2,000,000 × 256; at 100,000 rows the
#: pca method peaks at ~1.1 GB, ica at ~1.4 GB in all, measured by benchmarks/scale_2m.py).
LAB_ROWS = 100_000


def lab_cloud(z: np.ndarray, table=None) -> tuple[np.ndarray, Any, Optional[str]]:
    """(the z-points the lab works on, their labels, a note saying so or None): a memory-mapped cloud of more than
    ``LAB_ROWS`` z-points gives a seeded subsample of them (and of ``table``'s rows); anything else is as given."""
    from .. import z_store

    if not (z_store.is_mapped(z) and len(z) > LAB_ROWS):
        return z, table, None
    idx, rows = z_store.subsample_rows(z, LAB_ROWS, seed=0)
    note = f"directions and measures on a seeded {len(idx):,} of the {len(z):,} z-points"
    return rows, (table.subset(idx) if table is not None else None), note


def compute_directions(z: np.ndarray, options: DirectionOptions, *, model=None, table=None,
                       progress: ProgressCallback = no_progress,
                       cancel: Optional[CancelToken] = None) -> LabDirections:
    """The directions of ``options.method`` on the z-points, named (when ``table``, labels aligned with ``z``,
    is given) and measured (``model``: the codec that decodes the faces and holds the decoder's weights)."""
    from ..lab import attribute_probes, find_directions, method_spec

    if method_spec(options.method).needs_labels and table is None:
        raise EngineError(f"{options.method}: the model has no labels.csv for its z-points", param="method")
    options.check()
    z, table, note = lab_cloud(z, table)
    probes = attribute_probes(z, table, progress=progress, cancel=cancel) if table is not None else None
    dirs = find_directions(z, options.method, k=options.k, seed=options.seed, model=model, table=table,
                           attributes=options.attributes, hold=options.hold, probes=probes, progress=progress,
                           cancel=cancel)
    return _noted(measure(z, dirs, options, model=model, probes=probes, progress=progress, cancel=cancel), note)


def _noted(result: "LabDirections", note: Optional[str]) -> "LabDirections":
    if note:
        result.notes.append(note)
    return result


def measure(z: np.ndarray, directions: list, options: DirectionOptions, *, model=None, probes=None,
            progress: ProgressCallback = no_progress, cancel: Optional[CancelToken] = None) -> LabDirections:
    """Measure and name ``directions`` (engine.lab.measure_directions) and make the table's rows."""
    from ..lab import measure_directions, sort_rows, table_rows

    notes = []
    features = None
    if options.decode and options.feature_space:
        from ..feature_space import FeatureSpace

        try:
            features = FeatureSpace()
        except EngineError as exc:
            notes.append(f"no feature-space column ({' '.join(str(exc).split())})")
    measures = measure_directions(z, directions, probes=probes, model=model if options.decode else None,
                                  features=features, seed=options.seed, progress=progress, cancel=cancel)
    for d, ms in zip(directions, measures):
        if ms.label and not d.label:
            d.label = ms.label
    rows = sort_rows(table_rows(directions, measures), options.sort)
    return LabDirections(options.method, list(directions), measures, rows, probes is not None, notes)


def measure_set(z: np.ndarray, directions: list, *, model=None, table=None, progress: ProgressCallback = no_progress,
                cancel: Optional[CancelToken] = None) -> LabDirections:
    """Directions already made (a session's set) measured and named on this model, as a loaded set is."""
    from ..lab import attribute_probes

    z, table, note = lab_cloud(z, table)
    probes = attribute_probes(z, table, progress=progress, cancel=cancel) if table is not None else None
    return _noted(measure(z, list(directions), DirectionOptions("saved set"), model=model, probes=probes,
                          progress=progress, cancel=cancel), note)


def load_and_measure(path, z: np.ndarray, *, model_id: str, z_dim: int, force: bool = False, model=None,
                     table=None, progress: ProgressCallback = no_progress,
                     cancel: Optional[CancelToken] = None) -> LabDirections:
    """A saved set (refused when it is another model's, unless ``force``), measured and named on this model."""
    from ..lab import attribute_probes, load_direction_set

    dset = load_direction_set(path, model_id=model_id, z_dim=z_dim, force=force)
    z, table, note = lab_cloud(z, table)
    probes = attribute_probes(z, table, progress=progress, cancel=cancel) if table is not None else None
    return _noted(measure(z, dset.directions, DirectionOptions("saved set"), model=model, probes=probes,
                          progress=progress, cancel=cancel), note)


def save_set(path, directions: list, *, model_id: str, z_dim: int, name: Optional[str] = None,
             overwrite: bool = False, inputs: Sequence = (), label: str = "out") -> tuple[Path, Path]:
    """Write ``directions`` as a set (``NAME.json`` + ``NAME.npy``); its name defaults to the file's."""
    from ..lab import DirectionSet, save_direction_set

    p = Path(path)
    name = name or (p.stem if p.suffix.lower() == ".json" else p.name)
    dset = DirectionSet(name, model_id, int(z_dim), list(directions))
    return save_direction_set(path, dset, overwrite=overwrite, inputs=inputs, label=label)


def directions_of_model(model_folder: str | os.PathLike, options: DirectionOptions, *,
                        out: Optional[str | os.PathLike] = None, set_name: Optional[str] = None,
                        overwrite: bool = False, progress: ProgressCallback = no_progress,
                        cancel: Optional[CancelToken] = None) -> LabDirections:
    """A model folder's directions by ``options`` (labels from its ``labels.csv``; required by supervised
    methods), measured, and written to ``out`` as a set when asked (checked before any work)."""
    from ..attributes import require_labels
    from ..lab import check_set_output
    from .open_model import open_model

    spec = options.check()
    if out is not None:
        check_set_output(out, overwrite=overwrite, inputs=[model_folder])  # before any work
    opened = open_model(model_folder)
    z = opened.require_latents()
    table = require_labels(model_folder, opened.latent_files) if spec.needs_labels else opened.labels
    result = compute_directions(z, options, model=opened.codec, table=table, progress=progress, cancel=cancel)
    if out is not None:
        result.saved = save_set(out, result.directions, model_id=opened.model_id, z_dim=int(z.shape[1]),
                                name=set_name or f"{options.method} directions", overwrite=overwrite,
                                inputs=[model_folder])
    return result


def latent_map(z: np.ndarray, method: str, *, seed: int = 0, progress: ProgressCallback = no_progress,
               cancel: Optional[CancelToken] = None) -> Any:
    """A 2-D map of the cloud by a map method of the registry (engine.lab.maps; view only, cached)."""
    from ..lab import compute_map

    return compute_map(z, method, seed=seed, progress=progress, cancel=cancel)
