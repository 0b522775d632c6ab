"""engine/workflows/save_set.py: a generated set written by the folder rules of both fronts."""
from __future__ import annotations

import json

import numpy as np
import pytest


@pytest.fixture(scope="module")
def opened(tiny_model):
    from engine.workflows.open_model import open_model

    return open_model(tiny_model, labels=False)


def test_save_a_generated_set_and_a_selection(opened, tmp_path):
    from engine.workflows.generate import generate
    from engine.workflows.save_set import check_set_folder, save_set

    gen = generate(opened, "normal", None, 6, seed=3)
    saved = save_set(tmp_path / "all", opened.folder, gen.z, gen.params, gen.images)
    assert saved.count == 6 and saved.folder == tmp_path / "all"
    np.testing.assert_array_equal(np.load(saved.folder / "z.npy", allow_pickle=False), gen.z)
    assert sorted(p.name for p in saved.folder.glob("0*.png")) == [f"{i:04d}.png" for i in range(6)]
    assert (saved.folder / "grid.png").is_file()
    part = save_set(tmp_path / "some", opened.folder, gen.z, gen.params, gen.images, rows=[4, 1])
    assert part.count == 2
    np.testing.assert_array_equal(np.load(part.folder / "z.npy", allow_pickle=False), gen.z[[4, 1]])
    params = json.loads((part.folder / "params.json").read_text())
    assert params["selection"] == [4, 1] and params["seed"] == 3 and params["sampler"] == "normal"
    assert check_set_folder(tmp_path / "some", opened.folder, overwrite=True).ours


def test_never_inside_the_model_nor_among_the_users_files(opened, tmp_path):
    from engine.errors import EngineError
    from engine.workflows.save_set import check_set_folder, save_set

    z = np.zeros((2, opened.z_dim), np.float32)
    with pytest.raises(EngineError, match="inside the input"):
        check_set_folder(opened.folder / "set", opened.folder)
    with pytest.raises(EngineError, match="inside the input"):
        save_set(opened.folder / "set", opened.folder, z, {})
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "holiday.jpg").write_bytes(b"x")
    with pytest.raises(EngineError, match="did not write"):
        save_set(mine, opened.folder, z, {})
    assert sorted(p.name for p in mine.iterdir()) == ["holiday.jpg"]


def test_generate_to_folder_writes_through_save_set(tiny_model, tmp_path):
    from engine.workflows.generate import generate_to_folder

    res = generate_to_folder(tiny_model, "uniform", None, 5, 1, tmp_path / "g", z_only=True)
    assert res.folder == tmp_path / "g" and res.generated.z.shape[0] == 5
    assert sorted(p.name for p in res.folder.iterdir() if not p.name.startswith(".")) == ["params.json", "z.npy"]
