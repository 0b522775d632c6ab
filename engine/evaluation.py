"""A measured comparison of samplers (``python main.py evaluate``).

Every sampler is fitted on the model's *training* z-points (the rows of ``latents.npy`` that are not
the held-out validation images) and draws ``n`` vectors; reference rows are held-out real images
(their z-points from ``latents.npy``) and the model's reconstructions of them. The held-out images are
split in two halves: half A gives the reference rows, half B is the real set that everything is
compared with (so the real row is not compared with itself).

Latent metrics (need only the model folder):
  inside_2s / inside_3s  fraction inside the training cloud's 2σ / 3σ Mahalanobis ellipsoid
                         (d_M² below the χ²(d) quantile of 95.45 % / 99.73 %)
  pairs_2s               fraction passing every pairwise 2σ confidence-ellipse check in the original
                         coordinates (d² ≤ 4 of each pair's 2×2 covariance, all d(d−1)/2 pairs)
  nn_ratio               median distance to the nearest training z-point ÷ the same for held-out
                         real z-points (≈1 good, ≪1 copies training faces or crowds the dense
                         core, ≫1 off the cloud)
Image metrics:
  face_rate              hit rate of the shipped MTCNN detector (engine/face_detect_mtcnn.py, ONNX Runtime)
                         on the 64 px faces as they are: a face scored ≥ 0.97 by its last network,
                         looked for from a third of the picture up (98.7 % of 1,000 real celeba-9k
                         faces, 0 % of the uniform sampler's; benchmarks/face_rate.py compares it with
                         OpenCV's Haar cascade, the metric before: 95.5 % and 0 %)
  frechet                Fréchet distance to the held-out real images (half B) in the feature space
                         of an independent small encoder (engine/feature_space.py); needs --data
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np

from .errors import DataError, EngineError, SamplerError
from .progress import CancelToken, Progress, ProgressCallback, StepTicker, no_progress
from .samplers import compared_samplers

METRICS = ["inside_2s", "inside_3s", "pairs_2s", "nn_ratio", "face_rate", "frechet"]
METRIC_HELP = {
    "inside_2s": "fraction inside the training cloud's 2σ Mahalanobis ellipsoid (χ²(d) 95.45 % quantile); real faces set the target",
    "inside_3s": "fraction inside the training cloud's 3σ Mahalanobis ellipsoid (χ²(d) 99.73 % quantile); real faces set the target",
    "pairs_2s": "fraction passing every pairwise 2σ confidence-ellipse check in the original coordinates (real faces set the target)",
    "nn_ratio": "median nearest-training-z distance ÷ that of held-out real z-points: ≈1 good, ≪1 copies training faces or crowds the dense core, ≫1 off the cloud",
    "face_rate": "MTCNN face-detection hit rate on the decoded 64 px faces, score ≥ 0.97 (higher is better)",
    "frechet": "Fréchet distance to held-out real images in an independent encoder's 64-d feature space, ± bootstrap standard error (lower is better; the real row is the finite-sample floor)",
}
#: what each metric aims at, as data: "higher" or "lower" is better; "one": closest to 1 (a ratio, compared
#: on a log scale); "reference": closest to the held-out real row (a fraction real faces show too)
METRIC_GOALS = {
    "inside_2s": "reference", "inside_3s": "reference", "pairs_2s": "reference", "nn_ratio": "one",
    "face_rate": "higher", "frechet": "lower",
}
#: the samplers compared unless told otherwise: every registered sampler that declares ``compared``
DEFAULT_SAMPLERS = compared_samplers()
FEATURE_NOTE = (
    "frechet: features of a second, independently trained small conv encoder (resources/models/"
    "feature-encoder-celeba64, 64-d, trained on the 8,500 celeba-9k training images, never on generated "
    "images); a pixel-MSE encoder, not Inception: compare rows of one report only"
)


@dataclass
class EvaluationReport:
    metrics: list[str]
    metric_help: dict[str, str]
    rows: list[dict]
    sweep: Optional[dict] = None
    notes: list[str] = field(default_factory=list)
    info: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        def clean(v):
            if isinstance(v, float) and not math.isfinite(v):
                return None
            if isinstance(v, (np.floating, np.integer)):
                return clean(v.item())
            if isinstance(v, dict):
                return {k: clean(x) for k, x in v.items()}
            if isinstance(v, (list, tuple)):
                return [clean(x) for x in v]
            return v

        return clean({"metrics": self.metrics, "metric_help": self.metric_help, "rows": self.rows,
                      "sweep": self.sweep, "notes": self.notes, "info": self.info})

    def table(self) -> str:
        cols = ["name", "kind"] + self.metrics
        lines = []

        def fmt(v, key):
            if v is None or (isinstance(v, float) and not math.isfinite(v)):
                return "—"
            if key in ("name", "kind"):
                return str(v)
            if key == "frechet":
                return f"{v:.1f}"
            return f"{v:.3f}"

        def cell(r, c):
            text = fmt(r.get(c), c)
            se = r.get(c + "_se")
            if text != "—" and isinstance(se, (int, float)) and math.isfinite(se):
                text += f" ±{se:.1f}"
            return text

        body = [[cell(r, c) for c in cols] for r in self.rows]
        widths = [max(len(c), *(len(b[i]) for b in body)) if body else len(c) for i, c in enumerate(cols)]
        lines.append("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cols, widths))))
        lines.append("  ".join("-" * w for w in widths))
        for b in body:
            lines.append("  ".join(x.ljust(w) if i < 2 else x.rjust(w) for i, (x, w) in enumerate(zip(b, widths))))
        if self.sweep:
            s = self.sweep
            lines.append("")
            lines.append(f"sweep of {s['sampler']} over {s['parameter']}:")
            scols = [s["parameter"]] + self.metrics
            sbody = [[f"{v:g}"] + [fmt(s["curves"][m][i], m) for m in self.metrics] for i, v in enumerate(s["values"])]
            sw = [max(len(c), *(len(b[i]) for b in sbody)) for i, c in enumerate(scols)]
            lines.append("  ".join(c.rjust(w) for c, w in zip(scols, sw)))
            lines.append("  ".join("-" * w for w in sw))
            for b in sbody:
                lines.append("  ".join(x.rjust(w) for x, w in zip(b, sw)))
        lines.append("")
        for m in self.metrics:
            lines.append(f"{m}: {self.metric_help[m]}")
        for note in self.notes:
            lines.append(f"note: {note}")
        return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# metric goals: how to rank a metric's values


def _reference_value(key: str, rows: Sequence[dict]) -> Optional[float]:
    """The metric's value in the first reference row that has a finite one (the held-out real faces)."""
    return next((float(r[key]) for r in rows if r.get("kind") == "reference" and isinstance(r.get(key), (int, float))
                 and math.isfinite(r[key])), None)


