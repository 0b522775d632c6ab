"""Where a command may write: the rules that keep a user's own files safe.

Every command that writes a folder of results (``generate``, ``reconstruct``, ``edit``, the GUI's
"save image set") writes it as an *owned set*: a folder holding our files and a ``params.json`` that
says so (``"written_by"``, ``"set_kind"`` and ``"set_files"``, the complete list of the set's files).
From that manifest the app can tell, later, exactly which files are its own.

The rules (:func:`check_output_folder`, :func:`write_owned_set`):

* an output folder is written only if it is new, empty (hidden entries such as ``.DS_Store`` aside),
  or holds a set we wrote; a folder with anything else in it is refused before any work starts;
* a set we wrote is replaced only when asked (``overwrite``), and then only the files its manifest
  lists are replaced or removed; a user's file that the new set would land on is never replaced;
* output equal to or inside an input folder (the images read, the model folder) is refused;
* the files are written into a hidden staging folder inside the target and moved into place under a
  lock only when all are complete (``params.json`` last), so a full disk, a crash or a cancel leaves
  the previous set exactly as it was, and two saves racing into one folder never mix their files.

Single-file outputs (``evaluate --out report.json``, ``movie --out x.gif``) follow the same rules through
:func:`check_output_file`. Which single files are ours is recorded in the hidden ``OWNED_FILES`` manifest of
the file's folder (name → kind, size, sha256 at write time, :func:`writing_owned_file`): a user's file of the
same name is never ours, whatever it holds, and neither is a file of ours the user changed since.

Every check also makes sure, before any work, that the destination can be written: the missing folders are
created and a probe file is made there, then both are removed (:func:`check_can_write`).
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional

from . import __version__, atomic_io
from .errors import EngineError, FolderHoldsModel

PARAMS = "params.json"
WRITTEN_BY = "latent-face-studio"
STAGE_PREFIX = ".saving-"
STAGE_OWNER = ".owner"
LOCK = ".image-set.lock"
#: What each kind of set is called in messages.
KIND_NAMES = {"image-set": "an image set", "edit-strips": "edit strips", "reconstructions": "reconstructions",
              "photo": "a photo's results", "report": "a report", "selection": "a selection"}
#: A params.json is a few kB (a huge set's file list: ~15 bytes a face); anything far larger is not ours.
MAX_PARAMS_BYTES = 64 * 2**20


@dataclass
class FolderState:
    """What an output folder holds, as far as writing into it is concerned."""

    folder: Path
    exists: bool
    kind: Optional[str] = None  # the set kind when the folder holds a set we wrote
    own: set[str] = field(default_factory=set)  # file names the set's manifest lists (params.json included)
    foreign: list[str] = field(default_factory=list)  # visible entries that are not ours

    @property
    def empty(self) -> bool:
        return not self.own and not self.foreign

    @property
    def ours(self) -> bool:
        return self.kind is not None

    @property
    def what(self) -> str:
        return KIND_NAMES.get(self.kind or "", "a set of results")


def _plain_name(name) -> bool:
    return isinstance(name, str) and name not in ("", ".", "..") and "/" not in name and "\\" not in name \
        and "\0" not in name


def read_manifest(folder: Path) -> Optional[tuple[str, set[str]]]:
    """``(kind, own file names)`` when ``folder/params.json`` is one we wrote, else None.

    Sets written before manifests existed are recognised by their params.json (our keys and
    ``app_version``); their own files are then those it lists (``files``) plus ``z.npy`` and
    ``grid.png`` — never "any numbered PNG", which may be a user's photo.
    """
    path = Path(folder) / PARAMS
    try:
        if not path.is_file() or path.is_symlink() or path.stat().st_size > MAX_PARAMS_BYTES:
            return None
        meta = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(meta, dict):
        return None
    listed = meta.get("set_files")
    if meta.get("written_by") == WRITTEN_BY and isinstance(meta.get("set_kind"), str) and isinstance(listed, list):
        return meta["set_kind"], {n for n in listed if _plain_name(n)} | {PARAMS}
    if "app_version" not in meta or not isinstance(meta.get("files", []), list):
        return None
    files = {n for n in meta.get("files", []) if _plain_name(n)}
    if meta.get("command") == "edit":
        return "edit-strips", files | {"grid.png", PARAMS}
    if "sampler" in meta or "model_id" in meta:
        return "image-set", files | {"z.npy", "grid.png", PARAMS}
    return None


def inspect_folder(folder: str | os.PathLike) -> FolderState:
    """Sort a folder's visible entries into the set we wrote (if any) and everything else."""
    folder = Path(folder)
    if not folder.exists():
        return FolderState(folder, exists=False)
    state = FolderState(folder, exists=True)
    manifest = read_manifest(folder)
    try:
        entries = sorted(os.listdir(folder))
    except OSError as exc:
        raise EngineError(f"{folder}: cannot read the folder ({exc.strerror or exc})") from None
    if manifest is not None:
        state.kind, listed = manifest
        state.own = {n for n in entries if n in listed and (folder / n).is_file() and not (folder / n).is_symlink()}
    state.foreign = [n for n in entries if not n.startswith(".") and n not in state.own]
    return state


