"""The command palette (Ctrl+Shift+P): every menu item and every tool of the window, searchable by name, with its
shortcut; Enter runs it.

The commands are read from the window's own actions each time the palette opens (the menus, walked with their
paths such as "File ▸ Open model folder…", then the panels' tool bars and the panels' own buttons, named by their
panel and box: "Selection ▸ Keep as group…", "Sampler ▸ condition on attributes ▸ add"), so a new menu item, plot
tool or panel button is in the palette without being listed here. A command that cannot run now (a disabled action) is shown
greyed and is not run.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Optional

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDialog, QHeaderView, QLabel, QLineEdit, QMenu, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget,
)

from .help_text import action_keys, dock_of, panel_name, plain_text
from .plot_tools import MODE_INFO
from .qt_export import PLOT_NAME

#: the size the palette asks for; never wider than the window less MARGIN
PREFERRED = (640, 420)
MARGIN = 40
SEP = " ▸ "
#: The object name of the palette's own menu item (never listed in the palette)
PALETTE_ACTION = "commandPaletteAction"


@dataclass(frozen=True)
class Command:
    """One runnable thing: where it lives (``File ▸ Open model folder…``), its keys, how to run it and whether it
    can run now."""

    path: str
    keys: str
    run: Callable[[], None]
    is_enabled: Callable[[], bool]
    tip: str = ""
    source: object = None  # the QAction or tool button behind it

    @property
    def enabled(self) -> bool:
        return bool(self.is_enabled())


def _action_command(path: str, action: QAction) -> Command:
    tip = action.statusTip() or action.toolTip()
    return Command(path, action_keys(action), action.trigger, action.isEnabled,
                   "" if tip == plain_text(action.text()) else tip, action)


def _menu_commands(menu: QMenu, prefix: str, seen: set) -> list[Command]:
    """A menu's items by their paths; an item whose name the menu has twice is told apart by its section's title
    ("View ▸ Workspaces ▸ Your photo", "View ▸ Panels ▸ Your photo")."""
    out = []
    names = [plain_text(a.text()) for a in menu.actions() if not a.isSeparator() and a.menu() is None]
    section = ""
    for action in menu.actions():
        if action.isSeparator():
            section = plain_text(action.text() or "")
            continue
        if not action.isVisible():
            continue
        sub = action.menu()
        if sub is not None:
            out += _menu_commands(sub, prefix + plain_text(sub.title()) + SEP, seen)
            continue
        text = plain_text(action.text())
        if not text or id(action) in seen:
            continue
        seen.add(id(action))
        where = f"{section}{SEP}" if section and names.count(text) > 1 else ""
        out.append(_action_command(prefix + where + text, action))
    return out


def _tool_commands(window) -> list[Command]:
    """The plot tools of every panel (the Pan/Decode/Path… buttons of its tool bar): running one shows its panel
    and switches the plot to that tool."""
    from PySide6.QtWidgets import QToolButton

    out = []
    for bar in window.findChildren(QWidget, "plotToolBar"):
        for btn in bar.findChildren(QToolButton):
            if btn.isHidden() or not btn.text():
                continue
            dock = dock_of(bar)
            mode = btn.objectName().removeprefix("plotTool_")  # a mode's button has its key; a shape's has none
            key = next((info[1] for m, info in MODE_INFO.items() if m.value == mode), "")

            def run(btn=btn, dock=dock) -> None:
                if dock is not None and hasattr(window, "raise_dock"):
                    window.raise_dock(dock.objectName())
                btn.click()

            path = f"{panel_name(bar, 'Window')}{SEP}{plain_text(btn.text())} tool"
            out.append(Command(path, f"{key} (in the plot)" if key else "",
                               run, btn.isEnabled, btn.toolTip().split("\n")[0], btn))
    return out


def _button_commands(window, seen: set, listed: list) -> list[Command]:
    """The buttons of every panel that do something (push and tool buttons with a text; not the check boxes and
    toggles, which hold a setting, nor the plot tools, nor a button standing for a command ``listed`` already: its
    action, or the same name with the same keys): running one shows its panel and clicks it."""
    from PySide6.QtWidgets import QAbstractButton, QCheckBox, QDockWidget, QGroupBox, QRadioButton, QToolButton

    out, paths = [], {}
    for dock in window.findChildren(QDockWidget):
        for btn in dock.findChildren(QAbstractButton):
            text, keys = _button_name(btn)
            if (not text or btn.isHidden() or btn.isCheckable() or isinstance(btn, (QCheckBox, QRadioButton))
                    or dock_of(btn) is not dock or _in_tool_bar(btn)):
                continue
            if isinstance(btn, QToolButton) and btn.defaultAction() is not None and id(btn.defaultAction()) in seen:
                continue
            if keys and any(c.path.rsplit(SEP, 1)[-1] == text and keys in c.keys.split(" or ") for c in listed):
                continue
            box = btn.parent()
            while box is not None and box is not dock and not (isinstance(box, QGroupBox) and box.title()):
                box = box.parent()
            where = f"{plain_text(box.title())}{SEP}" if isinstance(box, QGroupBox) else ""

            def run(btn=btn, dock=dock) -> None:
                if hasattr(window, "raise_dock"):
                    window.raise_dock(dock.objectName())
                btn.click()

            path = f"{panel_name(dock, 'Window')}{SEP}{where}{text}"
            paths[path] = paths.get(path, 0) + 1  # (a panel of several plots has a Reset view for each)
            out.append(Command(path if paths[path] == 1 else f"{path} ({paths[path]})", keys, run, btn.isEnabled,
                               btn.toolTip().split("\n")[0], btn))
    return out


def _button_name(btn) -> tuple[str, str]:
    """A button's command name and the keys its text shows ("Generate  (Ctrl+G)" → "Generate", "Ctrl+G"); a
    symbol's (⟲, ⤓) is the start of its tooltip ("Reset view")."""
    text = plain_text(btn.text().split("\n")[0])
    keys = ""
    m = re.search(r"\s*\(((?:Ctrl|Alt|Shift|Meta|F\d+)[^)]*)\)", text)
    if m:
        keys, text = m.group(1), (text[:m.start()] + text[m.end():]).strip()
    if text and not any(ch.isalnum() for ch in text):
        tip = re.sub(r"\s*\([^)]*[:▸][^)]*\)", "", btn.toolTip().split("\n")[0])
        tip = re.split(r": |\. ", tip)[0].strip()
        text = tip[:1].upper() + tip[1:] if tip else ""
    return text, keys


