"""The help window (F1): it fits the screen, its search filters the topics, it lists every shortcut of the
window, and it covers every panel; and the window's visible words are plain (no words of the project's history)."""
from __future__ import annotations

import re

import pytest
from PySide6.QtCore import QRect


def test_help_fits_a_1280x720_screen_and_its_close_button_is_inside():
    from gui.qt_help import MARGIN, fitted_size

    avail = QRect(0, 0, 1280, 720 - 30)  # a panel of 30 px
    w, h = fitted_size(avail)
    assert w <= 1280 - MARGIN[0] and h + 30 <= 690  # with a title bar of 30 px, the whole window is on screen
    assert (w, h) == (980, 620)
    big = fitted_size(QRect(0, 0, 1920, 1050))
    assert big == (980, 660)
    assert fitted_size(QRect(0, 0, 800, 560)) == (760, 490)


def test_f1_opens_a_help_window_that_fits_the_screen(window, qtbot):
    from PySide6.QtWidgets import QDialogButtonBox

    hw = window.show_help()
    qtbot.waitExposed(hw)
    avail = hw.screen().availableGeometry()
    assert avail.contains(hw.geometry()), (hw.geometry(), avail)
    close = hw.buttons.button(QDialogButtonBox.StandardButton.Close)
    assert close.isVisible()
    top_left = close.mapToGlobal(close.rect().topLeft())
    assert avail.contains(QRect(top_left, close.size())), (top_left, avail)
    assert hw.current_topic() in ("overview", "sampler")  # the focused panel's topic, else the overview
    assert window.show_help() is hw  # one help window, raised again
    hw.close()


def test_the_tools_and_workspaces_topics_are_read_from_their_tables(window):
    from gui.plot_tools import MODE_INFO, PlotMode
    from gui.workspaces import WORKSPACES, shortcut

    hw = window.show_help("workspaces")
    text = hw.text.toPlainText()
    for i, ws in enumerate(WORKSPACES):
        assert f"{ws.title.replace('&&', '&')} ({shortcut(i)})" in text
    hw.show_topic("tools")
    text = hw.text.toPlainText()
    for mode, (name, key, _tip) in MODE_INFO.items():
        assert (f"{name} ({key})" in text) == (mode is not PlotMode.SELECT), name
    hw.close()


def test_help_search_filters_the_topics(window):
    hw = window.show_help()
    everything = hw.visible_topics()
    assert {"sampler", "pairplot", "path", "atlas", "tools", "gestures", "workspaces", "shortcuts"} <= set(everything)
    hw.search.setText("wheel")
    found = hw.visible_topics()
    assert "gestures" in found and "pca" not in found and len(found) < len(everything)
    assert hw.current_topic() == found[0]
    assert hw.text.extraSelections(), "the searched word is marked in the text"
    hw.search.setText("decode path")  # every word must be there
    assert set(hw.visible_topics()) >= {"tools"} and "pca" not in hw.visible_topics()
    hw.search.setText("zzqx")
    assert hw.visible_topics() == [] and hw.none_label.isVisibleTo(hw) and "zzqx" in hw.none_label.text()
    hw.search.clear()
    assert hw.visible_topics() == everything
    hw.close()


def test_every_shortcut_of_the_window_is_listed(window):
    from PySide6.QtGui import QAction, QKeySequence

    hw = window.show_help("shortcuts")
    text = hw.text.toPlainText()
    actions = [a for a in list(window.actions()) + window.findChildren(QAction) if not a.shortcut().isEmpty()]
    assert len(actions) >= 10
    for a in actions:
        for k in a.shortcuts():
            assert k.toString(QKeySequence.SequenceFormat.NativeText) in text, a.text()
    from PySide6.QtGui import QShortcut

    keys = [sc.key().toString(QKeySequence.SequenceFormat.NativeText) for sc in window.findChildren(QShortcut)]
    assert "B" in keys and all(k in text for k in keys)  # keys that are not actions (the inspector's B) too
    assert "Ctrl+G" in text and "F1" in text and "Alt+click" in text and "P / D / T" in text
    # a shortcut added later (a panel's action) is listed the next time: read from the actions, not a copy
    extra = QAction("Frobnicate the cloud", window.correlations)
    extra.setShortcut(QKeySequence("Ctrl+Alt+J"))
    window.correlations.addAction(extra)
    hw.show_topic("shortcuts")
    assert "Frobnicate the cloud" in hw.text.toPlainText()
    hw.close()


def test_every_panel_has_a_topic_and_f1_over_a_panel_opens_it(window, qtbot):
    from gui.help_text import TOPICS
    from gui.main_window import PANEL_TITLES

    explained = {d for t in TOPICS for d in t.docks}
    assert {name for name, _title in PANEL_TITLES} <= explained
    window.raise_dock("correlationsDock")
    window.activateWindow()
    window.correlations.plot.setFocus()
    qtbot.waitUntil(lambda: window.correlations.plot.hasFocus(), timeout=2000)
    assert window.show_help().current_topic() == "correlations"
    assert window.show_help("path").current_topic() == "path"
    window._help_window.close()


