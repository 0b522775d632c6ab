"""The gate every ONNX graph a user hands us passes before ONNX Runtime sees it, and the watchdog on its runs.

An imported or opened ONNX graph is a program: ONNX Runtime executes its operators, and already *loading* it
runs constant folding (a ``ConstantOfShape`` of a constant 10¹² shape allocates at ``InferenceSession()``).
So nothing is handed to ONNX Runtime before this module has read the graph from its own bytes and bounded it:

* **read** (``check_structure``): a protobuf that parses; every tensor self-contained — initializers, sparse
  initializers, tensor attributes (``Constant``) and everything inside subgraphs and model-local functions: a
  tensor with ``data_location`` EXTERNAL or ``external_data`` entries could name any file on the disk;
  at most ``MAX_NODES`` nodes in all (functions counted as inlined), subgraphs and function calls nested at
  most ``MAX_DEPTH`` deep, no recursive functions;
* **no control flow**: ``Loop``, ``Scan``, ``If`` (any operator carrying a GRAPH/GRAPHS attribute) is refused. A
  Loop's trip count and condition are data (10¹⁵ iterations spin forever); the tensors inside any body are not
  shape-inferred by ONNX, so their memory cannot be bounded before running. An encoder or decoder needs none
  (torch, Keras and tf2onnx exports of a conv autoencoder are straight-line graphs);
* **memory** (``check_memory``): with the input fixed at the size the model card (or the import) says, ONNX
  shape inference (strict, with data propagation, functions inlined) must give every tensor the graph computes
  a concrete shape, and all of them together must fit ``MAX_ACTIVATION_BYTES_PER_IMAGE`` per image — the native
  format's own budget (``architecture.MAX_ACTIVATIONS_PER_IMAGE`` float32 values) — both at batch 1 (a
  batch-independent giant, e.g. a huge ``Range``/``ConstantOfShape``/``Expand``/``Tile``/``Resize``) and at the
  largest batch the app runs (a tensor growing faster than the batch). A tensor whose shape depends on the data
  (``NonZero``, a ``Range`` of computed limits …) cannot be bounded and is refused;
* **time, and memory enforced** (``guarded_run``): every run of an untrusted graph during the open/import probe
  happens on a helper thread while the caller watches, every 20 ms, the clock (``run_seconds()``, 30 s by default,
  ``LFS_ONNX_RUN_SECONDS``), the process's resident memory (``probe_memory_cap``: the batch's budget + 256 MB) and
  the cancel token; past either budget or on a cancel, ``RunOptions.terminate`` stops ONNX Runtime before its
  next node. (One node's own allocation is already bounded by the static check.)

ONNX Runtime's own log lines are silenced for every session (``quiet_onnxruntime``): its errors reach the user
as the one line of the ``ModelFileError`` that names the file.
"""
from __future__ import annotations

import contextlib
import contextvars
import math
import os
import threading
import time
from typing import Optional

from ...architecture import MAX_ACTIVATIONS_PER_IMAGE
from ...errors import Cancelled, ModelFileError

#: Nodes of one graph, counted over its subgraphs and with every function call inlined: a conv autoencoder
#: exported by torch has a few dozen to a few hundred; ONNX Runtime's optimiser time grows with the count.
MAX_NODES = 20_000
#: Nesting of subgraphs and function calls (a plain graph is 0).
MAX_DEPTH = 8
#: Bytes of all the tensors one image makes on its way through one graph (the native format's budget).
MAX_ACTIVATION_BYTES_PER_IMAGE = 4 * MAX_ACTIVATIONS_PER_IMAGE
#: The largest batch the app runs through a graph (``formats.codec.DEFAULT_BATCH``).
LARGEST_BATCH = 256
#: Seconds one run of an untrusted graph may take during a probe (``LFS_ONNX_RUN_SECONDS`` overrides).
RUN_SECONDS = 30.0
RUN_SECONDS_ENV = "LFS_ONNX_RUN_SECONDS"
#: After ``terminate`` is set, how long the caller waits for ONNX Runtime to stop before it gives up on the run.
TERMINATE_GRACE_S = 2.0
#: Operators whose trip count or body cannot be bounded before running.
CONTROL_FLOW = ("Loop", "Scan", "If")

_BYTES = {1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 8: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 14: 8, 15: 16, 16: 2}
_cancel_scope: contextvars.ContextVar = contextvars.ContextVar("onnx_cancel", default=None)


