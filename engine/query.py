"""The query language of selections: ``Smiling and not Male and p(Eyeglasses) > 0.8 and PC3 > 1``.

A query reads as a boolean mask over z-points (the model's, or any array of z-vectors such as generated
faces). What it may name:

=====================  ===========================================================================================
``Smiling``            a label of the model (``labels.csv``): a bare name means *present* (for ±1 labels: +1; for
                       a numeric label: above its median, as everywhere in the app); ``Smiling == -1`` (or ``= 0``,
                       ``= no``) absent; a numeric label compares its value (``Age >= 40``)
``p(Eyeglasses)``      the attribute's judge: the probability 0…1 its linear probe gives (``engine.lab.probes``).
                       Labels and judges have separate spellings so that one name has one meaning: ``Eyeglasses >
                       0.8`` compares the *label* (as the old ``--where Eyeglasses>0`` did), ``p(Eyeglasses) > 0.8``
                       the judge, which also works on generated faces, where there are no labels
``z12``                a raw coordinate, ``z0`` … ``z{d-1}``
``PC3``                the coordinate on the 3rd principal axis of the model's cloud, in σ units (``PC1`` … ``PCd``)
=====================  ===========================================================================================

Comparisons ``< <= > >= == !=`` (``=`` is ``==``; chains read as ranges: ``-1 < z3 <= 1``), ``and``, ``or``,
``not`` (any case; also ``&``, ``|``, ``!``), parentheses, numbers (``-1.5``, ``2e-3``, ``yes``/``no``/``true``/
``false``). ``not`` binds tightest, then ``and``, then ``or``. A name with other characters is quoted with back
quotes: ```Wearing Hat```. A z-point with an unknown label (a blank cell) is neither inside nor outside a condition
on it: three-valued logic, so ``not Smiling`` never picks a point whose Smiling is unknown.

The parser is a hand-written recursive descent over a small tokenizer, not Python's ``ast``: CelebA's names are
not all Python identifiers (``5_o_Clock_Shadow``), the old syntax's ``=`` is not Python, and a parser of our own
reports the exact column of every problem. Nothing is ever ``eval``-ed. Errors are :class:`QueryError` (position,
name, a ``difflib`` suggestion).
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np

from . import z_store
from .errors import QueryError

COMPARISONS = ("<=", ">=", "==", "!=", "<", ">", "=")
_WORD_VALUES = {"yes": 1.0, "true": 1.0, "no": 0.0, "false": 0.0}
_KEYWORDS = {"and": "and", "or": "or", "not": "not", "&": "and", "&&": "and", "|": "or", "||": "or", "!": "not"}
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?(?![A-Za-z0-9_]))
  | (?P<name>[A-Za-z0-9_][A-Za-z0-9_.]*)
  | (?P<quoted>`[^`]*`)
  | (?P<op><=|>=|==|!=|&&|\|\||[<>=()&|!,-])
""", re.VERBOSE)
_COORD = re.compile(r"z(\d+)")
_PC = re.compile(r"(?:PC|pc|Pc)(\d+)")


@dataclass(frozen=True)
class Token:
    kind: str  # "number", "name", "op", "end"
    text: str
    pos: int
    value: Any = None


def tokenize(text: str) -> list[Token]:
    """The query's tokens; an unknown character is a :class:`QueryError` at its position."""
    out, i = [], 0
    while i < len(text):
        m = _TOKEN.match(text, i)
        if m is None:
            raise QueryError(f"{text!r}: unexpected {text[i]!r} at column {i + 1}", param="where", query=text,
                             position=i, name=None, suggestion=None)
        kind = m.lastgroup
        s = m.group(kind)
        if kind == "number":
            out.append(Token("number", s, i, float(s)))
        elif kind == "quoted":
            out.append(Token("name", s[1:-1], i, True))
        elif kind == "name":
            low = s.lower()
            if low in _KEYWORDS:
                out.append(Token("op", _KEYWORDS[low], i))
            elif low in _WORD_VALUES:
                out.append(Token("number", s, i, _WORD_VALUES[low]))
            else:
                out.append(Token("name", s, i, False))
        elif kind == "op":
            out.append(Token("op", _KEYWORDS.get(s, s), i))
        i = m.end()
    out.append(Token("end", "", len(text)))
    return out


