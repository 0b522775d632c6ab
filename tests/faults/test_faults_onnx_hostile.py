"""Hostile ONNX graphs (issue 22): every graph a user hands us — to ``import`` or as a model folder for ``info``, the
GUI's open, … — is read from its own bytes, bounded (structure, memory at the declared input size) before ONNX
Runtime loads it, and every probe run is watched (time budget, cancel). Each test is one class of fault; the graphs
are built here with ``onnx.helper``. Real processes run under ``prlimit --as`` so that a regression fails the test
instead of the machine; their peak memory is read by a wrapper (``VmHWM`` of the child itself: ``ru_maxrss`` would carry the parent's peak over a vfork + exec).
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")
from onnx import TensorProto as T  # noqa: E402
from onnx import helper as h  # noqa: E402

from engine.errors import Cancelled, ModelFileError  # noqa: E402

from faults_support import ROOT  # noqa: E402

#: A process that imports or opens a hostile graph gets this much address space (the app itself needs ~1.5 GB
#: of mappings with torch and onnxruntime loaded).
AS_LIMIT = 4_000_000_000

_WRAP = r"""
import atexit, os, runpy, sys
out = sys.argv[1]
def _peak_mb():  # VmHWM belongs to this process's own memory; ru_maxrss keeps the parent's across a vfork + exec
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return -1
atexit.register(lambda: open(out, "w").write(str(_peak_mb())))
sys.argv = [os.path.join(sys.argv[2], "main.py")] + sys.argv[3:]
sys.path.insert(0, sys.argv[0].rsplit("/", 1)[0])
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def _cli(tmp_path, *argv, timeout=60, env=None):
    """``python main.py ARGV`` under prlimit: (exit status, stdout, stderr, seconds, peak RSS in MB)."""
    rss = tmp_path / f"rss-{time.monotonic_ns()}.txt"
    cmd = ["prlimit", f"--as={AS_LIMIT}", sys.executable, "-c", _WRAP, str(rss), str(ROOT), *map(str, argv)]
    t0 = time.monotonic()
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=tmp_path,
                             env={**os.environ, **(env or {})})
    except subprocess.TimeoutExpired:
        pytest.fail(f"`{' '.join(map(str, argv))}` still ran after {timeout} s (unbounded)")
    peak = int(rss.read_text()) if rss.exists() else -1
    return res.returncode, res.stdout, res.stderr, time.monotonic() - t0, peak


def _refused_cli(tmp_path, argv, match, *, max_s=20.0, max_rss_mb=None, env=None):
    code, out, err, secs, peak = _cli(tmp_path, *argv, env=env)
    lines = err.strip().splitlines()
    assert code == 2, (code, err[-2000:])
    assert len(lines) == 1 and lines[0].startswith("error: "), err[-2000:]  # no ORT log line, no traceback
    assert match in lines[0], lines[0]
    assert secs < max_s, f"took {secs:.1f} s"
    if max_rss_mb is not None:
        assert 0 < peak < max_rss_mb, f"peak RSS {peak} MB"
    return lines[0]


def _import_argv(tmp_path, enc, dec):
    (tmp_path / "e.onnx").write_bytes(enc)
    (tmp_path / "d.onnx").write_bytes(dec)
    return ["import", "--encoder", tmp_path / "e.onnx", "--decoder", tmp_path / "d.onnx", "--out", tmp_path / "out"]


def _nothing_written(tmp_path):
    out = tmp_path / "out"
    assert not out.exists() or not [p for p in out.iterdir() if not p.name.startswith(".")], list(out.iterdir())


# ------------------------------------------------------------------------------------------------
# graphs


def _model(nodes, inputs, outputs, inits=(), functions=(), sparse=()):
    g = h.make_graph(nodes, "g", inputs, outputs, initializer=list(inits), sparse_initializer=list(sparse))
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17), h.make_opsetid("local", 1)], functions=list(functions))
    m.ir_version = 8
    return m.SerializeToString()


def _init(name, arr):
    return onnx.numpy_helper.from_array(np.asarray(arr), name)


