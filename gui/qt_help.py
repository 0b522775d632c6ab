"""The help window: a search field, the topics on the left (every panel, plot tool, gesture and workspace, and
the keyboard shortcuts read from the window's actions), the chosen topic's text on the right.

It is sized to the screen's available area (it fits 1280×720 with its frame), its text scrolls, and its Close
button sits in a row of its own below, always on screen. The texts are in :mod:`gui.help_text`.
"""
from __future__ import annotations

from typing import Callable, Optional

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QTextCharFormat, QTextCursor, QTextDocument, QColor
from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem, QSplitter,
    QTextBrowser, QTextEdit, QVBoxLayout, QWidget,
)

from .help_text import KEYS, TOPICS, Topic, dock_of, shortcuts_html
from .qt_widgets import column

#: the size the window asks for; never more than the screen's available area less MARGIN
PREFERRED = (980, 660)
#: room left around the window for its frame and title bar (a window manager adds about 30 px)
MARGIN = (40, 70)
ROLE_KEY = Qt.ItemDataRole.UserRole


def fitted_size(available, preferred=PREFERRED, margin=MARGIN) -> tuple[int, int]:
    """The window's size inside ``available`` (a QRect of the screen's free area): the preferred size, or less."""
    return (max(320, min(preferred[0], available.width() - margin[0])),
            max(240, min(preferred[1], available.height() - margin[1])))


