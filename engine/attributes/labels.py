"""Attribute labels: reading a label file, matching it to the z-points, storing ``labels.csv``.

:func:`read_label_file` reads CelebA's ``list_attr_celeba.txt`` (line 1 the row count, line 2 the
attribute names, then ``file v1 … vA`` with 1/-1) or a plain CSV (``file,label1,label2,…``; binary
1/0, 1/-1, true/false or numeric values, blank = unknown), and matches its rows to the model's
``latents_files.txt`` by file name (exact name, then base name, then stem). Nothing is dropped
silently: :class:`LabelReport` counts matched rows, rows for files the model never encoded,
malformed rows (wrong column count, bad values; with line numbers), duplicates, blank cells and
z-points left without labels. :func:`import_labels` stores the matched labels beside the model as
``labels.csv`` (atomically; binary columns as 1/0), and :func:`load_labels` reads them back aligned
with the z-points — the default model ships with CelebA's attributes this way.

Groups
------
A binary attribute splits the z-points into "present" (value > 0) and "absent" (value ≤ 0); a
numeric column splits at its median. Unlabelled z-points belong to neither group.
"""
from __future__ import annotations

import csv
import difflib
import io
import itertools
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from .. import atomic_io
from ..errors import DataError, SamplerError

LABELS = "labels.csv"
_EXAMPLES = 5  # examples kept per kind of problem
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_MEMO_CELLS = 4096  # distinct accepted cells remembered per file (a numeric column may hold millions)
_ROW_BLOCK = 4096  # matched rows stored into the table at a time (bounded memory)
_LINE_BLOCK = 16384  # lines of a plain CSV read at a time by the vectorised reading
_TRUE = {"true", "yes", "y", "t", "present"}
_FALSE = {"false", "no", "n", "f", "absent"}


@dataclass
class LabelReport:
    """What happened to every row of a label file; nothing is dropped without being counted here."""

    source: str
    format: str  # "celeba" or "csv"
    attributes: int = 0
    rows: int = 0  # data rows read (blank lines not counted)
    matched: int = 0  # rows matched to a z-point
    unmatched: int = 0  # rows whose file the model never encoded
    unmatched_examples: list[str] = field(default_factory=list)
    malformed: int = 0  # rows with a wrong number of cells or bad values (not used)
    malformed_examples: list[str] = field(default_factory=list)  # "line 17: …"
    duplicates: int = 0  # later rows for a file already labelled (the first one is kept)
    duplicate_examples: list[str] = field(default_factory=list)
    blank_cells: int = 0  # empty CSV cells (kept as "unknown")
    missing: int = 0  # z-points with no label row
    missing_examples: list[str] = field(default_factory=list)
    z_points: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def problems(self) -> int:
        return self.unmatched + self.malformed + self.duplicates + self.missing

    def summary(self) -> str:
        """A few lines for the CLI / a dialog."""
        out = [
            f"{self.source}: {self.format} label file, {self.attributes} attribute(s), {self.rows} row(s); "
            f"{self.matched} matched to the model's {self.z_points} z-points"
        ]

        def line(count, what, examples):
            if count:
                ex = ", ".join(examples)
                more = f", … {count - len(examples)} more" if count > len(examples) else ""
                out.append(f"  {count} {what}: {ex}{more}")

        line(self.unmatched, "row(s) for files the model has no z-point for (not used)", self.unmatched_examples)
        line(self.malformed, "malformed row(s) (not used)", self.malformed_examples)
        line(self.duplicates, "duplicate row(s) (the first row per file is used)", self.duplicate_examples)
        line(self.missing, "z-point(s) without a label row (unlabelled)", self.missing_examples)
        if self.blank_cells:
            out.append(f"  {self.blank_cells} blank cell(s) kept as unknown")
        out.extend(f"  {n}" for n in self.notes)
        return "\n".join(out)


