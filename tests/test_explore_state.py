"""The Qt-free exploration state (engine/explore_state.py): each change keeps the state consistent and reports
what it touched, in the order the window's panels hear it."""
from __future__ import annotations

import sys
from types import SimpleNamespace

import numpy as np

from engine.explore_state import REPLAY_ORDER, Change, ExplorationState, PhotoEntry, Sample


def _model(z_dim: int = 6):
    return SimpleNamespace(z_dim=z_dim, latents=np.zeros((10, z_dim), np.float32), labels=None)


def _sample(n: int = 4, d: int = 6) -> Sample:
    return Sample(np.arange(n * d, dtype=np.float32).reshape(n, d), np.zeros((n, 8, 8, 3), np.uint8), {})


def _photo(z) -> PhotoEntry:
    return PhotoEntry(SimpleNamespace(z=np.asarray(z, np.float32), source="/x/me.jpg", reconstruction=None), [])


def test_the_state_imports_no_qt():
    import subprocess
    from pathlib import Path

    code = "import sys, engine.explore_state; print(sorted(m for m in sys.modules if m.startswith(('PySide6', 'torch'))))"
    res = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1], capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0 and res.stdout.strip() == "[]", res.stdout + res.stderr


def test_a_new_model_clears_what_belonged_to_the_old_one_and_clips_the_axes():
    s = ExplorationState()
    s.set_axes(("z", 200), ("pca", 3))
    s.set_sample(_sample())
    s.add_photo(_photo(np.ones(6)))
    s.set_path_vertices([(0, 0), (1, 1)])
    s.set_bookmarks(["a view of the old model's faces"])
    changes = s.set_model(_model(z_dim=6))
    assert changes == [Change.MODEL, Change.COLOUR_BY, Change.STATS, Change.PHOTOS, Change.DIRECTIONS, Change.PROBE,
                       Change.PATH, Change.SAMPLE, Change.SELECTION, Change.CLOUD_SELECTION,
                       Change.BOOKMARKS, Change.GROUPS]
    assert s.sample is None and s.photos == [] and s.path_vertices == [] and s.current is None
    assert s.bookmarks == [] and s.axes == (("z", 5), ("pca", 3))


def test_another_model_closes_the_dataset_and_the_same_model_reopened_keeps_it():
    """The open dataset was framed for its model: another model folder closes it (Encode asks for a folder
    again); the same folder reopened (labels imported, its dataset encoded) keeps it."""
    from pathlib import Path

    s = ExplorationState()
    a, b = _model(), _model(z_dim=4)
    a.folder, b.folder = Path("/m/a"), Path("/m/b")
    s.set_model(a)
    s.set_dataset("faces of a")
    again = _model()
    again.folder = Path("/m/a")
    assert Change.DATASET not in s.set_model(again) and s.dataset == "faces of a"
    changes = s.set_model(b)
    assert s.dataset is None and changes.index(Change.DATASET) == changes.index(Change.STATS) + 1
    assert Change.DATASET not in s.set_model(None)  # nothing left to close


def test_selection_is_clipped_and_an_unchanged_selection_reports_nothing():
    s = ExplorationState()
    s.set_model(_model())
    assert s.set_sample(_sample(4)) == [Change.SAMPLE, Change.SELECTION]
    assert (s.current, s.selected) == (0, [0])
    assert s.select(2, [2, 3, 9, -1]) == [Change.SELECTION]
    assert (s.current, s.selected) == (2, [2, 3])
    assert s.select(2, [3, 2]) == []
    assert s.select(7) == [Change.SELECTION] and s.current is None and s.selected == []


def test_edits_photos_and_focus():
    s = ExplorationState()
    s.set_model(_model())
    s.set_sample(_sample())
    s.set_edited(np.full(6, 7.0))
    np.testing.assert_array_equal(s.current_z(), np.full(6, 7.0, np.float32))
    i, changes = s.add_photo(_photo(np.full(6, 2.0)))
    assert (i, changes) == (0, [Change.PHOTOS])
    assert s.inspect_photo(0) == [Change.SELECTION]
    assert s.focus() == ("photo", 0) and s.edited_z is None
    np.testing.assert_array_equal(s.current_z(), np.full(6, 2.0, np.float32))
    assert s.remove_photo(0) == [Change.PHOTOS, Change.SELECTION]
    assert s.focus() == ("face", 0)
    assert s.remove_photo(5) == []


def test_axes_change_drops_a_path_drawn_in_the_old_axes():
    s = ExplorationState()
    s.set_path_vertices([(0, 0), (2, 1)])
    assert s.set_axes(("pca", 0), ("pca", 1)) == []  # the same axes: nothing
    assert s.set_axes(("z", 0), ("z", 1)) == [Change.PATH, Change.AXES]
    assert s.path_vertices == []
    assert list(REPLAY_ORDER)[:2] == [Change.MODEL, Change.COLOUR_BY] and len(REPLAY_ORDER) == 16  # (the sampler: 16th)
