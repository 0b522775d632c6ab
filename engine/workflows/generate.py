"""Generate: fit a sampler on a model's z-points (or a labelled subset), draw z-vectors, decode faces.

One home for the CLI's ``generate`` and the GUI's Generate: the one fit cache (a second Generate with
the same sampler, values and condition only samples and decodes), the one ``params.json`` builder
(enough to regenerate a set exactly), the size limit and the batched decode that keeps memory bounded
for any number of faces.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional

import numpy as np

from .. import __version__, z_store
from ..errors import EngineError, SamplerError
from ..progress import CancelToken, Progress, ProgressCallback, no_progress
from .open_model import OpenedModel

#: The most vector components (n × z_dim) one run draws: the z-vectors are held in memory (float64 while
#: sampling: 1 GiB at this ceiling, e.g. 524,288 vectors of 256); the faces are decoded and written in batches.
MAX_GENERATE_VALUES = 2**27
#: Faces decoded at a time when a set is written.
DECODE_BATCH = 256


@dataclass
class GeneratedSet:
    z: np.ndarray  # n×z_dim float32
    images: Optional[np.ndarray]  # n×S×S×3 uint8, or None when not decoded
    params: dict  # the params.json of the set
    diagnostics: dict = field(default_factory=dict)  # what the sampler reports about its fit (e.g. spread)


def check_size(n: int, z_dim: int) -> None:
    """Refuse, before any work, a run whose z-vectors would not fit the memory ceiling (the error is about the
    parameter ``n``: each front end names it)."""
    if n < 0:
        raise EngineError("must be ≥ 0", param="n")
    most = MAX_GENERATE_VALUES // z_dim
    if n > most:
        raise EngineError(f"{n:,} is more than the {most:,} vectors of {z_dim} components one run holds in "
                          "memory; split it over several runs with different seeds", param="n")


#: A memory-mapped cloud (millions of z-points, ``engine.z_store``) is fitted on this many of its rows, drawn with
#: a fixed seed: the samplers' fits hold their points in memory.
MAPPED_FIT_ROWS = 200_000


class SamplerFits:
    """Fitted samplers kept between calls, keyed by (model, z-points, sampler, values, condition)."""

    def __init__(self, keep: int = 1):
        self.keep = keep
        self._fits: dict = {}

    def has(self, opened: OpenedModel, sampler: str, values: Optional[dict], where=None) -> bool:
        """True when this fit is kept here (a Generate with it only samples and decodes)."""
        described = None
        if where is not None:
            from ..attributes.conditions import describe_any

            described = describe_any(where)
        return self._key(opened, sampler, values, described) in self._fits

    @staticmethod
    def _key(opened: OpenedModel, sampler: str, values: Optional[dict], described: Optional[str]) -> tuple:
        return opened.model_id, id(opened.latents), sampler, tuple(sorted(dict(values or {}).items())), described

    def fitted(self, opened: OpenedModel, sampler: str, values: Optional[dict], where=None):
        """(the fitted sampler, the number of z-points it was fitted on, the condition's description or None)."""
        from ..samplers import make_sampler, sampler_class

        latents = opened.require_latents()
        conditions, fit_on, described = [], latents, None
        whole = sampler_class(sampler).reads_whole_cloud  # (a fit that reads a few rows, or draws its own subsample)
        if z_store.is_mapped(latents) and len(latents) > MAPPED_FIT_ROWS and not whole:  # millions of mapped z-points
            fit_on = z_store.subsample_rows(latents, MAPPED_FIT_ROWS, seed=0)[1]
        if where is not None:  # "" is refused by parse_where, never read as "no condition"
            from ..attributes.conditions import conditional_latents, describe_any

            described = describe_any(where)  # a query or the old syntax, checked before the labels are read
            labels, judges = where_inputs(opened, where)
            fit_on = conditional_latents(latents, labels, where, sampler, judges=judges,
                                         pca=lambda: _model_pca(opened))
        values = dict(values or {})
        key = self._key(opened, sampler, values, described)
        s = self._fits.get(key)
        if s is None:
            s = make_sampler(sampler, values)
            try:
                s.fit(fit_on)  # a fit that fails is a SamplerError naming the sampler and the points
            except SamplerError as exc:
                if described is None:
                    raise
                raise SamplerError(f"{exc} — the z-points matching {described}") from None
            if len(self._fits) >= self.keep:
                self._fits.pop(next(iter(self._fits)))
            self._fits[key] = s
        return s, len(fit_on), described


def where_inputs(opened: OpenedModel, where=None):
    """(the labels, the attribute judges as a function called on first use) a ``where`` may read: the old syntax
    needs the labels (refused without them, as before); a query (or ``where=None``: any query) reads them when the
    model has them."""
    from ..attributes import load_labels, require_labels
    from ..attributes.conditions import is_old_syntax

    labels = opened.labels
    if labels is None:
        labels = (require_labels(opened.folder, opened.latent_files) if where is not None and is_old_syntax(where)
                  else load_labels(opened.folder, opened.latent_files))
    if labels is None:
        return None, None

    def judges():
        from ..lab.probes import attribute_probes

        return attribute_probes(opened.require_latents(), labels)

    return labels, judges


def _model_pca(opened: OpenedModel):
    """The PCA of the model's z-points (its statistics' when they are open)."""
    stats = opened.stats
    if stats is not None and getattr(stats, "pca", None) is not None:
        return stats.pca
    from ..latent_stats import pca_of

    return pca_of(opened.require_latents())


def fit_estimate(opened: OpenedModel, sampler: str, values: Optional[dict] = None, where=None,
                 fits: Optional[SamplerFits] = None) -> tuple[float, bool]:
    """(about how many seconds the sampler's fit of a Generate takes, whether it is cached): a fit kept in
    ``fits`` or on disk (the gmm's cache, or shipped with the default model) takes a moment. With ``where``, the
    condition's subset is not counted: the estimate is for all the z-points (an upper bound)."""
    from ..samplers import sampler_class

    latents = opened.require_latents()
    cls = sampler_class(sampler)
    values = dict(values or {})
    if fits is not None and fits.has(opened, sampler, values, where):
        return 0.0, True
    if where is None and cls.fit_is_cached(latents, values):
        return 0.1, True
    return cls.fit_seconds(len(latents), latents.shape[1], values), False


def set_params(sampler, name: str, n: int, seed: int, opened: OpenedModel, described: Optional[str] = None,
               fit_points: Optional[int] = None) -> dict:
    """The params.json of a generated set: enough to regenerate it exactly."""
    params = {
        "sampler": name,
        "parameters": dict(sampler.values),
        "seed": int(seed),
        "n": int(n),
        "model_id": opened.model_id,
        "model_folder": str(opened.folder),
        "app_version": __version__,
    }
    if described is not None:
        params["where"] = described
        params["where_points"] = int(fit_points)
    return params


def generate(opened: OpenedModel, sampler: str, values: Optional[dict] = None, n: int = 16, seed: int = 0, *,
             where=None, decode: bool = True, fits: Optional[SamplerFits] = None,
             progress: ProgressCallback = no_progress, cancel: Optional[CancelToken] = None) -> GeneratedSet:
    """Fit ``sampler`` (cached in ``fits``) on the z-points — only those matching ``where`` ("Smiling=1,Male=-1"
    or a list of ``attributes.Condition``) when given — draw ``n`` vectors for ``seed``, and decode them."""
    cancel = cancel or CancelToken()
    check_size(n, opened.z_dim)
    s, fit_points, described = (fits or SamplerFits()).fitted(opened, sampler, values, where)
    cancel.raise_if_cancelled()
    z = s.sample(n, seed).astype(np.float32, copy=False)
    images = opened.codec.decode(z, progress=progress, cancel=cancel) if decode else None
    try:
        diag = s.diagnostics() or {}
    except Exception:  # noqa: BLE001 - diagnostics are extra information, never a reason to fail
        diag = {}
    return GeneratedSet(z, images, set_params(s, sampler, n, seed, opened, described, fit_points), diag)


def decoded_batches(opened: OpenedModel, z: np.ndarray, cancel: Optional[CancelToken] = None,
                    progress: ProgressCallback = no_progress) -> Iterator[np.ndarray]:
    """The faces of ``z`` decoded ``DECODE_BATCH`` at a time: a set of any size in bounded memory."""
    cancel = cancel or CancelToken()
    for i in range(0, len(z), DECODE_BATCH):
        cancel.raise_if_cancelled()
        yield opened.codec.decode(z[i : i + DECODE_BATCH])
        progress(Progress("decode", min(len(z), i + DECODE_BATCH), len(z), "decoding"))


#: The sampler a generated set uses unless told: the naive baseline (the registry's first).
DEFAULT_SAMPLER = "uniform"


def _generate_params():
    from ..params import Param

    return (
        Param("model", str, None, "", kind="path"),
        Param("sampler", str, DEFAULT_SAMPLER, ""),
        Param("set", str, None, "a sampler parameter (repeatable)", metavar="KEY=VALUE", repeat=True, kind="text"),
        Param("n", int, None, "", minimum=0, required=True),
        Param("seed", int, 0, "", kind="seed"),
        Param("out", str, None, "", kind="path", required=True),
        Param("z_only", bool, False, "write only z.npy and params.json"),
        Param("overwrite", bool, False, "replace an image set already in the output folder"),
        Param("where", str, None, "fit the sampler only on the z-points a query selects, e.g. "
              "'Smiling and not Male and p(Eyeglasses) > 0.8 and PC3 > 1' (labels, p(judge), z0…, PC1…; "
              "and/or/not); the old Smiling=1,Male=-1 still works", metavar="QUERY", kind="text"),
    )


#: The generate use case's options, declared once (the CLI's flags are built from them).
GENERATE_PARAMS = _generate_params()


@dataclass
class WrittenSet:
    folder: Path
    generated: GeneratedSet


def generate_to_folder(model_folder: str | os.PathLike, sampler: str, values: Optional[dict], n: int, seed: int,
                       out: str | os.PathLike, *, where=None, z_only: bool = False, overwrite: bool = False,
                       progress: ProgressCallback = no_progress,
                       cancel: Optional[CancelToken] = None) -> WrittenSet:
    """The CLI's ``generate``: check ``out`` first, then open the model, generate and write the image set
    (faces decoded and written batch by batch)."""
    from .open_model import open_model
    from .save_set import check_set_folder, save_set

    check_set_folder(out, model_folder, overwrite=overwrite)  # before any work
    opened = open_model(model_folder, labels=where is not None)
    check_size(n, opened.z_dim)
    gen = generate(opened, sampler, values, n, seed, where=where, decode=False, cancel=cancel)
    images = None if z_only else decoded_batches(opened, gen.z, cancel, progress)
    saved = save_set(out, model_folder, gen.z, gen.params, images, overwrite=overwrite)
    return WrittenSet(saved.folder, gen)


def generate_from_folder(model_dir, sampler: str, values=None, n: int = 16, seed: int = 0, *, decode: bool = True,
                         model=None, config=None, latents=None, where=None, labels=None) -> GeneratedSet:
    """``generate`` for a model folder (opened here) or an already loaded model/latents (kept for callers that
    hold them: benchmarks, the attribute-rates experiment)."""
    from ..formats import open_model as open_codec
    from ..formats.codec import ModelCodec
    from ..formats.native import TorchAutoencoderCodec, as_codec
    from ..formats.native import load_latents
    from .open_model import open_model

    if model is None and latents is None:
        opened = open_model(model_dir, labels=where is not None)
    else:
        if model is None:
            codec = open_codec(model_dir)
        elif config is not None and not isinstance(model, ModelCodec):
            codec = TorchAutoencoderCodec(model, config, Path(model_dir))
        else:
            codec = as_codec(model)
        opened = OpenedModel(Path(model_dir), codec)
        if latents is None:
            latents, files = load_latents(model_dir, codec.z_dim)
            opened.latent_files = list(files) if isinstance(files, list) else files
        opened.latents = np.asarray(latents, np.float32)
    if labels is not None:
        opened.labels = labels
    return generate(opened, sampler, values, n, seed, where=where, decode=decode)
