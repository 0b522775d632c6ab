"""Movie: a path between two faces, or a slider sweep along one axis, as an MP4 (H.264 through the FFmpeg
that the imageio-ffmpeg wheel carries) or an animated GIF (Pillow) — the CLI's ``movie``.

Frames are decoded in batches (``latent_paths.DECODE_BATCH``), resized one at a time and streamed to the
encoder: FFmpeg reads them from a pipe, the GIF is written frame by frame (each frame with its own palette),
so a long movie of large frames holds one batch of model-sized faces and one frame in memory. The file is
written to a temporary name beside the target and renamed only when the writer finished without an error
(FFmpeg's exit status and its error output are checked, then fsync). An existing file is replaced only when
asked and only when it is a movie we wrote: the output folder's hidden record of the files we wrote
(``output_folders.owned_file_record``: name, size, sha256), never a marker a user's file could carry.
"""
from __future__ import annotations

import errno
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from ..errors import EngineError, extra_missing, import_extra
from ..progress import CancelToken, Progress, ProgressCallback, no_progress

MARKER = "written by latent-face-studio (movie)"
FORMATS = (".mp4", ".gif")
MAX_FRAMES = 20_000
MAX_SIZE = 2048
#: A sweep runs at most this many σ of the cloud from its centre along the axis; a path's ends lie at most
#: MAX_SIGMA + 4·√d σ (Mahalanobis) from it: farther out the decoder gives noise, not a face.
MAX_SIGMA = 50.0
KIND = "movie"


@dataclass
class Movie:
    path: Path
    frames: int
    size: int  # the frame's width in pixels (a square frame unless ``height`` says otherwise)
    fps: float
    path_info: dict  # the path's method, t, Mahalanobis distance and log-density per frame
    height: Optional[int] = None  # a grid film's frame height (None: ``size``)


def check_movie_args(out, frames: int, fps: float, size: int) -> str:
    suffix = Path(str(out)).suffix.lower()
    if suffix not in FORMATS:
        raise EngineError(f"{out}: a movie is an .mp4 or a .gif file", param="out")
    if isinstance(frames, bool) or not isinstance(frames, (int, np.integer)) or not 2 <= frames <= MAX_FRAMES:
        raise EngineError(f"{{opt:frames}}: must be a whole number 2…{MAX_FRAMES}, got {frames!r}")
    if isinstance(fps, bool) or not isinstance(fps, (int, float, np.integer, np.floating)) \
            or not math.isfinite(float(fps)) or not 0.5 <= float(fps) <= 120:
        raise EngineError(f"{{opt:fps}}: must be between 0.5 and 120 frames per second, got {fps!r}")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 16 <= size <= MAX_SIZE:
        raise EngineError(f"{{opt:size}}: must be a whole number of pixels 16…{MAX_SIZE}, got {size!r}")
    if suffix == ".mp4" and size % 2:
        raise EngineError(f"{size}: an MP4 (H.264, yuv420p) needs an even frame size, e.g. {size + 1}", param="size")
    if suffix == ".mp4" and (missing := extra_missing("imageio_ffmpeg", feature="an MP4 movie", extra="movie")):
        raise missing  # before any frame is made (a GIF needs only Pillow)
    return suffix


def _resized(images: np.ndarray, size: int):
    """The batch's faces one at a time at ``size``×``size`` (never the whole batch at the movie's size)."""
    if images.shape[1] == size:
        yield from images
        return
    from PIL import Image

    resample = Image.Resampling.NEAREST if size % images.shape[1] == 0 else Image.Resampling.LANCZOS
    for im in images:
        yield np.asarray(Image.fromarray(im).resize((size, size), resample))


