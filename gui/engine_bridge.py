"""The one worker thread that runs engine jobs for the window.

Jobs (train, encode, statistics, sample+decode, evaluate, save) are queued and run one at a time on a
``QThread``. A job is a plain function ``fn(progress, cancel) -> result`` built from engine calls; the
bridge hands it a progress callback that forwards engine :class:`~engine.progress.Progress` records to
the GUI thread as signals (throttled, so a fast loop cannot flood the event queue) and an engine
:class:`~engine.progress.CancelToken`. Results, engine errors and cancellations come back as signals
and the job's callbacks run on the GUI thread, so widgets are only ever touched there. A failed job's
``on_error`` gets a :class:`JobError`: the exception itself (``error.exc``, to act on its kind and fields,
never on its text) and the message the user sees, with the options named as the window names them.

Jobs with the same ``key`` coalesce: submitting one drops a queued job with that key and cancels a
running one (the inspector's live sliders submit a decode per move; only the last one matters).
"""
from __future__ import annotations

import itertools
import sys
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from PySide6.QtCore import QObject, QThread, Signal

from engine.errors import Cancelled, EngineError
from engine.progress import CancelToken, Progress

from .param_names import gui_text

_ids = itertools.count(1)


#: what the status bar calls a job that has no ``title`` of its own: plain words for the jobs' short names
TITLES = {
    "open model": "Opening the model", "load dataset": "Reading the dataset folder",
    "encode dataset": "Encoding the dataset", "import labels": "Importing labels", "generate": "Generating faces",
    "save image set": "Saving the faces", "save photo": "Saving the photo results",
    "export report": "Writing the report", "export movie": "Writing the movie", "train": "Training a model",
    "compare samplers": "Comparing the samplers", "rank attributes": "Ranking the attributes",
    "save direction set": "Saving the direction set", "decode path": "Decoding the path",
    "atlas panel": "Drawing the atlas", "atlas": "Drawing the atlas",
}


@dataclass
class Job:
    """One unit of engine work. Callbacks are called on the GUI thread.

    ``name`` is short (the error dialog's "generate failed"); ``title`` says in plain words what runs, for the
    status bar ("Generating 32 faces (gmm)"); ``expected`` (an ``engine.workflows.estimates.Expected``) is how
    long it should take, known before it starts: a long one says so as it starts (:meth:`notice`)."""

    name: str
    fn: Callable[[Callable[[Progress], None], CancelToken], Any]
    on_done: Optional[Callable[[Any], None]] = None
    on_error: Optional[Callable[["JobError"], None]] = None  # default: the window's error dialog
    on_progress: Optional[Callable[[Progress], None]] = None
    on_cancelled: Optional[Callable[[], None]] = None
    key: Optional[str] = None  # coalescing key: a newer job with the same key replaces this one
    quiet: bool = False  # quiet jobs (live decodes) do not take over the status bar
    cancel: CancelToken = field(default_factory=CancelToken)
    id: int = field(default_factory=lambda: next(_ids))
    title: str = ""  # plain words for the status bar; default: TITLES, else the name capitalised
    expected: Any = None  # engine.workflows.estimates.Expected, or None when not known

    @property
    def label(self) -> str:
        """The job's whole name as the status bar shows it."""
        if self.title:
            return self.title
        known = TITLES.get(self.name)
        return known if known else self.name[:1].upper() + self.name[1:]

    def notice(self) -> str:
        """What a job expected to take long says as it starts, in a short line ("" for a short or unknown one):
        "first time for this model: about a minute; cached afterwards"."""
        e = self.expected
        return e.notice(what=False) if e is not None and e.long else ""


def error_message(exc: BaseException) -> str:
    """The text a user sees for a failed job: the engine's own message when it gave one, its options named as
    the window's controls (:mod:`gui.param_names`)."""
    if isinstance(exc, EngineError):
        return gui_text(exc)
    if isinstance(exc, OSError):
        name = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        return f"{name}{exc.strerror or exc}"
    if isinstance(exc, MemoryError):
        return "out of memory"
    return f"{type(exc).__name__}: {exc}"


