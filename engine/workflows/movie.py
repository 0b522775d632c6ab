"""Movie: a path between two faces, or a slider sweep along one axis, as an MP4 (H.264 through the FFmpeg
that the imageio-ffmpeg wheel carries) or an animated GIF (Pillow) — the CLI's ``movie``.

Frames are decoded in batches (``latent_paths.DECODE_BATCH``) and streamed to the encoder, so a long movie
holds one batch in memory. The file is written to a temporary name beside the target and renamed when
complete; an existing file is replaced only when asked and only when it is a movie we wrote (MP4: our
marker in its metadata comment; GIF: in its comment block) — ``output_folders.check_output_file``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from ..errors import EngineError
from ..progress import CancelToken, Progress, ProgressCallback, no_progress

MARKER = "written by latent-face-studio (movie)"
FORMATS = (".mp4", ".gif")
MAX_FRAMES = 20_000
MAX_SIZE = 2048


@dataclass
class Movie:
    path: Path
    frames: int
    size: int
    fps: float
    path_info: dict  # the path's method, t, Mahalanobis distance and log-density per frame


def is_our_movie(path: Path) -> bool:
    """True when ``path`` carries our marker (searched in the first and last 256 kB)."""
    marker = MARKER.encode()
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(262144)
            if marker in head:
                return True
            if size > 262144:
                fh.seek(max(0, size - 262144))
                return marker in fh.read()
    except OSError:
        return False
    return False


def check_movie_args(out, frames: int, fps: float, size: int) -> str:
    suffix = Path(str(out)).suffix.lower()
    if suffix not in FORMATS:
        raise EngineError(f"--out {out}: a movie is an .mp4 or a .gif file")
    if isinstance(frames, bool) or not isinstance(frames, (int, np.integer)) or not 2 <= frames <= MAX_FRAMES:
        raise EngineError(f"--frames: must be a whole number 2…{MAX_FRAMES}, got {frames!r}")
    if not isinstance(fps, (int, float)) or not 0.5 <= float(fps) <= 120:
        raise EngineError(f"--fps: must be between 0.5 and 120 frames per second, got {fps!r}")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 16 <= size <= MAX_SIZE:
        raise EngineError(f"--size: must be a whole number of pixels 16…{MAX_SIZE}, got {size!r}")
    if suffix == ".mp4" and size % 2:
        raise EngineError(f"--size {size}: an MP4 (H.264, yuv420p) needs an even frame size, e.g. {size + 1}")
    return suffix


def _resized(images: np.ndarray, size: int) -> np.ndarray:
    if images.shape[1] == size:
        return images
    from PIL import Image

    resample = Image.Resampling.NEAREST if size % images.shape[1] == 0 else Image.Resampling.LANCZOS
    return np.stack([np.asarray(Image.fromarray(im).resize((size, size), resample)) for im in images])


def frames_of(codec, path, size: int, cancel: CancelToken, progress: ProgressCallback):
    """The path's frames as size×size×3 uint8, decoded batch by batch."""
    from ..latent_paths import DECODE_BATCH

    n = len(path.z)
    for i in range(0, n, DECODE_BATCH):
        cancel.raise_if_cancelled()
        batch = codec.decode(path.z[i: i + DECODE_BATCH], batch_size=DECODE_BATCH)
        for frame in _resized(batch, size):
            yield frame
        progress(Progress("movie", min(n, i + DECODE_BATCH), n, "decoding and encoding frames"))


def write_mp4(tmp: Path, frames, size: int, fps: float) -> None:
    import imageio_ffmpeg

    writer = imageio_ffmpeg.write_frames(str(tmp), (size, size), fps=float(fps), codec="libx264", quality=8,
                                         pix_fmt_out="yuv420p", macro_block_size=2, ffmpeg_log_level="error",
                                         output_params=["-metadata", f"comment={MARKER}", "-f", "mp4"])
    writer.send(None)
    try:
        for frame in frames:
            writer.send(np.ascontiguousarray(frame))
    finally:
        writer.close()