@dataclass
class AttributeTable:
    """Labels aligned with a model's z-points: ``values[i, a]`` is attribute ``a`` of z-point ``i``
    (NaN = unknown)."""

    names: list[str]
    values: np.ndarray  # (N, A) float32
    files: list[str]
    report: Optional[LabelReport] = None

    def __post_init__(self) -> None:
        self.values = np.asarray(self.values, dtype=np.float32)
        self._index = {n: i for i, n in enumerate(self.names)}

    def __len__(self) -> int:
        return len(self.values)

    def subset(self, rows: np.ndarray) -> "AttributeTable":
        """The table restricted to the z-points ``rows`` (indices or a boolean mask)."""
        rows = np.flatnonzero(rows) if np.asarray(rows).dtype == bool else np.asarray(rows, dtype=int)
        return AttributeTable(list(self.names), self.values[rows], [self.files[i] for i in rows], self.report)

    def index(self, name: str, what: str = "attribute") -> int:
        try:
            return self._index[name]
        except KeyError:
            raise SamplerError(unknown_name_message(name, self.names, what)) from None

    def column(self, name: str) -> np.ndarray:
        return self.values[:, self.index(name)]

    def is_binary(self, name: str) -> bool:
        col = self.column(name)
        vals = set(np.unique(col[np.isfinite(col)]).tolist())
        return vals <= {-1.0, 1.0} or vals <= {0.0, 1.0}

    def threshold(self, name: str) -> float:
        """Values above this are "present": 0 for binary columns, the median for numeric ones."""
        if self.is_binary(name):
            return 0.0
        col = self.column(name)
        col = col[np.isfinite(col)]
        return float(np.median(col)) if len(col) else 0.0

    def groups(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(present, absent) boolean masks over the z-points; unknown values are in neither."""
        col = self.column(name)
        known = np.isfinite(col)
        t = self.threshold(name)
        with np.errstate(invalid="ignore"):
            return known & (col > t), known & (col <= t)

    def counts(self, name: str) -> tuple[int, int, int]:
        """(present, absent, unknown) counts."""
        p, a = self.groups(name)
        return int(p.sum()), int(a.sum()), int(len(p) - p.sum() - a.sum())

    def group_names(self, name: str) -> tuple[str, str]:
        if self.is_binary(name):
            return f"{name}=1", f"{name}=-1"
        t = self.threshold(name)
        return f"{name}>{t:g}", f"{name}≤{t:g}"


def unknown_name_message(name: str, allowed: Sequence[str], what: str = "attribute") -> str:
    close = difflib.get_close_matches(name, list(allowed), n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    listed = ", ".join(allowed) if allowed else "none (the model has no labels)"
    return f"unknown {what} {name!r}{hint}; allowed: {listed}"


def _decode_text(path: Path) -> str:
    """The text of a label file: a regular file (after links) of at most
    :data:`image_data.MAX_SMALL_FILE_BYTES` (a FIFO, a device or a huge file is refused unread)."""
    from ..image_data import read_regular_file

    raw = read_regular_file(path, "label file")
    if b"\x00" in raw[:4096]:
        raise DataError(f"{path}: not a text file (a label file is CelebA's list_attr_celeba.txt or a CSV)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _lines(text: str) -> list[str]:
    """Lines split at \\n, \\r\\n and \\r only: a file name may hold U+2028, \\x85, \\v, \\f …,
    which ``str.splitlines`` would wrongly treat as line ends."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _check_names(names: list[str], path: Path) -> list[str]:
    names = [n.strip() for n in names]
    if not names:
        raise DataError(f"{path}: the header names no attributes (expected file,label1,label2,…)")
    for n in names:
        if not n:
            raise DataError(f"{path}: the header has an empty attribute name")
        if any(c in n for c in ",=<>!") or n != n.strip():
            raise DataError(f"{path}: attribute name {n!r} may not contain , = < > or !")
    seen = set()
    for n in names:
        if n in seen:
            raise DataError(f"{path}: attribute {n!r} appears twice in the header")
        seen.add(n)
    return names


def _parse_value(text: str) -> float:
    """One cell → float; '' → NaN (unknown); raises ValueError for anything else."""
    t = text.strip()
    if t == "":
        return math.nan
    low = t.lower()
    if low in _TRUE:
        return 1.0
    if low in _FALSE:
        return 0.0
    v = float(t)
    if not math.isfinite(v):
        raise ValueError
    return v


class _Matcher:
    """File name of a label row → index of the z-point (exact name, base name, then unique stem).

    Only the exact-name map is built up front; the base-name and stem maps (``os.path.basename`` and
    ``Path.stem`` of every z-point's file, ~0.1 s for 9,000 names) are built the first time a row needs
    them — never for a ``labels.csv`` written by :func:`save_labels`, whose names are the z-points' own."""

    def __init__(self, files: Sequence[str]) -> None:
        self.files = files
        self.exact: dict[str, int] = {}
        for i, f in enumerate(files):
            self.exact.setdefault(f, i)  # the first z-point of a name wins
        self._base: Optional[dict[str, int]] = None
        self._stem: Optional[dict[str, int]] = None

    @property
    def base(self) -> dict[str, int]:
        if self._base is None:
            base: dict[str, int] = {}
            for i, f in enumerate(self.files):
                base.setdefault(os.path.basename(f.replace("\\", "/")), i)
            self._base = base
        return self._base

    @property
    def stem(self) -> dict[str, int]:
        """Stem → z-point, for stems that only one z-point has."""
        if self._stem is None:
            stems: dict[str, list[int]] = {}
            for i, f in enumerate(self.files):
                stems.setdefault(Path(f).stem, []).append(i)
            self._stem = {s: v[0] for s, v in stems.items() if len(v) == 1}
        return self._stem

    def __call__(self, name: str) -> Optional[int]:
        i = self.exact.get(name)
        if i is not None:
            return i
        b = os.path.basename(name.replace("\\", "/"))
        i = self.base.get(b)
        if i is not None:
            return i
        return self.stem.get(Path(b).stem)


def read_label_file(path: str | os.PathLike, latent_files: Sequence[str]) -> AttributeTable:
    """Read CelebA's attribute file or a CSV and align it with ``latent_files`` (the model's
    ``latents_files.txt``). The returned table's ``report`` counts every row that was not used."""
    path = Path(path)
    text = _decode_text(path)
    lines = _lines(text)
    first = next((i for i, l in enumerate(lines) if l.strip()), None)
    if first is None:
        raise DataError(f"{path}: empty label file")
    n = len(latent_files)
    matcher = _Matcher(latent_files)
    labelled = np.zeros(n, dtype=bool)
    fmt, declared, names, rows = _label_rows(path, lines, first)
    rep = LabelReport(str(path), fmt, attributes=len(names), z_points=n)
    values = np.full((n, len(names)), np.nan, dtype=np.float32)
    if not (fmt == "csv" and _read_plain_csv(text, lines, first, names, matcher, values, labelled, rep)):
        _read_rows(rows, names, fmt == "celeba", matcher, values, labelled, rep)
    missing = np.flatnonzero(~labelled)
    rep.missing = len(missing)
    rep.missing_examples = [latent_files[i] for i in missing[:_EXAMPLES]]
    if declared is not None and declared != rep.rows + 0:
        rep.notes.append(f"the first line declares {declared} rows, the file holds {rep.rows}")
    _refuse_unusable(path, rep, names, latent_files)
    return AttributeTable(names, values, list(latent_files), rep)


def _label_rows(path: Path, lines: list[str], first: int):
    """The file's format (``celeba`` or ``csv``), its declared row count (CelebA), its attribute names and an
    iterator of its non-blank rows as (line number, cells)."""
    head = lines[first].strip()
    if head.isdigit():  # CelebA: count, names, rows
        fmt = "celeba"
        declared = int(head)
        hdr = next((i for i in range(first + 1, len(lines)) if lines[i].strip()), None)
        if hdr is None:
            raise DataError(f"{path}: CelebA format but no line of attribute names after the row count")
        names = _check_names(lines[hdr].split(), path)
        # cells are separated by spaces/tabs only (a name may hold other Unicode spaces)
        rows = ((i + 1, lines[i].replace("\t", " ").split(" ")) for i in range(hdr + 1, len(lines)) if lines[i].strip())
        rows = ((i, [c for c in cells if c]) for i, cells in rows)
    else:
        fmt = "csv"
        declared = None
        reader = csv.reader(line + "\n" for line in itertools.islice(lines, first, None))  # as a file's lines
        try:
            header = next(reader)
        except (StopIteration, csv.Error) as exc:
            raise DataError(f"{path}: cannot read the CSV header ({exc})") from None
        if len(header) < 2:
            raise DataError(
                f"{path}: not a label file: expected CelebA's list_attr_celeba.txt (a row count, then names) "
                f"or a CSV with a header file,label1,label2,… (got {head[:60]!r})"
            )
        names = _check_names(header[1:], path)

        def csv_rows():
            try:
                for row in reader:
                    if "".join(row).strip():  # a cell that is not all white space
                        yield first + reader.line_num, row
            except csv.Error as exc:
                raise DataError(f"{path}: line {first + reader.line_num}: broken CSV ({exc})") from None

        rows = csv_rows()
    return fmt, declared, names, rows


def _read_rows(rows, names: list[str], celeba: bool, matcher, values: np.ndarray, labelled: np.ndarray,
               rep: LabelReport) -> None:
    """Parse ``rows`` into ``values`` at their z-points (``labelled`` marks them), counting every row not used
    in ``rep``."""
    want = len(names) + 1
    # cell text → its value, for cells already parsed and accepted: a label file repeats a few cells
    # ("1", "-1", "0", "") hundreds of thousands of times. Keyed by the raw cell, so " 1" and "1" are
    # parsed separately (to the same value); a refused cell is never stored, it is reported per row.
    accepted: dict[str, float] = {}
    known = accepted.__getitem__
    rows_at: list[int] = []  # z-point of each matched row …
    rows_values: list[list[float]] = []  # … and its values (stored _ROW_BLOCK rows at a time)

    def store_rows() -> None:
        if rows_at:
            block = np.array(rows_values, dtype=np.float32).reshape(len(rows_at), len(names))
            values[rows_at] = block
            rep.blank_cells += int(np.count_nonzero(np.isnan(block)))  # blanks are the only NaN cells
            rows_at.clear()
            rows_values.clear()

    def bad(lineno: int, reason: str) -> None:
        rep.malformed += 1
        if len(rep.malformed_examples) < _EXAMPLES:
            rep.malformed_examples.append(f"line {lineno}: {reason}")

    def parse_row(cells: list[str]) -> tuple[list[float], Optional[str]]:
        """The row's values, or the first cell's problem (in column order)."""
        row = []
        for a, cell in enumerate(cells):
            v = accepted.get(cell)
            if v is None:
                try:
                    v = _parse_value(cell)
                except ValueError:
                    return row, f"{names[a]}={cell.strip()!r} is not a number"
                if celeba and v not in (-1.0, 0.0, 1.0):
                    return row, f"{names[a]}={cell.strip()!r} (CelebA values are 1 or -1)"
                if abs(v) > _FLOAT32_MAX:  # stored as float32: it would become ±inf
                    return row, f"{names[a]}={cell.strip()!r} is too large (a label value is at most ±3.4e38)"
                if len(accepted) < _MEMO_CELLS:
                    accepted[cell] = v
            row.append(v)
        return row, None

    for lineno, cells in rows:
        rep.rows += 1
        if len(cells) != want:
            bad(lineno, f"{len(cells) - 1} value(s) for {len(names)} attribute(s)")
            continue
        name = cells[0].strip()
        if not name:
            bad(lineno, "no file name")
            continue
        try:
            row = list(map(known, cells[1:]))  # every cell seen before: no parsing
        except KeyError:
            row, problem = parse_row(cells[1:])
            if problem:
                bad(lineno, problem)
                continue
        idx = matcher(name)
        if idx is None:
            rep.unmatched += 1
            if len(rep.unmatched_examples) < _EXAMPLES:
                rep.unmatched_examples.append(name)
            continue
        if labelled[idx]:
            rep.duplicates += 1
            if len(rep.duplicate_examples) < _EXAMPLES:
                rep.duplicate_examples.append(f"line {lineno}: {name}")
            continue
        labelled[idx] = True
        rows_at.append(idx)
        rows_values.append(row)
        rep.matched += 1
        if len(rows_at) >= _ROW_BLOCK:
            store_rows()
    store_rows()


def _small_int_cells(b: np.ndarray, rows: int, a: int) -> Optional[np.ndarray]:
    """(rows, a) float32 values of ``b``, the bytes of ``rows`` lines of ``a`` comma-separated cells each, every
    line ended by "\n" and every cell "", a digit or a minus and a digit (NaN for ""); None for anything else."""
    if len(b) == rows * 2 * a:  # maybe one character per cell ("1,0,…,1\n"): checked as a (rows, 2a) grid
        grid = b.reshape(rows, 2 * a)
        cells, gaps = grid[:, 0::2] - 48, grid[:, 1::2]  # uint8: a character below "0" wraps above 9
        if (gaps[:, :-1] == 44).all() and (gaps[:, -1] == 10).all() and (cells <= 9).all():
            return cells.astype(np.float32)
    seps = np.flatnonzero((b == 44) | (b == 10))  # every cell ends at a comma or its line's end
    if len(seps) != rows * a:
        return None
    ends = seps.reshape(rows, a)
    if not (b[ends[:, -1]] == 10).all():  # one "\n" per line: each line then holds exactly a - 1 commas
        return None
    starts = np.concatenate([[0], seps[:-1] + 1]).reshape(ends.shape)
    width = ends - starts
    if width.max(initial=0) > 2:
        return None
    last = b[np.maximum(ends - 1, 0)]  # the digit of a one- or two-character cell
    if not (((last >= 48) & (last <= 57))[width > 0].all() and (b[starts] == 45)[width == 2].all()):
        return None
    vals = (last.astype(np.float32) - 48.0) * np.where(width == 2, np.float32(-1), np.float32(1))
    vals[width == 0] = np.nan
    return vals


def _plain_csv_cells(lines: list[str], first: int, want: int):
    """(line indices, stripped names, (rows, cells) values) of a CSV whose every data line is a file name then
    ``want - 1`` cells of "", a digit or a minus and a digit; None for any other file (quotes, NUL, other cells,
    a wrong cell count, a line without a name). Read in blocks of lines (bounded temporaries)."""
    at = [i for i in range(first + 1, len(lines)) if lines[i].strip()]
    if not at:
        return None
    names: list[str] = []
    vals = np.empty((len(at), want - 1), dtype=np.float32)
    for k in range(0, len(at), _LINE_BLOCK):
        parts = [lines[i].partition(",") for i in at[k : k + _LINE_BLOCK]]
        block = [p[0].strip() for p in parts]
        if not all(block):
            return None
        names += block
        try:
            body = ("\n".join([p[2] for p in parts]) + "\n").encode("ascii")
        except UnicodeEncodeError:
            return None
        got = _small_int_cells(np.frombuffer(body, dtype=np.uint8), len(parts), want - 1)
        if got is None:
            return None
        vals[k : k + len(parts)] = got
    return np.asarray(at), names, vals


def _read_plain_csv(text: str, lines: list[str], first: int, names: list[str], matcher, values: np.ndarray,
                    labelled: np.ndarray, rep: LabelReport) -> bool:
    """The vectorised reading of a plain CSV of small integer labels (what :func:`save_labels` writes for binary
    attributes): the same table and report as :func:`_read_rows`, a tenth of the time at 200,000 rows. False, with
    nothing changed, for any other file (:func:`_read_rows` reads it and reports its problems)."""
    if '"' in text or "\x00" in text:  # quoted cells or a NUL: the csv module's rules
        return False
    got = _plain_csv_cells(lines, first, len(names) + 1)
    if got is None:
        return False
    at, row_names, vals = got
    exact = matcher.exact
    idx = np.fromiter((exact.get(nm, -1) for nm in row_names), dtype=np.int64, count=len(row_names))
    for k in np.flatnonzero(idx < 0):  # base name or stem
        i = matcher(row_names[k])
        idx[k] = -1 if i is None else i
    rep.rows = len(at)
    miss = np.flatnonzero(idx < 0)
    rep.unmatched = len(miss)
    rep.unmatched_examples = [row_names[k] for k in miss[:_EXAMPLES]]
    hit = np.flatnonzero(idx >= 0)
    _, first_of = np.unique(idx[hit], return_index=True)  # the first row per z-point is used
    used = hit[np.sort(first_of)]
    dup = np.setdiff1d(hit, used, assume_unique=True)
    rep.duplicates = len(dup)
    rep.duplicate_examples = [f"line {at[k] + 1}: {row_names[k]}" for k in dup[:_EXAMPLES]]
    if len(used) < len(vals):
        vals = vals[used]
    values[idx[used]] = vals
    labelled[idx[used]] = True
    rep.matched = len(used)
    rep.blank_cells = int(np.count_nonzero(np.isnan(vals)))
    return True


def _refuse_unusable(path: Path, rep: LabelReport, names: list[str], latent_files: Sequence[str]) -> None:
    """A file none of whose rows could be used is an error, naming why."""
    n = len(latent_files)
    if rep.matched == 0 and rep.rows == 0:
        raise DataError(f"{path}: no label rows after the header")
    if rep.matched == 0 and rep.malformed == rep.rows:
        raise DataError(
            f"{path}: every one of its {rep.rows} row(s) is malformed "
            f"(first: {rep.malformed_examples[0]}; expected {len(names)} value(s) per row: {', '.join(names[:5])}"
            f"{', …' if len(names) > 5 else ''})"
        )
    if rep.matched == 0:
        also = (f"; {rep.malformed} other row(s) are malformed (first: {rep.malformed_examples[0]})"
                if rep.malformed else "")
        raise DataError(
            f"{path}: none of its {rep.rows} row(s) match the model's z-points{also} "
            f"(e.g. label row {rep.unmatched_examples[0] if rep.unmatched_examples else '—'!s} vs z-point "
            f"{latent_files[0] if n else '—'}); labels are matched to latents_files.txt by file name"
        )


def _format_value(v: float, binary: bool) -> str:
    if not math.isfinite(v):
        return ""
    if binary:
        return "1" if v > 0 else "0"
    return format(float(v), ".9g")


def labels_csv_text(table: AttributeTable) -> str:
    """``file,<names>`` then one row per labelled z-point (binary columns as 1/0)."""
    binary = [table.is_binary(n) for n in table.names]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["file", *table.names])
    for f, row in zip(table.files, table.values):
        if not np.isfinite(row).any():
            continue
        w.writerow([f, *(_format_value(v, b) for v, b in zip(row.tolist(), binary))])
    return buf.getvalue()


