"""Apply to all faces: the whole grid moved at once along one direction (a direction of the lab, an attribute),
live while the amount slider is dragged, with the generated set kept for Reset.

:class:`GridEdit` is one per session (a child of it, :meth:`GridEdit.of`): it keeps the set as generated (the
*original*), the set the current move starts from (the *base*: the original, or the original after earlier moves)
and the moves' resolved directions. Each amount is one job on the worker (``engine.workflows.move_faces.move_set``,
coalescing while the slider moves: about 50 ms for 32 faces of the default model on a busy CPU); its result
replaces the grid's faces and keeps the selection. The moved set's ``params.json`` lists what was applied
(``applied``), so Save image set records it. A new grid (Generate, another model) forgets the original.

:class:`ApplyToAllBox` is the control a panel shows: what is applied, the amount slider, Reset.
"""
from __future__ import annotations

from typing import Callable, Optional

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QSlider, QWidget

from .engine_bridge import EngineBridge, Job
from .qt_widgets import ElidedLabel
from .session import Sample, Session

STEPS = 100  # slider steps per unit of amount

#: a move's source: (key, name, unit word, resolve) — resolve(opened model) -> engine.editing.Move, on the worker
Source = tuple[tuple, str, str, Callable]


class GridEdit(QObject):
    """The whole grid's moves, shared by every Apply-to-all control of one session."""

    changed = Signal()  # the amount, the move or the original changed (the controls follow)

    def __init__(self, session: Session, bridge: EngineBridge) -> None:
        super().__init__(session)
        self.setObjectName("gridEdit")
        self.session, self.bridge = session, bridge
        self.original: Optional[Sample] = None  # the grid as generated
        self.base: Optional[Sample] = None  # what the current move starts from
        self.shown: Optional[Sample] = None  # the moved set we put into the session
        self.key: Optional[tuple] = None  # the current move's source
        self.amount = 0.0
        self.moves: dict = {}  # key -> engine.editing.Move (an attribute's direction is fitted once)
        self.jobs_done = 0
        session.sample_changed.connect(self._sample_changed)
        session.model_changed.connect(self._forget)

    @classmethod
    def of(cls, session: Session, bridge: EngineBridge) -> "GridEdit":
        """The session's one GridEdit (made on first use)."""
        found = session.findChild(GridEdit, "gridEdit")
        return found if found is not None else cls(session, bridge)

    @property
    def active(self) -> bool:
        """The grid shows a moved set (Reset brings the generated one back)."""
        return self.original is not None and self.session.sample is self.shown and self.shown is not None

    def before_image(self, i: int):
        """Face ``i`` as generated, when the grid shows a moved set; else None."""
        if not self.active or not 0 <= i < len(self.original.images):
            return None
        return self.original.images[i]

    def _sample_changed(self) -> None:
        if self.session.sample is not self.shown and self.session.sample is not self.original:
            self._forget()  # a new grid: its own original

    def _forget(self) -> None:
        self.original = self.base = self.shown = self.key = None
        self.amount = 0.0
        self.moves = {}
        self.changed.emit()

    def move(self, source: Source, amount: float) -> Optional[Job]:
        """Show the grid moved by ``amount`` along ``source`` (from the base; another source starts from what is
        shown now). None when there is no grid or nothing changes."""
        s = self.session
        if s.sample is None or s.model is None:
            return None
        key, name, _unit, resolve = source
        if self.original is None or s.sample is not (self.shown or self.original):
            self.original = self.base = s.sample
            self.shown, self.key, self.amount = None, None, 0.0
        if key != self.key:
            if self.amount:
                self.base = self.shown  # the earlier move stays: the new one starts from it
            self.key, self.amount = key, 0.0
        self.amount = float(amount)
        self.changed.emit()
        if not self.amount:
            self._show(self.base)
            return None
        base, codec, model = self.base, s.model.codec, s.model
        known = self.moves.get(key)

        def fn(progress, cancel):
            from engine.workflows.move_faces import move_set

            m = known if known is not None else resolve(model)
            return m, move_set(codec, base.z, base.params, m, amount, progress=progress, cancel=cancel)

        def done(result):
            self.jobs_done += 1
            m, moved = result
            if self.session.model is not model or self.base is not base:
                return
            self.moves[key] = m
            if self.key == key and self.amount == amount:
                self._show(Sample(moved.z, moved.images, moved.params))

        return self.bridge.submit(Job(f"apply {name} to all faces", fn, on_done=done, key="apply-to-all",
                                      quiet=known is not None))

    def _show(self, sample: Sample) -> None:
        """Put ``sample`` into the session, keeping the inspected face and the selection."""
        s = self.session
        current, selected = s.current, list(s.selected)
        self.shown = sample
        s.set_sample(sample)
        if current is not None:
            s.select(current, selected)

    def reset(self) -> None:
        """Back to the grid as generated."""
        original = self.original
        if original is None:
            return
        self._show(original)
        self._forget()