def _resolved(path: Path) -> Path:
    try:
        return Path(os.path.realpath(path))
    except (OSError, ValueError):
        return Path(os.path.abspath(path))


def check_not_inside(out: Path, inputs: Iterable, label: str = "out") -> None:
    """Refuse an output that is, or lies inside, one of the input folders (or files)."""
    target = _resolved(out)
    for inp in inputs:
        if inp is None or str(inp) == "":
            continue
        src = _resolved(Path(inp))
        if target == src or src in target.parents:
            raise EngineError(f"{out}: is inside the input {inp}; choose a folder outside it "
                              "(the input is never written into)", param=label)


def check_path_text(path, label: str = "out") -> Path:
    if path is None or str(path).strip() == "":
        raise EngineError(": an empty path; name the folder to write", param=label)
    if "\0" in str(path):
        raise EngineError(f"{path!r}: a path cannot contain a NUL character", param=label)
    return Path(path)


def check_output_folder(folder, *, inputs: Iterable = (), overwrite: bool = False, label: str = "out",
                        kind: str = "image-set") -> FolderState:
    """Refuse, before any work starts, an output folder that a set of ``kind`` may not be written into."""
    folder = check_path_text(folder, label)
    _refuse_unusable(folder, label)
    if folder.exists() and not folder.is_dir():
        raise EngineError(f"{folder}: exists and is not a folder", param=label)
    for parent in folder.parents:
        if parent.exists() and not parent.is_dir():
            raise EngineError(f"{folder}: {parent} is a file, not a folder")
    check_not_inside(folder, inputs, label)
    state = inspect_folder(folder)
    _refuse_unless_writable(state, overwrite, kind)
    check_can_write(folder, label)
    return state


def _refuse_unusable(path: Path, label: str) -> None:
    """A path the system cannot even look up (a name too long, a loop of links, no permission on a folder)."""
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        pass
    except OSError as exc:
        raise EngineError(f"{path}: cannot be written ({exc.strerror or exc}); choose another place — "
                          "nothing was done", param=label) from None


def check_can_write(folder, label: str = "out", shown=None, name: Optional[str] = None) -> None:
    """Refuse, before any work, a destination that cannot be written: a probe file is made (and deleted) in the
    nearest folder that exists — where the first missing folder, or the file, would be created — and the names
    still to be created (the missing folders, ``name``) must fit the file system's limit. Nothing is created
    for good (a folder made and removed again could race with another save making the same one). The message
    names ``shown`` (the user's path), never the probe."""
    folder = Path(folder)
    shown = folder if shown is None else shown
    to_create = [] if name is None else [name]
    base = folder
    while not (base.exists() or base.is_symlink()) and base != base.parent:
        to_create.append(base.name)
        base = base.parent
    try:
        try:
            limit = os.pathconf(base, "PC_NAME_MAX")
        except (OSError, ValueError):
            limit = 255
        if any(len(os.fsencode(n)) > limit for n in to_create):
            raise OSError(errno.ENAMETOOLONG, os.strerror(errno.ENAMETOOLONG))
        fd, probe = tempfile.mkstemp(prefix=".lfs-probe-", dir=base)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise EngineError(f"{shown}: cannot be written ({exc.strerror or exc}); choose another place — "
                          "nothing was done", param=label) from None


def _refuse_unless_writable(state: FolderState, overwrite: bool, kind: str) -> None:
    folder = state.folder
    if state.foreign and not state.ours:
        shown = ", ".join(state.foreign[:3]) + (f" and {len(state.foreign) - 3} more" if len(state.foreign) > 3 else "")
        raise EngineError(f"{folder}: holds files that Latent Face Studio did not write ({shown}); "
                          "choose a new or empty folder — nothing was written")
    if state.ours and not overwrite:
        raise EngineError(f"{folder}: already holds {state.what}; choose another folder or allow overwriting "
                          "({opt:overwrite})")


