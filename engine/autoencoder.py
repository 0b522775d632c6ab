"""The standard convolutional autoencoder of the seed blog, in PyTorch.

Encoder: 4 × Conv2D (stride 2) → flatten → dense → z (``z_dim``, 256 by default, no activation).
Decoder: dense → reshape → 4 × Conv2DTranspose (stride 2) → sigmoid, so the output is in [0, 1].
No VAE terms, no extra cost functions. Batch normalisation is an option (the blog's networks had
none); the shipped default is the one measured best (see ``ArchitectureConfig.batch_norm``).
"""
from __future__ import annotations

import numbers
from dataclasses import asdict, dataclass
from typing import Mapping, Optional

import torch
from torch import nn

from .errors import EngineError, ModelFileError

#: Limits of the architectures this app builds or loads: far above any face model it is meant for (the default is
#: 64 px, z_dim 256, 3.5 M parameters; the GUI offers up to 128 px and z_dim 4096, 136 M) and low enough that a
#: network within them can be allocated: a hostile or mistyped size (``z_dim: 100000000``, ``image_size: 8192``)
#: is refused before anything is built.
MAX_IMAGE_SIZE = 512
MAX_Z_DIM = 8192
MAX_CHANNELS = 4096
#: 250 M parameters = 1 GB of float32 weights (4 GB with the gradients and Adam's two moments while training).
MAX_PARAMETERS = 250_000_000
#: Activation values one image produces on its way through the encoder and the decoder (float32: 256 MB an image).
MAX_ACTIVATIONS_PER_IMAGE = 64 * 2**20
#: Probe outputs beyond these are a damaged network (the default model: |z| ≤ 7 for a grey image, |logit| ≤ 7).
PROBE_Z_LIMIT = 1e6
PROBE_LOGIT_LIMIT = 1e3  # sigmoid(±104) is already exactly 0 or 1 in float32


@dataclass(frozen=True)
class ArchitectureConfig:
    image_size: int = 64
    channels: tuple[int, ...] = (32, 64, 128, 256)
    z_dim: int = 256
    kernel_size: int = 4
    batch_norm: bool = True  # measured: val MSE 0.0104 vs 0.0146 without, after 4 epochs on celeba-9k
    leaky_slope: float = 0.2

    def __post_init__(self):
        if len(self.channels) != 4:
            raise ModelFileError(f"the architecture needs 4 encoder channel widths, got {list(self.channels)}")
        if self.image_size % 16 or self.image_size < 16:
            raise ModelFileError(f"image size must be a multiple of 16 (4 stride-2 layers), got {self.image_size}")
        if self.z_dim < 2:
            raise ModelFileError(f"z_dim must be at least 2, got {self.z_dim}")
        if self.kernel_size not in (3, 4, 5):
            raise ModelFileError(f"kernel_size must be 3, 4 or 5, got {self.kernel_size}")
        try:
            check_architecture_limits(self.image_size, self.z_dim, self.channels, self.kernel_size)
        except EngineError as exc:
            raise ModelFileError(str(exc)) from None

    @property
    def bottom(self) -> int:
        return self.image_size // 16

    def to_dict(self) -> dict:
        d = asdict(self)
        d["channels"] = list(self.channels)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ArchitectureConfig":
        try:
            fields = dict(
                image_size=_int(d, "image_size"),
                channels=tuple(_int_list(d, "channels")),
                z_dim=_int(d, "z_dim"),
                kernel_size=_int(d, "kernel_size"),
                batch_norm=_bool(d, "batch_norm"),
                leaky_slope=float(d.get("leaky_slope", 0.2)),
            )
        except KeyError as exc:
            raise ModelFileError(f"architecture is missing the key {exc}") from None
        if len(fields["channels"]) == 4 and fields["kernel_size"] in (3, 4, 5):  # else __post_init__ says why
            try:  # named as config.json spells them: architecture.z_dim …
                check_architecture_limits(fields["image_size"], fields["z_dim"], fields["channels"],
                                          fields["kernel_size"], names=CONFIG_NAMES)
            except EngineError as exc:
                raise ModelFileError(str(exc)) from None
        return cls(**fields)


#: How ``check_architecture_limits`` names the sizes: as config.json spells them, and as ``main.py train`` does.
CONFIG_NAMES = {"image_size": "architecture.image_size", "z_dim": "architecture.z_dim", "channels": "architecture.channels"}
CLI_NAMES = {"image_size": "--image-size", "z_dim": "--z-dim", "channels": "--channels"}


