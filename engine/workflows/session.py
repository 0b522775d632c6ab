"""Save and open a session: the exploration (``engine.explore_state.ExplorationState``) plus what the window adds
(workspace, layout, σ-levels, the sampler's fields) written to one session file, and read back into a state the
window applies. See :mod:`engine.session_file` for the file and its checks.

Photos are kept by their placement (source path as text, face, framing, transform, z) and, when small, their
aligned crop as a PNG; they come back without reading the photo file (its reconstruction decoded from z, its
place in the cloud measured again). The direction lab's set is kept inline (unit vectors, σ, names), and the
bookmarks (:mod:`engine.bookmarks`) by value.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import numpy as np

from .. import __version__, bookmarks, session_file
from ..errors import DataError
from ..explore_state import ExplorationState, Sample
from ..progress import CancelToken, Progress, ProgressCallback, no_progress

#: The kind our hidden record gives a session file (a session we wrote may be replaced, when asked).
KIND = "session"


@dataclass
class WindowView:
    """What the window keeps besides the exploration: its workspace and layout (Qt's saved state, opaque bytes),
    the pair plot's σ-levels and the sampler's fields."""

    workspace: Optional[str] = None
    layout: Optional[bytes] = None
    geometry: Optional[bytes] = None
    levels: list = field(default_factory=list)
    sampler: Optional[dict] = None  # {"name", "values", "n", "seed", "where"}
    view_range: Optional[tuple] = None  # the pair plot's (x0, x1, y0, y1)
    #: keep each photo's aligned crop as a PNG: True, False, or None (when it is small, PHOTO_PNG_AUTO)
    photo_pictures: Optional[bool] = None
    #: the panels' own fields, by panel ({"selection": {"query": …}, "atlas": {"side", "base", "auto"}})
    panels: dict = field(default_factory=dict)
    #: the docks shown (object names); None: as the layout has them (a version 1 session)
    docks: Optional[list] = None


#: A photo's aligned crop is kept by default when its PNG is at most this large.
PHOTO_PNG_AUTO = 512 * 2**10


def _floats(a) -> list:
    return [float(x) for x in np.asarray(a, np.float32).reshape(-1)]


def capture(state: ExplorationState, view: Optional[WindowView] = None) -> dict:
    """The session record of ``state`` and the window's ``view`` (a dict the file module writes)."""
    view = view or WindowView()
    model = state.model
    if model is None:
        raise DataError("there is no model open: nothing to keep in a session")
    rec: dict = {
        "app_version": __version__,
        "saved": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "model": {"folder": str(Path(model.folder).resolve()), "model_id": str(model.model_id),
                  "content_sha256": session_file.model_content_hash(model.folder)},
        "window": {"workspace": view.workspace, "layout": session_file.encode_bytes(view.layout),
                   "geometry": session_file.encode_bytes(view.geometry)},
        "selection": {"current": state.current, "selected": list(state.selected),
                      "photo_current": state.photo_current},
        "axes": [[k, int(i)] for k, i in state.axes],
        "levels": [float(x) for x in view.levels],
        "colour_by": state.colour_by,
        "path_vertices": [[float(x), float(y)] for x, y in state.path_vertices],
    }
    if view.sampler is not None:
        rec["sampler"] = dict(view.sampler)
    if view.docks is not None:
        rec["window"]["docks"] = [str(d) for d in view.docks]
    if view.panels:
        rec["window"]["panels"] = {k: dict(v) for k, v in view.panels.items()}
    if view.view_range is not None:
        rec["window"]["zoom"] = {"view_range": [float(v) for v in view.view_range]}
    rec["photos"] = [_photo_record(p, view.photo_pictures) for p in state.photos]
    if state.directions:
        rec["directions"] = _directions_record(state.directions)
    rec["bookmarks"] = [bookmarks.to_json(b) for b in state.bookmarks]
    if state.cloud_selection is not None:
        rec["cloud_selection"] = session_file.mask_record(state.cloud_selection.mask, state.cloud_selection.how)
    rec["groups"] = [{"name": name, **session_file.mask_record(sel.mask, sel.how)} for name, sel in state.groups]
    if state.sample is not None:
        rec["sample"] = {"params": _json_params(state.sample.params), "z": [_floats(z) for z in state.sample.z]}
    if state.edited_z is not None:
        rec["edit"] = {"z": _floats(state.edited_z)}
    return rec


def _photo_record(entry, pictures: Optional[bool]) -> dict:
    """A photo's placement (and, when asked or small, its aligned crop as a PNG)."""
    from ..atomic_io import png_bytes

    r = entry.result
    w, h = (int(v) for v in r.photo_size)
    rec = {"source": str(r.source), "face_index": r.face_index, "z": _floats(r.z), "framing": str(r.framing)[:256],
           "transform": [[float(v) for v in row] for row in np.asarray(r.transform, np.float64).reshape(2, 3)],
           "photo_size": [w, h], "faces_found": int(r.faces_found), "face_angle": float(r.face_angle),
           "mse": float(r.mse), "no_detect": bool(entry.no_detect)}
    if pictures is not False and r.aligned is not None:
        data = png_bytes(np.asarray(r.aligned, np.uint8))
        if pictures or len(data) <= PHOTO_PNG_AUTO:
            rec["png"] = session_file.encode_bytes(data)
    return rec


def _directions_record(directions: list) -> dict:
    """The direction lab's set inline: each direction's unit vector and σ (its vector = unit·σ), name, method."""
    from ..lab.direction import json_safe

    items = [{"name": str(d.name)[:200], "method": str(d.method), "label": str(d.label)[:1000],
              "unit": _floats(d.unit), "sigma": float(d.sigma), "meta": json_safe(d.meta)} for d in directions]
    return {"set_file": None, "items": items}


def _json_params(params: dict) -> dict:
    """A set's params as plain JSON values (numpy numbers become numbers)."""
    import json

    return json.loads(json.dumps(params, default=lambda o: o.item() if hasattr(o, "item") else str(o)))


def save_session(path: str | os.PathLike, state: ExplorationState, view: Optional[WindowView] = None, *,
                 overwrite: bool = False) -> Path:
    """Write the session file ``path`` (a new file, or a session this app wrote when ``overwrite``)."""
    from ..output_folders import check_output_file, writing_owned_file

    path = check_output_file(path, overwrite=overwrite, kind=KIND, what="session file")
    data = session_file.session_bytes(capture(state, view))
    with writing_owned_file(path, KIND) as tmp:
        tmp.write_bytes(data)
    return path


@dataclass
class OpenedSession:
    """A session read back: the opened model and the state to apply, plus the window's part."""

    path: Path
    record: dict
    opened: object  # engine.workflows.open_model.OpenedModel
    state: ExplorationState
    view: WindowView


def open_session(path: str | os.PathLike, *, model_folder: Optional[str | os.PathLike] = None,
                 progress: ProgressCallback = no_progress, cancel: Optional[CancelToken] = None) -> OpenedSession:
    """Read ``path``, open its model (``model_folder``: the model moved elsewhere; its content must be the
    session's), decode its faces again and build the state as it was saved."""
    from .open_model import open_model

    cancel = cancel or CancelToken()
    path = Path(path)
    rec = session_file.read_session(path)
    folder, same = session_file.model_matches(rec, model_folder)
    if not folder.is_dir():
        raise DataError(f"{path}: its model folder {folder} is not there; open the session with the model's "
                        "folder where it is now", param="model")
    if not same:
        raise DataError(f"{path}: the model in {folder} is not the one the session was saved with (its weights or "
                        "z-points changed); open the session with that model's folder", param="model")
    progress(Progress("open session", 0, 3, f"opening the model {folder.name}"))
    opened = open_model(folder, statistics=True, prepare=True, progress=progress, cancel=cancel)
    cancel.raise_if_cancelled()
    state = ExplorationState()
    state.set_model(opened, opened.stats)
    progress(Progress("open session", 1, 3, "decoding the faces"))
    _restore_sample(state, rec, opened, path)
    _restore_photos(state, rec, opened, path)
    _restore_directions(state, rec, opened, path)
    _restore_view(state, rec, opened)
    state.set_bookmarks([bookmarks.from_json(b) for b in rec.get("bookmarks") or []])
    _restore_cloud_selection(state, rec, opened, path)
    progress(Progress("open session", 3, 3, "session restored"))
    window = rec.get("window") or {}
    zoom = (window.get("zoom") or {}).get("view_range")
    view = WindowView(window.get("workspace"), session_file.layout_bytes(rec, "layout"),
                      session_file.layout_bytes(rec, "geometry"), list(rec.get("levels") or []), rec.get("sampler"),
                      tuple(zoom) if zoom and len(zoom) == 4 else None, panels=dict(window.get("panels") or {}),
                      docks=window.get("docks"))
    return OpenedSession(path, rec, opened, state, view)


def _restore_sample(state: ExplorationState, rec: dict, opened, path: Path) -> None:
    sample = rec.get("sample")
    if not sample or not sample.get("z"):
        return
    z = np.asarray(sample["z"], np.float32)
    if z.ndim != 2 or z.shape[1] != opened.z_dim:
        raise DataError(f"{path}: session.sample.z holds vectors of {z.shape[-1] if z.ndim == 2 else '?'} values; "
                        f"the model's z has {opened.z_dim}")
    state.set_sample(Sample(z, opened.codec.decode(z), dict(sample["params"])))


def _restore_view(state: ExplorationState, rec: dict, opened) -> None:
    axes = session_file.axes_of(rec)
    if axes is not None:
        d = opened.z_dim
        state.set_axes(*((k, min(i, d - 1)) for k, i in axes))
    sel = rec.get("selection") or {}
    if state.sample is not None and sel.get("current") is not None:
        state.select(sel["current"], sel.get("selected"))
    state.set_colour_by(rec.get("colour_by"))
    state.set_path_vertices(rec.get("path_vertices") or [])
    photo = sel.get("photo_current")
    if photo is not None and 0 <= photo < len(state.photos):
        state.inspect_photo(photo)
    edit = rec.get("edit")
    if edit and state.focus() is not None and len(edit["z"]) == opened.z_dim:
        state.set_edited(np.asarray(edit["z"], np.float32))


def _restore_photos(state: ExplorationState, rec: dict, opened, path: Path) -> None:
    """Each photo rebuilt from its z, never from its file: the reconstruction decoded, its place in the cloud
    measured again (engine.photo.CloudReference, as when it was opened), the aligned crop from the PNG kept (else
    the reconstruction), the nearest training z-points decoded."""
    from ..explore_state import PhotoEntry
    from ..photo import NEIGHBOURS, CloudReference, PhotoResult

    photos = rec.get("photos") or []
    if not photos:
        return
    cloud = CloudReference.build(opened.latents, opened.latent_files, opened.stats)
    index = {f: i for i, f in enumerate(opened.latent_files)}
    for i, p in enumerate(photos):
        z = np.asarray(p["z"], np.float32).reshape(1, -1)
        if z.shape[1] != opened.z_dim:
            raise DataError(f"{path}: session.photos[{i}].z holds {z.shape[1]} values; the model's z has "
                            f"{opened.z_dim}")
        recon = opened.codec.decode(z)[0]
        aligned = _png_image(p.get("png"), recon.shape, path, i)
        if aligned is None:
            aligned, mse = recon.copy(), float(p.get("mse", 0.0))
        else:
            d = aligned.astype(np.float32) / 255.0 - recon.astype(np.float32) / 255.0
            mse = float(np.mean(d * d))
        dm, pct, verdict, near, inside = cloud.place(z[0], NEIGHBOURS)
        t = np.asarray(p.get("transform") or [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], np.float64)
        result = PhotoResult(
            source=str(p.get("source", f"photo {i + 1}")), photo_size=tuple(p.get("photo_size") or recon.shape[1::-1]),
            framing=str(p.get("framing", "")), faces_found=int(p.get("faces_found", 1)),
            face_index=p.get("face_index"), face_box=None, face_angle=float(p.get("face_angle", 0.0)), landmarks={},
            detected_eyes=None, transform=t, aligned=aligned, reconstruction=recon, z=z, mse=mse, mahalanobis=dm,
            percentile=pct, verdict=verdict, inside_chi2_3sigma=bool(inside), nearest=near, photo=None)
        rows = [index[f] for f, _d in near if f in index]
        near_images = opened.codec.decode(opened.latents[rows]) if rows and len(rows) == len(near) else None
        state.add_photo(PhotoEntry(result, [], bool(p.get("no_detect", False)), near_images))


def _png_image(text: Optional[str], shape: tuple, path: Path, i: int) -> Optional[np.ndarray]:
    """A photo's aligned crop from its base64 PNG (it must be the model's image size), or None."""
    if text is None:
        return None
    import base64
    import io

    from PIL import Image

    try:
        with Image.open(io.BytesIO(base64.b64decode(text.encode("ascii")))) as im:
            fmt, size = im.format, (im.height, im.width)
            img = np.asarray(im.convert("RGB"), np.uint8) if fmt == "PNG" and size == tuple(shape[:2]) else None
    except (OSError, ValueError, Image.DecompressionBombError):
        img = None
    if img is None:
        raise DataError(f"{path}: session.photos[{i}].png is not a readable {shape[1]}×{shape[0]} PNG picture")
    return img


def _restore_directions(state: ExplorationState, rec: dict, opened, path: Path) -> None:
    """The direction lab's set from its inline form (checked by the reader: names, methods, finite units)."""
    from ..lab.direction import Direction

    items = (rec.get("directions") or {}).get("items") or []
    dirs = []
    mean = None if opened.stats is None else np.asarray(opened.stats.mean, np.float64)
    for i, d in enumerate(items):
        unit = np.asarray(d["unit"], np.float64)
        if len(unit) != opened.z_dim:
            raise DataError(f"{path}: session.directions.items[{i}].unit holds {len(unit)} values; the model's z "
                            f"has {opened.z_dim}")
        unit = unit / np.linalg.norm(unit)
        dirs.append(Direction(d["name"], d["method"], unit * float(d["sigma"]), label=d.get("label", ""),
                              meta=dict(d.get("meta") or {}), origin=mean))
    if dirs:
        state.set_directions(dirs)


def _restore_cloud_selection(state: ExplorationState, rec: dict, opened, path: Path) -> None:
    from ..selection import CloudSelection

    n = len(opened.require_latents()) if (rec.get("cloud_selection") or rec.get("groups")) else 0
    for where, cs in [("cloud_selection", rec.get("cloud_selection"))] + [
            (f"groups[{i}]", g) for i, g in enumerate(rec.get("groups") or [])]:
        if cs and cs["n"] != n:
            raise DataError(f"{path}: session.{where} covers {cs['n']:,} z-points; the model has {n:,}")
    cs = rec.get("cloud_selection")
    if cs:
        state.set_cloud_selection(CloudSelection(session_file.mask_of(cs), cs.get("how", "")))
    state.set_groups([(g["name"], CloudSelection(session_file.mask_of(g), g.get("how", "")))
                      for g in rec.get("groups") or []])
