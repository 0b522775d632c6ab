"""The window in a real X11 display with a window manager, driven by real input (xdotool): what offscreen Qt cannot
show (issue 24). Each test runs one scenario of tests/realwindow/scenarios/ in its own process and asserts its
verdict; ``LFS_REALWINDOW_SHOTS=FOLDER`` keeps the screenshots."""
from __future__ import annotations

import pytest

#: How far a panel may move or change size (pixels) when the window comes back to its size.
LAYOUT_TOLERANCE = 6


def test_the_wheel_changes_no_value_and_scrolls_the_panel(run_scenario):
    v = run_scenario("wheel")
    for name, (before, after, at, now, top) in v["inspector"].items():
        assert after == before, f"the wheel over the inspector's {name} changed it: {before} → {after}"
        assert top > 0 and now > at, f"the wheel over the inspector's {name} did not scroll it ({at} → {now} of {top})"
    for part in ("sampler", "sampler up"):
        for name, (before, after, at, now, top) in v[part].items():
            assert after == before, f"the wheel over the sampler's {name} changed it: {before} → {after}"
            if part == "sampler" and top:
                assert now > at, f"the wheel over the sampler's {name} did not scroll it"
    before, after, focused = v["clicked faces spin box"]
    assert focused and after == before + 1, "a spin box the user clicked takes the wheel"


def _moved(a: dict, b: dict) -> dict:
    """The panels whose rectangle differs by more than the tolerance (or that are gone or new)."""
    moved = {n: (a.get(n), b.get(n)) for n in set(a) ^ set(b)}
    for n in set(a) & set(b):
        if max(abs(p - q) for p, q in zip(a[n], b[n])) > LAYOUT_TOLERANCE:
            moved[n] = (a[n], b[n])
    return moved


@pytest.mark.xfail(strict=False, reason="issue 24, finding 1: the layout drifts after a resize (the layout work "
                                        "fixes it)")
def test_shrinking_and_growing_the_window_keeps_the_layout(run_scenario):
    v = run_scenario("resize")
    assert v["back"] == v["size"] and v["restored"] == v["size"], "the window did not come back to its size"
    assert v["before"], "no panel visible"
    assert v["small"][0] < v["size"][0] and v["small"][1] < v["size"][1], "the window did not shrink"
    assert not _moved(v["before"], v["after"]), f"after 900×560 and back: {_moved(v['before'], v['after'])}"
    assert not _moved(v["before"], v["after_max"]), f"after maximise and back: {_moved(v['before'], v['after_max'])}"


@pytest.mark.xfail(strict=False, reason="issue 24, finding 8: the F1 help is taller than a 720 px screen (the help "
                                        "work fixes it)")
def test_f1_help_fits_the_screen(run_scenario):
    v = run_scenario("help_fits")
    assert v["windows"] or v["docks shown"], "F1 opened nothing"
    for win in v["windows"]:
        assert win["inside"], f"{win['title']!r} at {win['frame']} is not inside the screen {v['screen']}"
        assert not win["buttons outside"], f"{win['title']!r}: {win['buttons outside']} off the screen"


@pytest.mark.xfail(strict=False, reason="issue 24, finding 5: the status bar cuts the job's name (the jobs work "
                                        "fixes it)")
def test_the_status_bar_shows_the_whole_job_name(run_scenario):
    v = run_scenario("job_label")
    showing = [lab for lab in v["labels"] if v["name"] in lab["text"]]
    assert showing, f"no status bar label shows {v['name']!r} whole: {v['labels']}"
    assert all(lab["text width"] <= lab["width"] for lab in showing)


def test_a_model_being_prepared_says_so_in_the_status_bar(run_scenario):
    v = run_scenario("first_launch_notice", timeout_s=180)
    notice = v["notice"]
    assert "preparing this model for fast decoding (once, ~" in notice["text"]
    assert notice["text width"] <= notice["room"], f"the notice is cut: {notice}"
    assert "preparing this model" not in v["after"]  # gone once the model is ready
    assert not any("preparing this model" in m for m in v["second open"]), v["second open"]  # once
