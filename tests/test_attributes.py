"""Face attributes in the latent space (issue 9): labels, separation, directions, conditional
sampling, editing — on synthetic clouds, the tiny model and (via subprocess) the default model."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine import attributes as at
from engine.editing import parse_amounts, strip_image
from engine.errors import DataError, EngineError, SamplerError
from engine.resources import default_model_dir
from engine.samplers import SAMPLERS, Sampler

from conftest import write_faces

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = default_model_dir()
HAS_DEFAULT = (DEFAULT / "latents.npy").exists() and (DEFAULT / "labels.csv").exists()


def _as_cli(exc) -> str:
    """An engine error as the CLI prints it: its options named as flags."""
    return exc.render(lambda p: "--" + p.replace("_", "-"))


class _GaussSampler(Sampler):
    """A full-covariance Gaussian fitted on the z-points (independent of the real samplers)."""

    name = "test-gauss"
    summary = "test only"
    params = ()

    def _fit(self, latents):
        self.mu = latents.mean(axis=0)
        cov = np.cov(latents, rowvar=False) + 1e-6 * np.eye(latents.shape[1])
        self.chol = np.linalg.cholesky(cov)

    def _sample(self, n, rng):
        return self.mu + rng.normal(size=(n, self.z_dim)) @ self.chol.T


@pytest.fixture
def gauss_sampler(monkeypatch):
    monkeypatch.setitem(SAMPLERS, "test-gauss", _GaussSampler)
    return "test-gauss"


def two_clusters(n=1200, d=16, seed=0, rate=0.3, shift=4.0):
    """An anisotropic Gaussian cloud; the points with attribute A are shifted along a known unit vector."""
    rng = np.random.default_rng(seed)
    y = rng.random(n) < rate
    z = rng.normal(size=(n, d)) * np.linspace(2.0, 0.5, d)
    true = np.zeros(d)
    true[[3, 7]] = 1 / np.sqrt(2)
    z[y] += shift * true
    noise = np.where(rng.random(n) < 0.5, 1, -1)
    files = [f"{i + 1:06d}.jpg" for i in range(n)]
    table = at.AttributeTable(["A", "Noise"], np.stack([np.where(y, 1, -1), noise], axis=1), files)
    return z.astype(np.float32), y, true, table


# ---------------------------------------------------------------------------------------------
# synthetic cloud: direction, probe, separation, normality, conditional sampling, editing


def test_direction_is_recovered_and_probe_beats_chance():
    z, y, true, table = two_clusters()
    res = at.analyse_attribute(z, table, "A", cv=3)
    assert res.n_present == int(y.sum()) and res.n_absent == int((~y).sum())
    assert res.mean_direction.unit @ true > 0.97
    assert res.probe_direction.unit @ true > 0.9
    assert res.probe_accuracy > 0.9 and res.mean_accuracy > 0.9  # balanced; chance is 0.5
    assert res.probe.majority_rate == pytest.approx(max(y.mean(), 1 - y.mean()))
    # d per component: the two shifted components stand out, in pooled-σ units
    top = set(np.argsort(-np.abs(res.d_z))[:2].tolist())
    assert top == {3, 7}
    expected_d = 4.0 / np.sqrt(2) / np.linspace(2.0, 0.5, 16)[3]
    assert res.d_z[3] == pytest.approx(expected_d, rel=0.15)
    assert res.best_axis_d[0] ** 2 + res.best_axis_d[1] ** 2 >= res.d_z[3] ** 2 + res.d_z[7] ** 2 - 1e-9
    # amount 1 of the mean direction moves the "absent" mean onto the "present" mean
    moved = at.edit_latents(z[~y].mean(axis=0), res.mean_direction, [0.0, 1.0])
    assert moved.shape == (1, 2, 16)
    np.testing.assert_allclose(moved[0, 1], z[y].mean(axis=0), atol=1e-4)
    np.testing.assert_allclose(moved[0, 0], z[~y].mean(axis=0), atol=1e-6)
    # the probe direction's amount 1 covers the same gap measured along its own axis
    pd = res.probe_direction
    gap = (z[y].mean(axis=0) - z[~y].mean(axis=0)) @ pd.unit
    assert pd.step == pytest.approx(gap, rel=1e-6) and pd.step > 0
    np.testing.assert_allclose(pd.apply(z[:3], 2.0), z[:3] + 2 * pd.vector, atol=1e-5)


def test_ranking_puts_the_real_attribute_first_and_noise_at_chance():
    z, y, true, table = two_clusters()
    rows = at.summarise_attributes(z, table, cv=3)
    assert [r.name for r in rows] == ["A", "Noise"]
    assert rows[0].separation > 2.0 and abs(rows[1].separation) < 0.3
    assert 0.4 < rows[1].probe_accuracy < 0.6 and rows[0].probe_accuracy > 0.9
    assert rows[0].best_axes[0][0] in ("z", "pca")
    text = at.ranking_table(rows)
    assert "A" in text.splitlines()[1] and "probe acc" in text.splitlines()[0]


def test_cross_fitted_separation_does_not_flatter_noise_in_high_dimensions():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(300, 128))
    y = rng.random(300) < 0.2
    sep, acc = at.cross_fitted_separation(z, y)
    naive_u = z[y].mean(0) - z[~y].mean(0)
    p = z @ (naive_u / np.linalg.norm(naive_u))
    naive = at.cohens_d(p[y, None], p[~y, None])[0]
    assert naive > 1.0  # in-sample: looks separable
    assert abs(sep) < 0.4 and abs(acc - 0.5) < 0.1  # cross-fitted: it is not


def test_group_normality_matches_chi2_for_gaussians_and_flags_heavy_tails():
    rng = np.random.default_rng(2)
    g = at.group_normality(rng.normal(size=(3000, 6)), "gauss")
    assert g.dims == 6 and g.n == 3000
    np.testing.assert_allclose(g.observed, g.expected, atol=0.03)
    heavy = rng.standard_t(2.5, size=(3000, 6))
    h = at.group_normality(heavy, "t")
    assert h.max_gap > 3 * g.max_gap and h.max_gap > 0.05
    small = at.group_normality(rng.normal(size=(45, 20)), "small")
    assert small.dims == 4  # n // 10 leading axes when the group is small
    z, y, true, table = two_clusters()
    res = at.analyse_attribute(z, table, "A", probe=False)
    assert [g.label for g in res.normality] == ["A=1", "A=-1"]
    assert all(g.max_gap < 0.06 for g in res.normality)  # each cluster is Gaussian


def test_conditional_sampling_lands_in_the_right_cluster(gauss_sampler):
    z, y, true, table = two_clusters()
    centre_with = z[y].mean(axis=0) @ true
    centre_without = z[~y].mean(axis=0) @ true
    mid = (centre_with + centre_without) / 2
    for where, want in (("A=1", True), ("A=-1", False), ("A", True), ("A=no", False)):
        sub = at.conditional_latents(z, table, where, gauss_sampler)
        assert len(sub) == (y.sum() if want else (~y).sum())
        s = SAMPLERS[gauss_sampler]().fit(sub)
        proj = s.sample(400, seed=1) @ true
        inside = (proj > mid) if want else (proj < mid)
        assert inside.mean() > 0.85, where
    uncond = SAMPLERS[gauss_sampler]().fit(z).sample(400, seed=1) @ true
    assert 0.15 < (uncond > mid).mean() < 0.5
    both = at.subset_mask(table, at.parse_where("A=1,Noise=-1"))
    assert both.sum() == (y & (table.column("Noise") < 0)).sum()


def test_where_errors_name_what_is_allowed():
    z, y, true, table = two_clusters(n=200)
    with pytest.raises(SamplerError) as info:
        at.conditional_latents(z, table, "Smilng=1", "test-gauss")
    msg = str(info.value)
    assert "unknown attribute 'Smilng'" in msg and "allowed: A, Noise" in msg and "\n" not in msg
    with pytest.raises(SamplerError, match=r"only \d+ of 200 z-points match .*A=1: \d+; Noise=1: \d+.*needs at least 200"):
        at.conditional_latents(z, table, "A=1,Noise=1", "test-gauss", min_points=200)
    with pytest.raises(SamplerError, match=r"A has two conditions"):  # was: "only 0 … match" (nothing can match)
        at.conditional_latents(z, table, "A=1,A=-1", "test-gauss")
    small = table.subset(np.arange(20))
    assert small.counts("A")[0] < 17
    with pytest.raises(SamplerError, match="the normal sampler needs at least 17"):  # covariance needs > z_dim points
        at.conditional_latents(z[:20], small, "A=1", "normal")
    for bad in ("=1", "A=maybe", "A=1,=2"):
        with pytest.raises(SamplerError) as info:
            at.parse_where(bad)
        assert info.value.param == "where" and _as_cli(info.value).startswith("--where ")
    assert at.describe_where(at.parse_where("A=1, Noise=-1")) == "A=1,Noise=-1"
    assert at.min_points_for("normal", 256) == 257 and at.min_points_for("uniform", 256) == 10


def test_numeric_columns_split_at_the_median_and_support_comparisons():
    files = [f"{i}.png" for i in range(10)]
    t = at.AttributeTable(["Age"], np.arange(10, dtype=float)[:, None] * 10, files)
    assert not t.is_binary("Age") and t.threshold("Age") == 45
    p, a = t.groups("Age")
    assert p.sum() == 5 and a.sum() == 5
    assert at.subset_mask(t, at.parse_where("Age>=70")).sum() == 3
    assert at.subset_mask(t, at.parse_where("Age<20,Age!=0")).sum() == 1


# ---------------------------------------------------------------------------------------------
# label files


FILES = [f"{i:06d}.jpg" for i in range(1, 9)]


def test_celeba_file_with_missing_rows_unknown_names_and_bad_values_is_reported(tmp_path):
    p = tmp_path / "list_attr_celeba.txt"
    p.write_text(
        "9\n"
        "Smiling Male Eyeglasses\n"
        "000001.jpg  1 -1 -1\n"
        "000002.jpg -1  1 -1\n"
        "000003.jpg  1  1\n"          # a value short
        "000004.jpg  1  2 -1\n"       # not ±1
        "000005.jpg  x  1 -1\n"       # not a number
        "999999.jpg  1  1  1\n"       # a file the model never encoded
        "000006.jpg  1  1  1\n"
        "000006.jpg -1 -1 -1\n"       # duplicate
        "\n"
        "000007.jpg -1 -1  1\n"
    )
    t = at.read_label_file(p, FILES)
    r = t.report
    assert (r.format, r.attributes, r.rows, r.matched) == ("celeba", 3, 9, 4)
    assert r.unmatched == 1 and r.unmatched_examples == ["999999.jpg"]
    assert r.malformed == 3 and r.duplicates == 1
    assert r.malformed_examples[0] == "line 5: 2 value(s) for 3 attribute(s)"
    assert "Male='2'" in r.malformed_examples[1] and "line 6" in r.malformed_examples[1]
    assert "Smiling='x' is not a number" in r.malformed_examples[2]
    assert r.missing == 4 and r.missing_examples == ["000003.jpg", "000004.jpg", "000005.jpg", "000008.jpg"]
    assert any("declares 9 rows" in n for n in r.notes) is False  # 9 data rows were present
    text = r.summary()
    for part in ("4 matched", "1 row(s) for files the model has no z-point", "3 malformed", "1 duplicate", "4 z-point(s) without"):
        assert part in text
    assert t.names == ["Smiling", "Male", "Eyeglasses"]
    np.testing.assert_array_equal(t.values[5], [1, 1, 1])  # the first row for 000006 is kept
    assert np.isnan(t.values[2]).all() and t.counts("Smiling") == (2, 2, 4)


def test_csv_labels_with_blanks_booleans_numbers_and_name_matching(tmp_path):
    p = tmp_path / "labels.csv"
    p.write_text(
        "image,Smiling,Hat,Age\n"
        "000001.jpg,1,0,31.5\n"
        "faces/000002.jpg,0,yes,20\n"   # base name matches
        "000003.png,true,,44\n"          # stem matches, blank cell kept unknown
        "000004.jpg,1,0\n"               # short
        "000005.jpg,1,0,old\n"           # bad number
        "nobody.jpg,1,1,1\n"
    )
    t = at.read_label_file(p, FILES)
    r = t.report
    assert (r.format, r.matched, r.unmatched, r.malformed, r.blank_cells) == ("csv", 3, 1, 2, 1)
    assert t.is_binary("Smiling") and t.is_binary("Hat") and not t.is_binary("Age")
    np.testing.assert_array_equal(t.column("Smiling")[:3], [1, 0, 1])
    assert np.isnan(t.column("Hat")[2]) and t.column("Age")[2] == 44
    assert t.counts("Hat") == (1, 1, 6)


@pytest.mark.parametrize("text, match", [
    ("", "empty label file"),
    ("just one line\n", "not a label file"),
    ("file,Smiling,Smiling\na.jpg,1,1\n", "appears twice"),
    ("file,Smi=ling\na.jpg,1\n", "may not contain"),
    ("3\n", "no line of attribute names"),
    ("file,Smiling\nother.jpg,1\n", "none of its 1 row"),
])
def test_unusable_label_files_are_refused_with_a_reason(tmp_path, text, match):
    p = tmp_path / "l.txt"
    p.write_text(text)
    with pytest.raises(DataError, match=match):
        at.read_label_file(p, FILES)


def test_binary_and_missing_label_files_are_refused(tmp_path):
    with pytest.raises(DataError, match="no such label file"):
        at.read_label_file(tmp_path / "nope.txt", FILES)
    (tmp_path / "b.txt").write_bytes(b"\x00\x01\x02PK")
    with pytest.raises(DataError, match="not a text file"):
        at.read_label_file(tmp_path / "b.txt", FILES)


def test_labels_are_stored_beside_the_model_and_read_back_aligned(tmp_path):
    src = tmp_path / "attrs.txt"
    src.write_text("3\nSmiling Male\n000003.jpg 1 -1\n000001.jpg -1 1\n000002.jpg 1 1\n")
    model = tmp_path / "m"
    model.mkdir()
    t = at.import_labels(model, src, FILES)
    text = (model / "labels.csv").read_text()
    assert text.splitlines()[0] == "file,Smiling,Male"
    assert text.splitlines()[1:] == ["000001.jpg,0,1", "000002.jpg,1,1", "000003.jpg,1,0"]  # z order, 1/0
    assert sorted(p.name for p in model.iterdir()) == ["labels.csv"]  # no temp files left
    back = at.load_labels(model, FILES)
    np.testing.assert_array_equal(np.nan_to_num(back.values, nan=9), np.nan_to_num(np.where(t.values > 0, 1, np.where(t.values <= 0, 0, np.nan)), nan=9))
    assert back.report.matched == 3 and back.report.missing == 5
    assert at.load_labels(tmp_path / "none", FILES) is None
    with pytest.raises(DataError, match="has no labels.csv.*import LABEL_FILE") as e:
        at.require_labels(tmp_path / "none", FILES)
    assert "--" not in str(e.value)  # the engine names options; the CLI renders its flags
    assert f"`attributes --model {tmp_path / 'none'} --import LABEL_FILE`" in e.value.render(lambda p: "--" + p)


def test_parse_amounts():
    np.testing.assert_allclose(parse_amounts("-2:2:5"), [-2, -1, 0, 1, 2])
    np.testing.assert_allclose(parse_amounts("0,1.5"), [0, 1.5])
    np.testing.assert_allclose(parse_amounts("3"), [3])
    for bad in ("a:b:c", "1:2", "0:1:0", "0:1:2.5", "", "nan", "1:2:100", "1000"):
        with pytest.raises(EngineError) as info:
            parse_amounts(bad)
        assert info.value.param == "amount" and _as_cli(info.value).startswith("--amount ")
    tiles = np.zeros((3, 8, 8, 3), np.uint8)
    assert strip_image(tiles, np.zeros((8, 8, 3), np.uint8)).shape == (12, 2 + 14 + 3 * 10, 3)


# ---------------------------------------------------------------------------------------------
# the tiny model: generate(where=), attribute rates, edit command


@pytest.fixture
def labelled_tiny(tiny_model, tmp_path):
    """A copy of the tiny model with labels that follow z[:, 0] (Big = above the median)."""
    import shutil

    from engine.formats.native import load_latents

    m = tmp_path / "model"
    shutil.copytree(tiny_model, m)
    z, files = load_latents(m, 8)
    big = z[:, 0] > np.median(z[:, 0])
    rows = ["file,Big,Coin"] + [f"{f},{1 if b else -1},{1 if i % 2 else -1}" for i, (f, b) in enumerate(zip(files, big))]
    (tmp_path / "l.csv").write_text("\n".join(rows) + "\n")
    at.import_labels(m, tmp_path / "l.csv")
    return m, z, big


def test_generate_where_fits_on_the_subset(labelled_tiny, gauss_sampler):
    from engine.workflows.generate import generate_from_folder as generate

    m, z, big = labelled_tiny
    res = generate(m, gauss_sampler, {}, 64, 0, where="Big=1", decode=False)
    assert res.params["where"] == "Big=1" and res.params["where_points"] == int(big.sum())
    assert res.z[:, 0].mean() > np.median(z[:, 0])
    low = generate(m, gauss_sampler, {}, 64, 0, where="Big=-1", decode=True)
    assert low.z[:, 0].mean() < np.median(z[:, 0]) and low.images.shape == (64, 32, 32, 3)
    with pytest.raises(SamplerError, match="allowed: Big, Coin"):
        generate(m, gauss_sampler, {}, 4, 0, where="Small=1", decode=False)


def test_attribute_rates_conditional_beats_unconditional(labelled_tiny, gauss_sampler):
    m, z, big = labelled_tiny
    rep = at.attribute_rates(m, "Big=1", sampler=gauss_sampler, n=200, seed=0, attributes=["Coin"], reencode=False)
    big_row, coin_row = rep.rows
    assert big_row.attribute == "Big" and big_row.judge_accuracy > 0.8
    assert big_row.conditional_rate > big_row.unconditional_rate + 0.25
    assert big_row.real_subset_rate > 0.7 and abs(big_row.data_rate - 0.5) < 0.02
    assert rep.subset_points + 0 < rep.fit_points and rep.judge_points == round(len(z) * 0.3)
    assert "conditional" in rep.table() and json.dumps(rep.to_json())
    re = at.attribute_rates(m, "Big=1", sampler=gauss_sampler, n=32, seed=0)  # decode → re-encode path
    assert re.reencoded and 0 <= re.rows[0].conditional_rate <= 1


def test_attribute_rates_take_the_query_language(labelled_tiny, gauss_sampler):
    m, z, big = labelled_tiny
    rep = at.attribute_rates(m, "Big and not Coin", sampler=gauss_sampler, n=200, seed=0, reencode=False)
    assert rep.where == "Big and not Coin" and [r.attribute for r in rep.rows] == ["Big", "Coin"]
    big_row, coin_row = rep.rows
    assert big_row.conditional_rate > big_row.unconditional_rate + 0.25
    old = at.attribute_rates(m, "Big=1,Coin=-1", sampler=gauss_sampler, n=200, seed=0, reencode=False)
    assert old.subset_points == rep.subset_points  # both syntaxes select the same z-points
    with pytest.raises(SamplerError, match="an attribute to judge"):
        at.attribute_rates(m, "z0 > 0", sampler=gauss_sampler, n=16, seed=0, reencode=False)


def run_cli(*args, timeout=300):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def test_edit_cli_on_the_tiny_model(labelled_tiny, tmp_path):
    m, z, big = labelled_tiny
    faces = tmp_path / "faces"
    write_faces(faces, 3, seed=5)
    out = tmp_path / "strips"
    r = run_cli("edit", "--model", m, "--data", faces, "--attribute", "Big", "--amount", "-2:2:3", "--out", out, "--n", 2)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["000001.png", "000002.png", "grid.png", "params.json"]
    strip = np.asarray(Image.open(out / "000001.png"))
    assert strip.shape == (32 + 4, 2 + 38 + 3 * 34, 3)
    params = json.loads((out / "params.json").read_text())
    assert params["amounts"] == [-2.0, 0.0, 2.0] and params["columns"] == ["original", "-2", "0", "2"]
    assert params["attribute"] == "Big" and params["method"] == at.DEFAULT_EDIT_METHOD == "probe"
    left, right = strip[2:34, 42:74].astype(float), strip[2:34, 42 + 68 : 74 + 68].astype(float)
    assert np.abs(left - right).mean() > 1.0  # the face changes along the direction
    bad = run_cli("edit", "--model", m, "--data", faces, "--attribute", "Smiling", "--out", tmp_path / "o2")
    assert bad.returncode == 2 and "allowed: Big, Coin" in bad.stderr and bad.stderr.count("\n") == 1


# ---------------------------------------------------------------------------------------------
# the default model (CelebA attributes), via subprocess


needs_default = pytest.mark.skipif(not HAS_DEFAULT, reason="the default model (latents + labels.csv) is not in resources/ yet")


@needs_default
def test_default_model_ships_celeba_labels():
    from engine.formats.native import load_latents

    z, files = load_latents(DEFAULT, 256)
    t = at.load_labels(DEFAULT, files)
    assert len(t.names) == 40 and "Smiling" in t.names and t.report.matched == len(z) == 9000
    assert t.report.problems == 0
    p, a, u = t.counts("Smiling")
    assert u == 0 and 0.35 < p / 9000 < 0.65


@needs_default
def test_generate_where_cli_on_default_model(tmp_path):
    sampler = "normal" if "normal" in SAMPLERS else "uniform"
    out = tmp_path / "smiling"
    r = run_cli("generate", "--sampler", sampler, "--where", "Smiling=1,Male=-1", "--n", 4, "--out", out)
    assert r.returncode == 0, r.stderr
    params = json.loads((out / "params.json").read_text())
    assert params["where"] == "Smiling=1,Male=-1" and params["where_points"] > 1000
    assert len(list(out.glob("000[0-3].png"))) == 4
    r = run_cli("generate", "--sampler", sampler, "--where", "Smilling=1", "--n", 4, "--out", tmp_path / "x")
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert "unknown attribute 'Smilling' (did you mean Smiling?)" in r.stderr and "Eyeglasses" in r.stderr
    r = run_cli("generate", "--sampler", sampler, "--where", "Smiling=1,Smiling=-1", "--n", 4, "--out", tmp_path / "y")
    # contradictory conditions are refused as such (was: "only 0 of 9000 z-points match")
    assert r.returncode == 2 and "Smiling has two conditions" in r.stderr and r.stderr.count("\n") == 1
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


@needs_default
def test_edit_cli_on_default_model(tmp_path):
    faces = tmp_path / "faces"
    write_faces(faces, 2, seed=7, size=96)
    out = tmp_path / "edit"
    r = run_cli("edit", "--data", faces, "--attribute", "Smiling", "--amount", "-2:2:5", "--out", out)
    assert r.returncode == 0, r.stderr
    strip = np.asarray(Image.open(out / "000001.png"))
    assert strip.shape == (68, 2 + 70 + 5 * 66, 3)
    tiles = [strip[2:66, 74 + k * 66 : 138 + k * 66].astype(float) for k in range(5)]
    steps = [np.abs(tiles[k + 1] - tiles[k]).mean() for k in range(4)]
    assert min(steps) > 0.5  # every step of the amount changes the face
    assert json.loads((out / "params.json").read_text())["n_present"] > 3000


@needs_default
def test_evaluate_where_reports_attribute_rates_on_default_model(tmp_path):
    out = tmp_path / "report.json"
    r = run_cli("evaluate", "--samplers", "normal", "--n", 64, "--where", "Smiling=1", "--judge", "Male", "--out", out)
    assert r.returncode == 0, r.stderr
    assert "attribute rates for --where Smiling=1" in r.stdout
    rates = json.loads(out.read_text())["info"]["attribute_rates"]
    smiling, male = rates[0]["rows"]
    assert smiling["attribute"] == "Smiling" and smiling["judge_accuracy"] > 0.75
    assert smiling["conditional_rate"] > smiling["unconditional_rate"] + 0.2
    assert male["attribute"] == "Male" and abs(male["conditional_rate"] - male["unconditional_rate"]) < 0.25


# ---------------------------------------------------------------------------------------------
# the ranking workflow (engine/workflows/rank_attributes.py): the Attributes panel's use case, cached


def test_ranking_workflow_is_cached_by_z_points_and_labels(tmp_path, monkeypatch):
    from engine.errors import Cancelled
    from engine.progress import CancelToken
    from engine.workflows import rank_attributes as wf

    monkeypatch.setenv("LFS_CACHE_DIR", str(tmp_path / "cache"))
    z, _, _, table = two_clusters(n=400, d=8)
    steps = []
    r = wf.rank_attributes(z, table, progress=steps.append)
    assert not r.from_cache and r.order == ["A", "Noise"] and not r.complete and steps
    expected = at.summarise_attributes(z, table, probe=False)
    assert [x.name for x in expected] == r.order and r.quick["A"].separation == expected[0].separation
    path = wf.cache_path(r.key)
    assert path.is_file() and path.parent == tmp_path / "cache" / "attributes"
    row = wf.measure_probe(r, z, table, "A")
    assert row.probe_accuracy > 0.9 and r.probe["A"] is row and r.row("A") is row and r.measured == 1
    again = wf.rank_attributes(z, table)
    assert again.from_cache and again.order == r.order and again.probe["A"].probe_accuracy == row.probe_accuracy
    assert again.quick["A"].best_axes == r.quick["A"].best_axes
    wf.measure_probe(again, z, table, "Noise")  # prepares its PCA and whitener on first use
    assert again.complete and wf.rank_attributes(z, table).complete
    # other labels or other z-points: another file
    other = at.AttributeTable(table.names, -table.values, table.files)
    assert wf.ranking_key(z, other) != r.key and wf.ranking_key(z[::-1], table) != r.key
    # a damaged file is ignored and rewritten
    path.write_text("{broken")
    fresh = wf.rank_attributes(z, table)
    assert not fresh.from_cache and json.loads(path.read_text())["format"] == wf.CACHE_FORMAT
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        wf.rank_attributes(z, other, cancel=token)
