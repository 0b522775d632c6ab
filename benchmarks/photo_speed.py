#!/usr/bin/env python3
"""How long does one ordinary 12 MP camera JPEG take through the photo use case? (issue 25: ≤ 100 ms warm)

    python benchmarks/photo_speed.py [--rounds 15] [--threads 2] [--face-scale 6]

The picture: a held-out celeba-9k face (or the astronaut when the dataset is absent) scaled ``--face-scale`` × and
turned 8° in a 4000×3000 JPEG (quality 92) of a random background, written to a temporary folder. Each run is the
public entry point the CLI and the GUI call (``engine.workflows.photo.place_photos`` on an opened model), warm (the
first rounds dropped). Sides, alternated round by round (``benchmarks/_fair.py``):

* ``one decode``: today's path, the JPEG decoded once at 1/2 (``engine.photo.READ_MAX_REDUCTION`` 2) and reduced
  by the detector to its 800 px copy;
* ``quick + fine decode``: the previous path, a 1/4 decode to find the face on, then a 1/2 decode for the crop
  (``READ_MAX_REDUCTION`` 8).

Printed per side: the wall and CPU milliseconds of the whole call, median (min–max), and the split by step
(decode, detect, frame, encode, place) as :attr:`engine.photo.PhotoResult.timings` measures it, once in wall time
and once in CPU time (``time.process_time``: all the process's threads; on a busy machine CPU time is the fairer
figure, wall time is what a user waits on a quiet one). Then the smallest face the detector finds at each
picture size (the quick pass, and the finer pass it falls back on when the quick pass finds nothing).
"""
from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

STEPS = ("decode", "detect", "frame", "encode", "place")
SIDES = {"one decode": 2, "quick + fine decode": 8}  # engine.photo.READ_MAX_REDUCTION


def _face_source(data: Path) -> np.ndarray:
    from engine import face_framing as ff
    from engine.image_data import list_image_files

    try:
        files, _ = list_image_files(data)
        return ff.load_photo(files[-1])
    except Exception:  # noqa: BLE001 - no dataset here: the astronaut
        from skimage import data as skdata

        return np.ascontiguousarray(skdata.astronaut())


def make_picture(path: Path, face: np.ndarray, scale: float, size=(4000, 3000), seed: int = 2) -> None:
    """A JPEG of ``size`` with ``face`` scaled and turned 8° in it, on a smooth random background."""
    from PIL import Image

    from engine import face_framing as ff
    from engine.resample import warp_affine

    rng = np.random.default_rng(seed)
    W, H = size
    h, w = face.shape[:2]
    A = ff.similarity(scale, 8.0, ((w - 1) / 2, (h - 1) / 2), (W * 0.575, H * 0.43))
    bg = Image.fromarray(rng.uniform(30, 230, (4, 5, 3)).astype(np.uint8)).resize(size, Image.BICUBIC)
    bg = np.asarray(bg, np.float32) + rng.normal(0, 6, (H, W, 3)).astype(np.float32)
    warped = warp_affine(face, A, size)
    mask = warp_affine(np.pad(np.ones((h - 4, w - 4), np.float32), 2), A, size, cubic=False, edge=False)
    out = warped.astype(np.float32) * mask[..., None] + bg * (1 - mask[..., None])
    Image.fromarray(np.clip(out, 0, 255).astype(np.uint8)).save(path, quality=92)


