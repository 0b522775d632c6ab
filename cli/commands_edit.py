"""Commands that move faces: edit, photo, movie, directions."""
from __future__ import annotations

import sys

from . import render
from .common import EXIT_BAD_INPUT, EXIT_SOME_MISSED, one_line, raise_bad
from .common import model_dir as _model_dir


def cmd_edit(a, progress) -> int:
    from engine.editing import parse_amounts
    from engine.workflows.edit import edit_folder

    if (a.data is None) == (a.set is None):
        raise_bad("edit: give --data FOLDER (images, edited as strips) or --set FOLDER (an image set, moved as a "
                  "whole), not both and not neither")
    if a.set is not None:
        return _edit_set(a, progress)
    if a.axis is not None:
        raise_bad("--axis: only with --set (strips of --data move along --attribute or --direction)")
    if (a.attribute is None) == (a.direction is None):
        raise_bad("edit: give --attribute NAME or --direction FILE [--index K], not both and not neither")
    if a.direction is None and (a.force or a.index != 1):
        raise_bad("--index / --force: only with --direction FILE")
    if a.direction is not None and a.method:
        raise_bad("--method: only with --attribute (a saved direction is used as it was saved)")
    amounts = parse_amounts(a.amount)
    res = edit_folder(_model_dir(a.model), a.data, a.attribute, amounts, a.out, n=a.n, method=a.method,
                      direction_file=a.direction, index=a.index, force=a.force, overwrite=a.overwrite,
                      progress=progress)
    progress.close()
    for name, why in res.skipped:
        print(f"skipped {name}: {why}", file=sys.stderr)
    print(render.edited_line(res, a.attribute, a.direction, a.index, a.out))
    return 0


def _edit_set(a, progress) -> int:
    """``edit --set``: every face of an image set moved by one amount along one direction, as a new image set."""
    from engine.editing import parse_amounts
    from engine.workflows.move_faces import move_set_folder

    if sum(x is not None for x in (a.attribute, a.direction, a.axis)) != 1:
        raise_bad("edit --set: give one direction: --attribute NAME, --axis PC1|z12 or --direction FILE [--index K]")
    if a.direction is None and (a.force or a.index != 1):
        raise_bad("--index / --force: only with --direction FILE")
    if a.n is not None:
        raise_bad("--n: not with --set (every face of the set is moved)")
    if a.method and a.attribute is None:
        raise_bad("--method: only with --attribute")
    amounts = parse_amounts(a.amount) if a.amount != "-2:2:5" else None
    if amounts is None or len(amounts) != 1:
        raise_bad("edit --set: give one --amount (e.g. --amount 1.5): the set is moved by it as a whole")
    saved, move = move_set_folder(_model_dir(a.model), a.set, float(amounts[0]), a.out, axis=a.axis,
                                  attribute=a.attribute, method=a.method, direction_file=a.direction, index=a.index,
                                  force=a.force, overwrite=a.overwrite, progress=progress)
    progress.close()
    print(f"moved {saved.count} faces of {a.set} by {float(amounts[0]):g} ({move.unit}) along {move.name}; "
          f"wrote the set to {saved.folder}")
    return 0


def cmd_photo(a, progress) -> int:
    from engine.editing import parse_amounts
    from engine.workflows.open_model import open_model
    from engine.workflows.photo import DEFAULT_AMOUNTS, PhotoOptions, check_photos_output, parse_face, photos_to_folder

    if any(not str(p).strip() for p in a.photo):
        raise_bad("--photo: an empty path; name the photo file")
    if a.amount is not None and not a.attribute:
        raise_bad("--amount: give --attribute NAME too (e.g. --attribute Smiling --amount -2:2:5)")
    options = PhotoOptions(no_detect=a.no_detect, detector=a.detector, face=parse_face(a.face), attribute=a.attribute, method=a.method,
                           amounts=parse_amounts(a.amount or DEFAULT_AMOUNTS) if a.attribute else None,
                           put_back=a.put_back, put_back_amount=a.put_back_amount,
                           put_back_whole=a.put_back_whole)
    model_dir = _model_dir(a.model)
    check_photos_output(model_dir, a.out, a.photo, overwrite=a.overwrite, batch=True)  # before any work
    opened = open_model(model_dir, labels=bool(a.attribute))
    run = photos_to_folder(opened, a.photo, a.out, options, overwrite=a.overwrite, progress=progress)
    progress.close()
    if not run.results:  # every photo missed: nothing was written
        for miss in run.missed:
            print(f"error: {one_line(miss.error)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for r, folder in zip(run.results, run.folders):
        print(render.photo_line(r, folder))
    for miss in run.misses:
        print(render.photo_miss_line(miss, one_line(miss.error)))
    print(render.photo_batch_line(run))
    return EXIT_SOME_MISSED if run.missed else 0


def cmd_movie(a, progress) -> int:
    from engine.workflows.movie import make_movie, movie_summary

    if a.direction is None and a.index != 1:
        raise_bad("--index: only with --direction FILE")
    if a.columns is not None and a.set is None:
        raise_bad("--columns: only with --set FOLDER (a grid film)")
    m = make_movie(_model_dir(a.model), a.out, frm=a.from_, to=a.to, axis=a.axis, value_range=a.range,
                   method=a.method, frames=a.frames, fps=a.fps, size=a.size, overwrite=a.overwrite,
                   attribute=a.attribute, direction_file=a.direction, index=a.index, face=a.face, set_folder=a.set,
                   columns=a.columns, progress=progress)
    progress.close()
    print(movie_summary(m))
    return 0


def cmd_directions(a, progress) -> int:
    from engine.lab import UNIT_TEXT
    from engine.workflows.directions import DirectionOptions, directions_of_model

    names = [s.strip() for s in (a.attribute or "").split(",") if s.strip()]
    hold = [s.strip() for s in (a.hold or "").split(",") if s.strip()]
    options = DirectionOptions(a.method, a.k, names, hold, a.seed, decode=not a.no_images, feature_space=True,
                               sort=a.sort)
    model_dir = _model_dir(a.model)
    res = directions_of_model(model_dir, options, out=a.out, set_name=a.name, overwrite=a.overwrite,
                              progress=progress)
    progress.close()
    for note in res.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"{len(res.directions)} {a.method} direction(s) of {model_dir}; 1 unit = {UNIT_TEXT}")
    print(render.DIRECTIONS_LEGEND + ("" if res.named else "; no labels.csv, so no names"))
    print(res.table())
    if res.saved is not None:
        print(f"wrote {len(res.directions)} direction(s) to {res.saved[0]} (+ {res.saved[1].name})")
    return 0
