"""A photo batch never fails whole (engine/workflows/photo.py, the CLI's ``photo``): every face found is written,
each miss is one line and a row of ``photos.json``, the exit status tells "some missed" (3) from bad input (2);
``--photo`` takes a folder, read as untrusted input."""
from __future__ import annotations

import json
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import cli as _cli
from conftest import write_faces


def _face_photo(path: Path) -> Path:
    """The astronaut (skimage, public domain) at 256 px: one face the detector finds."""
    skdata = pytest.importorskip("skimage.data")
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(skdata.astronaut()).resize((256, 256), Image.Resampling.LANCZOS).save(path)
    return path


def _wall(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((120, 160, 3), 128, np.uint8)).save(path)
    return path


def _bomb_png(path: Path, w: int = 100000, h: int = 100000) -> Path:
    """A tiny PNG whose header declares ``w×h`` pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16))
                     + chunk(b"IEND", b""))
    return path


def _rows(out: Path) -> dict:
    record = json.loads((out / "photos.json").read_text("utf-8"))
    return {Path(r["file"]).name: r for r in record["photos"]}


def test_a_batch_with_a_faceless_photo_writes_the_others(tiny_model, tmp_path, capsys):
    face = _face_photo(tmp_path / "in" / "me.png")
    wall = _wall(tmp_path / "in" / "wall.png")
    out = tmp_path / "out"
    rc, stdout, err = _cli(["photo", "--model", tiny_model, "--photo", wall, "--photo", face, "--out", out], capsys)
    assert rc == 3, err
    assert (out / "me" / "z.npy").is_file() and json.loads((out / "me" / "photo.json").read_text())["faces_found"] >= 1
    assert not (out / "wall").exists()
    lines = stdout.strip().splitlines()
    assert lines[0].startswith(f"{face}:") and "→" in lines[0]
    assert lines[1] == f"missed: {wall}: no face found in the photo (160×120); --no-detect frames its centre square instead"
    assert lines[2] == f"placed 1 face(s), 1 photo(s) missed; listed in {out / 'photos.json'}" and len(lines) == 3
    rows = _rows(out)
    assert rows["me.png"] == {"file": str(face), "status": "found", "reason": None, "folder": str(out / "me"),
                              "face": 0}
    assert rows["wall.png"]["status"] == "missed" and rows["wall.png"]["folder"] is None
    assert rows["wall.png"]["reason"].startswith(f"{wall}: no face found") and "--" not in rows["wall.png"]["reason"]
    record = json.loads((out / "photos.json").read_text())
    assert (record["found"], record["missed"], record["skipped"]) == (1, 1, 0) and record["command"] == "photo"
    # photos.json is ours: --overwrite runs again into the folder; without it the folder is refused
    rc, _, err = _cli(["photo", "--model", tiny_model, "--photo", wall, "--photo", face, "--out", out], capsys)
    assert rc == 2 and "--overwrite" in err
    rc, _, _ = _cli(["photo", "--model", tiny_model, "--photo", face, "--out", out, "--overwrite"], capsys)
    assert rc == 0 and _rows(out).keys() == {"me.png"}


def test_a_folder_as_photo(tiny_model, tmp_path, capsys):
    folder = tmp_path / "photos"
    faces = write_faces(folder, 3, seed=3)
    (folder / "notes.txt").write_text("my notes")
    write_faces(folder / "sub", 1, seed=4)  # a subfolder is not read
    (folder / ".hidden.png").write_bytes(b"")  # hidden entries are passed over
    out = tmp_path / "out"
    rc, stdout, err = _cli(["photo", "--model", tiny_model, "--photo", folder, "--no-detect", "--out", out], capsys)
    assert rc == 0, err
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == sorted(p.stem for p in faces)
    rows = _rows(out)
    assert [r["status"] for r in json.loads((out / "photos.json").read_text())["photos"]] == [
        "found", "found", "found", "skipped", "skipped"]  # by name: 0000…0002.png, notes.txt, sub
    assert rows["notes.txt"]["reason"] == f"{folder / 'notes.txt'}: not an image file by its name"
    assert "folders inside are not read" in rows["sub"]["reason"]
    assert stdout.strip().splitlines()[-1] == (f"placed 3 face(s), 0 photo(s) missed, 2 skipped (not images); "
                                              f"listed in {out / 'photos.json'}")
    assert sorted(p.name for p in folder.iterdir()) == sorted([".hidden.png", "notes.txt", "sub",
                                                               *(p.name for p in faces)])  # the input untouched


def test_hostile_files_in_a_folder_are_refused_one_line_each(tiny_model, tmp_path, capsys):
    folder = tmp_path / "photos"
    faces = write_faces(folder, 2, seed=5)
    _bomb_png(folder / "bomb.png")
    (folder / "empty.jpg").write_bytes(b"")
    secret = tmp_path / "outside" / "secret.png"
    write_faces(secret.parent, 1, seed=6)[0].rename(secret)
    os.symlink(secret, folder / "link-out.png")
    os.symlink(faces[0], folder / "link-in.png")  # a link that stays inside is an ordinary photo
    os.mkfifo(folder / "pipe.png")
    out = tmp_path / "out"
    rc, stdout, err = _cli(["photo", "--model", tiny_model, "--photo", folder, "--no-detect", "--out", out], capsys)
    assert rc == 3, err
    missed = [ln for ln in stdout.splitlines() if ln.startswith("missed: ")]
    assert len(missed) == 4 and all("\n" not in m for m in missed)
    reasons = {Path(r["file"]).name: r["reason"] for r in json.loads((out / "photos.json").read_text())["photos"]
               if r["status"] == "missed"}
    assert set(reasons) == {"bomb.png", "empty.jpg", "link-out.png", "pipe.png"}
    assert "100000×100000" in reasons["bomb.png"] and "decompression bomb" in reasons["bomb.png"]
    assert "empty file" in reasons["empty.jpg"]
    assert "out of the folder" in reasons["link-out.png"] and "regular file" in reasons["pipe.png"]
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == sorted([*(p.stem for p in faces), "link-in"])
    assert not (out / "link-out").exists() and not (out / "secret").exists()


def test_every_photo_missed_is_bad_input_and_writes_nothing(tiny_model, tmp_path, capsys):
    wall = _wall(tmp_path / "in" / "wall.png")
    text = tmp_path / "in" / "text.jpg"
    text.write_text("not a picture")
    out = tmp_path / "out"
    rc, stdout, err = _cli(["photo", "--model", tiny_model, "--photo", wall, "--photo", text, "--out", out], capsys)
    assert rc == 2 and stdout == ""
    assert err.splitlines() == [
        f"error: {wall}: no face found in the photo (160×120); --no-detect frames its centre square instead",
        f"error: {text}: cannot be read as a photo (not an image)"]
    assert not out.exists()
    only_text = tmp_path / "only-text"
    only_text.mkdir()
    (only_text / "a.txt").write_text("x")
    rc, _, err = _cli(["photo", "--model", tiny_model, "--photo", only_text, "--out", out], capsys)
    assert rc == 2 and err.strip() == f"error: {only_text}: no image files (.jpg, .png, …) in this folder"
    assert not out.exists()


def test_the_workflow_lists_misses_and_a_foreign_summary_is_refused(tiny_model, tmp_path):
    from engine.errors import EngineError, NoFaceFound
    from engine.workflows.open_model import open_model
    from engine.workflows.photo import photos_to_folder

    opened = open_model(tiny_model, statistics=True, labels=False)
    wall = _wall(tmp_path / "in" / "wall.png")
    face = _face_photo(tmp_path / "in" / "me.png")
    run = photos_to_folder(opened, [face, wall], tmp_path / "out")
    assert [r.source for r in run.results] == [str(face)] and run.folders == [tmp_path / "out" / "me"]
    assert [(m.file, m.status) for m in run.missed] == [(str(wall), "missed")]
    assert isinstance(run.missed[0].error, NoFaceFound) and run.summary == tmp_path / "out" / "photos.json"
    nothing = photos_to_folder(opened, [wall], tmp_path / "out2")
    assert nothing.results == [] and nothing.summary is None and not (tmp_path / "out2").exists()
    mine = tmp_path / "out3"
    mine.mkdir()
    (mine / "photos.json").write_text("{}")  # the user's file of that name is never replaced
    with pytest.raises(EngineError, match="did not write"):
        photos_to_folder(opened, [face], mine, overwrite=True)
    assert (mine / "photos.json").read_text() == "{}"


def test_a_group_photo_places_every_face(tiny_model, tmp_path, capsys):
    """Two faces (the astronaut at 300 and 180 px) side by side: ``--face all`` writes one folder per face, largest
    first; photos.json has a row per face; ``--face 1`` on a photo with one face is a miss, not a failed batch."""
    skdata = pytest.importorskip("skimage.data")
    img = skdata.astronaut()
    photo = np.full((320, 560, 3), 235, np.uint8)
    photo[10:310, 0:300] = np.array(Image.fromarray(img).resize((300, 300), Image.Resampling.LANCZOS))
    photo[60:240, 360:540] = np.array(Image.fromarray(img).resize((180, 180), Image.Resampling.LANCZOS))
    group = tmp_path / "in" / "group.png"
    group.parent.mkdir()
    Image.fromarray(photo).save(group)
    single = _face_photo(tmp_path / "in" / "me.png")
    out = tmp_path / "out"
    rc, stdout, err = _cli(["photo", "--model", tiny_model, "--photo", group, "--photo", single, "--face", "all",
                            "--out", out], capsys)
    assert rc == 0, err
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["group-face0", "group-face1", "me"]
    boxes = [np.array(json.loads((out / f"group-face{k}" / "photo.json").read_text())["face_box"]) for k in (0, 1)]
    assert boxes[0][:, 0].mean() < 300 < boxes[1][:, 0].mean()  # the larger face first, each framed where it is
    rows = json.loads((out / "photos.json").read_text())["photos"]
    assert [(Path(r["file"]).name, r["face"], Path(r["folder"]).name) for r in rows] == [
        ("group.png", 0, "group-face0"), ("group.png", 1, "group-face1"), ("me.png", 0, "me")]
    assert stdout.strip().splitlines()[-1].startswith("placed 3 face(s), 0 photo(s) missed")
    rc, stdout, _ = _cli(["photo", "--model", tiny_model, "--photo", group, "--photo", single, "--face", "1",
                          "--out", tmp_path / "out1"], capsys)
    assert rc == 3 and (tmp_path / "out1" / "group").is_dir() and not (tmp_path / "out1" / "me").exists()
    assert f"missed: {single}: face 1 asked for, but 1 face(s) found" in stdout
    rc, _, err = _cli(["photo", "--model", tiny_model, "--photo", single, "--face", "two", "--out", out], capsys)
    assert rc == 2 and err.startswith("error: --face 'two': a face index is a whole number")


def test_every_face_of_a_camera_sized_group_photo_includes_a_small_one(tiny_model, tmp_path, capsys):
    """A 3200×2400 JPEG with the astronaut's picture at 900 px and at 240 px (her face about 80 px): ``--face all``
    searches the finer copy, so the small face beside the large one is placed too (the quick pass of such a photo
    looks for faces from 1/32 of its side, 100 px here, and finds only the large one)."""
    skdata = pytest.importorskip("skimage.data")
    img = Image.fromarray(skdata.astronaut())
    photo = np.full((2400, 3200, 3), 200, np.uint8)
    photo[300:1200, 200:1100] = np.array(img.resize((900, 900), Image.Resampling.LANCZOS))
    photo[1800:2040, 2600:2840] = np.array(img.resize((240, 240), Image.Resampling.LANCZOS))
    group = tmp_path / "in" / "party.jpg"
    group.parent.mkdir()
    Image.fromarray(photo).save(group, quality=92)
    out = tmp_path / "out"
    rc, stdout, err = _cli(["photo", "--model", tiny_model, "--photo", group, "--face", "all", "--out", out], capsys)
    assert rc == 0, err
    boxes = [np.array(json.loads((out / f"party-face{k}" / "photo.json").read_text())["face_box"]) for k in (0, 1)]
    small = boxes[1].mean(axis=0)
    assert 2600 < small[0] < 2840 and 1800 < small[1] < 2040, boxes[1]  # the small face, framed where it is
    assert not (out / "party-face2").exists()


def test_the_detector_is_chosen_by_its_option(tiny_model, tmp_path, capsys, monkeypatch):
    """``--detector haar|mtcnn`` reaches the detection (the engine's DETECTORS are the option's choices); an unknown
    one is refused before any work."""
    import engine.photo as photo
    from engine.workflows.photo import PHOTO_PARAMS

    assert next(p for p in PHOTO_PARAMS if p.name == "detector").choices == photo.DETECTORS
    seen = []
    real = photo._detected

    def spy(image, source, detector=None, photo_size=None, **kw):
        seen.append(detector)
        return real(image, source, detector, photo_size, **kw)

    monkeypatch.setattr(photo, "_detected", spy)
    face = _face_photo(tmp_path / "in" / "me.png")
    for name in ("haar", "mtcnn"):
        rc, _out, err = _cli(["photo", "--model", tiny_model, "--photo", face, "--out", tmp_path / name,
                              "--detector", name], capsys)
        assert rc == 0, err
        assert (tmp_path / name / "me" / "z.npy").is_file()
        assert seen[-1] == name
    rc, _out, err = _cli(["photo", "--model", tiny_model, "--photo", face, "--out", tmp_path / "x", "--detector",
                          "yolo"], capsys)
    assert rc == 2 and "yolo" in err and not (tmp_path / "x").exists()
