"""Untrusted model folders: every bad file is refused with a message naming it; nothing is unpickled.

A model folder comes from strangers (a download, a colleague's USB stick). Whatever is in it, the
app either loads a model that matches its config exactly or raises ModelFileError whose message
names the file and the problem. Code hidden in a pickle never runs.
"""
from __future__ import annotations

import ast
import io
import json
import os
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.formats import native as model_store
from engine.autoencoder import ArchitectureConfig, ConvAutoencoder
from engine.errors import ModelFileError
from engine.image_data import Preprocess

from faults_support import ROOT, TINY_ARCH, write_faces


class Payload:
    """Unpickling this object creates ``marker`` (harmless stand-in for arbitrary code)."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


@pytest.fixture
def model_dir(tmp_path) -> Path:
    cfg = ArchitectureConfig(**TINY_ARCH)
    torch.manual_seed(0)
    folder = tmp_path / "model"
    model_store.save_model(folder, ConvAutoencoder(cfg), model_store.ModelConfig(cfg, Preprocess(image_size=32)))
    z = np.random.default_rng(0).normal(size=(20, 8)).astype(np.float32)
    model_store.save_latents(folder, z, [f"{i:06d}.png" for i in range(20)])
    return folder


@pytest.fixture
def marker(tmp_path) -> Path:
    return tmp_path / "CODE-RAN"


def _config(folder: Path) -> dict:
    return json.loads((folder / "config.json").read_text())


def _write_config(folder: Path, cfg) -> None:
    (folder / "config.json").write_text(json.dumps(cfg))


# ---------------------------------------------------------------------------------------------
# pickles never run


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_pickle_as_weights_is_refused_and_never_runs(model_dir, marker, protocol):
    (model_dir / "weights.safetensors").write_bytes(pickle.dumps({"w": Payload(str(marker))}, protocol=protocol))
    with pytest.raises(ModelFileError, match=r"weights\.safetensors: this is a Python pickle.*never unpickles"):
        model_store.load_model(model_dir)
    with pytest.raises(ModelFileError, match="never unpickles"):
        model_store.model_info(model_dir)
    assert not marker.exists()


def test_torch_save_checkpoint_with_payload_is_refused_and_never_runs(model_dir, marker):
    torch.save({"state": Payload(str(marker))}, model_dir / "weights.safetensors")
    with pytest.raises(ModelFileError, match=r"weights\.safetensors: this is a zip archive"):
        model_store.load_model(model_dir)
    assert not marker.exists()


def test_pickle_as_training_checkpoint_is_refused_on_resume(model_dir, marker, tmp_path):
    from engine.image_data import load_folder
    from engine.training import TrainOptions, train


    write_faces(tmp_path / "faces", 8)
    ds = load_folder(tmp_path / "faces", Preprocess(32, (48, 48), (0, 0, 48, 48)), cache=False)
    (model_dir / "checkpoint.safetensors").write_bytes(pickle.dumps(Payload(str(marker))))
    with pytest.raises(ModelFileError, match=r"checkpoint\.safetensors: this is a Python pickle"):
        train(ds, model_dir, None, TrainOptions(epochs=2), resume=True)
    assert not marker.exists()


def test_pickled_object_array_as_latents_is_refused_and_never_runs(model_dir, marker):
    arr = np.empty((20, 8), dtype=object)
    arr[:] = 0.0
    arr[0, 0] = Payload(str(marker))
    np.save(model_dir / "latents.npy", arr, allow_pickle=True)
    with pytest.raises(ModelFileError, match=r"latents\.npy: .*never unpickled"):
        model_store.load_latents(model_dir, 8)
    (model_dir / "latents.npy").write_bytes(pickle.dumps(Payload(str(marker))))
    with pytest.raises(ModelFileError, match=r"latents\.npy: this is a Python pickle"):
        model_store.load_latents(model_dir, 8)
    assert not marker.exists()


def _forbidden_loads(tree: ast.AST) -> list[tuple[int, str]]:
    bad = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        name = f"{getattr(f.value, 'id', '?')}.{f.attr}" if isinstance(f, ast.Attribute) else getattr(f, "id", "")
        kw = {k.arg: k.value for k in node.keywords}
        if name in ("pickle.load", "pickle.loads", "pickle.Unpickler", "joblib.load", "dill.load", "cloudpickle.load"):
            bad.append((node.lineno, name))
        elif name == "torch.load":
            wo = kw.get("weights_only")
            if not (isinstance(wo, ast.Constant) and wo.value is True):
                bad.append((node.lineno, "torch.load without weights_only=True"))
        elif name in ("np.load", "numpy.load"):
            ap = kw.get("allow_pickle")
            if not (isinstance(ap, ast.Constant) and ap.value is False):
                bad.append((node.lineno, "np.load without allow_pickle=False"))
    return bad


def test_no_code_path_unpickles():
    """The product's rule, checked on every source file: no pickle loads, np.load(allow_pickle=False)."""
    files = [ROOT / "main.py", *sorted((ROOT / "cli").rglob("*.py")), *sorted((ROOT / "engine").rglob("*.py")),
             *sorted((ROOT / "gui").rglob("*.py"))]
    found = {}
    for path in files:
        bad = _forbidden_loads(ast.parse(path.read_text("utf-8"), str(path)))
        if bad:
            found[str(path.relative_to(ROOT))] = bad
    assert not found, f"unsafe loads: {found}"


