"""Outputs that are right or absent, refusals before work, and a clean Ctrl-C (issue 22, items 3-movie, 4, 5, 6).

One test per class, each against the CLI (``main.py``) or the workflow it calls:

* memory: a movie holds one batch of faces and one frame, whatever its number of frames (GIF and MP4);
* a full disk (a real tmpfs): non-zero exit, one line, nothing moved into place, a good movie kept;
* ownership: a single output file is ours only by its folder's record (name, size, sha256), never by its text;
* destinations that cannot be written: refused before any work, naming the user's path (no temp file);
* unknown, repeated or uncompared sampler names: refused before any work;
* absurd movie numbers: refused in one line, no numpy warning;
* Ctrl-C at several moments of a real run: exit 130, one line, nothing written.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from faults_support import ROOT, cli, fill_disk, mounted_tmpfs


def one_line_error(rc, err, *expect):
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert rc == 2, f"exit {rc}: {err}"
    assert len(lines) == 1 and "error: " in lines[0] and "Traceback" not in err, err  # ours, or argparse's
    for e in expect:
        assert e in lines[0], (e, lines[0])
    return lines[0]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in Path(folder).rglob("*") if p.name.endswith(".tmp") or p.name.startswith((".saving-", ".lfs-probe"))]


def env(tmp_path: Path) -> dict:
    return {**os.environ, "LFS_CACHE_DIR": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}


# ---------------------------------------------------------------------------------------------
# A. memory of a long movie of large frames

MEASURE = r"""
import os, sys, threading, time
sys.path.insert(0, sys.argv[1])
from engine.workflows.movie import MovieOptions, movie_of_sweep
from engine.workflows.open_model import open_model
model, out, suffix = sys.argv[2], sys.argv[3], sys.argv[4]
opened = open_model(model, statistics=True, labels=False)
movie_of_sweep(opened, out + "-warm" + suffix, "PC1", MovieOptions(frames=2, size=32))  # the imports, once
rss = lambda: int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
base, peak, done = rss(), [0], []
def watch():
    while not done:
        peak[0] = max(peak[0], rss())
        time.sleep(0.003)
