"""Opening a native model on its verified ONNX Runtime fast path, without importing torch.

The first open of a model folder loads it with torch, exports and checks the ONNX graphs and writes
``verified.json`` in their cache folder; a later open whose weights, architecture, graphs and onnxruntime
all match the marker runs on ONNX Runtime without torch (the module is loaded only when asked for). Anything
wrong with the cache falls back to torch, silently.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from conftest import TINY_ARCH  # noqa: E402
from engine.formats.native import load_model as _load_model  # noqa: E402 - the real one (tests count the calls)

ROOT = Path(__file__).resolve().parents[1]

#: Run in a fresh interpreter: open the folder, decode fixed z-vectors, report what was imported.
CHILD = r"""
import json, sys
import numpy as np
from engine.workflows.open_model import open_model
opened = open_model(sys.argv[1], statistics=False)
z = np.random.default_rng(3).standard_normal((6, opened.z_dim)).astype(np.float32)
np.save(sys.argv[2], opened.codec.decode(z))
after_decode = "torch" in sys.modules
rows = opened.describe()
print(json.dumps({"torch_after_decode": after_decode, "torch_after_describe": "torch" in sys.modules,
                  "device": opened.codec.device, "describe": rows}))
"""


def _save_tiny(folder: Path, seed: int = 0, batch_norm: bool = True, model_id: str = "fastopen0001") -> Path:
    """A tiny untrained native model (random weights of ``seed``) saved into ``folder``."""
    import torch

    from engine.autoencoder import ArchitectureConfig, ConvAutoencoder
    from engine.image_data import Preprocess
    from engine.formats.native import ModelConfig, save_model

    torch.manual_seed(seed)
    arch = ArchitectureConfig(**{**TINY_ARCH, "batch_norm": batch_norm})
    module = ConvAutoencoder(arch).eval()
    config = ModelConfig(arch, Preprocess(image_size=arch.image_size, reference_size=(48, 48), crop_box=(0, 0, 48, 48)),
                         model_id=model_id)
    save_model(folder, module, config)
    return folder


def _markers(cache: Path) -> list[Path]:
    return sorted((cache / "onnx").glob("*/verified.json"))


def _child(folder: Path, out: Path, cache: Path, **env) -> dict:
    e = {k: v for k, v in os.environ.items() if k != "LFS_ONNX_RUNTIME"}
    e.update(LFS_CACHE_DIR=str(cache), PYTHONPATH=str(ROOT), **env)
    res = subprocess.run([sys.executable, "-c", CHILD, str(folder), str(out)], env=e, cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])


def _torch_decode(folder: Path, z: np.ndarray) -> np.ndarray:
    import torch

    from engine.autoencoder import tensor_to_images

    module, _ = _load_model(folder)
    with torch.no_grad():
        return tensor_to_images(module.decode(torch.from_numpy(z)))


def _close(a: np.ndarray, b: np.ndarray) -> None:
    assert a.shape == b.shape and np.abs(a.astype(int) - b.astype(int)).max() <= 1




def _z(n: int = 5, seed: int = 4) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, TINY_ARCH["z_dim"])).astype(np.float32)


# ------------------------------------------------------------------------------------------------


def test_second_fresh_process_opens_and_decodes_without_torch(tmp_path, cache):
    from engine.autoencoder import ConvAutoencoder, count_parameters
    from engine.formats.native import read_config

    folder = _save_tiny(tmp_path / "model")
    first = _child(folder, tmp_path / "a.npy", cache)
    assert first["torch_after_decode"] and len(_markers(cache)) == 1
    second = _child(folder, tmp_path / "b.npy", cache)
    assert not second["torch_after_decode"] and not second["torch_after_describe"]
    assert second["device"] == "cpu"
    a, b = np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy")
    _close(a, b)
    _close(b, _torch_decode(folder, np.random.default_rng(3).standard_normal((6, TINY_ARCH["z_dim"])).astype(np.float32)))
    n = count_parameters(ConvAutoencoder(read_config(folder).arch))
    assert second["describe"] == first["describe"]
    assert any(f"{n:,} parameters" in value for _, value in second["describe"])


def test_reading_a_config_does_not_import_torch():
    code = ("import sys\nfrom engine.formats.native import read_config\nfrom engine.resources import default_model_dir\n"
            "import engine.architecture\nc = read_config(default_model_dir())\n"
            "assert c.arch.z_dim > 0\nprint('torch' in sys.modules)")
    res = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "False"


@pytest.mark.parametrize("batch_norm", [True, False])
def test_parameter_count_is_the_modules(batch_norm):
    from engine.architecture import ArchitectureConfig as Arch, parameter_count
    from engine.autoencoder import ArchitectureConfig, ConvAutoencoder, count_parameters

    assert Arch is ArchitectureConfig  # one class, re-exported
    for arch in (ArchitectureConfig(batch_norm=batch_norm), ArchitectureConfig(**{**TINY_ARCH, "batch_norm": batch_norm})):
        assert parameter_count(arch.image_size, arch.z_dim, arch.channels, arch.kernel_size, arch.batch_norm) \
            == count_parameters(ConvAutoencoder(arch))


def test_network_key_follows_the_weights_and_the_architecture(tmp_path):
    from engine.formats.native import network_key, read_config

    a = _save_tiny(tmp_path / "a")
    b = Path(shutil.copytree(a, tmp_path / "b"))
    ka = network_key(a, read_config(a))
    assert len(ka) == 64 and ka == network_key(b, read_config(b))  # the same bytes, the same network
    _save_tiny(b, seed=1)
    assert network_key(b, read_config(b)) != ka
    c = _save_tiny(tmp_path / "c", batch_norm=False)
    assert network_key(c, read_config(c)) != ka


def test_changed_weights_miss_the_marker_and_run_on_torch(tmp_path, cache, load_calls):
    from engine.formats import open_model

    folder = _save_tiny(tmp_path / "model")
    z = _z()
    first = open_model(folder)
    _close(first.decode(z), _torch_decode(folder, z))
    assert len(load_calls) == 1 and len(_markers(cache)) == 1
    fast = open_model(folder)
    assert len(load_calls) == 1 and fast.fast_path() is not None  # no torch load
    _close(fast.decode(z), first.decode(z))

    _save_tiny(folder, seed=1)  # other weights, same config
    del load_calls[:]
    again = open_model(folder)
    assert len(load_calls) == 1  # the marker is for the old weights: torch path
    y = again.decode(z)
    _close(y, _torch_decode(folder, z))
    assert not np.array_equal(y, first.decode(z))
    assert len(_markers(cache)) == 2  # a marker for the new weights
    del load_calls[:]
    _close(open_model(folder).decode(z), y)
    assert not load_calls


def _damage_marker(marker: Path) -> None:
    marker.write_text('{"version": 1, "key": ')


def _wrong_runtime(marker: Path) -> None:
    d = json.loads(marker.read_text())
    d["onnxruntime"] = "0.0.1"
    marker.write_text(json.dumps(d))


def _wrong_sha(marker: Path) -> None:
    d = json.loads(marker.read_text())
    d["files"]["decoder.onnx"] = "0" * 64
    marker.write_text(json.dumps(d))


def _truncate_encoder(marker: Path) -> None:
    enc = marker.parent / "encoder.onnx"
    enc.write_bytes(enc.read_bytes()[:100])


def _garbage_decoder(marker: Path) -> None:
    dec = marker.parent / "decoder.onnx"
    dec.write_bytes(b"\x08\x07" + os.urandom(200))


def _marker_is_folder(marker: Path) -> None:
    marker.unlink()
    marker.mkdir()


@pytest.mark.parametrize("damage", [_damage_marker, _wrong_runtime, _wrong_sha, _truncate_encoder, _garbage_decoder,
                                    _marker_is_folder])
def test_a_damaged_cache_falls_back_to_torch_without_error(tmp_path, cache, load_calls, damage):
    from engine.formats import open_model

    folder = _save_tiny(tmp_path / "model")
    z = _z()
    want = open_model(folder).decode(z)
    (marker,) = _markers(cache)
    damage(marker)
    del load_calls[:]
    codec = open_model(folder)
    assert len(load_calls) == 1
    _close(codec.decode(z), want)
    if marker.is_file():  # re-verified: the next open is fast again
        del load_calls[:]
        _close(open_model(folder).decode(z), want)
        assert not load_calls


def test_lazy_module_loads_on_first_use(tmp_path, cache, load_calls):
    import torch

    from engine.autoencoder import ConvAutoencoder
    from engine.formats import open_model

    folder = _save_tiny(tmp_path / "model")
    z = _z()
    want = open_model(folder).decode(z)
    del load_calls[:]
    codec = open_model(folder)
    assert codec.device == "cpu" and not load_calls
    codec.describe()
    assert not load_calls
    module = codec.module
    assert isinstance(module, ConvAutoencoder) and not module.training and len(load_calls) == 1
    assert codec.torch_module is module and len(load_calls) == 1  # loaded once
    with torch.no_grad():
        y = module.decode(torch.from_numpy(z)).numpy()
    np.testing.assert_allclose(codec.fast_path().decode(z), y, atol=1e-4)
    codec.module = module.train()  # training mode: the codec runs on torch
    assert codec.fast_path() is None
    codec.module = module.eval()
    assert codec.fast_path() is not None
    _close(codec.decode(z), want)


def test_weights_replaced_after_a_fast_open_refuse_the_lazy_load(tmp_path, cache):
    from engine.errors import ModelFileError
    from engine.formats import open_model

    folder = _save_tiny(tmp_path / "model")
    z = _z()
    want = open_model(folder).decode(z)
    codec = open_model(folder)
    opened_weights = (folder / "weights.safetensors").read_bytes()
    _save_tiny(folder, seed=2)
    _close(codec.decode(z), want)  # still the network it was opened with
    with pytest.raises(ModelFileError) as info:
        codec.module
    text = str(info.value)
    assert "\n" not in text and text == f"{folder / 'weights.safetensors'} changed since the model was opened; open it again"

    (folder / "weights.safetensors").write_bytes(opened_weights)  # back to the opened weights: loads again
    assert codec.torch_module is not None

    other = open_model(folder)
    _save_tiny(folder, seed=0, batch_norm=False)
    with pytest.raises(ModelFileError, match=r"config\.json changed since the model was opened; open it again"):
        other.torch_module


def test_onnx_runtime_off_uses_torch_and_reads_no_marker(tmp_path, cache, load_calls, monkeypatch):
    from engine.formats import fast_path
    from engine.formats import open_model

    folder = _save_tiny(tmp_path / "model")
    z = _z()
    want = open_model(folder).decode(z)
    assert len(_markers(cache)) == 1
    read = []
    real = fast_path.verified_fast_path
    monkeypatch.setattr(fast_path, "verified_fast_path", lambda *a: read.append(a) or real(*a))
    monkeypatch.setenv("LFS_ONNX_RUNTIME", "0")
    del load_calls[:]
    codec = open_model(folder)
    assert len(load_calls) == 1 and not read
    assert codec.fast_path() is None
    _close(codec.decode(z), want)
    monkeypatch.delenv("LFS_ONNX_RUNTIME")
    del load_calls[:]
    assert open_model(folder).fast_path() is not None and read and not load_calls


def test_a_bare_module_writes_no_marker(tmp_path, cache):
    from engine.autoencoder import ArchitectureConfig, ConvAutoencoder
    from engine.formats.native import TorchAutoencoderCodec, as_codec

    codec = as_codec(ConvAutoencoder(ArchitectureConfig(**TINY_ARCH)))
    codec.decode(_z())
    folder = _save_tiny(tmp_path / "model")
    module, config = _load_model(folder)
    TorchAutoencoderCodec(module, config, folder, fast_path=True).decode(_z())  # no key: verified each time
    assert not _markers(cache)
    with pytest.raises(ValueError):
        TorchAutoencoderCodec(None, config, folder)


def test_old_fast_paths_of_a_model_are_pruned_and_nothing_else(tmp_path, cache):
    """A model retrained in place gets a new key (and a ~14 MB folder) at each open: only the newest
    FAST_CACHE_KEEP folders of its id stay; other models' folders and folders holding other files are kept."""
    import os
    import time

    from engine.formats import open_model
    from engine.formats.fast_path import FAST_CACHE_KEEP

    onnx = cache / "onnx"
    other = onnx / "othermodel-0123456789abcdef01234567"
    other.mkdir(parents=True)
    (other / "encoder.onnx").write_bytes(b"x")
    stranger = onnx / "fastopen0001-feedfeedfeedfeedfeedfeed"  # same id, but a file that is not a fast path's
    stranger.mkdir()
    (stranger / "notes.txt").write_text("mine")
    folder = tmp_path / "model"
    for seed in range(FAST_CACHE_KEEP + 2):
        _save_tiny(folder, seed=seed)
        open_model(folder).decode(_z())
        time.sleep(0.02)  # distinct modification times
    ours = [p for p in onnx.iterdir() if p.name.startswith("fastopen0001-") and p != stranger]
    assert len(ours) == FAST_CACHE_KEEP
    assert other.is_dir() and (stranger / "notes.txt").read_text() == "mine"
    newest = max(ours, key=lambda p: os.stat(p).st_mtime)
    assert (newest / "verified.json").is_file()
    # the newest weights still open without torch
    fast = open_model(folder)
    assert fast._module is None and fast.fast_path() is not None
