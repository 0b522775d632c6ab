"""Long jobs that are cancelled, killed or run out of disk: nothing written before is lost.

* cancel (CancelToken) during training, encoding, decoding and evaluation → ``Cancelled``; the
  files of the last completed step stay byte-identical and loadable, no temp files are left;
* ``kill -9`` of ``python main.py train`` after its first checkpoint → ``--resume`` continues the
  epoch counter and the weights, the checkpoint on disk was never half-written;
* a full disk (ENOSPC from a write or from fsync) while writing a checkpoint, a model, latents or
  an image set → OSError; the previous files are byte-identical;
* two saves into one folder never mix or silently replace each other.
"""
from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from engine import atomic_io
from engine.formats import native as model_store
from engine.autoencoder import ArchitectureConfig, ConvAutoencoder
from engine.errors import Cancelled, EngineError
from engine.image_data import Preprocess, load_folder
from engine.image_sets import write_image_set
from engine.progress import CancelToken, EpochEnded
from engine.training import TrainOptions, train

from faults_support import ROOT, TINY_ARCH, fill_disk, mounted_tmpfs, write_faces

PRE = Preprocess(image_size=32, reference_size=(48, 48), crop_box=(0, 0, 48, 48))
OPTS = dict(batch_size=8, learning_rate=3e-3, val_count=4, seed=5)


@pytest.fixture
def faces(tmp_path):
    write_faces(tmp_path / "faces", 24, seed=3)
    return load_folder(tmp_path / "faces", PRE, cache=False)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file of a folder (recursively, hidden ones too) with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != ".model.lock"}  # a running job's own lock is not part of its output


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".saving-")]


# ---------------------------------------------------------------------------------------------
# a full disk, simulated


