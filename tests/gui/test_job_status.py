"""The status bar's job area: the whole job name at 1280 px, its step and time, no developer timings; long jobs
say so first; the report asks which parts, with their expected times."""
from __future__ import annotations

import json
import re
import threading

import pytest
from PySide6.QtWidgets import QLabel


@pytest.fixture(autouse=True)
def quiet_machine(monkeypatch):
    """The estimates as on a quiet machine (they grow with the machine's load)."""
    from engine.workflows import estimates

    monkeypatch.setattr(estimates, "busy_factor", lambda: 1.0)


def _status_texts(w) -> list[str]:
    bar = w.statusBar()
    return [bar.currentMessage()] + [lab.text() for lab in bar.findChildren(QLabel)]


def _blocking_job(name, title, gate, **kw):
    from engine.progress import Progress

    from gui.engine_bridge import Job

    def fn(progress, cancel):
        progress(Progress(name, 3, 10, "fitting the mixture"))
        while not gate.wait(0.05):
            cancel.raise_if_cancelled()
        return None

    return Job(name, fn, title=title, **kw)


def test_job_label_shows_the_whole_name_at_1280(window, qtbot):
    window.resize(1280, 720)
    qtbot.wait(50)
    gate = threading.Event()
    title = "Generating 32 faces (gmm)"
    job = _blocking_job("generate", title, gate)
    js = window.job_status
    try:
        with qtbot.waitSignal(window.bridge.job_progress, timeout=10000):
            window.bridge.submit(job)
        qtbot.waitUntil(lambda: "fitting the mixture" in js.step.text(), timeout=5000)
        assert js.label.text() == title
        assert window.width() <= 1280
        fm = js.label.fontMetrics()
        qtbot.waitUntil(lambda: js.label.width() >= fm.horizontalAdvance(title), timeout=2000)  # never clipped
        assert js.label.isVisible() and js.cancel_btn.isEnabled()
        assert js.box.geometry().right() <= window.statusBar().width()  # the whole area is in the window
        assert js.step.text() == "fitting the mixture (3 of 10)"
        assert re.fullmatch(r"0:0\d", js.time_label.text().split(" · ")[0]), js.time_label.text()
        # the same at 1920
        window.resize(1920, 1080)
        qtbot.waitUntil(lambda: js.label.width() >= fm.horizontalAdvance(title), timeout=2000)
    finally:
        gate.set()
    qtbot.waitUntil(lambda: not window.bridge.busy(), timeout=10000)
    assert js.label.text() == "" and not js.cancel_btn.isEnabled()


def test_a_job_without_a_title_is_named_in_plain_words():
    from gui.engine_bridge import Job

    assert Job("export report", lambda p, c: None).label == "Writing the report"
    assert Job("nearest faces", lambda p, c: None).label == "Nearest faces"
    assert Job("generate", lambda p, c: None, title="Generating 4 faces (kde)").label == "Generating 4 faces (kde)"


def test_time_left_from_progress_and_from_the_estimate(window, qtbot, monkeypatch):
    from engine.progress import Progress
    from engine.workflows.estimates import Expected

    from gui.engine_bridge import Job

    js = window.job_status
    now = [1000.0]
    monkeypatch.setattr("time.monotonic", lambda: now[0])
    job = Job("generate", lambda p, c: None, expected=Expected(60, True, "fitting the gmm sampler", 0.3))
    window.resize(1280, 720)
    js.started(job)
    assert js.step.text() == "first time for this model: about a minute; cached afterwards"
    assert "fitting the gmm sampler" in js.step.toolTip()
    qtbot.waitUntil(lambda: js.step.shown_text() == js.step.text(), timeout=2000)  # not elided at 1280
    now[0] += 10
    assert js.time_text() == "0:10 · about 0:50 left"  # the estimate, within its time
    js.progress(job, Progress("generate", 50, 100))
    now[0] += 5
    assert js.time_text() == "0:15 · about 0:45 left"  # the estimate still (steps are seldom equal)
    now[0] += 60
    js.progress(job, Progress("generate", 75, 100))
    assert js.time_text() == "1:15 · about 0:25 left"  # past the estimate: from the progress (3/4 in 75 s)
    js.progress(job, Progress("generate", 100, 100))
    assert js.time_text() == "1:15 · longer than expected"
    quick = Job("generate", lambda p, c: None)
    js.started(quick)
    now[0] += 3
    js.progress(quick, Progress("generate", 10, 100))
    now[0] += 3
    assert js.time_text() == "0:06 · about 0:24 left"  # no estimate: from the progress alone (10 % in 3 s)
    js.idle()
    assert js.time_label.text() == ""


def test_no_developer_timing_in_the_status_bar(window, qtbot):
    redraws = []
    window.pair_plot.redrawn.connect(redraws.append)
    s = window.session
    s.set_axes(("z", 1), ("z", 2))
    window.pair_plot.recompute()
    qtbot.waitUntil(lambda: bool(redraws), timeout=10000)
    qtbot.wait(50)
    assert not any(re.search(r"\d\s*ms\b", t) for t in _status_texts(window)), _status_texts(window)