class ApplyToAllBox(QWidget):
    """A row: "all faces", what is applied, the amount slider (±``span`` units), its value, Reset."""

    def __init__(self, session: Session, bridge: EngineBridge, source: Callable[[], Optional[Source]],
                 span: float = 3.0, parent=None, name: str = "applyToAll") -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.grid_edit = GridEdit.of(session, bridge)
        self.session = session
        self.source = source  # the panel's current choice, or None
        self.what = ElidedLabel("")
        self.what.setMinimumWidth(40)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName(f"{name}Slider")
        self.slider.setRange(int(-span * STEPS), int(span * STEPS))
        self.slider.setMinimumWidth(70)
        self.slider.valueChanged.connect(self._moved)
        self.value = QLabel("+0.00")
        self.value.setMinimumWidth(44)
        self.reset_btn = QPushButton("Reset grid")
        self.reset_btn.setObjectName(f"{name}Reset")
        self.reset_btn.setToolTip("back to the faces as generated (every Apply-to-all move undone)")
        self.reset_btn.clicked.connect(self.grid_edit.reset)
        caption = QLabel("All faces:")
        caption.setToolTip("move every face of the grid at once along the chosen direction; the grid follows the "
                           "slider,\nSave image set records the move in params.json")
        # two plain rows (no wrapping layout): the panel's smallest width stays its own
        lay = QGridLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setHorizontalSpacing(4)
        lay.setVerticalSpacing(2)
        lay.addWidget(caption, 0, 0)
        lay.addWidget(self.what, 0, 1, 1, 3)
        lay.addWidget(self.slider, 1, 0, 1, 2)
        lay.addWidget(self.value, 1, 2)
        lay.addWidget(self.reset_btn, 1, 3)
        lay.setColumnStretch(1, 1)
        self.grid_edit.changed.connect(self.refresh)
        session.sample_changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        """Follow the shared state: the slider shows this source's amount (0 for another source), Reset is
        enabled while the grid is moved."""
        src = self.source()
        ge = self.grid_edit
        mine = src is not None and ge.key == src[0]
        self.slider.blockSignals(True)
        self.slider.setValue(int(round(ge.amount * STEPS)) if mine else 0)
        self.slider.blockSignals(False)
        unit = src[2] if src is not None else ""
        self.value.setText(f"{(ge.amount if mine else 0.0):+.2f}{unit}")
        has = self.session.sample is not None and src is not None
        self.slider.setEnabled(has)
        self.what.setText(src[1] if src is not None else "pick a row")
        self.what.setToolTip(f"applied to every face: {src[1]}" if src is not None else "")
        self.reset_btn.setEnabled(ge.original is not None)

    def set_amount(self, amount: float) -> Optional[Job]:
        """Move the grid by ``amount`` along the panel's current choice (what the slider does)."""
        src = self.source()
        if src is None:
            return None
        self.value.setText(f"{amount:+.2f}{src[2]}")
        return self.grid_edit.move(src, amount)

    def _moved(self, value: int) -> None:
        self.set_amount(value / STEPS)
