"""The window in a real X11 display with a window manager, driven by real input (xdotool): what offscreen Qt cannot
show (issue 24). Each test runs one scenario of tests/realwindow/scenarios/ in its own process and asserts its
verdict; ``LFS_REALWINDOW_SHOTS=FOLDER`` keeps the screenshots."""
from __future__ import annotations

#: How far a panel may move or change size (pixels) when the window comes back to its size.
LAYOUT_TOLERANCE = 6


def test_the_wheel_changes_no_value_and_scrolls_the_panel(run_scenario):
    v = run_scenario("wheel")
    for part in ("inspector", "dialog"):
        for name, (before, after, at, now, top) in v[part].items():
            assert after == before, f"the wheel over the {part}'s {name} changed it: {before} → {after}"
            assert top > 0 and now > at, f"the wheel over the {part}'s {name} did not scroll it ({at} → {now} of {top})"
    for part in ("sampler", "sampler up"):
        for name, (before, after, at, now, top) in v[part].items():
            assert after == before, f"the wheel over the sampler's {name} changed it: {before} → {after}"
            if part == "sampler" and top:
                assert now > at, f"the wheel over the sampler's {name} did not scroll it"
    before, after, focused = v["clicked faces spin box"]
    assert focused and after == before + 1, "a spin box the user clicked takes the wheel"
    assert v["dock tabs"], "no tabbed group of panels was under the wheel"
    for first, (before, after) in v["dock tabs"].items():
        assert after == before, f"the wheel over the tabs of {first!r}'s group switched them: {before} → {after}"


def _moved(a: dict, b: dict) -> dict:
    """The panels whose rectangle differs by more than the tolerance (or that are gone or new)."""
    moved = {n: (a.get(n), b.get(n)) for n in set(a) ^ set(b)}
    for n in set(a) & set(b):
        if max(abs(p - q) for p, q in zip(a[n], b[n])) > LAYOUT_TOLERANCE:
            moved[n] = (a[n], b[n])
    return moved


def test_shrinking_and_growing_the_window_keeps_the_layout(run_scenario):
    v = run_scenario("resize", timeout_s=150)
    from gui.workspaces import WORKSPACES

    assert sorted(v["workspaces"]) == sorted(ws.key for ws in WORKSPACES)
    for key, r in v["workspaces"].items():
        assert r["back"] == r["size"] and r["restored"] == r["size"], f"{key}: the window did not come back to its size"
        assert r["before"], f"{key}: no panel visible"
        assert r["small"][0] < r["size"][0] and r["small"][1] < r["size"][1], f"{key}: the window did not shrink"
        assert not _moved(r["before"], r["after"]), f"{key}, after 900×560 and back: {_moved(r['before'], r['after'])}"
        assert not _moved(r["before"], r["after_max"]), \
            f"{key}, after maximise and back: {_moved(r['before'], r['after_max'])}"
        grown = {n: g for n, g in r["maximised"].items() if n in r["before"]}
        assert all(g[2] >= r["before"][n][2] - LAYOUT_TOLERANCE for n, g in grown.items()), \
            f"{key}: a panel got narrower in the maximised window: {r['before']} → {r['maximised']}"


def test_f1_help_fits_the_screen(run_scenario):
    v = run_scenario("help_fits")
    assert v["windows"] or v["docks shown"], "F1 opened nothing"
    for win in v["windows"]:
        assert win["inside"], f"{win['title']!r} at {win['frame']} is not inside the screen {v['screen']}"
        assert not win["buttons outside"], f"{win['title']!r}: {win['buttons outside']} off the screen"


def test_the_status_bar_shows_the_whole_job_name(run_scenario):
    v = run_scenario("job_label")
    showing = [lab for lab in v["labels"] if v["name"] in lab["text"]]
    assert showing, f"no status bar label shows {v['name']!r} whole: {v['labels']}"
    for lab in showing:
        assert lab["text width"] <= lab["clear width"], f"the job's name is partly hidden: {lab}"
    assert any(lab["text"] == v["name"] for lab in showing), "the job's name has its own label"


def test_a_model_switch_leaves_no_stale_value(run_scenario):
    v = run_scenario("model_switch", timeout_s=240)
    used = v["used"]
    assert used["probe"] and used["inspector button"] and used["readout"] and used["path faces"] >= 2, used
    after = v["after b"]
    assert not after["probe"] and not after["inspector button"] and after["readout"] == "", after
    assert after["path faces"] == 0 and after["path vertices"] == 0, after
    assert v["model"].endswith("model-bare")
    for step in ("differences after b", "differences after the model without z-points"):
        assert v[step] == [], f"{step}:\n" + "\n".join(v[step])


def test_the_correlation_matrix_reads_zooms_and_follows_its_table(run_scenario):
    from gui.qt_correlations import CLICKABLE_PX

    v = run_scenario("correlations")
    assert v["hover"].startswith(v["hover wanted"]), (v["hover"], v["hover wanted"])
    assert v["axes after click"] == v["wanted axes"], "a click on a cell shows that pair in the pair plot"
    assert v["width after wheel"] < v["width before wheel"] * 0.95, "the wheel over the clicked matrix zooms it"
    a, b = v["row pair"]
    assert v["axes after row"] == [["z", b], ["z", a]], "a row of the table shows its pair"
    assert v["marker"] == [b + 0.5, a + 0.5], "and marks its cell"
    assert v["cell px after row"] >= CLICKABLE_PX, "its cell is large enough to see and click"
    assert v["table fits"], "the table's numbers are not cut off"
    assert v["titles"] == ["i", "j", "r", "|r|"]


