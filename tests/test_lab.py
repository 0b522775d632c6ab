"""The direction lab's one home (engine/lab): the method registry drives the CLI and the GUI, a new method is
one decorated function in one file, the random-orthogonal baseline ranks last, and the layering holds."""
from __future__ import annotations

import ast
import re
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from engine import lab as D
from engine.errors import EngineError

ROOT = Path(__file__).resolve().parents[1]


def _as_cli(exc) -> str:
    """An engine error as the CLI prints it: its options named as flags."""
    return exc.render(lambda p: "--" + p.replace("_", "-"))


def _method_action(parser):
    sub = next(a for a in parser._actions if a.dest == "command")
    return next(a for a in sub.choices["directions"]._actions if a.dest == "method")


def _cloud(seed=0, n=2000, d=12):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)) * np.linspace(4.0, 0.5, d) @ np.linalg.qr(rng.normal(size=(d, d)))[0]


def test_random_orthogonal_is_orthonormal_seeded_and_in_the_lab_unit():
    z = _cloud()
    dirs = D.find_directions(z, "random-orthogonal", k=5, seed=7)
    u = np.stack([d.unit for d in dirs])
    np.testing.assert_allclose(u @ u.T, np.eye(5), atol=1e-12)
    cov = np.cov(z, rowvar=False)
    np.testing.assert_allclose([d.sigma for d in dirs], np.sqrt(np.einsum("ij,jk,ik->i", u, cov, u)), rtol=1e-12)
    assert [d.name for d in dirs] == [f"random {i}" for i in range(1, 6)]
    assert {d.method for d in dirs} == {"random-orthogonal"} and dirs[0].meta == {"seed": 7}
    again = D.find_directions(z, "random-orthogonal", k=5, seed=7)
    other = D.find_directions(z, "random-orthogonal", k=5, seed=8)
    assert all(np.array_equal(a.vector, b.vector) for a, b in zip(dirs, again))
    assert not np.allclose(dirs[0].vector, other[0].vector)
    with pytest.raises(EngineError) as info:
        D.find_directions(z, "random-orthogonal", k=13)
    assert info.value.param == "k" and _as_cli(info.value).startswith("--k 13: ")


def test_the_lab_measures_rank_random_orthogonal_last(tiny_model):
    """On the tiny model's z-points (96 × 8): per method, the mean of three measures over its k=3 directions.
    Measured: variance share pca 0.32, varimax 0.42, ica 0.60, random 0.12; Mahalanobis length of one unit
    pca 1.00, varimax 1.33, ica 1.41, random 11.3; share of typical faces a ±2 move carries out of the 2σ
    ellipsoid pca 0.10, varimax 0.31, ica 0.34, random 1.00."""
    from engine.formats.native import load_latents, read_config

    z, _ = load_latents(tiny_model, read_config(tiny_model).arch.z_dim)
    mean = {}
    for m in ("pca", "ica", "varimax", "random-orthogonal"):
        ms = D.measure_directions(z, D.find_directions(z, m, k=3, seed=0))
        mean[m] = {key: float(np.mean([getattr(x, key) for x in ms]))
                   for key in ("variance_share", "maha_per_unit", "outside_2s")}
    rnd = mean.pop("random-orthogonal")
    # ranked by each measure (best first), the baseline comes last every time
    assert rnd["variance_share"] < min(v["variance_share"] for v in mean.values()) * 0.6
    assert rnd["maha_per_unit"] > max(v["maha_per_unit"] for v in mean.values()) * 2
    assert rnd["outside_2s"] > max(v["outside_2s"] for v in mean.values()) + 0.3
    assert mean["pca"]["maha_per_unit"] == pytest.approx(1.0, abs=1e-6)


def test_the_registry_drives_the_cli_choices_and_help():
    import main

    action = _method_action(main.build_parser())
    assert list(action.choices) == list(D.method_names())
    assert "random-orthogonal" in action.choices and "random-orthogonal:" in action.help
    assert D.method_names() == D.METHODS == D.UNSUPERVISED + D.SUPERVISED

    @D.direction_method("test-only", kind="unsupervised", order=99, help="test only: 50% of nothing")
    def _first_axis(q):
        return D.pca_directions(q.z, 1)

    try:
        action = _method_action(main.build_parser())
        assert list(action.choices)[-3:] == ["test-only", "attribute", "conditional"]
        sub = next(a for a in main.build_parser()._actions if a.dest == "command").choices["directions"]
        assert "test-only:testonly:50%ofnothing" in "".join(sub.format_help().split())  # wrapped anywhere
        assert "test-only" in D.UNSUPERVISED and [d.name for d in D.find_directions(_cloud(), "test-only")] == ["pca 1"]
    finally:
        D.methods.unregister("test-only")
    assert "test-only" not in _method_action(main.build_parser()).choices