# ------------------------------------------------------------------------------------------------------------------
# the tree


@dataclass(frozen=True)
class Term:
    """A value of each z-point: a label (``kind="label"``), a judge (``"judge"``), ``"z"`` or ``"pc"``."""

    kind: str
    name: str  # the label or attribute name; for z/pc the text as written
    index: int = -1  # z: the component (0-based); pc: the axis (0-based)
    pos: int = 0

    def text(self) -> str:
        if self.kind == "judge":
            return f"p({_quote(self.name)})"
        return _quote(self.name) if self.kind == "label" else self.name


@dataclass(frozen=True)
class Compare:
    """``term op value`` (the number always on the right after parsing: ``1 < PC3`` is stored as ``PC3 > 1``)."""

    term: Term
    op: str  # one of < <= > >= == !=
    value: float

    def text(self) -> str:
        return f"{self.term.text()} {self.op} {self.value:g}"


@dataclass(frozen=True)
class Present:
    """A bare label name: the attribute is present."""

    term: Term

    def text(self) -> str:
        return self.term.text()


@dataclass(frozen=True)
class Not:
    item: "Node"

    def text(self) -> str:
        inner = self.item.text()
        return f"not {inner}" if isinstance(self.item, (Present, Compare, Not)) else f"not ({inner})"


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" / "or"
    items: tuple

    def text(self) -> str:
        parts = []
        for it in self.items:
            t = it.text()
            parts.append(f"({t})" if isinstance(it, BoolOp) and it.op != self.op else t)
        return f" {self.op} ".join(parts)


Node = Union[Compare, Present, Not, BoolOp]
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


def _quote(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.]*", name) else f"`{name}`"


@dataclass
class Query:
    """A parsed query: ``text`` as given, ``tree`` its nodes; :meth:`describe` is its normal form."""

    text: str
    tree: Node

    def describe(self) -> str:
        return self.tree.text()

    def terms(self) -> list[Term]:
        out: list[Term] = []

        def walk(n):
            if isinstance(n, (Compare, Present)):
                out.append(n.term)
            elif isinstance(n, Not):
                walk(n.item)
            else:
                for it in n.items:
                    walk(it)

        walk(self.tree)
        return out

    def parts(self) -> list[Node]:
        """The top-level ``and`` parts (one part when the query is not an ``and``)."""
        t = self.tree
        return list(t.items) if isinstance(t, BoolOp) and t.op == "and" else [t]