def metric_target(key: str, rows: Sequence[dict]) -> Optional[float]:
    """The value metric ``key`` aims at, when it aims at one (1 for ratios, the real row for fractions)."""
    goal = METRIC_GOALS.get(key)
    if goal == "one":
        return 1.0
    if goal == "reference":
        return _reference_value(key, rows)
    return None


def metric_goal(key: str, rows: Sequence[dict]) -> tuple[str, Callable[[float], float]]:
    """How to rank metric ``key`` (its :data:`METRIC_GOALS` entry): (description, score; lower score = better).
    "higher"/"lower" rank by value; "one" by the distance from 1 on a log scale; "reference" by the distance
    from the held-out real row (lower is better when ``rows`` hold no such row, or the metric is unknown)."""
    goal = METRIC_GOALS.get(key)
    if goal == "higher":
        return "higher is better", lambda v: -v
    if goal == "one":
        return "closest to 1", lambda v: abs(math.log(v)) if v > 0 else math.inf
    if goal == "reference":
        ref = _reference_value(key, rows)
        if ref is not None:
            return f"closest to held-out real ({ref:.3g})", lambda v, ref=ref: abs(v - ref)
    return "lower is better", lambda v: v


# ----------------------------------------------------------------------------------------------
# metric machinery


#: the most training z-points the nearest-neighbour metric searches: a larger cloud is represented by a seeded
#: subsample (``latent_stats.subsample_rows``, seed 0), which holds the kde sampler's own fit subsample (the same
#: seed, a cap no larger), so that a kde sample that copies a training point still finds it
NN_REFERENCE_POINTS = 50_000
#: faces decoded or encoded per call: ONNX Runtime keeps the memory of its largest batch (256 faces: ~160 MB
#: more than 32), at the same CPU time per face
CODEC_BATCH = 32


