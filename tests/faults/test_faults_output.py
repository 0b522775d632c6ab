"""Nothing a user owns is ever lost: where the commands may write (issue 12, classes 1 and 2).

Every writing command (``generate``, ``reconstruct``, ``edit``, ``train``, ``evaluate --out`` and the
GUI's save, which shares ``write_image_set``) is tried against the same classes of output:

* a folder holding the user's own files (numbered PNGs such as a camera's ``0001.png``),
* the input folder itself or a folder inside it,
* a set of ours that the user added files to, with and without ``--overwrite``,
* names that collide (``face.jpg`` + ``face.png``, ``Face.jpg`` + ``face.png``),
* an existing model folder that is not being trained (the embedded model, a copied one),
* a single output file that is not ours.

Each refusal is one line, exit 2, before any work, and leaves every file byte for byte as it was.
"""
from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from engine import atomic_io
from engine.formats import native as model_store
from engine.autoencoder import ArchitectureConfig, ConvAutoencoder
from engine.errors import EngineError
from engine.image_data import Preprocess
from engine.image_sets import write_image_set
from engine.output_folders import inspect_folder, unique_file_names

from faults_support import TINY_ARCH, cli, write_faces

PRE = Preprocess(image_size=32, reference_size=(48, 48), crop_box=(0, 0, 48, 48))


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def _model(folder: Path, n: int = 30) -> Path:
    cfg = ArchitectureConfig(**TINY_ARCH)
    torch.manual_seed(0)
    model_store.save_model(folder, ConvAutoencoder(cfg), model_store.ModelConfig(cfg, PRE))
    names = [f"{i:06d}.png" for i in range(n)]
    model_store.save_latents(folder, np.random.default_rng(0).normal(size=(n, 8)).astype(np.float32), names)
    rows = "".join(f"{name},{i % 2}\n" for i, name in enumerate(names))
    (folder / "labels.csv").write_text("file,Smiling\n" + rows)
    return folder


@pytest.fixture(scope="module")
def p(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("out")
    paths = {"base": base, "model": _model(base / "model"), "data": base / "faces"}
    write_faces(paths["data"], 4, seed=1)
    return paths


def one_line_error(rc, err, expect):
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert rc == 2, f"exit {rc}: {err}"
    assert "Traceback" not in err and len(lines) == 1, lines
    assert expect in lines[0], lines[0]


def _photos(folder: Path) -> Path:
    """A user's photo folder whose names look like ours: 0000.png, 0001.png, grid.png, params.json."""
    folder.mkdir(parents=True)
    for name in ("0000.png", "0001.png", "0002.png", "grid.png", "holiday.jpg"):
        atomic_io.save_png(folder / name, np.full((4, 4, 3), len(name), np.uint8))
    (folder / "params.json").write_text('{"camera": "mine"}')
    return folder


def _writers(p, out, *extra):
    m, d = p["model"], p["data"]
    return {
        "generate": ["generate", "--model", m, "--sampler", "normal", "--n", "3", "--out", out, *extra],
        "generate-z-only": ["generate", "--model", m, "--n", "3", "--z-only", "--out", out, *extra],
        "reconstruct": ["reconstruct", "--model", m, "--data", d, "--out", out, *extra],
        "edit": ["edit", "--model", m, "--data", d, "--attribute", "Smiling", "--n", "2", "--out", out, *extra],
    }


WRITERS = ["generate", "generate-z-only", "reconstruct", "edit"]


# ---------------------------------------------------------------------------------------------
# 1. a folder of the user's files is never written into, with or without --overwrite


@pytest.mark.parametrize("overwrite", [False, True])
@pytest.mark.parametrize("command", WRITERS)
def test_a_folder_of_the_users_files_is_refused_untouched(p, capsys, tmp_path, command, overwrite):
    folder = _photos(tmp_path / "photos")
    before = snapshot(folder)
    argv = _writers(p, folder, *(["--overwrite"] if overwrite else []))[command]
    rc, _, err = cli(argv, capsys)
    one_line_error(rc, err, "did not write")
    assert snapshot(folder) == before
    assert sorted(os.listdir(folder)) == sorted(before)  # no staging folder, no lock left either


def test_the_gui_save_shares_the_rule(tmp_path):
    folder = _photos(tmp_path / "photos")
    before = snapshot(folder)
    for overwrite in (False, True):
        with pytest.raises(EngineError, match="did not write"):
            write_image_set(folder, np.zeros((2, 8)), {"sampler": "normal"}, np.zeros((2, 4, 4, 3), np.uint8),
                            overwrite=overwrite)
    assert snapshot(folder) == before


@pytest.mark.parametrize("command", WRITERS)
def test_new_and_empty_folders_are_written_and_recognised_as_ours(p, capsys, tmp_path, command):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / ".DS_Store").write_bytes(b"finder")  # hidden entries do not make a folder "not empty"
    for folder in (tmp_path / "new" / "deeper", empty):
        rc, _, err = cli(_writers(p, folder)[command], capsys)
        assert rc == 0, err
        state = inspect_folder(folder)
        assert state.ours and not state.foreign
        meta = json.loads((folder / "params.json").read_text())
        assert meta["written_by"] == "latent-face-studio"
        assert sorted(meta["set_files"]) == sorted(n for n in os.listdir(folder) if not n.startswith(".")
                                                    and n != "params.json")
    assert (empty / ".DS_Store").read_bytes() == b"finder"