def run_seconds() -> float:
    try:
        value = float(os.environ.get(RUN_SECONDS_ENV, RUN_SECONDS))
    except ValueError:
        return RUN_SECONDS
    return value if math.isfinite(value) and value > 0 else RUN_SECONDS


@contextlib.contextmanager
def cancel_scope(cancel):
    """Within this block a probe of an ONNX graph (an open) watches ``cancel`` too: for callers that reach the
    codec through ``formats.registry.open_model``, which takes no cancel token."""
    token = _cancel_scope.set(cancel)
    try:
        yield
    finally:
        _cancel_scope.reset(token)


# ------------------------------------------------------------------------------------------------
# ONNX Runtime's log


_quiet = False


def quiet_onnxruntime(ort) -> None:
    """ONNX Runtime prints warnings and errors to stderr itself ([W:onnxruntime:…]); the app says what matters
    in one line, so only fatal errors are left to its logger (once a process)."""
    global _quiet
    if not _quiet:
        ort.set_default_logger_severity(4)
        _quiet = True


def session_options(ort, threads: int = 0):
    opts = ort.SessionOptions()
    opts.log_severity_level = 4
    # no busy-waiting between calls (benchmarks/onnx_spinning.py, quiet 2-core machine): a decode is a little
    # slower (1 face 0.7 → 1.1 ms, 32 faces 13 → 17 ms), but the threads no longer burn about 10 ms of CPU after
    # each call, which on a busy or small machine starves the window's own thread and slowed decodes (there:
    # 32 faces 45 → 28 ms)
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if threads:
        opts.intra_op_num_threads = threads
    return opts


def run_options(ort=None):
    if ort is None:
        import onnxruntime as ort
    ro = ort.RunOptions()
    ro.log_severity_level = 4
    return ro


# ------------------------------------------------------------------------------------------------
# reading: self-contained, bounded in size, no control flow, no recursion


def parse(data: bytes, path):
    """The ModelProto of ``data`` (onnx is required: it is how a user's graph is checked before it runs)."""
    try:
        import onnx
    except ImportError:
        raise ModelFileError(f"{path}: ONNX models need the onnx package to be checked before they run "
                             "(pip install onnx)") from None
    try:
        return onnx.load_from_string(data)
    except Exception as exc:  # noqa: BLE001 - protobuf's DecodeError and friends
        text = " ".join(str(exc).split())[:200]
        raise ModelFileError(f"{path}: not a usable ONNX model (truncated, damaged or an unsupported operator): "
                             f"it does not parse ({text or type(exc).__name__})") from None


def _tensors_of(attr):
    if attr.HasField("t"):
        yield attr.t
    yield from attr.tensors
    for sp in ([attr.sparse_tensor] if attr.HasField("sparse_tensor") else []) + list(attr.sparse_tensors):
        yield sp.values
        yield sp.indices


def _external(t) -> bool:
    import onnx

    return t.data_location == onnx.TensorProto.EXTERNAL or len(t.external_data) > 0


def _refuse_external(t, path, where: str) -> None:
    if _external(t):
        raise ModelFileError(f"{path}: tensor {t.name[:80]!r}{where} is stored in an external file; only self-contained "
                             ".onnx files are read (re-save with onnx.save(model, path, save_as_external_data=False))")


def _walk_graph(g, path, depth: int, functions) -> int:
    """Check one graph and its subgraphs; return its node count (function calls counted as 1 here)."""
    if depth > MAX_DEPTH:
        raise ModelFileError(f"{path}: subgraphs nested more than {MAX_DEPTH} deep; refused")
    where = "" if depth == 0 else f" (in subgraph {g.name[:60]!r})"
    for t in g.initializer:
        _refuse_external(t, path, where)
    for sp in g.sparse_initializer:
        _refuse_external(sp.values, path, where)
        _refuse_external(sp.indices, path, where)
    count = 0
    for node in g.node:
        count += 1
        if count > MAX_NODES:
            raise ModelFileError(f"{path}: more than {MAX_NODES:,} nodes; an autoencoder needs far fewer — refused")
        for attr in node.attribute:
            for t in _tensors_of(attr):
                _refuse_external(t, path, where)
            for sub in ([attr.g] if attr.HasField("g") else []) + list(attr.graphs):
                count += _walk_graph(sub, path, depth + 1, functions)
    return count