class LatentReference:
    """The training cloud's moments (all its rows, streamed) and the held-out comparison set, for the latent
    metrics; nearest neighbours among at most :data:`NN_REFERENCE_POINTS` training rows."""

    def __init__(self, train_z: np.ndarray, compare_z: np.ndarray) -> None:
        from .latent_stats import Whitener, chi2_threshold, subsample_rows

        train_z = np.asarray(train_z, dtype=np.float32)  # no copy of a float32 cloud
        rows = subsample_rows(len(train_z), NN_REFERENCE_POINTS)
        # float64 once (the float32 values exactly): every nearest-neighbour chunk multiplies by it
        self.train = (train_z if len(rows) == len(train_z) else train_z[rows]).astype(np.float64)
        self.nn_points = len(self.train)
        d = train_z.shape[1]
        cloud = Whitener(train_z)
        self.mean, self.whiten, cov = cloud.mean, cloud.W, cloud.cov
        self.q2, self.q3 = (float(t) for t in chi2_threshold([2.0, 3.0], d))
        std = np.sqrt(np.maximum(np.diag(cov), 0.0))
        self.alive = std > 1e-12 * max(float(std.max()), 1e-30)
        self.std = np.where(self.alive, std, 1.0)
        corr = cov / np.outer(self.std, self.std)
        corr = corr[np.ix_(self.alive, self.alive)]
        np.fill_diagonal(corr, 0.0)
        self.corr = np.clip(corr, -1 + 1e-9, 1 - 1e-9)
        self.one_minus_r2 = 1.0 - self.corr**2
        self.train_sq = np.einsum("ij,ij->i", self.train, self.train)
        self.nn_scale = float(np.median(self.nn_distance(compare_z)))

    def mahalanobis_sq(self, z: np.ndarray) -> np.ndarray:
        y = (np.asarray(z, dtype=np.float64) - self.mean) @ self.whiten
        return np.einsum("ij,ij->i", y, y)

    def worst_pair_d2(self, z: np.ndarray, chunk: int = 8) -> np.ndarray:
        """Per vector: the largest 2-D Mahalanobis d² over all pairs of (live) original components."""
        x = ((np.asarray(z, dtype=np.float64) - self.mean) / self.std)[:, self.alive]
        out = np.empty(len(x))
        iu = np.triu_indices(x.shape[1], 1)
        for i in range(0, len(x), chunk):
            xc = x[i : i + chunk]
            sq = xc * xc
            num = sq[:, :, None] + sq[:, None, :] - 2.0 * self.corr[None] * xc[:, :, None] * xc[:, None, :]
            d2 = num / self.one_minus_r2[None]
            out[i : i + len(xc)] = d2[:, iu[0], iu[1]].max(axis=1) if len(iu[0]) else (sq.max(axis=1) if sq.size else 0.0)
        return out

    def nn_distance(self, z: np.ndarray, chunk: int = 32) -> np.ndarray:
        z = np.asarray(z, dtype=np.float32)
        out = np.empty(len(z))
        for i in range(0, len(z), chunk):  # chunk × reference rows of float64 at a time (≤ 13 MB per temporary)
            zc = z[i : i + chunk].astype(np.float64)
            d2 = np.einsum("ij,ij->i", zc, zc)[:, None] + self.train_sq[None] - 2.0 * (zc @ self.train.T)
            out[i : i + len(zc)] = np.sqrt(np.maximum(d2.min(axis=1), 0.0))
        return out

    def metrics(self, z: np.ndarray) -> dict[str, float]:
        d2 = self.mahalanobis_sq(z)
        return {
            "inside_2s": float(np.mean(d2 <= self.q2)),
            "inside_3s": float(np.mean(d2 <= self.q3)),
            "pairs_2s": float(np.mean(self.worst_pair_d2(z) <= 4.0)),
            "nn_ratio": float(np.median(self.nn_distance(z)) / self.nn_scale) if self.nn_scale > 0 else float("nan"),
        }