def write_gif(tmp: Path, frames, fps: float) -> None:
    from PIL import Image

    pics = [Image.fromarray(f) for f in frames]  # GIF: all frames at once (Pillow's writer); MAX_FRAMES bounds it
    duration = int(round(1000.0 / float(fps)))
    pics[0].save(tmp, format="GIF", save_all=True, append_images=pics[1:], duration=duration, loop=0,
                 comment=MARKER.encode(), optimize=False, disposal=1)


def make_movie(model_folder, out, *, frm: Optional[str] = None, to: Optional[str] = None, axis: Optional[str] = None,
               value_range: str = "-3:3", method: str = "linear", frames: int = 60, fps: float = 20.0, size: int = 256,
               overwrite: bool = False, opened=None, progress: ProgressCallback = no_progress,
               cancel: Optional[CancelToken] = None) -> Movie:
    """Write a movie of the path ``frm`` → ``to`` (training row numbers or .npy z-files, see
    ``latent_paths.parse_endpoint``), or of a sweep along ``axis`` (PC1, z12) over ``value_range`` σ
    around the cloud's centre. ``opened``: an already opened model (GUI) instead of ``model_folder``."""
    from .. import atomic_io
    from ..latent_paths import axis_sweep, interpolate, parse_axis, parse_endpoint, parse_range
    from ..output_folders import check_output_file
    from .open_model import open_model

    cancel = cancel or CancelToken()
    suffix = check_movie_args(out, frames, fps, size)
    if (axis is None) == (frm is None and to is None):
        raise EngineError("movie: give either --from and --to (a path between two faces) or --axis (a sweep)")
    if axis is None and (frm is None or to is None):
        raise EngineError("movie: a path needs both --from and --to")
    inputs = [model_folder if opened is None else opened.folder]
    out = check_output_file(out, inputs=inputs, overwrite=overwrite, what="movie", is_ours=is_our_movie)
    if opened is None:
        opened = open_model(model_folder, statistics=True, labels=False, progress=progress, cancel=cancel)
    if opened.stats is None:
        raise EngineError(f"{opened.folder}: the movie needs the model's z-points (encode a dataset first)")
    if axis is not None:
        lo, hi = parse_range(value_range)
        path = axis_sweep(opened.stats, parse_axis(axis, opened.z_dim), lo, hi, frames)
    else:
        a = parse_endpoint(frm, opened.latents, opened.z_dim, "--from")
        b = parse_endpoint(to, opened.latents, opened.z_dim, "--to")
        path = interpolate(opened.stats, a, b, frames, method)
    stream = frames_of(opened.codec, path, int(size), cancel, progress)
    with atomic_io.atomic_path(out) as tmp:
        if suffix == ".mp4":
            write_mp4(tmp, stream, int(size), fps)
        else:
            write_gif(tmp, stream, fps)
        cancel.raise_if_cancelled()
    return Movie(Path(out), int(frames), int(size), float(fps), path.to_json())


def read_movie(path) -> tuple[int, int, int, float]:
    """(frames, width, height, fps) of a movie file, read back (tests, the GUI's check)."""
    path = Path(path)
    if path.suffix.lower() == ".gif":
        from PIL import Image

        with Image.open(path) as im:
            n = getattr(im, "n_frames", 1)
            w, h = im.size
            dur = im.info.get("duration", 0) or 0
        return n, w, h, (1000.0 / dur if dur else 0.0)
    import imageio_ffmpeg

    gen = imageio_ffmpeg.read_frames(str(path))
    meta = gen.__next__()
    w, h = meta["size"]
    n = sum(1 for _ in gen)
    return n, w, h, float(meta.get("fps", 0.0))


def movie_summary(m: Movie) -> str:
    return f"{m.path}: {m.frames} frames, {m.size}×{m.size} px, {m.fps:g} fps ({m.frames / m.fps:.1f} s)"


__all__ = ["Movie", "make_movie", "read_movie", "is_our_movie", "movie_summary", "MARKER"]
