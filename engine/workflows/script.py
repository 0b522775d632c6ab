"""File ▸ Save as script: what a session made, as a runnable Python script of the public API
(``latent_face_studio``) that makes the same image sets again, byte for byte.

A set is written down from its own record (its ``params.json``: sampler, parameters, seed, condition, and the
moves applied to it), so the script does what made the set, not what the user clicked: ``model.generate(…)``, then
``model.move(…)`` for each move, then ``faces[rows].save(…)``. A move along a direction found by the lab (not an
axis or an attribute of the labels) cannot be written from its record alone; such a set is left out with a comment
saying why.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional, Sequence

from .. import __version__
from ..errors import EngineError

#: The kind our hidden record gives a script we wrote (replaced only when asked).
KIND = "script"


@dataclass(frozen=True)
class SavedSetEntry:
    """A set the session wrote: where, its params.json, the rows of the grid it kept, the grid's columns."""

    folder: str
    params: dict
    rows: Optional[tuple] = None
    columns: Optional[int] = None


def _call_generate(params: dict) -> str:
    values = params.get("parameters") or {}
    args = [str(int(params["n"])), f"sampler={params['sampler']!r}", f"seed={int(params['seed'])}"]
    if params.get("where"):
        args.append(f"where={params['where']!r}")
    if values:
        args.append(f"**{dict(values)!r}")
    return f"model.generate({', '.join(args)})"


def _call_move(move: dict) -> str:
    kind, name, amount = move.get("kind"), move.get("name"), float(move.get("amount", 0.0))
    if kind == "axis":
        return f"model.move(faces, {amount!r}, axis={name!r})"
    if kind == "attribute":
        return f"model.move(faces, {amount!r}, attribute={name!r})"
    raise EngineError(f"a move along the lab's direction {name!r} cannot be written from the set's record")


def set_lines(entry: SavedSetEntry, overwrite: bool = True) -> list[str]:
    """The script's lines that make one saved set again (raises EngineError when a move cannot be written)."""
    params = entry.params
    if not {"sampler", "n", "seed"} <= set(params):
        raise EngineError("a set without its sampler, n and seed (not made by generate) cannot be made again")
    lines = [f"faces = {_call_generate(params)}"]
    lines += [f"faces = {_call_move(m)}" for m in params.get("applied") or []]
    subset = "faces" if entry.rows is None else f"faces[{list(entry.rows)!r}]"
    options = [repr(str(entry.folder))]
    if overwrite:
        options.append("overwrite=True")
    if entry.columns:
        options.append(f"columns={int(entry.columns)}")
    lines.append(f"{subset}.save({', '.join(options)})")
    return lines


def script_text(model_folder: str | os.PathLike, sets: Sequence[SavedSetEntry]) -> str:
    """The whole script: open the model, then each set in the order it was saved."""
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = [f'"""The image sets of a Latent Face Studio session ({__version__}, {stamp}), made again.',
           "",
           "Run it with the app's Python: python this-script.py (each set is written where the session wrote it;",
           'a set this script wrote before is replaced).', '"""',
           "import latent_face_studio as lfs", "",
           f"model = lfs.open_model({str(Path(model_folder))!r})"]
    for entry in sets:
        out.append("")
        try:
            out += set_lines(entry)
        except EngineError as exc:
            out.append(f"# {entry.folder}: left out — {exc}")
    return "\n".join(out) + "\n"


def save_script(path: str | os.PathLike, model_folder: str | os.PathLike, sets: Sequence[SavedSetEntry], *,
                overwrite: bool = False) -> Path:
    """Write the script file ``path`` (a new file, or a script this app wrote when ``overwrite``)."""
    from ..output_folders import check_output_file, writing_owned_file

    if not sets:
        raise EngineError("nothing to write: no image set was saved in this session yet")
    path = check_output_file(path, overwrite=overwrite, kind=KIND, what="script")
    text = script_text(model_folder, sets)
    with writing_owned_file(path, KIND) as tmp:
        tmp.write_bytes(text.encode("utf-8"))
    return path