def _expanded_count(model, path, functions) -> int:
    """Check the model-local functions (self-contained, no recursion, bounded depth) and return the main graph's
    node count with every function call inlined."""
    for f in functions.values():
        body = type("Body", (), {"initializer": (), "sparse_initializer": (), "node": f.node, "name": f.name})
        _walk_graph(body, path, 1, functions)
    sizes: dict = {}

    def size(nodes, chain) -> int:
        n = 0
        for nd in nodes:
            key = (nd.domain, nd.op_type)
            if key not in functions:
                n += 1
                continue
            if key in chain:
                raise ModelFileError(f"{path}: function {key[1][:60]!r} calls itself (recursion); refused")
            if len(chain) >= MAX_DEPTH:
                raise ModelFileError(f"{path}: function calls nested more than {MAX_DEPTH} deep; refused")
            if key not in sizes:
                sizes[key] = size(functions[key].node, chain + (key,))
            n += sizes[key]
            if n > MAX_NODES:
                raise ModelFileError(f"{path}: more than {MAX_NODES:,} nodes once its functions are expanded; refused")
        return n

    return size(model.graph.node, ())


def _refuse_control_flow(nodes, path) -> None:
    for node in nodes:
        graphs = [a for a in node.attribute if a.HasField("g") or len(a.graphs)]
        if node.op_type in CONTROL_FLOW or graphs:
            raise ModelFileError(
                f"{path}: the graph holds control flow (a {node.op_type[:40]} node{' ' + repr(node.name[:60]) if node.name else ''}); "
                "its iterations and the memory of its body cannot be bounded before it runs, and an encoder or "
                "decoder needs none — refused")


def check_structure(data: bytes, path):
    """Parse ``data`` and refuse what must never reach ONNX Runtime: external data anywhere, too many nodes,
    nesting beyond MAX_DEPTH, recursive functions, control flow. Returns the ModelProto."""
    model = parse(data, path)
    functions = {(f.domain, f.name): f for f in model.functions}
    _walk_graph(model.graph, path, 0, functions)
    _expanded_count(model, path, functions)
    _refuse_control_flow(model.graph.node, path)
    for f in model.functions:
        _refuse_control_flow(f.node, path)
    return model


# ------------------------------------------------------------------------------------------------
# memory: every tensor's shape known at the input size, their bytes within the budget


def _strip_weights(model) -> None:
    """Drop the data of large initializers (shape inference needs their dims only; data propagation reads the small
    integer tensors that hold shapes), so that checking a large model does not copy its weights around."""
    for t in model.graph.initializer:
        if len(t.raw_data) > 4096:
            t.ClearField("raw_data")
            t.data_location = 0
        for name in ("float_data", "double_data", "int32_data"):
            if len(getattr(t, name)) > 1024:
                t.ClearField(name)


def _with_input(model, dims, path) -> None:
    inits = {t.name for t in model.graph.initializer}
    ins = [i for i in model.graph.input if i.name not in inits]
    if len(ins) != 1 or not ins[0].type.HasField("tensor_type"):
        raise ModelFileError(f"{path}: the graph has {len(ins)} inputs; an encoder or decoder has exactly one tensor input")
    shape = ins[0].type.tensor_type.shape
    del shape.dim[:]
    for d in dims:
        shape.dim.add().dim_value = int(d)


#: Operators folded when all their inputs are small constants: exporters compute pads, shapes and axes with them
#: (torch's F.pad: ConstantOfShape → Concat → Reshape → Slice → Transpose → Cast), and ONNX's data propagation
#: does not follow all of them. Each result is bounded before (ConstantOfShape, Range) or by its inputs.
FOLDABLE = frozenset((
    "Constant", "ConstantOfShape", "Range", "Shape", "Size", "Identity", "Cast", "CastLike", "Concat", "Split",
    "Reshape", "Flatten", "Slice", "Transpose", "Squeeze", "Unsqueeze", "Gather", "GatherElements", "Where",
    "Add", "Sub", "Mul", "Div", "Mod", "Pow", "Neg", "Abs", "Sign", "Floor", "Ceil", "Round", "Sqrt", "Reciprocal",
    "Min", "Max", "Clip", "Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "Not", "And", "Or", "Xor",
    "ReduceProd", "ReduceSum", "ReduceMin", "ReduceMax"))
#: Elements of a constant that folding keeps (and of each input it folds: a broadcast makes at most FOLD_LIMIT²).
FOLD_LIMIT = 1024


