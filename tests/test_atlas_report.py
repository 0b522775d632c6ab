"""Issue 16: the face atlas, click to decode, paths, plot exports, the report and movies (tiny model)."""
from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from engine.errors import EngineError


@pytest.fixture(scope="module")
def opened(tiny_model):
    from engine.workflows.open_model import open_model

    return open_model(tiny_model, statistics=True, labels=False)


def test_atlas_cell_decodes_its_z(opened):
    from engine.atlas import atlas
    from engine.latent_stats import project
    from engine.workflows.generate import decoded_batches

    a = atlas(opened.codec, opened.stats, ("pca", 0), ("z", 3), rows=4, cols=5)
    assert a.images.shape == (20, 32, 32, 3) and a.z.shape == (20, opened.z_dim)
    k = a.cell(2, 3)
    one = next(decoded_batches(opened, a.z[k][None]))[0]  # the same z through the generate path
    assert np.array_equal(one, a.images[k])
    # the cell's z sits exactly at the cell centre on both axes, everything else at the cloud's centre
    assert np.allclose(project(a.z[k][None].astype(np.float64), opened.stats, a.plane.axes)[0], a.cell_xy(2, 3), atol=1e-4)
    assert a.ys[0] > a.ys[-1] and a.xs[0] < a.xs[-1]  # row 0 on top
    assert a.mosaic().shape == (4 * 32, 5 * 32, 3)


def test_click_decodes_exactly_that_point(opened):
    from engine.atlas import decode_at, make_plane, z_at
    from engine.latent_stats import project

    base = opened.latents[7]
    for axes in ((("pca", 0), ("pca", 1)), (("z", 1), ("z", 5)), (("z", 2), ("pca", 0))):
        plane = make_plane(opened.stats, *axes, base_z=base)
        z = z_at((0.4, -1.3), plane)
        assert np.allclose(project(z[None].astype(np.float64), opened.stats, axes)[0], (0.4, -1.3), atol=1e-4)
        p = decode_at(opened.codec, opened.stats, plane, (0.4, -1.3))
        assert np.array_equal(p.z, z)
        assert np.array_equal(p.image, opened.codec.decode(z[None])[0])
        d2 = opened.stats.normality  # Mahalanobis of a training point equals the normality check's
    plane = make_plane(opened.stats, ("pca", 0), ("pca", 1), base_z=opened.latents[7])
    xy = plane.base_coords
    p = decode_at(opened.codec, opened.stats, plane, xy, decode=False)
    assert p.mahalanobis == pytest.approx(np.sqrt(d2.mahalanobis_sq[7]), rel=1e-3)
    # z-axes: the other components are exactly the base's
    plane = make_plane(opened.stats, ("z", 1), ("z", 5), base_z=base)
    z = z_at((2.0, 3.0), plane)
    keep = [i for i in range(opened.z_dim) if i not in (1, 5)]
    assert np.array_equal(z[keep], base[keep]) and z[1] == 2.0 and z[5] == 3.0
    with pytest.raises(EngineError, match="point"):
        z_at((1.0, float("nan")), plane)
    with pytest.raises(EngineError, match="same"):
        make_plane(opened.stats, ("z", 1), ("z", 1))
    with pytest.raises(EngineError, match="x axis"):
        make_plane(opened.stats, ("pca", 99), ("z", 1))


def test_path_endpoints_are_the_two_faces(opened):
    from engine.latent_paths import axis_sweep, decode_path, interpolate, polyline
    from engine.atlas import make_plane

    a, b = opened.latents[3], opened.latents[11]
    for method in ("linear", "spherical"):
        p = decode_path(opened.codec, interpolate(opened.stats, a, b, 7, method))
        assert np.array_equal(p.z[0], a) and np.array_equal(p.z[-1], b)
        faces = opened.codec.decode(np.stack([a, b]))
        assert np.array_equal(p.images[0], faces[0]) and np.array_equal(p.images[-1], faces[1])
        assert len(p.mahalanobis) == 7 and np.isfinite(p.log_density).all()
    sph = interpolate(opened.stats, a, b, 9, "spherical")
    # along the ellipse: the Mahalanobis distance moves linearly between the two ends
    assert np.allclose(sph.mahalanobis, np.linspace(sph.mahalanobis[0], sph.mahalanobis[-1], 9), atol=1e-3)
    plane = make_plane(opened.stats, ("pca", 0), ("pca", 1))
    pl = polyline(opened.stats, plane, [(-1, 0), (0, 1), (1, 0)], 5)
    assert np.allclose(pl.xy[[0, 2, 4]], [(-1, 0), (0, 1), (1, 0)], atol=1e-5)
    sw = axis_sweep(opened.stats, ("pca", 0), -2, 2, 5)
    assert sw.mahalanobis[2] == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(EngineError, match="points"):
        interpolate(opened.stats, a, b, 1)


def test_path_sampler_unchanged(opened):
    from engine.samplers import make_sampler

    s = make_sampler("path", {"mode": "points", "start": 2, "end": 5, "steps": 4})
    s.fit(opened.latents)
    z = s.sample(4, 0)
    assert np.allclose(z[0], opened.latents[2]) and np.allclose(z[-1], opened.latents[5])