class FaceDetector:
    """The face-rate metric: the shipped MTCNN cascade (ONNX Runtime, no OpenCV) on each face as it is. A hit is a
    face whose final score is at least ``min_score``, looked for at sizes from ``min_fraction`` of the picture's side
    up (a face, not a detail of one)."""

    MIN_SCORE = 0.97  # real faces 98.7 %; at the detector's own cut (0.7) every good sampler's row is ≥ 99 % too

    def __init__(self, min_score: float = MIN_SCORE, min_fraction: float = 1 / 3) -> None:
        from .face_detect_mtcnn import shared_detector

        self.detector = shared_detector()
        self.min_score = float(min_score)
        self.min_fraction = float(min_fraction)

    def score(self, image: np.ndarray) -> float:
        """The best score of a face found in ``image`` (RGB uint8), 0 where none."""
        image = np.ascontiguousarray(image[..., :3], dtype=np.uint8)
        min_face = max(12, int(min(image.shape[:2]) * self.min_fraction))
        boxes, _ = self.detector.detect_raw(image, min_face=min_face)
        return float(boxes[:, 4].max()) if len(boxes) else 0.0

    def detect(self, image: np.ndarray) -> bool:
        return self.score(image) >= self.min_score

    def hit_rate(self, images: np.ndarray) -> float:
        if len(images) == 0:
            return float("nan")
        return float(np.mean([self.detect(im) for im in images]))


def frechet_bootstrap_se(features_a: np.ndarray, features_b: np.ndarray, rounds: int = 30, seed: int = 0) -> float:
    """Bootstrap standard error of the Fréchet distance (both sets resampled with replacement)."""
    from .feature_space import frechet_distance_of

    rng = np.random.default_rng(seed)
    vals = [frechet_distance_of(features_a[rng.integers(0, len(features_a), len(features_a))],
                                features_b[rng.integers(0, len(features_b), len(features_b))]) for _ in range(rounds)]
    return float(np.std(vals, ddof=1))


# ----------------------------------------------------------------------------------------------
# the held-out split