class DiskFull:
    """ENOSPC for atomic writes whose file name contains ``match``.

    ``mode="write"``: the writer gets half of its bytes out, then the write fails (Python writes,
    safetensors writes); ``mode="fsync"``: everything is written but fsync reports the failure
    (how delayed allocation surfaces on ext4/xfs). ``after`` lets that many matching writes pass.
    """

    def __init__(self, monkeypatch, match: str = "", mode: str = "write", after: int = 0):
        self.match, self.mode, self.after, self.hits = match, mode, after, 0
        if mode == "write":
            import safetensors.torch as st

            real_save_file = st.save_file
            real_open = open

            def fake_open(path, mode_="r", *a, **k):
                fh = real_open(path, mode_, *a, **k)
                return _HalfWriter(fh) if "w" in mode_ and self._fails(path) else fh

            def fake_save_file(tensors, filename, metadata=None):
                if self._fails(filename):
                    real_save_file(tensors, filename, metadata=metadata)
                    data = Path(filename).read_bytes()
                    Path(filename).write_bytes(data[: len(data) // 2])
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                return real_save_file(tensors, filename, metadata=metadata)

            monkeypatch.setattr(atomic_io, "open", fake_open, raising=False)
            monkeypatch.setattr(st, "save_file", fake_save_file)
        else:
            real_fsync = os.fsync

            def fake_fsync(fd):
                if self._fails(os.readlink(f"/proc/self/fd/{fd}")):
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                return real_fsync(fd)

            monkeypatch.setattr(os, "fsync", fake_fsync)

    def _fails(self, path) -> bool:
        if self.match not in Path(path).name:
            return False
        self.hits += 1
        return self.hits > self.after


class _HalfWriter:
    def __init__(self, fh):
        self.fh = fh

    def write(self, data):
        self.fh.write(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __getattr__(self, name):
        return getattr(self.fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.fh.close()


# ---------------------------------------------------------------------------------------------
# cancel


def test_cancel_in_the_first_epoch_leaves_no_model_and_allows_a_fresh_start(faces, tmp_path):
    token = CancelToken()

    def cancel_at_once(p):
        token.cancel()

    out = tmp_path / "m"
    with pytest.raises(Cancelled):
        train(faces, out, ArchitectureConfig(**TINY_ARCH), TrainOptions(epochs=3, **OPTS), progress=cancel_at_once,
              cancel=token)
    for name in ("config.json", "weights.safetensors", "checkpoint.safetensors"):
        assert not (out / name).exists()
    assert not out.exists() or not leftovers(out)
    res = train(faces, out, ArchitectureConfig(**TINY_ARCH), TrainOptions(epochs=1, **OPTS))
    assert res.epochs_done == 1


def test_cancel_mid_epoch_keeps_the_last_checkpoint_byte_identical(faces, tmp_path):
    out = tmp_path / "m"
    token = CancelToken()
    saved = {}

    def watch(p):
        if isinstance(p.event, EpochEnded) and p.epoch == 2:
            saved.update(snapshot(out))
        if p.epoch == 3 and not isinstance(p.event, EpochEnded):
            token.cancel()

    with pytest.raises(Cancelled):
        train(faces, out, ArchitectureConfig(**TINY_ARCH), TrainOptions(epochs=3, **OPTS), progress=watch, cancel=token)
    assert {"config.json", "weights.safetensors", "checkpoint.safetensors"} <= set(saved)
    assert snapshot(out) == saved
    assert not leftovers(out)
    _, meta = model_store.read_safetensors(out / "checkpoint.safetensors")
    assert json.loads(meta["training_state"])["epochs_done"] == 2
    model_store.load_model(out)
    res = train(faces, out, None, TrainOptions(epochs=3, **OPTS), resume=True)
    assert [h["epoch"] for h in res.history] == [1, 2, 3]


def test_a_diverging_epoch_never_overwrites_the_last_good_checkpoint(faces, tmp_path, monkeypatch):
    """A NaN loss (divergence) in epoch 2 must not replace epoch 1's files with NaN weights."""
    import engine.training as training

    out = tmp_path / "m"
    poisoned = {"on": False}
    real_f = training.F

    class PoisonedF:
        def __getattr__(self, name):
            return getattr(real_f, name)

        @staticmethod
        def mse_loss(*a, **k):
            loss = real_f.mse_loss(*a, **k)
            return loss * float("nan") if poisoned["on"] else loss

    saved = {}

    def watch(p):
        if isinstance(p.event, EpochEnded) and p.epoch == 1:
            saved.update(snapshot(out))
            poisoned["on"] = True

    monkeypatch.setattr(training, "F", PoisonedF())
    with pytest.raises(EngineError, match=r"diverged in epoch 2.*epoch 1 are kept"):
        train(faces, out, ArchitectureConfig(**TINY_ARCH), TrainOptions(epochs=3, **OPTS), progress=watch)
    assert snapshot(out) == saved
    model_store.load_model(out)  # still a valid model (no NaN weights)
    monkeypatch.setattr(training, "F", real_f)
    res = train(faces, out, None, TrainOptions(epochs=2, **OPTS), resume=True)
    assert [h["epoch"] for h in res.history] == [1, 2]


def test_two_trainings_into_one_folder_never_interleave(faces, tmp_path):
    """A second run started while the first is still in its first epoch (no checkpoint yet) is refused."""
    out = tmp_path / "m"
    lock = out / ".model.lock"
    started, release = threading.Event(), threading.Event()
    errors = []

    def hold_in_epoch_1(p):
        if p.epoch == 1 and not started.is_set():
            started.set()
            release.wait(60)

    def first():
        try:
            train(faces, out, ArchitectureConfig(**TINY_ARCH), TrainOptions(epochs=2, **OPTS), progress=hold_in_epoch_1)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    t = threading.Thread(target=first)
    t.start()
    try:
        assert started.wait(60)
        assert lock.exists() and not (out / "checkpoint.safetensors").exists()
        with pytest.raises(EngineError, match=r"cannot train — another writer \(\d+@\S+ train\) is working on this model"):
            train(faces, out, ArchitectureConfig(**TINY_ARCH), TrainOptions(epochs=1, **OPTS))
    finally:
        release.set()
        t.join(60)
    assert not errors
    assert not lock.exists()
    assert model_store.read_config(out).training["epochs_done"] == 2


def test_a_training_lock_left_by_a_killed_process_is_taken_over(faces, tmp_path):
    out = tmp_path / "m"
    out.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    import socket

    (out / ".model.lock").write_text(f"{dead.pid}@{socket.gethostname()} train")
    res = train(faces, out, ArchitectureConfig(**TINY_ARCH), TrainOptions(epochs=1, **OPTS))
    assert res.epochs_done == 1 and not (out / ".model.lock").exists()


@pytest.fixture
def untrained_model(tmp_path) -> Path:
    cfg = ArchitectureConfig(**TINY_ARCH)
    torch.manual_seed(0)
    folder = tmp_path / "model"
    model_store.save_model(folder, ConvAutoencoder(cfg), model_store.ModelConfig(cfg, PRE))
    model_store.save_latents(folder, np.ones((3, 8), np.float32), ["a.png", "b.png", "c.png"])
    return folder


def test_cancel_during_encoding_keeps_the_previous_latents(untrained_model, tmp_path):
    from engine.encoding import encode_dataset

    write_faces(tmp_path / "many", 260, seed=4, size=32)  # two batches of the default 256
    ds = load_folder(tmp_path / "many", Preprocess(32, (32, 32), (0, 0, 32, 32)), cache=False, workers=1)
    cfg = json.loads((untrained_model / "config.json").read_text())
    cfg["preprocess"] = ds.preprocess.to_dict()
    (untrained_model / "config.json").write_text(json.dumps(cfg))
    before = snapshot(untrained_model)
    token = CancelToken()
    seen = []

    def cancel_after_first_batch(p):
        seen.append(p.done)
        token.cancel()

    with pytest.raises(Cancelled):
        encode_dataset(untrained_model, ds, progress=cancel_after_first_batch, cancel=token)
    assert seen == [256]  # it stopped between the two batches
    after = snapshot(untrained_model)
    for name in ("config.json", "weights.safetensors", "latents.npy", "latents_files.txt"):
        assert after[name] == before[name]
    z, files = model_store.load_latents(untrained_model, 8)
    assert files == ["a.png", "b.png", "c.png"] and (z == 1).all()


def test_cancel_during_streaming_encode_keeps_the_previous_latents_then_resumes(untrained_model, tmp_path):
    from engine.encoding import encode_folder

    write_faces(tmp_path / "many", 40, seed=4)
    before = snapshot(untrained_model)
    token = CancelToken()

    def cancel_after_first_batch(p):
        if p.done:
            token.cancel()

    with pytest.raises(Cancelled):
        encode_folder(untrained_model, tmp_path / "many", batch_size=8, workers=1, progress=cancel_after_first_batch,
                      cancel=token)
    after = snapshot(untrained_model)
    for name in ("config.json", "weights.safetensors", "latents.npy", "latents_files.txt"):
        assert after[name] == before[name]
    assert model_store.load_latents(untrained_model, 8)[1] == ["a.png", "b.png", "c.png"]
    res = encode_folder(untrained_model, tmp_path / "many", batch_size=8, workers=1)  # resumes and completes
    z, files = model_store.load_latents(untrained_model, 8)
    assert z.shape == (40, 8) and files == [f"{i:06d}.png" for i in range(1, 41)]
    assert not leftovers(untrained_model) and not list(untrained_model.glob(".latents.partial*"))
    assert res.skipped == [] and res.rows == 40 and res.resumed_from > 0


def test_cancel_while_loading_a_folder_writes_no_cache(tmp_path):
    write_faces(tmp_path / "f", 5)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        load_folder(tmp_path / "f", PRE, cache=True, cache_dir=tmp_path / "cache", cancel=token)
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").iterdir())


def test_cancel_while_decoding_stops_between_batches(untrained_model):
    from engine.encoding import decode_latents

    model, _ = model_store.load_model(untrained_model)
    token = CancelToken()
    batches = []

    def stop(p):
        batches.append(p.done)
        token.cancel()

    with pytest.raises(Cancelled):
        decode_latents(model, np.zeros((100, 8), np.float32), batch_size=16, progress=stop, cancel=token)
    assert batches == [16]


def test_cancel_during_evaluation(tiny_model, tiny_data):
    from engine.evaluation import evaluate

    token = CancelToken()
    calls = []

    def cancel_soon(p):
        calls.append(p)
        token.cancel()

    started = time.perf_counter()
    with pytest.raises(Cancelled):
        evaluate(tiny_model, tiny_data, n=64, samplers=["uniform"], progress=cancel_soon, cancel=token)
    assert len(calls) == 1 and time.perf_counter() - started < 30  # stopped at the first unit of work


# ---------------------------------------------------------------------------------------------
# kill -9, then --resume


def _train_cmd(data: Path, out: Path, epochs: int, resume: bool = False) -> list[str]:
    cmd = [sys.executable, str(ROOT / "main.py"), "train", "--data", str(data), "--out", str(out),
           "--epochs", str(epochs), "--image-size", "32", "--z-dim", "8", "--channels", "8,16,16,32",
           "--batch-size", "8", "--val-count", "4", "--seed", "5", "--lr", "3e-3", "--no-encode", "--device", "cpu"]
    return cmd + (["--resume"] if resume else [])


@pytest.mark.slow
def test_kill_9_during_training_then_resume_continues(tmp_path):
    data = tmp_path / "faces"
    write_faces(data, 40, seed=3, size=32)
    out = tmp_path / "m"
    ckpt = out / "checkpoint.safetensors"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(_train_cmd(data, out, 500), cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not ckpt.exists():
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "no checkpoint within 60 s"
            time.sleep(0.02)
        time.sleep(0.3)  # let it get into the middle of a later epoch (or of a checkpoint write)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    # the checkpoint on disk is whole (an atomic write is either old or new, never half)
    _, meta = model_store.read_safetensors(ckpt)
    done = json.loads(meta["training_state"])["epochs_done"]
    assert 1 <= done < 500
    model_store.load_model(out)
    killed_ckpt = ckpt.read_bytes()

    res = subprocess.run(_train_cmd(data, out, done + 1, resume=True), cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert not leftovers(out), leftovers(out)
    cfg = model_store.read_config(out)
    hist = cfg.training["history"]
    assert cfg.training["epochs_done"] == done + 1 and [h["epoch"] for h in hist] == list(range(1, done + 2))
    _, meta2 = model_store.read_safetensors(ckpt)
    state2 = json.loads(meta2["training_state"])
    assert state2["epochs_done"] == done + 1
    assert state2["history"][:done] == json.loads(meta["training_state"])["history"]  # the old epochs kept
    assert ckpt.read_bytes() != killed_ckpt

    # the weights continued: same result as an uninterrupted run of done + 1 epochs
    ref = tmp_path / "ref"  # in this process, with the CLI's settings
    ds = load_folder(data, Preprocess(image_size=32), cache=False)
    arch = ArchitectureConfig(image_size=32, z_dim=8, channels=(8, 16, 16, 32))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train(ds, ref, arch, TrainOptions(epochs=done + 1, device="cpu", **OPTS))
    finally:
        torch.set_num_threads(threads)
    a, _ = model_store.load_model(ref)
    b, _ = model_store.load_model(out)
    for k, v in a.state_dict().items():
        torch.testing.assert_close(b.state_dict()[k], v, rtol=1e-3, atol=1e-4)
    ref_hist = model_store.read_config(ref).training["history"]
    assert hist[-1]["train_loss"] == pytest.approx(ref_hist[-1]["train_loss"], rel=1e-3)


def test_temp_files_of_a_killed_write_are_cleared_by_the_next_save(faces, tmp_path):
    out = tmp_path / "m"
    train(faces, out, ArchitectureConfig(**TINY_ARCH), TrainOptions(epochs=1, **OPTS))
    for name in (".checkpoint.safetensors.ab12cd34.tmp", ".config.json.zz99yy88.tmp", ".weights.safetensors.q1w2e3r4.tmp"):
        (out / name).write_bytes(b"half a file")
    (out / ".notes.txt.abcdefgh.tmp").write_text("not ours")
    train(faces, out, None, TrainOptions(epochs=2, **OPTS), resume=True)
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == [".notes.txt.abcdefgh.tmp"]


# ---------------------------------------------------------------------------------------------
# a full disk


@pytest.mark.parametrize("mode", ["write", "fsync"])
def test_disk_full_during_checkpoint_keeps_the_previous_one(faces, tmp_path, monkeypatch, mode):
    out = tmp_path / "m"
    train(faces, out, ArchitectureConfig(**TINY_ARCH), TrainOptions(epochs=1, **OPTS))
    before = snapshot(out)
    disk = DiskFull(monkeypatch, "checkpoint.safetensors", mode)
    with pytest.raises(OSError) as info:
        train(faces, out, None, TrainOptions(epochs=2, **OPTS), resume=True)
    assert info.value.errno == errno.ENOSPC and disk.hits == 1
    assert (out / "checkpoint.safetensors").read_bytes() == before["checkpoint.safetensors"]
    assert not leftovers(out)
    monkeypatch.undo()
    res = train(faces, out, None, TrainOptions(epochs=2, **OPTS), resume=True)  # resumes from epoch 1
    assert [h["epoch"] for h in res.history] == [1, 2]


@pytest.mark.parametrize("mode", ["write", "fsync"])
@pytest.mark.parametrize("victim", ["weights.safetensors", "config.json"])
def test_disk_full_during_model_save_keeps_config_and_weights_together(untrained_model, monkeypatch, mode, victim):
    before = snapshot(untrained_model)
    config = model_store.read_config(untrained_model)
    other = ArchitectureConfig(**{**TINY_ARCH, "z_dim": 16})  # a different model: a mixed pair would not load
    DiskFull(monkeypatch, victim, mode)
    with pytest.raises(OSError):
        model_store.save_model(untrained_model, ConvAutoencoder(other), model_store.ModelConfig(other, config.preprocess))
    assert snapshot(untrained_model) == before
    model_store.load_model(untrained_model)


@pytest.mark.parametrize("mode", ["write", "fsync"])
@pytest.mark.parametrize("victim", ["latents.npy", "latents_files.txt"])
def test_disk_full_during_latents_save_keeps_latents_and_names_together(untrained_model, monkeypatch, mode, victim):
    before = snapshot(untrained_model)
    DiskFull(monkeypatch, victim, mode)
    with pytest.raises(OSError):
        model_store.save_latents(untrained_model, np.zeros((3, 8), np.float32), ["x.png", "y.png", "z.png"])
    assert snapshot(untrained_model) == before
    assert model_store.load_latents(untrained_model, 8)[1] == ["a.png", "b.png", "c.png"]


def _images(n, seed=0):
    return np.random.default_rng(seed).integers(0, 255, (n, 8, 8, 3), dtype=np.uint8)


@pytest.mark.parametrize("mode", ["write", "fsync"])
@pytest.mark.parametrize("victim", ["z.npy", "0002.png", "grid.png", "params.json"])
def test_disk_full_while_overwriting_an_image_set_keeps_the_previous_set(tmp_path, monkeypatch, mode, victim):
    folder = tmp_path / "set"
    write_image_set(folder, np.zeros((4, 8)), {"sampler": "old"}, _images(4, 1))
    before = snapshot(folder)
    DiskFull(monkeypatch, victim, mode)
    with pytest.raises(OSError) as info:
        write_image_set(folder, np.ones((6, 8)), {"sampler": "new"}, _images(6, 2), overwrite=True)
    assert info.value.errno == errno.ENOSPC
    assert snapshot(folder) == before
    assert sorted(p.name for p in folder.iterdir()) == ["0000.png", "0001.png", "0002.png", "0003.png", "grid.png",
                                                        "params.json", "z.npy"]


def test_disk_full_while_writing_a_new_image_set_leaves_nothing_that_looks_complete(tmp_path, monkeypatch):
    DiskFull(monkeypatch, "0001.png", "write")
    with pytest.raises(OSError):
        write_image_set(tmp_path / "new", np.zeros((3, 8)), {"sampler": "x"}, _images(3))
    assert not (tmp_path / "new").exists()
    (tmp_path / "mine").mkdir()  # an existing empty folder (a hidden entry aside) is kept as it was
    (tmp_path / "mine" / ".keep").write_text("user's file")
    with pytest.raises(OSError):
        write_image_set(tmp_path / "mine", np.zeros((3, 8)), {"sampler": "x"}, _images(3))
    assert [p.name for p in (tmp_path / "mine").iterdir()] == [".keep"]


@pytest.fixture
def small_disk(tmp_path):
    """A real 3 MB tmpfs (needs root and mount rights; skipped elsewhere)."""
    yield from mounted_tmpfs(tmp_path / "disk", "3m")


def test_a_really_full_disk_keeps_the_model_latents_and_image_set(small_disk, faces, capsys):
    """The same promises on a real full file system (tmpfs), not a simulated ENOSPC."""
    import main

    trained = small_disk / "trained"
    train(faces, trained, ArchitectureConfig(**TINY_ARCH), TrainOptions(epochs=1, **OPTS))
    trained_before = snapshot(trained)

    model_dir = small_disk / "model"
    cfg = ArchitectureConfig(**TINY_ARCH)
    torch.manual_seed(0)
    model_store.save_model(model_dir, ConvAutoencoder(cfg), model_store.ModelConfig(cfg, PRE))
    model_store.save_latents(model_dir, np.random.default_rng(0).normal(size=(20, 8)).astype(np.float32),
                             [f"{i}.png" for i in range(20)])
    assert main.run(["generate", "--model", str(model_dir), "--n", "4", "--out", str(small_disk / "set")]) == 0
    model_before, set_before = snapshot(model_dir), snapshot(small_disk / "set")
    fill_disk(small_disk)
    filler = small_disk / "filler.bin"
    os.truncate(filler, filler.stat().st_size - 4096)  # one free page: room for a lock file, not for weights

    with pytest.raises(OSError) as info:  # safetensors' own I/O error type arrives as an OSError
        train(faces, trained, None, TrainOptions(epochs=2, **OPTS), resume=True)
    assert info.value.errno == errno.ENOSPC and "safetensors" in str(info.value.filename)
    assert snapshot(trained) == trained_before
    with pytest.raises(OSError) as info:
        model_store.save_model(model_dir, ConvAutoencoder(cfg), model_store.ModelConfig(cfg, PRE))
    assert info.value.errno == errno.ENOSPC
    with pytest.raises(OSError):
        model_store.save_latents(model_dir, np.zeros((20, 8), np.float32), [f"x{i}" for i in range(20)])
    capsys.readouterr()
    rc = main.run(["generate", "--model", str(model_dir), "--n", "40", "--seed", "1", "--out", str(small_disk / "set"),
                   "--overwrite"])
    err = capsys.readouterr().err
    assert rc == 2 and "No space left on device" in err and len(err.strip().splitlines()) == 1
    assert snapshot(model_dir) == model_before
    assert snapshot(small_disk / "set") == set_before
    assert not leftovers(small_disk)
    model_store.load_model(model_dir)
    assert model_store.load_latents(model_dir, 8)[1][0] == "0.png"


def test_staging_folders_of_a_killed_save_are_removed_by_the_next_save(tmp_path):
    import socket

    folder = tmp_path / "set"
    write_image_set(folder, np.zeros((2, 8)), {"sampler": "a"}, _images(2))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    abandoned = folder / ".saving-killed1"
    abandoned.mkdir()
    (abandoned / ".owner").write_text(f"{dead.pid}@{socket.gethostname()}")
    (abandoned / "0000.png").write_bytes(b"half")
    live = folder / ".saving-live123"  # a save still running in this process: kept
    live.mkdir()
    (live / ".owner").write_text(f"{os.getpid()}@{socket.gethostname()}")
    write_image_set(folder, np.ones((3, 8)), {"sampler": "b"}, _images(3), overwrite=True)
    assert not abandoned.exists() and live.exists()
    assert sorted(p.name for p in folder.iterdir()) == [".saving-live123", "0000.png", "0001.png", "0002.png",
                                                        "grid.png", "params.json", "z.npy"]


def test_overwriting_a_larger_set_with_a_smaller_one_leaves_no_stale_images(tmp_path):
    folder = tmp_path / "set"
    write_image_set(folder, np.zeros((6, 8)), {"sampler": "a"}, _images(6))
    (folder / "notes.txt").write_text("the user's own file stays")
    write_image_set(folder, np.ones((2, 8)), {"sampler": "b"}, _images(2), overwrite=True)
    assert sorted(p.name for p in folder.iterdir()) == ["0000.png", "0001.png", "grid.png", "notes.txt", "params.json",
                                                        "z.npy"]
    assert json.loads((folder / "params.json").read_text())["n"] == 2


# ---------------------------------------------------------------------------------------------
# two saves into one folder


def test_a_second_save_into_a_set_folder_is_refused_and_the_first_kept(tmp_path):
    folder = tmp_path / "set"
    write_image_set(folder, np.zeros((2, 8)), {"sampler": "first"}, _images(2))
    before = snapshot(folder)
    with pytest.raises(EngineError, match="already holds an image set"):
        write_image_set(folder, np.ones((3, 8)), {"sampler": "second"}, _images(3))
    with pytest.raises(EngineError, match="already holds an image set"):
        write_image_set(folder, np.ones((3, 8)), {"sampler": "second"}, None)  # --z-only too
    assert snapshot(folder) == before


@pytest.mark.parametrize("with_images", [True, False])
def test_two_saves_racing_into_one_folder_never_mix(tmp_path, monkeypatch, with_images):
    """Both saves pass the 'folder is free' check before either writes; exactly one set lands, whole."""
    folder = tmp_path / "set"
    barrier = threading.Barrier(2, timeout=20)
    real_save_npy = atomic_io.save_npy

    def save_npy_after_both_checked(path, array):
        if Path(path).name == "z.npy":
            barrier.wait()
        return real_save_npy(path, array)

    monkeypatch.setattr(atomic_io, "save_npy", save_npy_after_both_checked)
    results = {}

    def save(tag, n, seed):
        try:
            imgs = _images(n, seed) if with_images else None
            write_image_set(folder, np.full((n, 8), seed, np.float32), {"sampler": tag}, imgs)
            results[tag] = "ok"
        except EngineError as exc:
            results[tag] = str(exc)

    threads = [threading.Thread(target=save, args=("A", 5, 1)), threading.Thread(target=save, args=("B", 3, 2))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == ["A", "B"]
    winners = [k for k, v in results.items() if v == "ok"]
    assert len(winners) == 1, results
    loser = "B" if winners == ["A"] else "A"
    assert "another save wrote an image set here first" in results[loser]
    params = json.loads((folder / "params.json").read_text())
    z = np.load(folder / "z.npy", allow_pickle=False)
    n = {"A": 5, "B": 3}[winners[0]]
    assert params["sampler"] == winners[0] and params["n"] == n and z.shape == (n, 8)
    assert (z == {"A": 1, "B": 2}[winners[0]]).all()
    pngs = sorted(p.name for p in folder.glob("0*.png"))
    assert pngs == ([f"{i:04d}.png" for i in range(n)] if with_images else [])
    assert not leftovers(folder) and not (folder / ".image-set.lock").exists()
