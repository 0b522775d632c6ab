"""Face attributes in the latent space: per-image labels, how they separate, directions, subsets.

CelebA labels every image with 40 binary attributes (Smiling, Male, Eyeglasses, …). This module
attaches such labels to a model's z-points and answers "is there a direction for smiling?".

Labels
------
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

Separation (:func:`analyse_attribute`, :func:`rank_attributes`)
----------------------------------------------------------------
* ``d_z[j]`` / ``d_pca[k]``: difference of the group means in units of the pooled σ
  (Cohen's d), per original component and per PCA axis of the whole cloud.
* ``best_axes``: the two axes (both original components or both PCA axes, whichever pair separates
  more) to show the attribute in the pair plot, as ``latent_stats.Axis`` tuples ``("z", i)`` /
  ``("pca", i)``.
* ``separation``: d along the difference-of-means direction, *cross-fitted* (the direction from
  one half of the points, d measured on the other half, averaged both ways) so that rare attributes
  are not flattered by fitting noise. The ranking uses it when the probe is skipped.
* ``probe_accuracy``: the cross-validated *balanced* accuracy (chance 0.5) of a scikit-learn
  logistic-regression probe (on the cloud's whitened coordinates, L2, class-balanced);
  ``mean_accuracy`` is the same score for the
  plain difference-of-means direction with a midpoint threshold, for comparison. The ranking sorts
  by ``probe_accuracy``.
* ``normality``: per group, the same check as for the whole cloud — squared Mahalanobis distances
  to the group's own mean/covariance compared with the χ² distribution (fraction inside the level-σ
  quantile vs the expected probability). A group needs many more points than dimensions for the
  sample covariance to be trusted, so a group of n points is checked in the whole cloud's leading
  ``min(d, n // 10)`` PCA dimensions (``dims`` says how many).

Directions and editing
----------------------
:func:`attribute_direction` gives an :class:`AttributeDirection` by ``method="mean"`` (difference of
class means) or ``method="probe"`` (a class-balanced logistic regression on *standardised* z, its
weights mapped back to z units). Amounts are in one common unit for both: amount 1 moves a z-vector by
the gap between the two class means measured along the direction, i.e. from the "absent" mean to the
"present" mean for the mean method (``z + amount · step · unit``). :func:`edit_latents` applies a
list of amounts.

Which edits better, measured on the default model (``benchmarks/attribute_editing.py``, output in
``docs/attributes_editing.txt``: directions from one half of the z-points, judges — a latent probe
after decode/re-encode and a pixel-space logistic regression on decoded faces — from the other half,
200 faces per attribute and direction): moved the same distance in z (the mean direction's amount 1),
the probe direction flips about as many faces (pixel judge, add/remove averaged: Smiling 0.82 vs 0.81,
Male 0.85 vs 0.82, Young 0.67 vs 0.66, Blond_Hair 0.88 vs 0.81, Eyeglasses 0.76 vs 0.80, Bangs 0.62 vs
0.82) while changing the picture 2–3× less (mean |Δpixel| 3.7 vs 5.8, 3.6 vs 9.1, 2.8 vs 7.5, 9.4 vs
29.0, 5.0 vs 10.4, 5.5 vs 9.6) with about the same off-target drift (other attributes' judged labels
flipping: 0.07 vs 0.06, 0.18 vs 0.18, 0.09 vs 0.10; Blond_Hair 0.21 vs 0.12 is the exception). So the
probe direction is the better editor — the same effect for less collateral change — and is
``DEFAULT_EDIT_METHOD``; per unit of *amount* the mean direction is stronger (its step is longer), so
it stays available for bold edits. The ranking's probe on whitened z (≈ the LDA direction Σ⁻¹Δμ)
classifies as well but edits poorly (0.17–0.35 flips at the same distance): it leans on low-variance
directions that the decoder hardly renders, which is why the editing probe is fitted on standardised z.

Conditional subsets (samplers)
------------------------------
``--where Smiling=1,Male=-1`` → :func:`parse_where` → :class:`Condition` list → :func:`subset_mask`
/ :func:`conditional_latents`, which fits no sampler itself but returns the matching z-points, and
refuses unknown names (listing the allowed ones) and subsets too small for the sampler.

For the GUI (no Qt here; all functions are plain and may run in a worker thread)
--------------------------------------------------------------------------------
* ``table = load_labels(model_dir, files)`` (``None`` when the model has no ``labels.csv``);
  ``table.names``, ``table.groups(name) -> (present_mask, absent_mask)``, ``table.counts(name)``.
* colour by attribute: ``present, absent = table.groups(name)``; project with
  ``latent_stats.project(z, stats, axes)`` and split the (N, 2) points by the masks;
  ``group_moments(xy, mask)`` gives each group's 2-D mean/cov for ``latent_stats.confidence_ellipse``.
* Attributes panel: ``rank_attributes(z, table, pca=stats.pca, probe=True, progress=…, cancel=…)``
  (≈ 1–2 s of CPU per attribute with the probe on 9,000×256; ``probe=False`` is instant) → list of
  :class:`AttributeSummary` sorted by probe accuracy (by ``separation`` without the probe); each has
  ``best_axes`` for the pair plot.
* inspector slider: ``direction = attribute_direction(z, table, name)``; the slider value is the
  amount: ``edit_latents(z_face, direction, [amount])[0, 0]`` (or ``direction.apply(z, amount)``).
* "condition on" picker: ``conditions = [Condition(name, "=", 1.0), …]`` (or ``parse_where(text)``),
  ``z_fit = conditional_latents(z, table, conditions, sampler_name)`` then ``sampler.fit(z_fit)``;
  ``describe_where(conditions)`` is the text to store with the image set (``params["where"]``).
"""
from __future__ import annotations

