"""Bad *values* in model files: each is one ModelFileError naming the file, the field and the problem.

The types and shapes of a model folder are covered by test_faults_model_files.py; this suite covers
values a tester found that passed those checks and ended as a traceback, a RecursionError, an
OverflowError, a LinAlgError later in the GUI, "internal error" or silent garbage (NaN latents, black
faces): sizes too large to allocate, wrongly typed training facts, absurd JSON nesting, weights of a
dtype that is not a float, damaged checkpoints, weights whose values are damage, latents beyond
float32, file names that split the names file, and a learning rate that trains finite garbage.
One test per class of fault, parametrised over the cases found and others of the same class.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.formats import native as model_store
from engine.autoencoder import (OPTION_NAMES, ArchitectureConfig, ConvAutoencoder, check_architecture_limits,
                                count_parameters, parameter_count)
from engine.errors import EngineError, ModelFileError
from engine.image_data import Preprocess, load_folder
from engine.training import TrainOptions, train

from faults_support import TINY_ARCH, write_faces

PRE = Preprocess(image_size=32, reference_size=(48, 48), crop_box=(0, 0, 48, 48))
Z = 8  # TINY_ARCH's z_dim


@pytest.fixture
def model_dir(tmp_path) -> Path:
    cfg = ArchitectureConfig(**TINY_ARCH)
    torch.manual_seed(0)
    folder = tmp_path / "model"
    model_store.save_model(folder, ConvAutoencoder(cfg), model_store.ModelConfig(cfg, PRE))
    z = np.random.default_rng(0).normal(size=(20, Z)).astype(np.float32)
    model_store.save_latents(folder, z, [f"{i:06d}.png" for i in range(20)])
    return folder


@pytest.fixture(scope="module")
def faces(tmp_path_factory):
    folder = tmp_path_factory.mktemp("faces") / "faces"
    write_faces(folder, 12, seed=4)
    return load_folder(folder, PRE, cache=False)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, faces) -> Path:
    """A model trained for one epoch: config, weights and a real checkpoint (Adam state for every parameter)."""
    out = tmp_path_factory.mktemp("trained") / "m"
    train(faces, out, ArchitectureConfig(**TINY_ARCH), TrainOptions(epochs=1, batch_size=4, learning_rate=3e-3, val_count=2))
    return out


def _config(folder: Path) -> dict:
    return json.loads((folder / "config.json").read_text())


def _write_config(folder: Path, cfg: dict) -> None:
    (folder / "config.json").write_text(json.dumps(cfg))


def _set(d: dict, dotted: str, value) -> None:
    keys = dotted.split(".")
    for k in keys[:-1]:
        d = d.setdefault(k, {})
    d[keys[-1]] = value


def _snapshot(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def _refused(folder: Path, *expect: str, load=None) -> str:
    with pytest.raises(ModelFileError) as info:
        (load or model_store.load_model)(folder)
    msg = str(info.value)
    assert "\n" not in msg
    for e in expect:
        assert e in msg, msg
    return msg


def _cli(argv, capsys) -> tuple[int, str]:
    import main

    try:
        rc = main.run([str(a) for a in argv])
    except SystemExit as exc:
        rc = exc.code
    _, err = capsys.readouterr()
    return rc, err


def _one_line_exit_2(rc: int, err: str, expect: str, data_folder=None) -> None:
    """Exit 2 and one error line (``train`` prints its data summary, ``<folder>: N images``, on stderr first)."""
    lines = [ln for ln in err.splitlines() if ln.strip() and not (data_folder and ln.startswith(f"{data_folder}: "))]
    assert rc == 2, f"exit {rc}: {err}"
    assert "Traceback" not in err and "internal error" not in err
    assert len(lines) == 1 and "error:" in lines[0] and expect in lines[0], lines


# ---------------------------------------------------------------------------------------------
# 1. sizes whose network cannot be allocated


@pytest.mark.parametrize(
    "change, why",
    [
        ({"z_dim": 10**8}, "architecture.z_dim must be at least 2 and at most 8192, got 100000000"),
        ({"z_dim": 2**70}, "architecture.z_dim must be at least 2 and at most 8192"),  # was: OverflowError in torch
        ({"z_dim": 8193}, "architecture.z_dim must be at least 2 and at most 8192"),
        ({"image_size": 8192}, "architecture.image_size must be a multiple of 16 from 16 to 512, got 8192"),
        ({"image_size": 2**40}, "architecture.image_size must be a multiple of 16 from 16 to 512"),
        ({"image_size": 528}, "architecture.image_size must be a multiple of 16 from 16 to 512"),
        ({"channels": [8, 16, 16, 2**62]}, "architecture.channels must be 4 whole numbers from 1 to 4096"),
        ({"channels": [8, 16, 16, 5000]}, "architecture.channels must be 4 whole numbers from 1 to 4096"),
        # each size within its own limit, the network as a whole not
        ({"image_size": 512, "channels": [8, 16, 16, 4096], "z_dim": 8192}, "parameters"),
        ({"image_size": 512, "channels": [4096, 16, 16, 32]}, "MB of activations per image"),
    ],
)
def test_an_architecture_too_large_to_allocate_is_refused_with_its_limit(model_dir, change, why):
    cfg = _config(model_dir)
    cfg["architecture"].update(change)
    if "image_size" in change:
        cfg["preprocess"]["image_size"] = change["image_size"]
    _write_config(model_dir, cfg)
    _refused(model_dir, "config.json: ", why)
    _refused(model_dir, "config.json: ", why, load=model_store.read_config)
    # the same check, named as the CLI spells the options (main.py train calls it before any work)
    arch = cfg["architecture"]
    with pytest.raises(EngineError) as info:
        check_architecture_limits(arch["image_size"], arch["z_dim"], arch["channels"], arch["kernel_size"],
                                  names=OPTION_NAMES)
    msg = info.value.render(lambda p: "--" + p.replace("_", "-"))  # as the CLI renders it
    assert "architecture." not in msg and any(f in msg for f in ("--image-size", "--z-dim", "--channels")), msg


@pytest.mark.parametrize("arch", [
    dict(TINY_ARCH), dict(image_size=64, channels=(32, 64, 128, 256), z_dim=256),
    dict(image_size=48, channels=(3, 5, 7, 9), z_dim=2, kernel_size=3, batch_norm=False),
    dict(image_size=32, channels=(4, 4, 4, 4), z_dim=5, kernel_size=5),
])
def test_the_parameter_cap_counts_exactly_what_the_network_holds(arch):
    a = ArchitectureConfig(**arch)
    assert parameter_count(a.image_size, a.z_dim, a.channels, a.kernel_size, a.batch_norm) == count_parameters(ConvAutoencoder(a))


def test_the_cli_refuses_train_sizes_beyond_the_limits(tmp_path, capsys, monkeypatch):
    """Refused before any work starts: no image is decoded (an 8192-px decode of the data would take GBs)."""
    import engine.image_data

    def no_work(*a, **k):
        raise AssertionError("the data was loaded before the sizes were checked")

    monkeypatch.setattr(engine.image_data, "load_folder", no_work)
    write_faces(tmp_path / "faces", 4)
    base = ["train", "--data", tmp_path / "faces", "--epochs", "1", "--no-encode"]
    for extra, expect in (
        (["--z-dim", "100000000", "--out", tmp_path / "o1"], "at most 8192, got 100000000"),
        (["--image-size", "8192", "--out", tmp_path / "o2"], "from 16 to 512, got 8192"),
        (["--channels", "8,16,16,4096", "--image-size", "512", "--z-dim", "8192", "--out", tmp_path / "o3"], "parameters"),
    ):
        rc, err = _cli(base + extra, capsys)
        _one_line_exit_2(rc, err, expect)
    assert not any((tmp_path / o).exists() for o in ("o1", "o2", "o3"))


# ---------------------------------------------------------------------------------------------
# 2. the training facts of config.json, by type and range


@pytest.mark.parametrize(
    "key, value, why",
    [
        ("training.history", "abc", "training.history must be a list, got 'abc'"),
        ("training.history", 5, "training.history must be a list"),
        ("training.history", {"epoch": 1}, "training.history must be a list, got a JSON object"),
        ("training.history", [1, 2], "training.history[0] must be an object, got 1"),
        ("training.history", [{"epoch": 1, "train_loss": 0.1}, "x"], "training.history[1] must be an object"),
        ("training.history", [{"epoch": "1"}], "training.history[0].epoch must be a whole number, got '1'"),
        ("training.history", [{"epoch": 0}], "training.history[0].epoch must be a whole number from 1"),
        ("training.history", [{"train_loss": "0.1"}], "training.history[0].train_loss must be a number, got '0.1'"),
        ("training.history", [{"train_loss": float("nan")}], "training.history[0].train_loss must be a finite number"),
        ("training.history", [{"train_loss": -1.0}], "training.history[0].train_loss must be a number ≥ 0"),
        ("training.history", [{"val_loss": [0.1]}], "training.history[0].val_loss must be a number, got a JSON list"),
        ("training.history", [{"seconds": True}], "training.history[0].seconds must be a number, got True"),
        ("training.epochs_done", "30", "training.epochs_done must be a whole number, got '30'"),
        ("training.epochs_done", -1, "training.epochs_done must be a whole number from 0"),
        ("training.epochs_done", 1.5, "training.epochs_done must be a whole number, got 1.5"),
        ("training.epochs_done", True, "training.epochs_done must be a whole number, got True"),
        ("training.train_images", "many", "training.train_images must be a whole number"),
        ("training.val_images", -3, "training.val_images must be a whole number from 0"),
        ("training.val_images", None, "training.val_images must be a whole number, got null"),
        ("training.val_first_file", 5, "training.val_first_file must be a string, got 5"),
        ("training.dataset", ["a"], "training.dataset must be a string, got a JSON list"),
        ("training.options", "x", "training.options must be an object"),
        ("training.options.seed", -1, "training.options.seed must be a whole number from 0"),
        ("training.options.batch_size", 0, "training.options.batch_size must be a whole number from 1"),
        ("training.options.learning_rate", 0, "training.options.learning_rate must be a number > 0"),
        ("training.options.flip", "yes", "training.options.flip must be true or false"),
        ("training.world_size", 0, "training.world_size must be a whole number from 1"),
        ("model_id", "", "model_id must be 1 to 128 printable characters"),
        ("model_id", "a\nb", "model_id must be 1 to 128 printable characters"),
        ("model_id", "x" * 500, "model_id must be 1 to 128 printable characters"),
        ("weights_dtype", "int8", "weights_dtype must be one of float16, bfloat16, float32, float64"),
        ("weights_dtype", ["float32"], "weights_dtype must be a string"),
        ("app_version", {"v": 1}, "app_version must be a string"),
    ],
)
def test_wrongly_typed_training_facts_are_refused_naming_the_field(model_dir, key, value, why):
    cfg = _config(model_dir)
    _set(cfg, key, value)
    _write_config(model_dir, cfg)
    _refused(model_dir, "config.json: ", why)
    _refused(model_dir, "config.json: ", why, load=model_store.model_info)  # what `info` calls


def test_valid_training_facts_and_unknown_keys_still_load(model_dir):
    cfg = _config(model_dir)
    cfg["training"] = {"history": [], "a_future_fact": {"x": [1, 2]}, "val_first_file": None,
                       "options": {"seed": 3, "something_new": "ok"}}
    _write_config(model_dir, cfg)
    _, config = model_store.load_model(model_dir)
    assert config.training["a_future_fact"] == {"x": [1, 2]}
    assert config.facts.present and config.facts.history == () and config.facts.epochs_done is None


def test_info_and_the_typed_training_view_never_crash_on_training_facts(model_dir, capsys):
    """`info` refuses a bad training record with one line; the panel's typed view copes even with a record
    that bypassed validation (a ModelConfig built in memory)."""
    cfg = _config(model_dir)
    cfg["training"] = {"history": "abc", "epochs_done": 3}
    _write_config(model_dir, cfg)
    rc, err = _cli(["info", "--model", model_dir], capsys)
    _one_line_exit_2(rc, err, "training.history must be a list")

    facts = model_store.training_facts({"history": ["x", {"epoch": "2", "train_loss": "a", "val_loss": 0.5}],
                                        "epochs_done": "3", "train_images": 12})
    assert facts.epochs_done is None and facts.train_images == 12
    assert [(h.epoch, h.train_loss, h.val_loss) for h in facts.history] == [(2, None, 0.5)]
    assert "? epochs on 12 images" in facts.summary()
    assert model_store.training_facts([1]).present is False


def test_the_model_panel_shows_untyped_training_facts_without_a_traceback(model_dir):
    pytest.importorskip("PySide6")
    pytest.importorskip("pyqtgraph")
    from PySide6.QtCore import QObject, Signal
    from PySide6.QtWidgets import QApplication

    from gui.qt_model_data import ModelDataPanel
    from engine.formats.native import TorchAutoencoderCodec
    from gui.session import LoadedModel

    app = QApplication.instance() or QApplication([])  # noqa: F841 - keeps the application alive

    class FakeSession(QObject):
        model_changed = Signal()
        dataset_changed = Signal()

        def __init__(self):
            super().__init__()
            self.model, self.dataset = None, None

    s = FakeSession()
    panel = ModelDataPanel(s)
    model, config = model_store.load_model(model_dir)
    for training in ({"history": "abc"}, {"history": [1, {"train_loss": "x"}], "epochs_done": [3]},
                     {"history": [{"epoch": 1, "train_loss": 0.02, "val_loss": None}], "train_images": "n"}):
        config.training = training  # in memory: bypasses the validation of config.json
        s.model = LoadedModel(model_dir, TorchAutoencoderCodec(model, config, model_dir))
        panel.refresh()
        assert "epochs on" in panel.model_label.text()
    panel.deleteLater()


# ---------------------------------------------------------------------------------------------
# 3. JSON nested absurdly deep (RecursionError), or holding non-text


def _nested(kind: str, depth: int) -> str:
    return ("[" * depth + "]" * depth) if kind == "list" else ('{"a":' * depth + "1" + "}" * depth)


@pytest.mark.parametrize(
    "where, kind, depth, why",
    [
        ("top", "list", 100_000, "nested far too deeply"),  # was: RecursionError
        ("top", "dict", 100_000, "nested far too deeply"),
        ("training", "list", 100_000, "nested far too deeply"),
        ("architecture", "dict", 5_000, "nested far too deeply"),
        ("training", "list", 40, "nested more than 32 levels deep (at training.deep[0]"),  # parses, then refused
        ("training", "dict", 33, "nested more than 32 levels deep"),
    ],
)
def test_deeply_nested_config_is_one_clear_line(model_dir, capsys, where, kind, depth, why):
    cfg = _config(model_dir)
    cfg["training"] = {"loss": "mse"}
    text = json.dumps(cfg)
    deep = _nested(kind, depth)
    if where == "top":
        text = text[:-1] + f', "deep": {deep}}}'
    else:
        text = text.replace(f'"{where}": {{', f'"{where}": {{"deep": {deep}, ', 1)
    (model_dir / "config.json").write_text(text)
    _refused(model_dir, "config.json: ", why)
    if depth > 1000:
        rc, err = _cli(["info", "--model", model_dir], capsys)
        _one_line_exit_2(rc, err, "config.json: nested far too deeply")


@pytest.mark.parametrize(
    "key, raw, why",
    [
        ("model_id", '"\\ud800abc"', "model_id holds a lone UTF-16 surrogate"),  # would crash `info`'s print
        ("training", '{"dataset": "\\udc80"}', "training.dataset holds a lone UTF-16 surrogate"),
        ("training", '{"\\ud83d": 1}', "a key in training holds a lone UTF-16 surrogate"),
    ],
)
def test_json_strings_that_are_not_text_are_refused(model_dir, key, raw, why):
    cfg = _config(model_dir)
    cfg[key] = "PLACEHOLDER"
    (model_dir / "config.json").write_text(json.dumps(cfg).replace('"PLACEHOLDER"', raw))
    _refused(model_dir, "config.json: ", why)


def test_deeply_nested_safetensors_headers_are_refused(model_dir):
    import struct

    for deep in (_nested("list", 100_000), _nested("dict", 100_000), _nested("list", 40)):
        header = ('{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "x": ' + deep + "}").encode()
        (model_dir / "weights.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 8)
        _refused(model_dir, "weights.safetensors: safetensors header: nested")


# ---------------------------------------------------------------------------------------------
# 4. weights of a dtype that is not a float (or a counter that is not an integer)


def _rewrite_weights(folder: Path, fn, name: str = "weights.safetensors") -> None:
    path = folder / name
    state, meta = model_store.read_safetensors(path)
    model_store.write_safetensors(path, fn(dict(state)), meta)


@pytest.mark.parametrize(
    "dtype", [torch.int8, torch.uint8, torch.int16, torch.int32, torch.int64, torch.bool, torch.complex64,
              torch.uint16, torch.uint32, torch.float8_e4m3fn, torch.float8_e5m2])
def test_weights_of_a_non_float_dtype_are_refused(model_dir, dtype):
    def cast(st):
        st["encoder_fc.weight"] = st["encoder_fc.weight"].to(dtype)
        return st

    _rewrite_weights(model_dir, cast)
    name = str(dtype).replace("torch.", "")
    _refused(model_dir, "weights.safetensors: tensor encoder_fc.weight has dtype " + name,
             "a weight must be float16/bfloat16/float32/float64")


@pytest.mark.parametrize("dtype", [torch.float32, torch.bool, torch.uint8, torch.complex64])
def test_a_batch_norm_counter_that_is_not_an_integer_is_refused(model_dir, dtype):
    def cast(st):
        st["encoder_conv.1.num_batches_tracked"] = st["encoder_conv.1.num_batches_tracked"].to(dtype)
        return st

    _rewrite_weights(model_dir, cast)
    _refused(model_dir, "tensor encoder_conv.1.num_batches_tracked has dtype", "a batch-norm counter must be int64/int32")


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_every_float_dtype_loads_as_float32(model_dir, dtype):
    _rewrite_weights(model_dir, lambda st: {k: v.to(dtype) if v.is_floating_point() else v for k, v in st.items()})
    model, _ = model_store.load_model(model_dir)
    assert all(p.dtype == torch.float32 for p in model.parameters())


# ---------------------------------------------------------------------------------------------
# 5. checkpoint.safetensors: fields of the wrong type (read by train --resume)


def _ckpt_state(folder: Path):
    tensors, meta = model_store.read_safetensors(folder / "checkpoint.safetensors")
    return tensors, json.loads(meta["training_state"])


def _write_ckpt(folder: Path, tensors: dict, state) -> None:
    meta = {"training_state": state if isinstance(state, str) else json.dumps(state)}
    model_store.write_safetensors(folder / "checkpoint.safetensors", tensors, meta)


def _state_edit(dotted, value):
    def fn(tensors, state):
        _set(state, dotted, value)
        return tensors, state
    return fn


def _tensor_edit(fn_t):
    def fn(tensors, state):
        return fn_t(dict(tensors)), state
    return fn


def _whole_state(value):
    return lambda tensors, state: (tensors, value)


CHECKPOINT_CASES = [
    ("metadata not JSON", _whole_state("{not json"), "not a training checkpoint"),
    ("metadata a list", _whole_state([1, 2]), "training_state must be an object, got a JSON list"),
    ("metadata nested", _whole_state("[" * 100_000 + "]" * 100_000), "training_state metadata: nested far too deeply"),
    ("epochs_done str", _state_edit("epochs_done", "1"), "training_state.epochs_done must be a whole number, got '1'"),
    ("epochs_done neg", _state_edit("epochs_done", -1), "training_state.epochs_done must be a whole number from 1"),
    ("epochs_done float", _state_edit("epochs_done", 1.5), "training_state.epochs_done must be a whole number"),
    ("epochs_done missing", lambda t, s: (t, {k: v for k, v in s.items() if k != "epochs_done"}),
     'training_state is missing the key "epochs_done"'),
    ("history str", _state_edit("history", "x"), "training_state.history must be a list"),
    ("history item", _state_edit("history", [1]), "training_state.history[0] must be an object"),
    ("history loss", _state_edit("history", [{"epoch": 1, "train_loss": "low"}]), "training_state.history[0].train_loss"),
    ("history length", _state_edit("history", []), "training_state.history has 0 epoch record(s) for epochs_done 1"),
    ("options str", _state_edit("options", "x"), "training_state.options must be an object"),
    ("seed str", _state_edit("options.seed", "0"), "training_state.options.seed must be a whole number"),
    ("seed huge", _state_edit("options.seed", 2**70), "training_state.options.seed must be a whole number from 0"),
    ("batch 0", _state_edit("options.batch_size", 0), "training_state.options.batch_size must be a whole number from 1"),
    ("val_count str", _state_edit("options.val_count", "3"), "training_state.options.val_count must be a whole number"),
    ("grad_scale str", _state_edit("grad_scale", "big"), "training_state.grad_scale must be a number"),
    ("grad_scale neg", _state_edit("grad_scale", -1.0), "training_state.grad_scale must be a number > 0"),
    ("adam shape", _tensor_edit(lambda t: {**t, "adam.0.exp_avg": torch.zeros(3)}),
     "tensor adam.0.exp_avg has shape [3]; parameter 0 needs"),
    ("adam NaN", _tensor_edit(lambda t: {**t, "adam.1.exp_avg": torch.full_like(t["adam.1.exp_avg"], float("nan"))}),
     "tensor adam.1.exp_avg holds NaN or Inf"),
    ("adam step inf", _tensor_edit(lambda t: {**t, "adam.2.step": torch.tensor([float("inf")])}),
     "tensor adam.2.step holds NaN or Inf"),
    ("adam sq negative", _tensor_edit(lambda t: {**t, "adam.0.exp_avg_sq": -torch.ones_like(t["adam.0.exp_avg_sq"])}),
     "tensor adam.0.exp_avg_sq holds a negative value"),
    ("adam int8", _tensor_edit(lambda t: {**t, "adam.0.exp_avg": t["adam.0.exp_avg"].to(torch.int8)}),
     "tensor adam.0.exp_avg has dtype int8"),
    ("adam complex", _tensor_edit(lambda t: {**t, "adam.0.exp_avg": t["adam.0.exp_avg"].to(torch.complex64)}),
     "tensor adam.0.exp_avg has dtype complex64"),
    ("adam bad pid", _tensor_edit(lambda t: {**t, "adam.x.exp_avg": torch.zeros(1)}), "unexpected tensor 'adam.x.exp_avg'"),
    ("adam pid range", _tensor_edit(lambda t: {**t, "adam.999.step": torch.zeros(1)}),
     "tensor adam.999.step names parameter 999"),
    ("adam incomplete", _tensor_edit(lambda t: {k: v for k, v in t.items() if k != "adam.3.exp_avg_sq"}),
     "the Adam state of parameter 3 lacks exp_avg_sq"),
    ("extra tensor", _tensor_edit(lambda t: {**t, "sneaky": torch.zeros(1)}), "unexpected tensor 'sneaky'"),
    ("model float8", _tensor_edit(lambda t: {**t, "model.encoder_fc.bias": t["model.encoder_fc.bias"].to(torch.float8_e5m2)}),
     "tensor encoder_fc.bias has dtype float8_e5m2"),
    ("model negative var", _tensor_edit(lambda t: {**t, "model.encoder_conv.4.running_var": -t["model.encoder_conv.4.running_var"]}),
     "tensor encoder_conv.4.running_var holds a negative variance"),
]


@pytest.mark.parametrize("label, edit, why", CHECKPOINT_CASES, ids=[c[0] for c in CHECKPOINT_CASES])
def test_checkpoint_fields_of_the_wrong_type_are_refused_on_resume(trained, faces, tmp_path, label, edit, why):
    folder = tmp_path / "m"
    shutil.copytree(trained, folder)
    tensors, state = edit(*_ckpt_state(folder))
    _write_ckpt(folder, tensors, state)
    before = _snapshot(folder)
    with pytest.raises(ModelFileError) as info:
        train(faces, folder, None, TrainOptions(epochs=2), resume=True)
    msg = str(info.value)
    assert "checkpoint.safetensors: " in msg and why in msg, msg
    assert _snapshot(folder) == before  # nothing the user owns was touched
    model_store.load_model(folder)  # the model of epoch 1 still loads


def test_an_untouched_checkpoint_still_resumes(trained, faces, tmp_path):
    folder = tmp_path / "m"
    shutil.copytree(trained, folder)
    res = train(faces, folder, None, TrainOptions(epochs=2), resume=True)
    assert [h["epoch"] for h in res.history] == [1, 2]


def test_the_cli_resume_on_a_damaged_checkpoint_is_one_line(trained, faces, tmp_path, capsys):
    folder = tmp_path / "m"
    shutil.copytree(trained, folder)
    tensors, state = _ckpt_state(folder)
    state["epochs_done"] = "one"
    _write_ckpt(folder, tensors, state)
    rc, err = _cli(["train", "--data", faces.folder, "--out", folder, "--resume", "--epochs", "2", "--no-encode"], capsys)
    _one_line_exit_2(rc, err, "checkpoint.safetensors: training_state.epochs_done must be a whole number",
                     data_folder=faces.folder)


# ---------------------------------------------------------------------------------------------
# 6. weight values that are damage; a network whose probe outputs are not sane


def _scale(pattern: str, factor: float, skip_stats: bool = True):
    def fn(st):
        return {k: (v * factor if v.is_floating_point() and pattern in k and not (skip_stats and "running" in k) else v)
                for k, v in st.items()}
    return fn


def _put(name: str, value):
    def fn(st):
        st[name] = torch.full_like(st[name], value)
        return st
    return fn


@pytest.mark.parametrize(
    "label, fn, why",
    [
        ("negative running var", _put("encoder_conv.1.running_var", -1.0),
         "tensor encoder_conv.1.running_var holds a negative variance (-1)"),
        ("one negative variance", lambda st: {**st, "decoder_conv.2.running_var":
                                              st["decoder_conv.2.running_var"].index_fill(0, torch.tensor([2]), -1e-3)},
         "tensor decoder_conv.2.running_var holds a negative variance"),
        ("NaN running mean", _put("encoder_conv.4.running_mean", float("nan")), "tensor encoder_conv.4.running_mean holds NaN or Inf"),
        ("negative counter", _put("encoder_conv.1.num_batches_tracked", -5), "tensor encoder_conv.1.num_batches_tracked holds a negative count"),
        ("weights x1e30", _scale("", 1e30), "holds values up to"),  # was: loaded, black faces / NaN latents
        ("one layer x1e30", _scale("decoder_fc.weight", 1e30), "tensor decoder_fc.weight holds values up to"),
        ("running var 1e30", _put("encoder_conv.7.running_var", 1e30), "tensor encoder_conv.7.running_var holds values up to 1e+30"),
        ("float64 1e300", lambda st: {**st, "encoder_fc.bias": torch.full((Z,), 1e300, dtype=torch.float64)},
         "tensor encoder_fc.bias holds values up to 1e+300"),  # overflows to Inf in the float32 cast
        # within the magnitude limit, but the outputs are absurd: the probe batch says so
        ("weights x1e3", _scale("", 1e3), "the network is damaged: encoding a probe image gives |z| up to"),
        ("weights x30", _scale("", 30.0), "the network is damaged: encoding a probe image gives |z|"),
        ("tiny running vars", lambda st: {k: torch.full_like(v, 1e-12) if k.endswith("running_var") else v
                                          for k, v in st.items()}, "the network is damaged"),
        ("decoder x1e5", _scale("decoder_fc", 1e5), "the network is damaged: decoding a probe z-vector saturates every pixel"),
    ],
)
def test_damaged_weight_values_are_refused(model_dir, capsys, label, fn, why):
    _rewrite_weights(model_dir, fn)
    _refused(model_dir, "weights.safetensors: ", why)
    rc, err = _cli(["info", "--model", model_dir], capsys)
    _one_line_exit_2(rc, err, "weights.safetensors: ")


def test_save_model_never_writes_weights_that_load_would_refuse(model_dir, tmp_path):
    model, config = model_store.load_model(model_dir)
    before = _snapshot(model_dir)
    with torch.no_grad():
        model.encoder_fc.weight[0, 0] = 1e5  # fine as float32, Inf as float16
    with pytest.raises(ModelFileError, match=r"weights\.safetensors: tensor encoder_fc\.weight holds NaN or Inf"):
        model_store.save_model(model_dir, model, config, dtype="float16")
    with torch.no_grad():
        model.encoder_fc.weight[0, 0] = float("nan")
    with pytest.raises(ModelFileError, match="holds NaN or Inf"):
        model_store.save_model(model_dir, model, config)
    assert _snapshot(model_dir) == before


def test_the_probe_leaves_the_global_random_state_and_train_mode_alone(model_dir):
    from engine.autoencoder import probe_outputs

    model, _ = model_store.load_model(model_dir)
    model.train()
    torch.manual_seed(123)
    expect = torch.rand(3)
    torch.manual_seed(123)
    assert probe_outputs(model) is None
    assert model.training and torch.equal(torch.rand(3), expect)


# ---------------------------------------------------------------------------------------------
# 7. latents.npy beyond float32's range (or any sane z-point)


@pytest.mark.parametrize(
    "dtype, value, row",
    [
        (np.float64, 1e300, 3),  # was: Inf after the float32 cast, then a LinAlgError in the GUI
        (np.float64, -1e300, 0),
        (np.float64, 1e39, 19),  # finite in float64, beyond float32's 3.4e38
        (np.float64, 1e7, 5),
        (np.float32, 3e38, 11),
        (np.float32, -2e6, 7),
    ],
)
def test_latents_beyond_float32_or_any_sane_value_are_refused_naming_the_row(model_dir, capsys, dtype, value, row):
    z = np.random.default_rng(1).normal(size=(20, Z)).astype(dtype)
    z[row, 2] = value
    z[row + 1 if row < 19 else 0, 1] = value  # a second bad row: the first is named
    np.save(model_dir / "latents.npy", z)
    first = min(row, row + 1 if row < 19 else 0)
    _refused(model_dir, f"latents.npy: 2 row(s) hold values beyond ±1e+06 (first: row {first}",
             load=lambda f: model_store.load_latents(f, Z))
    rc, err = _cli(["info", "--model", model_dir], capsys)
    _one_line_exit_2(rc, err, "latents.npy: 2 row(s) hold values beyond")
    # and save_latents never writes such a file
    before = _snapshot(model_dir)
    with pytest.raises(EngineError, match=rf"latents\.npy: 2 row\(s\) hold values beyond .*first: row {first}"):
        model_store.save_latents(model_dir, z, [f"{i}.png" for i in range(20)])
    assert _snapshot(model_dir) == before


def test_large_but_sane_latents_still_load(model_dir):
    z = np.random.default_rng(1).normal(size=(20, Z)).astype(np.float16)
    z[4, 4] = 65504  # float16's largest
    np.save(model_dir / "latents.npy", z)
    got, _ = model_store.load_latents(model_dir, Z)
    assert got.dtype == np.float32 and got[4, 4] == 65504


# ---------------------------------------------------------------------------------------------
# 8. latents_files.txt: names split on "\n" only; nothing unreadable is ever written


ODD_BUT_FINE = ["a\u2028b.png", "para\u2029graph.png", "nel\u0085.png", "vt\x0b.png", "ff\x0c.png", "fs\x1c.png",
                "gs\x1d.png", "rs\x1e.png", "", " spaced .png", "tab\t.png", "ünïcødé.png", "end\u2028", "\u2028"]


def test_names_with_unicode_line_separators_round_trip_one_to_one(model_dir):
    names = ODD_BUT_FINE + [f"{i}.png" for i in range(20 - len(ODD_BUT_FINE))]
    z = np.zeros((20, Z), np.float32)
    model_store.save_latents(model_dir, z, names)
    _, got = model_store.load_latents(model_dir, Z)  # was: U+2028 split a name → "21 names for 20 z-points"
    assert got == names
    model_store.model_info(model_dir)


def test_names_files_written_elsewhere_stay_readable(model_dir):
    path = model_dir / "latents_files.txt"
    names = [f"{i:06d}.png" for i in range(20)]
    for text in ("\r\n".join(names) + "\r\n",  # edited on Windows
                 "\n".join(names),  # no final newline
                 "\n".join(names) + "\n"):
        path.write_bytes(text.encode())
        assert model_store.load_latents(model_dir, Z)[1] == names
    path.write_bytes(("\n".join(names[:-1]) + "\n\xff\xfe.png\n").encode("latin-1"))  # not UTF-8: U+FFFD
    assert model_store.load_latents(model_dir, Z)[1][-1] == "\ufffd\ufffd.png"
    path.write_text("\n".join(names[:19]) + "\n")
    with pytest.raises(ModelFileError, match=r"latents_files\.txt: 19 names for 20 z-points"):
        model_store.load_latents(model_dir, Z)


@pytest.mark.parametrize("bad", ["a\nb.png", "a\rb.png", "trailing\r", "\n", "lead\r\nx.png"])
def test_save_latents_refuses_a_name_it_could_not_read_back(model_dir, bad):
    before = _snapshot(model_dir)
    names = [f"{i}.png" for i in range(19)] + [bad]
    with pytest.raises(EngineError) as info:
        model_store.save_latents(model_dir, np.zeros((20, Z), np.float32), names)
    assert repr(bad) in str(info.value) and "line break" in str(info.value)
    assert _snapshot(model_dir) == before


def test_a_name_that_is_not_valid_text_is_stored_as_u_fffd_not_a_crash(model_dir):
    names = [f"{i}.png" for i in range(18)] + ["caf\udce9.png", "\ud800.png"]  # surrogateescape, lone surrogate
    model_store.save_latents(model_dir, np.zeros((20, Z), np.float32), names)
    got = model_store.load_latents(model_dir, Z)[1]
    assert got[:18] == names[:18] and got[18] == "caf\ufffd.png" and len(got) == 20


# ---------------------------------------------------------------------------------------------
# 9. a learning rate that trains finite garbage stops with the last good files kept


@pytest.mark.parametrize("batch_size", [64, 4])  # one step an epoch (finite 1e30 weights), several (NaN)
def test_a_huge_learning_rate_stops_training_and_writes_no_model(faces, tmp_path, batch_size):
    out = tmp_path / "m"
    with pytest.raises(EngineError, match=r"training diverged in epoch 1 \(.*\); no model was written"):
        train(faces, out, ArchitectureConfig(**TINY_ARCH),
              TrainOptions(epochs=2, batch_size=batch_size, learning_rate=1e30, val_count=2))
    assert not any(p.name in ("config.json", "weights.safetensors", "checkpoint.safetensors")
                   for p in (out.iterdir() if out.exists() else []))


@pytest.mark.parametrize("lr", [1e30, 1e6])
def test_a_huge_learning_rate_on_resume_keeps_the_last_good_epoch(trained, faces, tmp_path, lr):
    folder = tmp_path / "m"
    shutil.copytree(trained, folder)
    before = _snapshot(folder)
    with pytest.raises(EngineError, match=r"training diverged in epoch 2 \(.*\); the files of epoch 1 are kept"):
        train(faces, folder, None, TrainOptions(epochs=3, learning_rate=lr), resume=True)
    assert _snapshot(folder) == before
    model_store.load_model(folder)


def test_the_cli_train_with_lr_1e30_is_one_line_and_exit_2(faces, tmp_path, capsys):
    """The tester's case: exit 0 with every latent NaN before."""
    out = tmp_path / "m"
    rc, err = _cli(["train", "--data", faces.folder, "--out", out, "--image-size", "32", "--z-dim", "8",
                    "--channels", "8,16,16,32", "--epochs", "1", "--lr", "1e30"], capsys)
    _one_line_exit_2(rc, err, "training diverged in epoch 1", data_folder=faces.folder)
    assert not (out / "latents.npy").exists() and not (out / "weights.safetensors").exists()