def encoder(size=16, z=4, hostile=(), extra_inits=(), hostile_out=None, functions=(), sparse=(), channels=3, name="x"):
    """x [N,3,S,S] → mean over the pixels [N,3] → MatMul → z [N,z]; ``hostile`` nodes run beside it and their scalar
    ``hostile_out`` is added (× 0) to z, so that the graph still gives the right z."""
    nodes = [h.make_node("ReduceMean", [name], ["m"], axes=[2, 3], keepdims=0),
             h.make_node("MatMul", ["m", "W"], ["z0"])]
    inits = [_init("W", np.random.default_rng(0).normal(size=(channels, z)).astype(np.float32)), *extra_inits]
    if hostile_out:
        nodes += list(hostile) + [h.make_node("ReduceSum", [hostile_out], ["hs"], keepdims=0),
                                  h.make_node("Mul", ["hs", "zero"], ["h0"]), h.make_node("Add", ["z0", "h0"], ["z"])]
        inits.append(_init("zero", np.float32(0)))
    else:
        nodes += list(hostile) + [h.make_node("Identity", ["z0"], ["z"])]
    return _model(nodes, [h.make_tensor_value_info(name, T.FLOAT, ["N", channels, size, size])],
                  [h.make_tensor_value_info("z", T.FLOAT, ["N", z])], inits, functions, sparse)


def decoder(size=16, z=4):
    """z [N,z] → MatMul → reshape [N,3,S,S] → Sigmoid."""
    w = np.random.default_rng(1).normal(0, 0.1, (z, 3 * size * size)).astype(np.float32)
    nodes = [h.make_node("MatMul", ["z", "W"], ["f"]), h.make_node("Reshape", ["f", "shape"], ["r"]),
             h.make_node("Sigmoid", ["r"], ["y"])]
    return _model(nodes, [h.make_tensor_value_info("z", T.FLOAT, ["N", z])],
                  [h.make_tensor_value_info("y", T.FLOAT, ["N", 3, size, size])],
                  [_init("W", w), _init("shape", np.array([-1, 3, size, size], np.int64))])


def _external(name, dims=(4,)):
    """A tensor whose data would be read from /etc/passwd."""
    t = T(name=name, data_type=T.FLOAT, dims=list(dims), data_location=T.EXTERNAL)
    for key, value in (("location", "/etc/passwd"), ("offset", "0"), ("length", "16")):
        entry = t.external_data.add()
        entry.key, entry.value = key, value
    return t


def _loop(trip):
    body = h.make_graph([h.make_node("Add", ["v_in", "one"], ["v_out"]), h.make_node("Identity", ["c_in"], ["c_out"])],
                        "body", [h.make_tensor_value_info("i", T.INT64, []), h.make_tensor_value_info("c_in", T.BOOL, []),
                                 h.make_tensor_value_info("v_in", T.FLOAT, [1])],
                        [h.make_tensor_value_info("c_out", T.BOOL, []), h.make_tensor_value_info("v_out", T.FLOAT, [1])],
                        initializer=[_init("one", np.ones(1, np.float32))])
    nodes = [h.make_node("Loop", ["trip", "cond", "v0"], ["vf"], body=body)]
    inits = [_init("trip", np.int64(trip)), _init("cond", np.bool_(True)), _init("v0", np.zeros(1, np.float32))]
    return nodes, inits


def good_pair(size=16, z=4):
    return encoder(size, z), decoder(size, z)


# ------------------------------------------------------------------------------------------------
# 1. external data, wherever it hides


