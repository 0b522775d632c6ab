"""Pictures resampled by Pillow (Qt-free, no OpenCV): an affine warp with the edges repeated, an area-averaging
shrink. Maps are 2×3 float64 matrices between pixel centres (pixel (i, j) has its centre at (j, i)), as in
:mod:`engine.face_framing`; Pillow's own maps run between pixel edges, and the half-pixel is converted here.

Compared with OpenCV's ``warpAffine`` (bicubic, a = −0.75) and ``resize`` (``INTER_AREA``), which the photo path
used before: Pillow's bicubic (a = −0.5) differs by 0.5 grey levels on average (2 at most) on a smooth picture,
its box filter is the same area average.
"""
from __future__ import annotations

import numpy as np


def compose(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a∘b (b first) of two 2×3 affine maps."""
    return (np.vstack([a, [0, 0, 1]]) @ np.vstack([b, [0, 0, 1]]))[:2]


def invert(m: np.ndarray) -> np.ndarray:
    """The inverse of a 2×3 affine map."""
    return np.linalg.inv(np.vstack([np.asarray(m, np.float64), [0, 0, 1]]))[:2]


def apply(m: np.ndarray, pts) -> np.ndarray:
    """The points ``pts`` (N×2, x y) through the 2×3 affine map ``m``."""
    return np.asarray(pts, np.float64).reshape(-1, 2) @ np.asarray(m)[:, :2].T + np.asarray(m)[:, 2]


def footprint(m_out_to_in: np.ndarray, width: int, height: int, margin: int) -> tuple[int, int, int, int]:
    """The input pixels (x0, y0, x1, y1; end excluded) an output of width×height reads through ``m_out_to_in``,
    widened by ``margin``."""
    corners = apply(m_out_to_in, [[-1, -1], [width, -1], [-1, height], [width, height]])
    x0, y0 = np.floor(corners.min(0)).astype(int) - margin
    x1, y1 = np.ceil(corners.max(0)).astype(int) + margin + 1
    return int(x0), int(y0), int(x1), int(y1)


def resize_area(image: np.ndarray, size: tuple[int, int], *, smooth: bool = False) -> np.ndarray:
    """``image`` (H×W×3 uint8, or H×W / H×W×C float32) resized to ``size`` (width, height) by area averaging
    (Pillow's box filter), the way to shrink a picture without aliasing; ``smooth``: by Pillow's triangle filter, twice
    as wide, which leaves no beat of a pattern finer than the new pixels (stripes become an even grey)."""
    from PIL import Image

    method = Image.BILINEAR if smooth else Image.BOX
    if image.ndim == 2:
        return np.asarray(Image.fromarray(np.asarray(image, np.float32), "F").resize(size, method))
    if image.dtype != np.uint8:
        return np.dstack([resize_area(image[..., c], size, smooth=smooth) for c in range(image.shape[2])])
    return np.asarray(Image.fromarray(np.ascontiguousarray(image)).resize(size, method))


def warp_affine(image: np.ndarray, m: np.ndarray, size: tuple[int, int], *, cubic: bool = True,
                edge: bool = True) -> np.ndarray:
    """The ``size`` (width, height) picture that the 2×3 map ``m`` (image pixel centres → output pixel centres)
    makes of ``image`` (H×W×3 uint8, or H×W / H×W×C float32): bicubic (else bilinear); outside the image its edge
    pixels repeated (``edge``) or zeros."""
    from PIL import Image

    inv = invert(m)
    if edge:  # pad by the image's own edges as far as the output reads
        h, w = image.shape[:2]
        x0, y0, x1, y1 = footprint(inv, size[0], size[1], 3)
        pads = (max(0, -y0), max(0, y1 - h)), (max(0, -x0), max(0, x1 - w))
        if any(v for p in pads for v in p):
            image = np.pad(image, pads + ((0, 0),) * (image.ndim - 2), mode="edge")
            inv = compose(np.array([[1.0, 0, pads[1][0]], [0, 1.0, pads[0][0]]]), inv)
    # Pillow's affine map reads output pixel edges → input pixel edges (a pixel centre is at +0.5)
    data = compose(np.array([[1.0, 0, 0.5], [0, 1.0, 0.5]]), compose(inv, np.array([[1.0, 0, -0.5], [0, 1.0, -0.5]])))
    data = tuple(float(v) for v in data.ravel())
    resample = Image.BICUBIC if cubic else Image.BILINEAR
    if image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3:
        return np.asarray(Image.fromarray(np.ascontiguousarray(image)).transform(size, Image.AFFINE, data, resample))
    planes = image[..., None] if image.ndim == 2 else image
    out = [np.asarray(Image.fromarray(np.ascontiguousarray(planes[..., c], np.float32), "F")
                      .transform(size, Image.AFFINE, data, resample)) for c in range(planes.shape[2])]
    return out[0] if image.ndim == 2 else np.dstack(out)
