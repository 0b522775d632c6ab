"""The GUI's layers, read from the source with ``ast`` (no Qt started): the window sits on top, the panels, the
session, the engine bridge and the window's actions never import it, and no two ``gui/`` modules import each other
in a circle (imports inside functions count: they only postpone the circle to the first call)."""
from __future__ import annotations

import ast
from pathlib import Path

GUI = Path(__file__).resolve().parents[2] / "gui"

#: The modules that may import the window: the entry points that make one.
ENTRY_POINTS = {"gui.app", "gui.screenshots"}
#: Imports of the window that a module of another engineer's branch still holds, as (importer, imported): its one
#: import line changes there (``from .dialogs import pictures_folder``); remove the entry once it has.
PENDING = {("gui.qt_directions", "gui.main_window")}


def _module_name(path: Path) -> str:
    return "gui" if path.stem == "__init__" else f"gui.{path.stem}"


def _resolve(importer: str, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    package = importer.split(".")[:-1] if importer != "gui" else ["gui"]
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def gui_imports(path: Path) -> set[str]:
    """The ``gui.*`` modules ``path`` imports anywhere in it (module level, functions, methods)."""
    me = _module_name(path)
    modules = {_module_name(p) for p in GUI.glob("*.py")}
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(me, node)
            # "from . import plot_style" names a module; "from .session import Session" names a module's member
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        else:
            continue
        found.update(n for n in names if n in modules and n != me)
    return found


def import_graph() -> dict[str, set[str]]:
    return {_module_name(p): gui_imports(p) for p in sorted(GUI.glob("*.py"))}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), each as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return groups


def test_the_finder_sees_function_level_imports_and_cycles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycles(graph) == [["a", "b", "c"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []
    assert "gui.qt_widgets" in gui_imports(GUI / "qt_sampler.py")  # imported inside a method only
    assert "gui.plot_style" in gui_imports(GUI / "qt_attribute_layer.py")  # "from . import plot_style"
    assert "gui.main_window" in gui_imports(GUI / "app.py")


def test_nothing_below_the_window_imports_it():
    """The panels (``gui/qt_*.py``), the session, the engine bridge, the window's actions, dialogs and layout: only
    the entry points import the window."""
    graph = import_graph()
    offenders = sorted(m for m, deps in graph.items()
                       if "gui.main_window" in deps and m not in ENTRY_POINTS and (m, "gui.main_window") not in PENDING)
    assert offenders == [], f"these import gui.main_window (the window sits on top of them): {offenders}"
    below = [m for m in graph if m.split(".")[-1].startswith(("qt_", "actions"))]
    below += ["gui.session", "gui.engine_bridge", "gui.dialogs", "gui.window_layout"]
    assert all(m in graph for m in below) and not ENTRY_POINTS & set(below)


def test_no_import_cycle_among_gui_modules():
    graph = {m: {d for d in deps if (m, d) not in PENDING} for m, deps in import_graph().items()}
    assert find_cycles(graph) == [], "gui/ modules that import each other in a circle"
