"""Faults in image folders: every bad file is skipped and named, the count is always right.

The outcome for a folder is one of: the good images are used and every bad file is listed in
``FaceDataset.skipped`` with a reason (never a crash, never a silently wrong count), or a
:class:`DataError` naming the folder (empty, missing, unreadable, nothing decodable).
"""
from __future__ import annotations

import errno
import io
import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.errors import DataError
from engine.image_data import Preprocess, load_files, load_folder

from faults_support import ROOT, TINY_ARCH, synthetic_face, write_faces

PRE = Preprocess(image_size=32, reference_size=(48, 48), crop_box=(0, 0, 48, 48))


def _jpeg_bytes(seed: int = 0, mode: str = "RGB") -> bytes:
    img = Image.fromarray(synthetic_face(np.random.default_rng(seed))).convert(mode)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def huge_png_header(width: int, height: int) -> bytes:
    """A ~100-byte PNG that claims width×height RGB pixels (its data is a few zero rows)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", zlib.compress(b"\0" * 1000))
            + _png_chunk(b"IEND", b""))


def huge_jpeg_header(width: int, height: int) -> bytes:
    """A small real JPEG whose SOF0 header is patched to claim width×height."""
    data = bytearray(_jpeg_bytes())
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


@pytest.fixture
def folder(tmp_path) -> Path:
    f = tmp_path / "faces"
    write_faces(f, 6, seed=2)
    return f


def _skipped(ds) -> dict[str, str]:
    return dict(ds.skipped)


# ---------------------------------------------------------------------------------------------
# broken files: skipped, named, counted


def test_zero_byte_truncated_corrupt_and_text_jpegs_are_skipped_and_named(folder):
    jpg = _jpeg_bytes()
    (folder / "zero.jpg").write_bytes(b"")
    (folder / "half.jpg").write_bytes(jpg[: len(jpg) // 2])
    (folder / "head-only.jpg").write_bytes(jpg[:300])
    corrupt = bytearray(jpg)
    corrupt[2:40] = b"\x00" * 38  # the JPEG markers after SOI are destroyed
    (folder / "corrupt.jpg").write_bytes(bytes(corrupt))
    scan = bytearray(jpg)
    for i in range(len(scan) // 3, len(scan) // 3 + 200):  # garbage inside the entropy-coded data
        scan[i] = (scan[i] * 7 + 13) % 256
    (folder / "scan.jpg").write_bytes(bytes(scan))
    (folder / "text.jpg").write_text("hello, I am a text file with a .jpg name\n")

    ds = load_folder(folder, PRE, cache=False)
    skipped = _skipped(ds)
    assert len(ds) == 6 and ds.images.shape == (6, 32, 32, 3)
    assert ds.files == [f"{i:06d}.png" for i in range(1, 7)]
    assert set(skipped) == {"zero.jpg", "half.jpg", "head-only.jpg", "corrupt.jpg", "scan.jpg", "text.jpg"}
    assert skipped["zero.jpg"] == "empty file (0 bytes)"
    assert skipped["half.jpg"] == skipped["head-only.jpg"] == "truncated file"
    assert skipped["corrupt.jpg"] == skipped["text.jpg"] == "not an image"
    assert skipped["scan.jpg"]  # a reason, whatever libjpeg says
    line = ds.summary()
    assert "6 images" in line and "skipped 6" in line and "\n" not in line


def test_a_folder_of_only_bad_files_is_a_clear_error(tmp_path):
    f = tmp_path / "bad"
    f.mkdir()
    (f / "a.jpg").write_bytes(b"")
    (f / "b.png").write_text("no")
    with pytest.raises(DataError, match=r"none of the 2 image files could be read.*a\.jpg \(empty file"):
        load_folder(f, PRE, cache=False)


def test_png_alpha_and_16_bit_are_converted_correctly(tmp_path):
    f = tmp_path / "png"
    f.mkdir()
    rgba = np.zeros((48, 48, 4), np.uint8)
    rgba[..., :3] = (200, 30, 30)
    rgba[:, :24, 3] = 255  # left half opaque red, right half fully transparent → white
    Image.fromarray(rgba, "RGBA").save(f / "alpha.png")
    ramp = np.tile(np.linspace(0, 65535, 48).astype(np.uint16), (48, 1))
    Image.fromarray(ramp).save(f / "deep.png")  # mode I;16
    assert Image.open(f / "deep.png").mode.startswith("I")
    ds = load_folder(f, PRE, cache=False)
    assert not ds.skipped and ds.files == ["alpha.png", "deep.png"]
    alpha, deep = ds.images
    assert np.abs(alpha[:, :14].astype(int) - (200, 30, 30)).max() <= 3
    assert alpha[:, 18:].min() >= 250  # transparent composited over white
    # 16-bit is scaled (dark left, bright right, greys between), not clipped to white
    assert deep[:, :3].mean() < 20 and deep[:, -3:].mean() > 235 and 90 < deep[:, 14:18].mean() < 165
    assert (deep[..., 0] == deep[..., 1]).all() and (deep[..., 1] == deep[..., 2]).all()


def test_grayscale_and_cmyk_jpegs_are_converted(tmp_path):
    f = tmp_path / "jpg"
    f.mkdir()
    (f / "rgb.jpg").write_bytes(_jpeg_bytes(5))
    (f / "gray.jpg").write_bytes(_jpeg_bytes(5, "L"))
    (f / "cmyk.jpg").write_bytes(_jpeg_bytes(5, "CMYK"))
    assert Image.open(f / "cmyk.jpg").mode == "CMYK" and Image.open(f / "gray.jpg").mode == "L"
    ds = load_folder(f, PRE, cache=False)
    assert not ds.skipped and ds.images.shape == (3, 32, 32, 3)
    img = dict(zip(ds.files, ds.images.astype(int)))
    assert (img["gray.jpg"][..., 0] == img["gray.jpg"][..., 2]).all()
    # the CMYK copy shows the same picture as the RGB one (not inverted, not black)
    assert np.abs(img["cmyk.jpg"] - img["rgb.jpg"]).mean() < 12
    assert np.abs(img["gray.jpg"].mean() - img["rgb.jpg"].mean()) < 12


# ---------------------------------------------------------------------------------------------
# huge images: the decompression-bomb guard and memory


def test_huge_headers_are_refused_by_the_bomb_guard(folder):
    (folder / "huge.png").write_bytes(huge_png_header(20000, 20000))
    (folder / "huge.jpg").write_bytes(huge_jpeg_header(20000, 20000))
    (folder / "big.png").write_bytes(huge_png_header(10000, 10000))  # 1×–2× Pillow's limit: a warning, made an error
    ds = load_folder(folder, PRE, cache=False)
    assert len(ds) == 6
    skipped = _skipped(ds)
    for name in ("huge.png", "huge.jpg", "big.png"):
        assert skipped[name] == "image too large (decompression-bomb guard)"


_MEASURE = r"""
import json, resource, sys
sys.path.insert(0, sys.argv[1])
from engine.image_data import Preprocess, load_files
def peak():  # VmHWM: this process's own peak (ru_maxrss keeps the parent's across a vfork + exec)
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")) // 1024
base = peak()
out = {}
for path in sys.argv[2:]:
    imgs, names, skipped = load_files([path], Preprocess(image_size=32))
    out[path.rsplit("/", 1)[-1]] = [len(imgs), skipped[0][1] if skipped else None, peak() - base]
