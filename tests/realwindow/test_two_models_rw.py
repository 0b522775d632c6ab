"""Two models side by side in a real window at 1280×720 (issue 27, part 5)."""
from __future__ import annotations


def test_two_models_side_by_side_fit_and_the_window_keeps_answering(run_scenario):
    v = run_scenario("two_models", timeout_s=240)
    assert v["workspace"] == "compare", "Ctrl+5 did not switch to Compare & report"
    assert v["dock shown"] and v["rows"] >= 6 and v["shared"] == "96", v
    assert all(v["on screen"].values()), f"parts of the Two models panel off screen or hidden: {v['on screen']}"
    assert v["longest gap ms"] < 500, f"the window stopped answering for {v['longest gap ms']} ms"
    assert v["face after click"].startswith(v["least"]), v
