"""Hostile Keras files (issue 22): a model file reads nothing but its own bytes, runs no code, nothing runs
unbounded, and sizes are checked before bytes are read.

Every hostile file is crafted here with h5py / zipfile (no Keras needed): a small autoencoder written the way
Keras writes it (a legacy ``.h5``, or a ``.keras`` zip with ``config.json`` + ``model.weights.h5``), then made
hostile in one way. All of them are imported through the CLI (``main.run``) in one helper process that
imports torch once and forks a child per file; each child runs under a memory cap (address space + 2 GB) and
an alarm (60 s), and reports its exit status, stderr, peak RSS growth and time. A refusal must be exit 2, one
line ``error: …`` naming the file and the reason, write nothing into ``--out`` and stay within a few tens of
MB of memory and a few seconds.
"""
from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import textwrap
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")
pytest.importorskip("onnxruntime")

from faults_support import ROOT  # noqa: E402

#: Peak memory a refusal may add to the process (the hostile files are ≤ 1 MB; they claim up to 6.5 GB).
MAX_REFUSAL_GROWTH_MB = 60
MAX_REFUSAL_SECONDS = 10
BOMB_BYTES = 128 * 2**20  # what the decompression bombs inflate to
DENSE_KERNEL = "dense/dense/kernel:0"  # inside model_weights (legacy) — the Keras 3 path is layers/dense/vars/0


# ------------------------------------------------------------------------------------------------
# a small autoencoder written the way Keras writes it


def ae_layers(size=16, ch=4, z=6, fully_conv=False) -> list:
    h = size // 2
    layers = [("InputLayer", "input", {"batch_shape": [None, size, size, 3]}),
              ("Conv2D", "conv2d", {"filters": ch, "kernel_size": [3, 3], "strides": [2, 2], "padding": "same",
                                    "activation": "relu"}),
              ("Flatten", "flatten", {})]
    if not fully_conv:
        layers += [("Dense", "dense", {"units": z}), ("Dense", "dense_1", {"units": h * h * ch})]
    layers += [("Reshape", "reshape", {"target_shape": [h, h, ch]}),
               ("Conv2DTranspose", "conv2d_transpose", {"filters": 3, "kernel_size": [3, 3], "strides": [2, 2],
                                                        "padding": "same", "activation": "sigmoid"})]
    return layers


def ae_weights(size=16, ch=4, z=6, fully_conv=False) -> dict:
    rng = np.random.default_rng(0)
    h = size // 2

    def w(*shape):
        return rng.normal(0, 0.1, shape).astype(np.float32)

    out = {"conv2d": {"kernel": w(3, 3, 3, ch), "bias": w(ch)},
           "conv2d_transpose": {"kernel": w(3, 3, 3, ch), "bias": w(3)}}
    if not fully_conv:
        out["dense"] = {"kernel": w(h * h * ch, z), "bias": w(z)}
        out["dense_1"] = {"kernel": w(z, h * h * ch), "bias": w(h * h * ch)}
    return out


def _config(layers) -> dict:
    return {"class_name": "Sequential", "config": {"name": "ae", "layers": [
        {"class_name": c, "config": {"name": n, **cfg}} for c, n, cfg in layers]}}


def write_h5(path: Path, layers=None, weights=None) -> Path:
    """A legacy Keras whole-model .h5: ``model_config`` + ``model_weights/<layer>/<layer>/<var>:0``."""
    layers = layers or ae_layers()
    weights = ae_weights() if weights is None else weights
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(_config(layers))
        f.attrs["keras_version"] = "2.15.0"
        mw = f.create_group("model_weights")
        for _, name, _ in layers[1:]:
            g = mw.create_group(name)
            vs = weights.get(name, {})
            g.attrs["weight_names"] = np.array([f"{name}/{v}:0".encode() for v in vs]) if vs else np.zeros(0)
            for v, arr in vs.items():
                g.create_dataset(f"{name}/{v}:0", data=arr)
    return path