print(json.dumps(out))
"""


def test_large_images_decode_in_bounded_memory(tmp_path):
    """A 6000×6000 JPEG (108 MB as RGB) and 20000×20000 headers (1.2 GB) stay under +60 MB peak RSS."""
    big = tmp_path / "big-6000.jpg"
    Image.new("L", (6000, 6000), 128).save(big, quality=50)  # legal size: decoded at 1/8 via draft mode
    (tmp_path / "huge.png").write_bytes(huge_png_header(20000, 20000))
    (tmp_path / "huge.jpg").write_bytes(huge_jpeg_header(20000, 20000))
    res = subprocess.run([sys.executable, "-c", _MEASURE, str(ROOT), str(big), str(tmp_path / "huge.png"),
                          str(tmp_path / "huge.jpg")], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["big-6000.jpg"][:2] == [1, None]
    assert out["huge.png"][:2] == out["huge.jpg"][:2] == [0, "image too large (decompression-bomb guard)"]
    for name, (_, _, grew_mb) in out.items():
        assert grew_mb < 60, f"{name}: peak RSS grew by {grew_mb} MB"


# ---------------------------------------------------------------------------------------------
# names, permissions, links


def test_non_utf8_and_very_long_file_names(folder, tmp_path):
    os.rename(folder / "000001.png", os.fsencode(folder) + b"/\xff\xfe-caf\xe9.png")  # latin-1 bytes, not UTF-8
    long_name = "x" * 250 + ".png"  # 254 bytes: the longest name most file systems allow is 255
    os.rename(folder / "000002.png", folder / long_name)
    cache = tmp_path / "cache"
    ds = load_folder(folder, PRE, cache=True, cache_dir=cache)
    assert len(ds) == 6 and not ds.skipped
    assert long_name in ds.files
    odd = [n for n in ds.files if "caf" in n]
    assert odd and odd[0].encode("utf-8")  # shown with replacement characters, safe to print and store
    again = load_folder(folder, PRE, cache=True, cache_dir=cache)
    assert again.from_cache and again.files == ds.files
    # writing an output named after the long input (e.g. reconstruct) works: temp names stay ≤ 255 bytes
    from engine import atomic_io

    atomic_io.save_png(tmp_path / "out" / long_name, ds.images[0])
    assert (tmp_path / "out" / long_name).stat().st_size > 0
    assert [p.name for p in (tmp_path / "out").iterdir()] == [long_name]


def test_unreadable_file_is_skipped_with_permission_denied(folder, monkeypatch):
    secret = folder / "000003.png"
    if os.geteuid() != 0:
        secret.chmod(0)
    else:  # root reads everything: simulate the EACCES that open() would raise for a normal user
        real_open = Image.open

        def guarded(fp, *a, **k):
            if Path(fp) == secret:
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(fp))
            return real_open(fp, *a, **k)

        monkeypatch.setattr(Image, "open", guarded)
    ds = load_folder(folder, PRE, cache=False, workers=1)
    assert len(ds) == 5 and "000003.png" not in ds.files
    assert _skipped(ds) == {"000003.png": "permission denied"}


def test_unreadable_folder_is_a_clear_error(folder, monkeypatch):
    real = os.scandir

    def denied(path="."):
        if Path(path) == folder:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", denied)
    with pytest.raises(DataError, match=r"faces: cannot read the folder \(Permission denied\)"):
        load_folder(folder, PRE, cache=False)


def test_symlink_loops_and_dangling_links_are_skipped_not_hidden(folder):
    os.symlink("loop-b.jpg", folder / "loop-a.jpg")
    os.symlink("loop-a.jpg", folder / "loop-b.jpg")
    os.symlink("nowhere.jpg", folder / "dangling.jpg")
    os.symlink(".", folder / "self")  # a directory link back to the folder: not followed (not recursive)
    os.symlink("000001.png", folder / "alias.png")  # a good link is used
    ds = load_folder(folder, PRE, cache=False)
    assert len(ds) == 7 and "alias.png" in ds.files
    skipped = _skipped(ds)
    assert skipped == {"loop-a.jpg": "symbolic link loop", "loop-b.jpg": "symbolic link loop",
                       "dangling.jpg": "broken link (its target is missing)"}
    assert ds.ignored == 1  # only the directory link
    assert "skipped 3" in ds.summary()


# ---------------------------------------------------------------------------------------------
# tiny and empty folders


def test_folder_of_one_image_trains_without_validation_but_cannot_fit_a_sampler(tmp_path):
    from engine.autoencoder import ArchitectureConfig
    from engine.encoding import encode_dataset
    from engine.errors import SamplerError
    from engine.workflows.generate import generate_from_folder as generate
    from engine.training import TrainOptions, train


    write_faces(tmp_path / "one", 1)
    ds = load_folder(tmp_path / "one", PRE, cache=False)
    assert len(ds) == 1 and ds.images.shape == (1, 32, 32, 3)
    res = train(ds, tmp_path / "m", ArchitectureConfig(**TINY_ARCH), TrainOptions(epochs=1, batch_size=4))
    assert res.epochs_done == 1 and res.val_loss is None  # nothing held out of a single image
    z = encode_dataset(tmp_path / "m", ds)
    assert z.shape == (1, 8) and np.isfinite(z).all()
    with pytest.raises(SamplerError, match="at least 2 z-points"):
        generate(tmp_path / "m", "uniform", n=4)


def test_empty_missing_and_non_image_folders_are_clear_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="empty: no image files"):
        load_folder(tmp_path / "empty", PRE)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "README.txt").write_text("x")
    (tmp_path / "docs" / "sub.jpg").mkdir()  # a folder with an image suffix is not an image
    with pytest.raises(DataError, match="docs: no image files"):
        load_folder(tmp_path / "docs", PRE)
    with pytest.raises(DataError, match="nope: no such folder"):
        load_folder(tmp_path / "nope", PRE)
    (tmp_path / "file.jpg").write_bytes(_jpeg_bytes())
    with pytest.raises(DataError, match="file.jpg: not a folder"):
        load_folder(tmp_path / "file.jpg", PRE)


@pytest.mark.parametrize("damage", ["truncate-npy", "garbage-npy", "pickle-npy", "empty-json", "json-list",
                                    "json-no-files", "json-wrong-count", "wrong-shape"])
def test_a_damaged_decode_cache_is_ignored_and_rewritten(folder, tmp_path, damage):
    cache = tmp_path / "cache"
    first = load_folder(folder, PRE, cache=True, cache_dir=cache)
    expected = np.array(first.images)
    npy = next(cache.glob("*.npy"))
    meta = npy.with_suffix(".json")
    if damage == "truncate-npy":
        npy.write_bytes(npy.read_bytes()[:200])
    elif damage == "garbage-npy":
        npy.write_bytes(b"garbage" * 10)
    elif damage == "pickle-npy":
        np.save(npy, np.array([{"a": 1}] * 6, dtype=object), allow_pickle=True)
    elif damage == "empty-json":
        meta.write_text("")
    elif damage == "json-list":
        meta.write_text("[1, 2]")
    elif damage == "json-no-files":
        meta.write_text(json.dumps({"format": 2}))
    elif damage == "json-wrong-count":
        d = json.loads(meta.read_text())
        d["files"] = d["files"][:3]
        meta.write_text(json.dumps(d))
    else:
        np.save(npy, np.zeros((6, 16, 16, 3), np.uint8))
    again = load_folder(folder, PRE, cache=True, cache_dir=cache)
    assert not again.from_cache and again.files == first.files
    np.testing.assert_array_equal(np.asarray(again.images), expected)
    third = load_folder(folder, PRE, cache=True, cache_dir=cache)  # the cache was rewritten
    assert third.from_cache
    np.testing.assert_array_equal(np.asarray(third.images), expected)


def test_an_unwritable_cache_only_costs_speed(folder, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    first = load_folder(folder, PRE, cache=True, cache_dir=blocker / "cache")
    second = load_folder(folder, PRE, cache=True, cache_dir=blocker / "cache")
    assert len(first) == len(second) == 6 and not first.from_cache and not second.from_cache
    np.testing.assert_array_equal(first.images, second.images)


def test_bad_files_are_reported_the_same_by_the_parallel_decoder(tmp_path):
    """Folders of ≥ 200 files are decoded by a process pool: the same skips, reasons and order."""
    f = tmp_path / "big"
    write_faces(f, 197, seed=6, size=24)
    (f / "000050-zero.jpg").write_bytes(b"")
    (f / "000100-text.jpg").write_text("not a picture")
    os.symlink("000150-loop.jpg", f / "000150-loop.jpg")
    pre = Preprocess(16, (24, 24), (0, 0, 24, 24))
    serial = load_folder(f, pre, cache=False, workers=1)
    pooled = load_folder(f, pre, cache=False, workers=2)
    assert len(pooled) == 197 and pooled.files == serial.files
    np.testing.assert_array_equal(pooled.images, serial.images)
    assert pooled.skipped == serial.skipped == [("000050-zero.jpg", "empty file (0 bytes)"),
                                                ("000100-text.jpg", "not an image"),
                                                ("000150-loop.jpg", "symbolic link loop")]


def test_explicit_file_list_reports_bad_files(tmp_path):
    good = write_faces(tmp_path / "f", 2)
    (tmp_path / "f" / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    imgs, names, skipped = load_files([*good, tmp_path / "f" / "bad.png", tmp_path / "f" / "gone.png"], PRE)
    assert imgs.shape == (2, 32, 32, 3) and names == ["000001.png", "000002.png"]
    assert [n for n, _ in skipped] == ["bad.png", "gone.png"]
    assert dict(skipped)["gone.png"] == "file not found"