# ---------------------------------------------------------------------------------------------
# output equal to or inside an input


def test_output_inside_an_input_is_refused_before_any_work(p, capsys):
    m, d = p["model"], p["data"]
    before_model, before_data = snapshot(m), snapshot(d)
    cases = [
        ["reconstruct", "--model", m, "--data", d, "--out", d],
        ["reconstruct", "--model", m, "--data", d, "--out", d / "recon"],
        ["reconstruct", "--model", m, "--data", d, "--out", m / "recon"],
        ["edit", "--model", m, "--data", d, "--attribute", "Smiling", "--out", d],
        ["edit", "--model", m, "--data", d, "--attribute", "Smiling", "--out", d / ".." / d.name / "x"],
        ["generate", "--model", m, "--n", "2", "--out", m / "faces"],
        ["train", "--data", d, "--out", d / "model", "--image-size", "32", "--z-dim", "8", "--epochs", "1"],
        ["evaluate", "--model", m, "--samplers", "uniform", "--n", "4", "--out", m / "report.json"],
        ["evaluate", "--model", m, "--data", d, "--samplers", "uniform", "--n", "4", "--out", d / "report.json"],
    ]
    for argv in cases:
        rc, _, err = cli(argv, capsys)
        one_line_error(rc, err, "is inside the input")
    assert snapshot(m) == before_model and snapshot(d) == before_data


def test_a_link_into_the_input_is_seen_through(p, capsys, tmp_path):
    link = tmp_path / "looks-elsewhere"
    link.symlink_to(p["data"])
    before = snapshot(p["data"])
    rc, _, err = cli(["reconstruct", "--model", p["model"], "--data", p["data"], "--out", link], capsys)
    one_line_error(rc, err, "is inside the input")
    assert snapshot(p["data"]) == before


# ---------------------------------------------------------------------------------------------
# --overwrite replaces only our own files


def test_overwrite_replaces_only_the_sets_own_files(p, capsys, tmp_path):
    folder = tmp_path / "set"
    assert cli(_writers(p, folder)["generate"], capsys)[0] == 0
    (folder / "notes.txt").write_text("the user's notes")
    rc, _, err = cli(["generate", "--model", p["model"], "--n", "2", "--out", folder], capsys)
    one_line_error(rc, err, "already holds an image set")
    rc, _, err = cli(["generate", "--model", p["model"], "--n", "2", "--out", folder, "--overwrite"], capsys)
    assert rc == 0, err
    assert sorted(os.listdir(folder)) == ["0000.png", "0001.png", "grid.png", "notes.txt", "params.json", "z.npy"]
    assert (folder / "notes.txt").read_text() == "the user's notes"


