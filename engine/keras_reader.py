"""Read a Keras conv autoencoder without TensorFlow or Keras: the JSON config + the HDF5 weights, translated
layer by layer into an equivalent torch network (then exported to ONNX by the import workflow).

Files: Keras 3 ``.keras`` (a zip with ``config.json`` and ``model.weights.h5``), legacy HDF5 ``.h5`` (a whole
model: ``model_config`` attribute + ``model_weights``), or weights only (``.weights.h5`` of Keras 3, or a legacy
``save_weights`` file) with the architecture JSON (``model.to_json()``) beside it. Nothing from the file is
executed: the config is read as JSON (a ``Lambda`` layer, a layer outside :data:`LAYERS` or a custom object
is refused with one line naming it), weights as plain numeric HDF5 datasets (never pickled objects).

Models: ``Sequential`` or ``Functional`` chains (one input, one output, every layer fed by the one before; a
nested ``Sequential``/``Functional`` model counts as its layers), channels-last. Layers: InputLayer, Conv2D,
Conv2DTranspose ('same'/'valid' padding, Keras' output sizes and TF's asymmetric 'same' padding), Dense,
Flatten (channels-last order), Reshape, BatchNormalization (inference: moving statistics), Activation,
ReLU, LeakyReLU, Dropout / SpatialDropout2D / GaussianNoise / GaussianDropout (identity at inference), and
the activations relu, sigmoid, tanh, linear, leaky_relu, elu, selu, softplus, silu/swish, gelu.
"""
from __future__ import annotations

import io
import math
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from .errors import ModelFileError

MAX_KERAS_BYTES = 2**31 - 1
MAX_JSON_BYTES = 16 * 2**20
MAX_WEIGHT_MAGNITUDE = 1e6
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
MODEL_CLASSES = ("Sequential", "Functional", "Model")
IDENTITY_LAYERS = ("Dropout", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "ActivityRegularization",
                   "AlphaDropout")
LAYERS = ("InputLayer", "Conv2D", "Conv2DTranspose", "Dense", "Flatten", "Reshape", "BatchNormalization",
          "Activation", "ReLU", "LeakyReLU") + IDENTITY_LAYERS
ACTIVATIONS = ("relu", "sigmoid", "tanh", "linear", "leaky_relu", "elu", "selu", "softplus", "silu", "swish", "gelu")
#: Layers that change no shape and act element-wise (the bottleneck extends over them).
ELEMENTWISE = ("BatchNormalization", "Activation", "ReLU", "LeakyReLU") + IDENTITY_LAYERS
#: Modules a Keras 3 config may name for a built-in class.
BUILTIN_MODULES = ("keras.layers", "keras", "keras.models", "keras.src.models.functional", "keras.src.models.sequential")


@dataclass
class KLayer:
    path: tuple  # names from the outermost model down to the layer
    cls: str
    config: dict
    weights: dict = field(default_factory=dict)  # canonical name (kernel, bias, gamma, …) → array

    @property
    def name(self) -> str:
        return "/".join(self.path)


@dataclass
class KerasModel:
    source: Path
    layers: list  # KLayer in order (nested models flattened; InputLayer dropped)
    input_shape: tuple  # without the batch dimension (H, W, C) or (D,)
    top_groups: list = field(default_factory=list)  # indices in ``layers`` where a top-level nested model ends
    keras_version: str = "?"


# ------------------------------------------------------------------------------------------------
# files


def _open_checked(path: Path, what: str) -> int:
    from .image_data import check_regular_file

    return check_regular_file(path, what, MAX_KERAS_BYTES, error=ModelFileError)


