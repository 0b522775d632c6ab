"""A model that still needs its one-time preparation (its ONNX export) says so in the window while it is prepared;
the default model, which ships it, opens without a word about it."""
from __future__ import annotations

import pytest

pytest.importorskip("onnxruntime")

NOTICE = "preparing this model for fast decoding (once, ~"


def _follow(w) -> list[str]:
    """The job step label's full text after each progress record of a job."""
    texts: list[str] = []
    w.bridge.job_progress.connect(lambda job, p: texts.append(w.job_status.step.full_text()))
    return texts


def test_preparing_a_model_is_said_in_the_status_bar(make_window, qtbot, tiny_model, cache):
    w = make_window(None)
    texts = _follow(w)
    shown = []
    w.statusBar().messageChanged.connect(shown.append)
    w.window_actions.open_model(tiny_model, generate=False)
    qtbot.waitUntil(lambda: w.session.model is not None and not w.bridge.busy(), timeout=60000)
    assert any(NOTICE in t for t in texts), texts  # the job's progress step (the job label follows it)
    assert any(NOTICE in m and tiny_model.name in m for m in shown), shown  # the status bar's message, in full
    assert NOTICE in w.last_notice
    assert w.session.model.codec.fast_path() is not None
    texts.clear()
    shown.clear()
    first = w.session.model
    w.window_actions.open_model(tiny_model, generate=False)  # once: the next open finds the checked export
    qtbot.waitUntil(lambda: w.session.model is not first and not w.bridge.busy(), timeout=60000)
    assert not any(NOTICE in t for t in texts + shown)