@pytest.mark.parametrize(
    "change, param, why",
    [
        ({"learning_rate": float("nan")}, "lr", "must be a finite number"),
        ({"learning_rate": float("inf")}, "lr", "must be a finite number"),
        ({"learning_rate": 0.0}, "lr", "must be a number > 0"),
        ({"seed": -1}, "seed", "must be a whole number from 0"),
        ({"seed": 2**64}, "seed", "must be a whole number from 0 to 4,294,967,295"),
        ({"epochs": 0}, "epochs", "must be a whole number from 1"),
        ({"batch_size": 0}, "batch_size", "must be a whole number from 1"),
        ({"val_count": -2}, "val_count", "must be a whole number from 0"),
        ({"flip": "yes"}, "flip", "must be true or false"),
    ],
)
def test_train_options_out_of_range_are_refused_before_any_work(faces, tmp_path, change, param, why):
    """The options are recorded in config.json and the checkpoint: a value the loader would refuse is refused first,
    naming the option as the train use case calls it (the CLI renders its flag, the GUI its control)."""
    from cli.common import cli_name

    out = tmp_path / "m"
    with pytest.raises(EngineError) as info:
        train(faces, out, ArchitectureConfig(**TINY_ARCH), TrainOptions(**{"epochs": 1, **change}))
    assert info.value.param == param
    assert why in str(info.value), str(info.value)
    assert info.value.render(cli_name).startswith(f"--{param.replace('_', '-')} {why}"), info.value.render(cli_name)
    assert not out.exists()
