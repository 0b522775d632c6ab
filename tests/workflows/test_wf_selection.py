"""Act on a selection (engine/workflows/selection.py) and the `select` command, on the tiny labelled model."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from PIL import Image

from conftest import cli
from engine.errors import QueryError, SamplerError
from engine.workflows.open_model import open_model
from engine.workflows.selection import (
    FIT_MAX, export_selection, faces_space, generate_like, select, select_to_folder, selection_space,
)


@pytest.fixture(scope="module")
def opened(labelled_model):
    return open_model(labelled_model)


@pytest.fixture(scope="module")
def space(opened):
    return selection_space(opened)


def test_select_finds_the_query_and_what_distinguishes_it(opened, space):
    z = opened.latents
    left = z[:, 0] > 0
    sel = select(space, "Left and z1 > -2")
    np.testing.assert_array_equal(sel.mask, left & (z[:, 1] > -2))
    assert sel.query == "Left and z1 > -2" and sel.stats.count == sel.count == int((left & (z[:, 1] > -2)).sum())
    vs = select(space, "Left", against="not Left")
    assert vs.stats.other == "not Left" and vs.stats.other_count == int((~left).sum())
    rows = {(r.kind, r.name): r for r in vs.stats.ranking}
    assert rows[("label", "Left")].auc == 1.0 and rows[("label", "Left")].group == 1.0
    assert rows[("judge", "Left")].auc > 0.95  # the judge of Left separates the two groups
    assert vs.stats.ranking[0].strength >= vs.stats.ranking[-1].strength
    d = vs.direction
    gap = z[left].mean(0) - z[~left].mean(0)
    u = gap / np.linalg.norm(gap)
    assert d.unit @ u == pytest.approx(1.0, abs=1e-6)
    assert d.meta["amount"] == pytest.approx(np.linalg.norm(gap) / np.sqrt(u @ np.cov(z.T) @ u), rel=0.02)
    with pytest.raises(QueryError) as info:
        select(space, "Lefft and z1 > 0")
    assert info.value.suggestion == "Left" and info.value.position == 0
    with pytest.raises(Exception, match="selects none"):
        select(space, "z0 > 1000")


def test_generate_like_fits_the_selection_and_measures_quality(opened, space):
    z = opened.latents
    sel = select(space, "Left")
    gen = generate_like(opened, sel.mask, "normal", 12, seed=3, basis=space.basis, stats=sel.stats)
    held = int(sel.count * 0.2)
    assert gen.z.shape == (12, 8) and gen.images.shape == (12, 32, 32, 3)
    assert gen.fit_points == sel.count - held and gen.selected == sel.count and not gen.subsampled
    assert gen.z[:, 0].mean() > z[:, 0].mean()  # like the selection: on the Left side
    q = gen.quality
    assert q["held_out_points"] == held
    for part in ("generated", "held_out"):
        assert 0.0 <= q[part]["inside_2s"] <= q[part]["inside_3s"] <= 1.0 and q[part]["nn_ratio"] > 0
    assert q["attributes"][0]["attribute"] == "Left"
    assert q["attributes"][0]["generated"] > q["attributes"][0]["whole"]
    assert set(gen.seconds) == {"fit", "sample", "decode", "quality"}
    small = generate_like(opened, sel.mask, "uniform", 4, fit_max=10, decode=False)
    assert small.subsampled and small.fit_points == 10 and small.images is None and FIT_MAX == 10_000
    few = np.zeros(len(z), bool)
    few[:5] = True
    with pytest.raises(SamplerError, match=r"the selection holds 5 z-points; the normal sampler needs at least 13 "
                                           r"\(10 to fit, with a fifth held out"):
        generate_like(opened, few, "normal", 4)


def test_export_writes_the_selection_as_an_owned_set(opened, space, tiny_data, tmp_path):
    z, files = opened.latents, opened.latent_files
    sel = select(space, "Left and z1 > -2")
    rows = np.flatnonzero(sel.mask)
    folder, written = export_selection(opened, sel, tmp_path / "sel", ("csv", "grid", "images"))
    with open(folder / "selection.csv") as fh:
        table = list(csv.reader(fh))
    assert table[0] == ["name", "index"] + [f"z{j}" for j in range(8)] and len(table) == len(rows) + 1
    assert [r[0] for r in table[1:]] == [files[i] for i in rows]
    np.testing.assert_allclose(np.array([r[2:] for r in table[1:]], float), z[rows], rtol=1e-6)
    grid = np.asarray(Image.open(folder / "grid.png"))
    side = int(np.ceil(np.sqrt(len(rows))))  # about square, 32-pixel faces and 2-pixel gaps
    assert grid.shape == (int(np.ceil(len(rows) / side)) * 34 + 2, side * 34 + 2, 3)
    faces = sorted(f for f in written if f.startswith("face_"))
    assert len(faces) == len(rows) and np.asarray(Image.open(folder / faces[0])).shape == (32, 32, 3)
    with open(folder / "distinguish.csv") as fh:
        dist = list(csv.DictReader(fh))
    assert dist[0]["rank"] == "1" and {"label", "judge", "axis"} >= {r["kind"] for r in dist}
    assert len(dist) == len(sel.stats.ranking)
    params = json.loads((folder / "params.json").read_text())
    assert params["set_kind"] == "selection" and params["count"] == len(rows) and params["query"] == sel.query
    with pytest.raises(Exception, match="selection"):
        export_selection(opened, sel, tmp_path / "sel", ("csv",))  # ours, but not to be replaced unasked
    folder2, written2 = export_selection(opened, sel, tmp_path / "sel", ("images",), data=tiny_data, overwrite=True)
    copies = sorted(f for f in written2 if f.startswith("face_"))
    src = tiny_data / files[rows[0]]
    assert (folder2 / copies[0]).read_bytes() == src.read_bytes()  # the training image itself
    assert not (folder2 / "selection.csv").exists()  # the earlier set's files went with it


def test_select_command(labelled_model, tmp_path, capsys):
    out = tmp_path / "out"
    rc, stdout, err = cli(["select", "--model", labelled_model, "--where", "Left and not z1 > 0", "--against",
                           "not Left", "--generate", "6", "--sampler", "uniform", "--out", out, "--top", "3"],
                          capsys)
    assert rc == 0, err
    lines = stdout.splitlines()
    assert lines[0].startswith("Left and not z1 > 0: ") and "of 96 z-points" in lines[0]
    assert "from not Left" in lines[1] and len([ln for ln in lines if ln[:3].strip().isdigit()]) == 3
    assert any(ln.startswith("direction not Left → Left and not z1 > 0: ") for ln in lines)
    assert any("generated 6 faces with uniform" in ln for ln in lines)
    assert (out / "generated_z.npy").exists() and len(list(out.glob("generated_0*.png"))) == 6
    meta = json.loads((out / "selection.json").read_text())
    assert meta["generated"]["quality"]["generated"]["inside_2s"] >= 0 and meta["against"] == "not Left"
    rc, stdout, err = cli(["select", "--model", labelled_model, "--where", "Left and z9 > 0"], capsys)
    assert rc == 2 and err.count("\n") == 1 and "column 10" in err and "z0 … z7" in err
    rc, stdout, err = cli(["select", "--model", labelled_model, "--where", "Left", "--export", "pdf", "--out",
                           tmp_path / "x"], capsys)
    assert rc == 2 and "--export 'pdf'" in err and not (tmp_path / "x").exists()


def test_generate_where_takes_a_query(labelled_model, tmp_path, capsys):
    out = tmp_path / "g"
    rc, stdout, err = cli(["generate", "--model", labelled_model, "--sampler", "uniform", "--n", 3, "--where",
                           "Left and PC1 > -5", "--out", out, "--z-only"], capsys)
    assert rc == 0, err
    params = json.loads((out / "params.json").read_text())
    z = np.load(labelled_model / "latents.npy")
    assert params["where"] == "Left and PC1 > -5" and params["where_points"] == int((z[:, 0] > 0).sum())
    rc, stdout, err = cli(["generate", "--model", labelled_model, "--sampler", "uniform", "--n", 3, "--where",
                           "Left=1", "--out", tmp_path / "old", "--z-only"], capsys)
    assert rc == 0 and json.loads((tmp_path / "old" / "params.json").read_text())["where"] == "Left=1"
    rc, stdout, err = cli(["generate", "--model", labelled_model, "--sampler", "uniform", "--n", 3, "--where",
                           "Left and (z0 > 0", "--out", tmp_path / "bad"], capsys)
    assert rc == 2 and "--where" in err and "expected ')'" in err and err.count("\n") == 1


def test_a_saved_direction_set_is_ranked_beside_the_axes(labelled_model, opened, tmp_path):
    from engine.lab.direction import Direction
    from engine.lab.set_file import DirectionSet, save_direction_set

    z = opened.latents
    u = np.zeros(8)
    u[0] = 1.0
    d = Direction("along z0", "pca", u * z[:, 0].std())
    save_direction_set(tmp_path / "dirs.json", DirectionSet("mine", opened.model_id, 8, [d]))
    run = select_to_folder(labelled_model, "Left", directions=tmp_path / "dirs.json")
    row = {r.name: r for r in run.selection.stats.ranking if r.kind == "axis"}["along z0"]
    left = z[:, 0] > 0
    assert row.auc == pytest.approx(1.0, abs=0.01)  # Left is z0 > 0: the direction separates it completely
    assert row.smd == pytest.approx((z[left, 0].mean() - z[~left, 0].mean()) / z[:, 0].std(), rel=0.02)
    assert run.folder is None and run.files == []


def test_queries_over_generated_faces(opened, space):
    from engine.query import evaluate

    gen = generate_like(opened, select(space, "Left").mask, "normal", 40, seed=1, decode=False, quality=False)
    fs = faces_space(space, gen.z)
    with pytest.raises(QueryError) as info:
        evaluate("Left and z1 > 0", fs)
    assert "not for these generated faces; use p(Left)" in str(info.value) and "\n" not in str(info.value)
    judged = evaluate("p(Left) > 0.5", fs)
    assert judged.mean() > 0.7  # faces made like the Left group are judged Left
    np.testing.assert_array_equal(evaluate("z0 > 0 and PC1 < 100", fs), gen.z[:, 0] > 0)
