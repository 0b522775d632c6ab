"""What the commands print: a workflow's result dataclass → the lines on stdout (the CLI's output is a public
interface: these strings stay as they are)."""
from __future__ import annotations

#: the legend printed above the directions table
DIRECTIONS_LEGEND = ("effect = change of a logistic judge's log-odds of the attribute per unit; pix MSE / feat Δ: per "
                     "unit, on 64 typical faces (feat Δ ÷ the median feature distance between two faces); out 2σ: "
                     "share of typical faces a ±2 move carries outside the 2σ ellipsoid; maha: Mahalanobis length of "
                     "one unit")


def epoch_line(h: dict) -> str:
    """One epoch of a training history."""
    val = "None" if h["val_loss"] is None else format(h["val_loss"], ".5f")
    return f"epoch {h['epoch']:3d}  train {h['train_loss']:.5f}  val {val}  {h['images_per_s']:.0f} img/s"


def photo_line(r, folder) -> str:
    """One placed photo (engine.photo.PhotoResult) and the folder its results went to."""
    face = "whole image" if r.face_index is None else f"face {r.face_index} of {r.faces_found}"
    return (f"{r.source}: {r.framing} ({face}), reconstruction MSE {r.mse:.4f}, Mahalanobis {r.mahalanobis:.1f} "
            f"(percentile {r.percentile:.0f}: {r.verdict}) → {folder}")


def photo_miss_line(miss, reason: str) -> str:
    """A photo of a batch without a result (engine.workflows.photo.PhotoMiss), its reason in the CLI's words."""
    return f"{miss.status}: {reason}"


def photo_batch_line(run) -> str:
    """The end of a photo batch (engine.workflows.photo.PhotoRun): how many placed, missed, skipped; the summary."""
    missed, skipped = len(run.missed), len(run.misses) - len(run.missed)
    tail = f", {skipped} skipped (not images)" if skipped else ""
    return f"placed {len(run.results)} face(s), {missed} photo(s) missed{tail}; listed in {run.summary}"


def generated_line(res, n: int, sampler: str, seed: int, out, z_only: bool) -> str:
    """A generated set written (engine.workflows.generate.WrittenSet)."""
    p = res.generated.params
    what = "z-vectors" if z_only else "faces"
    cond = f", fitted on {p['where_points']} z-points with {p['where']}" if "where" in p else ""
    return f"wrote {n} {what} ({sampler}, seed {seed}{cond}) to {out}"


def edited_line(res, attribute, direction, index, out) -> str:
    """Edit strips written (engine.workflows.edit.EditedFaces)."""
    what = (f"{attribute} ({res.method} direction" if direction is None
            else f"direction {index} of {direction} (σ units")
    return (f"wrote {len(res.names)} edit strip(s) of {what}, amounts {', '.join(f'{x:g}' for x in res.amounts)}) "
            f"to {out}")
