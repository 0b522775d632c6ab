"""The command palette (Ctrl+Shift+P): every menu item and tool, searchable, with its shortcut; Enter runs it."""
from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")


def _palette(window, qtbot):
    action = next(a for a in window.actions() if a.objectName() == "commandPaletteAction")
    assert action.shortcut().toString() == "Ctrl+Shift+P"
    action.trigger()
    palette = window._command_palette
    qtbot.waitUntil(palette.isVisible, timeout=3000)
    return palette


def _type(qtbot, palette, text):
    palette.search.clear()
    qtbot.keyClicks(palette.search, text)


def test_score_ranks_the_command_name_over_its_menu():
    from gui.qt_command_palette import score

    assert score("open model", "File ▸ Open model folder…") > score("open model", "Help ▸ About open model things")
    assert score("gen", "Generate ▸ Generate") > score("gen", "View ▸ Generate & inspect workspace")
    assert score("zz", "File ▸ Open model folder…") is None
    assert score("OPEN", "File ▸ Open photo…") is not None  # case does not matter
    assert score("photo open", "File ▸ Open photo…") is not None  # words in any order


def test_every_menu_item_and_tool_is_listed_with_its_shortcut(window, qtbot):
    from PySide6.QtGui import QAction

    palette = _palette(window, qtbot)
    by_path = {c.path: c for c in palette.commands}
    assert by_path["File ▸ Open model folder…"].keys == "Ctrl+O"
    assert by_path["Generate ▸ Generate"].keys == "Ctrl+G or F5"
    assert "View ▸ Command palette…" not in by_path  # not itself
    assert any(p.startswith("File ▸ Recent models") or p.startswith("View ▸") for p in by_path)
    listed = {id(c.source) for c in palette.commands}
    from gui.qt_command_palette import _not_a_command

    missing = [a.text() for a in window.findChildren(QAction)
               if a.text() and not a.isSeparator() and a.menu() is None and a.isVisible()
               and a.objectName() != "commandPaletteAction" and id(a) not in listed and not _not_a_command(a)]
    assert not missing, f"actions missing from the palette: {missing}"
    # not listed: a panel's show/hide toggle (the View menu's is), pyqtgraph's scene "Export..." (the plots' own are)
    assert "Selection ▸ Selection" not in by_path and not any(p.endswith("▸ Export...") for p in by_path)
    assert "Pair plot ▸ Export SVG…" in by_path  # a panel's plot exports, named after the panel
    assert "PCA ▸ normality check ▸ Export SVG…" in by_path  # one of a panel's several plots
    # the View menu's workspace and panel of one name, told apart by their sections
    assert {"View ▸ Workspaces ▸ Your photo", "View ▸ Panels ▸ Your photo"} <= set(by_path)
    assert "View ▸ Explore the cloud" in by_path  # a name the menu has once keeps its short path
    exports = [c.path for c in palette.commands if "Export SVG" in c.path]
    assert len(exports) == len(set(exports)) >= 10  # each plot's exports once, told apart
    tools = [p for p in by_path if p.endswith(" tool")]
    assert {"Pair plot ▸ Pan tool", "Pair plot ▸ Decode tool", "Pair plot ▸ Path tool"} <= set(tools), tools
    assert by_path["Pair plot ▸ Decode tool"].keys == "D (in the plot)"
    assert all(not p.startswith("Window ▸") for p in tools), tools


def test_a_tool_from_the_palette_switches_its_plot(window, qtbot):
    from gui.plot_tools import PlotMode

    palette = _palette(window, qtbot)
    _type(qtbot, palette, "pair decode tool")
    assert palette.list.currentItem().text(0) == "Pair plot ▸ Decode tool", palette.shown_paths()[:4]
    assert palette.run()
    assert window.pair_plot.tools.mode is PlotMode.DECODE


