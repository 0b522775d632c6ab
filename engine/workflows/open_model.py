"""Open a model: the codec, its z-points and their names, statistics, labels, leading PCA coordinates.

One home for "open a model folder", used by ``info``, every CLI command that needs the z-points, and
the GUI's File ▸ Open model (on its worker). Everything is validated by the readers it calls; a
damaged ``labels.csv`` does not stop the model from opening (it only hides the attribute views and
is reported in ``labels_problem``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from ..errors import EngineError, ModelFileError
from ..formats import open_model as open_codec
from ..formats.codec import ModelCodec
from ..progress import CancelToken, Progress, ProgressCallback, no_progress

#: Leading principal axes whose coordinates are computed when a model opens (the pair plot's PCA axes).
LEADING_PCS = 16


@dataclass
class OpenedModel:
    """A model folder, opened: what every panel and command reads."""

    folder: Path
    codec: ModelCodec
    latents: Optional[np.ndarray] = None  # N×z_dim float32, or None before the first encode
    latent_files: list[str] = field(default_factory=list)
    stats: Any = None  # engine.latent_stats.LatentStats of the z-points (when asked for)
    labels: Any = None  # engine.attributes.AttributeTable aligned with the z-points, or None
    labels_problem: Optional[str] = None  # why labels.csv could not be read
    pca_coords: Optional[np.ndarray] = None  # (N, k) coordinates on the k leading principal axes

    @property
    def config(self):
        return self.codec.config

    @property
    def z_dim(self) -> int:
        return self.codec.z_dim

    @property
    def image_size(self) -> int:
        return self.codec.image_size

    @property
    def model_id(self) -> str:
        return self.codec.model_id

    def require_latents(self) -> np.ndarray:
        if self.latents is None:
            from ..formats.native import LATENTS

            raise ModelFileError(f"{self.folder / LATENTS}: missing — encode a dataset into this model first")
        return self.latents

    def describe(self) -> list[tuple[str, str]]:
        """(label, value) rows: what the model is, its training facts and its z-points."""
        rows = [("model", str(self.folder)), ("model id", self.model_id)]
        rows += self.codec.describe()
        facts = getattr(self.config, "facts", None)
        if facts is not None and facts.present:
            rows.append(("training", facts.summary()))
        rows.append(("z-points", "none (run encode)" if self.latents is None
                     else f"{len(self.latents)} × {self.latents.shape[1]}"))
        if getattr(self.stats, "subsampled", False):
            from ..latent_stats import SAMPLED_STATISTICS

            rows.append(("statistics", f"mean and std of every z-point; {', '.join(SAMPLED_STATISTICS)} "
                                       f"{self.stats.sample_note()}"))
        if self.labels is not None:
            rows.append(("labels", f"{len(self.labels.names)} attributes"))
        elif self.labels_problem:
            rows.append(("labels", f"not loaded: {self.labels_problem}"))
        return rows


#: The job name of the one-time preparation step (``Progress.job``), and its message.
PREPARE_JOB = "prepare model"


def preparing_message(seconds: float) -> str:
    """What the window says while a model is made ready for fast decoding."""
    return f"preparing this model for fast decoding (once, ~{max(1, round(seconds))} s)"


def preparation_estimate(codec: ModelCodec) -> Optional[float]:
    """Seconds the one-time preparation of ``codec`` should take (exporting the network to ONNX, checking the
    export), or None when it needs none (shipped or cached fast path, another format)."""
    needs = getattr(codec, "needs_preparation", None)
    if needs is None or not needs():
        return None
    from ..formats.fast_path import preparation_seconds

    return preparation_seconds(codec.config.arch)


def open_model(folder: str | os.PathLike, *, device: str = "cpu", statistics: bool = False, labels: bool = True,
               pca_axes: int = LEADING_PCS, prepare: bool = False, progress: ProgressCallback = no_progress,
               cancel: Optional[CancelToken] = None) -> OpenedModel:
    """Open ``folder``: validate the model, read its z-points (if encoded) and labels; with ``statistics``
    also compute (or read from the cache) their statistics and the leading PCA coordinates. With ``prepare``, a
    model whose fast path is still to be made gets it now, under its own progress step (``PREPARE_JOB``: the
    window says so), instead of silently in the first decode."""
    from ..formats.fast_path import preparing_notice
    from ..formats.native import LATENTS, load_latents
    from ..formats.onnx.safety import cancel_scope

    cancel = cancel or CancelToken()
    folder = Path(folder)
    said = []

    def notice(seconds: float) -> None:  # before torch loads: the whole preparation is announced
        said.append(seconds)
        progress(Progress(PREPARE_JOB, 0, 1, preparing_message(seconds)))

    with cancel_scope(cancel), preparing_notice(notice if prepare else None):
        codec = open_codec(folder, device)  # a probe of an untrusted graph in flight stops on the job's cancel
    opened = OpenedModel(folder, codec)
    cancel.raise_if_cancelled()
    seconds = preparation_estimate(codec) if prepare else None
    if seconds is not None:
        if not said:
            notice(seconds)
        codec.prepare()
    if said or seconds is not None:
        fast = getattr(codec, "fast_path", lambda: None)() is not None
        progress(Progress(PREPARE_JOB, 1, 1, "ready for fast decoding" if fast else "decoding with torch"))
        cancel.raise_if_cancelled()
    if not (folder / LATENTS).exists():
        return opened
    opened.latents, files = load_latents(folder, codec.z_dim)
    opened.latent_files = list(files) if isinstance(files, list) else files  # a large model's lazy names
    if labels:
        try:  # a broken labels.csv must not stop the model from opening: it only hides the attribute views
            opened.labels = load_labels_cached(folder, files)
        except (EngineError, OSError, ValueError) as exc:
            opened.labels_problem = str(exc)
    if statistics:
        if len(opened.latents) < 3:
            raise ModelFileError(f"{folder / LATENTS}: only {len(opened.latents)} z-points; statistics need at least 3")
        from ..latent_stats import load_or_compute_stats, take_coords

        known = _known_stats_key(folder / LATENTS, len(opened.latents))
        opened.stats = load_or_compute_stats(folder, opened.latents, progress=progress, cancel=cancel, key=known,
                                             project_axes=pca_axes)
        if known is None:
            _remember_stats_key(folder / LATENTS, len(opened.latents), opened.stats.key)
        opened.pca_coords = take_coords(opened.stats, min(pca_axes, codec.z_dim), len(opened.latents))
        if opened.pca_coords is None:  # (a large cloud's first open projects it in the statistics' own pass)
            opened.pca_coords = leading_pca_coords(opened.latents, opened.stats, pca_axes)
    from ..z_store import release

    release(opened.latents)  # a memory-mapped cloud: the pages read while opening go back to the kernel
    return opened


def leading_pca_coords(latents: np.ndarray, stats, k: int = LEADING_PCS) -> np.ndarray:
    """(N, k) coordinates of the z-points on the k leading principal axes: one matrix product, the same
    numbers as ``engine.latent_stats.project`` on ("pca", i) axes."""
    pca = stats.pca
    k = min(k, int(stats.z_dim))
    comps = np.asarray(pca.components[:k], dtype=np.float64)
    off = np.asarray(pca.mean, dtype=np.float64) @ comps.T
    from ..latent_stats import single_thread_blas
    from ..z_store import is_mapped, row_chunks

    out = np.empty((len(latents), k), dtype=np.float64)
    c32 = comps.T.astype(np.float32)
    # views of an in-memory float32 cloud; a memory-mapped (or other dtype) cloud is read chunk by chunk, never copied
    # whole: 4,096 rows (4 MB) at a time stay in the processor's cache between their conversion and their product;
    # one BLAS thread (a thin product: a second thread only spins, measured 3× the CPU time)
    in_memory = not is_mapped(latents) and latents.dtype == np.float32
    chunks = ((i, latents[i : i + 16384]) for i in range(0, len(latents), 16384)) if in_memory \
        else row_chunks(latents, rows=4096)
    with single_thread_blas():
        for i, chunk in chunks:
            np.subtract(chunk @ c32, off, out=out[i : i + len(chunk)])
    return out


#: Label files of at least this many z-points are read once and kept, parsed, in the user's cache (a 202,599-row
#: labels.csv takes seconds to parse and milliseconds to read back).
LABELS_CACHE_ROWS = 50_000


def load_labels_cached(folder: Path, files) -> Any:
    """``attributes.load_labels`` of ``folder``, for a large model kept in the user's cache
    (``<cache>/labels/KEY.npz``, KEY a hash of the label file's bytes and the z-points' names: plain arrays and a
    JSON report, never unpickled, written atomically; an unreadable cache is a miss)."""
    import hashlib
    import io
    import json
    from dataclasses import asdict

    from ..attributes import LABELS, load_labels
    from ..attributes.labels import AttributeTable, LabelReport

    path = Path(folder) / LABELS
    if len(files) < LABELS_CACHE_ROWS or not path.is_file():
        return load_labels(folder, files)
    from .. import atomic_io
    from ..image_data import default_cache_dir

    h = hashlib.blake2b(digest_size=16)
    h.update(b"labels-v1|")
    h.update(path.read_bytes())
    h.update("\n".join(files).encode("utf-8", "surrogatepass"))
    cached = default_cache_dir("labels") / f"{h.hexdigest()}.npz"
    try:
        with np.load(cached, allow_pickle=False) as f:
            report = LabelReport(**json.loads(str(f["report"])))
            return AttributeTable([str(n) for n in f["names"]], f["values"], list(files), report)
    except (OSError, ValueError, KeyError, TypeError):
        pass
    table = load_labels(folder, files)
    buf = io.BytesIO()
    np.savez(buf, names=np.array(table.names, dtype=str), values=table.values,
             report=np.array(json.dumps(asdict(table.report) if table.report is not None else {})))
    try:
        atomic_io.write_bytes(cached, buf.getvalue())
    except OSError:
        pass
    return table


#: z-point files of at least this many rows remember their statistics key by the file's identity, so that a
#: second open need not hash 200 MB again (0.2 s of a 1 s cached open at 202,599 × 256)
KEY_MEMO_ROWS = 50_000


def _identity_path(latents_path: Path) -> Optional[Path]:
    from ..identity_memo import memo_path

    return memo_path("stats", [("latents", latents_path)], salt="stats-key-1")


def _known_stats_key(latents_path: Path, rows: int) -> Optional[str]:
    """The statistics key remembered for this very file (same path, inode, size and modification time), or None."""
    from ..identity_memo import recall

    return recall(_identity_path(latents_path), 32) if rows >= KEY_MEMO_ROWS else None


def _remember_stats_key(latents_path: Path, rows: int, key: str) -> None:
    from ..identity_memo import remember

    if rows >= KEY_MEMO_ROWS:
        remember(_identity_path(latents_path), key)
