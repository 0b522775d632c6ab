"""Undo/redo of an exploration (engine/history.py): every step comes back exactly, drags are one step, memory is
bounded."""
from __future__ import annotations

import numpy as np

from engine.explore_state import Change, ExplorationState, Sample
from engine.history import UNDOABLE, History, _same, snapshot


class _Model:
    folder = "m"
    z_dim = 8
    labels = None
    latents = np.zeros((10, 8), np.float32)


def _state() -> ExplorationState:
    s = ExplorationState()
    s.set_model(_Model())
    return s


def _sample(n: int, seed: int) -> Sample:
    rng = np.random.default_rng(seed)
    return Sample(rng.normal(size=(n, 8)).astype(np.float32), np.zeros((n, 4, 4, 3), np.uint8), {"seed": seed})


def _equal(a: dict, b: dict) -> bool:
    return all(_same(a[k], b[k]) for k in UNDOABLE)


def test_each_kind_of_step_is_undone_and_redone_exactly():
    s = _state()
    h = History(s)
    actions = [
        ("generate", lambda: s.set_sample(_sample(6, 0))),
        ("select", lambda: s.select(3, [1, 3])),
        ("axes", lambda: s.set_axes(("pca", 2), ("z", 5))),
        ("path", lambda: s.set_path_vertices([(0, 1), (2, 3)])),
        ("directions", lambda: s.set_directions(["d1", "d2"])),
        ("probe", lambda: s.set_probe("point")),
        ("generate again", lambda: s.set_sample(_sample(4, 1))),
    ]
    states = [snapshot(s)]
    for label, action in actions:
        h.record(label, action)
        states.append(snapshot(s))
    assert [st.label for st in h.done] == [a[0] for a in actions]
    for i in range(len(actions), 0, -1):
        assert h.undo_label() == actions[i - 1][0]
        changes = h.undo()
        assert changes and all(isinstance(c, Change) for c in changes)
        assert _equal(snapshot(s), states[i - 1]), f"undo of {actions[i - 1][0]!r} did not restore the state"
    assert h.undo() == [] and h.undo_label() is None
    for i in range(1, len(actions) + 1):
        h.redo()
        assert _equal(snapshot(s), states[i]), f"redo of {actions[i - 1][0]!r}"


def test_undo_announces_the_kinds_it_changed():
    s = _state()
    h = History(s)
    h.record("axes", lambda: s.set_axes(("z", 1), ("z", 2)))
    assert h.undo() == [Change.AXES]
    h.record("generate", lambda: s.set_sample(_sample(3, 0)))
    changes = h.undo()
    assert Change.SAMPLE in changes and Change.SELECTION in changes and s.sample is None


def test_a_drag_is_one_step_until_sealed():
    s = _state()
    h = History(s)
    h.record("Axes z0 × z1", lambda: s.set_axes(("z", 0), ("z", 1)))
    for k in range(20):  # the moves of one drag of the probe
        h.record(f"probe {k}", lambda k=k: s.set_probe(f"p{k}"), key="probe")
    assert len(h.done) == 2 and h.undo_label() == "probe 19"
    h.seal()
    h.record("probe again", lambda: s.set_probe("q"), key="probe")
    assert len(h.done) == 3
    h.undo()
    assert s.probe == "p19"
    h.undo()
    assert s.probe is None  # the whole drag in one step
    assert s.axes == (("z", 0), ("z", 1))


def test_nothing_changed_is_no_step_and_a_new_step_clears_redo():
    s = _state()
    h = History(s)
    h.record("same axes", lambda: s.set_axes(*s.axes))
    assert h.done == []
    h.record("a", lambda: s.set_axes(("z", 1), ("z", 2)))
    h.undo()
    assert h.redo_label() == "a"
    h.record("b", lambda: s.set_axes(("z", 3), ("z", 4)))
    assert h.redo_label() is None


def test_a_hundred_and_fifty_steps_all_come_back_in_bounded_memory():
    s = _state()
    h = History(s)
    first = snapshot(s)
    for k in range(150):
        h.record(f"path {k}", lambda k=k: s.set_path_vertices([(k, k), (k + 1, 0)]))
        h.record(f"select {k}", lambda k=k: s.select(None, []))
    assert len(h.done) == 150  # selecting nothing twice is no step
    assert h.nbytes() < 100_000
    while h.done:
        h.undo()
    assert _equal(snapshot(s), first)


def test_the_limit_drops_the_oldest_steps():
    s = _state()
    h = History(s, limit=100)
    for k in range(130):
        h.record(f"axes {k}", lambda k=k: s.set_axes(("z", k % 8), ("z", (k + 1) % 8)))
    assert len(h.done) == 100 and h.done[0].label == "axes 30"
