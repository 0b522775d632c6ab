"""Session files (engine/session_file.py): written and read back field for field; a hostile or foreign file is
one line naming it and the field, before anything is used."""
from __future__ import annotations

import base64
import json
import os

import numpy as np
import pytest

from engine.errors import DataError, ModelFileError
from engine.session_file import (
    FORMAT, MAX_BYTES, VERSION, axes_of, encode_bytes, layout_bytes, model_content_hash, model_matches, read_session,
    session_bytes,
)


def _record(model_folder) -> dict:
    return {
        "app_version": "0.1.0", "saved": "2026-12-05T17:30:00Z",
        "model": {"folder": str(model_folder), "model_id": "abc", "content_sha256": model_content_hash(model_folder)},
        "window": {"workspace": "explore", "layout": encode_bytes(b"\x00\x01qt-state"), "geometry": None},
        "sampler": {"name": "normal", "values": {"scale": 0.8}, "n": 32, "seed": 5, "where": None},
        "sample": {"params": {"sampler": "normal", "n": 32, "seed": 5, "sampler_params": {"scale": 0.8}}},
        "selection": {"current": 3, "selected": [1, 3], "photo_current": None},
        "axes": [["pca", 2], ["z", 7]], "levels": [2.0, 2.2, 3.0], "colour_by": "Smiling",
        "edit": {"z": [0.5] * 8},
        "photos": [{"source": "/photos/me.jpg", "face_index": 0, "z": [0.1] * 8, "framing": "detected",
                    "transform": [[1, 0, -10], [0, 1, -20]], "png": base64.b64encode(b"\x89PNG...").decode(),
                    "photo_size": [640, 480], "faces_found": 2, "face_angle": -4.5, "mse": 0.01, "no_detect": False}],
        "directions": {"set_file": None, "items": [
            {"name": "pca 1", "method": "pca", "label": "+Smiling 1.3", "unit": [0.5] * 4 + [-0.5] * 4, "sigma": 1.5,
             "meta": {"k": 1}},
            {"name": "mine", "method": "attribute", "label": "", "unit": [0.0] * 7 + [1.0], "sigma": 0.2, "meta": {}}]},
        "bookmarks": [{"name": "PC3 × z8, face 4", "axes": [["pca", 2], ["z", 7]], "view_range": [-1, 2, -3.5, 4],
                       "levels": [1.0, 2.0], "current": 3, "selected": [3], "photo_current": None,
                       "edit": [0.25] * 8, "sampler": {"name": "normal", "values": {"scale": 0.8}, "n": 32, "seed": 5,
                                                        "where": None}, "workspace": "explore"}],
        "path_vertices": [[0.0, 1.0], [2.5, -3.0]],
    }


def _write(tmp_path, obj, name="s.lfs-session.json") -> os.PathLike:
    path = tmp_path / name
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return path


def test_a_session_is_read_back_field_for_field(tiny_model, tmp_path):
    rec = _record(tiny_model)
    path = tmp_path / "a.lfs-session.json"
    path.write_bytes(session_bytes(rec))
    back = read_session(path)
    assert back == {"format": FORMAT, "version": VERSION, **rec}
    assert axes_of(back) == (("pca", 2), ("z", 7))
    assert layout_bytes(back) == b"\x00\x01qt-state"


def test_an_older_session_with_fewer_fields_and_unknown_newer_keys_opens(tiny_model, tmp_path):
    rec = {"format": FORMAT, "version": 1, "model": {"folder": str(tiny_model), "content_sha256": "0" * 64},
           "something_new": {"x": 1}}
    assert read_session(_write(tmp_path, rec))["something_new"] == {"x": 1}


def test_the_model_is_matched_by_content_and_can_be_repointed(tiny_model, tmp_path):
    import shutil

    rec = json.loads(session_bytes(_record(tiny_model)))
    assert model_matches(rec) == (tiny_model, True)
    moved = tmp_path / "moved"
    shutil.copytree(tiny_model, moved)
    assert model_matches(rec, moved) == (moved, True)  # the same content elsewhere
    z = np.load(moved / "latents.npy")
    np.save(moved / "latents.npy", z + 1)
    assert model_matches(rec, moved) == (moved, False)  # other z-points: not the session's model
    assert model_matches(rec, tmp_path / "gone") == (tmp_path / "gone", False)


def test_writing_refuses_a_session_it_could_not_read(tiny_model):
    rec = _record(tiny_model)
    rec["levels"] = [float("nan")]
    with pytest.raises(DataError, match=r"session\.levels\[0\] must be a finite number"):
        session_bytes(rec)


def _good(tiny_model) -> dict:
    return json.loads(session_bytes(_record(tiny_model)))