def test_plot_exports_match_engine_numbers(opened, tmp_path):
    pytest.importorskip("PySide6")
    import pyqtgraph as pg
    from PIL import Image

    from gui.qt_export import save_image, save_plot
    from PySide6.QtWidgets import QApplication

    _app = QApplication.instance() or QApplication([])
    ratio = np.asarray(opened.stats.pca.explained_variance_ratio, float)
    w = pg.PlotWidget()
    w.resize(400, 300)
    w.getPlotItem().plot(np.arange(1, len(ratio) + 1), ratio, name="explained variance ratio")
    save_plot(w, tmp_path / "p.png", scale=2.0)
    save_plot(w, tmp_path / "p.svg")
    save_plot(w, tmp_path / "p.csv")
    with Image.open(tmp_path / "p.png") as im:
        assert im.format == "PNG" and im.size[0] >= 400
    assert ET.parse(tmp_path / "p.svg").getroot().tag.endswith("svg")
    rows = list(csv.reader(io.StringIO((tmp_path / "p.csv").read_text())))
    assert rows[0][0] == "series" and len(rows) == len(ratio) + 1
    assert np.array_equal(np.array([float(r[2]) for r in rows[1:]]), ratio)
    img = np.random.default_rng(0).integers(0, 255, (20, 30, 3), dtype=np.uint8)
    save_image(img, tmp_path / "g.png")
    assert np.array_equal(np.asarray(Image.open(tmp_path / "g.png")), img)
    w.close()


def test_report_numbers_match_engine(opened, tiny_model, tiny_data, tmp_path):
    from engine.evaluation import evaluate
    from engine.latent_stats import fraction_inside_ellipse, pair_moments, project
    from engine.workflows.report import ReportOptions, make_report

    opts = ReportOptions(components=[0, 3], samplers=["normal", "box"], faces=4, atlas_side=3,
                         evaluate_n=16, compare=["normal", "box"])
    out = tmp_path / "rep"
    rep = make_report(tiny_model, out, data=tiny_data, options=opts)
    nums = json.loads((out / "report.json").read_text())
    st = opened.stats
    assert nums["histograms"]["components"][1]["centre"] == pytest.approx(float(st.centres[3]), abs=1e-6)
    assert nums["histogram_overview"]["sigmas"] == pytest.approx(list(st.sigmas), abs=1e-6)
    assert nums["pca"]["explained_variance_ratio"] == pytest.approx(list(st.pca.explained_variance_ratio), abs=1e-6)
    assert nums["normality"]["observed"] == pytest.approx(list(st.normality.observed), abs=1e-6)
    pca_pair = nums["pair_plots"]["pairs"][1]
    axes = (("pca", 0), ("pca", 1))
    m2, c2 = pair_moments(st, axes)
    xy = project(opened.latents, st, axes)
    assert pca_pair["fraction_inside"][1] == pytest.approx(fraction_inside_ellipse(xy, m2, c2, 2.0), abs=1e-6)
    ev = evaluate(tiny_model, tiny_data, n=16, seed=0, samplers=["normal", "box"]).to_json()
    for got, want in zip(nums["sampler_comparison"]["rows"], ev["rows"]):
        assert got["name"] == want["name"]
        for m in ev["metrics"]:
            assert got[m] == pytest.approx(want[m], abs=1e-6, nan_ok=True)
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and "<img" in html and "src=\"fig-" not in html
    for f in nums["figures"]:
        for name in f["files"]:
            assert (out / name).is_file()
    assert (out / "fig-08-atlas.svg").read_bytes().lstrip().startswith(b"<?xml")
    assert rep.numbers["model_card"][0]["label"] == "model"
    # a report we wrote is replaced only when asked; a folder with a user's file is refused
    with pytest.raises(EngineError, match="overwrit"):
        make_report(tiny_model, out, options=opts)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("x")
    with pytest.raises(EngineError, match="did not write"):
        make_report(tiny_model, mine, options=opts)


@pytest.mark.parametrize("suffix", [".gif", ".mp4"])
def test_movie_frames_and_size(tiny_model, tmp_path, suffix):
    from engine.workflows.movie import make_movie, read_movie

    out = tmp_path / f"m{suffix}"
    make_movie(tiny_model, out, axis="PC1", value_range="-2:2", frames=7, fps=10, size=48)
    n, w, h, _fps = read_movie(out)
    assert (n, w, h) == (7, 48, 48)
    make_movie(tiny_model, out, frm="0", to="5", method="spherical", frames=5, fps=5, size=32, overwrite=True)
    assert read_movie(out)[:3] == (5, 32, 32)
    theirs = tmp_path / f"theirs{suffix}"
    theirs.write_bytes(b"not ours")
    with pytest.raises(EngineError, match="not a movie"):
        make_movie(tiny_model, theirs, axis="PC1", frames=3, size=32, overwrite=True)
    with pytest.raises(EngineError, match="^frames: ") as info:  # the engine's words; the CLI names the flag
        make_movie(tiny_model, tmp_path / f"x{suffix}", axis="PC1", frames=1, size=32)
    from main import cli_name

    assert info.value.render(cli_name).startswith("--frames: must be a whole number")
