import json
import pickle

import numpy as np
import pytest
import torch

from engine.formats import native as model_store
from engine.autoencoder import ArchitectureConfig, ConvAutoencoder
from engine.errors import ModelFileError
from engine.image_data import Preprocess

from conftest import TINY_ARCH


def _save_tiny(folder, **arch):
    cfg = ArchitectureConfig(**{**TINY_ARCH, **arch})
    model = ConvAutoencoder(cfg)
    model_store.save_model(folder, model, model_store.ModelConfig(cfg, Preprocess(image_size=cfg.image_size)))
    return model


def test_round_trip_keeps_weights_and_config(tmp_path):
    model = _save_tiny(tmp_path / "m")
    loaded, config = model_store.load_model(tmp_path / "m")
    assert config.arch.z_dim == 8 and config.arch.image_size == 32
    for k, v in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[k], v)
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["config.json", "weights.safetensors"]


class _Evil:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_pickle_weights_are_refused_and_never_run(tmp_path):
    _save_tiny(tmp_path / "m")
    marker = tmp_path / "pwned.txt"
    (tmp_path / "m" / "weights.safetensors").write_bytes(pickle.dumps(_Evil(str(marker))))
    with pytest.raises(ModelFileError, match="pickle") as info:
        model_store.load_model(tmp_path / "m")
    assert "weights.safetensors" in str(info.value)
    assert not marker.exists()


def test_torch_save_zip_is_refused(tmp_path):
    model = _save_tiny(tmp_path / "m")
    torch.save(model.state_dict(), tmp_path / "m" / "weights.safetensors")
    with pytest.raises(ModelFileError, match="never unpickles"):
        model_store.load_model(tmp_path / "m")


def test_garbage_and_truncated_weights_are_refused(tmp_path):
    _save_tiny(tmp_path / "m")
    w = tmp_path / "m" / "weights.safetensors"
    data = w.read_bytes()
    w.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="truncated"):
        model_store.load_model(tmp_path / "m")
    w.write_bytes(b"hello world, not weights at all" * 10)
    with pytest.raises(ModelFileError, match="weights.safetensors"):
        model_store.load_model(tmp_path / "m")


def test_shape_mismatch_is_explained(tmp_path):
    _save_tiny(tmp_path / "m")
    cfg = json.loads((tmp_path / "m" / "config.json").read_text())
    cfg["architecture"]["z_dim"] = 16
    (tmp_path / "m" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelFileError, match=r"z_dim=16.*needs \[16"):
        model_store.load_model(tmp_path / "m")


def test_config_errors_name_the_key(tmp_path):
    _save_tiny(tmp_path / "m")
    path = tmp_path / "m" / "config.json"
    cfg = json.loads(path.read_text())
    cfg["architecture"]["z_dim"] = "many"
    path.write_text(json.dumps(cfg))
    with pytest.raises(ModelFileError, match="z_dim must be an integer"):
        model_store.load_model(tmp_path / "m")
    del cfg["architecture"]
    path.write_text(json.dumps(cfg))
    with pytest.raises(ModelFileError, match='missing key "architecture"'):
        model_store.load_model(tmp_path / "m")
    path.write_text("{not json")
    with pytest.raises(ModelFileError, match="not valid JSON"):
        model_store.load_model(tmp_path / "m")


def test_latents_are_validated(tmp_path):
    _save_tiny(tmp_path / "m")
    folder = tmp_path / "m"
    model_store.save_latents(folder, np.zeros((5, 8), np.float32), [f"{i}.jpg" for i in range(5)])
    z, files = model_store.load_latents(folder, 8)
    assert z.shape == (5, 8) and files[4] == "4.jpg"
    with pytest.raises(ModelFileError, match="z_dim 16"):
        model_store.load_latents(folder, 16)
    bad = np.zeros((5, 8), np.float32)
    bad[3, 2] = np.nan
    np.save(folder / "latents.npy", bad)
    with pytest.raises(ModelFileError, match="NaN or Inf.*row 3"):
        model_store.load_latents(folder, 8)
    np.save(folder / "latents.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ModelFileError, match="never unpickled"):
        model_store.load_latents(folder, 8)


def test_atomic_write_leaves_old_file_on_failure(tmp_path, monkeypatch):
    from engine import atomic_io

    target = tmp_path / "x.json"
    atomic_io.write_json(target, {"v": 1})

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic_io.os, "replace", boom)
    with pytest.raises(OSError):
        atomic_io.write_json(target, {"v": 2})
    assert json.loads(target.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]
