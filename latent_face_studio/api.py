"""The Python API's objects: an opened :class:`Model`, a set of :class:`Faces`, a placed :class:`Photo`.

Each method is one call of an engine workflow (``engine/workflows``) with the values a script gives; the results
carry what a notebook shows (``_repr_png_``: Jupyter draws faces as a grid) and what a script keeps (``z``,
``images``, ``params``). Errors are the engine's typed errors (``engine.errors.EngineError`` and its kinds) with
the same one-line messages the command line prints, naming options by their Python keyword.
"""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np

PathLike = Union[str, os.PathLike]


def _png(image: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buf, format="PNG")
    return buf.getvalue()


def samplers() -> list[str]:
    """The registered samplers' names, in the registry's order (what ``Model.generate(sampler=…)`` takes)."""
    from engine.samplers import SAMPLERS

    return list(SAMPLERS)


def open_model(folder: Optional[PathLike] = None, *, device: str = "cpu", statistics: bool = True) -> "Model":
    """Open a model folder (default: the embedded default model) with its z-points, labels and statistics."""
    from engine.resources import default_model_dir
    from engine.workflows.open_model import open_model as open_workflow

    folder = default_model_dir() if folder is None else Path(folder)
    return Model(open_workflow(folder, device=device, statistics=statistics))


class Faces:
    """Faces and their z-vectors: a generated set, decoded vectors, a moved set. ``params`` is the set's record
    (the ``params.json`` of a saved set); ``faces[i]`` / ``faces[2:5]`` / ``faces[mask]`` are Faces too."""

    def __init__(self, z: np.ndarray, images: np.ndarray, params: dict, model: "Model") -> None:
        self.z = np.asarray(z, np.float32)
        self.images = images
        self.params = dict(params)
        self.model = model

    def __len__(self) -> int:
        return len(self.z)

    def __getitem__(self, rows) -> "Faces":
        rows = np.atleast_1d(np.arange(len(self))[rows])
        return Faces(self.z[rows], self.images[rows], {**self.params, "selection": rows.tolist()}, self.model)

    def __repr__(self) -> str:
        what = self.params.get("sampler") or self.params.get("made_by", "faces")
        return f"<Faces: {len(self)} × z{self.z.shape[1]}, {what}>"

    def grid(self, columns: Optional[int] = None) -> np.ndarray:
        """The faces as one image (rows of ``columns``, 2-px white gaps): an H×W×3 uint8 array."""
        from engine.image_sets import make_grid

        return make_grid(self.images, columns)

    def _repr_png_(self) -> bytes:  # Jupyter shows the grid
        return _png(self.grid())

    def save(self, folder: PathLike, *, overwrite: bool = False, columns: Optional[int] = None) -> Path:
        """Write the set as the command line's ``generate`` does (PNGs, grid, ``z.npy``, ``params.json``) into a
        new or empty folder (or one this app wrote, with ``overwrite``); ``columns``: the grid's; the folder."""
        from engine.workflows.save_set import save_set

        return save_set(folder, self.model.folder, self.z, self.params, self.images, overwrite=overwrite,
                        grid_columns=columns).folder


class Photo:
    """A photo framed, encoded and placed in a model's cloud (``engine.photo.PhotoResult`` as ``result``)."""

    def __init__(self, result, model: "Model") -> None:
        self.result = result
        self.model = model

    z = property(lambda self: np.asarray(self.result.z, np.float32).reshape(-1), doc="its z-vector")
    aligned = property(lambda self: self.result.aligned, doc="the crop that was encoded (S×S×3 uint8)")
    reconstruction = property(lambda self: self.result.reconstruction, doc="the model's decode of ``z``")
    mahalanobis = property(lambda self: float(self.result.mahalanobis), doc="d_M in the training cloud")
    verdict = property(lambda self: self.result.verdict, doc="typical, unusual or outside the 3σ ellipsoid")
    nearest = property(lambda self: list(self.result.nearest), doc="(training file, z distance), nearest first")

    def __repr__(self) -> str:
        return (f"<Photo {Path(self.result.source).name}: {self.result.framing}, d_M {self.mahalanobis:.1f} "
                f"({self.verdict})>")

    def faces(self) -> Faces:
        """The photo's reconstruction as a one-face set (to move, save or show beside others)."""
        return Faces(self.z[None, :], self.reconstruction[None], {"made_by": "photo", "photo": self.result.source},
                     self.model)

    def _repr_png_(self) -> bytes:  # the crop beside its reconstruction
        from engine.image_sets import make_grid

        return _png(make_grid(np.stack([self.aligned, self.reconstruction]), 2))