import csv
import difflib
import io
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional, Sequence

import numpy as np

from . import atomic_io
from .errors import DataError, SamplerError
from .progress import CancelToken, Progress, ProgressCallback, no_progress

LABELS = "labels.csv"
#: the direction method the CLI and GUI use unless told otherwise (measured: see module docstring)
DEFAULT_EDIT_METHOD = "probe"
EDIT_METHODS = ("mean", "probe")
_EXAMPLES = 5  # examples kept per kind of problem
_TRUE = {"true", "yes", "y", "t", "present"}
_FALSE = {"false", "no", "n", "f", "absent"}


# =============================================================================================
# reading labels


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
    from .image_data import read_regular_file

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
    """File name of a label row → index of the z-point (exact name, base name, then unique stem)."""

    def __init__(self, files: Sequence[str]) -> None:
        self.exact: dict[str, int] = {}
        self.base: dict[str, int] = {}
        stems: dict[str, list[int]] = {}
        for i, f in enumerate(files):
            self.exact.setdefault(f, i)
            self.base.setdefault(os.path.basename(f.replace("\\", "/")), i)
            stems.setdefault(Path(f).stem, []).append(i)
        self.stem = {s: v[0] for s, v in stems.items() if len(v) == 1}

    def __call__(self, name: str) -> Optional[int]:
        if name in self.exact:
            return self.exact[name]
        b = os.path.basename(name.replace("\\", "/"))
        if b in self.base:
            return self.base[b]
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
    head = lines[first].strip()
    n = len(latent_files)
    values = np.full((n, 0), np.nan, dtype=np.float32)
    matcher = _Matcher(latent_files)
    labelled = np.zeros(n, dtype=bool)

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
        reader = csv.reader(io.StringIO("\n".join(lines[first:])))
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
                    if any(c.strip() for c in row):
                        yield first + reader.line_num, row
            except csv.Error as exc:
                raise DataError(f"{path}: line {first + reader.line_num}: broken CSV ({exc})") from None

        rows = csv_rows()

    rep = LabelReport(str(path), fmt, attributes=len(names), z_points=n)
    values = np.full((n, len(names)), np.nan, dtype=np.float32)
    want = len(names) + 1
    for lineno, cells in rows:
        rep.rows += 1

        def bad(reason: str) -> None:
            rep.malformed += 1
            if len(rep.malformed_examples) < _EXAMPLES:
                rep.malformed_examples.append(f"line {lineno}: {reason}")

        if len(cells) != want:
            bad(f"{len(cells) - 1} value(s) for {len(names)} attribute(s)")
            continue
        name = cells[0].strip()
        if not name:
            bad("no file name")
            continue
        row = np.empty(len(names), dtype=np.float32)
        problem = None
        blanks = 0
        for a, cell in enumerate(cells[1:]):
            try:
                v = _parse_value(cell)
            except ValueError:
                problem = f"{names[a]}={cell.strip()!r} is not a number"
                break
            if fmt == "celeba" and v not in (-1.0, 0.0, 1.0):
                problem = f"{names[a]}={cell.strip()!r} (CelebA values are 1 or -1)"
                break
            if math.isnan(v):
                blanks += 1
            row[a] = v
        if problem:
            bad(problem)
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
        values[idx] = row
        rep.matched += 1
        rep.blank_cells += blanks
    missing = np.flatnonzero(~labelled)
    rep.missing = len(missing)
    rep.missing_examples = [latent_files[i] for i in missing[:_EXAMPLES]]
    if declared is not None and declared != rep.rows + 0:
        rep.notes.append(f"the first line declares {declared} rows, the file holds {rep.rows}")
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
    return AttributeTable(names, values, list(latent_files), rep)


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
    from . import model_store

    config = model_store.read_config(model_dir)
    _, files = model_store.load_latents(model_dir, config.arch.z_dim)
    return files


def import_labels(model_dir: str | os.PathLike, label_file: str | os.PathLike, latent_files: Optional[Sequence[str]] = None) -> AttributeTable:
    """Read ``label_file``, match it to the model's z-points and store ``labels.csv`` beside the model.

    Returns the table; ``table.report`` says what was matched and what was not."""
    from .model_lock import model_writer

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
            f"{Path(model_dir)}: the model has no {LABELS}; attach labels with "
            f"`python main.py attributes --model {model_dir} --import LABEL_FILE` "
            "(CelebA's list_attr_celeba.txt or a CSV file,label1,…)"
        )
    return table


# =============================================================================================
# conditions (--where) and subsets


@dataclass(frozen=True)
class Condition:
    """``name op value``; for a binary attribute ``=1`` means present and ``=-1``/``=0`` absent."""

    name: str
    op: str = "="  # "=", "!=", ">", "<", ">=", "<="
    value: float = 1.0

    def text(self) -> str:
        v = f"{self.value:g}"
        return f"{self.name}{self.op}{v}"


_OPS = ("!=", ">=", "<=", "=", ">", "<")


