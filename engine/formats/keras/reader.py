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
import os
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from ...errors import ModelFileError
from .hdf5_safety import MAX_WEIGHT_MAGNITUDE, open_hdf5, open_user_file, read_weight  # noqa: F401
from .limits import Plan, plan_layers

MAX_KERAS_BYTES = 2**31 - 1
MAX_JSON_BYTES = 16 * 2**20
#: A .keras zip's members: Keras stores them uncompressed (float32 weights deflate by ~1.1×); a member that
#: declares more than this many times its compressed size (and more than ZIP_RATIO_FREE bytes) is a zip bomb,
#: refused before it is inflated. A header that lies is caught while inflating: never more than it declares.
MAX_ZIP_RATIO = 10
ZIP_RATIO_FREE = 16 * 2**20
MAX_ZIP_MEMBERS = 10_000
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
    plan: Optional[Plan] = None  # shapes, weight shapes and costs, from the config alone


# ------------------------------------------------------------------------------------------------
# files


def sniff(path: Path) -> str:
    """"keras" (zip), "h5" (HDF5), or a ModelFileError naming what the file is instead."""
    fh, size = open_user_file(path, "Keras model file", MAX_KERAS_BYTES)
    with fh:
        head = fh.read(16)
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
    from ..schema import parse_json

    try:
        return parse_json(data.decode("utf-8") if isinstance(data, bytes) else data, source)
    except UnicodeDecodeError:
        raise ModelFileError(f"{source}: not a text file") from None
    except ValueError as exc:
        raise ModelFileError(f"{source}: not valid JSON ({exc})") from None


def _zip_member(zf: zipfile.ZipFile, name: str, limit: int, path: Path) -> bytes:
    """One member of a .keras zip: its declared size and ratio checked before inflating, and the inflated bytes
    capped at the declared size while reading (a header may lie)."""
    info = zf.getinfo(name)
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ModelFileError(f"{path}: {name} is compressed with method {info.compress_type}; a .keras file's members "
                             "are stored or deflated")
    if info.file_size > limit:
        raise ModelFileError(f"{path}: {name} declares {info.file_size / 2**20:,.0f} MB; at most {limit // 2**20} MB "
                             "are read")
    if info.file_size > ZIP_RATIO_FREE and info.file_size > MAX_ZIP_RATIO * max(info.compress_size, 1):
        raise ModelFileError(f"{path}: {name} would inflate {info.compress_size:,} bytes to {info.file_size:,} "
                             f"(more than {MAX_ZIP_RATIO}×): a zip bomb, not inflated")
    out = io.BytesIO()
    with zf.open(info) as member:  # in pieces of 1 MB: the inflated bytes never exceed the declared size + 1 MB
        while out.tell() <= info.file_size:
            piece = member.read(min(2**20, info.file_size + 1 - out.tell()))
            if not piece:
                break
            out.write(piece)
    if out.tell() != info.file_size:
        raise ModelFileError(f"{path}: {name} inflates to {'more' if out.tell() > info.file_size else 'less'} than "
                             f"the {info.file_size:,} bytes its header declares: damaged or a zip bomb")
    out.seek(0)
    return out


def _check_central_directory(fh, path: Path) -> None:
    """Refuse a zip whose central directory declares more members (or bytes of it) than a .keras file has, from its
    end record alone: ``zipfile`` would otherwise parse every entry into memory first (a 27 MB zip of 300,000
    empty members cost 200 MB before the count could be checked)."""
    import struct

    size = fh.seek(0, os.SEEK_END)
    tail_len = min(size, zipfile.sizeEndCentDir + 65535)
    fh.seek(size - tail_len)
    tail = fh.read(tail_len)
    at = tail.rfind(zipfile.stringEndArchive)
    if at < 0 or len(tail) - at < zipfile.sizeEndCentDir:
        return  # not a zip end record: zipfile names the damage
    fields = struct.unpack(zipfile.structEndArchive, tail[at:at + zipfile.sizeEndCentDir])
    entries, cd_bytes = fields[4], fields[5]
    if entries > MAX_ZIP_MEMBERS or cd_bytes > MAX_ZIP_MEMBERS * 1024:
        raise ModelFileError(f"{path}: its zip directory declares {entries:,} members in {cd_bytes:,} bytes; a .keras "
                             "file holds a few")
    fh.seek(0)


def _checked(fh, path: Path):
    _check_central_directory(fh, path)
    return fh


