"""Save and open a session: the exploration (``engine.explore_state.ExplorationState``) plus what the window adds
(workspace, layout, σ-levels, the sampler's fields) written to one session file, and read back into a state the
window applies. See :mod:`engine.session_file` for the file and its checks.

Not kept yet: photos' own pictures are kept only as their placement (z, framing); a photo comes back as its
reconstruction in the cloud.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import numpy as np

from .. import __version__, session_file
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
        "selection": {"current": state.current, "selected": list(state.selected), "photo_current": None},
        "axes": [[k, int(i)] for k, i in state.axes],
        "levels": [float(x) for x in view.levels],
        "colour_by": state.colour_by,
        "path_vertices": [[float(x), float(y)] for x, y in state.path_vertices],
    }
    if view.sampler is not None:
        rec["sampler"] = dict(view.sampler)
    if state.sample is not None:
        rec["sample"] = {"params": _json_params(state.sample.params), "z": [_floats(z) for z in state.sample.z]}
    if state.edited_z is not None and state.photo_current is None:
        rec["edit"] = {"z": _floats(state.edited_z)}
    return rec


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
    _restore_view(state, rec, opened)
    progress(Progress("open session", 3, 3, "session restored"))
    window = rec.get("window") or {}
    view = WindowView(window.get("workspace"), session_file.layout_bytes(rec, "layout"),
                      session_file.layout_bytes(rec, "geometry"), list(rec.get("levels") or []), rec.get("sampler"))
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
    edit = rec.get("edit")
    if edit and state.sample is not None and state.current is not None and len(edit["z"]) == opened.z_dim:
        state.set_edited(np.asarray(edit["z"], np.float32))