def write_keras3_weights(path: Path, layers=None, weights=None) -> Path:
    """A Keras 3 model.weights.h5: ``layers/<key>/vars/<i>``."""
    layers = layers or ae_layers()
    weights = ae_weights() if weights is None else weights
    with h5py.File(path, "w") as f:
        root = f.create_group("layers")
        for _, name, _ in layers[1:]:
            v = root.create_group(name).create_group("vars")
            v.attrs["name"] = name
            for i, arr in enumerate(weights.get(name, {}).values()):
                v.create_dataset(str(i), data=arr)
    return path


def zip_keras(path: Path, weights_h5: Path, layers=None) -> Path:
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("metadata.json", json.dumps({"keras_version": "3.5.0"}))
        zf.writestr("config.json", json.dumps(_config(layers or ae_layers())))
        zf.write(weights_h5, "model.weights.h5")
    return path


def make(tmp: Path, name: str, kind: str = "h5", mutate=None, layers=None, weights=None, libver=None) -> Path:
    """A small autoencoder as ``kind`` ("h5" or "keras"), ``mutate(f, path_of_the_dense_kernel)`` applied."""
    if kind == "h5":
        out = write_h5(tmp / f"{name}.h5", layers, weights)
        kpath = f"model_weights/{DENSE_KERNEL}"
        inner = out
    else:
        inner = write_keras3_weights(tmp / f"{name}.weights-inner.h5", layers, weights)
        kpath = "layers/dense/vars/0"
        out = tmp / f"{name}.keras"
    if mutate is not None:
        with h5py.File(inner, "r+", libver=libver) as f:
            mutate(f, kpath)
    if kind == "keras":
        zip_keras(out, inner, layers)
    return out


def replace(f, path, **create):
    del f[path]
    return f.create_dataset(path, **create)


def deflate_zeros(n: int, raw: bool) -> tuple[bytes, int]:
    """A deflate stream of ``n`` zero bytes (raw for zip, zlib-wrapped for HDF5's gzip filter) and its CRC."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15 if raw else 15)
    block, parts, crc = bytes(2**20), [], 0
    for _ in range(n // len(block)):
        parts.append(c.compress(block))
        crc = zlib.crc32(block, crc)
    parts.append(c.flush())
    return b"".join(parts), crc


def zip_by_hand(path: Path, members: list) -> Path:
    """A zip whose headers say what they are told: members = (name, stored bytes, method, crc, declared size)."""
    body, central = b"", b""
    for name, data, method, crc, declared in members:
        n = name.encode()
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0, crc, len(data), declared,
                               len(n), 0, 0, 0, 0, 0, len(body)) + n
        body += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0, crc, len(data), declared, len(n), 0) + n + data
    eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(body), 0)
    path.write_bytes(body + central + eocd)
    return path


# ------------------------------------------------------------------------------------------------
# the helper process: one torch import, a fork per hostile file


DRIVER = textwrap.dedent("""
    import contextlib, io, json, os, resource, signal, sys, time
    sys.path.insert(0, sys.argv[1])
    import h5py, numpy, torch  # noqa: F401 - imported once, before the forks
    import main
    import engine.workflows.import_model, engine.workflows.export_model, engine.formats.keras.reader, engine.formats.onnx.codec  # noqa
    for mod in ("engine.formats.keras.hdf5_safety", "engine.formats.keras.limits"):
        try:
            __import__(mod)
        except ImportError:
            pass

    def vm(key):
        for line in open("/proc/self/status"):
            if line.startswith(key + ":"):
                return int(line.split()[1])

    results = {}
    for name, argv in json.loads(open(sys.argv[2]).read()).items():
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            rss0 = vm("VmRSS")  # the child's own: pages of the parent not yet touched are not counted
            signal.alarm(60)
            cap = vm("VmSize") * 1024 + 2 * 2**30
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
            err = io.StringIO()
            t0 = time.monotonic()
            with contextlib.redirect_stderr(err):
                code = main.run(argv)
            res = {"code": code, "err": err.getvalue(), "seconds": time.monotonic() - t0,
                   "growth_mb": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024}
            os.write(w, json.dumps(res).encode())
            os._exit(0)
        os.close(w)
        chunks = []
        while True:
            b = os.read(r, 65536)
            if not b:
                break
            chunks.append(b)
        os.close(r)
        _, status = os.waitpid(pid, 0)
        results[name] = json.loads(b"".join(chunks)) if chunks else {"code": None, "err": f"killed (status {status})"}
    print(json.dumps(results))