def _external_placements():
    """(label, encoder bytes): a tensor with data_location EXTERNAL in each place a graph can hold one."""
    ext_if = h.make_graph([h.make_node("Identity", ["e"], ["o"])], "then", [],
                          [h.make_tensor_value_info("o", T.FLOAT, [4])], initializer=[_external("e")])
    els = h.make_graph([h.make_node("Constant", [], ["o2"], value=_init("c", np.zeros(4, np.float32)))], "else", [],
                       [h.make_tensor_value_info("o2", T.FLOAT, [4])])
    if_node = [h.make_node("Constant", [], ["p"], value=_init("pv", np.bool_(True))),
               h.make_node("If", ["p"], ["ho"], then_branch=ext_if, else_branch=els)]
    const_in_body = h.make_graph([h.make_node("Constant", [], ["o"], value=_external("k"))], "then", [],
                                 [h.make_tensor_value_info("o", T.FLOAT, [4])])
    if_const = [if_node[0], h.make_node("If", ["p"], ["ho"], then_branch=const_in_body, else_branch=els)]
    sparse = h.make_sparse_tensor(_external("sv", (2,)), _init("si", np.array([0, 1], np.int64)), [4])
    fn = h.make_function("local", "Leak", [], ["o"], [h.make_node("Constant", [], ["o"], value=_external("f"))],
                         [h.make_opsetid("", 17)])
    return [
        ("initializer", encoder(extra_inits=[_external("ext")], hostile=[h.make_node("Identity", ["ext"], ["ho"])],
                                hostile_out="ho")),
        ("initializer inside an If branch", encoder(hostile=if_node, hostile_out="ho")),
        ("Constant attribute inside an If branch", encoder(hostile=if_const, hostile_out="ho")),
        ("Constant attribute in the main graph", encoder(hostile=[h.make_node("Constant", [], ["ho"], value=_external("k"))],
                                                         hostile_out="ho")),
        ("sparse initializer", encoder(sparse=[sparse], hostile=[h.make_node("Identity", ["sv"], ["ho"])],
                                       hostile_out="ho")),
        ("model-local function", encoder(functions=[fn], hostile=[h.make_node("Leak", [], ["ho"], domain="local")],
                                         hostile_out="ho")),
    ]


def test_external_data_is_refused_wherever_it_hides(tmp_path):
    """Initializers, If bodies, Constant attributes, sparse initializers, functions: never read from another file."""
    from engine.workflows.import_model import import_model

    dec = decoder()
    for label, enc in _external_placements():
        folder = tmp_path / label.replace(" ", "-")
        folder.mkdir()
        (folder / "e.onnx").write_bytes(enc)
        (folder / "d.onnx").write_bytes(dec)
        with pytest.raises(ModelFileError) as info:
            import_model(folder / "e.onnx", folder / "d.onnx", folder / "out")
        text = str(info.value)
        assert "\n" not in text and "external file" in text and "e.onnx" in text, (label, text)
        assert not (folder / "out").exists() or not any((folder / "out").iterdir()), label


# ------------------------------------------------------------------------------------------------
# 2. unbounded control flow and oversized structure


def test_loop_with_a_huge_trip_count_is_refused_at_once_by_import(tmp_path):
    """A Loop of 10^15 iterations made `import` spin until killed; it is refused before anything runs."""
    nodes, inits = _loop(10**15)
    enc = encoder(hostile=nodes, extra_inits=inits, hostile_out="vf")
    line = _refused_cli(tmp_path, _import_argv(tmp_path, enc, decoder()), "control flow", max_s=15)
    assert "e.onnx" in line and "Loop" in line
    _nothing_written(tmp_path)


