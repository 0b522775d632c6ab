#!/usr/bin/env python3
"""Learn how training faces are framed, for ``engine/face_framing.py`` (issue 15).

    python scripts/learn_photo_framing.py [--data DIR] [--model MODEL_DIR] [--n 4000] [--canonical-only]

1. **Canonical landmarks** (model-independent, printed as the ``CANONICAL`` constant to paste into
   engine/face_framing.py): the frontal-face cascade's box and the eye cascade's eyes, found by the
   very detector the photo pipeline uses (``detect_faces``), over the training images (the first
   ones by name; the model's held-out images — the last 500 — are never used), expressed in crop
   units; medians.
2. **The model's aligner** (``MODEL_DIR/photo_aligner.npz``, plain arrays, no pickle): training
   crops mis-framed by random shifts, turns and scales (three ranges), encoded by the model; one
   ridge regression per range from standardised z to the mis-framing.

Only statistics and regression weights leave the dataset; no image is written.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine import face_framing as ff  # noqa: E402
from engine.image_data import list_image_files  # noqa: E402

RANGES = (6.0, 6.0, 15.0, 0.15)  # dx, dy (crop px at 64), turn °, log scale: the widest stage
STAGE_FACTORS = (1.0, 0.4, 0.15)
SCHEDULE = (0, 1, 2, 2)


def training_files(data: Path, n: int, val_count: int = 500) -> list[Path]:
    files, _ = list_image_files(data)
    return files[: max(0, len(files) - val_count)][:n]


def learn_canonical(files, pre, passes: int = 2) -> dict:
    canonical = dict(ff.CANONICAL)
    size = pre.image_size
    for it in range(passes):
        boxes, eyes, found = [], [], 0
        for p in files:
            img = ff.load_photo(p)
            h, w = img.shape[:2]
            m = ff.canonical_crop_transform(w, h, pre)
            faces = ff.detect_faces(img, turns=(), canonical=canonical)
            if not faces:
                continue
            face = faces[0]
            found += 1
            c = ff.apply(m, [face.centre])[0]
            boxes.append([(c[0] + 0.5) / size, (c[1] + 0.5) / size, face.size * ff.transform_scale(m) / size])
            if face.eyes is not None:
                eyes.append(((ff.apply(m, face.eyes) + 0.5) / size).reshape(-1))
        boxes, eyes = np.array(boxes), np.array(eyes)
        box = np.median(boxes, 0)
        canonical = {"box": tuple(round(float(v), 4) for v in box), "eyes": canonical["eyes"]}
        if len(eyes) >= 50:
            e = np.median(eyes, 0)
            canonical["eyes"] = ((round(float(e[0]), 4), round(float(e[1]), 4)), (round(float(e[2]), 4), round(float(e[3]), 4)))
        canonical["source"] = (f"scripts/learn_photo_framing.py: medians over {len(files)} celeba-9k training images; "
                               f"faces found in {found}, both eyes in {len(eyes)}")
        spread = {"box_iqr": np.subtract(*np.percentile(boxes, [75, 25], 0)).round(4).tolist(),
                  "eyes_iqr": np.subtract(*np.percentile(eyes, [75, 25], 0)).round(4).tolist() if len(eyes) else None}
        print(f"pass {it + 1}: {canonical} {spread}", file=sys.stderr)
    return canonical


def learn_aligner(files, model, config, per_image: int, seed: int = 0, alpha: float = 10.0) -> dict:
    from engine.encoding import encode_images

    size = config.preprocess.image_size
    rng = np.random.default_rng(seed)
    ranges = np.array(RANGES) * np.array([size / 64, size / 64, 1, 1])
    images = [ff.load_photo(p) for p in files]
    canon = [ff.canonical_crop_transform(im.shape[1], im.shape[0], config.preprocess) for im in images]
    out = {"format": np.int64(ff.ALIGNER_FORMAT), "model_id": np.str_(config.model_id),
           "image_size": np.int64(size), "n_stages": np.int64(len(STAGE_FACTORS)), "schedule": np.array(SCHEDULE)}
    for si, fac in enumerate(STAGE_FACTORS):
        R = ranges * fac
        n = len(images) * per_image
        P = rng.uniform(-1, 1, (n, 4)) * R
        crops = np.empty((n, size, size, 3), np.uint8)
        for i in range(n):
            k = i % len(images)
            crops[i] = ff.warp_to_crop(images[k], ff.compose(ff.misframing(P[i], size), canon[k]), size)
        if rng.random() < 2:  # flips: the model was trained with them, faces are roughly symmetric
            flip = rng.random(n) < 0.5
            crops[flip] = crops[flip, :, ::-1]
            P[flip, 0] *= -1
            P[flip, 2] *= -1
        z = encode_images(model, crops).astype(np.float64)
        mu, sd = z.mean(0), z.std(0) + 1e-6
        X = (z - mu) / sd
        Y = P / R
        coef = np.linalg.solve(X.T @ X + alpha * np.eye(X.shape[1]), X.T @ (Y - Y.mean(0)))
        resid = (X @ coef + Y.mean(0) - Y) * R
        print(f"stage {si}: range {np.round(R, 3).tolist()}, {n} crops, residual median |·| "
              f"{np.round(np.median(np.abs(resid), 0), 3).tolist()}", file=sys.stderr)
        out.update({f"mu{si}": mu, f"sd{si}": sd, f"coef{si}": coef, f"bias{si}": Y.mean(0), f"scale{si}": R})
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="/work/shared/datasets/celeba-9k/img_align_celeba")
    ap.add_argument("--model", default=str(ROOT / "resources" / "models" / "celeba64-z256"))
    ap.add_argument("--n", type=int, default=4000, help="training images used")
    ap.add_argument("--per-image", type=int, default=2, help="mis-framed crops per image and stage")
    ap.add_argument("--canonical-only", action="store_true")
    ap.add_argument("--aligner-only", action="store_true")
    a = ap.parse_args()
    from engine.formats.native import load_model

    model, config = load_model(a.model)
    files = training_files(Path(a.data), a.n)
    t0 = time.perf_counter()
    if not a.aligner_only:
        canonical = learn_canonical(files[:2000], config.preprocess)
        print("CANONICAL = " + json.dumps(canonical, indent=4))
    if not a.canonical_only:
        import torch

        torch.set_num_threads(2)
        arrays = learn_aligner(files, model, config, a.per_image)
        path = Path(a.model) / ff.ALIGNER_FILE
        np.savez(path, **arrays)
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KB)")
    print(f"{time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