def _fold_constants(model) -> bool:
    """Replace the nodes whose inputs are all small constants by their values (evaluated with ONNX's reference
    implementation, each result ≤ FOLD_LIMIT elements), so that shape inference sees pads, shapes and axes.
    Returns whether anything was folded."""
    import numpy as np
    from onnx import numpy_helper
    from onnx.reference import ReferenceEvaluator

    g = model.graph
    opset = {o.domain or "": o.version for o in model.opset_import}
    consts = {}
    for t in g.initializer:
        if t.data_location == 0 and math.prod(t.dims) <= FOLD_LIMIT and (t.raw_data or not t.dims or any(
                len(getattr(t, f)) for f in ("float_data", "int32_data", "int64_data", "double_data"))):
            consts[t.name] = numpy_helper.to_array(t)
    folded, keep = [], []
    for node in g.node:
        ins = [i for i in node.input if i]
        ok = node.domain in ("", "ai.onnx") and node.op_type in FOLDABLE and all(i in consts for i in ins)
        if ok and node.op_type == "ConstantOfShape":
            ok = math.prod(int(v) for v in consts[ins[0]].ravel()) <= FOLD_LIMIT
        if ok and node.op_type == "Range":
            start, limit, delta = (float(consts[i]) for i in ins)
            ok = delta != 0 and math.isfinite(start + limit + delta) and (limit - start) / delta <= FOLD_LIMIT
        values = None
        if ok:
            try:
                values = ReferenceEvaluator(node, opsets={"": opset.get("", 17)}).run(
                    None, {i: consts[i] for i in ins})
            except Exception:  # noqa: BLE001 - left to shape inference (and ONNX Runtime) to judge
                values = None
        if values is None or any(np.asarray(v).size > FOLD_LIMIT for v in values):
            keep.append(node)
            continue
        for name, v in zip(node.output, values):
            consts[name] = np.asarray(v)
            folded.append(numpy_helper.from_array(np.asarray(v), name))
    if folded:
        del g.node[:]
        g.node.extend(keep)
        g.initializer.extend(folded)
    return bool(folded)


def _tensor_bytes(model, path, batch: int, unknown_ok: bool = False) -> Optional[int]:
    import onnx

    try:
        inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True, data_prop=True)
    except Exception as exc:  # noqa: BLE001 - onnx's InferenceError / ValidationError
        text = " ".join(str(exc).split())[:240]
        raise ModelFileError(f"{path}: the shapes of its tensors cannot be worked out at the model's input size "
                             f"({text}); refused (its memory cannot be bounded before it runs)") from None
    known = {v.name: v.type for v in list(inferred.graph.value_info) + list(inferred.graph.output)}
    total = 0
    for node in inferred.graph.node:
        for name in node.output:
            if not name:
                continue
            t = known.get(name)
            tt = t.tensor_type if t is not None and t.HasField("tensor_type") else None
            dims = [d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim] \
                if tt is not None and tt.HasField("shape") else None
            if dims is None or any(d is None or d < 0 for d in dims):
                if unknown_ok:
                    return None
                raise ModelFileError(
                    f"{path}: the shape of tensor {name[:60]!r} (made by a {node.op_type[:40]} node) depends on the "
                    f"data at batch {batch}; its memory cannot be bounded before it runs — refused")
            total += math.prod(dims) * _BYTES.get(tt.elem_type, 8)
    return total


def check_memory(model, path, input_dims: tuple, batches=(1, LARGEST_BATCH)) -> int:
    """Refuse a graph (``check_structure``'s model) whose tensors, with its one input of ``input_dims`` after the
    batch, need more than MAX_ACTIVATION_BYTES_PER_IMAGE per image at any of ``batches``. Returns the bytes per
    image at batch 1. The model is modified (a scratch copy of the user's bytes)."""
    from onnx import inliner

    _strip_weights(model)
    if model.functions:
        try:
            model = inliner.inline_local_functions(model)
        except Exception as exc:  # noqa: BLE001
            raise ModelFileError(f"{path}: its functions cannot be expanded ({' '.join(str(exc).split())[:200]})") from None
    per_image, folded = 0, False
    for batch in batches:
        _with_input(model, (batch,) + tuple(input_dims), path)
        total = _tensor_bytes(model, path, batch, unknown_ok=not folded)
        if total is None:  # exporters compute pads and shapes from constants: fold them, then infer again
            folded = _fold_constants(model) or True
            total = _tensor_bytes(model, path, batch)
        if total > batch * MAX_ACTIVATION_BYTES_PER_IMAGE:
            raise ModelFileError(
                f"{path}: its tensors need {total / 2**20:,.0f} MB for a batch of {batch} "
                f"({total / batch / 2**20:,.0f} MB an image; the budget is {MAX_ACTIVATION_BYTES_PER_IMAGE // 2**20} MB "
                "an image) — refused")
        per_image = per_image or total // batch
    return per_image