def test_oversized_nested_or_recursive_graphs_are_refused_before_they_run(tmp_path):
    """More nodes than MAX_NODES, subgraphs nested beyond MAX_DEPTH, a function that calls itself, and the other
    control flow operators (If, Scan): refused from the bytes alone, in well under a second each."""
    from engine.formats.onnx import safety as onnx_safety
    from engine.workflows.import_model import import_model

    chain = [h.make_node("Identity", [f"t{i}"], [f"t{i + 1}"]) for i in range(onnx_safety.MAX_NODES + 1)]
    many = encoder(hostile=[h.make_node("ReduceMean", ["x"], ["t0"], keepdims=0)] + chain,
                   hostile_out=f"t{onnx_safety.MAX_NODES + 1}")
    inner = h.make_graph([h.make_node("Constant", [], ["o"], value=_init("c", np.zeros(1, np.float32)))], "leaf", [],
                         [h.make_tensor_value_info("o", T.FLOAT, [1])])
    for _ in range(onnx_safety.MAX_DEPTH + 1):
        inner = h.make_graph([h.make_node("If", ["p"], ["o"], then_branch=inner, else_branch=inner)], "lvl", [],
                             [h.make_tensor_value_info("o", T.FLOAT, [1])])
    deep = encoder(hostile=[h.make_node("Constant", [], ["p"], value=_init("pv", np.bool_(True))),
                            h.make_node("If", ["p"], ["ho"], then_branch=inner, else_branch=inner)], hostile_out="ho")
    rec = h.make_function("local", "Again", ["a"], ["b"], [h.make_node("Again", ["a"], ["b"], domain="local")],
                          [h.make_opsetid("", 17), h.make_opsetid("local", 1)])
    recursive = encoder(functions=[rec], hostile=[h.make_node("Again", ["m"], ["ho"], domain="local")], hostile_out="ho")
    scan_body = h.make_graph([h.make_node("Add", ["s_in", "e"], ["s_out"]), h.make_node("Identity", ["s_out"], ["e_out"])],
                             "body", [h.make_tensor_value_info("s_in", T.FLOAT, [3]), h.make_tensor_value_info("e", T.FLOAT, [3])],
                             [h.make_tensor_value_info("s_out", T.FLOAT, [3]), h.make_tensor_value_info("e_out", T.FLOAT, [3])])
    scan = encoder(hostile=[h.make_node("Scan", ["s0", "m"], ["sf", "ys"], body=scan_body, num_scan_inputs=1)],
                   extra_inits=[_init("s0", np.zeros(3, np.float32))], hostile_out="sf")
    dec = decoder()
    (tmp_path / "d.onnx").write_bytes(dec)
    for label, enc, match in [("many nodes", many, "nodes"), ("deep", deep, f"more than {onnx_safety.MAX_DEPTH} deep"),
                              ("recursive", recursive, "calls itself"), ("scan", scan, "control flow")]:
        (tmp_path / "e.onnx").write_bytes(enc)
        t0 = time.monotonic()
        with pytest.raises(ModelFileError, match=match) as info:
            import_model(tmp_path / "e.onnx", tmp_path / "d.onnx", tmp_path / label)
        assert time.monotonic() - t0 < 5, label
        assert "\n" not in str(info.value) and "e.onnx" in str(info.value)
        assert not (tmp_path / label).exists() or not any((tmp_path / label).iterdir()), label


# ------------------------------------------------------------------------------------------------
# 3. sizes and memory, checked before anything runs


def test_image_size_beyond_the_app_limits_is_refused_before_anything_runs(tmp_path):
    """A pair declaring 5000×5000 images was imported (1.6 GB) into a folder that `info` then refused."""
    s, z = 5000, 4
    enc = encoder(size=s, z=z)
    nodes = [h.make_node("ReduceMean", ["z"], ["m"], axes=[1], keepdims=1),
             h.make_node("Reshape", ["m", "one4"], ["r"]), h.make_node("Shape", ["z"], ["zs"]),
             h.make_node("Slice", ["zs", "i0", "i1"], ["n"]), h.make_node("Concat", ["n", "chw"], ["full"], axis=0),
             h.make_node("Expand", ["r", "full"], ["e"]), h.make_node("Sigmoid", ["e"], ["y"])]
    dec = _model(nodes, [h.make_tensor_value_info("z", T.FLOAT, ["N", z])],
                 [h.make_tensor_value_info("y", T.FLOAT, ["N", 3, s, s])],
                 [_init("one4", np.array([-1, 1, 1, 1], np.int64)), _init("i0", np.array([0], np.int64)),
                  _init("i1", np.array([1], np.int64)), _init("chw", np.array([3, s, s], np.int64))])
    line = _refused_cli(tmp_path, _import_argv(tmp_path, enc, dec), "5000×5000", max_s=15, max_rss_mb=900)
    assert "at most 512×512" in line
    _nothing_written(tmp_path)


