"""DDP training: 2 processes (torchrun, gloo on the CPU) must give what 1 process gives for the same global batch."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from engine import distributed
from engine.formats import native as model_store
from engine.errors import EngineError

from conftest import ROOT, write_faces

# 41 images, 5 held out → 36 training images in global batches of 7: 5 full batches and a last batch of
# ONE image, so one rank's share of that step is empty — the awkward case must work and still match.
TRAIN_ARGS = ["--epochs", "2", "--image-size", "32", "--z-dim", "8", "--channels", "8,16,16,32", "--batch-size", "7",
              "--val-count", "5", "--device", "cpu", "--no-encode", "--seed", "3"]


def test_shard_splits_a_global_batch_into_contiguous_near_equal_parts():
    idx = np.arange(10) * 3
    for world in (1, 2, 3, 4, 11):
        parts = [distributed.shard(idx, r, world) for r in range(world)]
        assert np.array_equal(np.concatenate(parts), idx)
        sizes = [len(p) for p in parts]
        assert max(sizes) - min(sizes) <= 1
    assert len(distributed.shard(np.arange(1), 0, 2)) == 0  # a 1-image batch: rank 0's share is empty


def test_env_world_reads_torchrun_variables(monkeypatch):
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(k, raising=False)
    assert distributed.env_world() == (0, 1, 0)
    ctx = distributed.init_from_env("cpu")
    assert not ctx.distributed and ctx.is_main
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert distributed.env_world() == (3, 4, 1)
    monkeypatch.setenv("RANK", "4")
    with pytest.raises(EngineError, match="RANK=4"):
        distributed.env_world()
    distributed.shutdown()


def _run(cmd, env):
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc


def test_two_gloo_processes_match_one_process(tmp_path):
    write_faces(tmp_path / "faces", 41, seed=3)
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")}
    env.update(LFS_CACHE_DIR=str(tmp_path / "cache"), OMP_NUM_THREADS="1")
    args = ["--data", str(tmp_path / "faces"), *TRAIN_ARGS]
    one, two = tmp_path / "one", tmp_path / "two"
    _run([sys.executable, "main.py", "train", "--out", str(one), *args], env)
    proc = _run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                 "main.py", "train", "--out", str(two), *args], env)

    # rank 0 alone logs and writes
    assert proc.stdout.count("epoch   2 ") == 1
    assert sorted(p.name for p in two.iterdir()) == ["checkpoint.safetensors", "config.json", "weights.safetensors"]
    c1, c2 = (json.loads((m / "config.json").read_text())["training"] for m in (one, two))
    assert c1["world_size"] == 1 and c2["world_size"] == 2 and c2["epochs_done"] == 2
    for h1, h2 in zip(c1["history"], c2["history"], strict=True):
        assert h2["train_loss"] == pytest.approx(h1["train_loss"], rel=1e-4)
        assert h2["val_loss"] == pytest.approx(h1["val_loss"], rel=1e-3)  # eval mode: running stats, see below
    assert c1["history"][-1]["train_loss"] < c1["history"][0]["train_loss"]

    m1, cfg = model_store.load_model(one)
    m2, _ = model_store.load_model(two)
    s1, s2 = m1.state_dict(), m2.state_dict()
    # A conv bias right before batch norm gets a zero gradient in exact arithmetic; Adam turns its
    # rounding noise into lr-sized steps, and the running mean absorbs them: compare the rest exactly…
    free = {f"encoder_conv.{i}.bias" for i in (0, 3, 6, 9)} | {f"decoder_conv.{i}.bias" for i in (1, 4, 7)}
    for k, v in s1.items():
        if k not in free and "running_mean" not in k:
            torch.testing.assert_close(s2[k], v, rtol=1e-3, atol=5e-5, msg=k)
    # …and the function the network computes, which those do not change.
    from engine.image_data import load_folder

    x = torch.from_numpy(np.asarray(load_folder(tmp_path / "faces", cfg.preprocess).images)).permute(0, 3, 1, 2).float() / 255
    with torch.no_grad():
        torch.testing.assert_close(m2(x), m1(x), rtol=0, atol=2e-4)
        torch.testing.assert_close(m2.encode(x), m1.encode(x), rtol=1e-3, atol=2e-3)


def test_every_feeder_yields_the_same_shards():
    """The GPU feeders (data resident on the device; background prefetch) give exactly the CPU feeder's
    batches — same shard of each global batch, same flips — here run on the CPU."""
    from engine.training_feed import DeviceResidentBatches, HostBatches, PrefetchBatches

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (23, 16, 16, 3), dtype=np.uint8)
    n_train = 20
    order = rng.permutation(n_train)
    batches = [np.sort(order[i : i + 6]) for i in range(0, n_train, 6)]  # 6, 6, 6, 2
    flips = rng.random(n_train) < 0.5
    cpu = torch.device("cpu")
    for rank in (0, 1):
        ctx = distributed.DistContext(rank=rank, world_size=2)
        ref = list(HostBatches(images, cpu, ctx, False).epoch(batches, flips))
        assert [m for _, m in ref] == [6, 6, 6, 2] and [len(x) for x, _ in ref] == [3, 3, 3, 1]
        for feeder in (DeviceResidentBatches(images, n_train, cpu, ctx, True), PrefetchBatches(images, cpu, ctx, False, depth=2)):
            got = list(feeder.epoch(batches, flips))
            assert len(got) == len(ref)
            for (x, m), (xr, mr) in zip(got, ref):
                assert m == mr
                torch.testing.assert_close(x, xr, rtol=0, atol=0)
        # a flipped image is the mirror of the stored one
        x0, _ = ref[0]
        first = distributed.shard(batches[0], rank, 2)[0]
        want = torch.from_numpy(images[first]).permute(2, 0, 1).float() / 255
        torch.testing.assert_close(x0[0], want.flip(2) if flips[first] else want)


def test_mixed_precision_path_runs_and_records_it(tmp_path):
    """bf16 autocast (the CUDA default) through the same code on the CPU: the loss falls, the config says so."""
    from engine.autoencoder import ArchitectureConfig
    from engine.image_data import FaceDataset, Preprocess
    from engine.training import TrainOptions, train

    from conftest import TINY_ARCH, synthetic_face

    rng = np.random.default_rng(0)
    images = np.stack([synthetic_face(rng, 32) for _ in range(24)])
    ds = FaceDataset(tmp_path / "faces", images, [f"{i}.png" for i in range(24)], preprocess=Preprocess(image_size=32))
    res = train(ds, tmp_path / "m", ArchitectureConfig(**TINY_ARCH),
                TrainOptions(epochs=3, batch_size=4, learning_rate=3e-3, val_count=4, device="cpu", precision="bf16",
                             channels_last=True))
    assert res.history[-1]["train_loss"] < res.history[0]["train_loss"]
    cfg = json.loads((tmp_path / "m" / "config.json").read_text())["training"]
    assert cfg["precision"] == "bf16" and cfg["data_pipeline"] == "host"
    with pytest.raises(EngineError, match="fp16 needs a CUDA"):
        train(ds, tmp_path / "m2", ArchitectureConfig(**TINY_ARCH), TrainOptions(epochs=1, device="cpu", precision="fp16"))
