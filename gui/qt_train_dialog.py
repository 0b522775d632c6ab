"""Train a new model: the training options, a live train/validation loss curve and a strip of
validation reconstructions refreshed after every epoch. Training runs on the engine worker and can
be cancelled at any time (the model folder keeps the last finished epoch)."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDialog, QDoubleSpinBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
    QPushButton, QSpinBox, QVBoxLayout, QWidget,
)

from engine.progress import EpochEnded, TrainingPreview

from . import plot_style as ps
from .engine_bridge import EngineBridge, Job
from .qt_images import to_pixmap
from .qt_widgets import plot_widget


class _PathRow(QWidget):
    def __init__(self, caption: str, parent=None) -> None:
        super().__init__(parent)
        self.caption = caption
        self.edit = QLineEdit()
        btn = QPushButton("…")
        btn.setFixedWidth(28)
        btn.clicked.connect(self._browse)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.edit, 1)
        lay.addWidget(btn)

    def _browse(self) -> None:
        p = QFileDialog.getExistingDirectory(self, self.caption, self.edit.text() or str(Path.home()))
        if p:
            self.edit.setText(p)

    def text(self) -> str:
        return self.edit.text().strip()


class TrainDialog(QDialog):
    model_trained = Signal(str)

    def __init__(self, bridge: EngineBridge, settings=None, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Train a new model")
        self.setObjectName("trainDialog")
        self.bridge = bridge
        self.settings = settings
        self.job: Optional[Job] = None
        self.epoch_history: list[dict] = []
        self.batch_losses: list[tuple[float, float]] = []
        self._last_redraw = 0.0

        form = self._build_options(settings)
        self._build_loss_plot()
        self.strip = QLabel("validation reconstructions appear after each epoch (top: originals, bottom: reconstructions)")
        self.strip.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.strip.setMinimumHeight(170)
        self.strip.setWordWrap(True)
        self.status = QLabel("")
        self.start_btn = QPushButton("Start training")
        self.cancel_btn = QPushButton("Cancel training")
        self.cancel_btn.setEnabled(False)
        self.close_btn = QPushButton("Close")
        self._build_layout(form)

    def _build_options(self, settings) -> QFormLayout:
        """The training's settings as a form: folders, epochs, architecture, batch, learning rate, seed, options."""
        self.data = _PathRow("Folder of face images")
        self.out = _PathRow("New model folder")
        if settings is not None:
            self.data.edit.setText(str(settings.value("train/data", "") or ""))
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 1000)
        self.epochs.setValue(30)
        self.image_size = QComboBox()
        for s in (32, 64, 128):
            self.image_size.addItem(f"{s} px", s)
        self.image_size.setCurrentIndex(1)
        self.z_dim = QSpinBox()
        self.z_dim.setRange(2, 4096)
        self.z_dim.setValue(256)
        self.batch = QSpinBox()
        self.batch.setRange(1, 4096)
        self.batch.setValue(128)
        self.lr = QDoubleSpinBox()
        self.lr.setDecimals(5)
        self.lr.setRange(1e-5, 1.0)
        self.lr.setSingleStep(1e-4)
        self.lr.setValue(1e-3)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.channels = QLineEdit("32,64,128,256")
        self.channels.setToolTip("the 4 encoder channel widths")
        self.batch_norm = QCheckBox("batch normalisation")
        self.batch_norm.setChecked(True)
        self.flip = QCheckBox("horizontal-flip augmentation")
        self.flip.setChecked(True)
        self.encode = QCheckBox("encode the dataset afterwards (needed for statistics and sampling)")
        self.encode.setChecked(True)
        self.resume = QCheckBox("continue the model in that folder (resume; the architecture is the folder's own)")
        self.resume.setToolTip("for a training that was cancelled or stopped, or to train a finished model more "
                               "epochs: set epochs to the total wanted")
        self.resume.toggled.connect(self._resume_toggled)
        form = QFormLayout()
        form.addRow("dataset folder", self.data)
        form.addRow("new model folder", self.out)
        form.addRow("epochs", self.epochs)
        form.addRow("image size", self.image_size)
        form.addRow("z-dim", self.z_dim)
        form.addRow("batch size", self.batch)
        form.addRow("learning rate", self.lr)
        form.addRow("seed", self.seed)
        form.addRow("channels", self.channels)
        form.addRow("", self.batch_norm)
        form.addRow("", self.flip)
        form.addRow("", self.encode)
        form.addRow("", self.resume)
        return form

    def _build_loss_plot(self) -> None:
        """The loss plot (log scale): the running training loss, the per-epoch training and validation losses."""
        self.loss_plot = plot_widget()
        self.loss_plot.setMenuEnabled(False)
        self.loss_plot.setMinimumSize(380, 220)
        from .qt_widgets import setup_plot

        setup_plot(self.loss_plot)
        lp = self.loss_plot.getPlotItem()
        lp.setTitle("loss (MSE, log scale): the curves appear when training starts", size="9pt")
        lp.setLabel("bottom", "epoch")
        lp.setLogMode(y=True)
        lp.showGrid(x=True, y=True, alpha=0.2)
        leg = lp.addLegend(offset=(-8, 8), labelTextSize="8pt")
        leg.setBrush(pg.mkBrush(255, 255, 255, 200))
        self.batch_curve = pg.PlotDataItem(pen=ps.pen(ps.BLUE, 1, alpha=110), name="train (running)")
        self.train_curve = pg.PlotDataItem(pen=ps.pen(ps.BLUE, 2), symbol="o", symbolSize=5, symbolBrush=ps.brush(ps.BLUE),
                                           symbolPen=None, name="train (epoch)")
        self.val_curve = pg.PlotDataItem(pen=ps.pen(ps.ORANGE, 2), symbol="s", symbolSize=5, symbolBrush=ps.brush(ps.ORANGE),
                                         symbolPen=None, name="validation")
        for it in (self.batch_curve, self.train_curve, self.val_curve):
            lp.addItem(it)

    def _build_layout(self, form: QFormLayout) -> None:
        """The form beside the loss plot and preview strip; the status and buttons below."""
        right = QVBoxLayout()
        right.addWidget(self.loss_plot, 1)
        right.addWidget(self.strip)
        top = QHBoxLayout()
        top.addLayout(form)
        top.addLayout(right, 1)
        btns = QHBoxLayout()
        btns.addWidget(self.status, 1)
        btns.addWidget(self.start_btn)
        btns.addWidget(self.cancel_btn)
        btns.addWidget(self.close_btn)
        lay = QVBoxLayout(self)
        lay.addLayout(top, 1)
        lay.addLayout(btns)
        self.start_btn.clicked.connect(self.start)
        self.cancel_btn.clicked.connect(self.cancel)
        self.close_btn.clicked.connect(self.close)
        self.resize(980, 560)
        self._say_missing_torch()

    def _say_missing_torch(self) -> None:
        """Without torch (a viewer install) the dialog says in one line what to install, and Start stays off."""
        from engine.errors import extra_missing

        from .param_names import gui_text

        missing = extra_missing("torch", feature="training")
        if missing is not None:
            self.start_btn.setEnabled(False)
            self.status.setText(gui_text(missing))

    def _resume_toggled(self, on: bool) -> None:
        for w in (self.image_size, self.z_dim, self.channels, self.batch_norm):  # a resumed model keeps its own
            w.setEnabled(not on)

    # ---- running
    def options(self):
        from engine.architecture import ArchitectureConfig
        from engine.errors import EngineError
        from engine.training import TrainOptions

        try:
            channels = tuple(int(c) for c in self.channels.text().split(","))
        except ValueError:
            raise EngineError(f"channels {self.channels.text()!r}: expected 4 whole numbers like 32,64,128,256") from None
        arch = ArchitectureConfig(image_size=int(self.image_size.currentData()), z_dim=self.z_dim.value(),
                                  batch_norm=self.batch_norm.isChecked(), channels=channels)
        opts = TrainOptions(epochs=self.epochs.value(), batch_size=self.batch.value(), learning_rate=self.lr.value(),
                            seed=self.seed.value(), flip=self.flip.isChecked())
        return arch, opts

    def start(self) -> Optional[Job]:
        from engine.errors import EngineError

        data, out = self.data.text(), self.out.text()
        if not data or not out:
            self.status.setText("choose a dataset folder and a new model folder")
            return None
        resume = self.resume.isChecked()
        try:
            arch, opts = self.options()
            from engine.output_folders import check_model_output

            check_model_output(out, data=data, resume=resume, label="model folder")  # the CLI's rules, before any work
        except (EngineError, ValueError) as exc:
            self.status.setText(self._error_text(exc))
            return None
        encode = self.encode.isChecked()
        if self.settings is not None:
            self.settings.setValue("train/data", data)

        def fn(progress, cancel):
            from engine.workflows.train import train_model

            return train_model(data, out, None if resume else arch, opts, resume=resume, encode=encode,
                               progress=progress, cancel=cancel)

        self.epoch_history, self.batch_losses = [], []
        self.loss_plot.getPlotItem().setTitle("loss (MSE, log scale)", size="9pt")
        self._redraw_losses()
        self.start_btn.setEnabled(False)
        self.cancel_btn.setEnabled(True)
        self.status.setText("loading images…")
        self.job = self.bridge.submit(Job("train", fn, on_done=self._done, on_progress=self._progress,
                                          on_cancelled=self._cancelled, on_error=self._failed))
        return self.job

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel.cancel()
            self.status.setText("cancelling…")

    def _finish(self) -> None:
        self.start_btn.setEnabled(True)
        self.cancel_btn.setEnabled(False)
        self.job = None

    def _done(self, res) -> None:
        self._finish()
        self.status.setText(f"done: {res.epochs_done} epochs, validation MSE "
                            + ("—" if res.val_loss is None else f"{res.val_loss:.5f}"))
        self.model_trained.emit(str(res.folder))

    def _cancelled(self) -> None:
        self._finish()
        self.resume.setChecked(True)  # the natural next step: continue it
        self.status.setText("cancelled: the model folder keeps the last finished epoch; Start continues it (resume is ticked)")

    def _failed(self, error) -> None:
        self._finish()
        exc = getattr(error, "exc", None)  # a JobError: the exception, shown as the window names things
        self.status.setText(f"failed: {error if exc is None else self._error_text(exc)}")

    @staticmethod
    def _error_text(exc: BaseException) -> str:
        """An error as this dialog says it: a folder that holds a model points at the resume box."""
        from engine.errors import FolderHoldsModel

        from .param_names import gui_text

        if isinstance(exc, FolderHoldsModel):
            return (f"{exc.path} already holds a model: tick “continue the model in that folder” to resume it, "
                    "or choose a new folder")
        return gui_text(exc)

    def _progress(self, p) -> None:
        if p.job != "train":
            self.status.setText(f"{p.job}: {p.done}/{p.total}")
            return
        if p.epoch and p.total:
            steps_per_epoch = max(1, p.total // max(1, (p.epochs or 1)))
            x = (p.done / steps_per_epoch) if steps_per_epoch else p.epoch
            if p.loss is not None and p.event is None:
                self.batch_losses.append((x, p.loss))
        ev = p.event
        if isinstance(ev, EpochEnded):
            self.epoch_history = list(ev.history)
        elif isinstance(ev, TrainingPreview):
            self.show_preview(ev.originals, ev.reconstructions)
        eta = f", {p.eta_s:.0f} s left" if p.eta_s else ""
        loss = f", loss {p.loss:.5f}" if p.loss is not None else ""
        self.status.setText(f"epoch {p.epoch}/{p.epochs}{loss}{eta}")
        now = time.monotonic()
        if isinstance(ev, EpochEnded) or now - self._last_redraw > 0.25:  # the running curve at 4 Hz; epochs at once
            self._last_redraw = now
            self._redraw_losses()

    def _redraw_losses(self) -> None:
        if self.batch_losses:
            b = np.asarray(self.batch_losses, float)
            self.batch_curve.setData(b[:, 0], b[:, 1])
        else:
            self.batch_curve.setData([], [])
        h = self.epoch_history
        ep = np.array([r["epoch"] for r in h], float)
        self.train_curve.setData(ep, np.array([r["train_loss"] for r in h], float))
        va = np.array([np.nan if r.get("val_loss") is None else r["val_loss"] for r in h], float)
        ok = np.isfinite(va)
        self.val_curve.setData(ep[ok], va[ok])
        allv = [va[ok], np.array([r["train_loss"] for r in h], float)]
        if self.batch_losses:
            allv.append(np.asarray(self.batch_losses, float)[:, 1])
        ps.set_log_ticks(self.loss_plot.getPlotItem().getAxis("left"), np.concatenate(allv))

    def show_preview(self, originals: np.ndarray, reconstructions: np.ndarray) -> None:
        from engine.image_sets import make_grid

        k = len(originals)
        if k == 0:
            return
        strip = np.concatenate([make_grid(originals, columns=k), make_grid(reconstructions, columns=k)], axis=0)
        avail_w = max(strip.shape[1], self.strip.width() - 8)
        avail_h = max(strip.shape[0], self.strip.height() - 8)
        scale = max(1.0, min(4.0, avail_w / strip.shape[1], avail_h / strip.shape[0]))
        self.strip.setPixmap(to_pixmap(strip, int(strip.shape[1] * scale), smooth=False))
        self.strip.setToolTip("validation images: originals (top) and their reconstructions (bottom), after the last epoch")

    def closeEvent(self, ev) -> None:  # noqa: N802
        super().closeEvent(ev)
