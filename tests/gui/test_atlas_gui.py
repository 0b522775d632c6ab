"""Issue 16 in the window: the atlas layer, click to decode, paths, plot exports and File ▸ Export report."""
from __future__ import annotations

import csv
import io
import statistics
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest

pytest.importorskip("pytestqt")


def _idle(qtbot, w, timeout=60000):
    qtbot.waitUntil(lambda: not w.bridge.busy(), timeout=timeout)


def test_atlas_layer_shows_the_engines_atlas(window, qtbot):
    from engine.atlas import atlas

    pp, s = window.pair_plot, window.session
    assert not pp.layer_boxes["atlas"].isChecked()  # off by default
    assert pp.atlas_layer.atlas is None
    pp.layer_boxes["atlas"].setChecked(True)
    qtbot.waitUntil(lambda: pp.atlas_layer.atlas is not None, timeout=30000)
    a = pp.atlas_layer.atlas
    assert pp.atlas_layer.item.isVisible()
    assert a.cols == 16 and 4 <= a.rows <= 32  # 16 across, square cells
    assert a.plane.axes == tuple(s.axes)
    ref = atlas(s.model.codec, s.stats, *s.axes, rows=a.rows, cols=16, extent=a.extent, base_z=s.current_z())
    np.testing.assert_array_equal(a.z, ref.z)
    # the extent is the view's
    (x0, x1), (y0, y1) = pp.plot.getPlotItem().getViewBox().viewRange()
    np.testing.assert_allclose(a.extent, (x0, x1, y0, y1))
    # a pan redraws it over the new view
    vb = pp.plot.getPlotItem().getViewBox()
    vb.setRange(xRange=(x0 + 0.3 * (x1 - x0), x1 + 0.3 * (x1 - x0)), yRange=(y0, y1), padding=0)
    vb.sigRangeChangedManually.emit([True, True])
    qtbot.waitUntil(lambda: pp.atlas_layer.atlas is not a, timeout=30000)
    assert pp.atlas_layer.atlas.extent[0] > a.extent[0]
    # switched off: hidden
    pp.layer_boxes["atlas"].setChecked(False)
    assert not pp.atlas_layer.item.isVisible()


def test_click_decodes_exactly_that_point(window, qtbot):
    import pyqtgraph as pg

    from engine.atlas import z_at

    window.switch_workspace("explore")  # the workspace that shows the pair plot
    qtbot.wait(200)
    pp, s = window.pair_plot, window.session
    vb = pp.plot.getPlotItem().getViewBox()
    (x0, x1), (y0, y1) = vb.viewRange()
    x, y = x0 + 0.3 * (x1 - x0), y0 + 0.6 * (y1 - y0)
    out = pp.clicks.decode_scene_pos(vb.mapViewToScene(pg.Point(x, y)))
    assert out is not None
    np.testing.assert_allclose(out.xy, (x, y), rtol=0, atol=1e-6 * max(x1 - x0, y1 - y0))
    plane = pp.plane()
    np.testing.assert_array_equal(out.z, z_at(out.xy, plane))
    np.testing.assert_array_equal(out.image, s.model.codec.decode(out.z[None, :])[0])
    assert pp.probe is out and pp.probe_float.isVisible()
    # dropped for the inspector
    pp.probe_btn.click()
    assert s.probe is out
    # a simulated drag: the full update (decode + the floating face) per pointer move
    times = []
    for k in range(30):
        p = vb.mapViewToScene(pg.Point(x0 + (0.2 + 0.02 * k) * (x1 - x0), y))
        t0 = time.perf_counter()
        pp.clicks.decode_scene_pos(p)
        times.append((time.perf_counter() - t0) * 1000)
    print(f"click-to-decode (tiny model): median {statistics.median(times):.1f} ms, worst {max(times):.1f} ms")


