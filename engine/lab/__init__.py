"""Direction lab: meaningful directions in z-space, found with and without labels, named, measured, kept.

One idea per module:

``direction``  :class:`Direction` and its one unit (:data:`UNIT_TEXT`: one standard deviation of the model's
               z-points along the direction), the helpers a method builds directions with
``methods/``   the method registry (``@direction_method``; a new method is one decorated function in one
               new file there) and the methods: ``unsupervised`` (pca, ica, varimax, decoder),
               ``supervised`` (attribute, conditional), ``random_orthogonal`` (a baseline)
``probes``     attribute judges (cached) and the names they give directions
``measures``   what a direction does (σ, variance share, pixel/feature change, leaving the cloud, overlap)
               and the table: :func:`table_rows`, :func:`sort_rows`, :func:`format_table`, :data:`COLUMNS`
``set_file``   the direction-set file format (``NAME.json`` + ``NAME.npy``): save, load (validated), edit
``maps``       2-D maps of the cloud (t-SNE, PCA, UMAP; view only), a registry too; silhouettes

The use cases (compute, measure, save, map) are :mod:`engine.workflows.directions`. No Qt here; every
function may run in a worker thread. ``METHODS``, ``UNSUPERVISED``, ``SUPERVISED`` and ``MAP_METHODS`` are
read from the registries each time they are asked for.
"""
from __future__ import annotations

from .direction import UNIT_TEXT, Direction, sigma_scaled
from .maps import (
    TSNE_STAGES, TSNE_STAGE_ITER, VIEW_ONLY_NOTE, LatentMap, MapInputs, MapSpec, attribute_silhouettes, compute_map,
    map_method, map_names, map_specs, umap_available,
)
from .measures import (
    COLUMN_KEYS, COLUMNS, DirectionMeasures, format_table, measure_directions, overlap_matrix, sort_rows, table_rows,
)
from .methods import (
    MethodInputs, MethodSpec, direction_method, find_directions, method_names, method_spec, method_specs,
    methods_taking, unsupervised_directions,
)
from .methods.supervised import attribute_directions, conditional_direction
from .methods.unsupervised import (
    decoder_directions, decoder_weight, ica_directions, pca_directions, varimax, varimax_directions,
)
from .probes import (MIN_GROUP, PROBE_C, AttributeProbes, attribute_probes, name_directions, name_of,  # noqa: F401
                     probes_cached)
from .set_file import (
    FORMAT_NAME, FORMAT_VERSION, MAX_DIRECTIONS, DirectionSet, check_set_output, direction_for_edit, edit_params,
    load_direction_set, save_direction_set, set_paths,
)

_LIVE = {
    "METHODS": lambda: method_names(),
    "UNSUPERVISED": lambda: method_names("unsupervised"),
    "SUPERVISED": lambda: method_names("supervised"),
    "MAP_METHODS": lambda: map_names(),
}


def __getattr__(name: str):
    if name in _LIVE:
        return _LIVE[name]()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