def test_a_users_file_where_the_new_set_would_land_is_never_replaced(p, capsys, tmp_path):
    folder = tmp_path / "set"
    assert cli(["generate", "--model", p["model"], "--n", "2", "--out", folder], capsys)[0] == 0
    atomic_io.save_png(folder / "0004.png", np.full((4, 4, 3), 7, np.uint8))  # the user's picture
    before = snapshot(folder)
    rc, _, err = cli(["generate", "--model", p["model"], "--n", "6", "--out", folder, "--overwrite"], capsys)
    one_line_error(rc, err, "0004.png is not a file of the set")
    assert snapshot(folder) == before


def test_an_old_set_without_a_manifest_loses_only_the_files_it_listed(p, capsys, tmp_path):
    """Sets written before manifests: 'any numbered PNG' was taken for ours; now only listed ones are."""
    folder = tmp_path / "old"
    folder.mkdir()
    for name in ("0000.png", "0001.png", "0007.png"):
        atomic_io.save_png(folder / name, np.zeros((4, 4, 3), np.uint8))
    np.save(folder / "z.npy", np.zeros((2, 8), np.float32))
    (folder / "params.json").write_text(json.dumps({"sampler": "uniform", "app_version": "0.1.0", "n": 2,
                                                    "files": ["0000.png", "0001.png"]}))
    user = (folder / "0007.png").read_bytes()
    assert inspect_folder(folder).ours and inspect_folder(folder).foreign == ["0007.png"]
    rc, _, err = cli(["generate", "--model", p["model"], "--n", "1", "--out", folder, "--overwrite"], capsys)
    assert rc == 0, err
    assert sorted(os.listdir(folder)) == ["0000.png", "0007.png", "grid.png", "params.json", "z.npy"]
    assert (folder / "0007.png").read_bytes() == user


@pytest.mark.parametrize("command", ["reconstruct", "edit"])
def test_overwriting_with_fewer_outputs_leaves_no_stale_files(p, capsys, tmp_path, command):
    folder = tmp_path / command
    argv = _writers(p, folder)[command]
    assert cli([*argv, "--n", "3"], capsys)[0] == 0
    first = sorted(os.listdir(folder))
    assert len(first) == 5  # 3 faces, grid, params
    assert cli([*argv, "--n", "1", "--overwrite"], capsys)[0] == 0
    assert sorted(os.listdir(folder)) == ["000001.png", "grid.png", "params.json"]


@pytest.mark.parametrize("victim", ["000002.png", "grid.png", "params.json"])
def test_disk_full_while_overwriting_edit_strips_keeps_the_previous_strips(p, capsys, tmp_path, monkeypatch, victim):
    folder = tmp_path / "strips"
    argv = _writers(p, folder)["edit"]
    assert cli([*argv, "--n", "2"], capsys)[0] == 0
    before = snapshot(folder)
    real_open = open

    def full_open(path, mode="r", *a, **k):
        if "w" in mode and Path(path).name.startswith((victim, f".{victim}")):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real_open(path, mode, *a, **k)

    monkeypatch.setattr(atomic_io, "open", full_open, raising=False)
    rc, _, err = cli([*argv, "--n", "3", "--overwrite"], capsys)
    one_line_error(rc, err, "No space left on device")
    assert snapshot(folder) == before


# ---------------------------------------------------------------------------------------------
# names that collide