def save_labels(model_dir: str | os.PathLike, table: AttributeTable) -> Path:
    path = Path(model_dir) / LABELS
    atomic_io.write_text(path, labels_csv_text(table))
    return path


def _latent_files(model_dir: Path) -> list[str]:
    from ..formats import native as model_store

    from ..formats import config_format, open_model

    if config_format(model_dir) == model_store.FORMAT_NAME:  # the config alone says z_dim: no weights read
        z_dim = model_store.read_config(model_dir).arch.z_dim
    else:
        z_dim = open_model(model_dir).z_dim  # another format's codec reads its own card
    _, files = model_store.load_latents(model_dir, z_dim)
    return files


def import_labels(model_dir: str | os.PathLike, label_file: str | os.PathLike, latent_files: Optional[Sequence[str]] = None) -> AttributeTable:
    """Read ``label_file``, match it to the model's z-points and store ``labels.csv`` beside the model.

    Returns the table; ``table.report`` says what was matched and what was not."""
    from ..model_lock import model_writer

    model_dir = Path(model_dir)
    with model_writer(model_dir, "import labels"):  # one writer per model folder
        files = list(latent_files) if latent_files is not None else _latent_files(model_dir)
        table = read_label_file(label_file, files)
        save_labels(model_dir, table)
    return table


def has_labels(model_dir: str | os.PathLike) -> bool:
    return (Path(model_dir) / LABELS).is_file()


def load_labels(model_dir: str | os.PathLike, latent_files: Optional[Sequence[str]] = None) -> Optional[AttributeTable]:
    """The model's ``labels.csv`` aligned with its z-points, or ``None`` when it has none."""
    model_dir = Path(model_dir)
    path = model_dir / LABELS
    if not path.is_file():
        return None
    files = list(latent_files) if latent_files is not None else _latent_files(model_dir)
    return read_label_file(path, files)


def require_labels(model_dir: str | os.PathLike, latent_files: Optional[Sequence[str]] = None) -> AttributeTable:
    table = load_labels(model_dir, latent_files)
    if table is None:
        raise DataError(
            f"{Path(model_dir)}: the model has no {LABELS}; attach a label file to it first (CelebA's "
            "list_attr_celeba.txt or a CSV file,label1,…), e.g. with the command "
            f"`attributes {{opt:model}} {model_dir} {{opt:import}} LABEL_FILE`"
        )
    return table
