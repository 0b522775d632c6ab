"""The cloud selection (engine/selection.py): masks from a box, a polygon and a range, their algebra, the views'
numbers (histogram pair, prevalence, spread), and the exploration state's field."""
from __future__ import annotations

import numpy as np
import pytest

from engine import selection as S


def _grid():
    x, y = np.meshgrid(np.arange(10.0), np.arange(10.0))
    return np.column_stack([x.ravel(), y.ravel()])  # 100 points on a 10×10 grid


def test_box_counts_points_inside_whatever_the_corner_order():
    xy = _grid()
    m = S.from_box(xy, 6.5, 1.5, 4.5, 2.5)  # x 2..6, y 3..4
    assert m.sum() == 5 * 2
    assert set(map(tuple, xy[m])) == {(x, y) for x in range(2, 7) for y in (3, 4)}


def test_polygon_triangle_and_square_match_the_exact_rule():
    xy = _grid()
    square = [(1.5, 1.5), (4.5, 1.5), (4.5, 4.5), (1.5, 4.5)]
    assert S.from_polygon(xy, square).sum() == 9
    tri = S.from_polygon(xy, [(-0.5, -0.5), (9.7, -0.5), (-0.5, 9.7)])  # x + y < 9.2
    assert tri.sum() == sum(1 for x, y in xy if x + y <= 9) == 55
    assert S.from_polygon(xy, [(0, 0), (5, 5)]).sum() == 0  # fewer than 3 vertices: nothing


def test_polygon_by_y_bands_agrees_with_the_plain_even_odd_rule():
    rng = np.random.default_rng(1)
    xy = rng.normal(size=(5000, 2))
    t = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    star = np.column_stack([np.cos(t), np.sin(t)]) * (1 + 0.5 * (np.arange(40) % 2))[:, None]
    a = S.from_polygon(xy, star)
    b = S._inside_numpy(xy, star)
    c = S.PointIndex(xy).polygon(star)
    assert a.sum() > 500 and np.array_equal(a, b) and np.array_equal(a, c)


def test_range_and_algebra():
    v = np.arange(10.0)
    a = S.from_range(v, 6, 2)  # 2..6
    b = S.from_range(v, 5, 8)
    assert a.sum() == 5
    assert np.flatnonzero(S.combine(a, b, "add")).tolist() == list(range(2, 9))
    assert np.flatnonzero(S.combine(a, b, "subtract")).tolist() == [2, 3, 4]
    assert np.flatnonzero(S.combine(a, b, "intersect")).tolist() == [5, 6]
    assert np.array_equal(S.combine(a, b, "replace"), b)
    assert S.combine(None, b, "subtract").sum() == 0 and S.combine(None, b, "add").sum() == 4
    with pytest.raises(ValueError):
        S.combine(a, b, "xor")
    with pytest.raises(ValueError):
        S.combine(a[:5], b, "add")


def test_cloud_selection_value_apply_and_invert():
    v = np.arange(10.0)
    sel = S.apply(None, S.from_range(v, 0, 4), "add", "range")
    assert sel.count == 5 and sel.n == 10 and sel.how == "range"
    sel2 = S.apply(sel, S.from_range(v, 3, 9), "intersect", "box")
    assert sel2.indices.tolist() == [3, 4] and sel2.how == "range, then intersect box"
    inv = sel2.inverted()
    assert inv.count == 8 and not inv.mask[3]


def test_histogram_pair_and_prevalence_numbers():
    v = np.array([0.1, 0.2, 1.5, 1.6, 2.5])
    mask = np.array([True, False, True, True, False])
    whole, sel = S.histogram_pair(v, mask, np.array([0.0, 1.0, 2.0, 3.0]))
    assert whole.tolist() == [2, 2, 1] and sel.tolist() == [1, 2, 0]
    present = np.array([[1, 0], [1, 0], [0, 1], [0, 0]], bool)  # (present implies known)
    known = np.array([[1, 1], [1, 1], [1, 1], [1, 0]], bool)
    p = S.prevalence(S.LabelMatrix.of(present, known, ["A", "B"]), np.array([True, True, False, False]))
    assert p.selected.tolist() == [1.0, 0.0] and p.count == 2
    assert p.overall.tolist() == [0.5, pytest.approx(1 / 3)]
    assert p.ranked()[0] == 0  # A differs by 0.5, B by 1/3


def test_spread_is_a_stable_subset():
    mask = np.zeros(1000, bool)
    mask[::3] = True
    a, b = S.spread(mask, 24), S.spread(mask, 24)
    assert len(a) == 24 and np.array_equal(a, b) and mask[a].all() and np.all(np.diff(a) > 0)
    assert len(S.spread(mask[:30], 24)) == 10


def test_state_keeps_the_cloud_selection_and_drops_it_with_the_model():
    from engine.explore_state import Change, ExplorationState

    class M:
        z_dim, folder, labels = 2, "/m", None
        latents = np.zeros((10, 2), np.float32)

    st = ExplorationState()
    st.set_model(M())
    sel = S.CloudSelection(S.from_range(np.arange(10.0), 0, 2), "range")
    assert st.set_cloud_selection(sel) == [Change.CLOUD_SELECTION] and st.cloud_selection is sel
    with pytest.raises(ValueError):
        st.set_cloud_selection(S.CloudSelection(np.ones(5, bool)))
    assert st.set_cloud_selection(S.CloudSelection(np.zeros(10, bool))) == [Change.CLOUD_SELECTION]
    assert st.cloud_selection is None and st.set_cloud_selection(None) == []  # empty = nothing; nothing twice: no change
    st.set_cloud_selection(sel)
    assert Change.CLOUD_SELECTION in st.set_model(M()) and st.cloud_selection is None