def test_a_graph_allocating_gigabytes_per_call_is_refused_by_its_shapes(tmp_path):
    """An Expand to [N,3,64,64,20000] (1 GB an image) in an encoder that still gives the right z: imported
    without a word before (2 GB on the probe); now refused from the inferred shapes, nothing allocated."""
    s = 64
    nodes = [h.make_node("Unsqueeze", ["x", "ax"], ["x5"]), h.make_node("Expand", ["x5", "big"], ["e"])]
    enc = encoder(size=s, hostile=nodes, hostile_out="e",
                  extra_inits=[_init("ax", np.array([4], np.int64)), _init("big", np.array([1, 1, 1, 1, 20000], np.int64))])
    line = _refused_cli(tmp_path, _import_argv(tmp_path, enc, decoder(size=s)), "MB an image", max_s=15,
                        max_rss_mb=900)
    assert "e.onnx" in line and "budget" in line
    _nothing_written(tmp_path)


def test_a_tensor_whose_size_depends_on_the_data_is_refused(tmp_path):
    """A Range whose limit is computed from the pixels (10^8 · max(x) floats, 1.5 GB on the probe batch): its size is
    unknown until it runs, so it cannot be bounded — refused (was: allocated, then imported)."""
    nodes = [h.make_node("ReduceMax", ["x"], ["mx"], keepdims=0), h.make_node("Mul", ["mx", "scale"], ["lim"]),
             h.make_node("Range", ["zero_f", "lim", "one_f"], ["rg"])]
    enc = encoder(hostile=nodes, hostile_out="rg", extra_inits=[
        _init("scale", np.float32(3.75e8)), _init("zero_f", np.float32(0)), _init("one_f", np.float32(1))])
    line = _refused_cli(tmp_path, _import_argv(tmp_path, enc, decoder()), "depends on the data", max_s=15,
                        max_rss_mb=900)
    assert "Range" in line
    _nothing_written(tmp_path)


# ------------------------------------------------------------------------------------------------
# 4. time: a graph within every static bound that computes for minutes


def _slow_encoder(size=64, width=192, layers=24):
    """Conv 7×7 layers of ``width`` channels at 64×64: ~18 GFLOP a layer for a probe batch, ~8 MB of activations each
    (within the memory budget), minutes in all on two cores."""
    rng = np.random.default_rng(3)
    nodes = [h.make_node("Conv", ["x", "W0"], ["a0"], pads=[3, 3, 3, 3])]
    for i in range(layers):
        nodes.append(h.make_node("Conv", [f"a{i}", "Wk"], [f"a{i + 1}"], pads=[3, 3, 3, 3]))
    nodes += [h.make_node("ReduceMean", [f"a{layers}"], ["m"], axes=[2, 3], keepdims=0),
              h.make_node("MatMul", ["m", "Wz"], ["z"])]
    inits = [_init("W0", rng.normal(0, 0.1, (width, 3, 7, 7)).astype(np.float32)),
             _init("Wk", rng.normal(0, 0.01, (width, width, 7, 7)).astype(np.float32)),
             _init("Wz", rng.normal(0, 0.1, (width, 4)).astype(np.float32))]
    return _model(nodes, [h.make_tensor_value_info("x", T.FLOAT, ["N", 3, size, size])],
                  [h.make_tensor_value_info("z", T.FLOAT, ["N", 4])], inits)


def test_a_graph_running_past_the_time_budget_is_stopped_and_refused(tmp_path):
    """The probe's runs are watched: past LFS_ONNX_RUN_SECONDS (2 s here) ONNX Runtime is terminated and the import
    refused in one line (ONNX Runtime's own "[E:onnxruntime:…] terminate flag" log line is silenced)."""
    argv = _import_argv(tmp_path, _slow_encoder(), decoder(size=64))
    line = _refused_cli(tmp_path, argv, "2 s budget", max_s=20, env={"LFS_ONNX_RUN_SECONDS": "2"})
    assert "took longer" in line
    _nothing_written(tmp_path)