def check_output_file(path, *, inputs: Iterable = (), overwrite: bool = False, label: str = "out",
                      is_ours: Optional[Callable[[Path], bool]] = None, what: str = "file",
                      kind: Optional[str] = None) -> Path:
    """The rules for a single output file: never a folder, never inside an input, a place that can be written,
    and an existing file is replaced only when ``overwrite`` is asked and it is ours: ``is_ours(path)``, or by
    default the folder's record of the files we wrote as ``kind`` (:func:`is_owned_file`)."""
    path = check_path_text(path, label)
    _refuse_unusable(path, label)
    if is_ours is None:
        is_ours = (lambda p: is_owned_file(p, kind)) if kind else (lambda p: False)
    if path.is_dir():
        raise EngineError(f"{path}: is a folder; give the {what}'s file name, e.g. {path / 'report.json'}", param=label)
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            raise EngineError(f"{path}: {parent} is not a folder", param=label)
    check_not_inside(path, inputs, label)
    if path.exists() or path.is_symlink():
        if not path.is_file() or path.is_symlink() or not is_ours(path):
            raise EngineError(f"{path}: already exists and is not a {what} Latent Face Studio wrote; "
                              "choose a new file name — nothing was written", param=label)
        if not overwrite:
            raise EngineError(f"{path}: already exists; choose a new file name or allow overwriting "
                              "({opt:overwrite})", param=label)
    check_can_write(path.parent, label, shown=path, name=path.name)
    return path


# ----------------------------------------------------------------------------------------------
# single files we wrote: a hidden record in their folder (name → kind, size, sha256)

OWNED_FILES = ".latent-face-studio-files.json"
OWNED_FILES_LOCK = ".latent-face-studio-files.lock"
MAX_OWNED_RECORDS = 10_000


def file_digest(path: Path) -> tuple[int, str]:
    """(size, sha256 hex) of a file, read in 1 MB pieces."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(2**20)
            if not chunk:
                break
            h.update(chunk)
            size += len(chunk)
    return size, h.hexdigest()


def _owned_records(folder: Path) -> dict:
    path = Path(folder) / OWNED_FILES
    try:
        if not path.is_file() or path.is_symlink() or path.stat().st_size > MAX_PARAMS_BYTES:
            return {}
        obj = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    files = obj.get("files") if isinstance(obj, dict) and obj.get("written_by") == WRITTEN_BY else None
    return {k: v for k, v in files.items() if isinstance(v, dict)} if isinstance(files, dict) else {}


def owned_file_record(path) -> Optional[dict]:
    """The record of ``path`` in its folder's manifest (kind, size, sha256), or None."""
    path = Path(path)
    return _owned_records(path.parent).get(path.name)


def _versions(rec: dict) -> list[tuple[int, str]]:
    vs = rec.get("versions")
    return [(v["size"], v["sha256"]) for v in vs if isinstance(v, dict) and isinstance(v.get("size"), int)
            and isinstance(v.get("sha256"), str)] if isinstance(vs, list) else []


def is_owned_file(path, kind: Optional[str]) -> bool:
    """True when ``path`` is a regular file we wrote as ``kind`` and unchanged since (a recorded size and sha256)."""
    path = Path(path)
    rec = owned_file_record(path)
    if rec is None or kind is None or rec.get("kind") != kind:
        return False
    try:
        versions = _versions(rec)
        if path.is_symlink() or not path.is_file() or path.stat().st_size not in {size for size, _ in versions}:
            return False
        return file_digest(path) in versions
    except OSError:
        return False


def record_owned_file(path: Path, kind: str, size: int, sha: str, keep_previous: bool) -> None:
    """Record ``path`` as ours; with ``keep_previous`` the version recorded before stays valid too (the record is
    written before the new file is renamed over the old one, so that either may be there)."""
    folder = path.parent
    with atomic_io.FolderLock(folder, OWNED_FILES_LOCK, wait_s=30.0):
        records = _owned_records(folder)
        old = records.get(path.name)
        versions = [(int(size), sha)]
        if keep_previous and old is not None and old.get("kind") == kind:
            versions += [v for v in _versions(old) if v != versions[0]][:1]
        files = {n: r for n, r in records.items() if n != path.name and (folder / n).is_file()}
        files = dict(list(files.items())[-(MAX_OWNED_RECORDS - 1):])
        files[path.name] = {"kind": kind, "versions": [{"size": z, "sha256": h} for z, h in versions],
                            "app_version": __version__}
        atomic_io.write_json(folder / OWNED_FILES, {"written_by": WRITTEN_BY, "files": files})


