"""Small widgets and helpers every panel uses, so that each panel behaves the same way:

* :class:`ElidedLabel` — one line of text that never widens its panel (the text is elided to the
  width it gets; the whole text is its tooltip), for captions and titles that grow with the data;
* :func:`setup_plot` — an embedded plot that does not steal the scroll wheel from the panel it sits in
  (the wheel zooms only after the plot was clicked), with a visible "reset view" button and a
  right-click menu ("Reset view");
* :class:`JobStatus` — the running engine job in the window's status bar (its whole name, step, time, Cancel).

Where results go and the questions asked before writing them (``pictures_folder``, "a new folder inside it
instead?") are in :mod:`gui.dialogs`.
"""
from __future__ import annotations

from typing import Callable, Optional

from PySide6.QtCore import QEvent, QObject, QPoint, QRect, QSize, Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import (
    QHBoxLayout, QLabel, QLayout, QMenu, QProgressBar, QPushButton, QScrollArea,
    QSizePolicy, QStatusBar, QToolButton, QVBoxLayout, QWidget,
)

from .wheel_guard import scroll_area_of, scroll_instead  # noqa: F401  (scroll_area_of: also used by the tests)


class ElidedLabel(QLabel):
    """A one-line label whose text is elided ("…") to its width instead of setting the width.

    ``minimumSizeHint`` is a few characters wide, so a long caption ("… fitted where Male=-1 (5206
    z-points)") can never push the window's minimum size; ``text()`` returns the full text."""

    def __init__(self, text: str = "", parent=None, mode=Qt.TextElideMode.ElideRight) -> None:
        super().__init__(parent)
        self._full = ""
        self._mode = mode
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(40)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt API
        self._full = str(text)
        self.setToolTip(self._full if self._full.strip() else "")
        self._elide()

    def text(self) -> str:
        return self._full

    def full_text(self) -> str:
        return self._full

    def shown_text(self) -> str:
        """What is drawn (elided when the label is narrower than the text)."""
        return super().text()

    def resizeEvent(self, ev) -> None:  # noqa: N802
        super().resizeEvent(ev)
        self._elide()

    def _elide(self) -> None:
        width = max(10, self.width() - 2)
        super().setText(QFontMetrics(self.font()).elidedText(self._full, self._mode, width))

    def minimumSizeHint(self):  # noqa: N802
        h = super().minimumSizeHint()
        h.setWidth(40)
        return h

    def sizeHint(self):  # noqa: N802
        h = super().sizeHint()
        h.setWidth(min(h.width(), 200))
        return h


def scrolled_body(panel: QWidget, *parts, margins: int = 4) -> QVBoxLayout:
    """Fill ``panel`` with a scroll area whose content stacks ``parts`` (a widget, a layout, or either with its
    stretch as ``(part, stretch)``): a panel taller than its dock scrolls instead of squeezing. Returns the
    content's layout."""
    inner = QWidget()
    lay = QVBoxLayout(inner)
    lay.setContentsMargins(margins, margins, margins, margins)
    for part in parts:
        part, stretch = part if isinstance(part, tuple) else (part, 0)
        if isinstance(part, QLayout):
            lay.addLayout(part, stretch)
        else:
            lay.addWidget(part, stretch)
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setWidget(inner)
    outer = QVBoxLayout(panel)
    outer.setContentsMargins(0, 0, 0, 0)
    outer.addWidget(scroll)
    return lay


class _WheelGuard(QObject):
    """Wheel over an unfocused plot that sits in a scroll area scrolls that area instead of zooming (the rule of
    every value control too: :mod:`gui.wheel_guard`)."""

    def __init__(self, plot) -> None:
        super().__init__(plot)
        self.plot = plot

    def eventFilter(self, obj, ev) -> bool:  # noqa: N802
        if ev.type() == QEvent.Type.Resize and obj is self.plot:
            place_reset_button(self.plot)
            return False
        if ev.type() == QEvent.Type.Wheel and not self.plot.hasFocus():
            return scroll_instead(self.plot, ev)
        return False


