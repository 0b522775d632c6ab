"""The inspector's before/after: the face before its edits in place of the edited one (the Before button, or B),
or both side by side.

"Before" is the face as generated when the whole grid was moved (Apply to all faces), else the inspected face
before the inspector's sliders (a photo: its reconstruction). The inspector keeps drawing the edited face into its
view; this follows the session's signals and puts the before face back while Before is on.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QVBoxLayout

from .qt_apply_all import GridEdit

#: the face view's frame while it shows the face before the edits
BEFORE_STYLE = "background: #f4f4f4; border: 2px solid #b36b00;"


class BeforeAfter(QObject):
    """The Before and Side-by-side buttons of ``inspector`` (a ``gui.qt_inspector.InspectorPanel``) and the
    second face view; ``view_factory`` makes that view (the inspector's ``FaceView``)."""

    def __init__(self, inspector, view_factory) -> None:
        super().__init__(inspector)
        self.inspector = inspector
        self.button = QPushButton("Before")
        self.button.setObjectName("beforeButton")
        self.button.setCheckable(True)
        self.button.setToolTip("show the face before its edits (B toggles): as generated, or before the sliders")
        self.button.toggled.connect(self._update)
        self.side_btn = QPushButton("Side by side")
        self.side_btn.setObjectName("sideBySideButton")
        self.side_btn.setCheckable(True)
        self.side_btn.setToolTip("the face before its edits beside the edited one")
        self.side_btn.toggled.connect(self._update)
        self.view = view_factory()
        self.view.setObjectName("beforeView")
        self.view.setToolTip("before the edits")
        self.view.hide()
        self.key = QShortcut(QKeySequence(Qt.Key.Key_B), inspector)
        self.key.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.key.activated.connect(self.button.toggle)
        self._after: Optional[np.ndarray] = None  # the edited face the inspector drew last
        self._shown_before: Optional[np.ndarray] = None  # the before face we drew into the inspector's view
        self._plain_style = inspector.face.styleSheet()

    def face_column(self, face):
        """The layout of the face view (with the before view beside it) above the two buttons."""
        faces = QHBoxLayout()
        faces.addWidget(self.view, 1)
        faces.addWidget(face, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.button)
        buttons.addWidget(self.side_btn)
        buttons.addStretch(1)
        column = QVBoxLayout()
        column.addLayout(faces, 1)
        column.addLayout(buttons)
        return column

    def follow(self, session) -> None:
        """Connect after the inspector's own handlers: they draw the edited face, this puts Before back."""
        for signal in (session.selection_changed, session.sample_changed, session.edited_changed,
                       session.probe_changed, session.model_changed):
            signal.connect(self._update)

    def before_image(self) -> Optional[np.ndarray]:
        """The inspected face before its edits (None: no face)."""
        s = self.inspector.session
        if s.inspected_photo() is None and s.current is not None:
            generated = GridEdit.of(s, self.inspector.bridge).before_image(s.current)
            if generated is not None:
                return generated
        return s.base_image()

    @property
    def showing_before(self) -> bool:
        return self.button.isChecked()

    def _update(self, *_) -> None:
        face = self.inspector.face
        if face.image is not self._shown_before:
            self._after = face.image  # the inspector drew a new (edited) face since
        before = self.before_image()
        self.view.smooth = face.smooth
        self.view.setVisible(self.side_btn.isChecked())
        if self.side_btn.isChecked():
            self.view.set_image(before)
        if self.button.isChecked() and before is not None:
            self._shown_before = np.asarray(before)
            face.set_image(self._shown_before)
            face.setStyleSheet(BEFORE_STYLE)
            face.setToolTip("before the edits (B: back to the edited face)")
        else:
            if face.image is self._shown_before and self._shown_before is not None:
                face.set_image(self._after)
            self._shown_before = None
            face.setStyleSheet(self._plain_style)
            face.setToolTip("")
