"""Model & data panel: what the open model is (architecture, z-dim, z-points, losses) and which
dataset is open, with the actions that change them."""
from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from . import plot_style as ps
from .session import Session
from .qt_widgets import plot_widget, setup_plot


class ModelDataPanel(QWidget):
    open_model_requested = Signal()
    open_dataset_requested = Signal()
    train_requested = Signal()
    encode_requested = Signal()

    def __init__(self, session: Session, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.model_label = QLabel("no model open")
        self.model_label.setWordWrap(True)
        self.model_label.setTextFormat(self.model_label.textFormat().RichText)
        self.data_label = QLabel("no dataset open")
        self.data_label.setWordWrap(True)
        self.loss_plot = plot_widget()
        setup_plot(self.loss_plot)  # the wheel rule and the reset button of every plot
        self.loss_plot.setMinimumHeight(110)
        lp = self.loss_plot.getPlotItem()
        lp.setTitle("training history (MSE)", size="8pt")
        lp.setLabel("bottom", "epoch")
        lp.setLogMode(y=True)
        lp.showGrid(y=True, alpha=0.2)
        self.train_curve = pg.PlotDataItem(pen=ps.pen(ps.BLUE, 2), name="train")
        self.val_curve = pg.PlotDataItem(pen=ps.pen(ps.ORANGE, 2), name="validation")
        leg = lp.addLegend(offset=(-8, 8), labelTextSize="8pt")
        leg.setBrush(pg.mkBrush(255, 255, 255, 200))
        lp.addItem(self.train_curve)
        lp.addItem(self.val_curve)

        self.open_model_btn = QPushButton("Open model…")
        self.open_data_btn = QPushButton("Open dataset…")
        self.train_btn = QPushButton("Train new…")
        self.encode_btn = QPushButton("Encode dataset…")
        self.encode_btn.setToolTip("choose a folder of face images and encode it with this model into its z-points "
                                   "(latents.npy); asks first when that replaces z-points")
        grid = QGridLayout()
        grid.addWidget(self.open_model_btn, 0, 0)
        grid.addWidget(self.open_data_btn, 0, 1)
        grid.addWidget(self.train_btn, 1, 0)
        grid.addWidget(self.encode_btn, 1, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.model_label)
        lay.addWidget(self.loss_plot, 1)
        lay.addWidget(self.data_label)
        lay.addLayout(grid)

        self.open_model_btn.clicked.connect(self.open_model_requested)
        self.open_data_btn.clicked.connect(self.open_dataset_requested)
        self.train_btn.clicked.connect(self.train_requested)
        self.encode_btn.clicked.connect(self.encode_requested)
        session.model_changed.connect(self.refresh)
        session.dataset_changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        s = self.session
        m = s.model
        if m is None:
            self.model_label.setText("<b>no model open</b><br>File ▸ Open model folder…, or train a new one.")
            self.train_curve.setData([], [])
            self.val_curve.setData([], [])
        else:
            facts = m.config.facts  # typed: a damaged training record never breaks the panel
            last = facts.last
            n = "none — encode a dataset" if m.latents is None else f"{len(m.latents):,}"

            def num(v, fmt=""):
                return "?" if v is None else format(v, fmt)

            def breakable(text: str) -> str:  # a long path may wrap after any '/' or '-' (the column stays narrow)
                return html.escape(text).replace("/", "/\u200b").replace("-", "-\u200b")

            rows = [("folder", breakable(str(m.folder)))]
            rows += [(k, breakable(v)) for k, v in m.codec.describe()]  # what the model's format says of itself
            rows += [
                ("z-points", n),
                ("training", f"{num(facts.epochs_done)} epochs on {num(facts.train_images)} images"
                 if facts.present else "no training record"),
                ("loss (MSE)", f"train {num(last.train_loss, '.5f')}, val "
                 + ("—" if last.val_loss is None else f"{last.val_loss:.5f}") if last else "—"),
            ]
            self.model_label.setText(
                f"<b>{html.escape(m.folder.name)}</b><table>"
                + "".join(f"<tr><td style='color:#555;padding-right:6px'>{k}</td><td>{v}</td></tr>" for k, v in rows)
                + "</table>"
            )
            hist = facts.history
            ep = np.array([h.epoch for h in hist], float)
            tr = np.array([np.nan if h.train_loss is None else h.train_loss for h in hist], float)
            va = np.array([np.nan if h.val_loss is None else h.val_loss for h in hist], float)
            ok_tr = np.isfinite(tr) & (tr > 0)  # a log-scale plot
            self.train_curve.setData(ep[ok_tr], tr[ok_tr])
            ok = np.isfinite(va) & (va > 0)
            self.val_curve.setData(ep[ok], va[ok])
            ps.set_log_ticks(self.loss_plot.getPlotItem().getAxis("left"), np.concatenate([tr[ok_tr], va[ok]]))
        # no training record (an imported model): no empty plot with meaningless ticks
        self.loss_plot.setVisible(m is not None and bool(m.config.facts.history))
        ds = s.dataset
        if ds is None:
            self.data_label.setText("<b>dataset:</b> none open (File ▸ Open dataset folder… shows nearest training images)")
        else:
            self.data_label.setText(f"<b>dataset:</b> {html.escape(str(ds.folder))} — {len(ds):,} images")
        self.encode_btn.setEnabled(m is not None)