# ------------------------------------------------------------------------------------------------------------------
# the parser


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    def error(self, msg: str, pos: Optional[int], name: Optional[str] = None, suggestion: Optional[str] = None):
        where = f" at column {pos + 1}" if pos is not None else ""
        raise QueryError(f"{self.text!r}: {msg}{where}", param="where", query=self.text, position=pos, name=name,
                         suggestion=suggestion)

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        t = self.tokens[self.i]
        self.i += 1
        return t

    def accept(self, op: str) -> Optional[Token]:
        if self.tok.kind == "op" and self.tok.text == op:
            return self.take()
        return None

    def parse(self) -> Node:
        if self.tok.kind == "end":
            self.error("an empty query (expected e.g. Smiling and not Male)", None)
        node = self.or_expr()
        if self.tok.kind != "end":
            t = self.tok
            hint = " (a comma is the old syntax: use 'and')" if t.text == "," else ""
            self.error(f"unexpected {t.text!r}{hint}", t.pos)
        return node

    def or_expr(self) -> Node:
        items = [self.and_expr()]
        while self.accept("or"):
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else BoolOp("or", tuple(items))

    def and_expr(self) -> Node:
        items = [self.not_expr()]
        while self.accept("and"):
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else BoolOp("and", tuple(items))

    def not_expr(self) -> Node:
        if self.accept("not"):
            return Not(self.not_expr())
        return self.atom()

    def atom(self) -> Node:
        t = self.tok
        if self.accept("("):
            node = self.or_expr()
            if not self.accept(")"):
                self.error(f"expected ')' to close the '(' at column {t.pos + 1}, found "
                           f"{self.tok.text or 'the end'!r}", self.tok.pos)
            return node
        first = self.operand()
        chain = [first]
        ops: list[Token] = []
        while self.tok.kind == "op" and self.tok.text in COMPARISONS:
            ops.append(self.take())
            chain.append(self.operand())
        if not ops:
            if isinstance(first, Term):
                return Present(first)
            self.error(f"a number {t.text!r} alone is not a condition (expected e.g. PC3 > {t.text})", t.pos)
        parts = [self.compare(chain[k], ops[k], chain[k + 1]) for k in range(len(ops))]
        return parts[0] if len(parts) == 1 else BoolOp("and", tuple(parts))

    def compare(self, left, op_tok: Token, right) -> Compare:
        op = "==" if op_tok.text == "=" else op_tok.text
        if isinstance(left, Term) and not isinstance(right, Term):
            return Compare(left, op, right)
        if isinstance(right, Term) and not isinstance(left, Term):
            return Compare(right, _FLIP[op], left)
        what = "two values" if isinstance(left, Term) else "two numbers"
        self.error(f"{op_tok.text!r} compares {what}; compare a name with a number (e.g. PC3 > 1)", op_tok.pos)

    def operand(self):
        t = self.tok
        if self.accept("-"):
            v = self.tok
            if v.kind != "number":
                self.error("'-' goes before a number", t.pos)
            self.take()
            return -float(v.value)
        if t.kind == "number":
            self.take()
            return float(t.value)
        if t.kind == "name":
            self.take()
            if t.text in ("p", "P") and not t.value and self.accept("("):
                inner = self.tok
                if inner.kind != "name":
                    self.error("p( ) takes an attribute name, e.g. p(Eyeglasses)", inner.pos)
                self.take()
                if not self.accept(")"):
                    self.error("expected ')' after the attribute's name", self.tok.pos)
                return Term("judge", inner.text, pos=inner.pos)
            return _name_term(t)
        found = "the end of the query" if t.kind == "end" else repr(t.text)
        self.error(f"expected a name or a number, found {found}", t.pos)


def _name_term(t: Token) -> Term:
    """A name as written: a coordinate (``z12``, ``PC3``) unless quoted, else a label (resolved at evaluation)."""
    if not t.value:
        m = _COORD.fullmatch(t.text)
        if m:
            return Term("z", t.text, int(m.group(1)), t.pos)
        m = _PC.fullmatch(t.text)
        if m:
            return Term("pc", t.text, int(m.group(1)) - 1, t.pos)
    return Term("label", t.text, pos=t.pos)


def parse_query(text: str) -> Query:
    """Text → :class:`Query`; a :class:`QueryError` naming the column of the first problem."""
    if not isinstance(text, str):
        raise QueryError(f"{text!r}: a query is text", param="where", query=str(text), position=None, name=None,
                         suggestion=None)
    return Query(text, _Parser(text).parse())


def query_from_conditions(conditions: Sequence, text: Optional[str] = None) -> Query:
    """The old syntax's conditions (``engine.attributes.Condition``: name, op, value; all must hold) as a query."""
    nodes = []
    for c in conditions:
        op = "==" if c.op == "=" else c.op
        term = _name_term(Token("name", c.name, 0, False))
        nodes.append(Compare(term, op, float(c.value)))
    tree = nodes[0] if len(nodes) == 1 else BoolOp("and", tuple(nodes))
    q = Query(text if text is not None else tree.text(), tree)
    return q


# ------------------------------------------------------------------------------------------------------------------
# evaluation


Masks = tuple  # (true, false): definitely inside, definitely outside (a point with an unknown label is in neither)