def parse_where(text: str | Sequence[str] | None) -> list[Condition]:
    """``"Smiling=1,Male=-1"`` → conditions. A bare name means present (``Smiling`` = ``Smiling=1``);
    values may be numbers or yes/no/true/false.

    ``None`` means "no condition"; any given text must hold at least one condition, and each part
    is checked: an empty part (``","``, ``"A=1,,B=1"``), a missing name (``"=1"``) or value
    (``"Smiling="``), a value that is not a number, and the same condition twice or two ``=``
    conditions on one attribute (``"A=1,A=-1"``: nothing can match) are each refused with a
    :class:`SamplerError` of one line naming the part. Values are checked against the labels by :func:`condition_mask`."""
    if text is None:
        return []
    chunks = [text] if isinstance(text, str) else list(text)
    whole = ",".join(str(c) for c in chunks)
    parts: list[str] = []
    for chunk in chunks:
        parts.extend(p.strip() for p in str(chunk).split(","))
    if not any(parts):
        raise SamplerError(f"--where {whole!r}: no condition given (expected e.g. Smiling=1,Male=-1)")
    out: list[Condition] = []
    for k, p in enumerate(parts):
        if not p:
            raise SamplerError(f"--where {whole!r}: condition {k + 1} is empty (a stray comma?); expected e.g. Smiling=1,Male=-1")
        for op in _OPS:
            if op in p:
                name, val = p.split(op, 1)
                name, val = name.strip(), val.strip()
                if not name:
                    raise SamplerError(f"--where {p!r}: no attribute name before {op!r} (expected e.g. Smiling=1,Male=-1)")
                if not val:
                    raise SamplerError(f"--where {p!r}: no value after {op!r} (expected e.g. {name}=1 or {name}=-1)")
                if any(c in name for c in "=<>!"):
                    raise SamplerError(f"--where {p!r}: {name!r} is not an attribute name (expected e.g. Smiling=1,Male=-1)")
                try:
                    v = _parse_value(val)
                    if math.isnan(v):
                        raise ValueError
                except ValueError:
                    raise SamplerError(f"--where {p!r}: {val!r} is not a number or yes/no (expected e.g. Smiling=1,Male=-1)") from None
                out.append(Condition(name, op, v))
                break
        else:
            out.append(Condition(p, "=", 1.0))
    seen: dict[str, Condition] = {}
    for c in out:
        before = seen.get(c.name)
        if before is not None and (before == c or "=" in (before.op, c.op)):
            what = "is given twice" if before == c else "has two conditions and one of them is '='"
            raise SamplerError(f"--where {whole!r}: {c.name} {what} ({before.text()}, {c.text()}); "
                               f"give each attribute once (ranges like Age>=20,Age<40 are fine)")
        seen[c.name] = c
    return out


def describe_where(conditions: Sequence[Condition]) -> str:
    return ",".join(c.text() for c in conditions)


#: values a binary attribute accepts in ``=`` / ``!=`` conditions (1 present; 0 or -1 absent)
BINARY_VALUES = (1.0, 0.0, -1.0)


def condition_mask(table: AttributeTable, c: Condition) -> np.ndarray:
    col = table.column(c.name)  # raises for unknown names, listing the allowed ones
    known = np.isfinite(col)
    if table.is_binary(c.name) and c.op in ("=", "!="):
        if c.value not in BINARY_VALUES:
            raise SamplerError(
                f"--where {c.text()}: {c.name} is a yes/no attribute; allowed values are 1 (present) "
                f"and -1 or 0 (absent), also yes/no"
            )
        want_present = c.value > 0
        present, absent = table.groups(c.name)
        m = present if want_present else absent
        if c.op == "!=":
            m = absent if want_present else present
        return m
    with np.errstate(invalid="ignore"):
        m = {
            "=": col == c.value, "!=": col != c.value, ">": col > c.value,
            "<": col < c.value, ">=": col >= c.value, "<=": col <= c.value,
        }[c.op]
    return m & known


def subset_mask(table: AttributeTable, conditions: Sequence[Condition]) -> np.ndarray:
    """z-points meeting every condition (unlabelled ones never do)."""
    mask = np.ones(len(table), dtype=bool)
    for c in conditions:
        mask &= condition_mask(table, c)
    return mask


#: samplers that estimate a covariance or PCA need more points than dimensions
_COVARIANCE_SAMPLERS = {"normal", "pca-ellipse", "gmm"}
MIN_SUBSET = 10


def min_points_for(sampler: str, z_dim: int) -> int:
    """The fewest z-points a conditional fit of ``sampler`` accepts (a class attribute
    ``min_points(z_dim)`` on the sampler overrides this rule)."""
    try:
        from .samplers import SAMPLERS

        cls = SAMPLERS.get(sampler)
        rule = getattr(cls, "min_points", None)
        if callable(rule):
            return max(2, int(rule(z_dim)))
    except Exception:  # noqa: BLE001 - fall back to the rule below
        pass
    return max(MIN_SUBSET, z_dim + 1) if sampler in _COVARIANCE_SAMPLERS else MIN_SUBSET