def _head(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(16)


def sniff(path: Path) -> str:
    """"keras" (zip), "h5" (HDF5), or a ModelFileError naming what the file is instead."""
    size = _open_checked(path, "Keras model file")
    head = _head(path)
    if head[:1] == b"\x80" and len(head) > 1 and head[1] in range(2, 6):
        raise ModelFileError(f"{path}: this is a Python pickle, not a Keras model; pickles are never unpickled")
    if head[:2] == b"PK":
        return "keras"
    if head[:8] == HDF5_MAGIC:
        return "h5"
    if size < 8:
        raise ModelFileError(f"{path}: truncated ({size} bytes): not a Keras model")
    raise ModelFileError(f"{path}: not a Keras model (neither a .keras zip nor an HDF5 .h5 file)")


def _json(data: bytes, source: str):
    from .model_store import parse_json

    try:
        return parse_json(data.decode("utf-8") if isinstance(data, bytes) else data, source)
    except UnicodeDecodeError:
        raise ModelFileError(f"{source}: not a text file") from None
    except ValueError as exc:
        raise ModelFileError(f"{source}: not valid JSON ({exc})") from None


def _h5file(obj, source):
    try:
        import h5py
    except ImportError:
        raise ModelFileError(f"{source}: reading Keras files needs the h5py package (pip install h5py)") from None
    try:
        return h5py.File(obj, "r")
    except Exception as exc:  # noqa: BLE001 - h5py's OSError for a truncated or damaged file
        text = " ".join(str(exc).split())[:200]
        raise ModelFileError(f"{source}: truncated or damaged HDF5 file ({text})") from None


def read_keras(path: str | os.PathLike, architecture: Optional[str | os.PathLike] = None) -> KerasModel:
    """Read a Keras model file (and, for a weights-only file, its architecture JSON): layers + weights."""
    path = Path(path)
    kind = sniff(path)
    arch = None
    if architecture is not None:
        from .image_data import read_regular_file

        arch = _json(read_regular_file(architecture, "architecture JSON", limit=MAX_JSON_BYTES, error=ModelFileError),
                     str(architecture))
    if kind == "keras":
        try:
            with zipfile.ZipFile(path) as zf:
                names = set(zf.namelist())
                for need in ("config.json", "model.weights.h5"):
                    if need not in names:
                        raise ModelFileError(f"{path}: a .keras file holds config.json and model.weights.h5; {need} is missing")
                cinfo, winfo = zf.getinfo("config.json"), zf.getinfo("model.weights.h5")
                if cinfo.file_size > MAX_JSON_BYTES or winfo.file_size > MAX_KERAS_BYTES:
                    raise ModelFileError(f"{path}: an entry is too large for a model file")
                config = _json(zf.read("config.json"), f"{path}: config.json")
                wbytes = zf.read("model.weights.h5")
        except (zipfile.BadZipFile, EOFError, OSError, zipfile.LargeZipFile, NotImplementedError) as exc:
            raise ModelFileError(f"{path}: truncated or damaged .keras file ({exc})") from None
        with _h5file(io.BytesIO(wbytes), f"{path}: model.weights.h5") as f:
            return _build(path, arch or config, _Keras3Weights(f, path), "3")
    with _h5file(str(path), str(path)) as f:
        version = _attr_text(f.attrs.get("keras_version", "?"))
        if "model_config" in f.attrs:
            config = arch or _json(_attr_text(f.attrs["model_config"]), f"{path}: model_config")
            if "model_weights" not in f:
                raise ModelFileError(f"{path}: holds a model config but no model_weights group")
            return _build(path, config, _LegacyWeights(f["model_weights"], path), version)
        if arch is None:
            raise ModelFileError(f"{path}: holds weights only; give the architecture JSON too (model.to_json(), "
                                 "--architecture FILE)")
        if "layers" in f and "model_weights" not in f:
            return _build(path, arch, _Keras3Weights(f, path), version)
        return _build(path, arch, _LegacyWeights(f, path), version)


def _attr_text(v) -> str:
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, np.ndarray) and v.shape == ():
        return _attr_text(v.item())
    return str(v)


