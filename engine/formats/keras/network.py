"""A Keras layer chain translated into an equivalent torch network (``torch_network``), in inference mode: each
layer's weights (read and bounded by ``reader``) become a torch module's, NHWC layouts kept where Keras has them.
The sizes were checked by ``limits`` before anything is built; torch is imported only here, when a network is built.
"""
from __future__ import annotations

import numpy as np

from ...errors import ModelFileError
from .limits import pair, plan_layers, same_pads, transpose_dims
from .reader import IDENTITY_LAYERS, KLayer  # noqa: F401



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
    and its output shape (without the batch dimension). The network takes and gives channels-last tensors.
    The sizes are checked against the app's limits (``limits.plan_layers``) before a module is built."""
    from torch import nn

    plan = plan_layers(layers, input_shape, source)
    shape = tuple(input_shape)
    mods: list = [_ToNCHW()] if len(shape) == 3 else []
    for L, out, want in zip(layers, plan.shapes, plan.weights):
        for var, wshape in want.items():
            arr = L.weights.get(var)
            if arr is None or tuple(arr.shape) != tuple(wshape):
                got = "missing" if arr is None else f"of shape {list(arr.shape)}"
                raise ModelFileError(f"{source}: layer {L.name!r}: {var} is {got}, the layer needs {list(wshape)}")
        mods += _modules(L, shape, out, source)
        shape = out
    if len(shape) == 3:
        mods.append(_ToNHWC())
    return nn.Sequential(*mods).eval(), shape


def _t(a):
    import torch

    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))


def _modules(L: KLayer, shape: tuple, out: tuple, source) -> list:
    """The torch modules of one layer (its config already checked by ``plan_layers``)."""
    from torch import nn

    c, cfg = L.cls, L.config
    if c == "Conv2D":
        mods = _conv2d(L, shape)
    elif c == "Conv2DTranspose":
        mods = _conv2d_transpose(L, shape, out)
    elif c == "Dense":
        lin = nn.Linear(shape[0], out[0], bias="bias" in L.weights)
        lin.weight.data = _t(L.weights["kernel"].T)
        if "bias" in L.weights:
            lin.bias.data = _t(L.weights["bias"])
        mods = [lin]
    elif c == "Flatten":
        return [_FlattenNHWC()] if len(shape) == 3 else []
    elif c == "Reshape":
        return ([_FlattenNHWC()] if len(shape) == 3 else []) + ([_Unflatten(out)] if len(out) == 3 else [])
    elif c == "BatchNormalization":
        bn = (nn.BatchNorm2d if len(shape) == 3 else nn.BatchNorm1d)(shape[-1], eps=float(cfg.get("epsilon", 1e-3)))
        for key, attr in (("gamma", "weight"), ("beta", "bias"), ("moving_mean", "running_mean"),
                          ("moving_variance", "running_var")):
            if key in L.weights:
                getattr(bn, attr).data = _t(L.weights[key])
        if (bn.running_var < 0).any():
            raise ModelFileError(f"{source}: layer {L.name!r}: a negative moving variance")
        return [bn.eval()]
    elif c == "ReLU":
        if float(cfg.get("threshold") or 0) != 0:
            raise ModelFileError(f"{source}: layer {L.name!r}: ReLU with a threshold is not supported")
        return [_ReLU(float(cfg.get("negative_slope") or 0), cfg.get("max_value"))]
    elif c == "LeakyReLU":
        return [nn.LeakyReLU(float(cfg.get("negative_slope", cfg.get("alpha", 0.3))))]
    elif c == "Activation":
        mods = []
    elif c in IDENTITY_LAYERS:
        return []
    else:  # pragma: no cover - refused when read
        raise ModelFileError(f"{source}: layer {L.name!r} ({c}) is not supported")
    act = _activation(cfg.get("activation"), L)
    return mods + ([act] if act is not None else [])


def _conv2d(L: KLayer, shape: tuple) -> list:
    from torch import nn

    cfg = L.config
    k, s, d = (pair(cfg.get(key, 1), key, L) for key in ("kernel_size", "strides", "dilation_rate"))
    h, w, cin = shape
    kern, bias = L.weights["kernel"], L.weights.get("bias")
    conv = nn.Conv2d(cin, kern.shape[3], k, stride=s, dilation=d, bias=bias is not None)
    conv.weight.data = _t(kern.transpose(3, 2, 0, 1))
    if bias is not None:
        conv.bias.data = _t(bias)
    if cfg.get("padding", "valid") != "same":
        return [conv]
    (pt, pb), (pl, pr) = same_pads(h, k[0], s[0], d[0]), same_pads(w, k[1], s[1], d[1])
    if pt == pb and pl == pr:
        conv.padding = (pt, pl)
        return [conv]
    return [nn.ZeroPad2d((pl, pr, pt, pb)), conv]


def _conv2d_transpose(L: KLayer, shape: tuple, out: tuple) -> list:
    from torch import nn

    cfg = L.config
    k, s, d = (pair(cfg.get(key, 1), key, L) for key in ("kernel_size", "strides", "dilation_rate"))
    pad = cfg.get("padding", "valid")
    h, w, cin = shape
    kern, bias = L.weights["kernel"], L.weights.get("bias")
    conv = nn.ConvTranspose2d(cin, kern.shape[2], k, stride=s, dilation=d, bias=False)
    conv.weight.data = _t(kern.transpose(3, 2, 0, 1))
    dims = [transpose_dims(h, k[0], s[0], d[0], pad), transpose_dims(w, k[1], s[1], d[1], pad)]
    (_, oh, bh), (_, ow, bw) = dims
    if all(fu - o_ == 2 * b for fu, o_, b in dims):  # symmetric crop: torch's own padding
        conv.padding = (bh, bw)
        if bias is not None:
            conv.bias = nn.Parameter(_t(bias))
        return [conv]
    return [conv, _CropPad((bh, oh), (bw, ow))] + ([_Bias(_t(bias))] if bias is not None else [])


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
