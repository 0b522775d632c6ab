"""engine/workflows/train.py: a tiny model trained for two epochs on a folder of faces, then its z-points encoded."""
from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import TINY_ARCH


def _options(epochs=2):
    from engine.training import TrainOptions

    return TrainOptions(epochs=epochs, batch_size=8, learning_rate=3e-3, seed=0, val_count=4, device="cpu")


def test_two_epochs_of_the_tiny_architecture(face_folder, tmp_path):
    from engine.autoencoder import ArchitectureConfig
    from engine.formats.native import load_latents
    from engine.workflows.open_model import open_model
    from engine.workflows.train import TrainedModel, train_model

    told = []
    out = tmp_path / "model"
    res = train_model(face_folder, out, ArchitectureConfig(**TINY_ARCH), _options(), on_data=told.append)
    assert isinstance(res, TrainedModel) and res.folder == out and res.encoded and res.is_main
    assert res.epochs_done == 2 and [h["epoch"] for h in res.history] == [1, 2]
    for h in res.history:
        assert math.isfinite(h["train_loss"]) and h["train_loss"] > 0
        assert math.isfinite(h["val_loss"]) and h["val_loss"] > 0
    assert res.val_loss == res.history[-1]["val_loss"]
    assert len(told) == 1 and len(told[0]) == 24 and res.data_summary == told[0].summary()
    assert "24" in res.data_summary
    names = {p.name for p in out.iterdir() if not p.name.startswith(".")}
    assert {"config.json", "latents.npy", "latents_files.txt"} <= names
    z, files = load_latents(out, 8)
    assert z.shape == (24, 8) and z.dtype == np.float32 and np.isfinite(z).all()
    assert sorted(files) == sorted(p.name for p in face_folder.iterdir())
    opened = open_model(out, labels=False)
    assert (opened.z_dim, opened.image_size) == (8, 32)
    np.testing.assert_allclose(opened.codec.encode(told[0].images[:4]), z[:4], atol=1e-4)
    # the face folder itself is left as it was: 24 images, nothing added
    assert sorted(p.name for p in face_folder.iterdir()) == [f"{i:06d}.png" for i in range(1, 25)]


def test_without_encoding(face_folder, tmp_path):
    from engine.autoencoder import ArchitectureConfig
    from engine.workflows.train import train_model

    res = train_model(face_folder, tmp_path / "m", ArchitectureConfig(**TINY_ARCH), _options(epochs=1), encode=False)
    assert not res.encoded and res.epochs_done == 1 and not (tmp_path / "m" / "latents.npy").exists()
    assert (tmp_path / "m" / "config.json").is_file()


def test_refuses_a_model_folder_inside_its_images(face_folder):
    from engine.autoencoder import ArchitectureConfig
    from engine.errors import EngineError
    from engine.workflows.train import train_model

    before = sorted(p.name for p in face_folder.iterdir())
    with pytest.raises(EngineError) as info:
        train_model(face_folder, face_folder / "model", ArchitectureConfig(**TINY_ARCH), _options())
    assert info.value.param == "out"
    assert sorted(p.name for p in face_folder.iterdir()) == before


def test_refuses_bad_options_before_any_work(face_folder, tmp_path):
    from engine.autoencoder import ArchitectureConfig
    from engine.errors import EngineError
    from engine.workflows.train import train_model

    bad = _options()
    bad.epochs = 0
    with pytest.raises(EngineError, match="must be a whole number from 1") as info:
        train_model(face_folder, tmp_path / "m", ArchitectureConfig(**TINY_ARCH), bad)
    assert info.value.param == "epochs" and not (tmp_path / "m").exists()