class Model:
    """An opened model: its codec, training z-points (``z``, ``names``), labels and statistics."""

    def __init__(self, opened) -> None:
        from engine.workflows.generate import SamplerFits

        self.opened = opened
        self._fits = SamplerFits(keep=4)

    # ---- what it is --------------------------------------------------------------------------------
    folder = property(lambda self: Path(self.opened.folder))
    z = property(lambda self: self.opened.require_latents(), doc="the training z-points (N × z_dim float32)")
    names = property(lambda self: list(self.opened.latent_files), doc="the file each z-point was encoded from")
    labels = property(lambda self: self.opened.labels, doc="the attribute table (or None)")
    stats = property(lambda self: self.opened.stats, doc="statistics of the z-points (engine.latent_stats)")
    z_dim = property(lambda self: self.opened.z_dim)
    image_size = property(lambda self: self.opened.image_size)

    def __repr__(self) -> str:
        n = "no" if self.opened.latents is None else f"{len(self.opened.latents)}"
        return f"<Model {self.opened.model_id}: z{self.z_dim}, {self.image_size}px, {n} z-points>"

    def info(self) -> dict:
        """What ``main.py info`` prints, as a dict."""
        return dict(self.opened.describe())

    # ---- faces ---------------------------------------------------------------------------------------
    def generate(self, n: int = 16, sampler: str = "normal", seed: int = 0, *, where: Optional[str] = None,
                 **values) -> Faces:
        """``n`` new faces from ``sampler`` fitted to the z-points (those matching ``where`` when given), for
        ``seed``; ``values`` are the sampler's parameters (``scale=0.8``). The same set as ``main.py generate``."""
        from engine.workflows.generate import generate

        made = generate(self.opened, sampler, values or None, n, seed, where=where, fits=self._fits)
        return Faces(made.z, made.images, made.params, self)

    def decode(self, z: np.ndarray) -> Faces:
        """The faces of z-vectors (n × z_dim, or one vector)."""
        z = np.atleast_2d(np.asarray(z, np.float32))
        return Faces(z, self.opened.codec.decode(z), {"made_by": "decode", "n": len(z)}, self)

    def encode(self, images: Union[np.ndarray, Sequence[PathLike]]) -> np.ndarray:
        """z-vectors of faces: an N×S×S×3 uint8 array already framed like the training images, or image files
        (framed by the model's own crop, as ``encode`` frames a dataset)."""
        return self.opened.codec.encode(self._images(images))

    def reconstruct(self, images: Union[np.ndarray, Sequence[PathLike]]) -> Faces:
        """Faces encoded and decoded again (what the model keeps of them)."""
        z = self.encode(images)
        return Faces(z, self.opened.codec.decode(z), {"made_by": "reconstruct", "n": len(z)}, self)

    def training_faces(self, rows) -> Faces:
        """The training z-points ``rows`` (indices or a boolean mask, e.g. from :meth:`select`), decoded."""
        z = self.z[np.asarray(rows)]
        return self.decode(z)

    def move(self, faces: Union[Faces, np.ndarray], amount: float, *, axis=None, attribute: Optional[str] = None,
             direction=None) -> Faces:
        """Every face moved by ``amount`` along one direction: ``axis`` ("PC3", "z12"), ``attribute`` (a label
        of the model: its direction) or ``direction`` (an ``engine.lab.Direction``); amounts in σ of the
        z-points along it. The same move as ``main.py move-faces`` and the window's "apply to all"."""
        from engine.workflows.move_faces import move_of, move_set

        z, params = (faces.z, faces.params) if isinstance(faces, Faces) else (np.atleast_2d(faces), {})
        move = move_of(self.opened, axis=axis, attribute=attribute, direction=direction)
        moved = move_set(self.opened.codec, z, params, move, amount)
        return Faces(moved.z, moved.images, moved.params, self)

    # ---- the cloud -----------------------------------------------------------------------------------
    def select(self, where: str) -> np.ndarray:
        """A boolean mask over the training z-points: those whose labels match ``where``
        (``"Smiling=1,Male=-1"``, as ``generate --where``)."""
        from engine.attributes import parse_where, require_labels, subset_mask

        table = self.labels if self.labels is not None else require_labels(self.folder, self.names)
        return subset_mask(table, parse_where(where))

    def place_photo(self, path: PathLike, *, face: Optional[int] = None, detector: Optional[str] = None,
                    no_detect: bool = False) -> Photo:
        """A photo framed like the training faces, encoded and placed in the cloud (nothing written)."""
        from engine.workflows.photo import PhotoOptions, place_photos

        options = PhotoOptions(no_detect=no_detect, detector=detector, face=face)
        return Photo(place_photos(self.opened, [path], options)[0], self)

    def directions(self, method: str = "pca", k: int = 10, *, attributes: Sequence[str] = (), seed: int = 0):
        """Directions of ``method`` (``main.py directions``), named by the attributes they move and measured."""
        from engine.workflows.directions import DirectionOptions, compute_directions

        options = DirectionOptions(method, k=k, attributes=tuple(attributes), seed=seed)
        return compute_directions(self.z, options, model=self.opened.codec, table=self.labels)

    def evaluate(self, samplers: Optional[Sequence[str]] = None, n: int = 256, seed: int = 0,
                 data: Optional[PathLike] = None):
        """Compare samplers (``main.py evaluate``): their metrics and the best of each; nothing written."""
        from engine.workflows.evaluate import EvaluateOptions, evaluate_opened_model

        options = EvaluateOptions(n=n, seed=seed, samplers=samplers, real_faces_optional=data is None)
        return evaluate_opened_model(self.opened, data, options)

    def report(self, out: PathLike, *, parts: Optional[Sequence[str]] = None, data: Optional[PathLike] = None,
               overwrite: bool = False) -> Path:
        """Write the model's report (``main.py report``) into ``out``; the report's HTML file."""
        from engine.workflows.report import REPORT_HTML, ReportOptions, report_of_model

        report_of_model(self.opened, out, data=data, options=ReportOptions(parts=parts), overwrite=overwrite)
        return Path(out) / REPORT_HTML

    # ---- inside ----------------------------------------------------------------------------------------
    def _images(self, images) -> np.ndarray:
        if isinstance(images, np.ndarray):
            return images
        from engine.errors import DataError
        from engine.image_data import load_files

        arr, _names, skipped = load_files(list(images), self.opened.codec.preprocess)
        if skipped:
            raise DataError(f"{skipped[0][0]}: {skipped[0][1]}")
        return arr
