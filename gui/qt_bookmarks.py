"""The Bookmarks panel: named views of the exploration (``engine.bookmarks``), listed and restored in one click.

A bookmark keeps the pair plot's axes and zoom, the σ-levels, the current face or photo and the selection, the
inspector's edit, the sampler and its fields, and the workspace. "Add bookmark" (Ctrl+B, also in the Edit menu)
keeps the view as it is now under a name like "PC3 × PC6, face 4"; a click, a double-click or Enter on one puts
it back. Adding, renaming and deleting are steps of Edit ▸ Undo. The window does the capturing and restoring
(``gui/actions_session.py``): this panel lists, names and asks.
"""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

from .qt_widgets import flow
from .session import Session, axis_label


def describe(b) -> str:
    """A bookmark's tooltip: what it keeps, one line each."""
    lines = [b.name, f"axes {' × '.join(axis_label(a) for a in b.axes)}"
             + ("" if b.view_range is None else ", zoomed"),
             ("photo " + str(b.photo_current + 1)) if b.photo_current is not None else (
                 "no face" if b.current is None else f"face {b.current + 1}"
                 + (f" of {len(b.selected)} selected" if len(b.selected) > 1 else ""))]
    if b.edit is not None:
        lines.append("with the inspector's edit")
    if b.levels:
        lines.append("σ-levels " + ", ".join(f"{v:g}" for v in b.levels))
    if b.sampler:
        lines.append(f"sampler {b.sampler.get('name')}, {b.sampler.get('n')} faces, seed {b.sampler.get('seed')}")
    if b.workspace:
        lines.append(f"workspace {b.workspace}")
    return "\n".join(lines)


class BookmarksPanel(QWidget):
    """The list of bookmarks with Add, Rename, Delete; a click restores one."""

    add_requested = Signal()
    restore_requested = Signal(int)

    def __init__(self, session: Session, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.setObjectName("bookmarksPanel")
        self._filling = False
        self.add_btn = QPushButton("Add bookmark")
        self.add_btn.setObjectName("bookmarkAdd")
        self.add_btn.setToolTip("keep this view (axes and zoom, σ-levels, face and selection, the inspector's edit, "
                                "the sampler, the workspace) under a name (Ctrl+B)")
        self.add_btn.clicked.connect(self.add_requested)
        self.rename_btn = QPushButton("Rename")
        self.rename_btn.setToolTip("give the chosen bookmark another name (F2, or double-click its name while chosen)")
        self.rename_btn.clicked.connect(self.rename_current)
        self.delete_btn = QPushButton("Delete")
        self.delete_btn.setToolTip("forget the chosen bookmark (Edit ▸ Undo brings it back)")
        self.delete_btn.clicked.connect(self.delete_current)
        self.list = QListWidget()
        self.list.setObjectName("bookmarkList")
        self.list.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed)
        self.list.setToolTip("click a bookmark to go back to it")
        self.list.itemClicked.connect(lambda item: self.restore_requested.emit(self.list.row(item)))
        self.list.itemActivated.connect(lambda item: self.restore_requested.emit(self.list.row(item)))
        self.list.itemChanged.connect(self._renamed)
        self.list.currentRowChanged.connect(lambda *_: self._enable())
        self.empty = QLabel("No bookmarks yet: “Add bookmark” (Ctrl+B) keeps the view you are looking at, to come "
                            "back to it in one click.")
        self.empty.setWordWrap(True)
        self.empty.setStyleSheet("color: #666")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(flow(self.add_btn, self.rename_btn, self.delete_btn))
        lay.addWidget(self.empty)
        lay.addWidget(self.list, 1)
        session.bookmarks_changed.connect(self.refresh)
        session.model_changed.connect(self._enable)
        self.refresh()

    def refresh(self) -> None:
        """List the session's bookmarks (the chosen row kept where it can be)."""
        keep, before = self.list.currentRow(), self.list.count()
        self._filling = True
        self.list.clear()
        for b in self.session.bookmarks:
            item = QListWidgetItem(b.name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
            item.setToolTip(describe(b))
            self.list.addItem(item)
        n = self.list.count()
        if n:  # a bookmark just added is the chosen one
            self.list.setCurrentRow(n - 1 if n == before + 1 and before else min(max(keep, 0), n - 1))
        self._filling = False
        self.empty.setVisible(n == 0)
        self._enable()

    def _enable(self) -> None:
        has = 0 <= self.list.currentRow() < len(self.session.bookmarks)
        self.rename_btn.setEnabled(has)
        self.delete_btn.setEnabled(has)
        self.add_btn.setEnabled(self.session.model is not None)

    def rename_current(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.list.editItem(item)

    def rename(self, i: int, name: str) -> None:
        """Rename bookmark ``i`` (an undoable step; an empty name keeps the old one)."""
        marks = list(self.session.bookmarks)
        if not 0 <= i < len(marks):
            return
        new = marks[i].renamed(name)
        if new.name == marks[i].name:
            self.refresh()
            return
        marks[i] = new
        self.session.set_bookmarks(marks, f"Rename bookmark to {new.name}")

    def delete(self, i: int) -> None:
        marks = list(self.session.bookmarks)
        if 0 <= i < len(marks):
            gone = marks.pop(i)
            self.session.set_bookmarks(marks, f"Delete bookmark {gone.name}")

    def delete_current(self) -> None:
        self.delete(self.list.currentRow())

    def _renamed(self, item: QListWidgetItem) -> None:
        if not self._filling:
            self.rename(self.list.row(item), item.text())

    def keyPressEvent(self, ev) -> None:  # noqa: N802
        if ev.key() == Qt.Key.Key_Delete and self.list.hasFocus():
            self.delete_current()
            return
        super().keyPressEvent(ev)

    def current(self) -> Optional[int]:
        r = self.list.currentRow()
        return r if 0 <= r < len(self.session.bookmarks) else None