def _in_tool_bar(btn) -> bool:
    w = btn.parent()
    while w is not None:
        if w.objectName() == "plotToolBar":
            return True
        w = w.parent()
    return False


def _not_a_command(action: QAction) -> bool:
    """A panel's own show/hide toggle (the View menu lists it) or pyqtgraph's scene "Export..." (each plot's ⤓
    button and right-click ▸ Export are the app's): listed, they read "Selection ▸ Selection", "PCA ▸ Export..." ×4."""
    from pyqtgraph import GraphicsScene
    from PySide6.QtWidgets import QDockWidget

    parent = action.parent()
    if isinstance(parent, QDockWidget):
        return action is parent.toggleViewAction()
    return isinstance(parent, GraphicsScene)


def _name_plots(listed: list[Command]) -> list[Command]:
    """A panel of several plots lists each plot's exports under the plot's name ("PCA ▸ normality check ▸ Export
    SVG…"); a panel of one plot as they are ("Pair plot ▸ Export SVG…")."""
    from dataclasses import replace

    count: dict = {}
    for c in listed:
        count[c.path] = count.get(c.path, 0) + 1
    out = []
    for c in listed:
        plot = c.source.property(PLOT_NAME) if isinstance(c.source, QAction) else None
        if count[c.path] > 1 and isinstance(plot, str) and plot:
            panel, text = c.path.rsplit(SEP, 1)
            c = replace(c, path=f"{panel}{SEP}{plot.replace('-', ' ')}{SEP}{text}")
        out.append(c)
    return out