def _detached(exc: BaseException) -> BaseException:
    """``exc`` without its tracebacks (and those of its causes): they hold the worker's frames and every object
    those frames reference, which must not travel to the GUI thread and be collected there (Qt objects of the
    worker's thread freed by the GUI thread's garbage collector can crash the process)."""
    seen: set[int] = set()
    e: Optional[BaseException] = exc
    while e is not None and id(e) not in seen and len(seen) < 32:
        seen.add(id(e))
        e.__traceback__ = None
        e = e.__cause__ or e.__context__
    return exc


class JobError(str):
    """How a failed job reaches its ``on_error`` (and ``job_failed``): the exception that ended it, ``exc`` —
    act on its kind (``isinstance(error.exc, NoFaceFound)``) and fields (``error.exc.path``) — carried by the
    message a user sees (:func:`error_message`), so it can be shown as it is (a label's text, a dialog)."""

    exc: BaseException

    def __new__(cls, exc: BaseException, message: Optional[str] = None) -> "JobError":
        self = super().__new__(cls, error_message(exc) if message is None else message)
        self.exc = exc
        return self

    @property
    def message(self) -> str:
        return str.__str__(self)

    def __reduce__(self):
        return (JobError, (self.exc, self.message))


class _Worker(QThread):
    def __init__(self, bridge: "EngineBridge") -> None:
        super().__init__()
        self.setObjectName("engine-worker")
        self.bridge = bridge

    def run(self) -> None:  # noqa: D401 - QThread API
        self.bridge._lower_priority()
        while True:
            job = self.bridge._next_job()
            if job is None:
                return
            self.bridge._configure_torch()
            self.bridge._run_job(job)
            self.bridge._configure_torch()