watcher = threading.Thread(target=watch, daemon=True)
watcher.start()
movie_of_sweep(opened, out + suffix, "PC1", MovieOptions(frames=130, size=320))
done.append(1)
watcher.join()
print((peak[0] - base) // 2**20)
"""


@pytest.mark.parametrize("suffix", [".gif", ".mp4"])
def test_a_long_movie_of_large_frames_is_streamed_in_bounded_memory(tiny_model, tmp_path, suffix):
    """130 frames of 320² (40 MB as RGB): the resident memory of the process, sampled every few ms while the movie
    is written, may grow by a few MB, not with the frames (measured +7 MB GIF and MP4; was +83 MB GIF: every frame
    held by Pillow's save_all, as RGB and as palette images; +60 MB MP4: a whole decoded batch resized at once). FFmpeg's own memory (x264's
    look-ahead of a few frames) does not grow with the movie either; it is not measured here."""
    if not Path("/proc/self/statm").exists():
        pytest.skip("needs /proc to sample the resident memory")
    res = subprocess.run([sys.executable, "-c", MEASURE, str(ROOT), str(tiny_model), str(tmp_path / "m"), suffix],
                         capture_output=True, text=True, timeout=120, env=env(tmp_path))
    assert res.returncode == 0, res.stderr
    grew_mb = int(res.stdout.strip().splitlines()[-1])
    assert grew_mb < 25, f"peak RSS grew by {grew_mb} MB while writing 130 frames of 320²"
    from engine.workflows.movie import read_movie

    assert read_movie(tmp_path / f"m{suffix}")[:3] == (130, 320, 320)


# ---------------------------------------------------------------------------------------------
# B. a full disk: nothing moved into place, the good movie kept, no success printed


@pytest.fixture
def small_disk(tmp_path):
    yield from mounted_tmpfs(tmp_path / "disk", "3m")


def test_a_full_disk_during_a_movie_fails_and_keeps_the_previous_movie(small_disk, tiny_model, tmp_path):
    from engine.workflows.movie import make_movie

    for suffix in (".mp4", ".gif"):
        make_movie(tiny_model, small_disk / f"good{suffix}", axis="PC1", frames=4, size=32)
    before = snapshot(small_disk)
    fill_disk(small_disk, leave=8192)
    for suffix in (".mp4", ".gif"):
        out = small_disk / f"good{suffix}"
        res = subprocess.run([sys.executable, str(ROOT / "main.py"), "movie", "--model", str(tiny_model), "--axis", "PC1",
                              "--frames", "120", "--size", "256", "--out", str(out), "--overwrite"],
                             capture_output=True, text=True, timeout=120, env=env(tmp_path))
        assert res.returncode == 2, (suffix, res.returncode, res.stdout, res.stderr)
        assert res.stdout == ""  # no success line (was: exit 0, "good.mp4: 120 frames …" over a truncated file)
        err = res.stderr.strip()
        assert len(err.splitlines()) == 1 and "No space left on device" in err and str(out) in err, err
    (small_disk / "filler.bin").unlink()
    assert snapshot(small_disk) == before and not leftovers(small_disk)
    for suffix in (".mp4", ".gif"):  # still ours: replaced once there is room
        make_movie(tiny_model, small_disk / f"good{suffix}", axis="PC1", frames=5, size=32, overwrite=True)


# ---------------------------------------------------------------------------------------------
# C. ownership of a single output file


def test_a_single_output_file_is_ours_only_by_the_folders_record(tiny_model, tiny_data, tmp_path, capsys):
    from engine.workflows.movie import MARKER

    mv = ["movie", "--model", tiny_model, "--axis", "PC1", "--frames", "3", "--size", "32", "--overwrite", "--out"]
    for name in ("spoof.gif", "spoof.mp4"):  # a user's text quoting our marker (was: replaced with --overwrite)
        spoof = tmp_path / name
        spoof.write_text(f"my notes: {MARKER}\n")
        rc, _, err = cli([*mv, spoof], capsys)
        one_line_error(rc, err, "is not a movie Latent Face Studio wrote")
        assert spoof.read_text() == f"my notes: {MARKER}\n"
    ours = tmp_path / "ours.gif"
    assert cli([*mv, ours], capsys)[0] == 0
    assert cli([*mv, ours], capsys)[0] == 0  # ours, unchanged: replaced when asked
    with open(ours, "ab") as fh:  # the user edited it since: no longer ours
        fh.write(b"\0")
    edited = ours.read_bytes()
    rc, _, err = cli([*mv, ours], capsys)
    one_line_error(rc, err, "is not a movie")
    assert ours.read_bytes() == edited
    elsewhere = tmp_path / "copy"  # a copy of our movie in another folder carries no record there
    elsewhere.mkdir()
    (elsewhere / "m.gif").write_bytes(edited)
    one_line_error(*cli([*mv, elsewhere / "m.gif"], capsys)[::2], "is not a movie")
    # evaluate's report: a user's JSON holding our keys is not ours (was: replaced)
    theirs = tmp_path / "theirs.json"
    theirs.write_text(json.dumps({"metrics": [], "metric_help": {}, "rows": [], "mine": True}))
    ev = ["evaluate", "--model", tiny_model, "--samplers", "uniform", "--n", "4", "--overwrite", "--out"]
    one_line_error(*cli([*ev, theirs], capsys)[::2], "is not a report Latent Face Studio wrote")
    assert json.loads(theirs.read_text())["mine"] is True
    report = tmp_path / "report.json"
    assert cli([*ev, report], capsys)[0] == 0 and cli([*ev, report], capsys)[0] == 0


# ---------------------------------------------------------------------------------------------
# D. a destination that cannot be written, and unknown names: refused before any work


@pytest.fixture
def read_only_disk(tmp_path):
    mnt = tmp_path / "ro"
    gen = mounted_tmpfs(mnt, "1m")
    next(gen)
    subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
    yield mnt
    next(gen, None)


def _no_work(monkeypatch):
    import engine.evaluation
    import engine.workflows.open_model

    def work(*a, **k):
        raise AssertionError("the work started before the destination was checked")

    monkeypatch.setattr(engine.workflows.open_model, "open_model", work)
    monkeypatch.setattr(engine.evaluation, "evaluate", work)


def test_a_destination_that_cannot_be_written_is_refused_before_any_work(tiny_model, tiny_data, tmp_path, capsys,
                                                                        monkeypatch, request):
    places = [tmp_path / ("n" * 300) / "deeper"]  # a folder name longer than any file system allows
    if os.geteuid() == 0:
        places.append(request.getfixturevalue("read_only_disk") / "sub")
    _no_work(monkeypatch)
    for place in places:
        for argv, out in ((["movie", "--model", tiny_model, "--axis", "PC1", "--out"], place / "m.gif"),
                          (["report", "--model", tiny_model, "--out"], place / "report"),
                          (["evaluate", "--model", tiny_model, "--data", tiny_data, "--samplers", "uniform", "--out"],
                           place / "e.json")):
            t0 = time.perf_counter()
            rc, out_text, err = cli([*argv, out], capsys)
            line = one_line_error(rc, err, f"--out {out}: cannot be written")
            assert time.perf_counter() - t0 < 2.0 and out_text == ""
            assert ".tmp" not in line and ".saving-" not in line and ".lfs-probe" not in line
    assert not list(tmp_path.glob("n*"))  # the probe's folders are removed again


def test_unknown_repeated_or_uncompared_sampler_names_are_refused_before_any_work(tiny_model, tiny_data, tmp_path,
                                                                                   capsys, monkeypatch):
    _no_work(monkeypatch)
    cases = [
        (["report", "--model", tiny_model, "--out", tmp_path / "r", "--samplers", "normal,nosuch"], "unknown sampler 'nosuch'"),
        (["evaluate", "--model", tiny_model, "--samplers", "normal,nosuch"], "unknown sampler 'nosuch'"),
        (["evaluate", "--model", tiny_model, "--samplers", "normal,normal"], "named twice"),
        (["evaluate", "--model", tiny_model, "--samplers", "uniform", "--set", "normal.scale=2"], "not among the samplers"),
        (["evaluate", "--model", tiny_model, "--set", "nosuch.scale=2"], "unknown sampler 'nosuch'"),
    ]
    for argv, expect in cases:
        one_line_error(*cli(argv, capsys)[::2], expect)
    assert not (tmp_path / "r").exists()


# ---------------------------------------------------------------------------------------------
# E. absurd movie numbers


def test_absurd_movie_numbers_are_refused_in_one_line_without_numpy_warnings(tiny_model, tmp_path, capsys):
    far = tmp_path / "far.npy"
    np.save(far, np.full((1, 8), 1e30, np.float32))
    base = ["movie", "--model", tiny_model, "--frames", "3", "--size", "32"]
    cases = [
        (["--axis", "PC1", "--range", "1e308:-1e308"], "--range"),
        (["--axis", "PC1", "--range", "-51:0"], "±50 σ"),
        (["--axis", "PC1", "--range", "nan:1"], "--range"),
        (["--axis", "PC1", "--range=-inf:3"], "--range"),
        (["--axis", "PC1", "--fps", "1e308"], "--fps"),
        (["--axis", "PC1", "--fps", "nan"], "--fps"),
        (["--from", "0", "--to", far], "--to"),
        (["--from", far, "--to", "1", "--method", "spherical"], "--from"),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a numpy RuntimeWarning would end as an internal error, not exit 2
        for i, (extra, expect) in enumerate(cases):
            out = tmp_path / f"m{i}.gif"
            one_line_error(*cli([*base, *extra, "--out", out], capsys)[::2], expect)
            assert not out.exists()
        assert cli([*base, "--axis", "PC1", "--range", "-50:50", "--out", tmp_path / "ok.gif"], capsys)[0] == 0


# ---------------------------------------------------------------------------------------------
# F. Ctrl-C at any moment of a real run


def _startup_s() -> float:
    """How long the interpreter takes to reach a script's first line here (what no script can shorten)."""
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - t0)
    return sorted(times)[1]


def test_ctrl_c_at_any_moment_ends_with_130_one_line_and_nothing_written(tiny_model, tmp_path):
    """SIGINT at 0.05 … 1.5 s after the interpreter is up: during main.py's imports, argument parsing, the model's
    opening (numpy, onnxruntime), decoding and writing. Was: a bare ``KeyboardInterrupt`` (exit 1), a traceback,
    or (during onnxruntime's import) lost, and the whole movie written with exit 0."""
    start = _startup_s()
    out_dir = tmp_path / "out"
    for delay in (0.05, 0.12, 0.2, 0.3, 0.4, 0.5, 0.7, 1.0, 1.5):
        out_dir.mkdir()
        proc = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "movie", "--model", str(tiny_model), "--axis",
                                 "PC1", "--frames", "2000", "--size", "128", "--out", str(out_dir / "m.gif")],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(tmp_path))
        time.sleep(start + delay)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, (delay, proc.returncode, err)
        assert out == "" and len(err.strip().splitlines()) == 1 and err.startswith("interrupted"), (delay, err)
        assert not os.listdir(out_dir), (delay, os.listdir(out_dir))
        out_dir.rmdir()