def commands(window) -> list[Command]:
    """Every command of ``window``: its menus' items by their paths, then the other actions with a text and the
    panels' plot tools, each once. The palette's own action is left out."""
    seen: set = set()
    out: list[Command] = []
    for top in window.menuBar().actions():
        if top.menu() is not None and top.isVisible():
            out += _menu_commands(top.menu(), plain_text(top.menu().title()) + SEP, seen)
    for action in window.findChildren(QAction):
        text = plain_text(action.text() or "")
        if (not text or action.isSeparator() or action.menu() is not None or id(action) in seen
                or _not_a_command(action)):
            continue
        seen.add(id(action))
        out.append(_action_command(panel_name(action, "Window") + SEP + text, action))
    out = _name_plots(out)
    out += _tool_commands(window)
    out += _button_commands(window, seen, out)
    return [c for c in out if c.source.objectName() != PALETTE_ACTION]


def score(query: str, text: str) -> Optional[float]:
    """How well ``text`` answers ``query`` (higher is better), or None when it does not: every word of the query
    must occur in the text (case-insensitive); a word found at the start of a word scores more, at the start of the
    command's own name (after the last ▸) most, and shorter texts win ties."""
    words = query.lower().split()
    low = text.lower()
    name_at = low.rfind(SEP.strip()) + 1
    total = 0.0
    for w in words:
        at = low.find(w)
        if at < 0:
            return None
        starts = [m.start() for m in re.finditer(r"(?<![\w])" + re.escape(w), low)]
        if starts:
            total += 3.0 if any(s >= name_at for s in starts) else 2.0
            if any(s == name_at or s == name_at + 1 for s in starts):
                total += 1.0
        else:
            total += 1.0
    return total - len(text) / 1000.0


