"""The sizes of an imported Keras network, from its JSON config alone (nothing is built, no weight is read).

For every layer of the chain: its output shape, the shapes its weight arrays must have, and its cost
(parameters, activation values, multiply-adds for one image), in exact integer arithmetic. The importer
checks them against the app's limits (``engine/architecture.py``, and what the ONNX model folder reader
accepts) before it reads a single weight, builds a torch module or probes anything: a 21 KB file whose
input claims 16384×16384 pixels, or whose config declares a 20000×20000 kernel, is refused in
milliseconds, within the memory of its own size.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

from ... import architecture as arch
from ..onnx import card as onnx_limits
from ...errors import ModelFileError

#: The imported model's image side: the app's native limit (which the ONNX folder reader's is above).
MAX_IMAGE_SIZE = min(arch.MAX_IMAGE_SIZE, onnx_limits.MAX_IMAGE_SIZE)
#: The z-vector: the app's native limit (the ONNX folder reader's is above).
MAX_Z_DIM = min(arch.MAX_Z_DIM, onnx_limits.MAX_Z_DIM)
MAX_CHANNELS = arch.MAX_CHANNELS
MAX_PARAMETERS = arch.MAX_PARAMETERS
MAX_ACTIVATIONS_PER_IMAGE = arch.MAX_ACTIVATIONS_PER_IMAGE
#: Multiply-adds for one image through encoder and decoder: the import exports and probes the network on a
#: few images (about 6 passes), and every later job runs it: 10 G multiply-adds is a few seconds an image on
#: one core, and ~5× a large 256-px face autoencoder. A config asking for more is refused before anything runs.
MAX_MACS_PER_IMAGE = 10 * 10**9
#: Layers of the flattened chain.
MAX_LAYERS = 1000


@dataclass
class Plan:
    """Per layer: output shape and weight shapes; in total: parameters, activation values, multiply-adds."""

    shapes: list = field(default_factory=list)  # output shape after each layer
    weights: list = field(default_factory=list)  # per layer: {canonical name: shape}
    params: int = 0
    activations: int = 0
    macs: int = 0


def _whole(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _number(v, what, layer, source) -> float:
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(float(v)):
        raise ModelFileError(f"{source}: layer {layer.name!r}: {what} {v!r} is not a number")
    return float(v)


def pair(v, what, layer, source="model") -> tuple:
    """One or two positive whole numbers (a kernel size, strides, a dilation) as a pair."""
    if _whole(v) and v > 0:
        return (int(v), int(v))
    if isinstance(v, (list, tuple)) and len(v) == 2 and all(_whole(x) and x > 0 for x in v):
        return (int(v[0]), int(v[1]))
    raise ModelFileError(f"{source}: layer {layer.name!r}: {what} {v!r} is not one or two positive whole numbers")


def same_pads(n: int, k: int, s: int, d: int) -> tuple[int, int]:
    """TF's 'same' padding of a convolution (the extra pixel at the end)."""
    keff = (k - 1) * d + 1
    out = -(-n // s)
    total = max((out - 1) * s + keff - n, 0)
    return total // 2, total - total // 2


def transpose_dims(n: int, k: int, s: int, d: int, pad: str) -> tuple[int, int, int]:
    """Keras' Conv2DTranspose along one axis: (the full output, Keras' output size, the rows cut before)."""
    keff = (k - 1) * d + 1
    full = (n - 1) * s + keff
    o = n * s if pad == "same" else n * s + max(keff - s, 0)
    before = max(full - o, 0) // 2 if pad == "same" else 0
    return full, o, before


def _conv(L, shape, source, plan: Plan) -> tuple:
    c, cfg = L.cls, L.config
    if len(shape) != 3:
        raise ModelFileError(f"{source}: layer {L.name!r} ({c}) gets input of shape {list(shape)}, not an image")
    if cfg.get("data_format") not in (None, "channels_last"):
        raise ModelFileError(f"{source}: layer {L.name!r}: data_format {cfg.get('data_format')!r}; only channels_last is imported")
    if cfg.get("groups", 1) != 1:
        raise ModelFileError(f"{source}: layer {L.name!r}: grouped convolutions are not supported")
    if c == "Conv2DTranspose" and cfg.get("output_padding") is not None:
        raise ModelFileError(f"{source}: layer {L.name!r}: Conv2DTranspose with output_padding is not supported")
    k = pair(cfg.get("kernel_size"), "kernel_size", L, source)
    s = pair(cfg.get("strides", 1), "strides", L, source)
    d = pair(cfg.get("dilation_rate", 1), "dilation_rate", L, source)
    pad = cfg.get("padding", "valid")
    if pad not in ("same", "valid"):
        raise ModelFileError(f"{source}: layer {L.name!r}: padding {pad!r}; 'same' or 'valid' is imported")
    f = cfg.get("filters")
    if not _whole(f) or f <= 0:
        raise ModelFileError(f"{source}: layer {L.name!r}: filters {f!r} is not a positive whole number")
    if f > MAX_CHANNELS:
        raise ModelFileError(f"{source}: layer {L.name!r}: {f} filters; at most {MAX_CHANNELS} channels are supported")
    h, w, cin = shape
    kw = (k[0], k[1], cin, f) if c == "Conv2D" else (k[0], k[1], f, cin)
    bias = bool(cfg.get("use_bias", True))
    plan.weights.append({"kernel": kw, **({"bias": (f,)} if bias else {})})
    plan.params += math.prod(kw) + (f if bias else 0)
    if c == "Conv2D":
        if pad == "same":
            (pt, pb), (pl, pr) = same_pads(h, k[0], s[0], d[0]), same_pads(w, k[1], s[1], d[1])
            if (pt, pl) != (pb, pr):
                plan.activations += (h + pt + pb) * (w + pl + pr) * cin  # the explicit zero padding
            oh, ow = -(-h // s[0]), -(-w // s[1])
        else:
            oh = (h - ((k[0] - 1) * d[0] + 1)) // s[0] + 1
            ow = (w - ((k[1] - 1) * d[1] + 1)) // s[1] + 1
        if oh <= 0 or ow <= 0:
            raise ModelFileError(f"{source}: layer {L.name!r} gets a {h}×{w} image, too small for its kernel")
        plan.macs += k[0] * k[1] * cin * f * oh * ow
    else:
        (fh, oh, _), (fw, ow, _) = (transpose_dims(h, k[0], s[0], d[0], pad), transpose_dims(w, k[1], s[1], d[1], pad))
        plan.activations += fh * fw * f  # the full output before the crop
        plan.macs += k[0] * k[1] * cin * f * h * w
    return (oh, ow, f)


def _reshape(L, shape, source) -> tuple:
    target = L.config.get("target_shape")
    target = list(target) if isinstance(target, (list, tuple)) else []
    total = math.prod(shape)
    if target.count(-1) == 1:
        rest = math.prod(v for v in target if v != -1) if all(_whole(v) for v in target) else 0
        target[target.index(-1)] = total // rest if rest > 0 else 0
    if not target or not all(_whole(v) and v > 0 for v in target) or math.prod(target) != total:
        raise ModelFileError(f"{source}: layer {L.name!r}: cannot reshape {list(shape)} to {L.config.get('target_shape')}")
    if len(target) not in (1, 3):
        raise ModelFileError(f"{source}: layer {L.name!r}: reshape to rank {len(target)}; an image (H, W, C) or a "
                             "vector is imported")
    return tuple(int(v) for v in target)


def _layer(L, shape, source, plan: Plan) -> tuple:
    """The output shape of one layer (and its weights and costs added to ``plan``)."""
    c, cfg = L.cls, L.config
    if c in ("Conv2D", "Conv2DTranspose"):
        return _conv(L, shape, source, plan)
    weights: dict = {}
    if c == "Dense":
        if len(shape) != 1:
            raise ModelFileError(f"{source}: layer {L.name!r} (Dense) gets input of shape {list(shape)}; put a Flatten "
                                 "before it (Dense on images is not imported)")
        units = cfg.get("units")
        if not _whole(units) or units <= 0:
            raise ModelFileError(f"{source}: layer {L.name!r}: units {units!r} is not a positive whole number")
        weights = {"kernel": (shape[0], units), **({"bias": (units,)} if cfg.get("use_bias", True) else {})}
        plan.macs += shape[0] * units
        shape = (int(units),)
    elif c == "Flatten":
        if cfg.get("data_format") not in (None, "channels_last"):
            raise ModelFileError(f"{source}: layer {L.name!r}: data_format {cfg.get('data_format')!r}; only channels_last is imported")
        shape = (math.prod(shape),)
    elif c == "Reshape":
        shape = _reshape(L, shape, source)
    elif c == "BatchNormalization":
        axis = cfg.get("axis", -1)
        if isinstance(axis, list) and len(axis) == 1:
            axis = axis[0]
        if axis not in (-1, len(shape)) or isinstance(axis, bool):
            raise ModelFileError(f"{source}: layer {L.name!r}: batch normalisation over axis {axis}; only the channel "
                                 "(last) axis is imported")
        if _number(cfg.get("epsilon", 1e-3), "epsilon", L, source) < 0:
            raise ModelFileError(f"{source}: layer {L.name!r}: a negative epsilon")
        names = (["gamma"] if cfg.get("scale", True) else []) + (["beta"] if cfg.get("center", True) else []) \
            + ["moving_mean", "moving_variance"]
        weights = {n: (shape[-1],) for n in names}
    elif c == "ReLU":
        for key in ("threshold", "negative_slope", "max_value"):
            if cfg.get(key) is not None:
                _number(cfg[key], key, L, source)
    elif c == "LeakyReLU":
        _number(cfg.get("negative_slope", cfg.get("alpha", 0.3)), "negative_slope", L, source)
    plan.weights.append(weights)
    plan.params += sum(math.prod(s) for s in weights.values())
    return shape


def plan_layers(layers: list, input_shape: tuple, source="model") -> Plan:
    """Every layer's output and weight shapes and the network's costs, checked against the app's limits
    (``ModelFileError`` naming the layer, the size and the limit) — from the config alone."""
    if len(layers) > MAX_LAYERS:
        raise ModelFileError(f"{source}: {len(layers)} layers; at most {MAX_LAYERS} are imported")
    shape = tuple(input_shape)
    check_input(shape, source)
    plan = Plan()
    plan.activations = math.prod(shape)
    for L in layers:
        shape = _layer(L, shape, source, plan)
        plan.shapes.append(shape)
        plan.activations += math.prod(shape)
        _check_totals(plan, source, L)
    return plan


def check_input(shape: tuple, source) -> None:
    """The input of a model file: an image (H, W, C) of at most MAX_IMAGE_SIZE a side, or a z-vector."""
    if len(shape) == 3:
        h, w, c = shape
        if max(h, w) > MAX_IMAGE_SIZE:
            raise ModelFileError(f"{source}: the model takes {h}×{w} images; at most {MAX_IMAGE_SIZE}×{MAX_IMAGE_SIZE} "
                                 "are supported")
        if c > MAX_CHANNELS:
            raise ModelFileError(f"{source}: the model takes images of {c} channels; at most {MAX_CHANNELS} are supported")
    elif len(shape) == 1:
        if shape[0] > MAX_Z_DIM:
            raise ModelFileError(f"{source}: the model takes vectors of {shape[0]} values; a z-vector of at most "
                                 f"{MAX_Z_DIM} is supported")
    else:
        raise ModelFileError(f"{source}: input of shape {list(shape)}; an image (H, W, C) or a vector is needed")


def _check_totals(plan: Plan, source, layer=None) -> None:
    at = f" (at layer {layer.name!r})" if layer is not None else ""
    if plan.params > MAX_PARAMETERS:
        raise ModelFileError(f"{source}: the network would have {plan.params:,} parameters{at}; at most "
                             f"{MAX_PARAMETERS:,} are supported")
    if plan.activations > MAX_ACTIVATIONS_PER_IMAGE:
        raise ModelFileError(f"{source}: the network would need {plan.activations * 4 / 2**20:,.0f} MB of activations "
                             f"per image{at}; at most {MAX_ACTIVATIONS_PER_IMAGE * 4 // 2**20} MB are supported")
    if plan.macs > MAX_MACS_PER_IMAGE:
        raise ModelFileError(f"{source}: the network would need {plan.macs / 1e9:,.1f} G multiply-adds per image{at}; "
                             f"at most {MAX_MACS_PER_IMAGE / 1e9:g} G are supported")


def check_pair(enc: Plan, dec: Plan, source) -> None:
    """Encoder + decoder together within the limits (each was checked alone)."""
    both = Plan(params=enc.params + dec.params, activations=enc.activations + dec.activations, macs=enc.macs + dec.macs)
    _check_totals(both, source)


__all__ = ["Plan", "plan_layers", "check_input", "check_pair", "pair", "same_pads", "transpose_dims",
           "MAX_IMAGE_SIZE", "MAX_Z_DIM", "MAX_MACS_PER_IMAGE"]
