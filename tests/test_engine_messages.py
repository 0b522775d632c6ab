"""The engine speaks domain words: no engine source spells a command-line flag in a string.

A message that names one of the user's options gives it as a parameter name (``param="out"``, ``{opt:overwrite}``,
see ``engine/errors.py``); each front end names it (the CLI ``--out``, the GUI the control's label). Docstrings
(and comments) may still mention the CLI's flags.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENGINE = ROOT / "engine"

FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]+")

#: Files other engineers are converting in parallel; emptied once their branches are merged.
OTHERS_CONVERTING: set = set()
OTHERS_CONVERTING_UNDER = ()

#: Not an error but the CLI's own text, printed as it is by main.py (``rep.table()``): its header spells
#: ``--where`` until the CLI passes its namer (``table(cli_name)``, the header then ``{opt:where}``).
WAITING_FOR_THE_CLI: set = set()


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the string constants that are docstrings (a module's, class's or function's first statement)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                out.add(id(body[0].value))
    return out


def flag_spellings(source: str) -> list[tuple[int, str]]:
    """(line, text) of each string constant or f-string part that spells a flag (docstrings excluded)."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            if FLAG.search(node.value):
                found.append((node.lineno, node.value))
    return found


def _engine_files():
    for path in sorted(ENGINE.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel in OTHERS_CONVERTING or rel.startswith(OTHERS_CONVERTING_UNDER):
            continue
        yield rel, path


def test_the_check_finds_flags_in_strings_and_f_strings_but_not_docstrings():
    src = '''"""Module doc: ``--out``."""
def f(x):
    """Function doc --method."""
    a = "use --force"          # a comment --n
    b = f"--index {x}: bad"
    c = "a-b --- x, pre--fix, e.g. -2:2:5"
    return a, b, c
'''
    assert [line for line, _ in flag_spellings(src)] == [4, 5]


def test_no_engine_source_spells_a_cli_flag_in_a_string():
    offenders = [f"{rel}:{line}: {text!r}" for rel, path in _engine_files()
                 for line, text in flag_spellings(path.read_text(encoding="utf-8"))
                 if (rel, text) not in WAITING_FOR_THE_CLI]
    assert not offenders, "engine strings spelling CLI flags (use param= / {opt:NAME}):\n" + "\n".join(offenders)