# ---------------------------------------------------------------------------------------------
# damaged safetensors


@pytest.mark.parametrize("keep", ["0", "4", "8", "100", "half", "minus1"])
def test_truncated_weights_are_refused(model_dir, keep):
    path = model_dir / "weights.safetensors"
    data = path.read_bytes()
    n = {"0": 0, "4": 4, "8": 8, "100": 100, "half": len(data) // 2, "minus1": len(data) - 1}[keep]
    path.write_bytes(data[:n])
    with pytest.raises(ModelFileError, match=r"weights\.safetensors: (truncated|.*not a safetensors)"):
        model_store.load_model(model_dir)


def _safetensors_with_header(header: bytes, body: bytes = b"") -> bytes:
    return struct.pack("<Q", len(header)) + header + body


@pytest.mark.parametrize(
    "blob, why",
    [
        (struct.pack("<Q", 2**62) + b"{}", "header says"),  # absurd header length: no huge allocation
        (_safetensors_with_header(b"[1, 2, 3]"), "damaged safetensors header"),  # JSON, but not an object
        (_safetensors_with_header(b'{"a": 5}'), "damaged safetensors header"),
        (_safetensors_with_header(b'{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 800]}}', b"\0" * 8),
         "truncated"),
        (_safetensors_with_header(b'{"a": {"dtype": "Q99", "shape": [2], "data_offsets": [0, 8]}}', b"\0" * 8),
         "cannot read safetensors"),
        (_safetensors_with_header(b"\xff\xfe{garbage"), "header is not JSON"),
        (b"\x93NUMPY" + b"\0" * 100, "a NumPy .npy file"),
    ],
)
def test_damaged_safetensors_headers_are_refused(model_dir, blob, why):
    (model_dir / "weights.safetensors").write_bytes(blob)
    with pytest.raises(ModelFileError, match="weights.safetensors") as info:
        model_store.load_model(model_dir)
    assert why in str(info.value)


# ---------------------------------------------------------------------------------------------
# config.json


def _set(d: dict, dotted: str, value) -> dict:
    keys = dotted.split(".")
    for k in keys[:-1]:
        d = d[k]
    if value is _DELETE:
        del d[keys[-1]]
    else:
        d[keys[-1]] = value


_DELETE = object()


@pytest.mark.parametrize(
    "key, value, why",
    [
        ("model_id", _DELETE, 'missing key "model_id"'),
        ("architecture", _DELETE, 'missing key "architecture"'),
        ("preprocess", _DELETE, 'missing key "preprocess"'),
        ("architecture.z_dim", _DELETE, "missing the key 'z_dim'"),
        ("preprocess.crop_box", _DELETE, "preprocess"),
        ("format", "something-else", "not a Latent Face Studio model config"),
        ("format_version", 99, "unsupported format_version 99"),
        ("model_id", 12345, '"model_id" must be a str'),
        ("architecture", [1, 2], '"architecture" must be a dict'),
        ("architecture.z_dim", "8", "z_dim must be an integer"),
        ("architecture.z_dim", 8.0, "z_dim must be an integer"),
        ("architecture.z_dim", True, "z_dim must be an integer"),
        ("architecture.z_dim", 1, "z_dim must be at least 2"),
        ("architecture.image_size", 30, "multiple of 16"),
        ("architecture.channels", "8,16,16,32", "channels must be a list"),
        ("architecture.channels", [8, 16, 32], "4 encoder channel widths"),
        ("architecture.channels", [8, -16, 16, 32], "channels must be a list of positive integers"),
        ("architecture.batch_norm", "yes", "batch_norm must be true or false"),
        ("architecture.kernel_size", 7, "kernel_size must be 3, 4 or 5"),
        ("architecture.leaky_slope", "steep", "leaky_slope"),
        ("architecture.leaky_slope", None, "leaky_slope"),
        ("preprocess.image_size", 64, "differs from architecture.image_size"),
        ("preprocess.image_size", "32", "preprocess"),
        ("preprocess.crop_box", [0, 0, 48], "crop_box"),
        ("preprocess.crop_box", [40, 0, 10, 48], "crop_box"),
        ("preprocess.crop_box", "0,0,48,48", "crop_box"),
        ("preprocess.reference_size", [0, 48], "reference_size"),
        ("preprocess.reference_size", [48], "reference_size"),
        ("training", [1], '"training" must be an object'),
    ],
)
def test_config_with_wrong_types_or_missing_keys_is_refused(model_dir, key, value, why):
    cfg = _config(model_dir)
    _set(cfg, key, value)
    _write_config(model_dir, cfg)
    with pytest.raises(ModelFileError) as info:
        model_store.load_model(model_dir)
    msg = str(info.value)
    assert "config.json" in msg and why in msg, msg


@pytest.mark.parametrize(
    "content, why",
    [
        (b"", "not valid JSON"),
        (b"{\"format\": ", "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not a text file"),
        (b"[1, 2, 3]", "expected a JSON object"),
        (b"null", "expected a JSON object"),
        (b"NaN", "expected a JSON object"),
    ],
)
def test_config_that_is_not_a_json_object_is_refused(model_dir, content, why):
    (model_dir / "config.json").write_bytes(content)
    with pytest.raises(ModelFileError, match=r"config\.json: ") as info:
        model_store.load_model(model_dir)
    assert why in str(info.value)


def test_a_huge_config_or_special_files_are_refused_without_reading_them(model_dir):
    cfg = model_dir / "config.json"
    with open(cfg, "r+") as fh:  # valid JSON padded to 20 MB
        text = fh.read()
        fh.seek(0)
        fh.write(text + " " * (20 * 2**20))
    with pytest.raises(ModelFileError, match=r"config\.json: .* far too large"):
        model_store.load_model(model_dir)
    cfg.unlink()
    os.symlink("/dev/zero", cfg)  # an endless file: never read
    with pytest.raises(ModelFileError, match=r"config\.json: missing"):
        model_store.load_model(model_dir)
    w = model_dir / "weights.safetensors"
    w.unlink()
    os.mkfifo(w)  # a FIFO would block a reader forever
    cfg.unlink()
    (model_dir / "config.json").write_text(text)
    with pytest.raises(ModelFileError, match=r"weights\.safetensors: file not found"):
        model_store.load_model(model_dir)


def test_missing_files_and_a_file_instead_of_a_folder(model_dir, tmp_path):
    (model_dir / "weights.safetensors").unlink()
    with pytest.raises(ModelFileError, match=r"weights\.safetensors: file not found"):
        model_store.load_model(model_dir)
    (model_dir / "config.json").unlink()
    with pytest.raises(ModelFileError, match=r"config\.json: missing"):
        model_store.load_model(model_dir)
    with pytest.raises(ModelFileError, match="no such model folder"):
        model_store.load_model(tmp_path / "nowhere")
    (tmp_path / "weights.safetensors").write_bytes(b"x")
    with pytest.raises(ModelFileError, match="not a file"):
        model_store.load_model(tmp_path / "weights.safetensors")


# ---------------------------------------------------------------------------------------------
# weights that do not match the config


@pytest.mark.parametrize(
    "change, why",
    [
        ({"z_dim": 16}, "encoder_fc.weight has shape [8, 128] in the file"),
        ({"channels": [8, 16, 16, 64]}, "has shape"),
        ({"batch_norm": False}, "batch_norm in config.json differs from the weights"),
        ({"kernel_size": 3}, "has shape"),
        ({"image_size": 64}, "has shape"),
        # the largest z_dim the limits allow: shapes are compared on the meta device, nothing is built first
        # (z_dim 10**9 is refused by the architecture limits: test_faults_values.py)
        ({"z_dim": 8192}, "has shape"),
    ],
)
def test_weights_that_do_not_match_the_config_are_refused(model_dir, change, why):
    cfg = _config(model_dir)
    cfg["architecture"].update(change)
    if "image_size" in change:
        cfg["preprocess"]["image_size"] = change["image_size"]
    _write_config(model_dir, cfg)
    with pytest.raises(ModelFileError, match=r"weights\.safetensors: weights do not match config\.json") as info:
        model_store.load_model(model_dir)
    assert why in str(info.value)


def test_weights_with_nan_extra_or_missing_tensors_are_refused(model_dir):
    path = model_dir / "weights.safetensors"
    state, meta = model_store.read_safetensors(path)
    bad = dict(state)
    bad["encoder_fc.weight"] = bad["encoder_fc.weight"].clone()
    bad["encoder_fc.weight"][0, 0] = float("nan")
    model_store.write_safetensors(path, bad, meta)
    with pytest.raises(ModelFileError, match=r"tensor encoder_fc\.weight holds NaN or Inf"):
        model_store.load_model(model_dir)
    model_store.write_safetensors(path, {**state, "sneaky.extra": torch.zeros(3)}, meta)
    with pytest.raises(ModelFileError, match=r"unexpected 1 tensor\(s\) e\.g\. sneaky\.extra"):
        model_store.load_model(model_dir)
    model_store.write_safetensors(path, {k: v for k, v in state.items() if k != "decoder_fc.bias"}, meta)
    with pytest.raises(ModelFileError, match=r"missing 1 tensor\(s\) e\.g\. decoder_fc\.bias"):
        model_store.load_model(model_dir)
    # float16 weights of the right shapes are fine (the shipped model may be stored that way)
    model_store.write_safetensors(path, {k: v.half() if v.is_floating_point() else v for k, v in state.items()}, meta)
    model, _ = model_store.load_model(model_dir)
    assert next(model.parameters()).dtype == torch.float32


# ---------------------------------------------------------------------------------------------
# latents.npy


def test_latents_with_nan_or_inf_rows_are_refused_naming_the_rows(model_dir):
    z = np.random.default_rng(1).normal(size=(20, 8)).astype(np.float32)
    z[7, 3] = np.nan
    z[12, 0] = np.inf
    np.save(model_dir / "latents.npy", z)
    with pytest.raises(ModelFileError, match=r"latents\.npy: 2 row\(s\) hold NaN or Inf \(first: row 7\)"):
        model_store.load_latents(model_dir, 8)


@pytest.mark.parametrize(
    "array, why",
    [
        (np.zeros((20, 7), np.float32), r"shape \[20, 7\] does not match the model's z_dim 8"),
        (np.zeros((20, 9), np.float32), r"shape \[20, 9\]"),
        (np.zeros(160, np.float32), r"shape \[160\]"),
        (np.zeros((20, 8, 1), np.float32), r"shape \[20, 8, 1\]"),
        (np.zeros((0, 8), np.float32), "holds no z-points"),
        (np.zeros((20, 8), np.int32), "dtype int32 is not float"),
        (np.zeros((20, 8), np.complex64), "dtype complex64 is not float"),
        (np.zeros(20, dtype=[("a", "f4", 8)]), "is not float"),
    ],
)
def test_latents_of_the_wrong_shape_or_type_are_refused(model_dir, array, why):
    np.save(model_dir / "latents.npy", array)
    with pytest.raises(ModelFileError, match=r"latents\.npy: ") as info:
        model_store.load_latents(model_dir, 8)
    assert __import__("re").search(why, str(info.value)), str(info.value)


def _npy_header_only(shape, descr="<f4") -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue()


@pytest.mark.parametrize("rows", [10**11, 10**6, 21])
def test_latents_whose_header_claims_more_data_than_the_file_holds(model_dir, rows):
    """A 100-byte file claiming 3 TB must be refused from its size, not by trying to allocate 3 TB."""
    (model_dir / "latents.npy").write_bytes(_npy_header_only((rows, 8)) + b"\0" * 64)
    with pytest.raises(ModelFileError, match=r"latents\.npy: truncated"):
        model_store.load_latents(model_dir, 8)


def test_latents_truncated_or_garbage_are_refused(model_dir):
    path = model_dir / "latents.npy"
    data = path.read_bytes()
    for cut in (0, 5, 60, len(data) - 3):
        path.write_bytes(data[:cut])
        with pytest.raises(ModelFileError, match=r"latents\.npy: "):
            model_store.load_latents(model_dir, 8)
    path.write_bytes(b"just text, no array")
    with pytest.raises(ModelFileError, match=r"latents\.npy: "):
        model_store.load_latents(model_dir, 8)


def test_latents_and_file_list_that_disagree_are_refused(model_dir):
    (model_dir / "latents_files.txt").write_text("a.png\nb.png\n")
    with pytest.raises(ModelFileError, match=r"latents_files\.txt: 2 names for 20 z-points"):
        model_store.load_latents(model_dir, 8)


def test_model_info_validates_the_latents_too(model_dir):
    np.save(model_dir / "latents.npy", np.zeros((20, 5), np.float32))
    with pytest.raises(ModelFileError, match=r"latents\.npy: shape \[20, 5\]"):
        model_store.model_info(model_dir)


# ---------------------------------------------------------------------------------------------
# links: a model folder is read for its own files only


@pytest.mark.parametrize("member", ["weights.safetensors", "latents.npy", "config.json", "labels.csv"])
def test_a_link_leading_out_of_the_model_folder_is_refused_naming_it(model_dir, tmp_path, member):
    from engine.workflows.open_model import open_model

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    target = outside / member
    src = model_dir / member
    if src.exists():
        os.replace(src, target)  # the real bytes, but outside the folder
    else:
        target.write_text("image_id,Smiling\n000000.png,1\n")
    os.symlink(target, src)
    with pytest.raises(ModelFileError, match=rf"{member}: a link leading out of the model folder"):
        open_model(model_dir)


def test_a_dangling_link_is_refused_and_a_link_inside_the_folder_is_fine(model_dir):
    from engine.workflows.open_model import open_model

    (model_dir / "notes.txt").symlink_to(model_dir / "gone.txt")
    with pytest.raises(ModelFileError, match=r"notes\.txt: a link to nothing readable"):
        open_model(model_dir)
    (model_dir / "notes.txt").unlink()
    os.replace(model_dir / "latents.npy", model_dir / "z-store.npy")
    (model_dir / "latents.npy").symlink_to("z-store.npy")  # relative, inside: its own bytes
    opened = open_model(model_dir)
    assert opened.require_latents().shape == (20, 8)
