"""Face grid: thumbnails of the generated faces. Click selects (Ctrl/Shift for several),
double-click opens the face in the inspector; thumbnail size and columns are adjustable."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QLabel, QListView, QListWidget, QListWidgetItem, QSlider, QSpinBox,
    QVBoxLayout, QWidget,
)

from .qt_images import to_pixmap
from .qt_widgets import ElidedLabel, flow, row
from .session import Session


class FaceGrid(QWidget):
    inspect_requested = Signal(int)

    def __init__(self, session: Session, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.list = QListWidget()
        self.list.setObjectName("faceList")
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setMovement(QListView.Movement.Static)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.setUniformItemSizes(True)
        self.list.setSpacing(2)
        self.list.setWordWrap(False)
        # selection: a red frame around the face (the style's blue tint would hide the face's colours)
        self.list.setStyleSheet(
            "QListWidget#faceList::item { border: 3px solid transparent; border-radius: 2px; color: #222; }"
            "QListWidget#faceList::item:selected { border: 3px solid rgb(214, 39, 40); background: transparent;"
            " color: rgb(214, 39, 40); }"
            "QListWidget#faceList::item:hover:!selected { border: 3px solid #c8d8ec; }")
        self.size = QSlider(Qt.Orientation.Horizontal)
        self.size.setRange(32, 256)
        self.size.setValue(96)
        self.size.setToolTip("thumbnail size in pixels")
        self.columns = QSpinBox()
        self.columns.setRange(0, 32)
        self.columns.setValue(0)
        self.columns.setSpecialValueText("fit")
        self.columns.setToolTip("faces per row (fit: as many as the width allows)")
        self.smooth = QComboBox()
        self.smooth.addItems(["smooth", "pixels"])
        self.smooth.setToolTip("how thumbnails are scaled up")
        self.labels = QComboBox()
        self.labels.addItems(["numbers", "no labels"])
        # the caption grows with the sample (sampler, parameters, condition): elided, never the panel's width
        self.info = ElidedLabel("no faces yet — press Generate (Ctrl+G)")
        self.info.setObjectName("faceGridCaption")
        self.why = QLabel("")
        self.why.setWordWrap(True)
        self.why.setObjectName("faceGridWhy")
        self.why.setStyleSheet("color: #555;")
        self.size.setMinimumWidth(110)
        bar = flow(row("size", self.size), row("columns", self.columns), self.smooth, self.labels)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(bar)
        lay.addWidget(self.list, 1)
        lay.addWidget(self.info)
        lay.addWidget(self.why)

        self._block = False
        self.size.valueChanged.connect(self._relayout)
        self.columns.valueChanged.connect(self._relayout)
        self.smooth.currentIndexChanged.connect(self.refresh)
        self.labels.currentIndexChanged.connect(self.refresh)
        self.list.itemSelectionChanged.connect(self._selection_from_list)
        self.list.itemDoubleClicked.connect(lambda it: self.inspect_requested.emit(int(it.data(Qt.ItemDataRole.UserRole))))
        session.sample_changed.connect(self.refresh)
        session.selection_changed.connect(self._selection_from_session)

    def count(self) -> int:
        return self.list.count()

    def visible_faces(self) -> list[int]:
        """The faces shown whole in the grid's view now (not cut by its edges)."""
        view = self.list.viewport().rect()
        return [i for i in range(self.list.count()) if view.contains(self.list.visualItemRect(self.list.item(i)))]

    def visible_rows(self) -> int:
        """How many rows of faces are shown whole in the grid's view now."""
        return len({self.list.visualItemRect(self.list.item(i)).top() for i in self.visible_faces()})

    def thumb_size(self) -> int:
        cols = self.columns.value()
        if cols > 0:
            w = self.list.viewport().width() - 8
            return max(24, w // cols - 2 * self.list.spacing() - 4)
        return self.size.value()

    def resizeEvent(self, ev) -> None:  # noqa: N802
        super().resizeEvent(ev)
        if self.columns.value() > 0:
            self._relayout()

    def _relayout(self, *_) -> None:
        s = self.thumb_size()
        self.list.setIconSize(QSize(s, s))
        label_h = 0 if self.labels.currentIndex() == 1 else 16
        self.list.setGridSize(QSize(s + 10, s + 10 + label_h))
        self.refresh()

    def refresh(self, *_) -> None:
        sample = self.session.sample
        self._block = True
        self.list.clear()
        if sample is None or len(sample.images) == 0:
            self.info.setText("no faces yet — press Generate (Ctrl+G)")
            self._block = False
            return
        s = self.thumb_size()
        self.list.setIconSize(QSize(s, s))
        label_h = 0 if self.labels.currentIndex() == 1 else 16
        self.list.setGridSize(QSize(s + 10, s + 10 + label_h))
        smooth = self.smooth.currentIndex() == 0
        show_labels = self.labels.currentIndex() == 0
        for i, img in enumerate(sample.images):
            pm = to_pixmap(img, s, smooth)
            icon = QIcon(pm)
            icon.addPixmap(pm, QIcon.Mode.Selected)  # a selected face keeps its colours: the frame marks it
            it = QListWidgetItem(icon, f"#{i}" if show_labels else "")
            it.setData(Qt.ItemDataRole.UserRole, i)
            it.setToolTip(f"face #{i} — double-click to inspect")
            self.list.addItem(it)
        from .qt_sampler import VERDICTS, format_values

        p = sample.params
        name = p.get("sampler", "")
        vals = format_values(name, p.get("parameters", {}))
        where = f" · fitted where {p['where']} ({p.get('where_points', '?'):,} z-points)" if p.get("where") else ""
        moved = "".join(f" · moved {a.get('name')} {a.get('amount', 0):+.2f}" for a in p.get("applied") or [])
        self.info.setText(f"{len(sample.images)} faces · {name} ({vals}) · seed {p.get('seed')}{where}{moved}")
        verdict = VERDICTS.get(name, "")
        self.why.setText(f"{name}: {verdict}" if verdict else "")
        self.why.setVisible(bool(verdict))
        self._block = False
        self._selection_from_session()

    def _selection_from_list(self) -> None:
        if self._block:
            return
        sel = sorted(int(it.data(Qt.ItemDataRole.UserRole)) for it in self.list.selectedItems())
        cur_item = self.list.currentItem()
        cur = int(cur_item.data(Qt.ItemDataRole.UserRole)) if cur_item is not None and cur_item.isSelected() else (sel[0] if sel else None)
        self.session.select(cur, sel)

    def _selection_from_session(self) -> None:
        if self._block:
            return
        self._block = True
        wanted = set(self.session.selected)
        for i in range(self.list.count()):
            it = self.list.item(i)
            it.setSelected(i in wanted)
        if self.session.current is not None and self.session.current < self.list.count():
            self.list.scrollToItem(self.list.item(self.session.current))
        self._block = False

    def selected_indices(self) -> list[int]:
        return list(self.session.selected)

    def click_face(self, i: int) -> None:
        """Select face ``i`` alone (as a click would)."""
        self.list.setCurrentRow(i)
        self.session.select(i)

    def images(self) -> np.ndarray | None:
        return None if self.session.sample is None else self.session.sample.images

    def clear_model_state(self) -> None:
        """Another model (``Session.model_reset``): no caption of the previous model's sampler."""
        self.why.setText("")
