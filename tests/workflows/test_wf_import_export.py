"""engine/workflows/export_model.py + import_model.py: the tiny model exported to ONNX and imported back."""
from __future__ import annotations

import json

import numpy as np
import pytest


@pytest.fixture(scope="module")
def exported(tiny_model, tmp_path_factory):
    from engine.workflows.export_model import export_model

    return export_model(tiny_model, tmp_path_factory.mktemp("export") / "onnx")


def _z(n=6, seed=0):
    return np.random.default_rng(seed).normal(size=(n, 8)).astype(np.float32)


def test_export_writes_an_onnx_model_folder(tiny_model, exported):
    from engine.formats import open_model
    from engine.formats.onnx.codec import OnnxAutoencoderCodec

    assert (exported.z_dim, exported.image_size) == (8, 32)
    assert sorted(exported.files) == ["config.json", "decoder.onnx", "encoder.onnx"]
    assert sorted(p.name for p in exported.folder.iterdir() if not p.name.startswith(".")) == sorted(exported.files)
    native, onnx = open_model(tiny_model), open_model(exported.folder)
    assert isinstance(onnx, OnnxAutoencoderCodec) and onnx.model_id == native.model_id
    assert (onnx.z_dim, onnx.image_size) == (8, 32)
    card = json.loads((exported.folder / "config.json").read_text())
    assert card["source"]["exported_from"] == str(tiny_model)
    z = _z()
    a, b = native.decode(z), onnx.decode(z)
    assert a.shape == b.shape == (6, 32, 32, 3)
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1  # within 1/255
    faces = native.decode(_z(seed=1))
    np.testing.assert_allclose(onnx.encode(faces), native.encode(faces), atol=1e-3)


def test_import_it_back_into_a_new_folder(tiny_model, exported, tmp_path):
    from engine.formats import open_model
    from engine.workflows.import_model import import_model

    out = tmp_path / "imported"
    res = import_model(exported.folder / "encoder.onnx", exported.folder / "decoder.onnx", out)
    assert res.folder == out and res.kind == "onnx" and (res.image_size, res.z_dim) == (32, 8)
    assert res.channel_order == "nchw" and res.value_range == (0.0, 1.0)
    assert "imported" in res.summary() and "z_dim 8" in res.summary()
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "config.json", "decoder.onnx", "encoder.onnx"]
    for name in ("encoder.onnx", "decoder.onnx"):  # the graphs are copied as they are
        assert (out / name).read_bytes() == (exported.folder / name).read_bytes()
    native, imported = open_model(tiny_model), open_model(out)
    assert imported.model_id != native.model_id  # an imported model is a new model
    z = _z(8, seed=3)
    a, b = native.decode(z), imported.decode(z)
    assert b.shape == (8, 32, 32, 3) and b.dtype == np.uint8
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1  # the same z decodes to within 1/255


def test_refusals(tiny_model, exported, tmp_path):
    from engine.errors import EngineError
    from engine.workflows.export_model import export_model
    from engine.workflows.import_model import import_model

    with pytest.raises(EngineError, match="expected one of onnx") as info:
        export_model(tiny_model, tmp_path / "x", format="tflite")
    assert info.value.param == "format" and not (tmp_path / "x").exists()
    with pytest.raises(EngineError, match="inside the input") as info:
        export_model(tiny_model, tiny_model / "onnx")
    assert info.value.param == "out"
    full = tmp_path / "full"
    full.mkdir()
    (full / "mine.txt").write_text("x")
    with pytest.raises(EngineError):
        import_model(exported.folder / "encoder.onnx", exported.folder / "decoder.onnx", full)
    assert sorted(p.name for p in full.iterdir()) == ["mine.txt"]
    with pytest.raises(EngineError, match="expected nchw or nhwc") as info:
        import_model(exported.folder / "encoder.onnx", exported.folder / "decoder.onnx", tmp_path / "m",
                     channel_order="rgb")
    assert info.value.param == "channel_order" and not (tmp_path / "m").exists()
    with pytest.raises(EngineError, match="the model takes 32×32 images") as info:
        import_model(exported.folder / "encoder.onnx", exported.folder / "decoder.onnx", tmp_path / "m",
                     image_size=64)
    assert info.value.param == "image_size" and not (tmp_path / "m").exists()
