"""Sharded encode (engine.encode_shards): shards merged in file order equal a single-process encode; a killed rank
resumes from its finished chunks; shards that disagree are refused; the merge is atomic; a real 2-process torchrun."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine import encode_shards as es
from engine.encoding import FolderSource, encode_to_model
from engine.errors import ModelFileError
from engine.formats import native as model_store
from engine.formats import open_model

from conftest import copy_network, write_faces

ROOT = Path(__file__).resolve().parents[1]


class Killed(Exception):
    """Stands for the rank's process dying at that point."""


@pytest.fixture
def setup(tiny_model, tmp_path):
    """(faces folder with one unreadable file, model copy A, model copy B)."""
    faces = tmp_path / "faces"
    write_faces(faces, 150, seed=5)
    (faces / "000070.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")  # skipped by the shard that holds it
    copies = []
    for name in ("a", "b"):
        copies.append(copy_network(tiny_model, tmp_path / name))
    return faces, copies[0], copies[1]


def _single(folder: Path, faces: Path):
    codec = open_model(folder)
    encode_to_model(folder, FolderSource(faces, codec.preprocess, workers=1, use_cache=False), model=codec,
                    chunk_size=32)
    return model_store.load_latents(folder, codec.z_dim)


def _shards(folder: Path, faces: Path, world: int, ranks=None, **kw):
    codec = open_model(folder)
    source = FolderSource(faces, codec.preprocess, workers=1, use_cache=False)
    return [es.encode_shard(folder, source, codec, r, world, **kw) for r in (ranks if ranks is not None else range(world))]


def test_merged_shards_equal_a_single_process_encode_in_file_order(setup):
    faces, a, b = setup
    z1, names1 = _single(a, faces)
    manifests = _shards(b, faces, 3)
    assert [m["identity"]["shard"] for m in manifests] == [[0, 50], [50, 100], [100, 150]]
    assert sum(m["rows"] for m in manifests) == 149  # the broken file is skipped, named by its shard
    assert [s[0] for s in manifests[1]["skipped"]] == ["000070.png"]
    rows, z_dim, skipped = es.merge_shards(b, 3)
    assert (rows, [s[0] for s in skipped]) == (149, ["000070.png"])
    z3, names3 = model_store.load_latents(b, z_dim)
    assert names3 == names1 and names3 == sorted(names3)  # file order
    np.testing.assert_allclose(z3, z1, rtol=0, atol=1e-5)
    assert not (b / es.STAGING).exists()  # the staging folder goes once published


def test_a_killed_rank_resumes_from_its_finished_chunks_and_finished_shards_are_skipped(setup):
    faces, a, b = setup
    z1, names1 = _single(a, faces)
    _shards(b, faces, 2, ranks=[0])
    shard0 = b / es.STAGING / f"{es.shard_stem(0, 2)}.npy"
    stamp = shard0.stat().st_mtime_ns

    def die(p):
        if p.done >= 32:
            raise Killed

    with pytest.raises(Killed):  # rank 1 dies after its first chunk: a partial shard stays
        _shards(b, faces, 2, ranks=[1], chunk_size=32, progress=die)
    partial = list((b / es.STAGING).glob(".shard-00001-of-00002.partial.*"))
    assert len(partial) == 3 and not (b / es.STAGING / f"{es.shard_stem(1, 2)}.json").exists()
    with pytest.raises(ModelFileError, match="shard 1 of 2 is not finished"):
        es.merge_shards(b, 2)
    assert not (b / model_store.LATENTS).exists()

    seen = []
    _shards(b, faces, 2, chunk_size=32, progress=seen.append)  # the re-run: rank 0 skips, rank 1 resumes
    assert shard0.stat().st_mtime_ns == stamp
    assert seen and seen[0].done == 32 and "resuming" in seen[0].message
    es.merge_shards(b, 2)
    z2, names2 = model_store.load_latents(b, z1.shape[1])
    assert names2 == names1
    np.testing.assert_allclose(z2, z1, rtol=0, atol=1e-5)


@pytest.mark.parametrize("key,value", [("model_id", "someone-else"), ("z_dim", 99)])
def test_merge_refuses_shards_that_disagree_and_publishes_nothing(setup, key, value):
    faces, _, b = setup
    _shards(b, faces, 2)
    man = b / es.STAGING / f"{es.shard_stem(1, 2)}.json"
    data = json.loads(man.read_text())
    data["identity"][key] = value
    man.write_text(json.dumps(data))
    with pytest.raises(ModelFileError, match=f"another {key}"):
        es.merge_shards(b, 2)
    assert not (b / model_store.LATENTS).exists() and (b / es.STAGING).is_dir()


def test_a_shard_whose_array_does_not_match_its_manifest_is_refused(setup):
    faces, _, b = setup
    _shards(b, faces, 2)
    np.save(b / es.STAGING / f"{es.shard_stem(1, 2)}.npy", np.zeros((3, 7), np.float32))
    with pytest.raises(ModelFileError, match="its manifest says"):
        es.merge_shards(b, 2)
    assert not (b / model_store.LATENTS).exists()


def test_the_merge_is_atomic_a_failure_mid_way_keeps_the_previous_latents(setup):
    faces, a, b = setup
    _single(b, faces)
    before = (b / model_store.LATENTS).read_bytes(), (b / model_store.LATENT_FILES).read_bytes()
    _shards(b, faces, 2)
    bad = b / es.STAGING / f"{es.shard_stem(1, 2)}.npy"
    z = np.load(bad)
    z[5, 0] = np.nan  # found while the second shard is copied: after the first was written to the temp file
    np.save(bad, z)
    with pytest.raises(ModelFileError, match="NaN"):
        es.merge_shards(b, 2)
    assert ((b / model_store.LATENTS).read_bytes(), (b / model_store.LATENT_FILES).read_bytes()) == before
    assert not [p for p in b.iterdir() if p.name.endswith(".tmp")]


def test_two_processes_under_torchrun_give_the_single_process_result(setup):
    faces, a, b = setup
    z1, names1 = _single(a, faces)
    env = dict(os.environ, OMP_NUM_THREADS="1", LFS_ONNX_RUNTIME="0")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           str(ROOT / "main.py"), "encode", "--model", str(b), "--data", str(faces), "--device", "cpu"]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.count("encoded 149 images") == 1  # rank 0 reports the merged result once
    z2, names2 = model_store.load_latents(b, z1.shape[1])
    assert names2 == names1
    np.testing.assert_allclose(z2, z1, rtol=0, atol=1e-4)
    assert not (b / es.STAGING).exists()