@pytest.mark.parametrize("change, why", [
    (lambda r: r.update(format="something-else"), "not a Latent Face Studio session file"),
    (lambda r: r.update(version=VERSION + 1), "a session of a newer Latent Face Studio"),
    (lambda r: r.update(version="1"), r"session\.version must be a whole number"),
    (lambda r: r["model"].pop("content_sha256"), r'session\.model is missing the key "content_sha256"'),
    (lambda r: r.update(axes=[["pca", -1], ["z", 0]]), r"session\.axes must be two"),
    (lambda r: r.update(axes=[["pca", True], ["z", 0]]), r"session\.axes must be two"),
    (lambda r: r.update(axes="PC1"), r"session\.axes must be two"),
    (lambda r: r["selection"].update(selected=list(range(100_001))), r"selection\.selected has 100,001 entries"),
    (lambda r: r["selection"].update(current=-3), r"selection\.current must be a whole number"),
    (lambda r: r["photos"][0].update(z=[1e300]), r"photos\[0\]\.z\[0\] must be a number"),
    (lambda r: r["photos"][0].update(png="not base64 !!"), r"photos\[0\]\.png is not a base64 picture"),
    (lambda r: r["photos"][0].update(transform=[[1, 0], [0, 1]]), r"photos\[0\]\.transform"),
    (lambda r: r.update(photos=[r["photos"][0]] * 201), r"session\.photos has 201 entries"),
    (lambda r: r["window"].update(layout="%%%"), r"session\.window\.layout is not base64"),
    (lambda r: r.update(cloud_selection={"n": 100, "bits": "AAAA", "how": ""}),
     r"cloud_selection\.bits must be base64 of 13 bytes"),
    (lambda r: r.update(cloud_selection={"n": 0, "bits": "", "how": ""}), r"cloud_selection\.n must be a whole number"),
    (lambda r: r["sample"].update(params=[1, 2]), r"session\.sample\.params must be an object"),
    (lambda r: r.update(path_vertices=[[0, 1, 2]]), r"path_vertices\[0\] has 3 entries"),
    (lambda r: r["model"].update(folder="x" * 5000), r"session\.model\.folder is 5,000 characters long"),
    (lambda r: r["photos"][0].update(photo_size=[640]), r"photos\[0\]\.photo_size must be \[width, height\]"),
    (lambda r: r["photos"][0].update(photo_size=[-1, 5]), r"photos\[0\]\.photo_size\[0\] must be a whole number"),
    (lambda r: r["photos"][0].update(no_detect="yes"), r"photos\[0\]\.no_detect must be true or false"),
    (lambda r: r["photos"][0].update(source=["/etc/passwd"]), r"photos\[0\]\.source must be a string"),
    (lambda r: r["directions"]["items"][0].update(method="os.system"), r"items\[0\]\.method 'os.system' is not one"),
    (lambda r: r["directions"]["items"][0].update(name="bad\nname"), r"items\[0\]\.name must be non-empty printable"),
    (lambda r: r["directions"]["items"][1].update(unit=[0.0] * 8), r"holds an all-zero direction"),
    (lambda r: r["directions"]["items"][1].update(unit=[1.0] * 9), r"unit vectors of different sizes"),
    (lambda r: r["directions"]["items"][0].update(sigma=0), r"items\[0\]\.sigma must be a number > 0"),
    (lambda r: r["directions"]["items"][0].pop("unit"), r'items\[0\] is missing the key "unit"'),
    (lambda r: r["directions"].update(items=[r["directions"]["items"][0]] * 4097), r"items has 4,097 entries"),
    (lambda r: r["bookmarks"][0].update(axes=[["pca", 2]]), r"bookmarks\[0\]\.axes must be two"),
    (lambda r: r["bookmarks"][0].update(axes=[["rm -rf", 2], ["z", 1]]), r"bookmarks\[0\]\.axes must be two"),
    (lambda r: r["bookmarks"][0].update(view_range=[2, 1, 0, 1]), r"bookmarks\[0\]\.view_range must be"),
    (lambda r: r["bookmarks"][0].update(view_range=[0, 1e300, 0, 1]), r"bookmarks\[0\]\.view_range\[1\] must be"),
    (lambda r: r["bookmarks"][0].update(name=7), r"bookmarks\[0\]\.name must be a string"),
    (lambda r: r["bookmarks"][0].update(name="\x00\x01"), r"bookmarks\[0\]\.name must be printable"),
    (lambda r: r["bookmarks"][0].update(selected=[-1]), r"bookmarks\[0\]\.selected\[0\] must be a whole number"),
    (lambda r: r["bookmarks"][0]["sampler"].update(seed=2**40), r"bookmarks\[0\]\.sampler\.seed must be"),
    (lambda r: r.update(bookmarks=[r["bookmarks"][0]] * 1001), r"session\.bookmarks has 1,001 entries"),
    (lambda r: r["window"].update(zoom={"view_range": [0, "1"]}), r"zoom\.view_range\[1\] must be a number"),
])
def test_a_bad_field_is_one_line_naming_it(tiny_model, tmp_path, change, why):
    rec = _good(tiny_model)
    change(rec)
    with pytest.raises(DataError, match=why) as info:
        read_session(_write(tmp_path, rec))
    assert "\n" not in str(info.value) and "s.lfs-session.json" in str(info.value)