def frames_of(codec, path, size: int, cancel: CancelToken, progress: ProgressCallback):
    """The path's frames as size×size×3 uint8, decoded batch by batch."""
    from ..latent_paths import DECODE_BATCH

    n = len(path.z)
    for i in range(0, n, DECODE_BATCH):
        cancel.raise_if_cancelled()
        batch = codec.decode(path.z[i: i + DECODE_BATCH], batch_size=DECODE_BATCH)
        yield from _resized(batch, size)
        progress(Progress("movie", min(n, i + DECODE_BATCH), n, "decoding and encoding frames"))


#: FFmpeg's words for a write that failed for want of room (its exit status is checked too).
_NO_ROOM = ("No space left on device", "Disk quota exceeded", "File too large")


def write_mp4(tmp: Path, frames, size, fps: float, shown: Path | None = None) -> None:
    """Stream ``frames`` (``size``: a square's side, or (width, height)) through FFmpeg (libx264, yuv420p) into ``tmp``. FFmpeg's messages are kept, not printed;
    a non-zero exit status (or a write error it reports) is an error naming ``shown`` (the user's path)."""
    import subprocess
    import tempfile
    from fractions import Fraction

    imageio_ffmpeg = import_extra("imageio_ffmpeg", feature="an MP4 movie", extra="movie")

    shown = shown or tmp
    rate = Fraction(float(fps)).limit_denominator(1001)
    width, height = (size, size) if isinstance(size, (int, np.integer)) else size
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-hide_banner", "-loglevel", "error", "-f", "rawvideo",
           "-vcodec", "rawvideo", "-s", f"{width}x{height}", "-pix_fmt", "rgb24", "-r", str(rate), "-i", "-", "-an",
           "-vcodec", "libx264", "-pix_fmt", "yuv420p", "-crf", "10", "-metadata", f"comment={MARKER}",
           "-f", "mp4", str(tmp)]
    with tempfile.TemporaryFile() as log:
        # its own session: a Ctrl-C in the terminal reaches this process, which stops FFmpeg itself
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log, bufsize=0,
                                start_new_session=True)
        try:
            for frame in frames:
                try:
                    proc.stdin.write(memoryview(np.ascontiguousarray(frame, dtype=np.uint8)).cast("B"))
                except BrokenPipeError:
                    break  # FFmpeg stopped: its exit status and messages say why
            try:
                proc.stdin.close()
            except BrokenPipeError:
                pass
            rc = proc.wait()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        log.seek(0)
        text = log.read()[-8192:].decode("utf-8", "replace")
    for words, code in zip(_NO_ROOM, (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)):
        if words in text:
            raise OSError(code, os.strerror(code), str(shown))
    if rc != 0:
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        raise EngineError(f"{shown}: FFmpeg could not write the movie (exit status {rc}: "
                          f"{lines[-1] if lines else 'no message'}); nothing was written")


def write_gif(tmp: Path, frames, fps: float) -> None:
    """Write an animated GIF frame by frame (a global header from the first frame, then each frame with its own
    adaptive palette), so memory does not grow with the number of frames — Pillow's ``save_all`` holds them all."""
    from PIL import GifImagePlugin, Image

    duration = int(round(1000.0 / float(fps)))  # ms; the file stores hundredths of a second
    wrote = False
    with open(tmp, "wb") as fh:
        for frame in frames:
            im = Image.fromarray(np.ascontiguousarray(frame, dtype=np.uint8)).convert("P", palette=Image.Palette.ADAPTIVE)
            if not wrote:
                header, _ = GifImagePlugin.getheader(im, info={"loop": 0, "comment": MARKER.encode(),
                                                               "duration": duration})
                fh.write(b"".join(header))
                wrote = True
            fh.write(b"".join(GifImagePlugin.getdata(im, duration=duration, disposal=1, include_color_table=True)))
        if not wrote:
            raise EngineError(f"{tmp}: no frames to write")
        fh.write(b";")


