"""The standard convolutional autoencoder of the seed blog, in PyTorch.

Encoder: 4 × Conv2D (stride 2) → flatten → dense → z (``z_dim``, 256 by default, no activation).
Decoder: dense → reshape → 4 × Conv2DTranspose (stride 2) → sigmoid, so the output is in [0, 1].
No VAE terms, no extra cost functions. Batch normalisation is an option (the blog's networks had
none); the shipped default is the one measured best (see ``ArchitectureConfig.batch_norm``).
"""
from __future__ import annotations

from typing import Optional

from .errors import import_extra

torch = import_extra("torch")  # the optional extra "train"
from torch import nn  # noqa: E402

# the sizes, limits and counts live in the torch-free engine.architecture; re-exported here for existing imports
from .architecture import (CONFIG_NAMES, OPTION_NAMES, MAX_ACTIVATIONS_PER_IMAGE, MAX_CHANNELS,  # noqa: F401
                           MAX_IMAGE_SIZE, MAX_PARAMETERS, MAX_Z_DIM, ArchitectureConfig, _bool, _int, _int_list,
                           activations_per_image, check_architecture_limits, parameter_count)

#: Probe outputs beyond these are a damaged network (the default model: |z| ≤ 7 for a grey image, |logit| ≤ 7).
PROBE_Z_LIMIT = 1e6
PROBE_LOGIT_LIMIT = 1e3  # sigmoid(±104) is already exactly 0 or 1 in float32


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