def _read_zip(path: Path):
    """config.json and the bytes of model.weights.h5 of a .keras zip."""
    fh, _ = open_user_file(path, "Keras model file", MAX_KERAS_BYTES)
    try:
        with fh, zipfile.ZipFile(_checked(fh, path)) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_ZIP_MEMBERS:
                raise ModelFileError(f"{path}: {len(infos):,} members; a .keras file holds a few")
            names = {i.filename for i in infos}
            for need in ("config.json", "model.weights.h5"):
                if need not in names:
                    raise ModelFileError(f"{path}: a .keras file holds config.json and model.weights.h5; {need} is missing")
            config = _json(_zip_member(zf, "config.json", MAX_JSON_BYTES, path).getvalue(), f"{path}: config.json")
            return config, _zip_member(zf, "model.weights.h5", MAX_KERAS_BYTES, path)
    except (zipfile.BadZipFile, EOFError, OSError, zipfile.LargeZipFile, NotImplementedError, RuntimeError,
            ValueError, zlib.error) as exc:
        raise ModelFileError(f"{path}: truncated or damaged .keras file ({' '.join(str(exc).split())[:200]})") from None


def read_keras(path: str | os.PathLike, architecture: Optional[str | os.PathLike] = None,
               check: Optional[Callable[[KerasModel], None]] = None) -> KerasModel:
    """Read a Keras model file (and, for a weights-only file, its architecture JSON): layers + weights.

    The file is audited (``engine/formats/keras/hdf5_safety.py``) and the config's sizes checked against the app's limits
    (``engine/formats/keras/limits.py``) before any weight is read; ``check`` (the caller's own checks of the layers
    and shapes) runs then too."""
    path = Path(path)
    kind = sniff(path)
    arch = None
    if architecture is not None:
        from ...image_data import read_regular_file

        arch = _json(read_regular_file(architecture, "architecture JSON", limit=MAX_JSON_BYTES, error=ModelFileError),
                     str(architecture))
    if kind == "keras":
        config, weights = _read_zip(path)
        with open_hdf5(weights, len(weights.getbuffer()), f"{path}: model.weights.h5") as f:
            return _build(path, arch or config, lambda: _Keras3Weights(f, path), "3", check)
    fh, size = open_user_file(path, "Keras model file", MAX_KERAS_BYTES)
    with fh, open_hdf5(fh, size, str(path)) as f:
        version = _attr_text(f.attrs.get("keras_version", "?"))
        if "model_config" in f.attrs:
            text = "" if arch else _attr_text(f.attrs["model_config"])
            if len(text) > MAX_JSON_BYTES:
                raise ModelFileError(f"{path}: model_config holds {len(text):,} characters; at most {MAX_JSON_BYTES:,}")
            config = arch or _json(text, f"{path}: model_config")
            if "model_weights" not in f:
                raise ModelFileError(f"{path}: holds a model config but no model_weights group")
            return _build(path, config, lambda: _LegacyWeights(f["model_weights"], path), version, check)
        if arch is None:
            raise ModelFileError(f"{path}: holds weights only; give the architecture JSON too (model.to_json(), "
                                 "{opt:architecture} FILE)")
        if "layers" in f and "model_weights" not in f:
            return _build(path, arch, lambda: _Keras3Weights(f, path), version, check)
        return _build(path, arch, lambda: _LegacyWeights(f, path), version, check)


def _attr_text(v) -> str:
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, np.ndarray) and v.shape == ():
        return _attr_text(v.item())
    return str(v)


class _LegacyWeights:
    """Keras 2 / legacy HDF5: a group per top-level layer with a ``weight_names`` attribute."""

    def __init__(self, root, source):
        self.root, self.source = root, source

    def get(self, layer: KLayer, want: dict) -> dict:
        if not want:
            return {}
        top = layer.path[0]
        if top not in self.root:
            raise ModelFileError(f"{self.source}: no weights for layer {layer.name!r} (the file has no group {top!r})")
        g = self.root[top]
        names = [_attr_text(n) for n in g.attrs.get("weight_names", [])]
        found = {}
        for n in names:
            parts = n.split("/")
            var = parts[-1].split(":")[0]
            if len(parts) >= 2 and parts[-2] == layer.path[-1] and var in want:
                found[var] = n
        missing = [v for v in want if v not in found]
        if missing:
            raise ModelFileError(f"{self.source}: layer {layer.name!r} lacks its weight(s) {', '.join(missing)}")
        return {v: (_member(g, found[v]), f"{layer.name}/{v}") for v in want}