class CommandPalette(QDialog):
    """A search line over the window's commands; Up/Down choose, Enter runs, Esc closes."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.setObjectName("commandPalette")
        self.setWindowTitle("Command palette")
        # a popup: no title bar, closed by Esc or a click outside it, like the menus it stands for
        self.setWindowFlags(Qt.WindowType.Popup)
        self.setStyleSheet("QDialog#commandPalette { border: 1px solid #7a7a7a; }")
        self._window = window
        self._recent: list[str] = []
        self.commands: list[Command] = []
        self.search = QLineEdit()
        self.search.setObjectName("paletteSearch")
        self.search.setPlaceholderText("type a command: open, generate, decode, report, workspace …")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.filter)
        self.search.installEventFilter(self)
        self.list = QTreeWidget()
        self.list.setObjectName("paletteList")
        self.list.setColumnCount(2)
        self.list.setHeaderHidden(True)
        self.list.setRootIsDecorated(False)
        self.list.setUniformRowHeights(True)
        self.list.header().setStretchLastSection(False)
        self.list.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.list.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.list.itemActivated.connect(lambda item, _col: self.run(item))
        self.none_label = QLabel("")
        self.none_label.setStyleSheet("color: #666;")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        lay.addWidget(self.search)
        lay.addWidget(self.list, 1)
        lay.addWidget(self.none_label)

    # -------------------------------------------------------------------------------- contents
    def open(self) -> None:  # noqa: A003 - QDialog.open, shown non-modal at the window's top centre
        self.commands = commands(self._window)
        self.search.clear()
        self.filter("")
        self._place()
        self.show()
        self.raise_()
        self.activateWindow()
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _place(self) -> None:
        geo = self._window.geometry()
        w = max(320, min(PREFERRED[0], geo.width() - MARGIN))
        h = max(200, min(PREFERRED[1], geo.height() - 2 * MARGIN))
        self.resize(w, h)
        self.move(geo.x() + (geo.width() - w) // 2, geo.y() + MARGIN)

    def filter(self, query: str) -> None:
        """Show the commands that answer ``query``, best first (with no query: the recently run first, then the
        menus in their order); the first runnable one is chosen."""
        if query.strip():
            ranked = [(s, i, c) for i, c in enumerate(self.commands) if (s := score(query, c.path)) is not None]
            shown = [c for _s, _i, c in sorted(ranked, key=lambda t: (-t[0], t[1]))]
        else:
            recent = [c for p in self._recent for c in self.commands if c.path == p]
            shown = recent + [c for c in self.commands if c not in recent]
        self.list.clear()
        for c in shown:
            item = QTreeWidgetItem([c.path, c.keys])
            item.setData(0, Qt.ItemDataRole.UserRole, c.path)
            item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if c.tip:
                item.setToolTip(0, c.tip)
            if not c.enabled:
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
                item.setToolTip(0, "not available now")
            self.list.addTopLevelItem(item)
        runnable = [i for i in range(self.list.topLevelItemCount())
                    if self.list.topLevelItem(i).flags() & Qt.ItemFlag.ItemIsEnabled]
        if runnable:
            self.list.setCurrentItem(self.list.topLevelItem(runnable[0]))
        self.none_label.setText("" if shown else f"no command matches “{query}”")
        self.none_label.setVisible(not shown)

    def shown_paths(self) -> list[str]:
        return [self.list.topLevelItem(i).text(0) for i in range(self.list.topLevelItemCount())]

    # -------------------------------------------------------------------------------- running
    def run(self, item: Optional[QTreeWidgetItem] = None) -> bool:
        """Run the chosen command (after the palette closed, so a dialog it opens gets the focus)."""
        item = item or self.list.currentItem()
        if item is None or not item.flags() & Qt.ItemFlag.ItemIsEnabled:
            return False
        path = item.data(0, Qt.ItemDataRole.UserRole)
        command = next((c for c in self.commands if c.path == path), None)
        if command is None or not command.enabled:
            return False
        self._recent = [path] + [p for p in self._recent if p != path][:9]
        self.hide()
        command.run()
        return True

    def eventFilter(self, obj, ev) -> bool:  # noqa: N802 - Up/Down/Enter typed in the search line move the list
        from PySide6.QtCore import QEvent

        if obj is self.search and ev.type() == QEvent.Type.KeyPress:
            key = ev.key()
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up, Qt.Key.Key_PageDown, Qt.Key.Key_PageUp):
                self._step(key)
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.run()
                return True
        return super().eventFilter(obj, ev)

    def _step(self, key) -> None:
        """Move the choice by one row (Up/Down) or a page, passing over greyed rows."""
        n = self.list.topLevelItemCount()
        enabled = [i for i in range(n) if self.list.topLevelItem(i).flags() & Qt.ItemFlag.ItemIsEnabled]
        if not enabled:
            return
        cur = self.list.indexOfTopLevelItem(self.list.currentItem()) if self.list.currentItem() else -1
        jump = {Qt.Key.Key_Down: 1, Qt.Key.Key_Up: -1, Qt.Key.Key_PageDown: 8, Qt.Key.Key_PageUp: -8}[key]
        target = cur + jump
        ahead = [i for i in enabled if i >= target] if jump > 0 else [i for i in enabled if i <= target][::-1]
        i = ahead[0] if ahead else (enabled[-1] if jump > 0 else enabled[0])
        self.list.setCurrentItem(self.list.topLevelItem(i))


def open_palette(window) -> CommandPalette:
    """Show the window's one command palette (made on first use), its search line empty and focused."""
    palette = getattr(window, "_command_palette", None)
    if palette is None:
        palette = CommandPalette(window)
        window._command_palette = palette
    palette.open()
    return palette