""")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """Every hostile file of this module imported through the CLI: name → result (code, err, growth_mb, seconds)."""
    tmp = tmp_path_factory.mktemp("hostile")
    cases, extra = build_cases(tmp)
    argvs = {name: ["import", "--model-file", str(p), "--out", str(tmp / "out" / name)] for name, p in cases.items()}
    (tmp / "cases.json").write_text(json.dumps(argvs))
    (tmp / "driver.py").write_text(DRIVER)
    env = dict(os.environ, HDF5_PLUGIN_PATH=str(extra["plugins"]), MARK=str(extra["mark"]), OMP_NUM_THREADS="1")
    res = subprocess.run([sys.executable, str(tmp / "driver.py"), str(ROOT), str(tmp / "cases.json")],
                         capture_output=True, text=True, env=env, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    for name in cases:
        out[name]["out"] = tmp / "out" / name
        out[name]["file"] = cases[name]
    out["_extra"] = extra
    return out


def refused(hostile, name, pattern):
    """The case ``name`` was refused with exit 2 and one line matching ``pattern`` that names the file, wrote
    nothing, and stayed small and quick."""
    import re

    r = hostile[name]
    err = r["err"].strip()
    assert r["code"] == 2, f"{name}: exit {r['code']}, stderr {err[-500:]!r}"
    assert err.startswith("error: ") and "\n" not in err, f"{name}: {err!r}"
    assert "Traceback" not in err
    assert re.search(pattern, err), f"{name}: {err!r} does not match {pattern!r}"
    assert Path(r["file"]).name.split(".")[0] in err, f"{name}: the message does not name the file: {err!r}"
    out = r["out"]
    assert not out.exists() or not any(out.iterdir()), f"{name}: something was written to --out"
    assert r["growth_mb"] < MAX_REFUSAL_GROWTH_MB, f"{name}: peak memory grew by {r['growth_mb']:.0f} MB"
    assert r["seconds"] < MAX_REFUSAL_SECONDS, f"{name}: took {r['seconds']:.1f} s"
    return err


def build_cases(tmp: Path):
    cases, extra = {}, {}
    cases["control_h5"] = make(tmp, "control_h5")
    cases["control_keras"] = make(tmp, "control_keras", "keras")
    kernel = ae_weights()["dense"]["kernel"]
    secret = tmp / "secret.txt"
    secret.write_bytes((b"TOP SECRET of another user " * 300)[: kernel.nbytes])
    extra["secret"] = secret
    fifo = tmp / "fifo"
    os.mkfifo(fifo)
    for label, target in (("secret", secret), ("devzero", Path("/dev/zero")), ("fifo", fifo)):
        for kind in ("h5", "keras") if label == "secret" else ("h5",):
            cases[f"external_{label}_{kind}"] = make(
                tmp, f"external_{label}_{kind}", kind,
                lambda f, p, t=target: replace(f, p, shape=kernel.shape, dtype="f4", external=[(str(t), 0, kernel.nbytes)]))
    other = tmp / "other_user.h5"
    with h5py.File(other, "w") as f:
        f["secret"] = np.full(kernel.shape, 7.0, np.float32)
    for kind in ("h5", "keras"):
        def extlink(f, p):
            del f[p]
            f[p] = h5py.ExternalLink(str(other), "/secret")
        cases[f"extlink_{kind}"] = make(tmp, f"extlink_{kind}", kind, extlink)

    def virtual(f, p):
        lay = h5py.VirtualLayout(shape=kernel.shape, dtype="f4")
        lay[:] = h5py.VirtualSource(str(other), "secret", shape=kernel.shape)
        del f[p]
        f.create_virtual_dataset(p, lay)
    cases["virtual_h5"] = make(tmp, "virtual_h5", "h5", virtual)

    def softlink(f, p):
        f.move(p, "model_weights/kernel_elsewhere")
        f[p] = h5py.SoftLink("/model_weights/kernel_elsewhere")
    cases["softlink_h5"] = make(tmp, "softlink_h5", "h5", softlink)
    cases["reference_attr_h5"] = make(tmp, "reference_attr_h5", "h5",
                                      lambda f, p: f["model_weights"].attrs.__setitem__("r", f["model_weights"].ref))
    cases["region_ref_h5"] = make(tmp, "region_ref_h5", "h5", lambda f, p: f.create_dataset(
        "refs", data=[f[p].regionref[0:1]], dtype=h5py.regionref_dtype))
    cases["strings_h5"] = make(tmp, "strings_h5", "h5", lambda f, p: replace(
        f, p, data=np.array(["x"] * kernel.size, dtype=object).reshape(kernel.shape), dtype=h5py.string_dtype()))
    cases["compound_h5"] = make(tmp, "compound_h5", "h5", lambda f, p: replace(
        f, p, shape=kernel.shape, dtype=np.dtype([("a", "f4"), ("b", "f4")])))

    cases["huge_attribute_h5"] = make(tmp, "huge_attribute_h5", "h5", lambda f, p: f.create_group("notes").attrs.create(
        "blob", np.zeros(17 * 2**20, np.uint8)), libver="latest")
    _size_cases(tmp, cases, extra, kernel)
    return cases, extra


def _size_cases(tmp: Path, cases: dict, extra: dict, kernel: np.ndarray) -> None:
    """Filters, declared sizes, zip bombs and sizes beyond the app's limits."""
    # filters: a plugin (code) and a filter read by no bounded code here
    mark = tmp / "plugin-was-loaded"
    plugins = tmp / "plugins"
    plugins.mkdir()
    extra.update(mark=mark, plugins=plugins, plugin_built=_build_plugin(plugins))

    def plugin_filter(f, p):
        ds = replace(f, p, shape=kernel.shape, dtype="f4", chunks=kernel.shape, compression=32099,
                     allow_unknown_filter=True)
        ds.id.write_direct_chunk((0, 0), kernel.tobytes(), filter_mask=0)
    cases["plugin_filter_h5"] = make(tmp, "plugin_filter_h5", "h5", plugin_filter)
    cases["lzf_filter_h5"] = make(tmp, "lzf_filter_h5", "h5", lambda f, p: replace(
        f, p, data=kernel, chunks=kernel.shape, compression="lzf"))
    # sizes declared before bytes: a kernel of 20000×20000; a gzip chunk that inflates to 256 MB
    cases["oversize_kernel_h5"] = make(tmp, "oversize_kernel_h5", "h5", lambda f, p: replace(
        f, p, shape=(20000, 20000), dtype="f4", chunks=(1000, 1000), compression="gzip"))
    bomb, _ = deflate_zeros(BOMB_BYTES, raw=False)

    def chunk_bomb(f, p):
        ds = replace(f, p, shape=kernel.shape, dtype="f4", chunks=kernel.shape, compression="gzip")
        ds.id.write_direct_chunk((0, 0), bomb, filter_mask=0)
    cases["gzip_chunk_bomb_h5"] = make(tmp, "gzip_chunk_bomb_h5", "h5", chunk_bomb)
    cases["gzip_ok_h5"] = make(tmp, "gzip_ok_h5", "h5", lambda f, p: replace(
        f, p, data=kernel, chunks=(64, 3), compression="gzip", shuffle=True, fletcher32=True))
    # zip bombs: honest header (256 MB declared from 256 KB), lying header (4 KB declared, 256 MB inside)
    zbomb, zcrc = deflate_zeros(BOMB_BYTES, raw=True)
    cfg = json.dumps(_config(ae_layers())).encode()
    cases["zip_bomb_honest_keras"] = zip_by_hand(tmp / "zip_bomb_honest.keras", [
        ("config.json", cfg, 0, zlib.crc32(cfg), len(cfg)), ("model.weights.h5", zbomb, 8, zcrc, BOMB_BYTES)])
    cases["zip_bomb_lying_keras"] = zip_by_hand(tmp / "zip_bomb_lying.keras", [
        ("config.json", cfg, 0, zlib.crc32(cfg), len(cfg)), ("model.weights.h5", zbomb, 8, zcrc, 4096)])
    # a zip directory bomb: 120,000 empty members (zipfile would parse every entry before the count is known)
    with zipfile.ZipFile(tmp / "many_members.keras", "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr("config.json", cfg)
        for i in range(120_000):
            z.writestr(f"m{i}", b"")
    cases["many_members_keras"] = tmp / "many_members.keras"
    # sizes beyond the app's limits, from the config alone (the files hold no weights for them)
    for side in (8192, 16384):
        layers = ae_layers(side, fully_conv=True)
        cases[f"input_{side}_h5"] = write_h5(tmp / f"input_{side}.h5", layers, ae_weights(fully_conv=True))
    big = [("InputLayer", "input", {"batch_shape": [None, 16, 16, 3]}), ("Flatten", "flatten", {}),
           ("Dense", "dense", {"units": 20000}), ("Dense", "dense_1", {"units": 20000}), ("Dense", "dense_2", {"units": 768}),
           ("Reshape", "reshape", {"target_shape": [16, 16, 3]})]
    cases["parameters_h5"] = write_h5(tmp / "parameters.h5", big, {})
    macs = [("InputLayer", "input", {"batch_shape": [None, 512, 512, 3]}),
            ("Conv2D", "conv2d", {"filters": 128, "kernel_size": 31, "padding": "same"}), ("Flatten", "flatten", {}),
            ("Dense", "dense", {"units": 8}), ("Dense", "dense_1", {"units": 512 * 512 * 3}),
            ("Reshape", "reshape", {"target_shape": [512, 512, 3]})]
    cases["multiply_adds_h5"] = write_h5(tmp / "multiply_adds.h5", macs, {})
    wide = [("InputLayer", "input", {"batch_shape": [None, 16, 16, 3]}),
            ("Conv2DTranspose", "up", {"filters": 8, "kernel_size": 3, "strides": 200, "padding": "same"}),
            ("Flatten", "flatten", {}), ("Dense", "dense", {"units": 8}), ("Dense", "dense_1", {"units": 768}),
            ("Reshape", "reshape", {"target_shape": [16, 16, 3]})]
    cases["activations_h5"] = write_h5(tmp / "activations.h5", wide, {})
    zwide = [("InputLayer", "input", {"batch_shape": [None, 16, 16, 3]}),
             ("Conv2D", "conv2d", {"filters": 36, "kernel_size": 3, "padding": "same"}), ("Flatten", "flatten", {}),
             ("Reshape", "reshape", {"target_shape": [16, 16, 36]}),
             ("Conv2D", "conv2d_1", {"filters": 3, "kernel_size": 3, "padding": "same"})]
    cases["z_dim_h5"] = write_h5(tmp / "z_dim.h5", zwide, {})


def _build_plugin(folder: Path) -> bool:
    """A filter 'plugin' whose loading (running its constructor) leaves a mark; False without a C compiler."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        return False
    src = folder / "plug.c"
    src.write_text('#include <stdio.h>\n#include <stdlib.h>\n'
                   '__attribute__((constructor)) static void mark(void) { const char *p = getenv("MARK");\n'
                   '  FILE *f = p ? fopen(p, "w") : 0; if (f) { fputs("loaded", f); fclose(f); } }\n'
                   'int H5PLget_plugin_type(void) { return 0; }\nconst void *H5PLget_plugin_info(void) { return 0; }\n')
    res = subprocess.run([cc, "-shared", "-fPIC", "-o", str(folder / "libh5fake.so"), str(src)], capture_output=True)
    src.unlink()
    return res.returncode == 0


# ------------------------------------------------------------------------------------------------
# the tests: one per class of fault


def test_the_crafted_files_are_valid_models_apart_from_their_fault(hostile):
    """The control files (written like the hostile ones, without the fault) import: the refusals below are the
    fault's, not the crafting's. A gzip + shuffle + fletcher32 chunked kernel is read by the bounded reader."""
    for name in ("control_h5", "control_keras", "gzip_ok_h5"):
        r = hostile[name]
        assert r["code"] == 0, f"{name}: {r['err']}"
        assert (r["out"] / "decoder.onnx").is_file()


@pytest.mark.parametrize("case", ["external_secret_h5", "external_secret_keras", "external_devzero_h5",
                                  "external_fifo_h5"])
def test_a_dataset_stored_in_another_file_is_refused_before_reading(hostile, case):
    """External storage (``ds.external``): was copied byte for byte into decoder.onnx (a local text file),
    accepted (/dev/zero), or hung for ever (a FIFO)."""
    err = refused(hostile, case, r"dataset .*dense.* keeps its bytes in another file .*external storage")
    assert "error: " in err
    secret = hostile["_extra"]["secret"].read_bytes()[:20]
    for r in hostile.values():
        if isinstance(r, dict) and "out" in r and r["out"].exists():
            for f in r["out"].iterdir():
                assert secret not in f.read_bytes()


@pytest.mark.parametrize("case", ["extlink_h5", "extlink_keras"])
def test_a_link_to_another_file_is_never_followed(hostile, case):
    refused(hostile, case, r"dense.* is a link to another file \(ExternalLink\); links are never followed")


def test_a_virtual_dataset_assembled_from_other_files_is_refused(hostile):
    refused(hostile, "virtual_h5", r"dataset .*dense.* is a virtual dataset assembled from other files")


def test_soft_links_are_never_followed(hostile):
    refused(hostile, "softlink_h5", r"dense.* is a soft link; links are never followed")


@pytest.mark.parametrize("case,pattern", [
    ("reference_attr_h5", r"attribute 'r' holds references"),
    ("region_ref_h5", r"dataset /refs is not an array of plain numbers"),
    ("strings_h5", r"dataset .*kernel:0 is not an array of plain numbers"),
    ("compound_h5", r"dataset .*kernel:0 is not an array of plain numbers"),
])
def test_references_and_non_numeric_data_are_refused(hostile, case, pattern):
    refused(hostile, case, pattern)


def test_a_huge_attribute_is_refused_before_it_is_read(hostile):
    refused(hostile, "huge_attribute_h5", r"attribute 'blob' declares 17,825,792 bytes; at most 16 MB")


@pytest.mark.parametrize("case,pattern", [
    ("plugin_filter_h5", r"needs the HDF5 filter 32099 .*filter plugins are never loaded"),
    ("lzf_filter_h5", r"needs the HDF5 filter 32000 \(lzf\); only gzip, shuffle and fletcher32 are read"),
])
def test_filters_outside_the_bounded_readers_are_refused_and_no_plugin_is_loaded(hostile, case, pattern):
    refused(hostile, case, pattern)
    if hostile["_extra"]["plugin_built"]:
        assert not hostile["_extra"]["mark"].exists(), "an HDF5 filter plugin from HDF5_PLUGIN_PATH was loaded (ran code)"


def test_a_declared_shape_beyond_the_config_is_refused_before_reading(hostile):
    """A 20000×20000 kernel (1.6 GB declared, a few KB in the file) where the config says 256×6: was read whole
    (and widened to float64: 6.5 GB)."""
    refused(hostile, "oversize_kernel_h5", r"weight dense/kernel has shape \[20000, 20000\]; its layer's config needs \[256, 6\]")


def test_a_gzip_chunk_that_inflates_beyond_its_size_is_stopped(hostile):
    refused(hostile, "gzip_chunk_bomb_h5", r"dense/kernel: a compressed chunk inflates to more than its 6,144 bytes")


def test_a_zip_bomb_with_an_honest_header_is_refused_before_inflating(hostile):
    refused(hostile, "zip_bomb_honest_keras", r"model.weights.h5 would inflate [\d,]+ bytes to 134,217,728 .*zip bomb")


def test_a_zip_bomb_with_a_lying_header_is_stopped_at_the_declared_size(hostile):
    """Python's zipfile stops at the declared size itself (then the CRC differs); the reader caps it as well."""
    refused(hostile, "zip_bomb_lying_keras", r"model.weights.h5 inflates to more than the 4,096 bytes its header "
                                             r"declares|truncated or damaged .keras file \(Bad CRC-32 for file 'model.weights.h5'\)")


def test_a_zip_directory_of_countless_members_is_refused_from_its_end_record(hostile):
    """120,000 empty members in 10 MB: zipfile parsed them all (about 80 MB) before the member count was checked."""
    refused(hostile, "many_members_keras", r"its zip directory declares [\d,]+ members .*a .keras file holds a few")


@pytest.mark.parametrize("side", [8192, 16384])
def test_an_input_beyond_the_apps_image_size_is_refused_from_the_config(hostile, side):
    """A fully convolutional model whose input claims side×side (weights as for 16×16): ran past 120 s (16384),
    used 6.6 GB and wrote a model that `info` then refused (8192)."""
    refused(hostile, f"input_{side}_h5", rf"the model takes {side}×{side} images; at most 512×512 are supported")


@pytest.mark.parametrize("case,pattern", [
    ("parameters_h5", r"the network would have 415,400,000 parameters \(at layer 'dense_1'\); at most 250,000,000"),
    ("multiply_adds_h5", r"G multiply-adds per image .*at most 10 G"),
    ("activations_h5", r"MB of activations per image .*at most 256 MB"),
    ("z_dim_h5", r"the encoder gives z-vectors of 9216 values; at most 8192"),
])
def test_a_network_beyond_the_apps_limits_is_refused_before_its_weights_are_read(hostile, case, pattern):
    """The files hold no weights at all: the refusal comes from the config, before any weight is looked for."""
    refused(hostile, case, pattern)


def test_weights_are_read_once_as_float32_never_widened(tmp_path):
    """A 4 M-value float32 kernel (16 MB) is read with about its own size of memory (was: a float64 copy, an
    abs() copy and a float32 copy, 5× its size)."""
    import tracemalloc

    from engine.formats.keras.reader import read_keras

    n = 2**22 // 256
    layers = [("InputLayer", "input", {"batch_shape": [None, 16, 16, 1]}), ("Flatten", "flatten", {}),
              ("Dense", "dense", {"units": n, "use_bias": False})]
    weights = {"dense": {"kernel": np.random.default_rng(0).normal(0, 0.1, (256, n)).astype(np.float32)}}
    path = write_h5(tmp_path / "wide.h5", layers, weights)
    del weights
    tracemalloc.start()
    try:
        m = read_keras(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    k = m.layers[-1].weights["kernel"]
    assert k.dtype == np.float32 and k.shape == (256, n)
    assert peak < 1.5 * k.nbytes, f"reading a {k.nbytes / 2**20:.0f} MB kernel peaked at {peak / 2**20:.0f} MB"



def test_the_walk_of_a_file_is_bounded_and_ends_on_cycles(tmp_path, monkeypatch):
    """Hard links that form a cycle are walked once; more objects than a model file holds are refused (here with
    the cap lowered to 50, the real one being 100,000)."""
    from engine.formats.keras import hdf5_safety
    from engine.errors import ModelFileError

    path = make(tmp_path, "cycle", "h5", lambda f, p: f["model_weights"].__setitem__("loop", f["model_weights"]))
    with open(path, "rb") as fh, hdf5_safety.open_hdf5(fh, path.stat().st_size, str(path)):
        pass  # the cycle model_weights/loop → model_weights ends
    many = make(tmp_path, "many", "h5", lambda f, p: [f.create_group(f"g{i}") for i in range(60)])
    monkeypatch.setattr(hdf5_safety, "MAX_OBJECTS", 50)
    with open(many, "rb") as fh, pytest.raises(ModelFileError, match="(holds 61|more than 50) objects; a model file holds far fewer"):
        hdf5_safety.open_hdf5(fh, many.stat().st_size, str(many))