def conditional_latents(
    z: np.ndarray, table: AttributeTable, conditions: Sequence[Condition] | str, sampler: str = "normal",
    min_points: Optional[int] = None,
) -> np.ndarray:
    """The z-points meeting ``conditions``, checked to be enough for fitting ``sampler``."""
    if isinstance(conditions, str):
        conditions = parse_where(conditions)
    if len(table) != len(z):
        raise DataError(f"labels for {len(table)} z-points do not match the model's {len(z)} z-points")
    mask = subset_mask(table, conditions)
    need = min_points if min_points is not None else min_points_for(sampler, z.shape[1])
    got = int(mask.sum())
    if got < need:
        parts = []
        for c in conditions:
            parts.append(f"{c.text()}: {int(condition_mask(table, c).sum())}")
        raise SamplerError(
            f"--where {describe_where(conditions)}: only {got} of {len(z)} z-points match "
            f"({'; '.join(parts)}); the {sampler} sampler needs at least {need}"
        )
    return np.asarray(z)[mask]


# =============================================================================================
# separation, probes, directions


def pca_coordinates(z: np.ndarray, pca=None):
    """PCA coordinates of ``z`` with ``pca`` (latent_stats.PCAResult or an sklearn PCA) or, by default,
    latent_stats' own PCA of the cloud (the same axes, order and signs as the app's PCA views)."""
    if pca is None:
        from .latent_stats import pca_of

        pca = pca_of(z)
    return pca, np.asarray(pca.transform(z), dtype=np.float64)