class HelpWindow(QDialog):
    """Non-modal: it stays open beside the main window while the user tries what it says."""

    def __init__(self, shortcuts: Callable[[], str], parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setObjectName("helpWindow")
        self.setWindowTitle("Help — Latent Face Studio")
        self.setModal(False)
        self._shortcuts = shortcuts
        self.topics: dict[str, Topic] = {t.key: t for t in TOPICS}
        self.topics["shortcuts"] = Topic("shortcuts", KEYS, "Keyboard shortcuts", "")

        self.search = QLineEdit()
        self.search.setObjectName("helpSearch")
        self.search.setPlaceholderText("search the help (a word such as path, wheel, σ, photo …)")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.filter)
        self.list = QListWidget()
        self.list.setObjectName("helpTopics")
        self.list.currentItemChanged.connect(lambda cur, _prev: self._show(cur))
        self.text = QTextBrowser()
        self.text.setObjectName("helpText")
        self.text.setOpenExternalLinks(False)
        self.none_label = QLabel("")
        self.none_label.setStyleSheet("color: #666;")
        self.none_label.setWordWrap(True)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(column(self.list, self.none_label))
        split.addWidget(self.text)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 3)
        split.setChildrenCollapsible(False)
        self.list.setMinimumWidth(170)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.buttons.rejected.connect(self.close)
        top = QHBoxLayout()
        top.addWidget(QLabel("Search:"))
        top.addWidget(self.search, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(split, 1)
        lay.addWidget(self.buttons)
        self._fill()
        self.fit_to_screen()

    # ---- size
    def fit_to_screen(self) -> None:
        """Sized to the available area of the screen the parent window is on, and centred there."""
        parent = self.parentWidget()
        screen = (parent.screen() if parent is not None else None) or QGuiApplication.primaryScreen()
        avail = screen.availableGeometry()
        w, h = fitted_size(avail)
        self.setMaximumSize(avail.width(), avail.height())
        self.resize(w, h)
        self.move(avail.x() + (avail.width() - w) // 2, avail.y() + max(0, (avail.height() - h) // 2 - 10))

    # ---- topics
    def _fill(self) -> None:
        self.list.clear()
        section = None
        for t in self.topics.values():
            if t.section != section:
                section = t.section
                head = QListWidgetItem(section)
                head.setFlags(Qt.ItemFlag.NoItemFlags)
                head.setForeground(QColor(60, 60, 60))
                f = head.font()
                f.setBold(True)
                head.setFont(f)
                self.list.addItem(head)
            it = QListWidgetItem("   " + t.title)
            it.setData(ROLE_KEY, t.key)
            self.list.addItem(it)

    def topic_text(self, key: str) -> str:
        """A topic's HTML (the shortcuts' table is read from the window's actions each time)."""
        if key == "shortcuts":
            return self._shortcuts()
        t = self.topics[key]
        return f"<h3>{t.title.replace('&', '&amp;')}</h3>{t.text()}"

    def _plain(self, key: str) -> str:
        doc = QTextDocument()
        doc.setHtml(self.topic_text(key))
        return doc.toPlainText()

    def visible_topics(self) -> list[str]:
        """The keys of the topics listed now (the search's matches)."""
        return [it.data(ROLE_KEY) for it in self._topic_items() if not it.isHidden()]

    def _topic_items(self) -> list[QListWidgetItem]:
        return [self.list.item(k) for k in range(self.list.count()) if self.list.item(k).data(ROLE_KEY)]

    def filter(self, query: str = "") -> None:
        """Only the topics whose title or text holds every word of ``query`` (any case); the first is shown."""
        words = query.lower().split()
        sections_shown = set()
        for it in self._topic_items():
            key = it.data(ROLE_KEY)
            text = (self.topics[key].title + " " + self._plain(key)).lower()
            hide = bool(words) and not all(w in text for w in words)
            it.setHidden(hide)
            if not hide:
                sections_shown.add(self.topics[key].section)
        for k in range(self.list.count()):
            it = self.list.item(k)
            if not it.data(ROLE_KEY):
                it.setHidden(it.text() not in sections_shown)
        shown = self.visible_topics()
        self.none_label.setText("" if shown else f"nothing found for “{query.strip()}”")
        self.none_label.setVisible(not shown)
        cur = self.list.currentItem()
        if shown and (cur is None or cur.isHidden()):
            self.show_topic(shown[0])
        elif cur is not None and not cur.isHidden():
            self._show(cur)
        else:
            self.text.clear()

    def current_topic(self) -> Optional[str]:
        it = self.list.currentItem()
        return None if it is None else it.data(ROLE_KEY)

    def show_topic(self, key: str) -> None:
        """Select and show the topic ``key`` (a key of ``help_text.TOPICS``, or "shortcuts")."""
        for it in self._topic_items():
            if it.data(ROLE_KEY) == key:
                if it.isHidden():
                    self.search.clear()
                self.list.setCurrentItem(it)
                self._show(it)
                return
        raise KeyError(key)

    def topic_for_dock(self, dock_name: str) -> Optional[str]:
        """The topic that explains the dock ``dock_name`` (its object name), if any."""
        return next((t.key for t in self.topics.values() if dock_name in t.docks), None)

    def _show(self, item: Optional[QListWidgetItem]) -> None:
        key = None if item is None else item.data(ROLE_KEY)
        if not key:
            return
        self.text.setHtml(self.topic_text(key))
        self._highlight(self.search.text())

    def _highlight(self, query: str) -> None:
        """The search's words marked in the text shown (yellow)."""
        marks = []
        fmt = QTextCharFormat()
        fmt.setBackground(QColor(255, 235, 120))
        doc = self.text.document()
        for word in query.split():
            cur = doc.find(word)
            while not cur.isNull():
                sel = QTextEdit.ExtraSelection()
                sel.cursor, sel.format = cur, fmt
                marks.append(sel)
                cur = doc.find(word, cur)
        self.text.setExtraSelections(marks)
        if marks:
            c = QTextCursor(marks[0].cursor)
            self.text.setTextCursor(c)
            self.text.ensureCursorVisible()


def open_help(window, topic: Optional[str] = None) -> HelpWindow:
    """Show the window's one help window (made on first use), at ``topic`` or the topic of the panel that has
    the keyboard focus, else where it was."""
    from PySide6.QtWidgets import QApplication

    hw = getattr(window, "_help_window", None)
    if hw is None:
        hw = HelpWindow(lambda: shortcuts_html(window), window)
        window._help_window = hw
    if topic is None:
        w = dock_of(QApplication.focusWidget())
        topic = hw.topic_for_dock(w.objectName()) if w is not None else None
    if topic is None and hw.current_topic() is None:
        topic = "overview"
    if topic is not None:
        hw.show_topic(topic)
    if not hw.isVisible():
        hw.fit_to_screen()
    hw.show()
    hw.raise_()
    hw.activateWindow()
    return hw
