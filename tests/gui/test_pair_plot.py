"""The pair plot on a CelebA-sized synthetic cloud: dense data as an image plus a capped sample, fast."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def cloud():
    from engine.latent_stats import compute_stats

    rng = np.random.default_rng(0)
    d = 32
    a = rng.normal(size=(d, d)) / np.sqrt(d)
    z = (rng.standard_normal((170_000, d), dtype=np.float32) * np.linspace(2, 0.2, d, dtype=np.float32)) @ a.astype(np.float32)
    return z, compute_stats(z)


def test_170k_points_redraw_fast_and_capped(qtbot, cloud):
    from engine.latent_stats import fraction_inside_ellipse, pair_moments, project
    from gui.qt_pair_plot import MAX_POINTS, PairPlotPanel
    from gui.session import LoadedModel, Sample, Session

    z, stats = cloud

    class _Codec:  # only the facts the pair plot reads
        z_dim, image_size, model_id = z.shape[1], 8, "test"

    s = Session()
    s.model = LoadedModel(Path("."), _Codec(), z, [])
    s.stats = stats
    panel = PairPlotPanel(s)
    qtbot.addWidget(panel)
    panel.resize(700, 600)
    panel.show()
    s.sample = Sample(z[:50].copy(), np.zeros((50, 8, 8, 3), np.uint8), {})
    cpu = []
    for axes in ((("pca", 0), ("pca", 1)), (("z", 0), ("z", 1)), (("pca", 20), ("z", 3))):
        s.axes = axes
        panel.recompute()  # first draw of these axes (coordinates get cached)
        runs = []
        for _ in range(3):
            c = time.thread_time()
            panel.recompute()
            panel.plot.repaint()
            runs.append(time.thread_time() - c)
        cpu.append(min(runs))  # the least disturbed of three (a shared machine's other work inflates the rest)
        # the layers hold what the engine says
        xy = project(z, stats, axes)
        px, py = panel.points_item.getData()
        assert len(px) == MAX_POINTS
        np.testing.assert_allclose(np.column_stack([px, py]), xy[panel._sample_idx], rtol=1e-4, atol=1e-4)
        gx, gy = panel.generated_item.getData()
        np.testing.assert_allclose(np.column_stack([gx, gy]), project(s.sample.z, stats, axes), rtol=1e-5, atol=1e-5)
        assert panel.density_item.image.shape == (160, 160)
        mean2, cov2 = pair_moments(stats, axes)
        frac = fraction_inside_ellipse(xy, mean2, cov2, 2.0)
        assert f"{100 * frac:.1f}% inside" in panel.ellipse_items[0].name()
    # GUI-thread CPU per redraw (projection, density image, contours, ellipses, 5,000 points, paint)
    assert float(np.median(cpu)) < 0.050, f"median redraw {1000 * np.median(cpu):.0f} ms of GUI-thread CPU"


def test_a_very_large_cloud_is_a_density_image_and_a_seeded_sample_and_says_so(qtbot, cloud, monkeypatch):
    import gui.qt_pair_plot as pp
    from gui.session import LoadedModel, Session

    z, stats = cloud
    monkeypatch.setattr(pp, "LARGE_CLOUD", 100_000)  # stands for 1,000,000 (the cloud has 170,000 points)
    monkeypatch.setattr(pp, "LARGE_POINTS", 7_000)

    class _Codec:
        z_dim, image_size, model_id = z.shape[1], 8, "test"

    s = Session()
    s.model = LoadedModel(Path("."), _Codec(), z, [])
    s.stats = stats
    panel = pp.PairPlotPanel(s)
    qtbot.addWidget(panel)
    panel.show()
    panel.recompute()
    px, _ = panel.points_item.getData()
    assert len(px) == 7_000 and len(np.unique(panel._sample_idx)) == 7_000
    assert panel.cloud_note.isVisible() and panel.cloud_note.text() == "170,000 points: density, 7,000 drawn"
    assert panel.density_item.image.shape == (160, 160)
    first = panel._sample_idx.copy()
    panel.invalidate()
    panel.recompute()
    assert np.array_equal(panel._sample_idx, first)  # seeded: the same points every time
    s.model = LoadedModel(Path("."), _Codec(), z[:5_000], [])
    panel.invalidate()
    panel.recompute()
    assert not panel.cloud_note.isVisible() and len(panel.points_item.getData()[0]) == 5_000
