"""Make the MTCNN detector's shipped files once (not run at install or run time): facenet-pytorch 2.6.0's
P-, R- and O-Net weights (MIT) exported to ONNX under ``resources/detectors/mtcnn/``, with its licence text
and a manifest of sha256 hashes; then the five-point template learnt by that detector on the default
model's training images. Prints the constants to pin in ``engine/face_detect_mtcnn.py``.

Needs torch and facenet-pytorch (not project dependencies), e.g. the throwaway venv of
docs/photo-detectors.md:  /tmp/venv-pdetect/bin/python scripts/ship_mtcnn.py
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "resources" / "detectors" / "mtcnn"
SHAPES = {"pnet": (1, 3, 24, 24), "rnet": (1, 3, 24, 24), "onet": (1, 3, 48, 48)}


def export(name: str) -> bytes:
    """One net as ONNX bytes, batch (and for P-Net height and width) dynamic."""
    import torch
    from facenet_pytorch.models import mtcnn

    net = {"pnet": mtcnn.PNet, "rnet": mtcnn.RNet, "onet": mtcnn.ONet}[name](pretrained=True).eval()
    outs = ["reg", "prob"] if name != "onet" else ["reg", "landmarks", "prob"]
    axes = {"x": {0: "n", 2: "h", 3: "w"} if name == "pnet" else {0: "n"}}
    axes.update({o: {0: "n"} for o in outs})
    buf = io.BytesIO()
    torch.onnx.export(net, (torch.zeros(SHAPES[name]),), buf, dynamo=False, input_names=["x"], output_names=outs,
                      dynamic_axes=axes, opset_version=17, do_constant_folding=True)
    return buf.getvalue()


def licence_text() -> str:
    import importlib.metadata as md

    dist = md.distribution("facenet-pytorch")
    text = next(f for f in dist.files if f.name.upper().startswith("LICEN")).read_text()
    return (f"The files pnet.onnx, rnet.onnx and onet.onnx are the MTCNN weights shipped in facenet-pytorch "
            f"{dist.version} (https://github.com/timesler/facenet-pytorch, data/pnet.pt, rnet.pt, onet.pt), "
            "converted to ONNX by scripts/ship_mtcnn.py. Their licence:\n\n" + text)


def learn_template(n: int, data: str, model: str) -> tuple[np.ndarray, int]:
    """Median five points, in crop units (0…1), of the faces the shipped detector finds in training images."""
    from engine import face_detect_mtcnn as fd
    from engine import face_framing as ff
    from engine.formats.native.config import read_config
    from engine.image_data import list_image_files

    config = read_config(Path(model))
    files, _ = list_image_files(Path(data))
    det = fd.MtcnnDetector.from_folder(OUT, check=False)
    pts = []
    for p in files[:n]:
        img = ff.load_photo(p)
        found = det.detect(img)
        if found:
            m = ff.canonical_crop_transform(img.shape[1], img.shape[0], config.preprocess)
            pts.append((ff.apply(m, found[0].points) + 0.5) / config.preprocess.image_size)
    return np.median(np.array(pts), 0), len(pts)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="/work/shared/datasets/celeba-9k/img_align_celeba")
    ap.add_argument("--model", default=str(ROOT / "resources" / "models" / "celeba64-z256"))
    ap.add_argument("--n-template", type=int, default=400)
    ap.add_argument("--template-only", action="store_true")
    a = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if not a.template_only:
        files = {}
        for name in SHAPES:
            data = export(name)
            (OUT / f"{name}.onnx").write_bytes(data)
            files[f"{name}.onnx"] = hashlib.sha256(data).hexdigest()
        (OUT / "LICENSE-facenet-pytorch.txt").write_text(licence_text())
        manifest = {"source": "facenet-pytorch 2.6.0 data/{pnet,rnet,onet}.pt (MIT)", "files": files}
        (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
        print("SHIPPED =", json.dumps(files, indent=4))
    template, found = learn_template(a.n_template, a.data, a.model)
    print(f"TEMPLATE (found in {found} of {a.n_template}) =", np.round(template, 4).tolist())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