def cohens_d(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(mean(a) − mean(b)) / pooled σ, per column."""
    na, nb = len(a), len(b)
    va = a.var(axis=0, ddof=1) if na > 1 else np.zeros(a.shape[1])
    vb = b.var(axis=0, ddof=1) if nb > 1 else np.zeros(b.shape[1])
    pooled = np.sqrt(((na - 1) * va + (nb - 1) * vb) / max(1, na + nb - 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        d = (a.mean(axis=0) - b.mean(axis=0)) / pooled
    return np.nan_to_num(d, nan=0.0, posinf=0.0, neginf=0.0)


def _balanced_accuracy(score: np.ndarray, y: np.ndarray) -> float:
    pred = score > 0
    tpr = pred[y].mean() if y.any() else 0.5
    tnr = (~pred[~y]).mean() if (~y).any() else 0.5
    return float((tpr + tnr) / 2)


def cross_fitted_separation(z: np.ndarray, y: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """(d along the difference-of-means direction, balanced accuracy of a midpoint threshold on it),
    each measured on the half of the points the direction was *not* computed from, averaged."""
    rng = np.random.default_rng(seed)
    idx = np.arange(len(z))
    folds = np.zeros(len(z), dtype=int)
    for cls in (True, False):  # stratified halves
        members = idx[y == cls]
        rng.shuffle(members)
        folds[members[: len(members) // 2]] = 1
    ds, accs = [], []
    for f in (0, 1):
        tr, te = folds != f, folds == f
        if min(y[tr].sum(), (~y[tr]).sum(), y[te].sum(), (~y[te]).sum()) < 2:
            continue
        mp, mn = z[tr & y].mean(axis=0), z[tr & ~y].mean(axis=0)
        v = mp - mn
        norm = np.linalg.norm(v)
        if norm == 0:
            continue
        u = v / norm
        p = z[te] @ u
        yt = y[te]
        ds.append(float(cohens_d(p[yt, None], p[~yt, None])[0]))
        accs.append(_balanced_accuracy(p - (mp + mn) @ u / 2, yt))
    if not ds:
        return 0.0, 0.5
    return float(np.mean(ds)), float(np.mean(accs))


class Whitener:
    """z → the cloud's whitened coordinates ((z − mean) @ W, identity covariance), by latent_stats'
    ``whitening``. The probes work there: logistic regression on whitened inputs converges in
    ~10 iterations instead of ~70 on merely standardised ones, at the same accuracy."""

    def __init__(self, z: np.ndarray) -> None:
        from .latent_stats import whitening

        z = np.asarray(z, dtype=np.float64)
        self.mean = z.mean(axis=0)
        self.W, _ = whitening(np.cov(z, rowvar=False).reshape(z.shape[1], z.shape[1]))

    def transform(self, z: np.ndarray) -> np.ndarray:
        return (np.asarray(z, dtype=np.float64) - self.mean) @ self.W


def _logistic(C: float = 0.05, balanced: bool = True, max_iter: int = 500):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, class_weight="balanced" if balanced else None, max_iter=max_iter)


class LinearProbe:
    """A scikit-learn logistic regression on whitened z, expressed back in z units:
    decision(z) = z·weights + bias (> 0: the attribute is present)."""

    def __init__(self, C: float = 0.05, balanced: bool = True, whitener: Optional[Whitener] = None) -> None:
        self.C, self.balanced, self.whitener = C, balanced, whitener

    def fit(self, z: np.ndarray, y: np.ndarray) -> "LinearProbe":
        import warnings

        from sklearn.exceptions import ConvergenceWarning

        wh = self.whitener or Whitener(z)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            lr = _logistic(self.C, self.balanced).fit(wh.transform(z), np.asarray(y, dtype=bool))
        self.weights = wh.W @ lr.coef_[0]
        self.bias = float(lr.intercept_[0] - wh.mean @ self.weights)
        return self

    def decision_function(self, z: np.ndarray) -> np.ndarray:
        return np.asarray(z, dtype=np.float64) @ self.weights + self.bias

    def predict_proba(self, z: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.decision_function(z)))


@dataclass
class ProbeResult:
    accuracy: float  # cross-validated balanced accuracy (chance 0.5)
    accuracy_std: float
    plain_accuracy: float  # cross-validated plain accuracy
    majority_rate: float  # plain accuracy of always answering the larger group
    weights: np.ndarray  # (d,) decision function w·z + b in z units (fit on all points)
    bias: float


def fit_probe(z: np.ndarray, y: np.ndarray, *, cv: int = 5, seed: int = 0, C: float = 0.05,
              whitener: Optional[Whitener] = None) -> ProbeResult:
    """A class-balanced logistic-regression probe for ``y`` (bool) on z, with its ``cv``-fold
    cross-validated accuracy. ``whitener`` (unsupervised, from the whole cloud) may be shared."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import StratifiedKFold, cross_validate

    y = np.asarray(y, dtype=bool)
    n_min = int(min(y.sum(), (~y).sum()))
    if n_min < 2:
        raise SamplerError(f"a probe needs at least 2 z-points in each group, got {int(y.sum())} and {int((~y).sum())}")
    folds = max(2, min(cv, n_min))
    wh = whitener or Whitener(z)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = cross_validate(
            _logistic(C), wh.transform(z), y, cv=StratifiedKFold(folds, shuffle=True, random_state=seed),
            scoring=("balanced_accuracy", "accuracy"),
        )
    probe = LinearProbe(C, True, wh).fit(z, y)
    return ProbeResult(
        float(res["test_balanced_accuracy"].mean()), float(res["test_balanced_accuracy"].std()),
        float(res["test_accuracy"].mean()), float(max(y.mean(), 1 - y.mean())), probe.weights, probe.bias,
    )


@dataclass
class GroupNormality:
    """Squared Mahalanobis distances of one group vs χ²(dims): the whole cloud's normality check."""

    label: str
    n: int
    dims: int  # dimensions checked (the whole cloud's leading PCA axes when the group is small)
    levels: np.ndarray
    observed: np.ndarray  # fraction with d_M² ≤ the χ²(dims) quantile of a level-σ interval
    expected: np.ndarray  # that probability: P(|N(0,1)| ≤ level)
    mahalanobis_sq: np.ndarray

    @property
    def max_gap(self) -> float:
        """Largest |observed − expected| over the levels (0 = a perfect Gaussian)."""
        return float(np.max(np.abs(self.observed - self.expected))) if len(self.levels) else 0.0


def group_normality(coords: np.ndarray, label: str = "", levels: Optional[Sequence[float]] = None,
                    points_per_dim: int = 10) -> GroupNormality:
    """Normality check of the points ``coords`` (N×d, e.g. PCA coordinates sorted by variance) with
    latent_stats' method for the whole cloud: squared Mahalanobis distances to their own mean and
    covariance against χ². Uses the leading ``min(d, N // points_per_dim)`` columns so the covariance
    estimate is sound."""
    from .latent_stats import NORMALITY_LEVELS, chi2_threshold, level_probability, whitening

    coords = np.asarray(coords, dtype=np.float64)
    n, d = coords.shape
    k = int(max(1, min(d, n // points_per_dim)))
    x = coords[:, :k]
    lv = np.asarray(NORMALITY_LEVELS if levels is None else levels, dtype=float)
    expected = np.asarray(level_probability(lv), dtype=float)
    if n < 3:
        return GroupNormality(label, n, k, lv, np.full_like(lv, np.nan), expected, np.zeros(n))
    c = x - x.mean(axis=0)
    W, _ = whitening(np.cov(c, rowvar=False).reshape(k, k))
    y = c @ W
    m2 = np.einsum("ij,ij->i", y, y)
    q = np.asarray(chi2_threshold(lv, k), dtype=float)
    observed = (m2[:, None] <= q[None, :]).mean(axis=0)
    return GroupNormality(label, n, k, lv, observed, expected, m2)


def group_moments(xy: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (2,) and covariance (2, 2) of the projected points of one group (for its ellipse)."""
    pts = np.asarray(xy, dtype=np.float64)[np.asarray(mask, dtype=bool)]
    if len(pts) < 2:
        return (pts.mean(axis=0) if len(pts) else np.zeros(2)), np.eye(2) * 1e-12
    return pts.mean(axis=0), np.cov(pts, rowvar=False)


@dataclass
class AttributeSummary:
    """One row of the attribute ranking."""

    name: str
    n_present: int
    n_absent: int
    separation: float  # cross-fitted d along the difference-of-means direction
    mean_accuracy: float  # cross-fitted balanced accuracy of that direction (midpoint threshold)
    best_axes: tuple  # ((family, i), (family, j)) for the pair plot
    best_axis_d: tuple[float, float]  # d on those two axes
    max_d_z: float  # largest |d| of one original component
    max_d_pca: float  # largest |d| of one PCA axis
    probe_accuracy: Optional[float] = None  # cross-validated balanced accuracy (chance 0.5)
    probe_accuracy_std: Optional[float] = None

    @property
    def rate(self) -> float:
        n = self.n_present + self.n_absent
        return self.n_present / n if n else float("nan")


@dataclass
class AttributeAnalysis(AttributeSummary):
    d_z: np.ndarray = None  # (d,) d per original component
    d_pca: np.ndarray = None  # (d,) d per PCA axis
    mean_direction: "AttributeDirection" = None
    probe_direction: Optional["AttributeDirection"] = None
    probe: Optional[ProbeResult] = None
    normality: tuple = ()  # (GroupNormality present, GroupNormality absent)

    def summary_row(self) -> AttributeSummary:
        return AttributeSummary(**{k: getattr(self, k) for k in AttributeSummary.__dataclass_fields__})


@dataclass
class AttributeDirection:
    """A direction in z-space; ``apply(z, a)`` moves by ``a`` class-mean gaps along it."""

    name: str
    method: str  # "mean" or "probe"
    unit: np.ndarray  # (d,) unit vector, pointing from "absent" to "present"
    step: float  # the class-mean gap along ``unit`` (z units): the length of amount 1
    n_present: int = 0
    n_absent: int = 0

    @property
    def vector(self) -> np.ndarray:
        return self.unit * self.step

    def apply(self, z: np.ndarray, amount: float) -> np.ndarray:
        return (np.asarray(z, dtype=np.float32) + np.float32(amount) * self.vector.astype(np.float32)).astype(np.float32)

    def to_json(self) -> dict:
        return {"attribute": self.name, "method": self.method, "step": float(self.step),
                "n_present": self.n_present, "n_absent": self.n_absent}


def _labels_for(z: np.ndarray, table: AttributeTable, name: str) -> tuple[np.ndarray, np.ndarray]:
    if len(table) != len(z):
        raise DataError(f"labels for {len(table)} z-points do not match the model's {len(z)} z-points")
    present, absent = table.groups(name)
    if present.sum() < 2 or absent.sum() < 2:
        raise SamplerError(
            f"attribute {name}: needs at least 2 labelled z-points with and 2 without it, "
            f"got {int(present.sum())} and {int(absent.sum())}"
        )
    return present, absent


def _direction_from(z, present, absent, name, method, unit) -> AttributeDirection:
    unit = np.asarray(unit, dtype=np.float64)
    unit = unit / (np.linalg.norm(unit) or 1.0)
    gap = float((z[present].mean(axis=0) - z[absent].mean(axis=0)) @ unit)
    if gap < 0:  # keep "positive amount = more of the attribute"
        unit, gap = -unit, -gap
    return AttributeDirection(name, method, unit, gap, int(present.sum()), int(absent.sum()))


def standardised_probe_weights(z: np.ndarray, y: np.ndarray, C: float = 0.05) -> np.ndarray:
    """Weights (in z units) of a class-balanced logistic regression on *standardised* z — the probe
    used as an editing direction. (The whitened probe of :func:`fit_probe` classifies as well but
    leans on low-variance directions that the decoder hardly renders, so it edits poorly; measured in
    benchmarks/attribute_editing.py.)"""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(z)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        lr = _logistic(C, True).fit(scaler.transform(z), np.asarray(y, dtype=bool))
    return lr.coef_[0] / scaler.scale_


def attribute_direction(z: np.ndarray, table: AttributeTable, name: str, method: str = DEFAULT_EDIT_METHOD,
                        *, C: float = 0.05) -> AttributeDirection:
    """The editing direction of attribute ``name`` ("mean": difference of class means; "probe": the
    weights of a logistic probe on standardised z, see :func:`standardised_probe_weights`)."""
    if method not in EDIT_METHODS:
        raise SamplerError(f"unknown direction method {method!r}; allowed: {', '.join(EDIT_METHODS)}")
    z = np.asarray(z, dtype=np.float64)
    present, absent = _labels_for(z, table, name)
    if method == "mean":
        unit = z[present].mean(axis=0) - z[absent].mean(axis=0)
    else:
        keep = present | absent
        unit = standardised_probe_weights(z[keep], present[keep], C)
    return _direction_from(z, present, absent, name, method, unit)


def edit_latents(z: np.ndarray, direction: AttributeDirection, amounts: Sequence[float]) -> np.ndarray:
    """z (d,) or (N, d) → (N, K, d): each z moved by each amount (in class-mean gaps) along ``direction``."""
    z = np.atleast_2d(np.asarray(z, dtype=np.float32))
    a = np.asarray(list(amounts), dtype=np.float32)
    return z[:, None, :] + a[None, :, None] * direction.vector.astype(np.float32)[None, None, :]


def _best_pair(d: np.ndarray) -> tuple[int, int]:
    order = np.argsort(-np.abs(d), kind="stable")
    return int(order[0]), int(order[1] if len(order) > 1 else order[0])


def analyse_attribute(
    z: np.ndarray, table: AttributeTable, name: str, *, pca=None, coords: Optional[np.ndarray] = None,
    probe: bool = True, cv: int = 5, seed: int = 0, normality: bool = True, whitener: Optional[Whitener] = None,
    directions: bool = True,
) -> AttributeAnalysis:
    """Everything about one attribute: d per component and PCA axis, best axes, cross-fitted
    separation, both directions, the probe's cross-validated accuracy and per-group normality.
    ``pca`` (latent_stats' PCAResult or an sklearn PCA) and its ``coords`` = pca.transform(z) may be
    passed to avoid refitting."""
    z = np.asarray(z, dtype=np.float64)
    present, absent = _labels_for(z, table, name)
    if coords is None:
        pca, coords = pca_coordinates(z, pca)
    d_z = cohens_d(z[present], z[absent])
    d_pca = cohens_d(coords[present], coords[absent])
    zi, zj = _best_pair(d_z)
    pi, pj = _best_pair(d_pca)
    if d_pca[pi] ** 2 + d_pca[pj] ** 2 >= d_z[zi] ** 2 + d_z[zj] ** 2:
        axes, dd = (("pca", pi), ("pca", pj)), (float(d_pca[pi]), float(d_pca[pj]))
    else:
        axes, dd = (("z", zi), ("z", zj)), (float(d_z[zi]), float(d_z[zj]))
    keep = present | absent
    sep, mean_acc = cross_fitted_separation(z[keep], present[keep], seed)
    mean_dir = _direction_from(z, present, absent, name, "mean", z[present].mean(axis=0) - z[absent].mean(axis=0))
    pr = probe_dir = None
    if probe:
        pr = fit_probe(z[keep], present[keep], cv=cv, seed=seed, whitener=whitener)
        if directions:
            probe_dir = attribute_direction(z, table, name, "probe")
    norm_checks = ()
    if normality:
        gp, ga = table.group_names(name)
        norm_checks = (group_normality(coords[present], gp), group_normality(coords[absent], ga))
    return AttributeAnalysis(
        name, int(present.sum()), int(absent.sum()), sep, mean_acc, axes, dd,
        float(np.max(np.abs(d_z))), float(np.max(np.abs(d_pca))),
        pr.accuracy if pr else None, pr.accuracy_std if pr else None,
        d_z=d_z, d_pca=d_pca, mean_direction=mean_dir, probe_direction=probe_dir, probe=pr, normality=norm_checks,
    )


def rank_attributes(
    z: np.ndarray, table: AttributeTable, *, pca=None, probe: bool = True, cv: int = 5, seed: int = 0,
    names: Optional[Iterable[str]] = None, sort_by: str = "auto", progress: ProgressCallback = no_progress,
    cancel: Optional[CancelToken] = None,
) -> list[AttributeSummary]:
    """Every attribute (with ≥ 2 labelled points per group), best separated first: by the probe's
    cross-validated balanced accuracy when ``probe`` (``sort_by="auto"``/"probe"), else by the
    cross-fitted ``separation`` d (``sort_by="separation"``)."""
    cancel = cancel or CancelToken()
    z = np.asarray(z, dtype=np.float64)
    pca, coords = pca_coordinates(z, pca)
    whitener = Whitener(z) if probe else None
    todo = list(names) if names is not None else list(table.names)
    out = []
    for i, name in enumerate(todo):
        cancel.raise_if_cancelled()
        progress(Progress("attributes", i, len(todo), f"analysing {name}"))
        p, a, _ = table.counts(name)
        if min(p, a) < 2:
            continue
        res = analyse_attribute(z, table, name, pca=pca, coords=coords, probe=probe, cv=cv, seed=seed, normality=False,
                                whitener=whitener, directions=False)
        out.append(res.summary_row())
    progress(Progress("attributes", len(todo), len(todo), "done"))
    if sort_by not in ("auto", "probe", "separation"):
        raise SamplerError(f"sort_by must be auto, probe or separation, got {sort_by!r}")
    if sort_by == "probe" or (sort_by == "auto" and probe):
        out.sort(key=lambda r: -(r.probe_accuracy if r.probe_accuracy is not None else r.mean_accuracy))
    else:
        out.sort(key=lambda r: -r.separation)
    return out


def ranking_table(rows: Sequence[AttributeSummary]) -> str:
    """A readable text table of :func:`rank_attributes`."""
    head = f"{'#':>3} {'attribute':<20} {'present':>8} {'rate':>6} {'sep d':>6} {'mean acc':>8} {'probe acc':>10} {'max|d| z':>8} {'max|d| pca':>10}  best axes"
    lines = [head]
    for k, r in enumerate(rows, 1):
        pa = "—" if r.probe_accuracy is None else f"{r.probe_accuracy:.3f}±{r.probe_accuracy_std:.3f}"
        ax = " × ".join(f"{f}{i}" for f, i in r.best_axes)
        lines.append(
            f"{k:>3} {r.name:<20} {r.n_present:>8} {r.rate:>6.3f} {r.separation:>6.2f} {r.mean_accuracy:>8.3f} "
            f"{pa:>10} {r.max_d_z:>8.2f} {r.max_d_pca:>10.2f}  {ax}"
        )
    return "\n".join(lines)


# =============================================================================================
# measured: does conditional sampling produce the attribute? (used by `evaluate`)


@dataclass
class AttributeRate:
    attribute: str
    judge_accuracy: float  # the judge's balanced accuracy on real z-points it was not trained on
    data_rate: float  # share of labelled z-points with the attribute
    real_subset_rate: float  # judged rate of real faces meeting `where` (the ceiling)
    conditional_rate: float  # judged rate of samples from the sampler fitted on the subset
    unconditional_rate: float  # judged rate of samples from the sampler fitted on all z-points


@dataclass
class AttributeRateReport:
    """How often a linear probe, trained on held-out encoded images, judges samples to have each
    attribute: conditional (fitted on the ``where`` subset) vs unconditional samples."""

    where: str
    sampler: str
    parameters: dict
    n: int
    seed: int
    reencoded: bool
    judge_points: int
    fit_points: int
    subset_points: int
    rows: list[AttributeRate]

    def to_json(self) -> dict:
        from dataclasses import asdict

        return asdict(self)

    def table(self) -> str:
        lines = [
            f"attribute rates for --where {self.where} ({self.sampler}, n={self.n}, seed={self.seed}; "
            f"judge = logistic probe on {self.judge_points} held-out z-points; samples "
            f"{'decoded and re-encoded' if self.reencoded else 'judged as sampled'}; sampler fitted on "
            f"{self.subset_points} of {self.fit_points} z-points)",
            f"{'attribute':<20} {'judge acc':>9} {'data':>6} {'real subset':>11} {'conditional':>11} {'unconditional':>13}",
        ]
        for r in self.rows:
            lines.append(
                f"{r.attribute:<20} {r.judge_accuracy:>9.3f} {r.data_rate:>6.3f} {r.real_subset_rate:>11.3f} "
                f"{r.conditional_rate:>11.3f} {r.unconditional_rate:>13.3f}"
            )
        return "\n".join(lines)


def attribute_rates(
    model_dir: str | os.PathLike, where: str | Sequence[Condition], *, sampler: str = "normal",
    values: Optional[dict] = None, n: int = 256, seed: int = 0, attributes: Optional[Sequence[str]] = None,
    judge_fraction: float = 0.3, reencode: bool = True, model=None, config=None,
    progress: ProgressCallback = no_progress, cancel: Optional[CancelToken] = None,
) -> AttributeRateReport:
    """Measure conditional sampling. The z-points are split at random (``seed``) into a judge part
    (``judge_fraction``) and a fit part. Per attribute a logistic probe (not class-weighted) is trained on the judge part only; the sampler is fitted on the fit
    part's ``where`` subset (conditional) and on the whole fit part (unconditional); ``n`` samples of
    each are decoded and re-encoded (what the face really shows) and the rate is the share the probe
    judges to have the attribute (probability > 0.5). ``real_subset_rate`` is the same for up to ``n``
    real faces of the subset (the ceiling), ``data_rate`` the share of labelled faces with it."""
    from . import model_store
    from .encoding import decode_latents, encode_images
    from .samplers import make_sampler

    cancel = cancel or CancelToken()
    model_dir = Path(model_dir)
    if model is None or config is None:
        model, config = model_store.load_model(model_dir)
    z, files = model_store.load_latents(model_dir, config.arch.z_dim)
    table = require_labels(model_dir, files)
    conds = parse_where(where) if isinstance(where, str) else list(where)
    if not conds:
        raise SamplerError("attribute rates need a condition, e.g. --where Smiling=1")
    for c in conds:
        table.index(c.name)
    names = list(dict.fromkeys([c.name for c in conds] + list(attributes or [])))
    for nm in names:
        table.index(nm)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(z))
    k = int(round(len(z) * judge_fraction))
    judge_idx, fit_idx = perm[:k], perm[k:]
    z_fit, t_fit = z[fit_idx], table.subset(fit_idx)
    z_judge, t_judge = z[judge_idx], table.subset(judge_idx)
    z_cond = conditional_latents(z_fit, t_fit, conds, sampler)
    progress(Progress("attribute rates", 0, 4, "sampling"))
    uncond = make_sampler(sampler, values)
    try:
        zc = make_sampler(sampler, values).fit(z_cond).sample(n, seed)
        zu = uncond.fit(z_fit).sample(n, seed)
    except (np.linalg.LinAlgError, ValueError) as exc:
        raise SamplerError(f"--where {describe_where(conds)}: the {sampler} sampler cannot be fitted on the "
                           f"{len(z_cond)} matching z-points ({exc})") from None
    real = z_cond[np.random.default_rng(seed + 1).permutation(len(z_cond))[:n]]
    cancel.raise_if_cancelled()

    def judged(zz):
        if not reencode:
            return zz
        return encode_images(model, decode_latents(model, zz, cancel=cancel), cancel=cancel)

    zc, zu, real = judged(zc), judged(zu), judged(real)
    progress(Progress("attribute rates", 2, 4, "judging"))
    rows = []
    judge_whitener = Whitener(z_judge)
    for nm in names:
        cancel.raise_if_cancelled()
        pj, aj = t_judge.groups(nm)
        keep = pj | aj
        if pj.sum() < 2 or aj.sum() < 2:
            raise SamplerError(f"attribute {nm}: too few labelled held-out z-points to train the judge ({int(pj.sum())} with, {int(aj.sum())} without)")
        judge = LinearProbe(balanced=False, whitener=judge_whitener).fit(z_judge[keep], pj[keep])
        pf, af = t_fit.groups(nm)
        kf = pf | af
        score = judge.decision_function(z_fit[kf])
        acc = _balanced_accuracy(score, pf[kf])
        p_all, a_all = table.groups(nm)
        rate = lambda zz: float((judge.decision_function(zz) > 0).mean()) if len(zz) else float("nan")  # noqa: E731
        rows.append(AttributeRate(nm, acc, float(p_all.sum() / max(1, p_all.sum() + a_all.sum())),
                                  rate(real), rate(zc), rate(zu)))
    progress(Progress("attribute rates", 4, 4, "done"))
    return AttributeRateReport(describe_where(conds), sampler, dict(uncond.values), int(n), int(seed), reencode,
                               int(len(judge_idx)), int(len(fit_idx)), int(len(z_cond)), rows)