def test_a_model_being_prepared_says_so_in_the_status_bar(run_scenario):
    v = run_scenario("first_launch_notice", timeout_s=180)
    notice = v["notice"]
    assert "preparing this model for fast decoding (once, ~" in notice["text"]
    assert notice["text width"] <= notice["room"], f"the notice is cut: {notice}"
    assert "preparing this model" not in v["after"]  # gone once the model is ready
    assert not any("preparing this model" in m for m in v["second open"]), v["second open"]  # once


def test_every_workspace_fits_a_1280x720_screen(run_scenario):
    v = run_scenario("workspaces_fit", timeout_s=120)
    assert v["screen"] == [1280, 720]
    from gui.workspaces import WORKSPACES

    assert sorted(v["workspaces"]) == sorted(ws.key for ws in WORKSPACES)
    problems = [f"{key}: {p}" for key, r in v["workspaces"].items() for p in r["problems"]]
    assert not problems, "\n".join(problems)
    assert v["face rows"] >= 3 and v["faces"] >= 12, f"Generate & inspect shows {v['faces']} faces in {v['face rows']} rows"


def test_the_command_palette_finds_and_runs_a_command(run_scenario):
    v = run_scenario("palette")
    assert v["search focused"], "the palette's search line did not have the keyboard"
    assert v["chosen"] == "View ▸ Explore the cloud", v["found"]
    assert v["inside"], f"the palette at {v['frame']} is not on the screen"
    assert v["start"] != "explore" and v["after"] == "explore", (v["start"], v["after"])
    assert v["closed by Esc"]


def test_without_torch_faces_show_and_train_says_what_to_install(run_scenario):
    v = run_scenario("lean_train", timeout_s=120)
    assert v["faces"][1:] == [64, 64, 3] and v["faces_std"] > 10, v
    assert v["torch_asked"] and not v["torch_loaded"] and v["last_error"] is None, v
    assert not v["start_enabled"], v
    assert v["status"].startswith("training needs torch") and 'pip install "latent-face-studio[train]"' in v["status"]
    assert "\n" not in v["status"] and v["status_fits"], v
def test_the_photo_panels_before_after_and_detector(run_scenario):
    v = run_scenario("photo_put_back", timeout_s=120)
    assert v["detectors"] == v["engine detectors"]
    assert v["box visible"] and v["box inside window"] and v["detector visible"], v
    assert v["after shape"] == v["photo shape"] and v["after differs"] and v["view changed"], v
    assert v["back to before"], v


def test_bookmarks_keep_and_restore_a_view_by_real_keys_and_clicks(run_scenario):
    v = run_scenario("bookmarks")
    assert v["name"] == "PC3 × PC6, face 4"
    assert v["restored"]["axes"] == [["pca", 2], ["pca", 5]] and v["restored"]["current"] == 3, v["restored"]
    assert v["restored"]["view_range"] == [-1.0, 1.0, -0.5, 0.5], v["restored"]
    assert v["renamed"] == ["mine"] and v["undo"] == "Undo: Rename bookmark to mine", (v["renamed"], v["undo"])
    assert v["visible"], "the Bookmarks panel is not usable on the 1280×720 screen"


def test_a_typed_sampler_field_is_one_undo_step_and_a_panel_button_runs_from_the_palette(run_scenario):
    v = run_scenario("sampler_undo_palette", timeout_s=120)
    assert v["typing steps"] == 0, "typing into the scale field made undo steps before Enter"
    value, label, steps = v["typed"]
    assert abs(value - 0.55) < 1e-9 and label.startswith("Undo: ") and steps >= 1, v["typed"]
    value, text, state, label, focused = v["undone"]
    assert focused and value == v["before"] == state and float(text) == v["before"], v["undone"]
    assert v["redone"] == [0.55, "Undo: scale to 0.55"], "Ctrl+Shift+Z in the field did not redo the step"
    assert v["menu"] == "Undo: scale to 0.55" and v["by menu"][0] == v["before"], (v["menu"], v["by menu"])
    assert v["chosen"] == "Bookmarks ▸ Add bookmark", v["chosen"]
    assert v["bookmarks added"] == 1 and v["bookmarks shown"]


def test_a_subsampled_clouds_panels_say_so(run_scenario):
    v = run_scenario("subsampled_stats")
    assert v.get("error") is None, v.get("error")
    n = v["n"]
    assert v["sample_rows"] == 60 and n > 60, "the statistics were computed on the subsample"
    assert v["components"].endswith(f"histogram and fit on a seeded 60 of the {n:,} z-points"), v["components"]
    assert v["pca"].startswith(f"{n:,} z-points (PCA and normality check on a seeded 60 of them)"), v["pca"]