# ------------------------------------------------------------------------------------------------
# time: a watched run


#: Memory a probe run may take beyond the budget of its images (ONNX Runtime's own working memory, other threads).
RUN_MEMORY_SLACK = 256 * 2**20


def _rss() -> Optional[int]:
    """This process's resident memory in bytes (Linux; None elsewhere)."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def probe_memory_cap(batch: int) -> int:
    """What a probe run of ``batch`` images may add to the process's resident memory."""
    return batch * MAX_ACTIVATION_BYTES_PER_IMAGE + RUN_MEMORY_SLACK


def guarded_run(sess, feeds: dict, where, *, cancel=None, seconds: Optional[float] = None,
                memory: Optional[int] = None):
    """``sess.run(None, feeds)`` on a helper thread, watched every 20 ms: past ``seconds`` (default
    ``run_seconds()``), once the process's resident memory grew by more than ``memory`` bytes (when given), or on
    ``cancel`` (or the ``cancel_scope``'s token), ONNX Runtime is told to terminate (it stops before its next node);
    a graph that does not stop within TERMINATE_GRACE_S is left to finish on its own thread (a daemon)."""
    seconds = run_seconds() if seconds is None else seconds
    base = _rss() if memory is not None else None
    cancel = cancel if cancel is not None else _cancel_scope.get()
    ro = run_options()
    box: dict = {}

    def work():
        try:
            box["out"] = sess.run(None, feeds, ro)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            box["exc"] = exc

    worker = threading.Thread(target=work, name="onnx-guarded-run", daemon=True)
    start = time.monotonic()
    worker.start()
    stopped = None
    while True:
        worker.join(0.02)
        if not worker.is_alive():
            break
        if cancel is not None and cancel.cancelled:
            stopped = "cancel"
        elif time.monotonic() - start > seconds:
            stopped = "time"
        elif base is not None and (_rss() or 0) - base > memory:
            stopped = "memory"
        if stopped:
            ro.terminate = True
            worker.join(TERMINATE_GRACE_S)
            break
    if stopped == "cancel":
        raise Cancelled("cancelled by the user")
    if stopped == "memory":
        raise ModelFileError(f"{where}: one run of the graph on a probe batch took more than {memory / 2**20:,.0f} MB of "
                             "memory (the budget of its images); refused")
    if stopped == "time":
        raise ModelFileError(f"{where}: one run of the graph on a probe batch took longer than the {seconds:g} s "
                             "budget (a graph that loops or computes far more than an autoencoder); refused")
    if "exc" in box:
        raise box["exc"]
    return box["out"]


# ------------------------------------------------------------------------------------------------
# the signature, read from the proto (before any session exists)


class _Arg:
    def __init__(self, value_info):
        tt = value_info.type.tensor_type if value_info.type.HasField("tensor_type") else None
        self.name = value_info.name
        self.type = f"tensor({_TYPE_NAMES.get(tt.elem_type, tt.elem_type)})" if tt is not None else "not a tensor"
        dims = tt.shape.dim if tt is not None and tt.HasField("shape") else None
        self.shape = [] if dims is None else [
            d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in dims]


_TYPE_NAMES = {1: "float", 2: "uint8", 3: "int8", 5: "int16", 6: "int32", 7: "int64", 9: "bool", 10: "float16",
               11: "double", 16: "bfloat16"}


class Signature:
    """A graph's inputs (without initializers) and outputs as an ONNX Runtime session lists them — name, type and
    shape — read from the ModelProto, so that the card can be checked before anything is handed to the runtime."""

    def __init__(self, model):
        inits = {t.name for t in model.graph.initializer}
        self._ins = [_Arg(v) for v in model.graph.input if v.name not in inits]
        self._outs = [_Arg(v) for v in model.graph.output]

    def get_inputs(self):
        return self._ins

    def get_outputs(self):
        return self._outs


def batches(fixed: Optional[int]) -> tuple:
    """The batch sizes a graph's memory is bounded at: its fixed batch, else 1 and the largest the app runs."""
    return (fixed,) if fixed else (1, LARGEST_BATCH)


def bounded(data: bytes, path, input_dims: tuple) -> None:
    """``check_structure`` and ``check_memory`` (at batch 1 and LARGEST_BATCH): fit to hand to ONNX Runtime."""
    check_memory(check_structure(data, path), path, input_dims, batches(None))