def _numeric(ds, source, name) -> np.ndarray:
    import h5py

    if not isinstance(ds, h5py.Dataset):
        raise ModelFileError(f"{source}: {name} is not a dataset")
    if ds.dtype.kind != "f" or ds.dtype.itemsize not in (2, 4, 8):
        raise ModelFileError(f"{source}: weight {name} has dtype {ds.dtype}; only float16/32/64 weights are read")
    if ds.size > 2**31:
        raise ModelFileError(f"{source}: weight {name} is far too large")
    try:
        a = np.asarray(ds[()], dtype=np.float64)
    except Exception as exc:  # noqa: BLE001 - a truncated dataset
        raise ModelFileError(f"{source}: cannot read weight {name} (truncated or damaged: {' '.join(str(exc).split())[:120]})") from None
    if a.size and not np.isfinite(a).all():
        raise ModelFileError(f"{source}: weight {name} holds NaN or Inf values")
    if a.size and np.abs(a).max() > MAX_WEIGHT_MAGNITUDE:
        raise ModelFileError(f"{source}: weight {name} holds values up to {np.abs(a).max():.3g} (damaged or scaled weights)")
    return a.astype(np.float32)


def _var_names(cls: str, cfg: dict) -> list[str]:
    if cls in ("Conv2D", "Conv2DTranspose", "Dense"):
        return ["kernel"] + (["bias"] if cfg.get("use_bias", True) else [])
    if cls == "BatchNormalization":
        return (["gamma"] if cfg.get("scale", True) else []) + (["beta"] if cfg.get("center", True) else []) \
            + ["moving_mean", "moving_variance"]
    return []


class _LegacyWeights:
    """Keras 2 / legacy HDF5: a group per top-level layer with a ``weight_names`` attribute."""

    def __init__(self, root, source):
        self.root, self.source = root, source

    def get(self, layer: KLayer) -> dict:
        want = _var_names(layer.cls, layer.config)
        if not want:
            return {}
        top = layer.path[0]
        if top not in self.root:
            raise ModelFileError(f"{self.source}: no weights for layer {layer.name!r} (the file has no group {top!r})")
        g = self.root[top]
        names = [_attr_text(n) for n in g.attrs.get("weight_names", [])]
        out = {}
        for n in names:
            parts = n.split("/")
            var = parts[-1].split(":")[0]
            if len(parts) >= 2 and parts[-2] == layer.path[-1] and var in want:
                out[var] = _numeric(g[n], self.source, n)
        missing = [v for v in want if v not in out]
        if missing:
            raise ModelFileError(f"{self.source}: layer {layer.name!r} lacks its weight(s) {', '.join(missing)}")
        return out


def _snake(name: str) -> str:
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


class _Keras3Weights:
    """Keras 3 ``model.weights.h5``: ``layers/<key>/vars/<i>`` (nested: ``layers/<key>/layers/…``); each vars
    group names its layer (attribute ``name``)."""

    def __init__(self, root, source):
        import h5py

        self.source = source
        self.by_name: dict = {}
        self.by_key: dict = {}
        stack = [((), (), root)]
        while stack:
            names, keys, g = stack.pop()
            if "layers" not in g or not isinstance(g["layers"], h5py.Group):
                continue
            for key, sub in g["layers"].items():
                if not isinstance(sub, h5py.Group):
                    continue
                v = sub.get("vars")
                lname = _attr_text(v.attrs["name"]) if v is not None and "name" in v.attrs else None
                entry = (sub, v)
                self.by_key[keys + (key,)] = entry
                if lname is not None:
                    self.by_name[names + (lname,)] = entry
                stack.append((names + ((lname or key),), keys + (key,), sub))

    def get(self, layer: KLayer) -> dict:
        want = _var_names(layer.cls, layer.config)
        if not want:
            return {}
        entry = self.by_name.get(layer.path) or self.by_key.get(layer.keys)
        if entry is None or entry[1] is None:
            raise ModelFileError(f"{self.source}: no weights for layer {layer.name!r}")
        v = entry[1]
        n = len([k for k in v.keys() if k.isdigit()])
        if n != len(want):
            raise ModelFileError(f"{self.source}: layer {layer.name!r} has {n} weight arrays; its config needs {len(want)} "
                                 f"({', '.join(want)})")
        return {w: _numeric(v[str(i)], self.source, f"{layer.name}/{w}") for i, w in enumerate(want)}


# ------------------------------------------------------------------------------------------------
# the config: a chain of layers


