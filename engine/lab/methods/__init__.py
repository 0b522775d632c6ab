"""The direction methods, by name: a registry that finds itself.

A method is **one decorated function** in a module of this package (every module but those starting with
``_`` is imported here and registers what it decorates)::

    from . import MethodInputs, direction_method
    from ..direction import check_k, check_z, cloud, make, orient

    @direction_method("random-orthogonal", kind="unsupervised", order=50, params=("k", "seed"),
                      help="baseline: k random orthonormal directions from a seeded generator")
    def random_orthogonal(q: MethodInputs) -> list[Direction]:
        ...

The function takes one :class:`MethodInputs` (the z-points and what else the caller has: k, seed, the model,
the labels and the attribute judges, progress and cancel) and returns :class:`~engine.lab.direction.Direction`
values in the lab's one unit. Its :class:`MethodSpec` says what the rest of the program asks: ``kind``
("unsupervised" or "supervised": supervised ones need labels), ``params`` (the inputs it reads: ``k``,
``seed``, ``attributes`` — the attributes to move —, ``hold`` — the attributes to hold), ``needs_model``
(it reads the model's weights; ``True`` or a text saying which) and ``help`` (one line for the CLI's ``--help`` and
the GUI's tooltip). From the registry come the CLI's ``directions --method`` choices, the GUI's method list,
the checks of the options, and the methods a saved set may name; nothing outside the function names it.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

from ...errors import EngineError
from ...progress import CancelToken, ProgressCallback, no_progress

KINDS = ("unsupervised", "supervised")
#: the inputs a method may read besides the z-points (``MethodSpec.params``)
INPUTS = ("k", "seed", "attributes", "hold")


@dataclass
class MethodInputs:
    """What a method gets: the z-points and the caller's choices and objects."""

    z: Any  # (N, d) the model's z-points
    k: int = 10  # how many directions (unsupervised)
    seed: int = 0
    model: Any = None  # the opened codec (or anything with decoder_fc.weight)
    table: Any = None  # engine.attributes.AttributeTable aligned with z, or None
    attributes: Sequence[str] = ()  # the attributes to move (supervised)
    hold: Sequence[str] = ()  # the attributes to hold (conditional)
    probes: Any = None  # engine.lab.probes.AttributeProbes, if the caller has them
    pca: Any = None  # latent_stats' PCA of z, if the caller has it
    progress: ProgressCallback = no_progress
    cancel: Optional[CancelToken] = None


@dataclass(frozen=True)
class MethodSpec:
    name: str
    fn: Callable[[MethodInputs], list]
    kind: str  # "unsupervised" | "supervised"
    help: str
    params: tuple[str, ...] = ()
    needs_model: bool = False  # it reads the model's weights
    model_reads: str = ""  # which of them, e.g. "decoder_fc.weight"
    order: int = 100
    module: str = field(default="", compare=False)

    @property
    def needs_labels(self) -> bool:
        return self.kind == "supervised"

    def takes(self, what: str) -> bool:
        return what in self.params


_REGISTRY: dict[str, MethodSpec] = {}


def direction_method(name: str, *, kind: str, help: str, params: Sequence[str] = ("k",), needs_model=False,
                     order: int = 100):
    """Register the decorated ``fn(inputs: MethodInputs) -> list[Direction]`` as method ``name``."""
    if kind not in KINDS:
        raise ValueError(f"direction method {name!r}: kind must be one of {KINDS}, not {kind!r}")
    unknown = [p for p in params if p not in INPUTS]
    if unknown:
        raise ValueError(f"direction method {name!r}: unknown params {unknown}; known: {INPUTS}")

    def register(fn):
        if name in _REGISTRY and _REGISTRY[name].module != fn.__module__:
            raise ImportError(f"two direction methods are named {name!r}: {_REGISTRY[name].module} and {fn.__module__}")
        reads = needs_model if isinstance(needs_model, str) else ""
        _REGISTRY[name] = MethodSpec(name, fn, kind, help, tuple(params), bool(needs_model), reads, order, fn.__module__)
        return fn

    return register


def unregister(name: str) -> None:
    """Remove a method (tests that register one of their own)."""
    _REGISTRY.pop(name, None)


def method_specs(kind: Optional[str] = None) -> list[MethodSpec]:
    """The registered methods in their order (unsupervised first), optionally of one kind."""
    specs = sorted(_REGISTRY.values(), key=lambda s: (KINDS.index(s.kind), s.order, s.name))
    return [s for s in specs if kind is None or s.kind == kind]


def method_names(kind: Optional[str] = None) -> tuple[str, ...]:
    return tuple(s.name for s in method_specs(kind))


def methods_taking(what: str) -> tuple[str, ...]:
    """The methods that read input ``what`` (one of :data:`INPUTS`)."""
    return tuple(s.name for s in method_specs() if s.takes(what))


def method_spec(name: str) -> MethodSpec:
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise EngineError(f"{name!r}: unknown; allowed: {', '.join(method_names())}", param="method") from None


def find_directions(z, method: str, *, k: int = 10, seed: int = 0, model=None, table=None,
                    attributes: Sequence[str] = (), hold: Sequence[str] = (), probes=None, pca=None,
                    progress: ProgressCallback = no_progress, cancel: Optional[CancelToken] = None) -> list:
    """The directions of ``method`` (any registered one) on the z-points ``z``."""
    spec = method_spec(method)
    if spec.needs_model and model is None:
        reads = f" ({spec.model_reads})" if spec.model_reads else ""
        raise EngineError(f"{method}: needs the model's weights{reads}", param="method")
    return spec.fn(MethodInputs(z, k, seed, model, table, tuple(attributes), tuple(hold), probes, pca, progress,
                                cancel))


def unsupervised_directions(z, method: str, k: int = 10, *, model=None, seed: int = 0, pca=None,
                            progress: ProgressCallback = no_progress, cancel: Optional[CancelToken] = None) -> list:
    """The directions of an unsupervised method (no labels needed)."""
    if method not in method_names("unsupervised"):
        raise EngineError(f"{method!r}: unknown; allowed: {', '.join(method_names('unsupervised'))}", param="method")
    return find_directions(z, method, k=k, seed=seed, model=model, pca=pca, progress=progress, cancel=cancel)


def _discover() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")


_discover()