class EngineBridge(QObject):
    """Queue of engine jobs on one worker thread, with progress, cancel and error signals."""

    job_started = Signal(object)  # Job
    job_progress = Signal(object, object)  # Job, Progress
    job_finished = Signal(object, object)  # Job, result
    job_failed = Signal(object, object)  # Job, JobError (a plain str when a job's own callback failed)
    job_cancelled = Signal(object)  # Job
    idle = Signal()  # the queue ran empty
    # internal: worker → GUI thread
    _progress_out = Signal(object, object)
    _done_out = Signal(object, str, object)

    #: the shortest gap between two forwarded progress records of a job (events always pass)
    progress_interval_s = 0.05

    def __init__(self, parent: Optional[QObject] = None, torch_threads: Optional[int] = None) -> None:
        super().__init__(parent)
        self._queue: deque[Job] = deque()
        self._cond = threading.Condition()
        self._current: Optional[Job] = None
        self._outstanding: set[int] = set()  # submitted jobs whose outcome has not reached the GUI thread yet
        self._stopping = False
        self._torch_threads = torch_threads
        self._torch_configured = False
        self._progress_out.connect(self._on_progress)
        self._done_out.connect(self._on_done)
        self._worker = _Worker(self)
        self._worker.start()

    # ---- GUI-thread API ---------------------------------------------------------------
    def submit(self, job: Job) -> Job:
        with self._cond:
            if self._stopping:
                return job
            if job.key is not None:
                for j in self._queue:
                    if j.key == job.key:
                        self._outstanding.discard(j.id)
                self._queue = deque(j for j in self._queue if j.key != job.key)
                if self._current is not None and self._current.key == job.key:
                    self._current.cancel.cancel()
            self._queue.append(job)
            self._outstanding.add(job.id)
            self._cond.notify()
        return job

    def run(self, name: str, fn, on_done=None, **kw) -> Job:
        """Shorthand: ``bridge.run("statistics", lambda progress, cancel: ..., on_done=...)``."""
        return self.submit(Job(name, fn, on_done=on_done, **kw))

    @property
    def current(self) -> Optional[Job]:
        return self._current

    def busy(self) -> bool:
        """True while any submitted job has not yet reported its outcome on the GUI thread."""
        with self._cond:
            return bool(self._outstanding)

    def pending(self) -> list[Job]:
        with self._cond:
            return ([self._current] if self._current else []) + list(self._queue)

    def cancel_current(self) -> None:
        with self._cond:
            if self._current is not None:
                self._current.cancel.cancel()

    def cancel_all(self) -> None:
        with self._cond:
            for j in self._queue:
                j.cancel.cancel()
            dropped = list(self._queue)
            self._queue.clear()
            for j in dropped:
                self._outstanding.discard(j.id)
            if self._current is not None:
                self._current.cancel.cancel()
        for j in dropped:
            self.job_cancelled.emit(j)

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Cancel everything and stop the worker thread; True when it ended in time."""
        self.cancel_all()
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        ok = self._worker.wait(timeout_ms)
        return bool(ok)

    def is_running(self) -> bool:
        return self._worker.isRunning()

    # ---- worker side ------------------------------------------------------------------
    def _lower_priority(self) -> None:
        """The worker yields the CPU to the GUI thread: a lower scheduling priority for this thread (Linux nice
        values are per thread, and threads it starts, torch's and ONNX Runtime's among them, inherit them)."""
        try:
            import os

            if hasattr(os, "setpriority") and sys.platform.startswith("linux"):
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        except OSError:
            pass

    def _configure_torch(self) -> None:
        """Leave a core free for the GUI once torch is in use: torch ops release the GIL, but a worker using every
        core would still starve the event loop on a small machine. torch is never imported for this (1.5 s at
        start-up; the first faces come from ONNX Runtime): checked before and after each job and at each progress
        report."""
        if self._torch_configured or "torch" not in sys.modules:
            return
        self._torch_configured = True
        try:
            import os

            import torch

            n = self._torch_threads or max(1, (os.cpu_count() or 2) - 1)
            torch.set_num_threads(n)
        except Exception:  # noqa: BLE001 - torch is optional for the bridge itself
            pass

    def _next_job(self) -> Optional[Job]:
        with self._cond:
            while not self._queue and not self._stopping:
                self._cond.wait()
            if self._stopping:
                return None
            job = self._queue.popleft()
            self._current = job
            return job

    def _run_job(self, job: Job) -> None:
        last = [0.0]

        def progress(p: Progress) -> None:
            self._configure_torch()  # a job that loaded torch: from its first progress on, a core stays free
            now = time.monotonic()
            event = p.event is not None or p.done >= p.total > 0  # partial results and the last tick: always
            if event or now - last[0] >= self.progress_interval_s:
                last[0] = now
                self._progress_out.emit(job, p)
            # A callback is a natural place to let the GUI thread run: yield the GIL briefly.
            time.sleep(0)

        status, payload = "done", None
        try:
            job.cancel.raise_if_cancelled()
            self._progress_out.emit(job, None)  # "started"
            payload = job.fn(progress, job.cancel)
        except Cancelled:
            status = "cancelled"
        except BaseException as exc:  # noqa: BLE001 - every failure is reported, the app lives on
            status = "failed"
            if not isinstance(exc, (EngineError, OSError)):
                traceback.print_exc()
            payload = JobError(_detached(exc))
        with self._cond:
            self._current = None
        self._done_out.emit(job, status, payload)

    # ---- back on the GUI thread -------------------------------------------------------
    def _on_progress(self, job: Job, p: Optional[Progress]) -> None:
        if p is None:
            self.job_started.emit(job)
            return
        if job.on_progress is not None:
            job.on_progress(p)
        self.job_progress.emit(job, p)

    def _on_done(self, job: Job, status: str, payload: Any) -> None:
        try:
            if self._stopping:
                return
            if status == "done":
                if job.on_done is not None:
                    job.on_done(payload)
                self.job_finished.emit(job, payload)
            elif status == "cancelled":
                if job.on_cancelled is not None:
                    job.on_cancelled()
                self.job_cancelled.emit(job)
            else:
                if job.on_error is not None:
                    job.on_error(payload)
                self.job_failed.emit(job, payload)
        except Exception as exc:  # noqa: BLE001 - a failing slot must not kill the app
            traceback.print_exc()
            self.job_failed.emit(job, JobError(exc, f"{job.name}: {error_message(exc)}"))
        finally:
            with self._cond:
                self._outstanding.discard(job.id)
            if not self.busy():
                self.idle.emit()