def place_reset_button(plot) -> None:
    """The button sits in the bottom-left corner, where the two axes leave an empty square."""
    btn = getattr(plot, "reset_button", None)
    if btn is not None:
        btn.adjustSize()
        btn.move(2, max(0, plot.height() - btn.height() - 2))
        btn.raise_()


def reset_view(plot) -> None:
    """The default "reset view": show everything the plot holds (pyqtgraph's auto range)."""
    vb = plot.getPlotItem().getViewBox()
    vb.autoRange()  # fits the data now (and, like any setRange, switches auto-ranging off) …
    vb.enableAutoRange()  # … so switch it back on: data drawn later is fitted too


def empty_view(plot) -> None:
    """The view of a plot that shows nothing yet, as a new plot has it (0–1 on both axes, fitting what comes)."""
    vb = plot.getPlotItem().getViewBox()
    vb.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)
    vb.enableAutoRange()


def empty_plot(plot, axis_labels: bool = False, title: bool = False) -> None:
    """A plot as a new one shows it: no data in its curves, points, bars and images (an emptied image is also put
    back at the origin: autoRange would centre the view on where it was) and an empty view; no axis names with
    ``axis_labels``, no title with ``title`` (for plots whose names come from the data)."""
    import pyqtgraph as pg

    pi = plot.getPlotItem()
    for item in pi.items:
        if isinstance(item, (pg.PlotDataItem, pg.PlotCurveItem, pg.ScatterPlotItem)):
            item.setData([], [])
        elif isinstance(item, pg.BarGraphItem):
            item.setOpts(x=[], height=[])
        elif isinstance(item, pg.ImageItem):
            item.clear()
            item.resetTransform()
    if title:
        pi.setTitle(None)
    if axis_labels:
        pi.setLabels(bottom="", left="")
    empty_view(plot)


def plot_widget() -> "pg.PlotWidget":
    """A ``pg.PlotWidget`` built without pyqtgraph's own right-click menus (:func:`setup_plot` switches them off
    anyway, and building them costs about a fifth of a panel's plot set-up)."""
    import pyqtgraph as pg

    return pg.PlotWidget(enableMenu=False)


def setup_plot(plot, reset: Optional[Callable[[], None]] = None) -> QToolButton:
    """Make an embedded ``pg.PlotWidget`` behave like every other plot of the app.

    The wheel zooms only once the plot has been clicked (it has focus); before that, over a plot inside a
    scrolling panel, it scrolls the panel. A small "reset view" button sits in the plot's top-left corner
    and the right-click menu offers the same (``reset`` restores the panel's own default view; without it
    the view fits the data). Returns the button."""
    plot.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
    guard = _WheelGuard(plot)
    plot.viewport().installEventFilter(guard)
    plot.installEventFilter(guard)
    plot._wheel_guard = guard
    action = reset or (lambda: reset_view(plot))
    plot.reset_view = action
    pi = plot.getPlotItem()
    pi.hideButtons()  # pyqtgraph's tiny "A": the visible button below replaces it
    pi.setMenuEnabled(False)  # its full menu changes log scales, grids, transforms: not what a reader needs
    btn = QToolButton(plot)
    btn.setText("⟲")
    btn.setObjectName("resetViewButton")
    btn.setToolTip("reset view (also: right-click ▸ Reset view). The wheel zooms once the plot was clicked;\n"
                   "drag to pan, right-drag to zoom one axis")
    btn.setAutoRaise(True)
    btn.setStyleSheet("QToolButton { background: rgba(255,255,255,200); border: 1px solid #bbb; border-radius: 3px;"
                      " padding: 0px 3px; font-size: 12px; } QToolButton:hover { background: #e8f0fa; }")
    btn.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    btn.clicked.connect(lambda *_: action())
    plot.reset_button = btn
    place_reset_button(plot)

    def context_menu(ev) -> None:
        if ev.button() != Qt.MouseButton.RightButton:
            return
        menu = QMenu(plot)
        menu.addAction("Reset view", action)
        menu.popup(ev.screenPos().toPoint())
        plot._context_menu = menu
        ev.accept()

    plot.scene().sigMouseClicked.connect(context_menu)
    return btn