@dataclass
class QuerySpace:
    """What a query can name about ``z`` (N×d): ``labels`` (an ``AttributeTable`` aligned with ``z``, or None — then
    ``label_names`` are the model's names, refused with one line: generated faces have no labels), ``judges`` (an
    object with ``names``, ``weights`` (A×d), ``bias`` (A,), or a function returning one, called on first use),
    ``pca`` (a ``latent_whitening.PCAResult`` of the model's cloud, or a function returning one; by default the PCA
    of ``z``). Columns are computed on first use and kept: a second query over the same space is cheaper."""

    z: np.ndarray
    labels: Any = None
    label_names: Sequence[str] = ()
    judges: Any = None
    pca: Any = None
    what: str = "z-points"
    _columns: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.z, np.ndarray):  # (a memory map stays one: it is read chunk by chunk)
            self.z = np.asarray(self.z)
        if self.labels is not None:
            self.label_names = list(self.labels.names)
            if len(self.labels) != len(self.z):
                raise QueryError(f"labels for {len(self.labels)} z-points do not match the {len(self.z)} {self.what}",
                                 query="", position=None, name=None, suggestion=None)

    def __len__(self) -> int:
        return len(self.z)

    def resolved(self, kind: str, value):
        """The judges or the PCA, loading them (a function given) on first use."""
        if callable(value):
            value = value()
            setattr(self, kind, value)
        return value

    def known_names(self) -> list[str]:
        judges = self.resolved("judges", self.judges) if self.judges is not None else None
        names = list(self.label_names)
        if judges is not None:
            names += [n for n in judges.names if n not in names]
        return names

    def column(self, term: Term, query: str) -> np.ndarray:
        key = (term.kind, term.name, term.index)
        col = self._columns.get(key)
        if col is None:
            col = self._compute(term, query)
            self._columns[key] = col
        return col

    def _fail(self, query: str, term: Term, msg: str, pool: Sequence[str] = ()):
        close = difflib.get_close_matches(term.name, list(pool), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise QueryError(f"{query!r}: {msg} at column {term.pos + 1}{hint}", param="where", query=query,
                         position=term.pos, name=term.name, suggestion=close[0] if close else None)

    def _compute(self, term: Term, query: str) -> np.ndarray:
        d = self.z.shape[1]
        if term.kind == "z":
            if term.index >= d:
                self._fail(query, term, f"{term.name}: the z-points have components z0 … z{d - 1}")
            return z_store.column(self.z, term.index)  # (a memory-mapped cloud: chunk by chunk)
        if term.kind == "pc":
            if not 0 <= term.index < d:
                self._fail(query, term, f"{term.name}: the principal axes are PC1 … PC{d}")
            pca = self._pca()
            axis = pca.components[term.index]
            sigma = float(pca.sigmas[term.index]) or 1.0
            return (z_store.project(self.z, axis) - float(pca.mean @ axis)).astype(np.float64) / sigma
        if term.kind == "judge":
            judges = self.resolved("judges", self.judges) if self.judges is not None else None
            names = list(judges.names) if judges is not None else []
            if term.name not in names:
                why = ("the model has no attribute judges (no labels)" if judges is None or not names
                       else f"no attribute judge named {term.name!r}")
                self._fail(query, term, why, names)
            a = names.index(term.name)
            w = np.asarray(judges.weights[a], np.float32)
            logit = z_store.project(self.z, w).astype(np.float64) + float(judges.bias[a])
            return 1.0 / (1.0 + np.exp(-np.clip(logit, -500, 500)))
        return self._label(term, query)

    def _label(self, term: Term, query: str) -> np.ndarray:
        if term.name not in self.label_names:
            pool = list(self.label_names)
            if not pool:
                self._fail(query, term, f"unknown name {term.name!r}: the model has no labels (names: z0…, PC1…, "
                           "p(attribute))")
            self._fail(query, term, f"unknown name {term.name!r}", pool + ["z0", "PC1"])
        if self.labels is None:
            self._fail(query, term, f"{term.name}: labels are known only for the model's own z-points, not for "
                       f"these {self.what}; use p({_quote(term.name)}), the attribute judge's probability")
        return np.asarray(self.labels.column(term.name), dtype=np.float64)

    def groups(self, name: str) -> tuple[np.ndarray, np.ndarray, bool]:
        """(present, absent, is yes/no) of a label, kept like the columns."""
        key = ("groups", name, -1)
        got = self._columns.get(key)
        if got is None:
            col = self.labels.column(name)
            known = np.isfinite(col)
            v = col[known]
            # AttributeTable.is_binary without its sort: values all in {-1, 1} or all in {0, 1}
            binary = bool(np.all((v == 1) | (v == -1)) or np.all((v == 0) | (v == 1)))
            if binary:  # present above 0, as AttributeTable.groups
                present = known & (col > 0)
                got = (present, known & ~present, True)
            else:
                present, absent = self.labels.groups(name)
                got = (present, absent, False)
            self._columns[key] = got
        return got

    def _pca(self):
        pca = self.resolved("pca", self.pca)
        if pca is None:
            from .latent_whitening import pca_of

            pca = self.pca = pca_of(self.z)  # (streamed: a large cloud is never copied whole)
        return pca


def _binary_label(space: QuerySpace, term: Term) -> bool:
    return term.kind == "label" and space.labels is not None and space.groups(term.name)[2]


def _leaf(space: QuerySpace, node, query: str) -> Masks:
    col = space.column(node.term, query)
    known = np.isfinite(col)
    if isinstance(node, Present):
        if node.term.kind != "label":
            raise QueryError(f"{query!r}: {node.term.text()} alone is not a condition at column {node.term.pos + 1} "
                             f"(expected e.g. {node.term.text()} > 1)", param="where", query=query,
                             position=node.term.pos, name=node.term.name, suggestion=None)
        present, absent, _ = space.groups(node.term.name)
        return present, absent
    if _binary_label(space, node.term) and node.op in ("==", "!="):
        if node.value not in (1.0, 0.0, -1.0):
            raise QueryError(f"{query!r}: {node.term.name} is a yes/no label; compare it with 1 (present) or -1 / 0 "
                             f"(absent) at column {node.term.pos + 1}", param="where", query=query,
                             position=node.term.pos, name=node.term.name, suggestion=None)
        present, absent, _ = space.groups(node.term.name)
        inside = present if (node.value > 0) == (node.op == "==") else absent
        return inside, (absent if inside is present else present)
    with np.errstate(invalid="ignore"):
        m = _OPS[node.op](col, node.value)
    return m & known, ~m & known


_OPS: dict[str, Callable] = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal,
                             "==": np.equal, "!=": np.not_equal}


def _eval(space: QuerySpace, node: Node, query: str) -> Masks:
    if isinstance(node, (Compare, Present)):
        return _leaf(space, node, query)
    if isinstance(node, Not):
        t, f = _eval(space, node.item, query)
        return f, t
    t, f = _eval(space, node.items[0], query)
    for it in node.items[1:]:
        t2, f2 = _eval(space, it, query)
        t, f = (t & t2, f | f2) if node.op == "and" else (t | t2, f & f2)
    return t, f


def evaluate(query: Union[str, Query], space: QuerySpace) -> np.ndarray:
    """The z-points of ``space`` the query holds for: a bool mask of ``len(space)``."""
    q = parse_query(query) if isinstance(query, str) else query
    inside, _ = _eval(space, q.tree, q.text)
    return np.array(inside, dtype=bool, copy=True)


def part_counts(query: Union[str, Query], space: QuerySpace) -> list[tuple[str, int]]:
    """(text, count) per top-level ``and`` part: which part leaves few points (the "too few" messages)."""
    q = parse_query(query) if isinstance(query, str) else query
    return [(p.text(), int(_eval(space, p, q.text)[0].sum())) for p in q.parts()]