def test_inputs_whose_names_collide_get_distinct_outputs(p, capsys, tmp_path):
    from PIL import Image

    data = tmp_path / "mixed"
    write_faces(data, 3, seed=2)
    os.rename(data / "000001.png", data / "face.png")
    Image.open(data / "000002.png").save(data / "face.jpg")
    os.remove(data / "000002.png")
    os.rename(data / "000003.png", data / "Face.bmp")
    for command in ("reconstruct", "edit"):
        out = tmp_path / command
        argv = {"reconstruct": ["reconstruct", "--model", p["model"], "--data", data, "--out", out],
                "edit": ["edit", "--model", p["model"], "--data", data, "--attribute", "Smiling", "--out", out]}[command]
        rc, _, err = cli(argv, capsys)
        assert rc == 0, err
        meta = json.loads((out / "params.json").read_text())
        assert len(meta["files"]) == 3 and len({f.casefold() for f in meta["files"]}) == 3
        assert sorted(meta["sources"]) == ["Face.bmp", "face.jpg", "face.png"]
        assert all((out / f).is_file() for f in meta["files"])


def test_unique_file_names_class():
    assert unique_file_names(["face", "face", "Face", "grid", "", ".hidden", "a/b"], reserved=["grid.png"]) == [
        "face.png", "face-1.png", "Face-2.png", "grid-1.png", "0004.png", "0005.png", "0006.png"]


# ---------------------------------------------------------------------------------------------
# train: an existing model folder is never trained over


def test_train_refuses_an_existing_model_and_a_foreign_folder(p, capsys, tmp_path):
    train = ["train", "--data", p["data"], "--image-size", "32", "--z-dim", "8", "--channels", "8,16,16,32",
             "--epochs", "1", "--no-encode"]
    model = _model(tmp_path / "finished")  # no checkpoint: the embedded model, a copied or imported one
    photos = _photos(tmp_path / "photos")
    for folder, expect in ((model, "already holds a model"), (photos, "not a Latent Face Studio model")):
        before = snapshot(folder)
        rc, _, err = cli([*train, "--out", folder], capsys)
        one_line_error(rc, err, expect)
        assert snapshot(folder) == before
    rc, _, err = cli([*train, "--out", photos, "--resume"], capsys)
    one_line_error(rc, err, "not a Latent Face Studio model")
    rc, _, err = cli([*train, "--out", tmp_path / "fresh"], capsys)
    assert rc == 0, err
    assert sorted(os.listdir(tmp_path / "fresh")) == ["checkpoint.safetensors", "config.json", "weights.safetensors"]


# ---------------------------------------------------------------------------------------------
# a single output file


def test_evaluate_out_never_replaces_a_file_it_did_not_write(p, capsys, tmp_path):
    ev = ["evaluate", "--model", p["model"], "--samplers", "uniform", "--n", "4"]
    photo = tmp_path / "photo.png"
    atomic_io.save_png(photo, np.zeros((4, 4, 3), np.uint8))
    notes = tmp_path / "notes.json"
    notes.write_text('{"rows": "mine"}')
    for path in (photo, notes):
        before = path.read_bytes()
        for extra in ([], ["--overwrite"]):
            rc, _, err = cli([*ev, "--out", path, *extra], capsys)
            one_line_error(rc, err, "is not a report Latent Face Studio wrote")
        assert path.read_bytes() == before
    report = tmp_path / "report.json"
    assert cli([*ev, "--out", report], capsys)[0] == 0
    rc, _, err = cli([*ev, "--out", report], capsys)
    one_line_error(rc, err, "--overwrite")
    rc, _, err = cli([*ev, "--out", report, "--overwrite", "--seed", "3"], capsys)
    assert rc == 0, err
    assert "rows" in json.loads(report.read_text())


# ---------------------------------------------------------------------------------------------
# empty and odd argument values