@pytest.mark.parametrize("text, why", [
    ("not json at all", "not a session file"),
    ("[1, 2, 3]", "not a Latent Face Studio session file"),
    ("[" * 100_000 + "]" * 100_000, "nested"),
    ('{"format": "latent-face-studio-session", "version": 1, "model": {"folder": "\\ud800", "content_sha256": ""}}',
     "surrogate"),
    ('{"format": "latent-face-studio-session", "version": 1, "model": {"folder": "m", "content_sha256": ""}, '
     '"levels": [NaN]}', "must be a finite number"),
])
def test_text_that_is_not_a_session_is_refused(tmp_path, text, why):
    with pytest.raises(DataError, match=why):
        read_session(_write(tmp_path, text))


def test_special_and_huge_files_are_refused_without_reading_them(tmp_path):
    fifo = tmp_path / "fifo.lfs-session.json"
    os.mkfifo(fifo)
    with pytest.raises(DataError, match="FIFO"):
        read_session(fifo)
    big = tmp_path / "big.lfs-session.json"
    with open(big, "wb") as fh:
        fh.truncate(MAX_BYTES + 1)  # sparse: nothing is read
    with pytest.raises(DataError, match="too large"):
        read_session(big)
    with pytest.raises(DataError):
        read_session(tmp_path / "missing.lfs-session.json")


def test_the_model_hash_is_remembered_by_file_identity_and_a_rewrite_is_read_again(tiny_model, tmp_path, monkeypatch):
    import shutil
    import time

    from engine import session_file

    monkeypatch.setenv("LFS_CACHE_DIR", str(tmp_path / "cache"))
    m = tmp_path / "m"
    shutil.copytree(tiny_model, m)
    past = time.time() - 3600
    for f in m.iterdir():
        os.utime(f, (past, past))
    time.sleep(session_file.RACY_SECONDS + 0.1)  # the copies' inode changes (ctime) are old enough to trust
    first = model_content_hash(m)
    assert first == model_content_hash(tiny_model)  # the same content, the same hash
    reads = []
    real_open = open
    monkeypatch.setattr(session_file, "open", lambda *a, **k: reads.append(a[0]) or real_open(*a, **k), raising=False)
    assert model_content_hash(m) == first and reads == []  # remembered: nothing read
    assert len(list((tmp_path / "cache" / "model-hash").iterdir())) == 2  # this folder and tiny_model
    latents = m / "latents.npy"
    data = bytearray(latents.read_bytes())
    data[-1] ^= 0xFF
    with real_open(latents, "r+b") as fh:  # the same file, the same size, one byte other
        fh.write(bytes(data))
    os.utime(latents, (past, past))  # even with its old modification time put back
    again = model_content_hash(m)
    assert again != first and latents in reads
    (m / "weights.safetensors").unlink()
    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"x")
    (m / "weights.safetensors").symlink_to(outside)
    with pytest.raises(ModelFileError, match="link leading out"):  # a member linking out is refused before any remembered hash is used
        model_content_hash(m)


def test_a_version_1_session_opens_migrated(tiny_model, tmp_path):
    """A session the app wrote before version 2 (no panel fields, no docks list, no "new seed each time")."""
    from engine.workflows.session import open_session

    rec = _record(tiny_model)
    del rec["directions"], rec["photos"], rec["edit"], rec["colour_by"], rec["bookmarks"], rec["sample"]
    rec["selection"] = {"current": None, "selected": [], "photo_current": None}
    v1 = _write(tmp_path, {"format": FORMAT, "version": 1, **rec})
    back = read_session(v1)
    assert back["version"] == VERSION == 2
    assert back["window"]["panels"] == {} and back["sampler"]["next_seed"] is False
    opened = open_session(v1)
    assert opened.view.panels == {} and opened.view.docks is None  # the panels and the layout keep what they show
    assert opened.view.sampler["values"] == {"scale": 0.8} and opened.state.axes == (("pca", 2), ("z", 7))
    assert opened.view.workspace == "explore" and opened.view.levels == [2.0, 2.2, 3.0]
