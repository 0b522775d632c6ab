"""Size limits of the code (issue 23): no module over 700 lines, no function over 100 lines, in ``engine/``,
``gui/``, ``cli/`` and ``main.py``. Measured with ast: a module's lines, a function's ``end_lineno - lineno + 1``
(decorators not counted; a nested function or a method counts on its own, named ``Class.method`` /
``outer.inner``).

``PENDING`` lists what was over the limits when the test was written and is being split in parallel; it only
shrinks. A new long module or function fails the test, and so does an entry of ``PENDING`` that is within the
limits now (remove it).
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_MODULE_LINES = 700
MAX_FUNCTION_LINES = 100
MODULE = "<module>"  # the function name of a PENDING entry for a whole module

#: (path relative to the repository, qualified function name or MODULE): over the limits, being fixed.
PENDING: set[tuple[str, str]] = set()  # empty: everything is within the limits


def source_files() -> list[Path]:
    files = [ROOT / "main.py"] if (ROOT / "main.py").is_file() else []
    for top in ("engine", "gui", "cli", "latent_face_studio"):
        if (ROOT / top).is_dir():
            files += sorted(p for p in (ROOT / top).rglob("*.py") if "__pycache__" not in p.parts)
    return files


def _functions(node: ast.AST, prefix: str = ""):
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
            name = prefix + child.name
            yield name, child.end_lineno - child.lineno + 1
            yield from _functions(child, name + ".")
        elif isinstance(child, ast.ClassDef):
            yield from _functions(child, prefix + child.name + ".")
        else:
            yield from _functions(child, prefix)


def oversized(path: Path) -> dict[tuple[str, str], int]:
    """Everything in ``path`` over the limits: (relative path, function name or MODULE) → its lines."""
    rel = path.relative_to(ROOT).as_posix()
    text = path.read_text(encoding="utf-8")
    out = {}
    lines = len(text.splitlines())
    if lines > MAX_MODULE_LINES:
        out[(rel, MODULE)] = lines
    for name, n in _functions(ast.parse(text, filename=rel)):
        if n > MAX_FUNCTION_LINES:
            out[(rel, name)] = n
    return out


def all_oversized() -> dict[tuple[str, str], int]:
    found: dict[tuple[str, str], int] = {}
    for path in source_files():
        found.update(oversized(path))
    return found


def test_the_files_are_found():
    files = {p.relative_to(ROOT).as_posix() for p in source_files()}
    assert {"main.py", "engine/training.py", "gui/qt_pair_plot.py"} <= files


def test_no_module_over_700_lines_and_no_function_over_100():
    new = {k: v for k, v in all_oversized().items() if k not in PENDING}
    assert not new, "over the limits (a module ≤ %d lines, a function ≤ %d): split them:\n%s" % (
        MAX_MODULE_LINES, MAX_FUNCTION_LINES,
        "\n".join(f"  {path} {name}: {n} lines" for (path, name), n in sorted(new.items())))


def test_pending_lists_only_what_is_still_over_the_limits():
    stale = sorted(PENDING - set(all_oversized()))
    assert not stale, "within the limits now (or gone): remove from PENDING:\n" + "\n".join(
        f"  {path} {name}" for path, name in stale)


def test_the_check_sees_a_long_function_and_a_long_module(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))  # def line + 100 = 101 lines
    src = f"class A:\n    def m(self):\n    {body.replace(chr(10), chr(10) + '    ')}\n\n\ndef short():\n    return 1\n"
    f = tmp_path / "engine" / "long.py"
    f.parent.mkdir()
    f.write_text(src + "\n" * (MAX_MODULE_LINES - len(src.splitlines()) + 1))
    assert oversized_at(tmp_path, f) == {("engine/long.py", MODULE): MAX_MODULE_LINES + 1, ("engine/long.py", "A.m"): 101}


def oversized_at(root: Path, path: Path) -> dict[tuple[str, str], int]:
    """:func:`oversized` of a file under another repository root."""
    global ROOT
    saved, ROOT = ROOT, root
    try:
        return oversized(path)
    finally:
        ROOT = saved