#: The movie use case's options, declared once (the CLI's flags are built from them; the dialog's defaults too).
def _movie_params():
    from ..latent_paths import METHODS
    from ..params import Param

    return (
        Param("model", str, None, "", kind="path"),
        Param("from_", str, None, "start face: a training z-point's row or a .npy of z", metavar="ROW|FILE.npy[:ROW]",
              flag="from", kind="text"),
        Param("to", str, None, "", metavar="ROW|FILE.npy[:ROW]", kind="text"),
        Param("axis", str, None, "sweep along this axis instead of a path", metavar="PC1|z12", kind="text"),
        Param("attribute", str, None, "film along this attribute's direction (a column of the model's labels)"),
        Param("direction", str, None, "film along a direction of a saved direction set", metavar="FILE",
              kind="path"),
        Param("index", int, 1, "with a direction set: which direction (the table's #, from 1)", minimum=1),
        Param("face", str, None, "film this face moved along the direction (instead of the cloud's centre)",
              metavar="ROW|FILE.npy[:ROW]", kind="text"),
        Param("set", str, None, "film every face of this image set at once, as a grid", metavar="FOLDER",
              kind="path"),
        Param("columns", int, None, "with a set: faces per row of the grid film", minimum=1, maximum=64),
        Param("range", str, "-3:3", "with a direction: START:STOP in its unit (σ of the cloud for an axis or a "
              "saved direction, class-mean gaps for an attribute) around the cloud's centre, the face or the set",
              kind="text"),
        Param("method", str, METHODS[0], "path interpolation", choices=METHODS),
        Param("frames", int, 60, "", minimum=2, maximum=MAX_FRAMES),
        Param("fps", float, 20.0, "", kind="positive", minimum=0.5, maximum=120.0),
        Param("size", int, 256, "frame size in pixels (even for MP4)", minimum=16, maximum=MAX_SIZE),
        Param("out", str, None, "", kind="path", required=True, metavar="FILE.mp4|FILE.gif"),
        Param("overwrite", bool, False, "replace a movie written earlier to the output file"),
    )


MOVIE_PARAMS = _movie_params()


@dataclass
class MovieOptions:
    """How the movie is made: ``frames`` at ``fps``, ``size``×``size`` pixels; a path's interpolation ``method``;
    a sweep's ``value_range`` (START:STOP in σ around the cloud's centre)."""

    frames: int = 60
    fps: float = 20.0
    size: int = 256
    method: str = "linear"
    value_range: str = "-3:3"


def _prepared(opened, out, options: MovieOptions, overwrite: bool, inputs) -> tuple[Path, str]:
    from ..output_folders import check_output_file

    suffix = check_movie_args(out, options.frames, options.fps, options.size)
    out = check_output_file(out, inputs=inputs, overwrite=overwrite, what="movie", kind=KIND)
    return out, suffix


def _need_stats(opened) -> None:
    if opened.stats is None:
        raise EngineError(f"{opened.folder}: the movie needs the model's z-points (encode a dataset first)")


def _write_movie(opened, out, suffix: str, path, options: MovieOptions, progress, cancel) -> Movie:
    from ..output_folders import writing_owned_file

    stream = frames_of(opened.codec, path, int(options.size), cancel, progress)
    with writing_owned_file(out, KIND) as tmp:
        if suffix == ".mp4":
            write_mp4(tmp, stream, int(options.size), options.fps, shown=out)
        else:
            write_gif(tmp, stream, options.fps)
        cancel.raise_if_cancelled()
    return Movie(Path(out), int(options.frames), int(options.size), float(options.fps), path.to_json())


