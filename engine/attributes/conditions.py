"""Conditional subsets for the samplers: ``--where Smiling=1,Male=-1`` and the matching z-points.

``--where Smiling=1,Male=-1`` → :func:`parse_where` → :class:`Condition` list → :func:`subset_mask`
/ :func:`conditional_latents`, which fits no sampler itself but returns the matching z-points, and
refuses unknown names (listing the allowed ones) and subsets too small for the sampler.

``--where`` also takes the query language of :mod:`engine.query` (``Smiling and not Male and PC3 > 1``,
``p(Eyeglasses) > 0.8``): :func:`where_mask` and :func:`conditional_latents` read a text in the old syntax
(:func:`is_old_syntax`: commas, or one ``NAME``/``NAME=V`` condition) with :func:`parse_where`, its checks, messages
and description unchanged (a name that is no label but a coordinate, ``z3>1``, is read as the query language reads
it), and any other text as a query.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from ..errors import DataError, SamplerError
from ..query import Query, QuerySpace, evaluate, parse_query, part_counts, query_from_conditions
from ..samplers.base import MIN_FIT_POINTS
from .labels import AttributeTable, _parse_value


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
        raise SamplerError(f"{whole!r}: no condition given (expected e.g. Smiling=1,Male=-1)", param="where")
    out: list[Condition] = []
    for k, p in enumerate(parts):
        if not p:
            raise SamplerError(f"{whole!r}: condition {k + 1} is empty (a stray comma?); expected e.g. Smiling=1,Male=-1", param="where")
        for op in _OPS:
            if op in p:
                name, val = p.split(op, 1)
                name, val = name.strip(), val.strip()
                if not name:
                    raise SamplerError(f"{p!r}: no attribute name before {op!r} (expected e.g. Smiling=1,Male=-1)", param="where")
                if not val:
                    raise SamplerError(f"{p!r}: no value after {op!r} (expected e.g. {name}=1 or {name}=-1)", param="where")
                if any(c in name for c in "=<>!"):
                    raise SamplerError(f"{p!r}: {name!r} is not an attribute name (expected e.g. Smiling=1,Male=-1)", param="where")
                try:
                    v = _parse_value(val)
                    if math.isnan(v):
                        raise ValueError
                except ValueError:
                    raise SamplerError(f"{p!r}: {val!r} is not a number or yes/no (expected e.g. Smiling=1,Male=-1)", param="where") from None
                out.append(Condition(name, op, v))
                break
        else:
            out.append(Condition(p, "=", 1.0))
    seen: dict[str, Condition] = {}
    for c in out:
        before = seen.get(c.name)
        if before is not None and (before == c or "=" in (before.op, c.op)):
            what = "is given twice" if before == c else "has two conditions and one of them is '='"
            raise SamplerError(f"{whole!r}: {c.name} {what} ({before.text()}, {c.text()}); "
                               f"give each attribute once (ranges like Age>=20,Age<40 are fine)", param="where")
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
                f"{c.text()}: {c.name} is a yes/no attribute; allowed values are 1 (present) "
                f"and -1 or 0 (absent), also yes/no", param="where"
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


#: the fewest z-points any conditional fit accepts
MIN_SUBSET = MIN_FIT_POINTS


def min_points_for(sampler: str, z_dim: int) -> int:
    """The fewest z-points a conditional fit of ``sampler`` accepts: what the sampler class declares
    (``Sampler.min_points(z_dim)``: more than z_dim for those that estimate a covariance or PCA);
    :data:`MIN_SUBSET` for a name no sampler has."""
    from ..samplers import SAMPLERS

    cls = SAMPLERS.get(sampler)
    if cls is None:
        return MIN_SUBSET
    return max(2, int(cls.min_points(z_dim)))


_OLD_ONE = re.compile(r"\s*[^\s=<>!(),`]+\s*(?:(?:!=|>=|<=|=|>|<)\s*[^\s=<>!(),`]+\s*)?")


def is_old_syntax(where) -> bool:
    """True for the old ``Smiling=1,Male=-1`` syntax: a list of conditions, a text with a comma, or one condition
    (``Smiling``, ``Smiling=1``, ``Age>=40``) that both readings mean the same by."""
    if isinstance(where, Query):
        return False
    if not isinstance(where, str):
        return True
    return "," in where or bool(_OLD_ONE.fullmatch(where))


def where_query(where) -> Query:
    """A ``--where`` (old syntax, a query text, conditions or a :class:`Query`) as a :class:`Query`."""
    if isinstance(where, Query):
        return where
    if is_old_syntax(where):
        conds = parse_where(where) if isinstance(where, str) else list(where)
        return query_from_conditions(conds, describe_where(conds))
    return parse_query(where)


def describe_any(where) -> str:
    """The text stored with a set (``params["where"]``): the old syntax's normal form, or the query's."""
    if isinstance(where, Query):
        return where.describe()
    if is_old_syntax(where):
        return describe_where(parse_where(where) if isinstance(where, str) else list(where))
    return parse_query(where).describe()


def query_space(z: np.ndarray, table: Optional[AttributeTable], *, judges=None, pca=None) -> QuerySpace:
    """What a ``--where`` may name about the model's z-points ``z`` (labels ``table``, or None without labels)."""
    if table is not None and len(table) != len(z):
        raise DataError(f"labels for {len(table)} z-points do not match the model's {len(z)} z-points")
    return QuerySpace(z, labels=table, judges=judges, pca=pca)


