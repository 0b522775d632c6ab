"""Inputs that are odd but legal, or hostile: every one decodes right or gets one clear line (issue 12).

* images: EXIF orientation is applied (phone photos were decoded sideways), float and 32-bit TIFFs
  are scaled (a [0, 1] float image was black), and the memory a decode needs is bounded in bytes
  (a 187 KB 16-bit 9400×9400 PNG took 2.5 GB): too large → skipped and named, also by the pool;
* small files the user hands over (label files; the encoder's progress record) must be regular
  files of bounded size: a FIFO hung ``attributes --import``, ``/dev/zero`` filled the memory;
* a label file whose rows are all malformed says so (was: "none of its rows match");
* ``--where``: a value a yes/no attribute cannot have (``Smiling=2`` was read as 1), empty parts,
  missing names or values and repeated attributes are one line each.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from engine import attributes as at
from engine.formats import native as model_store
from engine.errors import DataError, SamplerError
from engine.image_data import (MAX_DECODE_BYTES, Preprocess, decode_face, load_folder,
                               read_regular_file)

from faults_support import ROOT, synthetic_face, write_faces

# ---------------------------------------------------------------------------------------------
# 6. images: EXIF orientation

T = Image.Transpose
#: orientation → the transpose that makes the stored pixels upright (as ImageOps.exif_transpose)
UPRIGHT = {1: None, 2: T.FLIP_LEFT_RIGHT, 3: T.ROTATE_180, 4: T.FLIP_TOP_BOTTOM, 5: T.TRANSPOSE,
           6: T.ROTATE_270, 7: T.TRANSVERSE, 8: T.ROTATE_90}
INVERSE = {None: None, T.FLIP_LEFT_RIGHT: T.FLIP_LEFT_RIGHT, T.ROTATE_180: T.ROTATE_180,
           T.FLIP_TOP_BOTTOM: T.FLIP_TOP_BOTTOM, T.TRANSPOSE: T.TRANSPOSE, T.ROTATE_270: T.ROTATE_90,
           T.TRANSVERSE: T.TRANSVERSE, T.ROTATE_90: T.ROTATE_270}


def upright_face(scale: int = 1) -> Image.Image:
    """A 48×60 (w×h) face with marks that tell every flip and turn apart."""
    img = np.zeros((60, 48, 3), np.uint8)
    img[:] = synthetic_face(np.random.default_rng(1), 60)[:, 6:54]
    img[4:16, 4:20] = (255, 0, 0)  # red: top left
    img[44:56, 30:44] = (0, 0, 255)  # blue: bottom right
    img[4:10, 34:44] = (0, 255, 0)  # green: top right, small
    im = Image.fromarray(img)
    return im.resize((48 * scale, 60 * scale), Image.Resampling.NEAREST) if scale > 1 else im


def stored(upright: Image.Image, orientation: int, path: Path, fmt: str) -> None:
    """Save the pixels a camera would store for ``upright`` with this EXIF orientation."""
    op = INVERSE[UPRIGHT[orientation]]
    pixels = upright if op is None else upright.transpose(op)
    exif = Image.Exif()
    exif[0x0112] = orientation
    kw = {"quality": 95} if fmt in ("JPEG", "WEBP") else {}
    pixels.save(path, fmt, exif=exif.tobytes(), **kw)
    check = ImageOps.exif_transpose(Image.open(path))
    assert check.size == upright.size  # the test's own construction is right


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("fmt, scale", [("JPEG", 1), ("JPEG", 10), ("PNG", 1), ("WEBP", 1), ("TIFF", 1)])
def test_exif_orientation_is_applied(tmp_path, orientation, fmt, scale):
    """Scale 10: a 480×600 JPEG decoded at 1/8 by draft mode, then turned."""
    up = upright_face(scale)
    pre = Preprocess(32, (48, 60), (4, 6, 44, 54))
    ext = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "TIFF": "tif"}[fmt]
    up.save(tmp_path / f"plain.{ext}", fmt, **({"quality": 95} if fmt in ("JPEG", "WEBP") else {}))
    stored(up, orientation, tmp_path / f"turned.{ext}", fmt)
    want = decode_face(tmp_path / f"plain.{ext}", pre).astype(int)
    got = decode_face(tmp_path / f"turned.{ext}", pre).astype(int)
    assert np.abs(got - want).mean() < 3, f"orientation {orientation}: mean diff {np.abs(got - want).mean():.1f}"
    if orientation != 1:  # the comparison can tell: the stored pixels as they are differ a lot
        op = INVERSE[UPRIGHT[orientation]]
        raw = up.transpose(op)
        raw.save(tmp_path / f"raw.{ext}", fmt, **({"quality": 95} if fmt in ("JPEG", "WEBP") else {}))
        wrong = decode_face(tmp_path / f"raw.{ext}", pre).astype(int)  # what was decoded before
        assert np.abs(wrong - want).mean() > 8 * max(1.0, np.abs(got - want).mean())


def test_a_damaged_or_odd_orientation_tag_is_ignored(tmp_path):
    up = upright_face()
    for value in (0, 9, 65535):
        exif = Image.Exif()
        exif[0x0112] = value
        up.save(tmp_path / f"o{value}.jpg", exif=exif.tobytes(), quality=95)
    up.save(tmp_path / "bad-exif.jpg", quality=95, exif=b"Exif\x00\x00MM\x00*garbage")
    ds = load_folder(tmp_path, Preprocess(32, (48, 60), (4, 6, 44, 54)), cache=False)
    assert not ds.skipped and len(ds) == 4
    assert np.abs(ds.images.astype(int) - ds.images[0].astype(int)).mean() < 3


# ---------------------------------------------------------------------------------------------
# 6. images: float and 32-bit values

RAMP = np.tile(np.linspace(0, 1, 48, dtype=np.float64), (48, 1))  # dark left → bright right
PRE48 = Preprocess(48, (48, 48), (0, 0, 48, 48))


def grey(img: np.ndarray) -> np.ndarray:
    assert (img[..., 0] == img[..., 1]).all() and (img[..., 1] == img[..., 2]).all()
    return img[..., 0].astype(int)


@pytest.mark.parametrize("mode, values, expect", [
    ("F", RAMP, RAMP * 255),  # [0, 1] → ×255 (was: all black)
    ("F", RAMP * 255, RAMP * 255),  # [0, 255] kept
    ("F", RAMP * 2 - 1, RAMP * 255),  # [-1, 1] stretched
    ("F", RAMP * 4000 + 1000, RAMP * 255),  # [1000, 5000] stretched
    ("F", RAMP * 0 + 0.5, RAMP * 0 + 127.5),  # constant in [0, 1]
    ("F", RAMP * 0 + 1e6, RAMP * 0 + 255),  # constant above 255: white, not NaN
    ("I", RAMP * 255, RAMP * 255),  # 8-bit values in a 32-bit image
    ("I", RAMP * 65535, RAMP * 255),  # 16-bit values in a 32-bit image
    ("I", RAMP * 1e6 - 5000, RAMP * 255),  # any other range: stretched
])
def test_float_and_32_bit_tiffs_are_scaled_not_black(tmp_path, mode, values, expect):
    arr = values.astype(np.float32 if mode == "F" else np.int32)
    Image.fromarray(arr).save(tmp_path / "x.tif")
    assert Image.open(tmp_path / "x.tif").mode == mode
    img = grey(decode_face(tmp_path / "x.tif", PRE48))
    assert np.abs(img - expect).max() <= 2, np.abs(img - expect).max()


def test_nan_and_inf_pixels_of_a_float_image_are_black_the_rest_scaled(tmp_path):
    arr = RAMP.astype(np.float32)
    arr[:10] = np.nan
    arr[40:, :4] = np.inf
    Image.fromarray(arr).save(tmp_path / "nan.tif")
    img = grey(decode_face(tmp_path / "nan.tif", Preprocess(48, (48, 48), (0, 0, 48, 48))))
    assert img[:8].max() == 0  # NaN → black
    np.testing.assert_allclose(img[14:36], (RAMP[14:36] * 255), atol=2)  # finite part: [0, 1] → ×255


# ---------------------------------------------------------------------------------------------
# 6. images: memory bounded in bytes


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def blank_png(path: Path, width: int, height: int, bit_depth: int, color_type: int, extra: bytes = b"") -> int:
    """A real, fully decodable PNG of width×height zero pixels, compressed row by row (a few
    hundred KB for 9400×9400 16-bit, as the issue's file); returns the file size."""
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color_type]
    row = b"\0" * (1 + width * channels * bit_depth // 8)
    z = zlib.compressobj(9)
    data = b"".join(z.compress(row) for _ in range(height)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    body = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + extra + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")
    path.write_bytes(body)
    return len(body)


_MEASURE = r"""
import json, resource, sys
sys.path.insert(0, sys.argv[1])
from engine.image_data import Preprocess, load_files
def peak():  # VmHWM: this process's own peak (ru_maxrss keeps the parent's across a vfork + exec)
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")) // 1024
load_files([sys.argv[2]], Preprocess(image_size=32))  # warm up: imports, codecs
base = peak()
out = {}
for path in sys.argv[3:]:
    imgs, names, skipped = load_files([path], Preprocess(image_size=32))
    out[path.rsplit("/", 1)[-1]] = [len(imgs), skipped[0][1] if skipped else None, peak() - base]
print(json.dumps(out))
"""


def test_decode_memory_is_bounded_in_bytes_not_only_pixels(tmp_path):
    """Each file in a fresh child process would be cleaner; one process, ordered small → large
    growth, is enough: the refused ones come first and must not grow the peak at all."""
    files = {
        "deep-9400.png": (9400, 9400, 16, 0, b""),  # I;16, 169 MB as pixels (was 2.5 GB peak)
        "rgba-6000.png": (6000, 6000, 8, 6, b""),  # RGBA + premultiplied copy: 275 MB
        "palette-alpha-5000.png": (5000, 5000, 8, 3, _chunk(b"PLTE", b"\0\0\0" * 2) + _chunk(b"tRNS", b"\0")),
        "grey-8000.png": (8000, 8000, 8, 0, b""),  # L, 61 MB: decoded, resized as it is
        "deep-4000.png": (4000, 4000, 16, 0, b""),  # I;16, 31 MB: decoded, scaled on the small result
    }
    sizes = {name: blank_png(tmp_path / name, *spec) for name, spec in files.items()}
    assert sizes["deep-9400.png"] < 1_000_000
    write_faces(tmp_path / "warm", 1)
    res = subprocess.run([sys.executable, "-c", _MEASURE, str(ROOT), str(tmp_path / "warm" / "000001.png")]
                         + [str(tmp_path / n) for n in files], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    for name in ("deep-9400.png", "rgba-6000.png", "palette-alpha-5000.png"):
        count, reason, grew = out[name]
        assert count == 0 and reason.startswith("image too large to decode: ") and " MB" in reason, (name, reason)
        assert f"limit {MAX_DECODE_BYTES // 2**20} MB" in reason
        assert grew < 30, f"{name}: refused, yet peak RSS grew by {grew} MB"
    assert "9400×9400 I;16 needs 169 MB" in out["deep-9400.png"][1]
    assert out["grey-8000.png"][:2] == [1, None] and out["grey-8000.png"][2] < 61 + 40
    assert out["deep-4000.png"][:2] == [1, None] and out["deep-4000.png"][2] < 61 + 40  # below the last peak


def test_too_large_images_are_reported_the_same_by_the_parallel_decoder(tmp_path):
    f = tmp_path / "many"
    write_faces(f, 198, seed=5, size=24)
    blank_png(f / "000100-deep.png", 9400, 9400, 16, 0)
    (f / "000150-x\ny.png").write_bytes((f / "000001.png").read_bytes())
    pre = Preprocess(16, (24, 24), (0, 0, 24, 24))
    serial = load_folder(f, pre, cache=False, workers=1)
    pooled = load_folder(f, pre, cache=False, workers=2)
    assert pooled.files == serial.files and len(pooled) == 198
    assert pooled.skipped == serial.skipped == [
        ("000100-deep.png", f"image too large to decode: 9400×9400 I;16 needs 169 MB (limit {MAX_DECODE_BYTES // 2**20} MB)"),
        ("000150-x\\ny.png", "file name contains a line break")]


# ---------------------------------------------------------------------------------------------
# 4. small files the user hands over: regular files of bounded size only

FILES = [f"{i:06d}.jpg" for i in range(1, 9)]


def _special(tmp_path: Path, kind: str) -> Path:
    p = tmp_path / f"labels-{kind}.txt"
    if kind == "fifo":
        os.mkfifo(p)
    elif kind == "link-to-fifo":
        os.mkfifo(tmp_path / "pipe")
        os.symlink(tmp_path / "pipe", p)
    elif kind == "dev-zero":
        os.symlink("/dev/zero", p)
    elif kind == "dev-null":
        os.symlink("/dev/null", p)
    elif kind == "folder":
        p.mkdir()
    elif kind == "socket":
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(p))
        s.close()
    elif kind == "dangling":
        os.symlink(tmp_path / "gone.txt", p)
    elif kind == "loop":
        os.symlink(p, p)
    elif kind == "huge":
        with open(p, "wb") as fh:  # sparse: 300 MB that take no disk and must never be read
            fh.truncate(300 * 2**20)
    return p


SPECIAL = [("fifo", "is a FIFO (named pipe), not a regular file"),
           ("link-to-fifo", "is a FIFO (named pipe), not a regular file"),
           ("dev-zero", "is a device, not a regular file"), ("dev-null", "is a device, not a regular file"),
           ("folder", "is a folder, not a label file"), ("socket", "label file"),
           ("dangling", "no such label file (a link whose target is missing)"), ("loop", "symbolic link loop"),
           ("huge", "300 MB is too large for a label file (at most 256 MB)")]


def _no_hang(fn, *args):
    """Run fn in a thread; fail (not hang) when it blocks, as a FIFO read used to."""
    box = {}

    def run():
        try:
            box["value"] = fn(*args)
        except BaseException as exc:  # noqa: BLE001
            box["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(20)
    if t.is_alive():
        for p in args:  # release a reader blocked on a FIFO
            if isinstance(p, Path) and p.exists() and not p.is_dir():
                try:
                    fd = os.open(p, os.O_WRONLY | os.O_NONBLOCK)
                    os.close(fd)
                except OSError:
                    pass
        pytest.fail(f"{fn.__name__} blocked for 20 s")
    return box


@pytest.mark.parametrize("kind, why", SPECIAL)
def test_a_label_file_must_be_a_regular_file_of_bounded_size(tmp_path, kind, why):
    p = _special(tmp_path, kind)
    box = _no_hang(at.read_label_file, p, FILES)
    err = box.get("error")
    assert isinstance(err, DataError), box
    msg = str(err)
    assert msg.startswith(str(p)) and why in msg and "\n" not in msg, msg


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "huge"])
def test_attributes_import_of_a_special_file_is_one_line_and_writes_nothing(tiny_model, tmp_path, capsys, kind):
    import main

    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    p = _special(tmp_path, kind)
    box = _no_hang(main.run, ["attributes", "--model", str(model), "--import", str(p)])
    err = capsys.readouterr().err
    assert box.get("value") == 2 and len(err.strip().splitlines()) == 1 and str(p) in err, (box, err)
    assert not (model / "labels.csv").exists()


def test_read_regular_file_reads_a_link_to_a_regular_file_and_honours_the_cap(tmp_path):
    (tmp_path / "real.txt").write_bytes(b"x" * 1000)
    os.symlink(tmp_path / "real.txt", tmp_path / "link.txt")
    assert read_regular_file(tmp_path / "link.txt", "label file") == b"x" * 1000
    with pytest.raises(DataError, match=r"real\.txt: 0 MB is too large for a test file \(at most 0 MB\)"):
        read_regular_file(tmp_path / "real.txt", "test file", limit=999)
    assert read_regular_file(tmp_path / "real.txt", "test file", limit=1000) == b"x" * 1000


@pytest.mark.parametrize("state", ["fifo", "dev-zero", "huge"])
def test_a_special_file_as_the_encoders_progress_record_is_ignored(tmp_path, tiny_model, state):
    """The model folder may come from a stranger: its .latents.partial.json is read only when it
    is a small regular file; otherwise the encode simply starts over."""
    from engine.encoding import PARTIAL_STATE, ArraySource, encode_to_model

    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    src = _special(tmp_path, state)
    os.replace(src, model / PARTIAL_STATE)  # moves the FIFO, the link to /dev/zero, the sparse file
    images = np.zeros((4, 32, 32, 3), np.uint8)
    box = _no_hang(lambda: encode_to_model(model, ArraySource(images, list("abcd"))))
    assert "error" not in box, box
    assert box["value"].rows == 4 and box["value"].resumed_from == 0
    assert model_store.load_latents(model, 8)[1] == list("abcd")


# ---------------------------------------------------------------------------------------------
# 4. label files whose rows are all malformed


@pytest.mark.parametrize("text, why", [
    ("file,Smiling\n000001.jpg,maybe\n000002.jpg,perhaps\n", "every one of its 2 row(s) is malformed"
                                                           " (first: line 2: Smiling='maybe' is not a number"),
    ("file,Smiling,Male\n000001.jpg,1\n000002.jpg\n", "every one of its 2 row(s) is malformed"
                                                     " (first: line 2: 1 value(s) for 2 attribute(s)"),
    ("2\nSmiling Male\n000001.jpg 2 1\n000002.jpg 1 3\n", "every one of its 2 row(s) is malformed"
                                                          " (first: line 3: Smiling='2' (CelebA values are 1 or -1)"),
    ("file,Smiling\n,1\n,0\n", "every one of its 2 row(s) is malformed (first: line 2: no file name"),
    ("file,Smiling\nother.jpg,1\n000001.jpg,x\n", "none of its 2 row(s) match the model's z-points; 1 other row(s)"
                                                  " are malformed (first: line 3: Smiling='x' is not a number)"),
    ("file,Smiling\n\n\n", "no label rows after the header"),
])
def test_a_label_file_with_only_bad_rows_says_what_is_wrong(tmp_path, text, why):
    p = tmp_path / "l.csv"
    p.write_text(text)
    with pytest.raises(DataError) as info:
        at.read_label_file(p, FILES)
    msg = str(info.value)
    assert why in msg and msg.startswith(str(p)) and "\n" not in msg, msg


def test_labels_of_files_with_unicode_line_separators_round_trip(tmp_path):
    """labels.csv is read back split at \\n only: U+2028, \\x85, \\v, \\f in a name do not break rows."""
    files = ["a\u2028b.jpg", "c\u2029d.jpg", "e\x85f.jpg", "g\x0bh.jpg", "i\x0cj.jpg", "k\x1cl.jpg", "plain.jpg"]
    table = at.AttributeTable(["Smiling", "Age"], np.array([[1, 20], [0, 30], [1, 40], [0, 50], [1, 60], [0, 70],
                                                             [1, 80]], np.float32), files)
    (tmp_path / "labels.csv").write_text(at.labels_csv_text(table), encoding="utf-8")
    back = at.read_label_file(tmp_path / "labels.csv", files)
    assert back.report.matched == 7 and back.report.malformed == 0 and back.report.problems == 0
    np.testing.assert_array_equal(back.values, table.values)
    celeba = "7\nSmiling\n" + "".join(f"{f} {1 if i % 2 else -1}\n" for i, f in enumerate(files))
    (tmp_path / "celeba.txt").write_text(celeba, encoding="utf-8")
    back = at.read_label_file(tmp_path / "celeba.txt", files)
    assert back.report.matched == 7 and back.report.malformed == 0


# ---------------------------------------------------------------------------------------------
# 7. --where


def where_table() -> at.AttributeTable:
    files = [f"{i}.png" for i in range(12)]
    smiling = np.array([1, -1] * 6, np.float32)
    glasses = np.array([1, 0, 0] * 4, np.float32)  # 1/0 coding
    age = np.arange(12, dtype=np.float32) * 10
    return at.AttributeTable(["Smiling", "Eyeglasses", "Age"], np.stack([smiling, glasses, age], 1), files)


@pytest.mark.parametrize("text, why", [
    (",", "no condition given"), ("", "no condition given"), (" , ,", "no condition given"),
    ("Smiling=1,,Age>3", "condition 2 is empty"), ("Smiling=1,", "condition 2 is empty"),
    ("=1", "no attribute name before '='"), (">=3", "no attribute name before '>='"),
    ("Smiling=", "no value after '='"), ("Age>=", "no value after '>='"), ("Smiling= ", "no value after '='"),
    ("Smiling==1", "'=1' is not a number"), ("Smiling<>1", "'Smiling<' is not an attribute name"),
    ("Smiling=maybe", "'maybe' is not a number or yes/no"), ("Smiling=nan", "'nan' is not a number"),
    ("Smiling=1,Smiling=1", "Smiling is given twice"), ("Smiling,Smiling=yes", "Smiling is given twice"),
    ("Smiling=1,Smiling=-1", "Smiling has two conditions and one of them is '='"),
    ("Age>=20,Age>=20", "Age is given twice"),
])
def test_bad_where_texts_are_one_clear_line(text, why):
    with pytest.raises(SamplerError) as info:
        at.parse_where(text)
    msg = str(info.value)
    assert info.value.param == "where" and msg.startswith("where ") and why in msg and "\n" not in msg, msg


@pytest.mark.parametrize("text", ["Smiling=2", "Smiling=0.5", "Smiling=-2", "Smiling!=3", "Eyeglasses=2",
                                  "Eyeglasses=-0.5"])
def test_a_value_a_yes_no_attribute_cannot_have_is_refused_with_the_allowed_values(text):
    with pytest.raises(SamplerError) as info:
        at.subset_mask(where_table(), at.parse_where(text))
    msg = str(info.value)
    name = text.split("=")[0].rstrip("!")
    assert f"{name} is a yes/no attribute" in msg and "allowed values are 1 (present) and -1 or 0 (absent)" in msg


@pytest.mark.parametrize("text, count", [
    ("Smiling=1", 6), ("Smiling=-1", 6), ("Smiling=0", 6), ("Smiling=no", 6), ("Smiling!=1", 6), ("Smiling", 6),
    ("Eyeglasses=1", 4), ("Eyeglasses=-1", 8), ("Eyeglasses=0", 8), ("Smiling>0", 6),
    ("Age=20", 1), ("Age>=20,Age<60", 4), ("Age!=0,Age<=30", 3), ("Smiling=1,Eyeglasses=1", 2),
])
def test_good_where_texts_still_select_the_right_rows(text, count):
    assert int(at.subset_mask(where_table(), at.parse_where(text)).sum()) == count


def test_generate_where_with_an_impossible_value_is_one_line(tiny_model, tmp_path, capsys):
    import main

    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    files = model_store.load_latents(model, 8)[1]
    (tmp_path / "l.csv").write_text("file,Smiling\n" + "".join(f"{f},{1 if i % 2 else -1}\n" for i, f in enumerate(files)))
    assert main.run(["attributes", "--model", str(model), "--import", str(tmp_path / "l.csv")]) == 0
    for where, why in (("Smiling=2", "allowed values are 1 (present)"), (",", "no condition given"),
                       ("Smiling=", "found the end of the query"), ("=1", "expected a name or a number"),
                       ("Smiling=1,Smiling=1", "given twice")):
        capsys.readouterr()
        rc = main.run(["generate", "--model", str(model), "--sampler", "uniform", "--n", "2", "--where", where,
                       "--out", str(tmp_path / "out")])
        err = capsys.readouterr().err
        assert rc == 2 and why in err and len(err.strip().splitlines()) == 1, (where, err)
        assert not (tmp_path / "out").exists()
