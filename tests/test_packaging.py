"""Packaging: pyproject.toml builds an installable app whose entry points start and whose data files are found.

The app is built from a copy of the source tree and installed with ``pip install --no-deps --target`` into a temp
folder (the current venv supplies the dependencies), then run from another working directory, so nothing can be
found through the source tree by accident.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

pytestmark = pytest.mark.slow  # builds and installs a copy with pip: ~10-30 s on 2 shared cores

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DATA = "latent_face_studio_resources"
DATA_SUFFIXES = {".json", ".safetensors", ".onnx", ".npy", ".npz", ".txt", ".csv", ".png", ".svg", ".ico", ".icns"}


def _source_py_files() -> set[str]:
    return {p.relative_to(ROOT).as_posix() for d in ("cli", "engine", "gui", "latent_face_studio") for p in (ROOT / d).rglob("*.py")
            if "__pycache__" not in p.parts}


def _source_data_files() -> set[str]:
    """Files under resources/ that an installed copy must carry (what pyproject's package-data selects)."""
    res = ROOT / "resources"
    return {p.relative_to(res).as_posix() for p in res.rglob("*")
            if p.is_file() and p.suffix in DATA_SUFFIXES and not p.name.startswith(".")
            and p.name != "checkpoint.safetensors" and "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The app pip-installed (no deps) into a temp folder from a copy of the source tree."""
    base = tmp_path_factory.mktemp("packaging")
    src = base / "src"
    src.mkdir()
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "checkpoint.safetensors", ".*")
    for name in ("pyproject.toml", "README.md", "main.py"):
        shutil.copy2(ROOT / name, src / name)
    for name in ("cli", "engine", "gui", "latent_face_studio", "resources"):
        shutil.copytree(ROOT / name, src / name, ignore=skip)
    target = base / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index", "--quiet",
         "--disable-pip-version-check", "--target", str(target), str(src)],
        capture_output=True, text=True, timeout=240, cwd=base)
    assert proc.returncode == 0, proc.stderr[-3000:]
    shutil.rmtree(src)  # from here on only the installed copy exists
    return target


def _run(installed: Path, args, timeout=120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("LFS_RESOURCES", "PYTHONPATH")}
    env["PYTHONPATH"] = str(installed)
    elsewhere = installed.parent / "cwd"
    elsewhere.mkdir(exist_ok=True)
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout, cwd=elsewhere,
                          env=env)


def test_installed_copy_holds_code_and_data_but_no_tests(installed):
    files = {p.relative_to(installed).as_posix() for p in installed.rglob("*") if p.is_file()}
    missing_code = _source_py_files() - files
    assert not missing_code, f"modules left out of the install (add their package to pyproject.toml): {missing_code}"
    want_data = {f"{PACKAGE_DATA}/{f}" for f in _source_data_files()}
    assert want_data <= files, f"data files left out: {want_data - files}"
    assert any(f.startswith(f"{PACKAGE_DATA}/models/") for f in files)
    assert "main.py" in files
    assert not [f for f in files if f.startswith(("tests/", "installer/", "benchmarks/", "scripts/"))]
    assert not [f for f in files if f.endswith("checkpoint.safetensors")]


def test_console_entry_point_help(installed):
    proc = _run(installed, [installed / "bin" / "latent-face-studio", "--help"])
    assert proc.returncode == 0, proc.stderr
    for command in ("train", "encode", "generate", "samplers", "info", "gui"):
        assert command in proc.stdout
    assert proc.stdout.startswith("usage: latent-face-studio")


def test_gui_entry_point_help(installed):
    script = installed / "bin" / "latent-face-studio-gui"
    proc = _run(installed, [script, "--help"])
    assert proc.returncode == 0, proc.stderr
    assert "--screenshot" in proc.stdout and "--sampler" in proc.stdout  # the gui sub-command's own options


def test_entry_point_reports_bad_input_as_one_line(installed):
    proc = _run(installed, [installed / "bin" / "latent-face-studio", "info", "--model", installed / "no-such-model"])
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "no-such-model" in proc.stderr


def test_package_data_found_from_installed_copy(installed):
    code = ("import engine, engine.resources as r; print(engine.__file__); print(r.resources_dir()); "
            "print(r.default_model_dir()); print(r.icon_path())")
    proc = _run(installed, [sys.executable, "-c", code])
    assert proc.returncode == 0, proc.stderr
    engine_file, res, model, icon = map(Path, proc.stdout.splitlines())
    assert engine_file.is_relative_to(installed)
    assert res == installed / PACKAGE_DATA and res.is_dir()
    assert model == res / "models" / "celeba64-z256" and icon.parent == res / "icons"
    for rel in _source_data_files():
        assert (res / rel).stat().st_size == (ROOT / "resources" / rel).stat().st_size, rel


@pytest.mark.skipif(not (ROOT / "resources" / "models" / "celeba64-z256" / "config.json").is_file(),
                    reason="the embedded default model is not in the source tree yet")
def test_installed_command_uses_installed_default_model(installed):
    proc = _run(installed, [installed / "bin" / "latent-face-studio", "info"])
    assert proc.returncode == 0, proc.stderr
    assert str(installed / PACKAGE_DATA / "models" / "celeba64-z256") in proc.stdout


