"""Decode and path without modifier keys, and the hover preview, in a real window (issue 24, findings 3 and 15)."""
from __future__ import annotations


def test_decode_and_path_work_without_modifier_keys(run_scenario):
    v = run_scenario("plot_tools", timeout_s=120)
    assert v["workspace"] == "explore", "Ctrl+2 did not switch to the Explore workspace"
    assert v["decode mode"] == "decode", "the tool bar's Decode button did not switch the mode"
    assert v["decoded"] is not None, "a plain click in Decode mode decoded nothing"
    for k in (0, 1):  # the point under the pointer, within 2 pixels
        assert abs(v["decoded"][k] - v["clicked"][k]) <= 2 * v["pixel"][k], (v["decoded"], v["clicked"])
    assert v["decoded face shown"]
    assert v["path mode"] == "path", "the key T did not switch to the Path tool"
    n_path, n_asked, n_drawn = v["faces"]
    assert n_path == n_asked == n_drawn == 12, v["faces"]
    assert v["path panel shown"], "the Path panel did not come up when the path was drawn"
    assert v["faces inside the strip"] and v["strip shown"], "not every face of the path is visible"
    assert v["face px"] >= 24, f"the path's faces are {v['face px']} px"
    assert v["after Esc"] == "pan", "Esc did not go back to pan/zoom"
    assert v["hover target"] is not None, "no isolated cloud point to hover"
    assert v["hover shown"] == v["hover target"], "hovering a cloud point did not show its training face"


def test_lasso_selects_and_every_linked_view_follows(run_scenario):
    """A lasso drawn with the real pointer (mousedown, moves, mouseup) in the pair plot's Select tool (issue 27)."""
    v = run_scenario("lasso", timeout_s=120)
    assert v["workspace"] == "explore" and v["mode"] == "select" and v["shape"] == "lasso", v
    assert 0 < v["count"] < v["n"], f"the lasso selected {v['count']} of {v['n']} points"
    assert abs(v["count"] - v["expected"]) <= max(2, v["expected"] // 10), (v["count"], v["expected"])
    assert v["how"].startswith("lasso on"), v["how"]
    assert v["highlight"] == v["count"] and v["greyed"], "the pair plot does not show the selection over grey points"
    assert v["histogram overlay"] > 0, "the components histogram shows no selection"
    assert f"{v['count']:,} of {v['n']:,}" in v["panel count"], v["panel count"]
    assert v["panel shown"] and v["faces"] == min(v["count"], 24) and v["faces of the selection"]
    assert v["after Esc"] == [True, 0, 0], "Esc did not clear the selection in every view"