def _check_builtin(entry: dict, where: str) -> None:
    cls = entry.get("class_name")
    if not isinstance(cls, str):
        raise ModelFileError(f"{where}: a layer without a class_name")
    name = (entry.get("config") or {}).get("name") if isinstance(entry.get("config"), dict) else None
    label = f"layer {name!r} ({cls})" if name else f"a {cls} layer"
    if cls == "Lambda":
        raise ModelFileError(f"{where}: {label} is a Lambda layer: it holds Python code, which is never run — rebuild the "
                             "model without it")
    reg = entry.get("registered_name")
    module = entry.get("module")
    if (isinstance(reg, str) and reg not in (cls, f"keras.layers.{cls}")) or \
            (isinstance(module, str) and module not in BUILTIN_MODULES):
        raise ModelFileError(f"{where}: {label} is a custom object ({reg or module}); only built-in Keras layers are imported")
    if cls not in LAYERS and cls not in MODEL_CLASSES:
        raise ModelFileError(f"{where}: {label} is not supported; importable layers: {', '.join(LAYERS)}")
    act = (entry.get("config") or {}).get("activation") if isinstance(entry.get("config"), dict) else None
    if act is not None and (not isinstance(act, str) or act not in ACTIVATIONS):
        shown = act if isinstance(act, str) else "a custom function"
        raise ModelFileError(f"{where}: {label} uses the activation {shown!r}; supported: {', '.join(ACTIVATIONS)}")


def _history_names(obj) -> list:
    """The layer names a Functional inbound node reads (Keras 3 ``keras_history`` or Keras 2 lists)."""
    out = []
    stack = [obj]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            h = v.get("keras_history")
            if h is None and isinstance(v.get("config"), dict):
                h = v["config"].get("keras_history")
            if isinstance(h, list) and h and isinstance(h[0], str):
                out.append(h[0])
                continue
            stack.extend(v.values())
        elif isinstance(v, list):
            if len(v) >= 3 and isinstance(v[0], str) and isinstance(v[1], int):  # Keras 2: [name, node, tensor, {}]
                out.append(v[0])
            else:
                stack.extend(v)
    return out


def _flatten(entry: dict, where: str, path: tuple, keys: tuple, out: list, input_shape: list) -> None:
    """Append the layers of the model ``entry`` (a class_name/config dict) in order to ``out``."""
    _check_builtin(entry, where)
    cls = entry["class_name"]
    cfg = entry.get("config")
    if not isinstance(cfg, dict) or not isinstance(cfg.get("layers"), list):
        raise ModelFileError(f"{where}: model {'/'.join(path) or cls!r} has no list of layers")
    layers = cfg["layers"]
    if cls == "Sequential":
        ordered = layers
    else:
        by_name = {}
        for e in layers:
            if not isinstance(e, dict):
                raise ModelFileError(f"{where}: a layer entry is not an object")
            n = e.get("name") or (e.get("config") or {}).get("name")
            by_name[n] = e
        outs = cfg.get("output_layers")
        outs = _history_names(outs)
        ins = _history_names(cfg.get("input_layers"))
        if len(outs) != 1 or len(ins) != 1:
            raise ModelFileError(f"{where}: model {'/'.join(path) or cfg.get('name')!r} has {len(ins)} inputs and "
                                 f"{len(outs)} outputs; an encoder or decoder has one of each")
        chain, cur, seen = [], outs[0], set()
        while True:
            e = by_name.get(cur)
            if e is None or cur in seen:
                raise ModelFileError(f"{where}: layer {cur!r} is named as an input but not defined")
            seen.add(cur)
            chain.append(e)
            if cur == ins[0]:
                break
            nodes = e.get("inbound_nodes") or []
            if len(nodes) != 1:
                raise ModelFileError(f"{where}: layer {cur!r} is used {len(nodes)} times; only chains of layers are imported")
            src = _history_names(nodes[0])
            if len(src) != 1:
                raise ModelFileError(f"{where}: layer {cur!r} takes {len(src)} inputs; only chains of layers are imported")
            cur = src[0]
        ordered = chain[::-1]
    counts: dict = {}
    for e in ordered:
        if not isinstance(e, dict):
            raise ModelFileError(f"{where}: a layer entry is not an object")
        _check_builtin(e, where)
        lcls = e["class_name"]
        lcfg = e.get("config") if isinstance(e.get("config"), dict) else {}
        name = str(lcfg.get("name") or e.get("name") or lcls)
        if lcls == "InputLayer":
            shape = lcfg.get("batch_shape") or lcfg.get("batch_input_shape")
            if isinstance(shape, list) and not input_shape:
                input_shape.extend(shape[1:])
            if cls == "Sequential":
                continue
        base = _snake("Functional" if lcls == "Model" else lcls)
        k = counts.get(base, 0)
        counts[base] = k + 1
        key = base if k == 0 else f"{base}_{k}"
        if lcls in MODEL_CLASSES:
            _flatten(e, where, path + (name,), keys + (key,), out, input_shape)
            out.append(None)  # marks the end of a nested model
            continue
        if lcls == "InputLayer":
            continue
        if not input_shape:
            shape = lcfg.get("batch_input_shape") or lcfg.get("batch_shape")
            if isinstance(shape, list):
                input_shape.extend(shape[1:])
        layer = KLayer(path + (name,), lcls, lcfg)
        layer.keys = keys + (key,)
        out.append(layer)