@contextmanager
def writing_owned_file(path, kind: str) -> Iterator[Path]:
    """Yield a temp path for a writer. When the ``with`` body ends without an error (the writer finished and
    closed the file), the file is fsynced and fingerprinted, the folder's record of our files is updated (a
    failure there, e.g. a full disk, leaves everything as it was) and only then is the file renamed into place.
    Check the destination first with :func:`check_output_file`."""
    path = Path(path)
    digest: list = []

    def record(tmp: Path) -> None:
        digest.extend(file_digest(tmp))
        try:
            record_owned_file(path, kind, *digest, keep_previous=True)
        except OSError as exc:  # named after the user's file, not our hidden record
            raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc

    with atomic_io.atomic_path(path, before_replace=record) as tmp:
        yield tmp
    try:
        record_owned_file(path, kind, *digest, keep_previous=False)  # only the new version now
    except OSError:
        pass  # the previous version stays recorded as ours too: harmless


# ----------------------------------------------------------------------------------------------
# writing a set: staged, then moved into place under a lock


def write_owned_set(folder, kind: str, fill: Callable[[Path], dict], *, overwrite: bool = False,
                    inputs: Iterable = ()) -> Path:
    """Write a set of ``kind`` into ``folder`` by the rules above.

    ``fill(stage)`` writes the set's files into the staging folder ``stage`` and returns the
    ``params.json`` content; the manifest keys are added here and ``params.json`` is written last.
    """
    inputs = list(inputs)
    state = check_output_folder(folder, inputs=inputs, overwrite=overwrite, kind=kind)
    folder = state.folder
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    remove_abandoned_stages(folder)
    stage = None
    flight = atomic_io.in_flight()
    flight.__enter__()  # a staging folder exists from here until the end (engine/interrupts.py)
    try:
        stage = Path(tempfile.mkdtemp(prefix=STAGE_PREFIX, dir=folder))
        atomic_io.FolderLock(stage, STAGE_OWNER).acquire()  # marks the stage as this live process's
        meta = dict(fill(stage))
        names = sorted(p.name for p in stage.iterdir() if p.name != PARAMS and not p.name.startswith("."))
        meta.setdefault("app_version", __version__)
        meta.update({"written_by": WRITTEN_BY, "set_kind": kind, "set_files": names})
        atomic_io.write_json(stage / PARAMS, meta)
        atomic_io.sync_staged([stage / n for n in names])  # staged files were written without an fsync each
        with _folder_lock(folder):
            now = inspect_folder(folder)  # again, under the lock: another save may have landed meanwhile
            if now.ours and not overwrite:
                raise EngineError(f"{folder}: another save wrote {now.what} here first; nothing was overwritten")
            _refuse_unless_writable(now, overwrite, kind)
            clash = sorted(set(names) & set(now.foreign))
            if clash:
                raise EngineError(f"{folder}: {clash[0]} is not a file of the set there; it is never replaced — "
                                  "choose a new or empty folder")
            old = [folder / n for n in now.own if n not in names and n != PARAMS]
            if (folder / PARAMS).exists():
                (folder / PARAMS).unlink()  # no complete set until the new params.json lands
            for name in names:
                os.replace(stage / name, folder / name)
            os.replace(stage / PARAMS, folder / PARAMS)
            for p in old:
                try:
                    p.unlink()
                except OSError:
                    pass
    except BaseException as exc:
        if stage is not None:
            shutil.rmtree(stage, ignore_errors=True)
        if created:
            try:
                folder.rmdir()  # only if nothing else is in it
            except OSError:
                pass
        if isinstance(exc, OSError) and stage is not None:
            _raise_naming_the_target(exc, stage, folder)
        raise
    finally:
        flight.__exit__(None, None, None)
    shutil.rmtree(stage, ignore_errors=True)
    return folder


def _raise_naming_the_target(exc: OSError, stage: Path, folder: Path) -> None:
    """An error about a file in the hidden staging folder names the file's place in ``folder`` instead."""
    try:
        rel = Path(os.fsdecode(exc.filename)).relative_to(stage) if exc.filename is not None else None
    except (TypeError, ValueError):
        return
    target = folder if rel is None or str(rel) in ("", ".") else folder / rel
    raise OSError(exc.errno, exc.strerror or str(exc), str(target)) from exc