def test_a_probe_run_is_stopped_past_its_memory_cap():
    """The backstop behind the static bound: a probe run is watched for the process's memory too. A graph whose
    size the shape check could not see (here its session is made directly, past the gate) is terminated once the
    resident memory grew beyond the cap (50 MB here; ``probe_memory_cap`` for a real probe)."""
    import onnxruntime as ort

    from engine.formats.onnx import safety as onnx_safety

    nodes = [h.make_node("Cast", ["n"], ["ni"], to=T.INT64),
             h.make_node("ConstantOfShape", ["ni"], ["b0"], value=h.make_tensor("v", T.FLOAT, [1], [1.0]))]
    nodes += [h.make_node("Neg", [f"b{i}"], [f"b{i + 1}"]) for i in range(60)]
    nodes.append(h.make_node("ReduceSum", ["b60"], ["s"], keepdims=0))
    data = _model(nodes, [h.make_tensor_value_info("n", T.FLOAT, [1])], [h.make_tensor_value_info("s", T.FLOAT, [])])
    sess = ort.InferenceSession(data, onnx_safety.session_options(ort), providers=["CPUExecutionProvider"])
    t0 = time.monotonic()
    with pytest.raises(ModelFileError, match="more than 50 MB of memory"):
        onnx_safety.guarded_run(sess, {"n": np.array([3e7], np.float32)}, "t.onnx", memory=50 * 2**20)
    assert time.monotonic() - t0 < 10
    small = onnx_safety.guarded_run(sess, {"n": np.array([1000], np.float32)}, "t.onnx", memory=50 * 2**20)
    assert float(small[0]) == 1000.0  # 60 negations


def test_onnxruntime_log_lines_never_reach_stderr(tmp_path):
    """A graph that fails inside ONNX Runtime at run time (a Gather index beyond its axis, which shape inference
    cannot see) used to print ONNX Runtime's coloured [E:onnxruntime:…] line beside the app's error."""
    nodes = [h.make_node("Gather", ["m", "idx"], ["g"], axis=1)]
    enc = encoder(hostile=nodes, hostile_out="g", extra_inits=[_init("idx", np.array([1000], np.int64))])
    code, out, err, secs, _ = _cli(tmp_path, *_import_argv(tmp_path, enc, decoder()))
    assert code == 2 and "onnxruntime:" not in err and "\x1b[" not in err, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ") and "probe batch" in err, err
    _nothing_written(tmp_path)


# ------------------------------------------------------------------------------------------------
# 5. a model folder holding a hostile graph: info, the engine's open


def _hostile_folder(folder: Path, enc: bytes, dec: bytes, size=16, z=4) -> Path:
    """A model folder whose card is valid and whose checksums match: as a stranger could hand it to us."""
    from engine.formats.onnx.card import DECODER, ENCODER, full_frame, OnnxArch, OnnxConfig
    from engine.formats.onnx.codec import sha256
    from engine.formats.onnx.exporter import write_onnx_folder

    config = OnnxConfig(OnnxArch(size, z), full_frame(size), "hostile", "nchw", (0.0, 1.0), {},
                        {ENCODER: {"sha256": sha256(enc), "bytes": len(enc)},
                         DECODER: {"sha256": sha256(dec), "bytes": len(dec)}})
    write_onnx_folder(folder, config, enc, dec)
    return folder


def test_a_model_folder_with_a_hostile_graph_is_refused_by_info_and_open(tmp_path):
    """The same Loop in a model folder hung `info` and the app at the open-time probe."""
    from engine.workflows.open_model import open_model

    nodes, inits = _loop(10**15)
    folder = _hostile_folder(tmp_path / "model", encoder(hostile=nodes, extra_inits=inits, hostile_out="vf"), decoder())
    before = sorted(p.name for p in folder.iterdir())
    line = _refused_cli(tmp_path, ["info", "--model", folder], "control flow", max_s=15)
    assert "encoder.onnx" in line
    t0 = time.monotonic()
    with pytest.raises(ModelFileError, match="control flow"):
        open_model(folder, statistics=True)  # what File ▸ Open runs on the GUI's worker
    assert time.monotonic() - t0 < 5
    assert sorted(p.name for p in folder.iterdir()) == before