def _build(path: Path, config, weights, version: str) -> KerasModel:
    where = str(path)
    if isinstance(config, dict) and "class_name" not in config and "config" in config:
        config = config["config"]
    if not isinstance(config, dict) or config.get("class_name") not in MODEL_CLASSES:
        cls = config.get("class_name") if isinstance(config, dict) else None
        raise ModelFileError(f"{where}: the config describes a {cls or 'non-model'}, not a Sequential or Functional model")
    raw: list = []
    shape: list = []
    _flatten(config, where, (), (), raw, shape)
    layers, groups = [], []
    for item in raw:
        if item is None:
            groups.append(len(layers))
        else:
            item.weights = weights.get(item)
            layers.append(item)
    if not shape or any(not isinstance(d, int) or d <= 0 for d in shape):
        raise ModelFileError(f"{where}: the model's input shape {shape or '?'} is not fixed; give the model an Input "
                             "with a fixed size")
    return KerasModel(path, layers, tuple(shape), sorted(set(groups)), version)


# ------------------------------------------------------------------------------------------------
# translation to torch


def _pair(v, what, layer) -> tuple:
    if isinstance(v, int) and not isinstance(v, bool):
        return (v, v)
    if isinstance(v, list) and len(v) == 2 and all(isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in v):
        return tuple(v)
    raise ModelFileError(f"layer {layer.name!r}: {what} {v!r} is not one or two positive whole numbers")


def _same_pads(n: int, k: int, s: int, d: int) -> tuple[int, int]:
    """TF's 'same' padding (the extra pixel at the end)."""
    keff = (k - 1) * d + 1
    out = -(-n // s)
    total = max((out - 1) * s + keff - n, 0)
    return total // 2, total - total // 2


def _activation(name, layer):
    from torch import nn

    if name is None or name == "linear":
        return None
    table = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "elu": nn.ELU, "selu": nn.SELU,
             "softplus": nn.Softplus, "silu": nn.SiLU, "swish": nn.SiLU, "gelu": nn.GELU}
    if name == "leaky_relu":
        return nn.LeakyReLU(0.2)
    if name in table:
        return table[name]()
    raise ModelFileError(f"layer {layer.name!r}: activation {name!r} is not supported")