def test_one_new_file_adds_a_method(tmp_path, monkeypatch):
    import engine.lab.methods as pkg

    (tmp_path / "zz_flip.py").write_text(textwrap.dedent('''
        from engine.lab.direction import check_z, cloud, make
        from engine.lab.methods import direction_method

        @direction_method("flip", kind="unsupervised", params=("k",), help="test only: the z axes")
        def flip(q):
            z = check_z(q.z)
            mean, cov = cloud(z)
            return make("axis", "flip", __import__("numpy").eye(z.shape[1])[: q.k], mean, cov)
    '''))
    monkeypatch.setattr(pkg, "__path__", [*pkg.__path__, str(tmp_path)])
    try:
        pkg._discover()
        assert "flip" in D.method_names("unsupervised") and D.method_spec("flip").takes("k")
        dirs = D.find_directions(_cloud(), "flip", k=2)
        ds = D.DirectionSet("flips", "model-a", 12, dirs)
        D.save_direction_set(tmp_path / "flips", ds)
        assert [d.method for d in D.load_direction_set(tmp_path / "flips.json").directions] == ["flip", "flip"]
    finally:
        D.methods.unregister("flip")
        sys.modules.pop("engine.lab.methods.zz_flip", None)
    with pytest.raises(EngineError, match="method 'flip' is not one of"):
        D.load_direction_set(tmp_path / "flips.json")


def test_the_options_are_checked_by_the_registry():
    from engine.workflows.directions import DirectionOptions

    DirectionOptions("random-orthogonal", k=3, seed=2).check()
    cases = [
        (DirectionOptions("attribute"), "--method attribute: name the attribute"),
        (DirectionOptions("conditional", attributes=["Smiling"]), "--method conditional: name the attribute.s. to hold"),
        (DirectionOptions("random-orthogonal", hold=["Male"]), r"--hold: only with --method conditional \(got"),
        (DirectionOptions("pca", attributes=["Smiling"]), "--attribute: only with --method attribute or conditional"),
        (DirectionOptions("pca", sort="colour"), "--sort 'colour': unknown column"),
        (DirectionOptions("nope"), "--method 'nope': unknown; allowed: pca, ica, varimax, decoder, random-orthogonal"),
    ]
    for options, match in cases:
        with pytest.raises(EngineError) as info:
            options.check()
        assert re.search(match, _as_cli(info.value)), _as_cli(info.value)


def test_cli_random_orthogonal_end_to_end(tiny_model, tmp_path, capsys):
    import main

    out = tmp_path / "rnd"
    assert main.run(["directions", "--model", str(tiny_model), "--method", "random-orthogonal", "--k", "3",
                     "--seed", "4", "--no-images", "--sort", "maha", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"3 random-orthogonal direction(s) of {tiny_model}; 1 unit = {D.UNIT_TEXT}")
    assert "no labels.csv, so no names" in text and f"wrote 3 direction(s) to {out}.json" in text
    saved = D.load_direction_set(out)
    assert [d.method for d in saved.directions] == ["random-orthogonal"] * 3
    assert saved.name == "random-orthogonal directions" and saved.directions[0].meta == {"seed": 4}


def test_the_registry_drives_the_gui_lists(qtbot):
    pytest.importorskip("pytestqt")
    from gui.engine_bridge import EngineBridge
    from gui.qt_directions import DirectionsPanel
    from gui.session import Session

    bridge = EngineBridge()
    try:
        @D.direction_method("test-gui", kind="supervised", order=99, params=("attributes",), help="test only")
        def _nothing(q):
            return []

        try:
            panel = DirectionsPanel(Session(), bridge)
            qtbot.addWidget(panel)
        finally:
            D.methods.unregister("test-gui")
        names = [panel.method.itemData(i) for i in range(panel.method.count())]
        assert names == list(D.method_names()) + ["test-gui"] and "random-orthogonal" in names
        tips = [panel.method.itemData(i, 0x0003) for i in range(panel.method.count())]  # ToolTipRole
        assert tips[names.index("random-orthogonal")] == D.method_spec("random-orthogonal").help
        # no labels: the supervised ones (the registry says they need labels) are disabled
        enabled = {n: panel.method.model().item(i).isEnabled() for i, n in enumerate(names)}
        assert not enabled["attribute"] and not enabled["test-gui"] and enabled["random-orthogonal"]
        panel.method.setCurrentIndex(names.index("random-orthogonal"))
        assert panel.k.isEnabled() and not panel.attr_widget.isVisibleTo(panel)
        maps = [panel.map_method.itemData(i) for i in range(panel.map_method.count())]
        assert maps == [s.name for s in D.map_specs() if s.available()]
    finally:
        bridge.shutdown()


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            found.add(base)
            found.update(f"{base}.{a.name}" if base.endswith(".") is False else base + a.name for a in node.names)
    return found


def test_the_lab_imports_no_workflow_and_the_engine_no_qt():
    for path in sorted((ROOT / "engine" / "lab").rglob("*.py")):
        bad = [m for m in _imports(path) if "workflows" in m]
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}: building blocks never import workflows"
    for path in sorted((ROOT / "engine").rglob("*.py")):
        bad = [m for m in _imports(path) if m.split(".")[0] in ("PySide6", "PyQt5", "PyQt6", "pyqtgraph", "gui")]
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}: the engine never imports Qt"
    assert not (ROOT / "engine" / "directions.py").exists()
