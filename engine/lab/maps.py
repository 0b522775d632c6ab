"""2-D maps of the cloud (view only), by name: a registry like the direction methods'.

A map method is one decorated function ``fn(coords, q: MapInputs) -> (N, 2)`` of the cloud's principal
coordinates (``coords``, latent_stats' PCA), registered with ``@map_method(name, label=…, note=…)``;
``settings`` names the :class:`MapInputs` fields it reads (recorded in the map's params and its cache key),
``check`` refuses bad settings before any work, ``available`` says whether an optional package is there.
:func:`compute_map` runs one with progress and cancel, cached in the user's cache folder. These maps have
no inverse: a point of the map is not a z-vector ("view only").
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import time
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np

from ..errors import EngineError
from ..progress import CancelToken, Progress, ProgressCallback, no_progress
from .cache import CACHE_VERSION, load_cached, save_cached
from .direction import check_z

VIEW_ONLY_NOTE = ("view only: a 2-D map of the z-points has no inverse — a position on it is not a z-vector, "
                  "and distances between far-apart clusters of a t-SNE/UMAP map mean little")
#: the settings a map method may read (``MapSpec.settings``) and how they are recorded in its params
SETTINGS = {"perplexity": float, "n_neighbors": int, "pca_dims": int}
TSNE_STAGES = 4
TSNE_STAGE_ITER = 250


@dataclass
class LatentMap:
    xy: np.ndarray  # (N, 2) float32
    method: str
    params: dict
    seconds: float
    from_cache: bool = False
    note: str = VIEW_ONLY_NOTE


@dataclass
class MapInputs:
    seed: int = 0
    perplexity: float = 30.0
    n_neighbors: int = 15
    pca_dims: int = 50
    progress: ProgressCallback = no_progress
    cancel: Optional[CancelToken] = None


@dataclass(frozen=True)
class MapSpec:
    name: str
    fn: Callable
    label: str  # shown in the GUI's list
    note: str  # what it costs, said before it is started
    settings: tuple[str, ...] = ()
    check: Optional[Callable] = None  # (z, MapInputs) -> None, raising EngineError
    available: Callable[[], bool] = lambda: True
    missing: str = ""  # the refusal when not available


_MAPS: dict[str, MapSpec] = {}


def map_method(name: str, *, label: str, note: str, settings: Sequence[str] = (), check=None, available=None,
               missing: str = ""):
    def register(fn):
        _MAPS[name] = MapSpec(name, fn, label, note, tuple(settings), check, available or (lambda: True), missing)
        return fn

    return register


def map_specs() -> list[MapSpec]:
    return list(_MAPS.values())


def map_names() -> tuple[str, ...]:
    return tuple(_MAPS)


def _map_key(z: np.ndarray, method: str, params: dict) -> str:
    h = hashlib.blake2b(digest_size=16)
    z = np.ascontiguousarray(z, dtype=np.float32)
    h.update(f"map v{CACHE_VERSION}|{method}|{json.dumps(params, sort_keys=True)}|{z.shape}|".encode())
    h.update(memoryview(z).cast("B"))
    return h.hexdigest()


def umap_available() -> bool:
    return importlib.util.find_spec("umap") is not None


def compute_map(z: np.ndarray, method: str = "tsne", *, seed: int = 0, perplexity: float = 30.0,
                n_neighbors: int = 15, pca_dims: int = 50, cache: bool = True,
                progress: ProgressCallback = no_progress, cancel: Optional[CancelToken] = None) -> LatentMap:
    """A 2-D map of the cloud (view only) by a registered map method, cached in the user's cache folder by z
    and the parameters."""
    from ..image_data import default_cache_dir
    from ..latent_stats import pca_of

    cancel = cancel or CancelToken()
    z = check_z(z)
    spec = _MAPS.get(method) if isinstance(method, str) else None
    if spec is None:
        raise EngineError(f"map method {method!r}: allowed: {', '.join(_MAPS)}")
    if not spec.available():
        raise EngineError(spec.missing)
    q = MapInputs(seed, perplexity, n_neighbors, pca_dims, progress, cancel)
    if spec.check is not None:
        spec.check(z, q)
    params = {"seed": int(seed)}
    params.update({s: SETTINGS[s](getattr(q, s)) for s in spec.settings})
    key = _map_key(z, method, params)
    path = default_cache_dir("maps") / f"{method}-{key}.npz"
    if cache:
        hit = load_cached(path, key, ("xy", "seconds"))
        if hit is not None and hit["xy"].shape == (len(z), 2) and np.isfinite(hit["xy"]).all():
            progress(Progress(f"{method} map", 1, 1, "from cache"))
            return LatentMap(hit["xy"].astype(np.float32), method, params, float(hit["seconds"]), True)
    t0 = time.perf_counter()
    coords = pca_of(z).transform(z)
    xy = spec.fn(coords[:, : min(pca_dims, z.shape[1])] if "pca_dims" in spec.settings else coords, q)
    seconds = time.perf_counter() - t0
    xy = np.asarray(xy, dtype=np.float32)
    if cache:
        save_cached(path, key, xy=xy, seconds=np.array(seconds))
    return LatentMap(xy, method, params, seconds, False)


def _check_perplexity(z: np.ndarray, q: MapInputs) -> None:
    if not 2 <= q.perplexity < len(z) / 3:
        raise EngineError(f"perplexity {q.perplexity}: expected 2 to {len(z) / 3:.0f} for {len(z)} z-points")


@map_method("tsne", label="t-SNE", settings=("perplexity", "pca_dims"), check=_check_perplexity,
            note="t-SNE takes minutes on 9,000 z-points on 2 cores (cancellable; cached once computed)")
def _tsne_map(x: np.ndarray, q: MapInputs) -> np.ndarray:
    """scikit-learn's Barnes-Hut t-SNE on the leading ``pca_dims`` principal coordinates, 1,000 iterations
    run as four 250-iteration stages (the first with early exaggeration 12) so that progress is reported
    and a cancel takes effect between stages."""
    return _tsne(x, q.perplexity, q.seed, q.progress, q.cancel)


@map_method("pca", label="PCA", note="the first two principal coordinates (instant)")
def _pca_map(coords: np.ndarray, q: MapInputs) -> np.ndarray:
    return coords[:, :2]


@map_method("umap", label="UMAP", settings=("n_neighbors", "pca_dims"), available=umap_available,
            note="UMAP (umap-learn), about a minute",
            missing="map method 'umap': needs the optional package umap-learn (pip install umap-learn==0.5.12); "
                    "t-SNE and PCA maps need nothing extra")
def _umap_map(x: np.ndarray, q: MapInputs) -> np.ndarray:
    import umap  # noqa: F401 - optional

    q.progress(Progress("umap map", 0, 1, "UMAP (no progress inside)"))
    q.cancel.raise_if_cancelled()
    reducer = umap.UMAP(n_neighbors=q.n_neighbors, random_state=q.seed, n_jobs=1)
    xy = reducer.fit_transform(x)
    q.cancel.raise_if_cancelled()
    q.progress(Progress("umap map", 1, 1, "done"))
    return xy


def _tsne(x: np.ndarray, perplexity: float, seed: int, progress, cancel) -> np.ndarray:
    from sklearn.manifold import TSNE

    n = len(x)
    lr = max(n / 12.0 / 4.0, 50.0)  # scikit-learn's "auto" rate, kept for every stage
    y = None
    for s in range(TSNE_STAGES):
        cancel.raise_if_cancelled()
        progress(Progress("t-SNE map", s, TSNE_STAGES, f"t-SNE stage {s + 1}/{TSNE_STAGES}"))
        tsne = TSNE(n_components=2, perplexity=perplexity, learning_rate=lr, max_iter=TSNE_STAGE_ITER,
                    early_exaggeration=12.0 if s == 0 else 1.0, init="pca" if y is None else y,
                    random_state=seed, n_jobs=1)
        y = tsne.fit_transform(x)
    progress(Progress("t-SNE map", TSNE_STAGES, TSNE_STAGES, "done"))
    return y


def attribute_silhouettes(points: np.ndarray, table, names: Optional[Sequence[str]] = None, *,
                          sample_size: Optional[int] = 4000, seed: int = 0) -> dict[str, float]:
    """Silhouette score (scikit-learn, Euclidean) of the present/absent split of each attribute on ``points``
    (z-points or a 2-D map): ≈ 0 = the two groups overlap (no clusters), 1 = two tight separate clusters."""
    from sklearn.metrics import silhouette_score

    pts = np.asarray(points, dtype=np.float64)
    out = {}
    for nm in (names or table.names):
        p, a = table.groups(nm)
        keep = p | a
        if p.sum() < 2 or a.sum() < 2:
            continue
        ss = sample_size if sample_size and keep.sum() > sample_size else None
        out[nm] = float(silhouette_score(pts[keep], p[keep], sample_size=ss, random_state=seed))
    return out
