"""The formats package (issue 23): one registry of codecs, importers and exporters; importers picked by sniffing;
``export --format`` checked against the registered exporters; a new importable format is one module that
registers itself (here: a test-only "zipped ONNX pair" format, registered the way a module in engine/formats/ does).
"""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from engine import formats
from engine.errors import EngineError, ModelFileError
from engine.formats import registry

ROOT = Path(__file__).resolve().parents[1]


def test_the_registry_is_complete_once_the_package_is_imported():
    assert set(formats.codec_names()) >= {"latent-face-studio-model", "onnx-autoencoder"}
    assert set(formats.importer_names()) >= {"onnx", "keras"}
    assert formats.exporter_names() == ["onnx"]
    assert formats.exporter("onnx").__module__ == "engine.formats.onnx.exporter"
    with pytest.raises(EngineError) as e:
        formats.exporter("tflite")
    assert e.value.param == "format" and str(e.value) == "format 'tflite': expected one of onnx"


def test_importers_are_picked_by_suffix_then_by_sniffing_a_bounded_head(tmp_path):
    def file(name, data):
        (tmp_path / name).write_bytes(data)
        return tmp_path / name

    assert formats.importer_for(file("a.onnx", b"PK\x03\x04 whatever")).name == "onnx"  # the suffix decides
    assert formats.importer_for(file("a.keras", b"PK\x03\x04" + bytes(60))).name == "keras"
    assert formats.importer_for(file("model.bin", b"PK\x03\x04" + bytes(60))).name == "keras"  # sniffed
    assert formats.importer_for(file("model.bin2", b"\x89HDF\r\n\x1a\n" + bytes(60))).name == "keras"
    assert formats.importer_for(file("graph.pb", b"\x08\x07\x12\x04" + bytes(60))).name == "onnx"  # the last resort
    with pytest.raises(ModelFileError, match="not a Keras model"):
        formats.importer_for(file("broken.h5", b"garbage, not HDF5 at all" + bytes(60)))
    with pytest.raises(ModelFileError, match="pickle"):
        formats.importer_for(file("x.keras", b"\x80\x04" + bytes(60)))


def test_export_format_is_checked_against_the_registered_exporters(tmp_path):
    from engine.workflows.export_model import export_model

    with pytest.raises(EngineError) as e:
        export_model(tmp_path / "no-model", tmp_path / "out", format="tflite")
    assert e.value.param == "format"
    assert e.value.render(lambda p: "--" + p.replace("_", "-")) == "--format 'tflite': expected one of onnx"
    assert not (tmp_path / "out").exists()


def test_every_formats_module_imports_first_in_a_fresh_interpreter():
    """No import circle hides behind an import order: each module can be the first one imported."""
    mods = sorted(".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
                  for p in (ROOT / "engine" / "formats").rglob("*.py"))
    code = ("import importlib, subprocess, sys\nbad = []\nfor m in sys.argv[1:]:\n"
            "    r = subprocess.run([sys.executable, '-c', f'import {m}; import engine.formats as f; "
            "assert len(f.codec_names()) >= 2'], capture_output=True, text=True)\n"
            "    bad += [m + ': ' + r.stderr[-300:]] if r.returncode else []\nprint(bad)\n")
    out = subprocess.run([sys.executable, "-c", code, *mods], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


# ------------------------------------------------------------------------------------------------
# a new importable format: everything it takes is this much, in one module of engine/formats/


def _zip_sniff(path: Path) -> float:
    with open(path, "rb") as fh:
        head = fh.read(4)
    return 1.0 if head[:2] == b"PK" else 0.0


def _zip_import_files(encoder=None, decoder=None, model_file=None, *, architecture=None, split_layer=None,
                      cancel=None):
    from engine.formats.onnx.importer import import_files as onnx_files

    if model_file is None:
        raise EngineError("a zipped ONNX pair is one file", param="encoder")
    folder = Path(model_file).with_suffix(".unzipped")
    with zipfile.ZipFile(model_file) as zf:  # (a real one would bound each member's size first)
        zf.extractall(folder, members=["encoder.onnx", "decoder.onnx"])
    enc, dec, facts = onnx_files(folder / "encoder.onnx", folder / "decoder.onnx")
    facts["source"] = {"imported_from": "zipped onnx", "model_file": str(model_file)}
    return enc, dec, facts


def test_a_new_importable_format_is_one_registration(tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("torch")
    from test_import_export import _torch_pair

    from engine.workflows.import_model import import_model

    new = registry.Importer("onnxzip", "a zipped ONNX", (".onnxzip",), _zip_sniff, _zip_import_files)
    monkeypatch.setitem(registry.IMPORTERS, new.name, new)  # what register_importer(new) does at import
    _, _, eb, db = _torch_pair()
    with zipfile.ZipFile(tmp_path / "pair.onnxzip", "w") as zf:
        zf.writestr("encoder.onnx", eb)
        zf.writestr("decoder.onnx", db)
    assert formats.importer_for(tmp_path / "pair.onnxzip") is new  # its suffix wins over the Keras zip sniff
    res = import_model(model_file=tmp_path / "pair.onnxzip", out=tmp_path / "m")
    assert (res.kind, res.image_size, res.z_dim) == ("onnxzip", 16, 5)
    assert res.summary().startswith("imported a zipped ONNX autoencoder")
    assert formats.open_model(tmp_path / "m").z_dim == 5