def parameter_count(image_size: int, z_dim: int, channels, kernel_size: int = 4, batch_norm: bool = True) -> int:
    """The number of parameters of ``ConvAutoencoder`` for these sizes, in exact integer arithmetic (nothing is built)."""
    k2 = kernel_size * kernel_size
    ch = [int(c) for c in channels]
    flat = ch[-1] * (image_size // 16) ** 2
    n, c_in = 0, 3
    for c in ch:  # encoder convs (+ batch-norm weight and bias)
        n += c_in * c * k2 + c + (2 * c if batch_norm else 0)
        c_in = c
    n += flat * z_dim + z_dim + z_dim * flat + flat  # encoder_fc, decoder_fc
    widths = ch[::-1]
    for a, b in zip(widths[:3], widths[1:]):
        n += a * b * k2 + b + (2 * b if batch_norm else 0)
    return n + widths[3] * 3 * k2 + 3


def activations_per_image(image_size: int, z_dim: int, channels) -> int:
    """Output values of every layer for one image, encoder and decoder (what a forward pass keeps for training)."""
    ch = [int(c) for c in channels]
    sides = [image_size // 2 ** (i + 1) for i in range(4)]  # the encoder's outputs; the decoder mirrors them
    return 2 * sum(c * s * s for c, s in zip(ch, sides)) + 2 * z_dim + 3 * image_size * image_size


def check_architecture_limits(image_size, z_dim, channels, kernel_size: int = 4, *,
                              names: Optional[Mapping[str, str]] = None) -> None:
    """Refuse sizes whose network could not be allocated (or would overflow while being built), with a message
    naming the size and its limit. ``names`` says how to name them (default: ``image_size`` …; ``CONFIG_NAMES``,
    ``CLI_NAMES``). Called by ``ArchitectureConfig`` (so by every config.json read) and by ``main.py train``."""
    nm = {"image_size": "image_size", "z_dim": "z_dim", "channels": "channels", **(names or {})}

    def whole(v) -> bool:
        return isinstance(v, numbers.Integral) and not isinstance(v, bool)

    if not whole(image_size) or not 16 <= image_size <= MAX_IMAGE_SIZE or image_size % 16:
        raise EngineError(f"{nm['image_size']} must be a multiple of 16 from 16 to {MAX_IMAGE_SIZE}, got {image_size!r}")
    if not whole(z_dim):
        raise EngineError(f"{nm['z_dim']} must be a whole number from 2 to {MAX_Z_DIM}, got {z_dim!r}")
    if not 2 <= z_dim <= MAX_Z_DIM:
        raise EngineError(f"{nm['z_dim']} must be at least 2 and at most {MAX_Z_DIM}, got {z_dim}")
    ch = list(channels) if isinstance(channels, (list, tuple)) else None
    if ch is None or len(ch) != 4 or not all(whole(c) and 1 <= c <= MAX_CHANNELS for c in ch):
        shown = list(channels) if isinstance(channels, (list, tuple)) else repr(channels)
        raise EngineError(f"{nm['channels']} must be 4 whole numbers from 1 to {MAX_CHANNELS}, got {shown}")
    if kernel_size not in (3, 4, 5):
        raise EngineError(f"kernel_size must be 3, 4 or 5, got {kernel_size!r}")
    sizes = f"{nm['image_size']} {image_size}, {nm['channels']} {ch}, {nm['z_dim']} {z_dim}"
    n = parameter_count(image_size, z_dim, ch, kernel_size)
    if n > MAX_PARAMETERS:
        raise EngineError(f"the network of {sizes} would have {n:,} parameters ({n * 4 / 1e9:.1f} GB as float32); "
                          f"at most {MAX_PARAMETERS:,} are supported")
    act = activations_per_image(image_size, z_dim, ch)
    if act > MAX_ACTIVATIONS_PER_IMAGE:
        raise EngineError(f"the network of {sizes} would need {act * 4 / 2**20:,.0f} MB of activations per image; "
                          f"at most {MAX_ACTIVATIONS_PER_IMAGE * 4 // 2**20} MB are supported")


def _int(d: dict, key: str) -> int:
    v = d[key]
    if isinstance(v, bool) or not isinstance(v, int):
        raise ModelFileError(f"architecture.{key} must be an integer, got {v!r}")
    return v


def _int_list(d: dict, key: str) -> list[int]:
    v = d[key]
    if not isinstance(v, list) or not all(isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in v):
        raise ModelFileError(f"architecture.{key} must be a list of positive integers, got {v!r}")
    return v


def _bool(d: dict, key: str) -> bool:
    v = d[key]
    if not isinstance(v, bool):
        raise ModelFileError(f"architecture.{key} must be true or false, got {v!r}")
    return v


def _padding(k: int) -> tuple[int, int]:
    """(padding, output_padding) making stride-2 layers halve / double exactly."""
    return {3: (1, 1), 4: (1, 0), 5: (2, 1)}[k]


class ConvAutoencoder(nn.Module):
    def __init__(self, arch: ArchitectureConfig):
        super().__init__()
        self.arch = arch
        k = arch.kernel_size
        pad, out_pad = _padding(k)
        ch = list(arch.channels)

        def block(layer, width):
            parts = [layer]
            if arch.batch_norm:
                parts.append(nn.BatchNorm2d(width))
            parts.append(nn.LeakyReLU(arch.leaky_slope))
            return parts

        enc: list[nn.Module] = []
        c_in = 3
        for c in ch:
            enc += block(nn.Conv2d(c_in, c, k, stride=2, padding=pad), c)
            c_in = c
        self.encoder_conv = nn.Sequential(*enc)
        flat = ch[-1] * arch.bottom * arch.bottom
        self.encoder_fc = nn.Linear(flat, arch.z_dim)

        self.decoder_fc = nn.Linear(arch.z_dim, flat)
        dec: list[nn.Module] = [nn.LeakyReLU(arch.leaky_slope)]
        widths = list(reversed(ch))  # 256,128,64,32
        for i in range(3):
            dec += block(
                nn.ConvTranspose2d(widths[i], widths[i + 1], k, stride=2, padding=pad, output_padding=out_pad),
                widths[i + 1],
            )
        dec += [nn.ConvTranspose2d(widths[3], 3, k, stride=2, padding=pad, output_padding=out_pad), nn.Sigmoid()]
        self.decoder_conv = nn.Sequential(*dec)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """x: B×3×S×S float in [0, 1] → B×z_dim."""
        h = self.encoder_conv(x)
        return self.encoder_fc(h.flatten(1))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z: B×z_dim → B×3×S×S in [0, 1]."""
        a = self.arch
        h = self.decoder_fc(z).view(-1, a.channels[-1], a.bottom, a.bottom)
        return self.decoder_conv(h)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """The decoder's output before the final sigmoid (a saturated sigmoid hides overflowing weights)."""
        a = self.arch
        h = self.decoder_fc(z).view(-1, a.channels[-1], a.bottom, a.bottom)
        return self.decoder_conv[:-1](h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def expected_shapes(arch: ArchitectureConfig) -> dict[str, tuple[int, ...]]:
    """The tensor names and shapes a weights file must hold for ``arch``."""
    return {k: shape for k, (shape, _) in expected_tensors(arch).items()}


def expected_tensors(arch: ArchitectureConfig) -> dict[str, tuple[tuple[int, ...], bool]]:
    """Name → (shape, is floating point) of every tensor a weights file must hold for ``arch``; the only integer
    ones are batch norm's ``num_batches_tracked`` counters. Built on the meta device: nothing is allocated."""
    with torch.device("meta"):
        m = ConvAutoencoder(arch)
    return {k: (tuple(v.shape), v.is_floating_point()) for k, v in m.state_dict().items()}


@torch.no_grad()
def probe_outputs(model: "ConvAutoencoder") -> Optional[str]:
    """Run a tiny fixed probe (encode a mid-grey and a noise image, decode the grey's z and a standard-normal z) in
    eval mode; return what is wrong with the outputs (NaN/Inf or absurd magnitudes), or None when they are sane.

    Costs a few ms for the default model; uses its own random generator (the global seed is left alone)."""
    was_training = model.training
    model.eval()
    try:
        a = model.arch
        p = next(model.parameters())
        g = torch.Generator().manual_seed(20240601)
        x = torch.cat([torch.full((1, 3, a.image_size, a.image_size), 0.5),
                       torch.rand((1, 3, a.image_size, a.image_size), generator=g)])
        x = x.to(p.device)
        if p.dim() == 4 and p.is_contiguous(memory_format=torch.channels_last) and not p.is_contiguous():
            x = x.contiguous(memory_format=torch.channels_last)
        z = model.encode(x).float()
        if not bool(torch.isfinite(z).all()):
            return "encoding a probe image gives NaN or Inf"
        zmax = float(z.abs().max())
        if zmax > PROBE_Z_LIMIT:
            return f"encoding a probe image gives |z| up to {zmax:.3g} (a sane network stays far below {PROBE_Z_LIMIT:g})"
        zz = torch.cat([z[:1], torch.randn((1, a.z_dim), generator=g).to(p.device)])
        y = model.decode_logits(zz).float()
        if not bool(torch.isfinite(y).all()):
            return "decoding a probe z-vector gives NaN or Inf"
        ymax = float(y.abs().max())
        if ymax > PROBE_LOGIT_LIMIT:
            return (f"decoding a probe z-vector saturates every pixel (pre-sigmoid values up to {ymax:.3g}, a sane "
                    f"network stays far below {PROBE_LOGIT_LIMIT:g})")
        return None
    finally:
        model.train(was_training)


def pick_device(requested: str = "auto") -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)


def images_to_tensor(images, device=None) -> torch.Tensor:
    """N×S×S×3 uint8 (numpy) → N×3×S×S float32 in [0, 1]."""
    import numpy as np

    a = np.ascontiguousarray(images)
    if not a.flags.writeable:  # read-only memmap of the image cache
        a = a.copy()
    t = torch.from_numpy(a)
    if device is not None:
        t = t.to(device, non_blocking=True)
    return t.permute(0, 3, 1, 2).float().div_(255.0)


def tensor_to_images(x: torch.Tensor):
    """N×3×S×S float in [0, 1] → N×S×S×3 uint8 numpy."""
    return (x.clamp(0, 1).mul(255).add_(0.5)).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


__all__ = [
    "ArchitectureConfig",
    "ConvAutoencoder",
    "count_parameters",
    "expected_shapes",
    "expected_tensors",
    "check_architecture_limits",
    "parameter_count",
    "probe_outputs",
    "pick_device",
    "images_to_tensor",
    "tensor_to_images",
]