def test_path_endpoints_are_its_two_faces(window, qtbot):
    pp, s, panel = window.pair_plot, window.session, window.path_panel
    # two faces: the inspected one and a second selected one
    s.select(0, [0, 3])
    panel.source.setCurrentIndex(1)
    for method in ("linear", "spherical"):
        panel.method.setCurrentIndex(panel.method.findData(method))
        panel.run()
        _idle(qtbot, window)
        path = panel.path
        assert path is not None and path.images is not None and len(path) == panel.n.value()
        np.testing.assert_array_equal(path.z[0], s.sample.z[0])
        np.testing.assert_array_equal(path.z[-1], s.sample.z[3])
        np.testing.assert_array_equal(path.images[0], s.model.codec.decode(path.z[:1])[0])
        x, y = panel.curve.getData()
        np.testing.assert_array_equal(y, path.mahalanobis)
    # a line Shift+clicked in the pair plot
    vb = pp.plot.getPlotItem().getViewBox()
    (x0, x1), (y0, y1) = vb.viewRange()
    pts = [(x0 + 0.2 * (x1 - x0), y0 + 0.2 * (y1 - y0)), (x0 + 0.5 * (x1 - x0), y0 + 0.7 * (y1 - y0)),
           (x0 + 0.8 * (x1 - x0), y0 + 0.3 * (y1 - y0))]
    for p in pts:
        pp.add_path_vertex(*p)
    assert panel.source.currentData() == "line"
    panel.method.setCurrentIndex(0)
    panel.run()
    _idle(qtbot, window)
    path = panel.path
    plane = pp.plane()
    np.testing.assert_array_equal(path.z[0], plane.lift(np.array([pts[0]]))[0].astype(np.float32))
    np.testing.assert_array_equal(path.z[-1], plane.lift(np.array([pts[-1]]))[0].astype(np.float32))
    np.testing.assert_allclose(path.xy[[0, -1]], np.array([pts[0], pts[-1]]), atol=1e-4)
    assert panel.strip_image() is not None
    # the axes change: the drawn line is dropped
    s.set_axes(("z", 0), ("z", 1))
    assert s.path_vertices == []


def test_pair_plot_exports_png_svg_csv(window, tmp_path):
    from gui.qt_export import save_plot

    pp = window.pair_plot
    png = save_plot(pp.plot, tmp_path / "pair.png", scale=2.0)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image

    with Image.open(png) as im:
        im.load()
        assert im.width >= 1.8 * pp.plot.getPlotItem().sceneBoundingRect().width()
    svg = save_plot(pp.plot, tmp_path / "pair.svg")
    root = ET.fromstring(svg.read_bytes())
    assert root.tag.endswith("svg")
    path = save_plot(pp.plot, tmp_path / "pair.csv")
    rows = list(csv.reader(io.StringIO(path.read_text())))
    assert rows[0][0] == "series"
    pts = {(float(r[1]), float(r[2])) for r in rows[1:] if r[1] and r[2]}
    gen = pp.generated_points()
    assert len(gen) > 0
    for x, y in gen:  # every orange point's numbers, exactly as plotted (the engine's projection)
        assert (float(x), float(y)) in pts
    from engine.latent_stats import project

    s = window.session
    np.testing.assert_allclose(gen, project(s.sample.z, s.stats, s.axes))
    # every plot panel has the export menu and button
    for name, menu in window.export_menus.items():
        assert any(a.text().startswith("Export SVG") for a in menu.actions()), name
    assert pp.plot.export_button is not None


def test_export_report_writes_a_new_folder(window, qtbot, tmp_path):
    out = tmp_path / "report"
    job = window.export_report(out)
    assert job is not None
    _idle(qtbot, window, timeout=240000)
    assert window.last_error is None or "report" not in window.last_error
    assert (out / "report.html").is_file()
    assert (out / "report.json").is_file()
    # a folder of the user's own files is refused
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    assert window.export_report(mine) is None
    assert window.last_error
    assert (mine / "notes.txt").read_text() == "mine" and not (mine / "report.html").exists()


def test_export_movie_gif(window, qtbot, tmp_path):
    from engine.workflows.movie import read_movie

    out = tmp_path / "sweep.gif"
    assert window.export_movie(out, kind="sweep", frames=5, fps=10, size=32) is not None
    _idle(qtbot, window)
    n, w, h, _fps = read_movie(out)
    assert (n, w, h) == (5, 32, 32)


def test_a_point_dropped_from_the_plot_is_shown_by_the_inspector(window, qtbot):
    from engine.atlas import decode_at, make_plane

    w = window
    w.generate_now()
    qtbot.waitUntil(lambda: w.session.sample is not None and not w.bridge.busy(), timeout=30000)
    s = w.session
    point = decode_at(s.model.codec, s.stats, make_plane(s.stats, *s.axes), (1.0, -2.0))
    s.set_probe(point)
    np.testing.assert_array_equal(s.edited_z, point.z)
    np.testing.assert_array_equal(w.inspector.face.image, point.image)
    assert "dropped" in w.inspector.title.text()