def torch_network(layers: list, input_shape: tuple, source="model"):
    """The torch network equivalent to ``layers`` (Keras semantics: N×H×W×C images, channels-last flattening),
    and its output shape (without the batch dimension). The network takes and gives channels-last tensors."""
    import torch
    from torch import nn

    mods: list = []
    shape = tuple(input_shape)
    if len(shape) == 3:
        mods.append(_ToNCHW())
    elif len(shape) != 1:
        raise ModelFileError(f"{source}: input of shape {list(shape)}; an image (H, W, C) or a vector is needed")

    def t(a):
        return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))

    def expect(arr, want, what, layer):
        if tuple(arr.shape) != tuple(want):
            raise ModelFileError(f"{source}: layer {layer.name!r}: {what} has shape {list(arr.shape)}, the layer needs {list(want)}")

    for L in layers:
        c, cfg = L.cls, L.config
        if c in ("Conv2D", "Conv2DTranspose"):
            if len(shape) != 3:
                raise ModelFileError(f"{source}: layer {L.name!r} ({c}) gets input of shape {list(shape)}, not an image")
            if cfg.get("data_format") not in (None, "channels_last"):
                raise ModelFileError(f"{source}: layer {L.name!r}: data_format {cfg.get('data_format')!r}; only channels_last is imported")
            if cfg.get("groups", 1) != 1:
                raise ModelFileError(f"{source}: layer {L.name!r}: grouped convolutions are not supported")
            k = _pair(cfg.get("kernel_size"), "kernel_size", L)
            s = _pair(cfg.get("strides", 1), "strides", L)
            d = _pair(cfg.get("dilation_rate", 1), "dilation_rate", L)
            pad = cfg.get("padding", "valid")
            if pad not in ("same", "valid"):
                raise ModelFileError(f"{source}: layer {L.name!r}: padding {pad!r}; 'same' or 'valid' is imported")
            f = cfg.get("filters")
            if not isinstance(f, int) or f <= 0:
                raise ModelFileError(f"{source}: layer {L.name!r}: filters {f!r} is not a positive whole number")
            h, w, cin = shape
            kern = L.weights["kernel"]
            bias = L.weights.get("bias")
            if bias is not None:
                expect(bias, (f,), "bias", L)
            if c == "Conv2D":
                expect(kern, (k[0], k[1], cin, f), "kernel", L)
                conv = nn.Conv2d(cin, f, k, stride=s, dilation=d, bias=bias is not None)
                conv.weight.data = t(kern.transpose(3, 2, 0, 1))
                if bias is not None:
                    conv.bias.data = t(bias)
                if pad == "same":
                    (pt, pb), (pl, pr) = _same_pads(h, k[0], s[0], d[0]), _same_pads(w, k[1], s[1], d[1])
                    if pt == pb and pl == pr:
                        conv.padding = (pt, pl)
                        mods.append(conv)
                    else:
                        mods += [nn.ZeroPad2d((pl, pr, pt, pb)), conv]
                    oh, ow = -(-h // s[0]), -(-w // s[1])
                else:
                    mods.append(conv)
                    oh = (h - ((k[0] - 1) * d[0] + 1)) // s[0] + 1
                    ow = (w - ((k[1] - 1) * d[1] + 1)) // s[1] + 1
                if oh <= 0 or ow <= 0:
                    raise ModelFileError(f"{source}: layer {L.name!r} gets a {h}×{w} image, too small for its kernel")
            else:
                if cfg.get("output_padding") is not None:
                    raise ModelFileError(f"{source}: layer {L.name!r}: Conv2DTranspose with output_padding is not supported")
                expect(kern, (k[0], k[1], f, cin), "kernel", L)
                conv = nn.ConvTranspose2d(cin, f, k, stride=s, dilation=d, bias=False)
                conv.weight.data = t(kern.transpose(3, 2, 0, 1))
                dims = []
                for n_, k_, s_, d_ in ((h, k[0], s[0], d[0]), (w, k[1], s[1], d[1])):
                    keff = (k_ - 1) * d_ + 1
                    full = (n_ - 1) * s_ + keff
                    o = n_ * s_ if pad == "same" else n_ * s_ + max(keff - s_, 0)
                    before = max(full - o, 0) // 2 if pad == "same" else 0
                    dims.append((full, o, before))
                (fh, oh, bh), (fw, ow, bw) = dims
                if all(fu - o_ == 2 * b for fu, o_, b in dims):  # symmetric crop: torch's own padding
                    conv.padding = (bh, bw)
                    if bias is not None:
                        conv.bias = nn.Parameter(t(bias))
                    mods.append(conv)
                else:
                    mods += [conv, _CropPad((bh, oh), (bw, ow)), ]
                    if bias is not None:
                        mods.append(_Bias(t(bias)))
            shape = (oh, ow, f)
            act = _activation(cfg.get("activation"), L)
            if act is not None:
                mods.append(act)
        elif c == "Dense":
            if len(shape) != 1:
                raise ModelFileError(f"{source}: layer {L.name!r} (Dense) gets input of shape {list(shape)}; put a Flatten "
                                     "before it (Dense on images is not imported)")
            units = cfg.get("units")
            kern, bias = L.weights["kernel"], L.weights.get("bias")
            expect(kern, (shape[0], units), "kernel", L)
            lin = nn.Linear(shape[0], units, bias=bias is not None)
            lin.weight.data = t(kern.T)
            if bias is not None:
                expect(bias, (units,), "bias", L)
                lin.bias.data = t(bias)
            mods.append(lin)
            shape = (units,)
            act = _activation(cfg.get("activation"), L)
            if act is not None:
                mods.append(act)
        elif c == "Flatten":
            if cfg.get("data_format") not in (None, "channels_last"):
                raise ModelFileError(f"{source}: layer {L.name!r}: data_format {cfg.get('data_format')!r}; only channels_last is imported")
            if len(shape) == 3:
                mods.append(_FlattenNHWC())
            shape = (math.prod(shape),)
        elif c == "Reshape":
            target = list(cfg.get("target_shape") or [])
            total = math.prod(shape)
            if target.count(-1) == 1:
                rest = math.prod(v for v in target if v != -1)
                target[target.index(-1)] = total // rest if rest else 0
            if not all(isinstance(v, int) and v > 0 for v in target) or math.prod(target) != total:
                raise ModelFileError(f"{source}: layer {L.name!r}: cannot reshape {list(shape)} to {cfg.get('target_shape')}")
            if len(target) not in (1, 3):
                raise ModelFileError(f"{source}: layer {L.name!r}: reshape to rank {len(target)}; an image (H, W, C) or a "
                                     "vector is imported")
            if len(shape) == 3:
                mods.append(_FlattenNHWC())
            if len(target) == 3:
                mods.append(_Unflatten(tuple(target)))
            shape = tuple(target)
        elif c == "BatchNormalization":
            axis = cfg.get("axis", -1)
            if isinstance(axis, list) and len(axis) == 1:
                axis = axis[0]
            if axis not in (-1, len(shape)):
                raise ModelFileError(f"{source}: layer {L.name!r}: batch normalisation over axis {axis}; only the channel "
                                     "(last) axis is imported")
            ch = shape[-1]
            bn = (nn.BatchNorm2d if len(shape) == 3 else nn.BatchNorm1d)(ch, eps=float(cfg.get("epsilon", 1e-3)))
            for key, attr in (("gamma", "weight"), ("beta", "bias"), ("moving_mean", "running_mean"),
                              ("moving_variance", "running_var")):
                if key in L.weights:
                    expect(L.weights[key], (ch,), key, L)
                    getattr(bn, attr).data = t(L.weights[key])
            if (bn.running_var < 0).any():
                raise ModelFileError(f"{source}: layer {L.name!r}: a negative moving variance")
            mods.append(bn.eval())
        elif c == "Activation":
            act = _activation(cfg.get("activation"), L)
            if act is not None:
                mods.append(act)
        elif c == "ReLU":
            if float(cfg.get("threshold") or 0) != 0:
                raise ModelFileError(f"{source}: layer {L.name!r}: ReLU with a threshold is not supported")
            mods.append(_ReLU(float(cfg.get("negative_slope") or 0), cfg.get("max_value")))
        elif c == "LeakyReLU":
            slope = cfg.get("negative_slope", cfg.get("alpha", 0.3))
            mods.append(nn.LeakyReLU(float(slope)))
        elif c in IDENTITY_LAYERS:
            pass
        else:  # pragma: no cover - refused when read
            raise ModelFileError(f"{source}: layer {L.name!r} ({c}) is not supported")
    if len(shape) == 3:
        mods.append(_ToNHWC())
    return nn.Sequential(*mods).eval(), shape


def _torch_classes():
    import torch
    from torch import nn

    class ToNCHW(nn.Module):
        def forward(self, x):
            return x.permute(0, 3, 1, 2)

    class ToNHWC(nn.Module):
        def forward(self, x):
            return x.permute(0, 2, 3, 1)

    class FlattenNHWC(nn.Module):  # Keras flattens H, W, C (channels last)
        def forward(self, x):
            return x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)

    class Unflatten(nn.Module):
        def __init__(self, hwc):
            super().__init__()
            self.hwc = tuple(hwc)

        def forward(self, x):
            h, w, c = self.hwc
            return x.reshape(x.shape[0], h, w, c).permute(0, 3, 1, 2)

    class CropPad(nn.Module):
        """Cut rows/columns [b, b + o) of the full transposed-conv output; zeros where it is shorter."""

        def __init__(self, hs, ws):
            super().__init__()
            self.hs, self.ws = hs, ws

        def forward(self, x):
            (bh, oh), (bw, ow) = self.hs, self.ws
            x = x[:, :, bh : bh + oh, bw : bw + ow]
            ph, pw = oh - x.shape[2], ow - x.shape[3]
            if ph > 0 or pw > 0:
                x = nn.functional.pad(x, (0, max(pw, 0), 0, max(ph, 0)))
            return x

    class Bias(nn.Module):
        def __init__(self, b):
            super().__init__()
            self.b = nn.Parameter(b)

        def forward(self, x):
            return x + self.b.view(1, -1, 1, 1)

    class ReLU(nn.Module):
        def __init__(self, slope, max_value):
            super().__init__()
            self.slope, self.max_value = slope, None if max_value is None else float(max_value)

        def forward(self, x):
            y = torch.nn.functional.leaky_relu(x, self.slope) if self.slope else torch.relu(x)
            return y.clamp(max=self.max_value) if self.max_value is not None else y

    return ToNCHW, ToNHWC, FlattenNHWC, Unflatten, CropPad, Bias, ReLU