_FAST = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
from engine.formats import open_model
codec = open_model(sys.argv[2])
t0 = time.monotonic()
fast = codec.fast_path()
print(fast is not None, round(time.monotonic() - t0, 1))
"""


def test_a_hostile_graph_planted_in_the_fast_path_cache_is_bounded_too(tmp_path, tiny_model, monkeypatch):
    """The fast path's cache folder (~/.cache/…/onnx/<model>-<key>/) holds graphs the app exported; files found there
    without a valid marker are checked against torch by running them. A Loop planted there hung that check; now
    such files are bounded like a user's graph, refused, and the network exported afresh."""
    from engine.formats import open_model
    from engine.formats.fast_path import fast_cache_folder
    from engine.formats.onnx.card import DECODER, ENCODER

    monkeypatch.setenv("LFS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("LFS_ONNX_RUNTIME", "1")
    codec = open_model(tiny_model)
    folder = fast_cache_folder(codec.model_id, codec.key)
    folder.mkdir(parents=True)
    nodes, inits = _loop(10**15)
    s, z = codec.image_size, codec.z_dim
    (folder / ENCODER).write_bytes(encoder(size=s, z=z, hostile=nodes, extra_inits=inits, hostile_out="vf", name="image"))
    (folder / DECODER).write_bytes(decoder(size=s, z=z))
    cmd = ["prlimit", f"--as={AS_LIMIT}", sys.executable, "-c", _FAST, str(ROOT), str(tiny_model)]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("the fast path's check ran the planted Loop (still running after 60 s)")
    assert res.returncode == 0 and res.stdout.split()[0] == "True", res.stdout + res.stderr[-2000:]
    assert float(res.stdout.split()[1]) < 20
    assert b"Loop" not in (folder / ENCODER).read_bytes()  # replaced by the app's own export


def test_cancel_stops_a_probe_in_flight(tmp_path):
    """A cancel during the probe terminates the run in flight (the GUI's Cancel, an import's cancel token)."""
    from engine.formats.onnx.codec import OnnxAutoencoderCodec
    from engine.formats.onnx.safety import cancel_scope
    from engine.progress import CancelToken
    from engine.workflows.import_model import import_model

    enc, dec = _slow_encoder(), decoder(size=64)
    (tmp_path / "e.onnx").write_bytes(enc)
    (tmp_path / "d.onnx").write_bytes(dec)
    folder = _hostile_folder(tmp_path / "model", enc, dec, size=64)

    def cancelled_after(seconds, fn):
        token = CancelToken()
        threading.Timer(seconds, token.cancel).start()
        t0 = time.monotonic()
        with pytest.raises(Cancelled):
            fn(token)
        return time.monotonic() - t0

    assert cancelled_after(1.0, lambda t: import_model(tmp_path / "e.onnx", tmp_path / "d.onnx", tmp_path / "out",
                                                       cancel=t)) < 6
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    assert cancelled_after(1.0, lambda t: OnnxAutoencoderCodec.open(folder, cancel=t)) < 6

    def scoped(token):
        from engine.formats import open_model

        with cancel_scope(token):
            open_model(folder)

    assert cancelled_after(1.0, scoped) < 6


def test_good_graphs_still_import_and_open(tmp_path):
    """The gate lets a plain pair through (and the imported folder opens and decodes)."""
    from engine.formats import open_model
    from engine.workflows.import_model import import_model

    enc, dec = good_pair()
    (tmp_path / "e.onnx").write_bytes(enc)
    (tmp_path / "d.onnx").write_bytes(dec)
    res = import_model(tmp_path / "e.onnx", tmp_path / "d.onnx", tmp_path / "m")
    codec = open_model(res.folder)
    assert codec.decode(np.zeros((3, 4), np.float32)).shape == (3, 16, 16, 3)