def test_typing_filters_and_enter_runs_the_best_match(window, qtbot):
    from PySide6.QtCore import Qt

    palette = _palette(window, qtbot)
    _type(qtbot, palette, "explore")
    first = palette.list.currentItem().text(0)
    assert "Explore" in first, palette.shown_paths()[:5]
    _type(qtbot, palette, "generate")
    assert palette.list.currentItem().text(0) == "Generate ▸ Generate", palette.shown_paths()[:5]
    ran = []
    window.generate_action.triggered.connect(lambda *_: ran.append(1))
    qtbot.keyClick(palette.search, Qt.Key.Key_Return)
    assert ran == [1] and not palette.isVisible()
    palette = _palette(window, qtbot)
    assert palette.shown_paths()[0] == "Generate ▸ Generate"  # the recently run first
    _type(qtbot, palette, "qqqxx")
    assert palette.shown_paths() == [] and "no command matches" in palette.none_label.text()
    qtbot.waitUntil(lambda: not window.bridge.busy(), timeout=30000)


def test_arrows_move_the_choice_and_a_disabled_command_never_runs(window, qtbot):
    from PySide6.QtCore import Qt

    palette = _palette(window, qtbot)
    _type(qtbot, palette, "open")
    rows = palette.shown_paths()
    assert len(rows) >= 3
    qtbot.keyClick(palette.search, Qt.Key.Key_Down)
    assert palette.list.currentItem().text(0) == rows[1]
    qtbot.keyClick(palette.search, Qt.Key.Key_Up)
    assert palette.list.currentItem().text(0) == rows[0]
    command = next(c for c in palette.commands if c.path == "File ▸ Export report…")
    command.source.setEnabled(False)
    ran = []
    command.source.triggered.connect(lambda *_: ran.append(1))
    palette.open()
    _type(qtbot, palette, "export report")
    item = next(palette.list.topLevelItem(i) for i in range(palette.list.topLevelItemCount())
                if palette.list.topLevelItem(i).text(0) == "File ▸ Export report…")
    assert not item.flags() & Qt.ItemFlag.ItemIsEnabled
    assert palette.run(item) is False and ran == []
    command.source.setEnabled(True)
    palette.hide()


def test_the_palette_fits_inside_a_small_window(window, qtbot):
    window.resize(900, 560)
    qtbot.wait(50)
    palette = _palette(window, qtbot)
    geo, pal = window.geometry(), palette.geometry()
    assert pal.width() <= geo.width() and pal.height() <= geo.height(), (pal, geo)
    palette.hide()


def test_the_panels_buttons_are_commands_greyed_when_disabled_and_run_by_a_click(window, qtbot):
    from PySide6.QtCore import Qt

    palette = _palette(window, qtbot)
    by_path = {c.path: c for c in palette.commands}
    for path in ("Selection ▸ Keep as group…", "Selection ▸ Generate like these", "Selection ▸ Distinguish",
                 "Your photo ▸ Open photo…", "Directions ▸ Compute", "Bookmarks ▸ Add bookmark",
                 "Sampler ▸ condition on attributes ▸ add", "Pair plot ▸ Reset view"):
        assert path in by_path, sorted(p for p in by_path if p.startswith(path.split(" ▸ ")[0]))
    assert "Sampler ▸ Generate" not in by_path  # its button ("Generate  (Ctrl+G)") is the menu's Generate
    assert not any(p.endswith(("▸ ⟲", "▸ ⤓")) for p in by_path)  # symbols are named by their tooltips
    assert "Explore ▸ new each time" not in by_path and not any("new each time" in p for p in by_path)  # a setting
    _type(qtbot, palette, "keep as group")
    item = next(palette.list.topLevelItem(i) for i in range(palette.list.topLevelItemCount())
                if palette.list.topLevelItem(i).text(0) == "Selection ▸ Keep as group…")
    assert not item.flags() & Qt.ItemFlag.ItemIsEnabled  # no selection yet: greyed, never run
    assert palette.run(item) is False
    _type(qtbot, palette, "add bookmark")
    item = next(palette.list.topLevelItem(i) for i in range(palette.list.topLevelItemCount())
                if palette.list.topLevelItem(i).text(0) == "Bookmarks ▸ Add bookmark")
    assert palette.run(item) is not False
    assert len(window.session.bookmarks) == 1 and window.bookmarks.list.count() == 1
    assert window.docks["bookmarksDock"].isVisible()  # its panel shown
