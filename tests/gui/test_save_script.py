"""File ▸ Save as script: the sets a session saved, made again byte for byte by the script run in a fresh process
(issue 28, part 4)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

ROOT = Path(__file__).resolve().parents[2]


def _files(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")}


def _save(window, qtbot, folder, which="all"):
    job = window.window_actions.save_image_set(folder, which=which, overwrite=False)
    assert job is not None
    qtbot.waitUntil(lambda: (folder / "params.json").exists() and not window.bridge.busy(), timeout=30000)


def test_the_script_makes_the_saved_sets_again_byte_for_byte(window, qtbot, tmp_path):
    from engine.explore_state import Sample
    from engine.workflows.move_faces import move_of, move_set

    w, s = window, window.session
    w.sampler_panel.seed.setValue(7)
    w.sampler_panel.count.setValue(9)
    w.generate_action.trigger()
    qtbot.waitUntil(lambda: s.sample is not None and len(s.sample.z) == 9 and not w.bridge.busy(), timeout=30000)
    sets = {"all": tmp_path / "all", "picked": tmp_path / "picked", "moved": tmp_path / "moved"}
    _save(w, qtbot, sets["all"])
    s.select(1, [1, 4, 6])
    _save(w, qtbot, sets["picked"], which="selection")
    base = s.sample  # the window's "apply to all" along PC2, as gui/qt_apply_all.py does it
    moved = move_set(s.model.codec, base.z, base.params, move_of(s.model, axis="PC2"), 1.25)
    s.set_sample(Sample(moved.z, moved.images, moved.params))
    _save(w, qtbot, sets["moved"])

    script = tmp_path / "again.py"
    w.window_actions.save_script(script)
    qtbot.waitUntil(lambda: script.exists() and not w.bridge.busy(), timeout=30000)
    text = script.read_text()
    assert "model.move(faces, 1.25, axis='PC2')" in text and "faces[[1, 4, 6]].save(" in text
    before = {k: _files(f) for k, f in sets.items()}
    for f in sets.values():
        shutil.rmtree(f)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, env=env,
                         cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    for key, folder in sets.items():
        after = _files(folder)
        assert set(after) == set(before[key]), key
        for name, data in before[key].items():
            assert after[name] == data, f"{key}/{name} differs"


def test_a_script_of_nothing_is_refused(window):
    from engine.errors import EngineError
    from engine.workflows.script import save_script

    with pytest.raises(EngineError, match="no image set was saved"):
        save_script("/tmp/none.py", window.session.model.folder, [])


def test_a_set_moved_along_a_lab_direction_is_left_out_with_its_reason():
    from engine.workflows.script import SavedSetEntry, script_text

    params = {"sampler": "normal", "n": 4, "seed": 1, "parameters": {"scale": 0.5},
              "applied": [{"kind": "direction", "name": "ica 3", "amount": 2.0}]}
    text = script_text("/m", [SavedSetEntry("/out/a", params), SavedSetEntry("/out/b", {**params, "applied": []},
                                                                              (0, 2), 3)])
    assert "# /out/a: left out — a move along the lab's direction 'ica 3'" in text
    assert "faces = model.generate(4, sampler='normal', seed=1, **{'scale': 0.5})" in text
    assert "faces[[0, 2]].save('/out/b', overwrite=True, columns=3)" in text
    compile(text, "script", "exec")  # valid Python