def test_a_direction_set_is_ours_only_by_the_folders_record(tmp_path):
    """A direction set (NAME.json + NAME.npy) was taken for ours when its JSON carried our format's keys: a user's
    file with those words was replaced with overwrite. Now the folder's record decides, as for movies and reports."""
    import json

    from engine import lab
    from engine.errors import EngineError

    rng = np.random.default_rng(0)
    d = 8
    dirs = lab.pca_directions(rng.standard_normal((200, d)).astype(np.float32), 3)
    dset = lab.DirectionSet("mine", "m0001", d, dirs)
    ours = tmp_path / "ours.json"
    lab.save_direction_set(ours, dset)
    lab.save_direction_set(ours, dset, overwrite=True)  # ours, unchanged: replaced
    spoof = tmp_path / "spoof.json"
    spoof.write_text(json.dumps({**json.loads(ours.read_text()), "note": "the user's own notes"}))
    (tmp_path / "spoof.npy").write_bytes((tmp_path / "ours.npy").read_bytes())
    edited = json.loads(ours.read_text())
    edited["name"] = "renamed by hand"
    before = {p.name: p.read_bytes() for p in tmp_path.glob("*.*")}
    for target in (spoof, ours):
        if target is ours:
            ours.write_text(json.dumps(edited))
            before[ours.name] = ours.read_bytes()
        with pytest.raises(EngineError, match="is not a direction set Latent Face Studio wrote"):
            lab.save_direction_set(target, dset, overwrite=True)
    assert {p.name: p.read_bytes() for p in tmp_path.glob("*.*")} == before
