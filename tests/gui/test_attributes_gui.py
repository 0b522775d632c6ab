"""Face attributes in the app: colour the cloud by an attribute, the Attributes panel, attribute
sliders in the inspector and conditional sampling from the sampler panel (on the tiny model with a
small labels.csv written here)."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

pytestmark = pytest.mark.gui

RARE = 3  # z-points with the "Rare" attribute: too few to fit a sampler on


@pytest.fixture(scope="module")
def labelled_model(tiny_model, tmp_path_factory):
    """A copy of the tiny model with labels.csv: Smiling = z0 above its median (separable), Rare = 3 faces."""
    from engine.formats.native import load_latents, read_config

    folder = tmp_path_factory.mktemp("labelled") / "model"
    shutil.copytree(tiny_model, folder)
    z, files = load_latents(folder, read_config(folder).arch.z_dim)
    smiling = z[:, 0] > np.median(z[:, 0])
    rare = np.zeros(len(z), bool)
    rare[:RARE] = True
    lines = ["file,Smiling,Rare"] + [f"{f},{int(s)},{int(r)}" for f, s, r in zip(files, smiling, rare)]
    (folder / "labels.csv").write_text("\n".join(lines) + "\n")
    return folder


@pytest.fixture
def win(make_window, qtbot, labelled_model):
    w = make_window(labelled_model)
    qtbot.waitUntil(lambda: w.session.sample is not None and not w.bridge.busy(), timeout=60000)
    assert w.session.labels is not None and w.session.labels.names == ["Smiling", "Rare"]
    return w


def test_colour_by_attribute_draws_two_groups_with_ellipses_and_legend(win, qtbot):
    from engine.attributes import group_moments
    from engine.latent_stats import confidence_ellipse, project

    s, pp = win.session, win.pair_plot
    assert not pp.attribute_layer.active
    pp.colour_by.combo.setCurrentIndex(pp.colour_by.combo.findData("Smiling"))
    assert s.colour_by == "Smiling"
    assert win.pca_panel.colour_by.combo.currentData() == "Smiling"  # one state, every picker shows it
    layer = pp.attribute_layer
    assert layer.active
    present, absent = s.labels.groups("Smiling")
    xy = project(s.latents, s.stats, s.axes)
    for k, mask in enumerate((present, absent)):
        px, py = layer.points[k].getData()
        np.testing.assert_allclose(np.column_stack([px, py]), xy[mask], rtol=1e-4, atol=1e-4)  # 96 points: all drawn
        mean2, cov2 = group_moments(xy, mask)
        ex, ey = layer.ellipses[k].getData()
        np.testing.assert_allclose(np.column_stack([ex, ey]), confidence_ellipse(mean2, cov2, pp.levels()[0]), rtol=1e-4, atol=1e-4)
        assert layer.points[k].isVisible() and layer.ellipses[k].isVisible()
    assert not pp.points_item.isVisible()  # the grey points give way to the two colours
    legend = [label.text for _item, label in pp.legend.items]
    assert any(t.startswith(f"Smiling=1 ({int(present.sum())} z-points") for t in legend), legend
    assert any(t.startswith(f"Smiling=-1 ({int(absent.sum())} z-points") for t in legend), legend
    assert pp.legend.isVisible()
    # the PCA panel's cloud is split the same way
    pl = win.pca_panel.attribute_layer
    assert pl.active and len(pl.points[0].getData()[0]) == int(present.sum())
    # none: back to the grey cloud
    pp.colour_by.combo.setCurrentIndex(0)
    assert s.colour_by is None and not layer.active and pp.points_item.isVisible()
    assert not any("Smiling" in label.text for _item, label in pp.legend.items)


def test_attributes_panel_row_click_shows_best_axes_then_probe_fills_in(win, qtbot):
    from PySide6.QtCore import Qt

    from engine.attributes import summarise_attributes

    panel = win.attributes
    assert "attributesDock" in win.docks and win.docks["attributesDock"].objectName() == "attributesDock"
    win.raise_dock("attributesDock")
    qtbot.waitUntil(lambda: panel.table.rowCount() == 2, timeout=20000)
    s = win.session
    expected = {r.name: r for r in summarise_attributes(s.latents, s.labels, pca=s.stats.pca, probe=False)}
    assert panel.names()[0] == "Smiling"  # the separable one first
    row = panel._row_of("Smiling")
    rect = panel.table.visualItemRect(panel.table.item(row, 0))
    qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert s.colour_by == "Smiling"
    assert s.axes == tuple(expected["Smiling"].best_axes)
    assert (win.pair_plot.x_pick.axis(), win.pair_plot.y_pick.axis()) == s.axes
    assert win.pair_plot.attribute_layer.active
    # the probe accuracy, one job per attribute, then sorted by it
    panel.start_probe()
    qtbot.waitUntil(lambda: not panel.running and not win.bridge.busy(), timeout=30000)
    acc = {n: panel.summary(n).probe_accuracy for n in panel.names()}
    assert acc["Smiling"] > 0.8, acc
    assert "…" not in [panel.table.item(r, 1).text() for r in range(2)]
    assert panel.names()[0] == max(acc, key=acc.get)
    # kept in the user's cache folder (by the engine's workflow): a new window shows the measured ranking
    # without measuring again
    from engine.workflows.rank_attributes import load_ranking, rank_attributes as ranking_workflow, ranking_key

    again = load_ranking(ranking_key(s.latents, s.labels, s.model.config.model_id), s.labels.names)
    assert again is not None and again.complete
    assert {n: r.probe_accuracy for n, r in again.probe.items()} == acc
    assert again.quick["Smiling"].best_axes == tuple(expected["Smiling"].best_axes)
    cached = ranking_workflow(s.latents, s.labels, pca=s.stats.pca, model_id=s.model.config.model_id)
    assert cached.from_cache and cached.complete and cached.order == again.order
    assert not hasattr(s.model, "_ranking_digest")  # the panel no longer patches the model


def test_attribute_slider_changes_the_inspected_face(win, qtbot):
    from engine.attributes import attribute_direction

    insp, s = win.inspector, win.session
    win.inspect_face(0)
    before = insp.face.image.copy()
    z0 = s.sample.z[0].copy()
    insp.add_attribute_slider("Smiling")
    qtbot.waitUntil(lambda: "Smiling" in insp.attribute_sliders, timeout=20000)
    slider = insp.attribute_sliders["Smiling"]
    assert slider.isEnabled()
    done = insp.decodes_done
    for v in (50, 120, 200):  # rapid moves: coalesced into few decodes
        slider.setValue(v)
    qtbot.waitUntil(lambda: insp.decodes_done > done and not win.bridge.busy(), timeout=20000)
    direction = attribute_direction(s.latents, s.labels, "Smiling")
    np.testing.assert_allclose(s.edited_z, direction.apply(z0, 2.0), rtol=1e-4, atol=1e-4)
    assert np.abs(insp.face.image.astype(int) - before.astype(int)).mean() > 0.5
    assert insp.decodes_submitted <= 3
    # another face starts un-edited
    win.inspect_face(1)
    assert slider.value() == 0 and s.edited_z is None


def test_conditional_generate_fits_the_subset_and_reports_a_too_small_one(win, qtbot):
    from engine.workflows.generate import generate_from_folder as generate

    sp, s = win.sampler_panel, win.session
    assert sp.set_sampler("normal")
    sp.next_seed.setChecked(False)
    assert sp.add_condition("Smiling", True)
    n_smiling = int(s.labels.groups("Smiling")[0].sum())
    assert sp.where() == "Smiling=1" and f"{n_smiling} of 96" in sp.where_count.text()
    win.generate_now()
    qtbot.waitUntil(lambda: not win.bridge.busy(), timeout=30000)
    p = s.sample.params
    assert p["where"] == "Smiling=1" and p["where_points"] == n_smiling
    ref = generate(s.model.folder, "normal", sp.values(), n=p["n"], seed=p["seed"], decode=False, where="Smiling=1")
    np.testing.assert_allclose(s.sample.z, ref.z, rtol=1e-5, atol=1e-5)  # the same z as the CLI's conditional fit
    # one click from the Attributes panel: a grid of faces without the attribute
    s.set_colour_by("Smiling")  # as a click on its row does
    assert win.attributes.gen_without_btn.isEnabled()
    win.attributes.gen_without_btn.click()
    qtbot.waitUntil(lambda: not win.bridge.busy(), timeout=30000)
    assert s.sample.params["where"] == "Smiling=-1" and sp.where() == "Smiling=-1"
    assert s.sample.params["where_points"] == int(s.labels.groups("Smiling")[1].sum())
    sp.clear_conditions()
    sp.add_condition("Smiling", True)
    # a subset too small: the engine's one-line message, the previous faces stay
    sample = s.sample
    sp.add_condition("Rare", True)
    assert sp.where() == "Smiling=1,Rare=1"
    win.generate_now()
    qtbot.waitUntil(lambda: not win.bridge.busy(), timeout=30000)
    assert s.sample is sample
    assert win.last_error is not None and "z-points match" in win.last_error and "needs at least" in win.last_error
    assert "\n" not in win.last_error
