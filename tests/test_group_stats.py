"""Statistics of a group against the whole, the rest or a second group (engine/group_stats.py)."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from engine.attributes import AttributeTable
from engine.errors import EngineError
from engine.group_stats import BINS, auc_from_hists, cloud_basis, direction_between, group_stats


def exact_auc(a: np.ndarray, b: np.ndarray) -> float:
    """P(a > b) + ½ P(a = b) by ranks."""
    from scipy.stats import rankdata

    r = rankdata(np.concatenate([a, b]))
    return float((r[: len(a)].sum() - len(a) * (len(a) + 1) / 2) / (len(a) * len(b)))


def _cloud(n=4000, d=6, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, d)) * np.array([3.0, 2, 1.5, 1, 0.5, 0.25])[:d]
    A = np.where(z[:, 0] + rng.normal(0, 1, n) > 1, 1.0, -1.0)  # follows z0
    B = np.where(rng.random(n) < 0.3, 1.0, -1.0)  # noise, 30 % present
    table = AttributeTable(["A", "B"], np.stack([A, B], 1), [f"{i}.png" for i in range(n)])
    judges = SimpleNamespace(names=["A"], weights=np.array([[1.0, 0, 0, 0, 0, 0][:d]]), bias=np.array([-1.0]))
    return z.astype(np.float32), table, judges


def test_distribution_and_prevalence_against_the_whole():
    z, table, judges = _cloud()
    b = cloud_basis(z, labels=table, judges=judges)
    mask = z[:, 1] > 2.0  # about 16 %: shifted on z1
    st = group_stats(b, mask)
    assert st.count == mask.sum() and st.other_count == len(z) - mask.sum() and st.other == "the rest"
    want = (z[mask].mean(0) - z.mean(0)) / z.std(0)
    np.testing.assert_allclose(st.mean_shift, want, atol=1e-4)
    np.testing.assert_allclose(st.sd_ratio, z[mask].std(0) / z.std(0), atol=1e-4)
    assert st.mean_shift[1] > 1.2 and abs(st.mean_shift[3]) < 0.15
    # histograms on shared bins: every point counted, the group's inside the whole's
    assert st.hist_group.shape == st.hist_whole.shape == (6, BINS)
    assert (st.hist_group.sum(1) == mask.sum()).all() and (st.hist_whole.sum(1) == len(z)).all()
    assert (st.hist_group <= st.hist_whole).all()
    np.testing.assert_array_equal(st.hist_group[1], np.histogram(np.clip(z[mask, 1], st.edges(1)[0], st.edges(1)[-1] - 1e-6),
                                                                 st.edges(1))[0])
    prev = dict((n, (g, w)) for n, g, w in st.prevalence)
    assert prev["B"][1] == pytest.approx((table.column("B") > 0).mean())
    assert prev["A"][0] == pytest.approx((table.column("A")[mask] > 0).mean())
    jp = dict((n, (g, w)) for n, g, w in st.judge_prevalence)
    p = 1 / (1 + np.exp(-(z[:, 0] - 1.0)))
    assert jp["A"][0] == pytest.approx(p[mask].mean(), rel=1e-4) and jp["A"][1] == pytest.approx(p.mean(), rel=1e-4)


@pytest.mark.parametrize("frac", [0.1, 0.8])  # the group read directly, and through its complement
def test_ranking_separates_by_auc_and_smd(frac):
    z, table, judges = _cloud()
    b = cloud_basis(z, labels=table, judges=judges)
    cut = np.quantile(z[:, 0], 1 - frac)
    mask = z[:, 0] > cut
    st = group_stats(b, mask)
    top = st.ranking[0]
    assert top.kind == "axis" and top.name == "PC1" or top.kind == "judge"
    rows = {(r.kind, r.name): r for r in st.ranking}
    pc1 = rows[("axis", "PC1")]  # PC1 = ±z0 (largest variance)
    sign = np.sign(b.axes[0, 0])
    coord = sign * z[:, 0] / z[:, 0].std()
    assert pc1.auc == pytest.approx(exact_auc(coord[mask], coord[~mask]), abs=0.01)
    assert pc1.smd == pytest.approx(coord[mask].mean() - coord[~mask].mean(), rel=0.01)
    judge = rows[("judge", "A")]
    assert judge.auc == pytest.approx(1.0, abs=0.01)  # the judge is monotone in z0: complete separation
    lab = rows[("label", "A")]
    pa = (table.column("A") > 0)
    assert lab.group == pytest.approx(pa[mask].mean()) and lab.other == pytest.approx(pa[~mask].mean())
    assert lab.auc == pytest.approx(0.5 + (lab.group - lab.other) / 2)
    noise = rows[("label", "B")]
    assert abs(noise.auc - 0.5) < 0.05 and noise.strength < pc1.strength
    # an axis outside the AUC budget keeps its SMD
    st2 = group_stats(b, mask, auc_axes=1)
    assert sum(r.auc is not None for r in st2.ranking if r.kind == "axis") == 1


def test_against_a_second_group_and_the_direction_between():
    z, table, judges = _cloud()
    b = cloud_basis(z, labels=table)
    g1, g2 = z[:, 2] > 1.0, z[:, 2] < -1.0
    st = group_stats(b, g1, g2, other="low z2")
    assert st.other == "low z2" and st.other_count == g2.sum()
    pc3 = {r.name: r for r in st.ranking if r.kind == "axis"}["PC3"]  # z2 is the third-largest axis
    sign = np.sign(b.axes[2, 2])
    c = sign * z[:, 2] / z[:, 2].std()
    assert pc3.auc == pytest.approx(exact_auc(c[g1], c[g2]), abs=0.01) and abs(pc3.auc - 0.5) > 0.45
    d = direction_between(b, g2, g1, "low → high")
    gap = z[g1].mean(0) - z[g2].mean(0)
    u = gap / np.linalg.norm(gap)
    sigma = np.sqrt(u @ np.cov(z.T, bias=True) @ u)
    assert d.sigma == pytest.approx(sigma, rel=0.02) and d.method == "attribute"
    assert d.meta["amount"] == pytest.approx(np.linalg.norm(gap) / sigma, rel=0.02)
    np.testing.assert_allclose(d.apply(z[g2].mean(0, keepdims=True), d.meta["amount"])[0], z[g1].mean(0), atol=1e-3)


def test_auc_from_histograms_and_refusals():
    assert auc_from_hists(np.array([[0, 0, 5]]), np.array([[5, 0, 0]]))[0] == 1.0
    assert auc_from_hists(np.array([[0, 4, 0]]), np.array([[0, 4, 0]]))[0] == 0.5
    z, table, judges = _cloud(n=100)
    b = cloud_basis(z)
    with pytest.raises(EngineError, match="empty"):
        group_stats(b, np.zeros(100, bool))
    with pytest.raises(EngineError, match="every z-point"):
        group_stats(b, np.ones(100, bool))
    with pytest.raises(EngineError, match="a selection of 99 points for 100"):
        group_stats(b, np.ones(99, bool))
    st = group_stats(b, z[:, 0] > 0)
    assert st.prevalence == [] and all(r.kind == "axis" for r in st.ranking)


def test_a_large_group_is_read_from_a_sample_with_exact_means(monkeypatch):
    import engine.group_stats as gs

    z, table, judges = _cloud(n=6000)
    b = cloud_basis(z, labels=table, judges=judges)
    mask = z[:, 0] > -1.0  # about 63 %
    exact = group_stats(b, mask)
    monkeypatch.setattr(gs, "ROWS_MAX", 1500)
    sampled = group_stats(b, mask)
    np.testing.assert_allclose(sampled.mean_shift, exact.mean_shift, atol=1e-5)  # means stay exact
    assert [n for n, *_ in sampled.prevalence] == ["A", "B"]
    for (n, g1, _), (_, g2, _) in zip(sampled.prevalence, exact.prevalence):
        assert g1 == pytest.approx(g2, abs=1e-6)
    assert sampled.hist_group.sum(1) == pytest.approx(np.full(6, mask.sum()))  # counts scaled to the group
    np.testing.assert_allclose(sampled.sd_ratio, exact.sd_ratio, atol=0.05)
    auc = lambda st: {r.name: r.auc for r in st.ranking if r.kind == "axis" and r.auc is not None}["PC1"]
    assert auc(sampled) == pytest.approx(auc(exact), abs=0.02)
