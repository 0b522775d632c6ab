"""engine/workflows/compare_models.py: two models side by side, written as comparison.json + comparison.png into an
owned folder (the CLI's compare-models; the GUI's Two models panel measures with compare_opened)."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from tests.conftest import cli


def _rotation(d: int, seed: int) -> np.ndarray:
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))
    return q * np.sign(np.diag(r))


@pytest.fixture(scope="module")
def rotated(labelled_model, tmp_path_factory):
    """A second model: the labelled tiny model with its z-points turned by a known rotation (plus float32 rounding;
    the building blocks' tests add noise)."""
    folder = tmp_path_factory.mktemp("rotated") / "model"
    shutil.copytree(labelled_model, folder, ignore=shutil.ignore_patterns(".*", "labels.csv"))
    z = np.load(folder / "latents.npy")
    np.save(folder / "latents.npy", (z.astype(np.float64) @ _rotation(z.shape[1], 1)).astype(np.float32))
    return folder


@pytest.fixture(scope="module")
def other_size(tiny_data, tmp_path_factory):
    """A second model truly trained (z_dim 6 instead of 8) on the same faces, so its names match."""
    from engine.autoencoder import ArchitectureConfig
    from engine.encoding import encode_dataset
    from engine.image_data import Preprocess, load_folder
    from engine.training import TrainOptions, train

    pre = Preprocess(image_size=32, reference_size=(48, 48), crop_box=(0, 0, 48, 48))
    ds = load_folder(tiny_data, pre, cache=False)
    out = tmp_path_factory.mktemp("other") / "model"
    train(ds, out, ArchitectureConfig(image_size=32, channels=(8, 16, 16, 32), z_dim=6),
          TrainOptions(epochs=3, batch_size=8, learning_rate=3e-3, seed=5, val_count=8))
    encode_dataset(out, ds)
    return out


def test_a_rotated_copy_is_found_aligned_and_written(labelled_model, rotated, tiny_data, tmp_path):
    from PIL import Image

    from engine.workflows.compare_models import CompareOptions, compare_models

    opts = CompareOptions(k=5, whiten=True, samplers=["normal"], n=16, min_shared=50)
    comp = compare_models(labelled_model, rotated, tmp_path / "cmp", data=tiny_data, options=opts)
    numbers = json.loads((tmp_path / "cmp" / "comparison.json").read_text())
    assert numbers["shared"] == {"faces": 96, "only_a": 0, "only_b": 0}
    al = numbers["alignment"]
    assert al["linear_r2_held_out"] > 0.98 and al["procrustes_r2_held_out"] > 0.9
    assert al["fitted_on"] + al["held_out"] == 96 and al["held_out"] == 19
    assert min(al["canonical_correlations_held_out"][:3]) > 0.95
    assert numbers["overlap"]["median"] > 0.95 and numbers["overlap"]["space"] == "whitened"
    assert len(numbers["overlap"]["least"]) == 10 and comp.overlap.shape == (96,)
    left = numbers["probes"]["Left"]  # the judge is whitened and L2-penalised: a rotation changes nothing
    assert numbers["labels_from"] == "A" and left["a"] > 0.6 and abs(left["a"] - left["b"]) < 0.02
    assert set(numbers["samplers"]["normal"]["a"]) >= {"inside_2s", "nn_ratio"} and numbers["samplers"]["normal"]["b"]
    assert numbers["faces_shown"] == ["original", "A", "B", "B from A's z"] and numbers["face"] == comp.face_name
    with Image.open(tmp_path / "cmp" / "comparison.png") as im:
        assert im.size[0] > 800 and im.size[1] > 500
    params = json.loads((tmp_path / "cmp" / "params.json").read_text())
    assert params["set_kind"] == "model-comparison"
    assert set(params["set_files"]) == {"comparison.json", "comparison.png"}


def test_two_truly_different_models_of_other_sizes(tiny_model, other_size):
    from engine.workflows.compare_models import CompareOptions, compare_opened
    from engine.workflows.open_model import open_model

    a, b = open_model(tiny_model), open_model(other_size)
    comp = compare_opened(a, b, CompareOptions(k=5, samplers=(), face=a.latent_files[3]))
    al = comp.numbers["alignment"]
    assert (al["z_dim_a"], al["z_dim_b"]) == (8, 6) and len(al["canonical_correlations"]) == 6
    assert comp.numbers["probes"] == {} and comp.numbers["samplers"] == {}
    assert comp.face_name == a.latent_files[3] and list(comp.faces) == ["A", "B", "B from A's z"]
    assert all(img.shape == (32, 32, 3) and img.dtype == np.uint8 for img in comp.faces.values())
    assert 0.0 <= comp.numbers["overlap"]["median"] <= 1.0
    rows = comp.table_rows()
    assert rows[0] == ("z dimensions", "8", "6") and rows[1][1] == "96"


def test_refuses_the_same_model_twice_and_too_few_shared_faces(tiny_model, tmp_path):
    from engine.errors import DataError, EngineError
    from engine.workflows.compare_models import CompareOptions, compare_models

    with pytest.raises(EngineError) as e:
        compare_models(tiny_model, tiny_model.parent / "." / "model", tmp_path / "out")
    assert e.value.param == "model" and "same folder" in str(e.value) and not (tmp_path / "out").exists()
    few = tmp_path / "few"
    shutil.copytree(tiny_model, few, ignore=shutil.ignore_patterns(".*"))
    names = (few / "latents_files.txt").read_text().split("\n")[:30]
    (few / "latents_files.txt").write_text("\n".join(names) + "\n")
    np.save(few / "latents.npy", np.load(few / "latents.npy")[:30])
    with pytest.raises(DataError) as e:
        compare_models(tiny_model, few, tmp_path / "out", options=CompareOptions(samplers=()))
    assert "share 30 encoded faces" in str(e.value) and "at least 50" in str(e.value)
    assert not (tmp_path / "out").exists()
    with pytest.raises(DataError):
        compare_models(tiny_model, few, tmp_path / "out", options=CompareOptions(samplers=(), face="nope"))
    with pytest.raises(EngineError) as e:
        compare_models(tiny_model, few, tmp_path / "out", options=CompareOptions(held_out=0.9))
    assert e.value.param == "held_out" and not (tmp_path / "out").exists()


def test_cli_compare_models(labelled_model, rotated, tmp_path, capsys):
    out = tmp_path / "cli"
    rc, stdout, err = cli(["compare-models", "--model", labelled_model, "--model", rotated, "--out", out,
                           "--samplers", "none", "--k", "5"], capsys)
    assert rc == 0, err
    assert "shared faces" in stdout and "comparison written to" in stdout
    assert (out / "comparison.json").is_file() and (out / "comparison.png").is_file()
    rc, stdout, err = cli(["compare-models", "--model", rotated, "--model", rotated, "--out", tmp_path / "x"], capsys)
    assert rc == 2 and "--model" in err and "same folder" in err and len(err.strip().splitlines()) == 1
    rc, stdout, err = cli(["compare-models", "--model", labelled_model, "--model", rotated, "--out", out,
                           "--samplers", "none"], capsys)
    assert rc == 2 and "--overwrite" in err
    rc, stdout, err = cli(["compare-models", "--model", rotated, "--out", tmp_path / "y", "--samplers", "none"], capsys)
    assert rc == 2 and "share 0 encoded faces" in err and not (tmp_path / "y").exists()  # one --model: the default A
    rc, stdout, err = cli(["compare-models", "--out", tmp_path / "z"], capsys)
    assert rc == 2 and "give two model folders" in err
