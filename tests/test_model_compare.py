"""Two models side by side, the building blocks: matching faces by name, alignment (Procrustes, linear map, CCA),
neighbourhood overlap and the judges' accuracies, on data whose answer is known."""
from __future__ import annotations

import numpy as np
import pytest

from engine.errors import DataError
from engine.model_compare import (align, cca, jaccard_rows, match_faces, nearest_neighbours, neighbour_overlap,
                                  overlap_summary, probe_accuracies)


def _rotation(d: int, seed: int) -> np.ndarray:
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))
    return q * np.sign(np.diag(r))


def test_match_faces_by_name_in_a_order_and_counts_the_rest():
    a = [f"{i:06d}.jpg" for i in range(100)]
    b = [f"{i:06d}.jpg" for i in range(150, 39, -1)]  # 40…150 in reverse
    s = match_faces(a, b, minimum=50)
    assert len(s) == 60 and s.names[0] == "000040.jpg" and s.names[-1] == "000099.jpg"
    assert [b[j] for j in s.rows_b] == s.names and [a[i] for i in s.rows_a] == s.names
    assert (s.only_a, s.only_b) == (40, 51)


def test_match_faces_refuses_too_few_in_one_line():
    with pytest.raises(DataError) as e:
        match_faces([f"a{i}" for i in range(100)], [f"a{i}" for i in range(95, 200)], minimum=50)
    assert "share 5 encoded faces" in str(e.value) and "\n" not in str(e.value) and e.value.param == "model"


def test_procrustes_and_linear_map_recover_a_known_rotation():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3000, 32))
    b = a @ _rotation(32, 1) + 0.05 * rng.standard_normal((3000, 32))
    al = align(a, b, held_out=0.2, seed=0)
    assert (al.n_fit, al.n_held_out) == (2400, 600)
    assert al.procrustes_r2 > 0.99 and al.linear_r2 > 0.99 and al.linear_r2_b_to_a > 0.99
    assert np.all(al.canonical_held_out > 0.99) and len(al.canonical) == 32
    mapped = al.map_a_to_b(a[:5])
    assert mapped.shape == (5, 32) and np.abs(mapped - b[:5]).max() < 0.4


def test_alignment_of_unrelated_spaces_of_other_sizes_finds_nothing_held_out():
    rng = np.random.default_rng(2)
    al = align(rng.standard_normal((2000, 24)), rng.standard_normal((2000, 12)), seed=0)
    assert (al.z_dim_a, al.z_dim_b) == (24, 12) and len(al.canonical) == 12
    assert al.linear_r2 < 0.05 and al.procrustes_r2 < 0.05
    assert al.canonical_held_out.max() < 0.15  # fitted ones are larger: chance correlation, seen only in-sample
    assert al.map_a_to_b(np.zeros((1, 24))).shape == (1, 12)


def test_cca_finds_the_planted_correlations():
    rng = np.random.default_rng(3)
    n = 20000
    shared = rng.standard_normal((n, 2))
    rho = np.array([0.9, 0.5])
    x = np.hstack([shared, rng.standard_normal((n, 3))])
    y_sh = shared * rho + rng.standard_normal((n, 2)) * np.sqrt(1 - rho ** 2)
    y = np.hstack([rng.standard_normal((n, 2)), y_sh]) @ _rotation(4, 4)
    corr, wx, wy = cca(x, y, ridge=1e-6)
    assert corr.shape == (4,) and wx.shape == (5, 4) and wy.shape == (4, 4)
    assert abs(corr[0] - 0.9) < 0.01 and abs(corr[1] - 0.5) < 0.02 and corr[2] < 0.05


def test_nearest_neighbours_match_brute_force_and_never_self():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((300, 6))
    nn = nearest_neighbours(x, 4, chunk=64)
    d = ((x[:, None] - x[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    assert np.array_equal(nn, np.argsort(d, axis=1)[:, :4])


def test_jaccard_rows_counts_common_neighbours():
    a = np.array([[1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4]])
    b = np.array([[4, 3, 2, 1], [1, 2, 9, 8], [5, 6, 7, 8]])
    assert np.allclose(jaccard_rows(a, b), [1.0, 2 / 6, 0.0])


def test_overlap_is_near_one_for_a_rotation_and_near_chance_for_unrelated():
    rng = np.random.default_rng(6)
    a = rng.standard_normal((1500, 8))
    same = neighbour_overlap(a, a @ _rotation(8, 7) + 0.01 * rng.standard_normal((1500, 8)), 10, whiten=True)
    assert same.shape == (1500,) and np.median(same) > 0.9
    other = neighbour_overlap(a, rng.standard_normal((1500, 8)), 10)
    assert np.mean(other) < 0.02
    s = overlap_summary(other, [f"f{i}" for i in range(1500)], 10, least=3)
    assert s["faces"] == 1500 and len(s["least"]) == 3 and s["least"][0]["overlap"] == float(other.min())
    assert abs(s["chance"] - 10 / 1499) < 1e-4


def test_probe_accuracies_high_where_the_label_is_linear_and_chance_where_noise():
    from engine.attributes.labels import AttributeTable

    rng = np.random.default_rng(8)
    z = rng.standard_normal((600, 5))
    lab = np.stack([np.where(z[:, 0] > 0, 1.0, -1.0), np.where(rng.random(600) > 0.5, 1.0, -1.0)], axis=1)
    table = AttributeTable(["Left", "Coin"], lab, [f"{i}" for i in range(600)])
    acc = probe_accuracies(z, table, ["Left", "Coin"])
    assert acc["Left"] > 0.95 and 0.4 < acc["Coin"] < 0.6
    rows = np.arange(0, 600, 2)
    acc2 = probe_accuracies(z[rows], table, ["Left"], rows=rows)
    assert acc2["Left"] > 0.93


def test_procrustes_rotation_is_scipys():
    from scipy.linalg import orthogonal_procrustes

    rng = np.random.default_rng(9)
    a = rng.standard_normal((500, 6))
    b = a @ _rotation(6, 10) + 0.3 * rng.standard_normal((500, 6))
    al = align(a, b, held_out=0.2, seed=1)
    perm = np.random.default_rng(1).permutation(500)
    fit = perm[100:]
    sa = (a[fit] - a[fit].mean(0)) / a[fit].std(0)
    sb = (b[fit] - b[fit].mean(0)) / b[fit].std(0)
    r, _ = orthogonal_procrustes(sa, sb)
    assert np.allclose(al.rotation, r, atol=1e-8)