def remove_abandoned_stages(folder: Path) -> None:
    """Delete staging folders whose save died (kill -9, power loss) — never a live save's."""
    for d in Path(folder).glob(STAGE_PREFIX + "*"):
        if d.is_dir() and not d.is_symlink() and atomic_io.FolderLock(d, STAGE_OWNER).is_stale():
            shutil.rmtree(d, ignore_errors=True)


@contextmanager
def _folder_lock(folder: Path, wait_s: float = 30.0) -> Iterator[None]:
    """The lock of the short move phase; another save waits for it (a dead holder's is taken over)."""
    lock = atomic_io.FolderLock(folder, LOCK)
    try:
        lock.acquire(wait_s)
    except atomic_io.FolderBusy as exc:
        raise EngineError(f"{folder}: another save into this folder is in progress ({exc.holder}, lock {LOCK})") from None
    try:
        yield
    finally:
        lock.release()


def unique_file_names(stems: Iterable[str], suffix: str = ".png", reserved: Iterable[str] = ()) -> list[str]:
    """One output name per input stem: ``face.jpg`` and ``face.png`` → ``face.png``, ``face-1.png``.

    Names are compared case-insensitively (they collide on macOS and Windows file systems), and a
    stem that is empty, hidden or not a plain name becomes its index.
    """
    taken = {r.casefold() for r in reserved}
    out = []
    for i, stem in enumerate(stems):
        stem = str(stem)
        if not _plain_name(stem + suffix) or stem.startswith(".") or not stem.strip():
            stem = f"{i:04d}"
        name, j = f"{stem}{suffix}", 1
        while name.casefold() in taken:
            name = f"{stem}-{j}{suffix}"
            j += 1
        taken.add(name.casefold())
        out.append(name)
    return out


# ----------------------------------------------------------------------------------------------
# model folders as an output (train)

#: The files a model folder of ours may hold (engine/model_store.py); hidden entries are ours too.
MODEL_FILES = frozenset({"config.json", "weights.safetensors", "latents.npy", "latents_files.txt",
                         "checkpoint.safetensors", "labels.csv", "stats_cache.npz", "photo_aligner.npz"})


def holds_model(folder: Path) -> bool:
    """True when ``folder/config.json`` is a Latent Face Studio model config (not judged further)."""
    path = Path(folder) / "config.json"
    try:
        if not path.is_file() or path.stat().st_size > 16 * 2**20:
            return False
        return json.loads(path.read_text("utf-8")).get("format") == "latent-face-studio-model"
    except (OSError, ValueError, AttributeError, RecursionError):
        return False


def check_model_output(out, *, data=None, resume: bool = False, label: str = "out") -> Path:
    """Where ``train`` may write: a new or empty folder, or (with ``resume``) a model folder of ours.

    A folder that holds a model is never trained over without ``resume``: its weights, latents and
    labels belong together and would be replaced by a different network's. A folder holding anything
    else (a user's photos) is refused, and so is a model folder inside the images it trains on.
    """
    out = check_path_text(out, label)
    if out.exists() and not out.is_dir():
        raise EngineError(f"{out}: exists and is not a folder", param=label)
    check_not_inside(out, [data], label)
    if not out.exists():
        if resume:
            raise EngineError(f"{out / 'config.json'}: missing — there is no model to resume in {out}")
        check_can_write(out, label)
        return out
    try:
        entries = sorted(n for n in os.listdir(out) if not n.startswith("."))
    except OSError as exc:
        raise EngineError(f"{out}: cannot read the folder ({exc.strerror or exc})") from None
    model = holds_model(out)
    foreign = [n for n in entries if not (model and n in MODEL_FILES)]
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise EngineError(f"{out}: holds files that are not a Latent Face Studio model ({shown}); "
                          "train into a new or empty folder — nothing was written")
    if model and not resume:
        raise FolderHoldsModel(f"{out}: already holds a model; use {{opt:resume}} to continue training it, or choose "
                               "a new folder — a model is never trained over", path=out)
    if resume and not model:
        raise EngineError(f"{out / 'config.json'}: missing — there is no model to resume in {out}")
    check_can_write(out, label)
    return out


def json_file_with_keys(path: Path, keys: Iterable[str], max_bytes: int = MAX_PARAMS_BYTES) -> bool:
    """True when ``path`` is a JSON object (of sane size) holding every one of ``keys``: how a single
    output file we wrote (an evaluation report) is told from a user's file of the same name."""
    try:
        if Path(path).stat().st_size > max_bytes:
            return False
        obj = json.loads(Path(path).read_text("utf-8"))
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(obj, dict) and all(k in obj for k in keys)