def movie_of_path(opened, out, z_from: np.ndarray, z_to: np.ndarray, options: Optional[MovieOptions] = None, *,
                  overwrite: bool = False, progress: ProgressCallback = no_progress,
                  cancel: Optional[CancelToken] = None) -> Movie:
    """A movie of the path from ``z_from`` to ``z_to`` (z-vectors) through the opened model's cloud."""
    from ..latent_paths import check_method, interpolate

    o = options or MovieOptions()
    cancel = cancel or CancelToken()
    check_method(o.method)
    out, suffix = _prepared(opened, out, o, overwrite, [opened.folder])
    _need_stats(opened)
    a = _near_the_cloud(opened.stats, np.asarray(z_from, np.float32).reshape(-1), None, "the start face")
    b = _near_the_cloud(opened.stats, np.asarray(z_to, np.float32).reshape(-1), None, "the end face")
    return _write_movie(opened, out, suffix, interpolate(opened.stats, a, b, o.frames, o.method), o, progress, cancel)


def movie_of_sweep(opened, out, axis: str, options: Optional[MovieOptions] = None, *, overwrite: bool = False,
                   progress: ProgressCallback = no_progress, cancel: Optional[CancelToken] = None) -> Movie:
    """A movie of a sweep along ``axis`` (PC1, z12) over ``options.value_range`` σ around the cloud's centre."""
    from ..latent_paths import axis_sweep, parse_axis

    o = options or MovieOptions()
    cancel = cancel or CancelToken()
    lo, hi = check_sweep_range(o.value_range)
    out, suffix = _prepared(opened, out, o, overwrite, [opened.folder])
    _need_stats(opened)
    path = axis_sweep(opened.stats, parse_axis(axis, opened.z_dim), lo, hi, o.frames)
    return _write_movie(opened, out, suffix, path, o, progress, cancel)


def make_movie(model_folder, out, *, frm: Optional[str] = None, to: Optional[str] = None, axis: Optional[str] = None,
               value_range: str = "-3:3", method: str = "linear", frames: int = 60, fps: float = 20.0, size: int = 256,
               overwrite: bool = False, attribute: Optional[str] = None, direction_file=None, index: int = 1,
               face: Optional[str] = None, set_folder=None, columns: Optional[int] = None,
               progress: ProgressCallback = no_progress, cancel: Optional[CancelToken] = None) -> Movie:
    """The CLI's ``movie``: the path ``frm`` → ``to`` (training row numbers or .npy z-files, see
    ``latent_paths.parse_endpoint``), or a film along one direction (``axis``, ``attribute`` or direction ``index``
    of ``direction_file``) around the cloud's centre, one ``face`` or every face of the image set ``set_folder``
    (a grid film); everything refused before the model is opened."""
    from ..latent_paths import check_method, parse_endpoint
    from .open_model import open_model

    cancel = cancel or CancelToken()
    o = MovieOptions(frames=frames, fps=fps, size=size, method=method, value_range=value_range)
    check_movie_args(out, frames, fps, size)
    along = [x for x in (axis, attribute, direction_file) if x is not None]
    path = frm is not None or to is not None
    if path == bool(along) or (path and (face is not None or set_folder is not None)):
        raise EngineError("movie: give either {opt:from} and {opt:to} (a path between two faces) or one direction: "
                          "{opt:axis}, {opt:attribute} or {opt:direction} (a sweep, of the cloud's centre, a "
                          "{opt:face} or a {opt:set})")
    if len(along) > 1:
        raise EngineError("movie: one direction at a time: {opt:axis}, {opt:attribute} or {opt:direction}")
    if face is not None and set_folder is not None:
        raise EngineError("movie: a {opt:face} or a {opt:set}, not both")
    if path and (frm is None or to is None):
        raise EngineError("movie: a path needs both {opt:from} and {opt:to}")
    if along:
        check_sweep_range(value_range)
    else:
        check_method(method)
    _prepared(None, out, o, overwrite, [model_folder] + ([set_folder] if set_folder is not None else []))
    opened = open_model(model_folder, statistics=True, labels=attribute is not None, progress=progress,
                        cancel=cancel)
    _need_stats(opened)
    if axis is not None and face is None and set_folder is None:
        return movie_of_sweep(opened, out, axis, o, overwrite=overwrite, progress=progress, cancel=cancel)
    if along:
        from .move_faces import move_of, read_set_z

        move = move_of(opened, axis=axis, attribute=attribute, direction_file=direction_file, index=index)
        if set_folder is not None:
            origins = read_set_z(set_folder, opened.z_dim)[0]
        elif face is not None:
            origins = _near_the_cloud(opened.stats, parse_endpoint(face, opened.latents, opened.z_dim, "face"),
                                      "face", face)
        else:
            origins = np.asarray(opened.stats.mean, np.float32)
        return movie_along(opened, out, move, origins, o, columns=columns, overwrite=overwrite, progress=progress,
                           cancel=cancel)
    a = _near_the_cloud(opened.stats, parse_endpoint(frm, opened.latents, opened.z_dim, "from"), "from", frm)
    b = _near_the_cloud(opened.stats, parse_endpoint(to, opened.latents, opened.z_dim, "to"), "to", to)
    return movie_of_path(opened, out, a, b, o, overwrite=overwrite, progress=progress, cancel=cancel)