#: words of the project's history and private units that a user of the window must never read
BANNED = ("the seed's", "seed's method", "blog", "class-mean", "separation d", "top |e|", "σ (1-d)",
          "--no-detect", "the cli's", "--out", "part vii", "rae paper")


def visible_texts(window) -> list[tuple[str, str]]:
    """(where, text) for every text of the built window a user can read: labels, buttons, group titles,
    tooltips, list, combo and table entries and headers, dock titles, actions, plot titles and axis labels."""
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import (
        QAbstractButton, QComboBox, QDockWidget, QGroupBox, QLabel, QLineEdit, QListWidget, QTableWidget, QWidget,
    )

    out = []
    for w in window.findChildren(QWidget):
        name = f"{type(w).__name__}:{w.objectName()}"
        out.append((name + " tooltip", w.toolTip()))
        if isinstance(w, QLabel):
            out.append((name, w.full_text() if hasattr(w, "full_text") else w.text()))
        elif isinstance(w, QAbstractButton):
            out.append((name, w.text()))
        elif isinstance(w, QGroupBox):
            out.append((name, w.title()))
        elif isinstance(w, QDockWidget):
            out.append((name, w.windowTitle()))
        elif isinstance(w, QLineEdit):
            out.append((name, w.placeholderText()))
        elif isinstance(w, QComboBox):
            from PySide6.QtCore import Qt

            for k in range(w.count()):
                out.append((name + f" item {k}", w.itemText(k)))
                out.append((name + f" item {k} tip", str(w.itemData(k, Qt.ItemDataRole.ToolTipRole) or "")))
        elif isinstance(w, QListWidget):
            out += [(name, w.item(k).text()) for k in range(w.count())]
        elif isinstance(w, QTableWidget):
            for c in range(w.columnCount()):
                h = w.horizontalHeaderItem(c)
                if h is not None:
                    out += [(name + " header", h.text()), (name + " header tip", h.toolTip())]
    for a in window.findChildren(QAction):
        out += [("action", a.text()), ("action tip", a.toolTip())]
    import pyqtgraph as pg

    for plot in window.findChildren(pg.PlotWidget):
        pi = plot.getPlotItem()
        out.append((f"plot {plot.objectName()} title", str(pi.titleLabel.text)))
        for side in ("left", "bottom"):
            out.append((f"plot {plot.objectName()} {side}", str(pi.getAxis(side).labelText)))
    return out


def test_no_word_of_the_project_history_in_the_window(window):
    from gui.help_text import TOPICS
    from gui.qt_sampler import VERDICTS

    texts = visible_texts(window)
    texts += [(f"verdict {k}", v) for k, v in VERDICTS.items()]
    texts += [(f"help {t.key}", t.html) for t in TOPICS]
    from engine.lab import COLUMNS

    texts += [("directions column", h) for _k, h, _f in COLUMNS]
    from engine.evaluation import METRIC_HELP

    texts += [(f"metric {k}", v) for k, v in METRIC_HELP.items()]
    assert len(texts) > 300
    bad = [(where, text) for where, text in texts for b in BANNED if b in str(text).lower()]
    assert not bad, bad


def test_sampler_summaries_are_plain():
    from engine.samplers import SAMPLERS

    assert len(SAMPLERS) >= 5
    for cls in SAMPLERS.values():
        for b in BANNED:
            assert b not in cls.summary.lower(), (cls.name, cls.summary)
        for p in cls.params:
            assert not re.search(r"\bblog\b|seed's", p.help), (cls.name, p.name, p.help)


def test_a_photo_miss_says_what_to_do_in_the_window(window, qtbot, tmp_path, monkeypatch):
    import engine.photo
    from engine.errors import NoFaceFound

    photo = tmp_path / "wall.png"
    photo.write_bytes(b"")

    def no_face(*a, **k):
        raise NoFaceFound(f"{photo}: no face found in the photo; {{opt:no_detect}} frames its centre square", path=photo)

    monkeypatch.setattr(engine.photo, "frame_and_encode_photos", no_face)
    window.open_photo(photo)
    qtbot.waitUntil(lambda: not window.bridge.busy(), timeout=30000)
    panel = window.photo_panel
    note = panel.miss_note.text()
    assert panel.miss_note.isVisibleTo(panel) and "wall.png" in note
    assert panel.retry_btn.text() in note and panel.no_detect.text() in note and "--" not in note
    assert "--" not in window.last_error and panel.no_detect.text().lower() in window.last_error.lower()
    panel.offer_centre_square(None)  # what the retry button and a photo that opens do
    assert not panel.miss_note.isVisibleTo(panel)


def test_the_photo_panel_empty_text_wraps(window):
    view = window.photo_panel.view
    assert view.wordWrap() and "Open photo" in view.text()
