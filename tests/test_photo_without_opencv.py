"""The photo path needs no OpenCV: in a process where ``cv2`` (and torch) cannot be imported, a photo is read,
its face found and framed, encoded, placed, put back and drawn; the Haar detector, which does need OpenCV, says in
one line which extra to install."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = ROOT / "resources" / "models" / "celeba64-z256"

CHILD = '''
import json, sys
class _Blocker:
    """An install without OpenCV and torch: importing either fails as a missing module does."""
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("cv2", "torch"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, _Blocker())
sys.path.insert(0, sys.argv[1])
from engine.errors import MissingExtra
from engine.photo import put_back_photo, result_picture
from engine.workflows.open_model import open_model
from engine.workflows.photo import PhotoOptions, place_photos
opened = open_model(sys.argv[2], statistics=True, labels=False)
(r,) = place_photos(opened, [sys.argv[3]], keep_photo=True)
back, scale = put_back_photo(r)
pic = result_picture(r, height=64)
try:
    place_photos(opened, [sys.argv[3]], PhotoOptions(detector="haar"))
    haar = None
except MissingExtra as exc:
    haar = [str(exc), exc.fields.get("extra")]
print(json.dumps({"framing": r.framing, "faces": r.faces_found, "size": list(r.photo_size), "box": r.face_box.tolist(),
                  "aligned": list(r.aligned.shape), "back": list(back.shape), "changed": int((back != r.photo).any(2).sum()),
                  "picture": list(pic.shape), "haar": haar, "cv2": "cv2" in sys.modules}))
'''


@pytest.mark.skipif(not (DEFAULT_MODEL / "fast_path.json").is_file(), reason="the default model is not here")
def test_photo_path_without_opencv(tmp_path):
    skdata = pytest.importorskip("skimage.data")
    photo = tmp_path / "astronaut.jpg"
    Image.fromarray(np.ascontiguousarray(skdata.astronaut())).save(photo, quality=92)
    proc = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), str(DEFAULT_MODEL), str(photo)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert not out["cv2"]
    assert out["faces"] == 1 and out["framing"].startswith("detected")
    assert out["size"] == [512, 512] and out["aligned"] == [64, 64, 3]
    box = np.asarray(out["box"])
    assert 150 < box[:, 0].mean() < 280 and 50 < box[:, 1].mean() < 200  # the astronaut's face, upper middle
    assert out["back"] == [512, 512, 3] and 2000 < out["changed"] < 60000  # the face region only was put back
    assert out["picture"][0] == 64 and out["picture"][2] == 3
    message, extra = out["haar"]
    assert extra == "haar" and "opencv-python-headless" in message and "[haar]" in message
