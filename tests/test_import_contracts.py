"""The layers of docs/architecture.md, checked (import-linter, contracts in ``.importlinter``): the engine never
imports Qt, building blocks never import a workflow, and no package has import circles among its modules."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(cwd: Path, config: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT), "--config", str(config), "--no-cache"], cwd=cwd, capture_output=True,
                          text=True, timeout=120, env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin"})


def test_the_import_contracts_hold():
    res = _lint(ROOT, ROOT / ".importlinter")
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    assert "0 broken" in res.stdout


def test_the_contracts_catch_a_circle_and_a_building_block_importing_a_workflow(tmp_path):
    pkg = tmp_path / "engine"
    (pkg / "workflows").mkdir(parents=True)
    for name, text in {"__init__.py": "", "a.py": "from . import b\n", "b.py": "from .workflows import use\n",
                       "workflows/__init__.py": "", "workflows/use.py": "from .. import a\n"}.items():
        (pkg / name).write_text(text)
    config = tmp_path / "contracts.ini"
    config.write_text("[importlinter]\nroot_packages =\n    engine\n\n"
                      "[importlinter:contract:layers]\nname = layers\ntype = layers\ncontainers = engine\n"
                      "exhaustive = true\nlayers =\n    workflows\n    a : b\n\n"
                      "[importlinter:contract:acyclic]\nname = acyclic\ntype = acyclic_siblings\nancestors = engine\n")
    res = _lint(tmp_path, config)
    assert res.returncode != 0
    assert "engine.b is not allowed to import engine.workflows" in res.stdout
    assert "2 broken" in res.stdout