class FlowLayout(QLayout):
    """Lays its items out left to right and wraps them onto the next line when the width runs out, so a
    row of controls never sets a panel's minimum width (its widest item does)."""

    def __init__(self, parent=None, spacing: int = 6) -> None:
        super().__init__(parent)
        self._items: list = []
        self._spacing = spacing
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item) -> None:  # noqa: N802
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, i: int):  # noqa: N802
        return self._items[i] if 0 <= i < len(self._items) else None

    def takeAt(self, i: int):  # noqa: N802
        return self._items.pop(i) if 0 <= i < len(self._items) else None

    def expandingDirections(self):  # noqa: N802
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:  # noqa: N802
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        return self._do_layout(QRect(0, 0, width, 0), apply=False)

    def setGeometry(self, rect) -> None:  # noqa: N802
        super().setGeometry(rect)
        self._do_layout(rect, apply=True)

    def sizeHint(self):  # noqa: N802
        w = sum(it.sizeHint().width() for it in self._items) + self._spacing * max(0, len(self._items) - 1)
        h = max((it.sizeHint().height() for it in self._items), default=0)
        m = self.contentsMargins()
        return QSize(w + m.left() + m.right(), h + m.top() + m.bottom())

    def minimumSize(self):  # noqa: N802
        s = QSize()
        for it in self._items:
            s = s.expandedTo(it.minimumSize())
        m = self.contentsMargins()
        return s + QSize(m.left() + m.right(), m.top() + m.bottom())

    def _do_layout(self, rect, apply: bool) -> int:
        m = self.contentsMargins()
        r = rect.adjusted(m.left(), m.top(), -m.right(), -m.bottom())
        x, y, line_h = r.x(), r.y(), 0
        for it in self._items:
            if it.isEmpty():
                continue
            hint = it.sizeHint()
            if x > r.x() and x + hint.width() > r.right() + 1:
                x, y, line_h = r.x(), y + line_h + self._spacing // 2, 0
            w = min(hint.width(), r.width())
            if apply:
                it.setGeometry(QRect(QPoint(x, y), QSize(w, hint.height())))
            x += w + self._spacing
            line_h = max(line_h, hint.height())
        return y + line_h - rect.y() + m.bottom()


def flow(*widgets, spacing: int = 6) -> QWidget:
    """A widget holding ``widgets`` (widgets or layouts) in a :class:`FlowLayout`."""
    box = QWidget()
    lay = FlowLayout(box, spacing)
    for w in widgets:
        if isinstance(w, QLayout):
            holder = QWidget()
            w.setContentsMargins(0, 0, 0, 0)
            holder.setLayout(w)
            w = holder
        lay.addWidget(w)
    box.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
    sp = box.sizePolicy()
    sp.setHeightForWidth(True)
    box.setSizePolicy(sp)
    return box


def column(*widgets, grow: int = 0) -> QWidget:
    """A widget holding ``widgets`` one above the other, without margins; ``widgets[grow]`` takes the height left."""
    box = QWidget()
    lay = QVBoxLayout(box)
    lay.setContentsMargins(0, 0, 0, 0)
    for i, w in enumerate(widgets):
        lay.addWidget(w, 1 if i == grow else 0)
    return box


def row(*widgets, spacing: int = 3) -> QWidget:
    """Widgets side by side that stay together when a :class:`FlowLayout` wraps."""
    box = QWidget()
    lay = QHBoxLayout(box)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(spacing)
    for w in widgets:
        if isinstance(w, str):
            w = QLabel(w)
        lay.addWidget(w)
    return box