def held_out_rows(files: list[str], training: dict, n: int) -> tuple[np.ndarray, str]:
    """Indices of the held-out (validation) z-points and a note on how they were found."""
    val = int(training.get("val_images") or 0) if training else 0
    first = training.get("val_first_file") if training else None
    if val > 0 and first in files:
        i = files.index(first)
        return np.arange(i, min(n, i + val)), f"held-out z-points: the model's {val} validation images from {first}"
    k = min(500, n // 18) if n >= 36 else max(1, n // 4)
    return np.arange(n - k, n), f"held-out z-points: config.json names no validation split in latents.npy; the last {k} rows were used"


def training_rows(z_all: np.ndarray, held: np.ndarray, owned: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(training rows, held-out rows) of ``z_all`` for the sorted rows ``held``, usually a contiguous block (what
    :func:`held_out_rows` gives): the training rows in file order. A block at either end leaves views; with
    ``owned`` (``z_all`` is the caller's own in-memory copy) the rows after the block move up over it in place,
    so that the training rows are a view of ``z_all``'s first rows, and the held-out rows are a copy (the block
    only); otherwise a copy of the training rows."""
    n = len(z_all)
    lo, hi = int(held[0]), int(held[-1]) + 1
    if hi - lo != len(held) or not np.array_equal(held, np.arange(lo, hi)):
        keep = np.ones(n, bool)
        keep[held] = False
        return z_all[keep], z_all[held]
    if hi == n or lo == 0:
        return (z_all[:lo], z_all[lo:]) if hi == n else (z_all[hi:], z_all[:hi])
    from .z_store import is_mapped

    if not owned or is_mapped(z_all) or not z_all.flags.writeable or not z_all.flags.c_contiguous:
        return np.concatenate([z_all[:lo], z_all[hi:]]), z_all[lo:hi]
    held_z = z_all[lo:hi].copy()
    step = 16384  # rows moved at a time: an overlapping move is buffered by numpy, one block at most
    for a in range(lo, n - (hi - lo), step):
        b = min(a + step, n - (hi - lo))
        z_all[a:b] = z_all[a + (hi - lo) : b + (hi - lo)]
    return z_all[: n - (hi - lo)], held_z


def _parse_sweep(sweep) -> Optional[tuple[str, str, list]]:
    if sweep is None:
        return None
    try:
        name, key, values = sweep
        values = list(values)
    except (TypeError, ValueError):
        raise SamplerError("sweep must be (sampler, parameter, [values])") from None
    from .samplers import sampler_class

    p = sampler_class(name).param(key)
    return name, key, [p.check(p.type(v) if p.type in (int, float) else v, name) for v in values]


def parse_sweep_text(text: str) -> tuple[str, list]:
    """``KEY=START:STOP:STEPS`` → (key, values) (STEPS values from START to STOP inclusive)."""
    try:
        key, rng = text.split("=", 1)
        start, stop, steps = rng.split(":")
        start, stop, steps = float(start), float(stop), int(steps)
        if steps < 1:
            raise ValueError
    except ValueError:
        raise SamplerError(f"{text!r}: expected KEY=START:STOP:STEPS, e.g. fact=0.4:1.0:7", param="sweep") from None
    values = np.linspace(start, stop, steps) if steps > 1 else np.array([start])
    return key.strip(), [round(float(v), 10) for v in values]


# ----------------------------------------------------------------------------------------------


def evaluate(
    model_dir,
    data_dir=None,
    *,
    n: int = 256,
    seed: int = 0,
    samplers: Optional[Sequence[str]] = None,
    sweep=None,
    sampler_values: Optional[dict[str, dict[str, Any]]] = None,
    progress: ProgressCallback = no_progress,
    cancel: Optional[CancelToken] = None,
) -> EvaluationReport:
    """Compare samplers (and reference rows) on the model in ``model_dir``; see the module docstring.

    ``sweep`` = (sampler, parameter, [values]) adds metric curves of one sampler across a parameter.
    ``sampler_values`` = {sampler: {parameter: value}} overrides defaults. :func:`evaluate_opened` takes a model
    already open."""
    from .formats import native as model_store
    from .formats import open_model

    _check_request(n, samplers, sweep)
    model_dir = Path(model_dir)
    model = open_model(model_dir)  # any format: the codec encodes and decodes
    z_all, files = model_store.load_latents(model_dir, model.config.arch.z_dim)
    return evaluate_opened(model, z_all, files, data_dir, folder=model_dir, n=n, seed=seed, samplers=samplers,
                           sweep=sweep, sampler_values=sampler_values, progress=progress, cancel=cancel,
                           z_owned=True)


def _check_request(n, samplers, sweep) -> None:
    from .samplers import sampler_class

    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise EngineError(f"n must be a whole number ≥ 2, got {n!r}")
    for name in list(DEFAULT_SAMPLERS if samplers is None else samplers):
        sampler_class(name)
    _parse_sweep(sweep)


def evaluate_opened(
    model,
    z_all: np.ndarray,
    files: Sequence[str],
    data_dir=None,
    *,
    folder=None,
    n: int = 256,
    seed: int = 0,
    samplers: Optional[Sequence[str]] = None,
    sweep=None,
    sampler_values: Optional[dict[str, dict[str, Any]]] = None,
    progress: ProgressCallback = no_progress,
    cancel: Optional[CancelToken] = None,
    z_owned: bool = False,
) -> EvaluationReport:
    """:func:`evaluate` on a model already open: its codec ``model`` and its z-points ``z_all`` (rows of ``files``);
    ``folder`` names it in messages (default: the codec's folder). ``z_owned``: ``z_all`` is the caller's own
    copy, which may be reordered in place (the training rows then need no second copy)."""
    from .encoding import decode_latents
    from .samplers import make_sampler

    cancel = cancel or CancelToken()
    t_start = time.perf_counter()
    _check_request(n, samplers, sweep)
    names = list(DEFAULT_SAMPLERS if samplers is None else samplers)
    sampler_values = dict(sampler_values or {})
    sw = _parse_sweep(sweep)
    model_dir = Path(folder if folder is not None else (getattr(model, "folder", None) or "model"))
    config = model.config
    z_all = np.asarray(z_all, np.float32)
    files = list(files)
    held, split_note = held_out_rows(files, config.training, len(z_all))
    if len(held) < 4:
        raise DataError(f"{model_dir}: too few held-out z-points ({len(held)}) to evaluate")
    held = np.sort(held)
    train_z, held_z = training_rows(z_all, held, owned=z_owned)  # held_z: the rows of held, in its order
    rng = np.random.default_rng(seed)
    perm = rng.permutation(held)
    half_a, half_b = np.sort(perm[: len(perm) // 2]), np.sort(perm[len(perm) // 2 :])
    notes = [split_note + f"; split at random (seed {seed}) into {len(half_a)} reference rows (half A) "
             f"and {len(half_b)} comparison points/images (half B); samplers are fitted on the {len(train_z)} training z-points"]

    total = len(names) + 2 + (len(sw[2]) if sw else 0) + 1
    tick = StepTicker("evaluate", total, progress, cancel)

    progress(Progress("evaluate", 0, total, "reference statistics"))
    ref = LatentReference(train_z, held_z[np.searchsorted(held, half_b)])
    if ref.nn_points < len(train_z):
        notes.append(f"nn_ratio: nearest training z-points searched among a seeded subsample of {ref.nn_points} of the "
                     f"{len(train_z)} (it holds every z-point the kde sampler keeps); fit_points: the z-points each "
                     "sampler's fit used")
    detector = FaceDetector()

    real_a, real_b, feats_b, space = _held_out_images(model_dir, data_dir, files, half_a, half_b, config, n, notes)
    tick("reference statistics")

    def image_metrics(images: Optional[np.ndarray]) -> dict[str, float]:
        out = {"face_rate": float("nan"), "frechet": float("nan")}
        if images is None:
            return out
        out["face_rate"] = detector.hit_rate(images)
        if feats_b is not None:
            from .feature_space import frechet_distance_of

            fa = space.features(images)
            out["frechet"] = frechet_distance_of(fa, feats_b)
            out["frechet_se"] = frechet_bootstrap_se(fa, feats_b)
        return out

    rows: list[dict] = _reference_rows(model, held_z[np.searchsorted(held, half_a)], real_a, ref, image_metrics, tick)

    def run_sampler(name, values, label=None):
        s = make_sampler(name, values)
        t0 = time.perf_counter()
        s.fit(train_z)
        z = s.sample(int(n), seed)
        t_fit = time.perf_counter() - t0
        r = {"name": label or name, "kind": "sampler", "parameters": dict(s.values), "n": int(n),
             "fit_sample_s": round(t_fit, 3), "fit_points": int(s.fit_points)}
        r.update(ref.metrics(z))
        r.update(image_metrics(decode_latents(model, z, batch_size=CODEC_BATCH)))
        return r

    for name in names:
        rows.append(run_sampler(name, sampler_values.get(name)))
        tick(name)

    sweep_out = _sweep_curves(sw, sampler_values, run_sampler, tick) if sw else None

    info = {"model": str(model_dir), "model_id": config.model_id, "z_dim": int(config.arch.z_dim),
            "training_z_points": int(len(train_z)), "n": int(n), "seed": int(seed),
            "data": None if data_dir is None else str(data_dir), "seconds": round(time.perf_counter() - t_start, 1)}
    return EvaluationReport(list(METRICS), dict(METRIC_HELP), rows, sweep_out, notes, info)


#: The keys every report written by :func:`write_report` holds: how ``evaluate --out`` knows a file is its own.
REPORT_KEYS = ("metrics", "metric_help", "rows")



def _reference_rows(model, za: np.ndarray, real_a, ref, image_metrics, tick) -> list[dict]:
    """The reference rows: held-out real images (their z from latents.npy) and the model's reconstructions."""
    from .encoding import decode_latents, encode_images

    rows = []
    row = {"name": "held-out real", "kind": "reference", "parameters": {"images": len(za)}, "n": int(len(za))}
    row.update(ref.metrics(za))
    row.update(image_metrics(real_a))
    rows.append(row)
    tick("held-out real")
    recon = decode_latents(model, za, batch_size=CODEC_BATCH)
    row = {"name": "reconstructions", "kind": "reference",
           "parameters": {"images": len(za), "latents": "re-encoded reconstructions E(D(z))"}, "n": int(len(za))}
    row.update(ref.metrics(encode_images(model, recon, batch_size=CODEC_BATCH)))
    row.update(image_metrics(recon))
    rows.append(row)
    tick("reconstructions")
    return rows


def _sweep_curves(sw, sampler_values: dict, run_sampler, tick) -> dict:
    """Metric curves of one sampler across the values of one parameter."""
    sname, key, values = sw
    curves = {m: [] for m in METRICS}
    base = dict(sampler_values.get(sname) or {})
    for v in values:
        r = run_sampler(sname, {**base, key: v})
        for m in METRICS:
            curves[m].append(r[m])
        if "frechet_se" in r:
            curves.setdefault("frechet_se", []).append(r["frechet_se"])
        tick(f"{sname} {key}={v:g}" if isinstance(v, (int, float)) else f"{sname} {key}={v}")
    return {"sampler": sname, "parameter": key, "values": values, "curves": curves}


def _held_out_images(model_dir: Path, data_dir, files, half_a, half_b, config, n: int, notes: list):
    """The held-out real faces of ``data_dir`` (halves A and B), B's features and the feature space; notes added
    to ``notes``. Without ``data_dir``: all None (and a note)."""
    from .formats import native as model_store

    real_a = real_b = None
    feats_b = None
    space = None
    if data_dir is not None:
        from .feature_space import FeatureSpace
        from .image_data import file_in_folder, load_files, name_problem, printable_name

        data_dir = Path(data_dir)
        if not data_dir.is_dir():
            raise DataError(f"{data_dir}: no such folder")
        wanted = [files[i] for i in np.concatenate([half_a, half_b])]
        # a stored name is only ever a file directly in --data: "../x.png" or "/etc/passwd" in a
        # stranger's latents_files.txt must not make evaluate read files outside that folder
        for f in wanted:
            problem = name_problem(f)
            if problem is not None:
                raise DataError(f"{model_dir / model_store.LATENT_FILES}: held-out image name {f!r} is "
                                f"{problem}; evaluate reads only files directly in {data_dir}")
        paths = [file_in_folder(data_dir, f) for f in wanted]
        missing = [f for f, path in zip(wanted, paths) if not path.is_file()]
        if missing:
            raise DataError(f"{data_dir}: does not hold the model's held-out images (e.g. {printable_name(missing[0])}); "
                            "give the folder the model was trained on")
        imgs, got, skipped = load_files(paths, config.preprocess)
        if skipped:
            raise DataError(f"{data_dir}: {len(skipped)} held-out image(s) could not be read (e.g. {skipped[0][0]}: {skipped[0][1]})")
        real_a, real_b = imgs[: len(half_a)], imgs[len(half_a) :]
        space = FeatureSpace()
        feats_b = space.features(real_b)
        notes.append(FEATURE_NOTE)
        if not 0.8 <= n / max(len(half_a), 1) <= 1.25:
            notes.append(f"frechet grows as sets shrink: the sampler rows use n={n}, the reference rows {len(half_a)} "
                         f"images — compare sampler rows with each other, or draw {len(half_a)} faces per sampler to compare with the references")
        if len(half_b) < 128:
            notes.append(f"frechet: only {len(half_b)} held-out images per set; with fewer than ~128 the distance is "
                         "dominated by sampling noise — do not rank samplers by it here")
    else:
        notes.append("no real images given (the model's training folder): face_rate of the held-out real row and every "
                     "frechet value need them; latent metrics and the other face rates are measured")
    return real_a, real_b, feats_b, space


def write_report(path, report: EvaluationReport) -> None:
    from . import atomic_io

    atomic_io.write_json(path, report.to_json())


def report_from_json(obj: dict) -> EvaluationReport:
    """Read back a report written by :func:`write_report` (plain JSON)."""
    if isinstance(obj, (str, bytes)):
        obj = json.loads(obj)
    nan = float("nan")
    rows = [{k: (nan if v is None and k in obj["metrics"] else v) for k, v in r.items()} for r in obj["rows"]]
    return EvaluationReport(obj["metrics"], obj["metric_help"], rows, obj.get("sweep"), obj.get("notes", []), obj.get("info", {}))