class _Lazy:
    def __init__(self, i):
        self.i = i

    def __call__(self, *a, **k):
        return _torch_classes()[self.i](*a, **k)


_ToNCHW, _ToNHWC, _FlattenNHWC, _Unflatten, _CropPad, _Bias, _ReLU = (_Lazy(i) for i in range(7))


# ------------------------------------------------------------------------------------------------
# encoder / decoder


def output_shapes(layers: list, input_shape: tuple) -> list:
    """The output shape after each layer (by building the network prefix by prefix: cheap for AEs)."""
    shapes = []
    for i in range(len(layers)):
        shapes.append(torch_network(layers[: i + 1], input_shape)[1])
    return shapes


def split_point(model: KerasModel, split_layer: Optional[str] = None) -> int:
    """How many layers form the encoder: after ``split_layer`` (a name, or a path a/b), after the first of two
    nested models, or after the narrowest Dense/Flatten output (and the element-wise layers that follow it)."""
    layers = model.layers
    if split_layer:
        hits = [i for i, L in enumerate(layers) if L.name == split_layer or L.path[-1] == split_layer]
        if len(hits) != 1:
            names = ", ".join(L.name for L in layers[:12])
            what = "no layer" if not hits else f"{len(hits)} layers"
            raise ModelFileError(f"{model.source}: --split-layer {split_layer!r}: {what} of that name (layers: {names}…)")
        return hits[0] + 1
    if len(model.top_groups) == 2 and model.top_groups[-1] == len(layers):
        return model.top_groups[0]
    shapes = _shapes_fast(layers, model.input_shape)
    best = None
    for i, L in enumerate(layers):
        if L.cls in ("Dense", "Flatten") and len(shapes[i]) == 1 and i < len(layers) - 1:
            if best is None or shapes[i][0] < shapes[best][0]:
                best = i
    if best is None:
        raise ModelFileError(f"{model.source}: no Dense or Flatten bottleneck to split the autoencoder at; name the "
                             "encoder's last layer (--split-layer)")
    end = best + 1
    while end < len(layers) - 1 and layers[end].cls in ELEMENTWISE:
        end += 1
    return end


def _shapes_fast(layers, input_shape) -> list:
    net_shapes = []
    for i in range(len(layers)):
        net_shapes.append(torch_network(layers[: i + 1], input_shape, "model")[1])
    return net_shapes


__all__ = ["read_keras", "torch_network", "split_point", "KerasModel", "KLayer", "LAYERS", "ACTIVATIONS", "sniff"]