def where_mask(z: np.ndarray, table: Optional[AttributeTable], where, *, judges=None, pca=None,
               space: Optional[QuerySpace] = None) -> np.ndarray:
    """The z-points meeting ``where`` (either syntax). In the old syntax a label condition is read by
    :func:`condition_mask` (its messages), a coordinate (``z3>1``, ``PC2<0``) by the query language."""
    space = space or query_space(z, table, judges=judges, pca=pca)
    if is_old_syntax(where):
        conds = parse_where(where) if isinstance(where, str) else list(where)
        mask = np.ones(len(z), dtype=bool)
        for c in conds:
            if table is not None and c.name in table.names or not is_coordinate(c.name):
                if table is None:
                    from .labels import unknown_name_message

                    raise SamplerError(unknown_name_message(c.name, []), param="where")
                mask &= condition_mask(table, c)
            else:
                mask &= evaluate(query_from_conditions([c]), space)
        return mask
    return evaluate(where, space)


def is_coordinate(name: str) -> bool:
    return bool(re.fullmatch(r"z\d+|[Pp][Cc]\d+", name))


def conditional_latents(
    z: np.ndarray, table: Optional[AttributeTable], conditions, sampler: str = "normal",
    min_points: Optional[int] = None, *, judges=None, pca=None,
) -> np.ndarray:
    """The z-points meeting ``conditions`` (old syntax, conditions, or a query), checked to be enough for fitting
    ``sampler``; too few is refused naming each part's count. ``judges``/``pca``: see :class:`engine.query.QuerySpace`."""
    space = query_space(z, table, judges=judges, pca=pca)
    mask = where_mask(z, table, conditions, space=space)
    need = min_points if min_points is not None else min_points_for(sampler, z.shape[1])
    got = int(mask.sum())
    if got < need:
        if is_old_syntax(conditions):
            conds = parse_where(conditions) if isinstance(conditions, str) else list(conditions)
            parts = [f"{c.text()}: {int(where_mask(z, table, [c], space=space).sum())}" for c in conds]
            what = describe_where(conds)
        else:
            parts = [f"{t}: {n}" for t, n in part_counts(conditions, space)]
            what = describe_any(conditions)
        raise SamplerError(
            f"only {got} of {len(z)} z-points match the conditions {what} "
            f"({'; '.join(parts)}); the {sampler} sampler needs at least {need}"
        )
    return np.asarray(z)[mask]
