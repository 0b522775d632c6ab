"""Qt-free progress records and cancel tokens for long jobs.

Every long engine operation takes ``progress`` (a callable receiving a :class:`Progress`)
and ``cancel`` (a :class:`CancelToken`). The CLI renders the records as a tqdm bar, the GUI
as a QProgressBar; the engine never knows which.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

from .errors import Cancelled


@dataclass(frozen=True)
class JobEvent:
    """A partial result of a long job, carried by a :class:`Progress` record's ``event``."""


@dataclass(frozen=True)
class EpochEnded(JobEvent):
    """Training finished an epoch and wrote its model folder and checkpoint (rank 0 of a DDP job only).

    ``history`` is every epoch so far, this one last, as in the model's ``config.json``: dicts with
    ``epoch``, ``train_loss``, ``val_loss`` (None without a validation set), ``seconds``, ``images_per_s``.
    """

    epoch: int  # 1-based: the epoch just finished
    epochs: int  # the run's epoch target
    train_loss: float  # mean per-pixel MSE over the epoch's training images
    val_loss: Optional[float]  # mean per-pixel MSE over the validation images; None without them
    seconds: float
    images_per_s: float
    history: tuple[dict, ...] = ()


@dataclass(frozen=True)
class TrainingPreview(JobEvent):
    """Validation images and their reconstructions after epoch ``epoch``: uint8 arrays of shape (k, H, W, 3)."""

    epoch: int
    originals: Any  # np.ndarray, (k, H, W, 3) uint8
    reconstructions: Any  # np.ndarray, same shape


@dataclass
class Progress:
    """One progress report of a long job."""

    job: str  # e.g. "train", "encode", "load images"
    done: int  # units done so far (images, batches, ...)
    total: int  # units in all (0 when unknown)
    message: str = ""
    epoch: Optional[int] = None
    epochs: Optional[int] = None
    loss: Optional[float] = None
    val_loss: Optional[float] = None
    eta_s: Optional[float] = None
    event: Optional[JobEvent] = None  # a partial result (see :class:`JobEvent`); None on an ordinary tick

    @property
    def fraction(self) -> float:
        return 0.0 if self.total <= 0 else min(1.0, self.done / self.total)


ProgressCallback = Callable[[Progress], None]


def no_progress(_: Progress) -> None:
    """The default callback: ignore reports."""


class CancelToken:
    """A thread-safe flag; a job checks it between units of work and stops cleanly."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled("cancelled by the user")


class StepTicker:
    """The progress of a job made of ``total`` unequal steps: each call checks the cancel token, counts one more
    step and reports it with ``message`` (never past ``total``)."""

    def __init__(self, job: str, total: int, progress: ProgressCallback, cancel: CancelToken) -> None:
        self.job, self.total, self.progress, self.cancel = job, total, progress, cancel
        self.done = 0

    def __call__(self, message: str) -> None:
        self.done += 1
        self.cancel.raise_if_cancelled()
        self.progress(Progress(self.job, min(self.done, self.total), self.total, message))


class EtaClock:
    """Estimates remaining time from units done so far."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.start = time.perf_counter()

    def eta(self, done: int) -> Optional[float]:
        if done <= 0 or self.total <= 0:
            return None
        elapsed = time.perf_counter() - self.start
        return elapsed / done * max(0, self.total - done)