def test_env_override_still_wins(installed, tmp_path):
    proc = _run(installed, [sys.executable, "-c", "import engine.resources as r; print(r.resources_dir())"])
    env_proc = subprocess.run([sys.executable, "-c", "import engine.resources as r; print(r.resources_dir())"],
                              capture_output=True, text=True, timeout=60, cwd=tmp_path,
                              env={**os.environ, "PYTHONPATH": str(installed), "LFS_RESOURCES": str(tmp_path)})
    assert Path(proc.stdout.strip()) == installed / PACKAGE_DATA
    assert Path(env_proc.stdout.strip()) == tmp_path


def test_source_tree_still_uses_source_resources():
    sys.path.insert(0, str(ROOT))
    from engine.resources import resources_dir

    if not os.environ.get("LFS_RESOURCES"):
        assert resources_dir() == ROOT / "resources"


def _pins(name: str) -> dict:
    pins = {}
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            req = Requirement(line)
            pins[req.name.lower()] = next(iter(req.specifier)).version
    return pins


#: The optional extras (pyproject) and the packages each adds to the base install.
EXTRAS = {"train": {"torch"}, "keras": {"h5py", "torch"}, "movie": {"imageio-ffmpeg"}, "haar": {"opencv-python-headless"}}
#: the module each extra's package is imported as, where the two names differ
MODULE = {"opencv-python-headless": "cv2", "imageio-ffmpeg": "imageio_ffmpeg"}


def test_requirements_pins_are_within_pyproject_ranges():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    base = {Requirement(r).name.lower(): Requirement(r) for r in project["dependencies"]}
    extras = project["optional-dependencies"]
    ranges = dict(base)
    for extra, packages in EXTRAS.items():
        reqs = {Requirement(r).name.lower(): Requirement(r) for r in extras[extra]}
        assert set(reqs) == packages, f"extra {extra!r}: {set(reqs)}"
        ranges.update(reqs)
    assert [Requirement(r) for r in extras["all"]] == [Requirement("latent-face-studio[train,keras,movie,haar]")]
    assert not set(base) & {"torch", "h5py", "imageio-ffmpeg", "opencv-python-headless"}, \
        "the base install must not need the extras' packages"
    pins = _pins("requirements.txt")
    assert set(pins) == set(ranges), f"requirements.txt and pyproject.toml list different packages: {set(pins) ^ set(ranges)}"
    outside = {name: pin for name, pin in pins.items() if not ranges[name].specifier.contains(pin, prereleases=True)}
    assert not outside, f"pins outside pyproject's ranges: {outside}"
    assert str(ranges["torch"].specifier) == "==2.13.0"
    for extra in ("train", "keras"):  # one torch, the same everywhere
        assert {str(Requirement(r).specifier) for r in extras[extra] if Requirement(r).name == "torch"} == {"==2.13.0"}
    # requirements-viewer.txt: the base install, with requirements.txt's pins (the README's commands install all)
    viewer = _pins("requirements-viewer.txt")
    assert set(viewer) == set(base), f"requirements-viewer.txt is not the base install: {set(viewer) ^ set(base)}"
    assert viewer == {name: pins[name] for name in viewer}, "requirements-viewer.txt pins differ from requirements.txt"
    scripts = project["scripts"], project["gui-scripts"]
    assert scripts == ({"latent-face-studio": "main:run"}, {"latent-face-studio-gui": "main:run_gui_entry"})


def test_installer_files_are_consistent():
    """The spec compiles and ships the same resource files as the wheel; build.sh parses; the .desktop entry is whole."""
    import ast
    import configparser

    spec = (ROOT / "installer" / "latent-face-studio.spec").read_text()
    tree = ast.parse(spec)
    assigned = {n.targets[0].id: n.value for n in tree.body if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name)}
    assert ast.literal_eval(assigned["DATA_SUFFIXES"]) == DATA_SUFFIXES
    assert "launcher.py" in spec and (ROOT / "installer" / "launcher.py").is_file()
    assert subprocess.run(["bash", "-n", str(ROOT / "installer" / "build.sh")]).returncode == 0
    desktop = configparser.ConfigParser(interpolation=None)
    desktop.optionxform = str
    desktop.read(ROOT / "installer" / "latent-face-studio.desktop")
    entry = desktop["Desktop Entry"]
    assert entry["Type"] == "Application" and entry["Exec"].split()[0] == "latent-face-studio"
    assert entry["Icon"] == "latent-face-studio" and entry["Terminal"] == "false"
    assert (ROOT / "resources" / "icons" / "app.png").is_file()


def test_viewer_bundle_leaves_out_the_extras():
    """The viewer variant of the spec excludes every package the extras add (and torch's own), and build.sh builds
    it from requirements-viewer.txt."""
    import ast

    spec = (ROOT / "installer" / "latent-face-studio.spec").read_text()
    tree = ast.parse(spec)
    assigned = {n.targets[0].id: n.value for n in tree.body if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name)}
    excluded = set(ast.literal_eval(assigned["VIEWER_EXCLUDES"]))
    extras = {MODULE.get(name, name) for packages in EXTRAS.values() for name in packages}
    assert extras | {"sympy", "torchgen", "functorch"} <= excluded
    assert not excluded & {name.replace("-", "_").lower() for name in _pins("requirements-viewer.txt")}
    build = (ROOT / "installer" / "build.sh").read_text()
    assert "--viewer)" in build and "requirements-viewer.txt" in build and "LFS_BUNDLE=viewer" in build