def _member(g, name: str):
    """``g[name]`` or None (a name from the file may be no valid HDF5 path)."""
    try:
        return g.get(name)
    except Exception:  # noqa: BLE001 - h5py's ValueError/KeyError for a malformed path
        return None


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
                lname = _attr_text(v.attrs["name"]) if isinstance(v, h5py.Group) and "name" in v.attrs else None
                entry = (sub, v if isinstance(v, h5py.Group) else None)
                self.by_key[keys + (key,)] = entry
                if lname is not None:
                    self.by_name[names + (lname,)] = entry
                stack.append((names + ((lname or key),), keys + (key,), sub))

    def get(self, layer: KLayer, want: dict) -> dict:
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
        return {w: (_member(v, str(i)), f"{layer.name}/{w}") for i, w in enumerate(want)}


def _read_weights(layers: list, plan: Plan, weights, source) -> None:
    """Every layer's datasets located and their declared shapes compared with the config first, then read."""
    located = [weights.get(L, want) for L, want in zip(layers, plan.weights)]
    for L, want, found in zip(layers, plan.weights, located):
        for var, (ds, name) in found.items():
            shape = getattr(ds, "shape", None)
            if shape is not None and tuple(shape) != tuple(want[var]):
                raise ModelFileError(f"{source}: weight {name} has shape {list(shape)}; its layer's config needs "
                                     f"{list(want[var])}")
    for L, want, found in zip(layers, plan.weights, located):
        L.weights = {var: read_weight(ds, want[var], source, name) for var, (ds, name) in found.items()}


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


def _build(path: Path, config, weights, version: str, check=None) -> KerasModel:
    """The model of ``config``: its layers, its sizes checked (and ``check`` run) from the config alone, then the
    weights of ``weights()`` read."""
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
            layers.append(item)
    if not shape or any(not isinstance(d, int) or isinstance(d, bool) or d <= 0 for d in shape):
        raise ModelFileError(f"{where}: the model's input shape {shape or '?'} is not fixed; give the model an Input "
                             "with a fixed size")
    model = KerasModel(path, layers, tuple(shape), sorted(set(groups)), version)
    model.plan = plan_layers(layers, model.input_shape, where)
    if check is not None:
        check(model)
    _read_weights(layers, model.plan, weights(), where)
    return model


# ------------------------------------------------------------------------------------------------
# encoder / decoder


def output_shapes(layers: list, input_shape: tuple) -> list:
    """The output shape after each layer (from the config alone: nothing is built)."""
    return list(plan_layers(layers, input_shape).shapes)


def split_point(model: KerasModel, split_layer: Optional[str] = None) -> int:
    """How many layers form the encoder: after ``split_layer`` (a name, or a path a/b), after the first of two
    nested models, or after the narrowest Dense/Flatten output (and the element-wise layers that follow it)."""
    layers = model.layers
    if split_layer:
        hits = [i for i, L in enumerate(layers) if L.name == split_layer or L.path[-1] == split_layer]
        if len(hits) != 1:
            names = ", ".join(L.name for L in layers[:12])
            what = "no layer" if not hits else f"{len(hits)} layers"
            raise ModelFileError(f"{model.source}: {{opt:split_layer}} {split_layer!r}: {what} of that name (layers: {names}…)")
        return hits[0] + 1
    if len(model.top_groups) == 2 and model.top_groups[-1] == len(layers):
        return model.top_groups[0]
    shapes = (model.plan or plan_layers(layers, model.input_shape, str(model.source))).shapes
    best = None
    for i, L in enumerate(layers):
        if L.cls in ("Dense", "Flatten") and len(shapes[i]) == 1 and i < len(layers) - 1:
            if best is None or shapes[i][0] < shapes[best][0]:
                best = i
    if best is None:
        raise ModelFileError(f"{model.source}: no Dense or Flatten bottleneck to split the autoencoder at; name the "
                             "encoder's last layer ({opt:split_layer})")
    end = best + 1
    while end < len(layers) - 1 and layers[end].cls in ELEMENTWISE:
        end += 1
    return end


__all__ = ["read_keras", "split_point", "KerasModel", "KLayer", "LAYERS", "ACTIVATIONS", "sniff"]
