"""engine/workflows/rank_attributes.py: the one ranking, quick (cached) or with every probe (the CLI)."""
from __future__ import annotations

import numpy as np
import pytest

from engine import attributes as at


def _cloud(n=400, d=8, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.3
    z = rng.normal(size=(n, d)) * np.linspace(2.0, 0.5, d)
    z[y, 3] += 4.0
    noise = np.where(rng.random(n) < 0.5, 1, -1)
    files = [f"{i:05d}.png" for i in range(n)]
    return z.astype(np.float32), at.AttributeTable(["A", "Noise"], np.stack([np.where(y, 1, -1), noise], 1), files)


def test_quick_ranking_is_cached_and_the_probe_ranking_is_complete(tmp_path, monkeypatch):
    from engine.workflows.rank_attributes import cache_path, rank_attributes

    monkeypatch.setenv("LFS_CACHE_DIR", str(tmp_path / "cache"))
    z, table = _cloud()
    quick = rank_attributes(z, table)
    assert quick.order == ["A", "Noise"] and not quick.complete and cache_path(quick.key).is_file()
    assert quick.quick["A"].separation > 2.0 and abs(quick.quick["Noise"].separation) < 0.3
    full = rank_attributes(z, table, probe=True, use_cache=False)
    assert full.complete and [r.name for r in full.rows()] == ["A", "Noise"] and not full.kept
    assert full.rows()[0].probe_accuracy > 0.9 and 0.35 < full.rows()[1].probe_accuracy < 0.65
    expected = at.summarise_attributes(z, table, probe=True)
    assert [r.probe_accuracy for r in full.rows()] == [r.probe_accuracy for r in expected]
    assert "probe acc" in at.ranking_table(full.rows()).splitlines()[0]


def test_without_the_cache_nothing_is_written(tmp_path, monkeypatch):
    from engine.workflows.rank_attributes import measure_probe, rank_attributes

    monkeypatch.setenv("LFS_CACHE_DIR", str(tmp_path / "cache"))
    z, table = _cloud(seed=1)
    r = rank_attributes(z, table, use_cache=False)
    row = measure_probe(r, z, table, "A")
    assert row.probe_accuracy == pytest.approx(r.probe["A"].probe_accuracy) and r.measured == 1
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("*.json"))


def test_one_function_of_that_name():
    import engine.attributes as blocks

    assert not hasattr(blocks, "rank_attributes")


def test_labelled_latents_of_a_model(tiny_model, tmp_path):
    import shutil

    from engine.errors import DataError
    from engine.workflows.rank_attributes import labelled_latents, rank_attributes

    model = tmp_path / "model"
    shutil.copytree(tiny_model, model, ignore=shutil.ignore_patterns(".*", "labels.csv"))
    with pytest.raises(DataError) as info:
        labelled_latents(model)
    from main import cli_name

    assert "attach labels with --import LABEL_FILE" in info.value.render(cli_name)
    files = (model / "latents_files.txt").read_text().split("\n")[:-1]
    z = np.load(model / "latents.npy", allow_pickle=False)
    names = files or [f"{i:06d}.png" for i in range(len(z))]
    labels = tmp_path / "labels.csv"
    labels.write_text("file,Left\n" + "".join(f"{n},{1 if z[i, 0] > 0 else -1}\n" for i, n in enumerate(names)))
    lab = labelled_latents(model, labels)
    assert lab.imported and lab.table.names == ["Left"] and lab.z.shape == z.shape and (model / "labels.csv").is_file()
    again = labelled_latents(model)
    assert not again.imported and again.table.names == ["Left"]
    ranking = rank_attributes(again.z, again.table, use_cache=False)
    assert ranking.order == ["Left"] and ranking.quick["Left"].separation > 0.5