def test_a_slow_generate_says_so_before_it_starts(window, qtbot, monkeypatch):
    from engine.workflows import estimates

    monkeypatch.setattr(estimates, "fit_cached", lambda *a, **k: False)
    monkeypatch.setattr(estimates, "FIT_S", {**estimates.FIT_S, "normal": 400.0})  # as slow as a big gmm fit
    window.sampler_panel.set_sampler("normal")
    started = []
    window.bridge.job_started.connect(lambda job: started.append((job, window.job_status.step.text())))
    job = window.window_actions.generate_now()
    # the panel that asked says so at once, before the job has run
    assert "first time for this model" in window.sampler_panel.diagnostics.text()
    assert job.expected.long and job.label == f"Generating {window.sampler_panel.request()['n']} faces (normal)"
    qtbot.waitUntil(lambda: bool(started), timeout=10000)
    assert started[0][0] is job
    assert "first time for this model" in started[0][1] and "cached afterwards" in started[0][1]
    qtbot.waitUntil(lambda: not window.bridge.busy(), timeout=30000)


def test_a_quick_generate_says_nothing_first(window, qtbot):
    window.sampler_panel.set_sampler("uniform")
    job = window.window_actions.generate_now()
    assert not job.expected.long and job.notice() == ""
    qtbot.waitUntil(lambda: not window.bridge.busy(), timeout=30000)


def test_report_dialog_lists_parts_with_estimates_and_is_honoured(window, qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    from gui.qt_report_dialog import ReportDialog

    seen = {}

    def choose(dlg):
        seen["texts"] = {name: box.text() for name, box in dlg.boxes.items()}
        seen["enabled"] = {name: box.isEnabled() for name, box in dlg.boxes.items()}
        seen["checked"] = dlg.parts()
        seen["total"] = dlg.total.text()
        dlg.boxes["faces"].setChecked(False)
        return 1

    monkeypatch.setattr(ReportDialog, "exec", choose)
    out = tmp_path / "rep"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
    window.window_actions.export_report_dialog()
    assert set(seen["texts"]) == {"statistics", "faces", "atlas", "comparison"}
    for name in ("statistics", "faces", "atlas"):
        assert re.search(r" — (about|a few)", seen["texts"][name]), seen["texts"][name]
    # no dataset open: the comparison cannot be chosen, and says why
    assert not seen["enabled"]["comparison"] and "dataset folder" in seen["texts"]["comparison"]
    assert seen["checked"] == ["statistics", "faces", "atlas"] and seen["total"].startswith("Expected: ")
    qtbot.waitUntil(lambda: not window.bridge.busy(), timeout=120000)
    numbers = json.loads((out / "report.json").read_text())
    assert numbers["parts"] == ["statistics", "atlas"] and "faces" not in numbers


def test_report_dialog_offers_the_comparison_unticked_with_its_time(qtbot):
    from engine.workflows.estimates import Expected

    from gui.qt_report_dialog import ReportDialog

    est = {"statistics": Expected(6), "faces": Expected(22, True, "fitting the gmm sampler", 5.0),
           "atlas": Expected(1.5), "comparison": Expected(175, what="…")}
    dlg = ReportDialog(None, est, has_data=True)
    qtbot.addWidget(dlg)
    assert dlg.boxes["comparison"].isEnabled() and not dlg.boxes["comparison"].isChecked()
    assert "about 3 minutes" in dlg.boxes["comparison"].text()
    assert "the first time for this model" in dlg.boxes["faces"].text() and "then a few seconds" in dlg.boxes["faces"].text()
    assert dlg.total.text() == "Expected: about 30 s"
    dlg.boxes["comparison"].setChecked(True)
    assert dlg.parts() == ["statistics", "faces", "atlas", "comparison"] and "minutes" in dlg.total.text()
    for box in dlg.boxes.values():
        box.setChecked(False)
    assert not dlg.buttons.buttons()[0].isEnabled() or dlg.parts() == []


@pytest.fixture(scope="module")
def labelled_model(tiny_model, tmp_path_factory):
    """A copy of the tiny model with a labels.csv (Smiling: z0 above its median)."""
    import shutil

    import numpy as np

    from engine.formats.native import load_latents, read_config

    folder = tmp_path_factory.mktemp("labelled-jobs") / "model"
    shutil.copytree(tiny_model, folder)
    z, files = load_latents(folder, read_config(folder).arch.z_dim)
    smiling = z[:, 0] > np.median(z[:, 0])
    (folder / "labels.csv").write_text("\n".join(["file,Smiling"] + [f"{f},{int(v)}" for f, v in zip(files, smiling)]) + "\n")
    return folder


def test_the_first_directions_compute_says_so_first(make_window, labelled_model, qtbot, monkeypatch):
    from engine.workflows import estimates

    w = make_window(labelled_model)
    qtbot.waitUntil(lambda: w.panels_ready() and not w.bridge.busy(), timeout=60000)
    assert w.session.labels is not None
    monkeypatch.setattr(estimates, "judges_cached", lambda z, table: False)
    monkeypatch.setattr(estimates, "JUDGE_S", 100.0)  # as slow as forty judges on a big cloud
    panel = w.directions
    job = panel.compute(method="pca", k=3)
    # the panel says so at once, before the job runs; the status bar as it starts
    assert "first time for this model" in panel.status.text() and "cached afterwards" in panel.status.text()
    assert job.label == "Finding directions (pca)" and job.expected.first_time
    qtbot.waitUntil(lambda: not w.bridge.busy(), timeout=60000)