def grid_layout(n: int, size: int, columns: Optional[int] = None, gap: int = 2) -> tuple[int, int, int, int]:
    """(columns, tile, frame width, frame height) of a grid film of ``n`` faces about ``size`` pixels wide: even
    tiles and an even frame (what an MP4 needs), ``gap`` white pixels between the faces."""
    cols = int(columns) if columns else int(math.ceil(math.sqrt(n * 2)))  # wider than tall, like the grid
    cols = max(1, min(cols, n))
    rows = int(math.ceil(n / cols))
    tile = max(16, (size - (cols - 1) * gap) // cols // 2 * 2)
    return cols, tile, cols * tile + (cols - 1) * gap, rows * tile + (rows - 1) * gap


#: white pixels between the faces of a grid film (even: the frame stays even for an MP4)
GRID_GAP = 2


def _tiled(faces, cols: int, tile: int, width: int, height: int) -> np.ndarray:
    """One grid frame: the faces (resized to ``tile``) left to right, top to bottom, on white."""
    out = np.full((height, width, 3), 255, np.uint8)
    for i, face in enumerate(faces):
        r, c = divmod(i, cols)
        y, x = r * (tile + GRID_GAP), c * (tile + GRID_GAP)
        out[y: y + tile, x: x + tile] = face
    return out


def move_frames(codec, origins: np.ndarray, move, amounts: np.ndarray, cancel: CancelToken,
                progress: ProgressCallback, *, size: int, columns: Optional[int] = None):
    """The frames of a direction film: for each amount, every origin moved by it (``move.apply``) and decoded —
    one face per frame (``size``×``size``) or a grid of them — decoded a few frames at a time."""
    from ..latent_paths import DECODE_BATCH

    n = len(origins)
    per = max(1, DECODE_BATCH // n)  # frames decoded in one batch
    layout = grid_layout(n, size, columns) if n > 1 else None
    for i in range(0, len(amounts), per):
        cancel.raise_if_cancelled()
        chunk = amounts[i: i + per]
        z = np.concatenate([move.apply(origins, a) for a in chunk])
        faces = codec.decode(z, batch_size=max(len(z), 1))
        if layout is None:
            yield from _resized(faces, size)
        else:
            cols, tile, width, height = layout
            for k in range(len(chunk)):
                yield _tiled(_resized(faces[k * n: (k + 1) * n], tile), cols, tile, width, height)
        progress(Progress("movie", min(len(amounts), i + per), len(amounts), "decoding and encoding frames"))


def movie_along(opened, out, move, origins: np.ndarray, options: Optional[MovieOptions] = None, *,
                columns: Optional[int] = None, overwrite: bool = False, progress: ProgressCallback = no_progress,
                cancel: Optional[CancelToken] = None) -> Movie:
    """A film of faces moved along one direction (``engine.editing.Move``: an axis, an attribute or a direction of
    the lab) by amounts running over ``options.value_range`` (START:STOP in the move's unit): one face
    (``origins`` of one row), or every face of a set at once as a grid (``columns`` wide)."""
    o = options or MovieOptions()
    cancel = cancel or CancelToken()
    lo, hi = check_sweep_range(o.value_range)
    origins = np.atleast_2d(np.asarray(origins, np.float32))
    if origins.ndim != 2 or not len(origins) or origins.shape[1] != len(move.vector):
        raise EngineError(f"film: expected faces of {len(move.vector)} components, got shape {list(origins.shape)}")
    if not np.isfinite(origins).all():
        raise EngineError("film: a face holds NaN or infinite values")
    out, suffix = _prepared(opened, out, o, overwrite, [opened.folder])
    amounts = np.linspace(lo, hi, int(o.frames))
    from ..output_folders import writing_owned_file

    size = int(o.size)
    width = height = size
    if len(origins) > 1:
        _c, _t, width, height = grid_layout(len(origins), size, columns)
    stream = move_frames(opened.codec, origins, move, amounts, cancel, progress, size=size, columns=columns)
    with writing_owned_file(out, KIND) as tmp:
        if suffix == ".mp4":
            write_mp4(tmp, stream, (width, height), o.fps, shown=out)
        else:
            write_gif(tmp, stream, o.fps)
        cancel.raise_if_cancelled()
    info = {"method": f"along {move.name}", "faces": len(origins), "amounts": np.round(amounts, 9).tolist(),
            "t": np.round((amounts - lo) / (hi - lo), 9).tolist(), "move": move.provenance(0.0)}
    del info["move"]["amount"]
    return Movie(Path(out), int(o.frames), width, float(o.fps), info, None if height == width else height)


def check_sweep_range(text, label: str = "range") -> tuple[float, float]:
    """``START:STOP`` in σ of the cloud: two different finite numbers within ±MAX_SIGMA."""
    from ..latent_paths import parse_range

    lo, hi = parse_range(text, label)
    if max(abs(lo), abs(hi)) > MAX_SIGMA:
        raise EngineError(f"{text}: at most ±{MAX_SIGMA:g} σ from the cloud's centre (the faces there are "
                          "noise already), e.g. -3:3", param=label)
    return lo, hi


def _near_the_cloud(stats, z: np.ndarray, label: str, text) -> np.ndarray:  # label: the option's parameter name
    """Refuse a path end so far from the cloud (Mahalanobis σ) that the decoder gives noise and the numbers overflow."""
    from ..atlas import cloud_metric

    limit = MAX_SIGMA + 4.0 * math.sqrt(int(stats.z_dim))
    with np.errstate(all="ignore"):
        dist = float(cloud_metric(stats).mahalanobis(np.asarray(z, np.float64)[None, :])[0])
    if not math.isfinite(dist) or dist > limit:
        shown = "an overflowing number of" if not math.isfinite(dist) else f"{dist:.3g}"
        raise EngineError(f"{text}: lies {shown} σ from the cloud's centre (Mahalanobis); a path end must "
                          f"lie within {limit:.0f} σ", param=label)
    return z


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
    imageio_ffmpeg = import_extra("imageio_ffmpeg", feature="an MP4 movie", extra="movie")

    gen = imageio_ffmpeg.read_frames(str(path))
    meta = gen.__next__()
    w, h = meta["size"]
    n = sum(1 for _ in gen)
    return n, w, h, float(meta.get("fps", 0.0))


def movie_summary(m: Movie) -> str:
    return f"{m.path}: {m.frames} frames, {m.size}×{m.height or m.size} px, {m.fps:g} fps ({m.frames / m.fps:.1f} s)"


__all__ = ["MOVIE_PARAMS", "Movie", "MovieOptions", "make_movie", "movie_of_path", "movie_of_sweep", "movie_along", "read_movie", "movie_summary", "check_sweep_range", "MARKER",
           "MAX_SIGMA"]
