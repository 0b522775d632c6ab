"""The sizes of the autoencoder, without torch: ``ArchitectureConfig`` (as config.json holds it), the limits of
the networks this app builds or loads, and their exact parameter and activation counts.

Reading a model's config.json (``model_store.read_config``), the CLI's and the GUI's checks of a new network's
sizes and the Model & data panel need only these; the torch network itself is ``engine.autoencoder``.
"""
from __future__ import annotations

import numbers
from dataclasses import asdict, dataclass
from typing import Mapping, Optional

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


@dataclass(frozen=True)
class ArchitectureConfig:
    """The sizes of a ``ConvAutoencoder``, as config.json's "architecture" section holds them (validated)."""

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


#: How ``check_architecture_limits`` names the sizes: as config.json spells them, and as the user's options (each
#: front end names them: ``--image-size`` in the CLI).
CONFIG_NAMES = {"image_size": "architecture.image_size", "z_dim": "architecture.z_dim", "channels": "architecture.channels"}
OPTION_NAMES = {"image_size": "{opt:image_size}", "z_dim": "{opt:z_dim}", "channels": "{opt:channels}"}


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
    naming the size and its limit. ``names`` says how to name them (default: ``image_size`` …; ``CONFIG_NAMES``;
    ``OPTION_NAMES``: as options, each front end names them). Called by ``ArchitectureConfig`` (so by every
    config.json read) and by the CLI's ``train``."""
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


__all__ = [
    "ArchitectureConfig",
    "OPTION_NAMES",
    "CONFIG_NAMES",
    "MAX_ACTIVATIONS_PER_IMAGE",
    "MAX_CHANNELS",
    "MAX_IMAGE_SIZE",
    "MAX_PARAMETERS",
    "MAX_Z_DIM",
    "activations_per_image",
    "check_architecture_limits",
    "parameter_count",
]