@pytest.mark.parametrize("argv, expect", [
    (["generate", "--n", "2", "--out", ""], "--out: an empty path"),
    (["generate", "--n", "2", "--out", "  "], "--out: an empty path"),
    (["generate", "--model", "", "--n", "2", "--out", "x"], "--model: an empty path"),
    (["reconstruct", "--data", "", "--out", "x"], "--data: an empty path"),
    (["attributes", "--import", ""], "--import: an empty path"),
    (["generate", "--n", "2", "--seed", "-1", "--out", "x"], "--seed"),
    (["train", "--data", "d", "--out", "o", "--seed", str(2**70)], "--seed"),
    (["evaluate", "--seed", "-5"], "--seed"),
    (["edit", "--data", "d", "--attribute", "Smiling", "--out", "o", "--n", "0"], "--n"),
    (["attributes", "--rates", "Smiling=1", "--n", "-3"], "--n"),
    (["gui", "--screenshot", "no-such-folder/shot.png"], "does not exist"),
])
def test_empty_paths_and_out_of_range_values_are_one_line(capsys, tmp_path, monkeypatch, argv, expect):
    monkeypatch.chdir(tmp_path)
    rc, _, err = cli(argv, capsys)
    one_line_error(rc, err, expect)
    assert os.listdir(tmp_path) == []  # nothing written into the current folder


# ---------------------------------------------------------------------------------------------
# 2. one writer per model folder: train, encode, attributes --import, save_model/save_latents


@pytest.fixture
def live_writer(tmp_path):
    """Another live process holding a model folder's writer lock (as a running ``train`` would)."""
    import socket
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield f"{proc.pid}@{socket.gethostname()} train"
    proc.kill()
    proc.wait()


def test_every_writer_of_a_model_folder_is_refused_while_another_holds_it(p, capsys, tmp_path, live_writer):
    model = _model(tmp_path / "busy")
    (model / ".model.lock").write_text(live_writer)
    labels = tmp_path / "labels.csv"
    labels.write_text("file,Smiling\n000000.png,1\n")
    before = snapshot(model)
    holder = live_writer.split()[0]
    for argv, job in (
        (["encode", "--model", model, "--data", p["data"]], "encode"),
        (["attributes", "--model", model, "--import", labels], "import labels"),
        (["train", "--data", p["data"], "--out", model, "--resume", "--epochs", "3"], "train"),
    ):
        rc, _, err = cli(argv, capsys)
        one_line_error(rc, err, f"cannot {job} — another writer ({holder} train) is working on this model folder")
        assert snapshot(model) == before
    for write in (lambda: model_store.save_latents(model, np.zeros((2, 8), np.float32), ["a.png", "b.png"]),
                  lambda: model_store.save_model(model, *model_store.load_model(model))):
        with pytest.raises(EngineError, match="another writer"):
            write()
    assert snapshot(model) == before


def test_two_encodes_racing_into_one_model_never_leave_it_unloadable(p, tmp_path, monkeypatch):
    """Both start together; exactly one writes, the other is refused, the folder loads with matching names."""
    import threading

    from engine import encoding

    model = _model(tmp_path / "m")
    barrier = threading.Barrier(2, timeout=30)
    real = encoding.model_writer

    def writer_after_both_started(folder, job, *a, **k):
        barrier.wait()
        return real(folder, job, *a, **k)

    monkeypatch.setattr(encoding, "model_writer", writer_after_both_started)
    results = []

    def run():
        try:
            encoding.encode_folder(model, p["data"])
            results.append("ok")
        except EngineError as exc:
            results.append(str(exc))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(r == "ok" for r in results) == [False, True], results
    assert "another writer" in next(r for r in results if r != "ok")
    z, names = model_store.load_latents(model, 8)
    assert len(z) == 4 and names == sorted(os.listdir(p["data"]))
    assert not (model / ".model.lock").exists()


def test_a_writer_lock_left_by_a_dead_process_is_taken_over(p, capsys, tmp_path):
    import socket
    import subprocess
    import sys

    model = _model(tmp_path / "m")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (model / ".model.lock").write_text(f"{dead.pid}@{socket.gethostname()} encode")
    rc, _, err = cli(["encode", "--model", model, "--data", p["data"]], capsys)
    assert rc == 0, err
    assert len(model_store.load_latents(model, 8)[0]) == 4 and not (model / ".model.lock").exists()
