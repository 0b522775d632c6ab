"""``evaluate``'s face rate: the MTCNN metric (engine.evaluation.FaceDetector, no OpenCV) beside the OpenCV Haar
cascade it replaced, on the same faces: real celeba-9k faces, the default model's reconstructions of its held-out
faces, and 256 faces of every sampler ``evaluate`` compares (fitted on the training z-points, seed 0).

Prints each set's hit rate under both detectors (and the MTCNN rate at the detector's own cut, 0.7) and the CPU
time per face of each, measured set by set in the same run with the same threads. The Haar column needs OpenCV
(the extra ``haar``: pip install "latent-face-studio[haar]"); without it only the MTCNN columns are printed.

    python benchmarks/face_rate.py [--real 1000] [--n 256] [--data /path/to/img_align_celeba]

MTCNN runs on ONNX Runtime with the detector's own 2 threads; OpenCV is given 2 threads too.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _fair  # noqa: E402

ROOT = _fair.ROOT
sys.path.insert(0, str(ROOT))
DATA = Path("/work/shared/datasets/celeba-9k/img_align_celeba")


class Haar:
    """The metric before: OpenCV's frontal-face Haar cascade (alt2) on faces upscaled ×3 (engine/evaluation.py
    until the MTCNN metric replaced it)."""

    def __init__(self) -> None:
        import cv2

        self.cv2 = cv2
        self.cascade = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / "haarcascade_frontalface_alt2.xml"))

    def detect(self, image: np.ndarray) -> bool:
        cv2 = self.cv2
        g = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)
        s = g.shape[0] * 3
        g = cv2.resize(g, (s, s), interpolation=cv2.INTER_CUBIC)
        return len(self.cascade.detectMultiScale(g, scaleFactor=1.1, minNeighbors=3, minSize=(s // 3, s // 3))) > 0


def face_sets(data: Path, n_real: int, n: int) -> dict[str, np.ndarray]:
    """{name: N×64×64×3 uint8}: real faces, reconstructions of the held-out ones, each compared sampler's faces."""
    from engine import evaluation as ev
    from engine.encoding import decode_latents
    from engine.formats import native as model_store
    from engine.formats import open_model
    from engine.image_data import load_files
    from engine.resources import default_model_dir
    from engine.samplers import make_sampler

    folder = default_model_dir()
    model = open_model(folder)
    z_all, files = model_store.load_latents(folder, model.config.arch.z_dim)
    files = list(files)
    held, _ = ev.held_out_rows(files, model.config.training, len(z_all))
    train = np.ones(len(z_all), bool)
    train[held] = False
    real, _, skipped = load_files([data / f for f in files[:n_real]], model.config.preprocess)
    if skipped:
        raise SystemExit(f"{data}: {len(skipped)} images unreadable (e.g. {skipped[0]})")
    sets = {f"real ({len(real)} celeba-9k)": real,
            f"reconstructions ({len(held)} held out)": decode_latents(model, z_all[held])}
    for name in ev.DEFAULT_SAMPLERS:
        s = make_sampler(name, None)
        s.fit(z_all[train])
        sets[name] = decode_latents(model, s.sample(n, 0))
    return sets


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--real", type=int, default=1000, help="real faces: the first N of the model's files")
    ap.add_argument("--n", type=int, default=256, help="faces per sampler")
    ap.add_argument("--data", type=Path, default=DATA)
    a = ap.parse_args()
    from engine.evaluation import FaceDetector

    mtcnn = FaceDetector()
    detectors = {"mtcnn": None}
    try:
        detectors["haar"] = Haar()
        detectors["haar"].cv2.setNumThreads(2)
    except ImportError:
        print("OpenCV is not installed: the Haar column is left out")
    sets = face_sets(a.data, a.real, a.n)
    cpu = {k: 0.0 for k in detectors}
    faces = 0
    print(f"face rate on the default model's faces; {_fair.load_average()}")
    head = ["mtcnn ≥0.97", "mtcnn ≥0.7"] + (["haar (before)"] if "haar" in detectors else [])
    print(f"{'set':<34}" + "".join(f"{h:>15}" for h in head))
    for name, images in sets.items():
        faces += len(images)
        t = time.process_time()
        scores = np.array([mtcnn.score(im) for im in images])
        cpu["mtcnn"] += time.process_time() - t
        cells = [np.mean(scores >= mtcnn.min_score), np.mean(scores >= 0.7)]
        if "haar" in detectors:
            t = time.process_time()
            cells.append(np.mean([detectors["haar"].detect(im) for im in images]))
            cpu["haar"] += time.process_time() - t
        print(f"{name:<34}" + "".join(f"{c:>15.3f}" for c in cells), flush=True)
    print("CPU time per face: " + ", ".join(f"{k} {1000 * v / faces:.2f} ms" for k, v in cpu.items())
          + (f" (mtcnn / haar ×{cpu['mtcnn'] / cpu['haar']:.2f})" if "haar" in cpu else ""))


if __name__ == "__main__":
    main()
