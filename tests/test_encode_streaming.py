"""Streaming, resumable `encode` for large sets: bounded memory, incremental writes, resume after a kill."""
import time
import tracemalloc

import numpy as np
import pytest
import torch

from engine.formats import native as model_store
from engine.autoencoder import ArchitectureConfig, ConvAutoencoder
from engine.encoding import (
    PARTIAL_LATENTS, PARTIAL_NAMES, PARTIAL_STATE, ArraySource, Chunk, FolderSource, encode_images, encode_to_model,
)
from engine.errors import EngineError
from engine.image_data import Preprocess, load_folder

from conftest import copy_network, write_faces


class Killed(Exception):
    """Stands for the process dying at that point (nothing after it runs)."""


@pytest.fixture
def model_copy(tiny_model, tmp_path):
    return copy_network(tiny_model, tmp_path / "model")


def test_folder_encode_survives_a_kill_and_resumes_where_it_stopped(model_copy, tmp_path):
    folder = tmp_path / "faces"
    write_faces(folder, 300, seed=7)
    (folder / "000150.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")  # unreadable: skipped, named
    (folder / "notes.txt").write_text("not an image")
    model, cfg = model_store.load_model(model_copy)
    source = FolderSource(folder, cfg.preprocess, workers=2, use_cache=False)
    assert len(source) == 300

    def die_after_two_chunks(p):
        if p.done >= 128:
            assert (model_copy / PARTIAL_STATE).is_file() and (model_copy / PARTIAL_LATENTS).is_file()
            raise Killed

    with pytest.raises(Killed):
        encode_to_model(model_copy, source, model=model, config=cfg, batch_size=32, chunk_size=64, progress=die_after_two_chunks)
    assert not (model_copy / "latents.npy").exists()

    seen = []
    res = encode_to_model(model_copy, source, model=model, config=cfg, batch_size=32, chunk_size=64, progress=seen.append)
    assert res.resumed_from == 128 and seen[0].done == 128  # the first two chunks were not redone
    assert res.rows == 299 and res.inputs == 300 and [n for n, _ in res.skipped] == ["000150.png"]
    assert not any((model_copy / n).exists() for n in (PARTIAL_STATE, PARTIAL_LATENTS, PARTIAL_NAMES))

    z, names = model_store.load_latents(model_copy, cfg.arch.z_dim)
    ds = load_folder(folder, cfg.preprocess, cache=False)  # the in-memory path, for reference
    assert names == ds.files and "000150.png" not in names and len(names) == 299
    np.testing.assert_allclose(z, encode_images(model, np.asarray(ds.images)), rtol=1e-4, atol=1e-5)


def test_a_partial_encode_of_other_weights_is_started_over(model_copy):
    model, cfg = model_store.load_model(model_copy)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (50, 32, 32, 3), dtype=np.uint8)
    source = ArraySource(images, [f"{i}.png" for i in range(50)])

    def die(p):
        if p.done >= 20:
            raise Killed

    with pytest.raises(Killed):
        encode_to_model(model_copy, source, model=model, config=cfg, chunk_size=10, progress=die)
    # the model changes (e.g. training resumed) before the re-run: its old rows must not be reused
    model_store.save_model(model_copy, model, cfg)
    res = encode_to_model(model_copy, source, model=model, config=cfg, chunk_size=10)
    assert res.resumed_from == 0 and res.rows == 50
    with pytest.raises(EngineError, match="nothing to encode"):
        encode_to_model(model_copy, ArraySource(images[:0], []), model=model, config=cfg)


class GeneratedFaces:
    """A source of N tiny images made on demand (item i is ``base[i % 1024]``): no folder, no big array."""

    preprocess = None

    def __init__(self, n: int, size: int):
        self.n = n
        self.base = np.random.default_rng(1).integers(0, 256, (1024, size, size, 3), dtype=np.uint8)
        self.key = f"generated:{n}:{size}"

    def __len__(self):
        return self.n

    def chunks(self, start, size):
        for i in range(start, self.n, size):
            idx = np.arange(i, min(self.n, i + size))
            yield Chunk(self.base[idx % 1024], [f"{j:06d}.png" for j in idx], [], len(idx))


def test_200k_images_stream_through_bounded_memory(tmp_path):
    """The issue's 200,000-image set, as a generator of 16×16 images (a folder of 200k files would take
    minutes to write): 147 MB of images in all, while the encode's numpy allocations stay under 25 MB."""
    n = 200_000
    arch = ArchitectureConfig(image_size=16, channels=(4, 4, 4, 4), z_dim=4, batch_norm=False)
    torch.manual_seed(0)
    model = ConvAutoencoder(arch).eval()
    cfg = model_store.ModelConfig(arch, Preprocess(image_size=16))
    model_store.save_model(tmp_path / "m", model, cfg)
    source = GeneratedFaces(n, 16)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # ops this small only pay for thread hand-offs (3× faster on a busy 2-core box)
    t0 = time.perf_counter()
    tracemalloc.start()
    try:
        res = encode_to_model(tmp_path / "m", source, model=model, config=cfg, batch_size=4096, chunk_size=4096)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        torch.set_num_threads(threads)
    seconds = time.perf_counter() - t0
    assert res.rows == n
    assert peak < 25 * 2**20, f"peak numpy allocations {peak / 2**20:.1f} MB"
    z, names = model_store.load_latents(tmp_path / "m", 4)
    assert z.shape == (n, 4) and names[-1] == "199999.png"
    with torch.no_grad():
        ref = model.encode(torch.from_numpy(source.base).permute(0, 3, 1, 2).float() / 255).numpy()
    np.testing.assert_allclose(z[:1024], ref, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(z[n - 1024 * 3 : n - 1024 * 2], ref[np.arange(n - 1024 * 3, n - 1024 * 2) % 1024], rtol=1e-4, atol=1e-5)
    print(f"200k images encoded in {seconds:.1f} s, peak numpy memory {peak / 2**20:.1f} MB")