#: plain words for the steps engine jobs report (``Progress.job``); others are shown as they are
STEP_WORDS = {"decode": "decoding faces", "encode": "encoding images", "load images": "reading images",
              "attribute judges": "training the attribute judges", "train": "training", "statistics": "statistics"}


def step_text(job, p) -> str:
    """One progress record of ``job`` in plain words: its step, message, counts, loss."""
    words = "" if not p.job or p.job in (job.name, "report") else STEP_WORDS.get(p.job, p.job)
    msg = p.message if p.message not in ("", "done", words) else ""
    text = ": ".join(t for t in (words, msg) if t)
    if p.total > 1 and p.job not in ("report",) and p.done < p.total:
        text += f" ({p.done:,} of {p.total:,})"
    if p.loss is not None:
        text += f" — loss {p.loss:.5f}"
    return text


#: the widest the step of a job gets in the status bar (and at most a third of the bar)
STEP_WIDTH = 560


class JobStatus(QObject):
    """The running engine job in a status bar, readable at any window width: its whole name in plain words (never
    elided: "Generating 32 faces (gmm)"), its current step (a third of the bar at most, elided beyond; the whole
    text is the tooltip), the time it has taken and, when its progress or its expected time allows, the time left; a
    progress bar and Cancel. A job expected to take long says so as it starts: its notice ("first time for this
    model: about a minute; cached afterwards") is the step until the job reports one.
    The widgets are always there (idle: empty and disabled): showing/hiding them would re-lay out every panel.
    Quiet jobs (live decodes) leave them alone."""

    def __init__(self, status_bar: QStatusBar, cancel: Callable[[], None]) -> None:
        from PySide6.QtCore import QTimer

        super().__init__(status_bar)
        self.status_bar = status_bar
        self.box = QWidget()
        self.box.setObjectName("jobStatus")
        lay = QHBoxLayout(self.box)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(6)
        # Widths are set once per job (at its start): a minimum width changed at each progress record re-laid out
        # the whole window, every dock with it (the GUI thread blocked for 200 ms in training)
        self.label = QLabel("")  # the job's name: as wide as its text, never elided
        self.label.setObjectName("jobName")
        self.label.setStyleSheet("font-weight: 600;")
        self.label.setSizePolicy(QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Preferred)
        self.step = ElidedLabel("")
        self.step.setObjectName("jobStep")
        self.step.setMinimumWidth(60)
        self.step.setMaximumWidth(STEP_WIDTH)
        self.step.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.time_label = QLabel("")
        self.time_label.setObjectName("jobTime")
        self.time_label.setStyleSheet("color: #555;")
        fm = self.time_label.fontMetrics()
        self.time_label.setMinimumWidth(4 + max(fm.horizontalAdvance(t) for t in ("0:00:00 · about 0:00:00 left",
                                                                                "0:00:00 · longer than expected")))
        self.progress_bar = QProgressBar()
        self.progress_bar.setMaximumWidth(160)
        self.progress_bar.setMinimumWidth(80)
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.setToolTip("cancel the running job (Esc)")
        self.cancel_btn.clicked.connect(lambda *_: cancel())
        for w in (self.label, self.step, self.time_label, self.progress_bar, self.cancel_btn):
            lay.addWidget(w)
        status_bar.addPermanentWidget(self.box)
        self.job = None
        self.started_at = 0.0
        self.fraction: Optional[float] = None  # of the running job, from its progress (None: not known)
        self.fraction_at = 0.0
        self.eta: Optional[tuple[float, float]] = None  # (the job's own estimate of the time left, when it said so)
        self.timer = QTimer(self)
        self.timer.setInterval(1000)
        self.timer.timeout.connect(self._tick)
        self.idle()

    def follow(self, bridge) -> None:
        """Follow an engine bridge's jobs (``gui.engine_bridge.EngineBridge``'s signals)."""
        bridge.job_started.connect(self.started)
        bridge.job_progress.connect(self.progress)
        for signal in (bridge.job_finished, bridge.job_failed):
            signal.connect(lambda job, _result: self._ended(job))
        bridge.job_cancelled.connect(self._ended)
        bridge.idle.connect(self.idle)

    def _ended(self, job) -> None:
        if job is self.job:
            self.idle()

    def started(self, job) -> None:
        import time

        if job.quiet:
            return
        self.job, self.started_at = job, time.monotonic()
        self.fraction = self.eta = None
        title = getattr(job, "label", job.name)
        self.label.setText(title)
        self.label.setToolTip(title)
        self.label.setMinimumWidth(self.label.fontMetrics().horizontalAdvance(title) + 6)  # never clipped
        self.step.setMinimumWidth(max(60, min(STEP_WIDTH, self.status_bar.width() // 3)))  # for the whole job
        self._set_step(job.notice() if hasattr(job, "notice") else "")
        expected = getattr(job, "expected", None)
        self.step.setToolTip(expected.notice() if expected is not None and expected.long else self.step.toolTip())
        self.progress_bar.setRange(0, 0)
        self.progress_bar.setTextVisible(True)
        self.cancel_btn.setEnabled(True)
        self._tick()
        self.timer.start()

    def progress(self, job, p) -> None:
        """An engine ``Progress`` record of ``job``: the bar, its step and the time left."""
        import time

        if job.quiet or job is not self.job:
            return
        now = time.monotonic()
        if p.total > 0:
            self.progress_bar.setRange(0, 1000)
            self.progress_bar.setValue(int(1000 * p.fraction))
            if p.job in (job.name, "report") or not p.job:  # the job's own count, not one of its steps' counts
                self.fraction, self.fraction_at = p.fraction, now
        if p.eta_s:
            self.eta = (float(p.eta_s), now)
        text = step_text(job, p)
        if text:
            self._set_step(text)
        self._tick()

    def _set_step(self, text: str) -> None:
        self.step.setText(text)  # (elided to the width the job got at its start; the whole text is the tooltip)

    def remaining(self) -> Optional[float]:
        """Seconds left (negative: longer than expected): the job's own estimate (training, encoding); else its
        expected time while within it (a job's steps are seldom equal: the report's faces take most of it); else
        from its progress; else past its expected time."""
        import time

        now = time.monotonic()
        elapsed = now - self.started_at
        if self.eta is not None:
            return max(0.0, self.eta[0] - (now - self.eta[1]))
        expected = getattr(self.job, "expected", None)
        if expected is not None and expected.long and elapsed < expected.seconds:
            return expected.seconds - elapsed
        if self.fraction is not None and 0.05 <= self.fraction < 1 and elapsed > 2:
            at = self.fraction_at - self.started_at
            return max(0.0, at / self.fraction * (1 - self.fraction) - (now - self.fraction_at))
        if expected is not None and expected.long:
            return expected.seconds - elapsed
        return None

    def time_text(self) -> str:
        """"0:12 · about 0:45 left", "1:10 · longer than expected", or the elapsed time alone."""
        import time

        from engine.workflows.estimates import clock

        if self.job is None:
            return ""
        text = clock(time.monotonic() - self.started_at)
        left = self.remaining()
        if left is not None:
            text += f" · about {clock(left)} left" if left > 0 else " · longer than expected"
        return text

    def _tick(self) -> None:
        self.time_label.setText(self.time_text())

    def idle(self) -> None:
        self.job = None
        self.timer.stop()
        for w in (self.label, self.step, self.time_label):
            w.setText("")
        self.label.setMinimumWidth(0)
        self.step.setMinimumWidth(60)
        self.label.setToolTip("")
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.progress_bar.setTextVisible(False)
        self.cancel_btn.setEnabled(False)