def time_sides(opened, path: Path, rounds: int, warmup: int = 2) -> dict:
    """Per side: rows of the whole call's wall and CPU ms and the split, once with each step clock."""
    import engine.photo as photo
    from _fair import compare
    from engine.workflows.photo import place_photos

    rows: dict[str, list] = {name: [] for name in SIDES}
    saved = photo.READ_MAX_REDUCTION, photo.STEP_CLOCK
    clocks = {"wall": time.perf_counter, "cpu": time.process_time}

    def runner(name, clock):
        def run():
            photo.READ_MAX_REDUCTION, photo.STEP_CLOCK = SIDES[name], clocks[clock]
            t0, c0 = time.perf_counter(), time.process_time()
            (r,) = place_photos(opened, [path])
            if recording:
                rows[name].append({"clock": clock, "wall": (time.perf_counter() - t0) * 1000,
                                   "cpu": (time.process_time() - c0) * 1000, "framing": r.framing, **r.timings})
        return run

    recording = False
    try:
        for clock in clocks:
            recording = False
            compare({name: runner(name, clock) for name in SIDES}, rounds=warmup, warmup=0)  # warm-up, dropped
            recording = True
            compare({name: runner(name, clock) for name in SIDES}, rounds=rounds, warmup=0)
    finally:
        photo.READ_MAX_REDUCTION, photo.STEP_CLOCK = saved
    return rows


def report(rows: dict) -> None:
    def mm(v):
        return f"{np.median(v):.0f} ({min(v):.0f}–{max(v):.0f})"

    print("ms per 12 MP JPEG through engine.workflows.photo.place_photos (warm; median (min–max), sides alternated):")
    print(f"{'':28s}{'whole call':>16s}   " + "".join(f"{s:>15s}" for s in STEPS))
    for name, rs in rows.items():
        for clock in ("wall", "cpu"):
            r = [x for x in rs if x["clock"] == clock]
            whole = mm([x[clock] for x in r])
            split = "".join(f"{mm([x[s] for x in r]):>15s}" for s in STEPS)
            print(f"{name + ' (' + clock + ')':28s}{whole:>16s}   {split}")
    a, b = (np.median([x["cpu"] for x in rows[n] if x["clock"] == "cpu"]) for n in SIDES)
    print(f"CPU ratio {list(SIDES)[0]} / {list(SIDES)[1]}: {a / b:.2f}; framing: {rows['one decode'][-1]['framing']}")


def smallest_faces(face: np.ndarray) -> None:
    """The smallest face (its eye-to-mouth box side, px) the detector finds in pictures of several sizes."""
    from engine import face_framing as ff
    from engine.face_detect_mtcnn import shared_detector

    det = shared_detector()
    print("\nsmallest face found (MTCNN box side, px; quick pass at 800 px, finer pass up to 2048 px):")
    for W, H in ((1024, 768), (1600, 1200), (2048, 1536), (4000, 3000)):
        found = []
        for side in (24, 32, 40, 48, 64, 96, 128):
            s = side / (0.55 * face.shape[1])  # a face box is about 0.55 of the aligned image's width
            with tempfile.TemporaryDirectory() as tmp:
                p = Path(tmp) / "p.jpg"
                make_picture(p, face, s, (W, H), seed=5)
                img = ff.load_photo(p)
            d = det.detect(img)
            if d:
                found.append(f"{side}:{d[0].size:.0f}")
        print(f"  {W}×{H}: found (asked:box) {', '.join(found) or 'none'}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="/work/shared/datasets/celeba-9k/img_align_celeba")
    ap.add_argument("--model", default=str(ROOT / "resources" / "models" / "celeba64-z256"))
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--face-scale", type=float, default=6.0)
    ap.add_argument("--no-sizes", action="store_true", help="leave out the smallest-face table")
    a = ap.parse_args()
    from _fair import set_threads

    set_threads(a.threads)
    from engine.workflows.open_model import open_model

    face = _face_source(Path(a.data))
    opened = open_model(a.model, statistics=True, labels=False)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "12mp.jpg"
        make_picture(path, face, a.face_scale)
        print(f"{path.name}: 4000×3000, face ×{a.face_scale:g} ({math.ceil(0.55 * face.shape[1] * a.face_scale)} px "
              f"box), threads {a.threads}, {a.rounds} rounds")
        report(time_sides(opened, path, a.rounds))
    if not a.no_sizes:
        smallest_faces(face)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
