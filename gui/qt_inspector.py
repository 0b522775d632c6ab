"""Face inspector: one face large, its z-vector, its place in the pair plot, live PCA-axis editing
(GANSpace-style sliders; decoding runs on the worker, rapid moves coalesce), attribute sliders (add a
smile, remove glasses: ``engine.attributes.attribute_direction``, amount in class-mean gaps), the
nearest training images when a dataset is open, and "save this face"."""
from __future__ import annotations

import html
from typing import Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton,
    QSizePolicy, QSlider, QVBoxLayout, QWidget,
)

from . import plot_style as ps
from .engine_bridge import EngineBridge, Job
from .qt_images import to_pixmap
from .qt_inspector_save import FaceSaving
from .qt_inspector_undo import SLIDER_STEPS, EditFollowing
from .qt_widgets import ElidedLabel, plot_widget, scrolled_body, setup_plot
from .session import Session, axis_label

PHOTO_COLOUR = (220, 20, 120)  # the user's photos: magenta stars (pair plot, components, inspector)
ATTRIBUTE_RANGE = 2.0  # attribute sliders: ± this many class-mean gaps


class FaceView(QLabel):
    """A face scaled to the label's size, nearest-pixel or smooth."""

    def __init__(self) -> None:
        super().__init__()
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(132, 132)  # a 64-pixel face at twice its size (whole multiples, less the border)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setStyleSheet("background: #f4f4f4; border: 1px solid #ccc;")
        self.image: Optional[np.ndarray] = None
        self.smooth = False
        self.placeholder = "double-click a face in the grid"  # shown without a face (kept across resizes)

    def set_image(self, image: Optional[np.ndarray]) -> None:
        self.image = None if image is None else np.asarray(image)
        self._render()

    def resizeEvent(self, ev) -> None:  # noqa: N802
        super().resizeEvent(ev)
        self._render()

    def _render(self) -> None:
        if self.image is None:
            self.setPixmap(QPixmap_empty())
            self.setText(self.placeholder)
            return
        side = max(32, min(self.width(), self.height()) - 4)
        h = self.image.shape[0]
        if not self.smooth:
            side = max(h, (side // h) * h)  # whole multiples: crisp pixels
        self.setPixmap(to_pixmap(self.image, side, self.smooth))


def QPixmap_empty():  # noqa: N802 - tiny helper
    from PySide6.QtGui import QPixmap

    return QPixmap()


class InspectorPanel(FaceSaving, EditFollowing, QWidget):
    face_saved = Signal(str)

    def __init__(self, session: Session, bridge: EngineBridge, parent=None, n_sliders: int = 8) -> None:
        super().__init__(parent)
        self.session = session
        self.bridge = bridge
        self.settings = None  # the window's QSettings (remembers where faces are saved)
        self.n_sliders = n_sliders
        self._base_t: Optional[np.ndarray] = None  # PCA coordinates of the un-edited face
        self._base_steps = np.zeros(0)  # slider positions when the face was shown
        self.decodes_submitted = 0
        self.decodes_done = 0

        self._build_face_header()
        self._build_z_plot()
        self._build_place_plot()
        self._build_pca_sliders()
        self._build_attribute_sliders()
        self._build_direction_sliders()
        self._decode_timer = QTimer(self)
        self._decode_timer.setSingleShot(True)
        self._decode_timer.setInterval(30)
        self._decode_timer.timeout.connect(self._submit_decode)
        self._block = False
        self._build_nearest()
        from .qt_before_after import BeforeAfter

        self.before_after = BeforeAfter(self, FaceView)  # the Before / Side-by-side buttons, B
        self._build_layout()
        self._connect(session)
        self.before_after.follow(session)
        self._model_changed()
        self._stats_changed()

    # ---- building the panel
    def _build_face_header(self) -> None:
        """The face, its title, the zoom choice and the save and reset buttons."""
        self.face = FaceView()
        self.title = ElidedLabel("no face selected")
        self.title.setStyleSheet("font-weight: bold;")
        self.zoom = QComboBox()
        self.zoom.addItems(["nearest pixels", "smooth"])
        self.zoom.currentIndexChanged.connect(self._zoom_changed)
        self.save_btn = QPushButton("Save this face…")
        self.save_btn.clicked.connect(self.save_dialog)
        self.reset_btn = QPushButton("reset edits")
        self.reset_btn.clicked.connect(self.reset_sliders)

    def _build_z_plot(self) -> None:
        """The z-vector as bars over the training mean ± 2 std band."""
        self.z_plot = plot_widget()
        self.z_plot.setMenuEnabled(False)
        self.z_plot.setMinimumHeight(120)
        zp = self.z_plot.getPlotItem()
        zp.setTitle("z-vector (bars) vs training mean ± 2 std", size="8pt")
        zp.setLabel("bottom", "component")
        self.band_hi = pg.PlotCurveItem(pen=ps.pen((150, 150, 150), 1))
        self.band_lo = pg.PlotCurveItem(pen=ps.pen((150, 150, 150), 1))
        self.band = pg.FillBetweenItem(self.band_lo, self.band_hi, brush=pg.mkBrush(150, 150, 150, 70))
        self.z_bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush=ps.brush(ps.ORANGE, 220), pen=None)
        for it in (self.band_lo, self.band_hi, self.band, self.z_bars):
            zp.addItem(it)
        setup_plot(self.z_plot)

    def _build_place_plot(self) -> None:
        """The face's place in the pair plot's axes: the cloud, the face and its edit."""
        self.place_plot = plot_widget()
        self.place_plot.setMenuEnabled(False)
        self.place_plot.setMinimumSize(160, 140)
        pp = self.place_plot.getPlotItem()
        self.place_cloud = pg.ScatterPlotItem(size=2, pen=None, brush=ps.brush(ps.TRAIN, 60))
        self.place_face = pg.ScatterPlotItem(size=14, pen=ps.pen((0, 0, 0), 1), brush=ps.brush(ps.ORANGE))
        self.place_edit = pg.ScatterPlotItem(size=12, symbol="d", pen=ps.pen((0, 0, 0), 1), brush=ps.brush(ps.EDITED))
        for it in (self.place_cloud, self.place_face, self.place_edit):
            pp.addItem(it)
        setup_plot(self.place_plot)

    def _build_pca_sliders(self) -> None:
        """One slider per leading principal axis (±3σ)."""
        self.sliders_box = QGroupBox("edit along principal axes (±3σ)")
        self.sliders_box.setToolTip("PC1: where the faces differ most, PC2 next …; σ: their standard deviation along it")
        self.sliders_grid = QGridLayout(self.sliders_box)
        self.sliders_grid.setVerticalSpacing(1)
        self.sliders: list[QSlider] = []
        self.slider_labels: list[QLabel] = []
        for k in range(self.n_sliders):
            s = QSlider(Qt.Orientation.Horizontal)
            s.setRange(-3 * SLIDER_STEPS, 3 * SLIDER_STEPS)
            s.setObjectName(f"pcSlider{k}")
            s.valueChanged.connect(self._slider_moved)
            s.sliderReleased.connect(self.session.end_step)  # one drag, one undo step
            lab = QLabel("")
            lab.setMinimumWidth(48)
            self.sliders_grid.addWidget(QLabel(f"PC{k + 1}"), k, 0)
            self.sliders_grid.addWidget(s, k, 1)
            self.sliders_grid.addWidget(lab, k, 2)
            self.sliders.append(s)
            self.slider_labels.append(lab)

    def _build_attribute_sliders(self) -> None:
        """The attribute picker; one slider per chosen attribute (amount in class-mean gaps)."""
        self.attr_box = QGroupBox("attributes (1 = with − without)")
        self.attr_box.setToolTip("amount 1 = the average difference between faces with and without the attribute")
        self.attr_box.setObjectName("attributeSlidersBox")
        self.attr_grid = QGridLayout(self.attr_box)
        self.attr_grid.setVerticalSpacing(1)
        self.attr_pick = QComboBox()
        self.attr_pick.setObjectName("attributePick")
        self.attr_pick.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.attr_pick.setMinimumContentsLength(8)
        self.attr_pick.setToolTip("an attribute of the model's labels.csv (its direction: a linear classifier's)")
        self.attr_add = QPushButton("add slider")
        self.attr_add.clicked.connect(lambda: self.add_attribute_slider(self.attr_pick.currentText()))
        self.attr_status = QLabel("")
        self.attr_status.setStyleSheet("color: #666;")
        add_row = QHBoxLayout()
        add_row.addWidget(self.attr_pick, 1)
        add_row.addWidget(self.attr_add)
        self.attr_grid.addLayout(add_row, 0, 0, 1, 4)
        self.attr_grid.addWidget(self.attr_status, 1, 0, 1, 4)
        self.attribute_sliders: dict[str, QSlider] = {}
        self._attr_rows: dict[str, list[QWidget]] = {}
        self._directions: dict[str, object] = {}  # name -> engine AttributeDirection (this model)
        self._direction_jobs: dict[str, Job] = {}

    def _build_direction_sliders(self) -> None:
        """Sliders along the Directions panel's directions (engine.directions.Direction, amount in σ)."""
        self.dir_box = QGroupBox("directions (in σ of the cloud)")
        self.dir_box.setObjectName("directionSlidersBox")
        self.dir_grid = QGridLayout(self.dir_box)
        self.dir_grid.setVerticalSpacing(1)
        self.dir_box.hide()
        self.direction_sliders: dict[str, tuple] = {}  # key -> (Direction, QSlider)
        self._dir_rows: dict[str, list[QWidget]] = {}

    def _build_nearest(self) -> None:
        """The nearest training images in z."""
        self.near_box = QGroupBox("nearest training images in z")
        self.near_box.setObjectName("nearestBox")
        near_lay = QVBoxLayout(self.near_box)
        near_lay.setContentsMargins(4, 4, 4, 4)
        # one elided line (a word-wrapped label would make the scroll area size itself by height-for-width)
        self.near_note = ElidedLabel("open a dataset (File ▸ Open dataset folder) to see them")
        self.near_note.setObjectName("nearestNote")
        self.near_note.setStyleSheet("color: #555;")
        near_lay.addWidget(self.near_note)
        self.near_row = QHBoxLayout()
        near_lay.addLayout(self.near_row)
        self.near_row.setSpacing(4)
        self.near_labels: list[QLabel] = []
        self.near_count = 6
        for _ in range(self.near_count):
            lab = QLabel()
            lab.setAlignment(Qt.AlignmentFlag.AlignCenter)
            lab.setMinimumSize(40, 48)
            self.near_row.addWidget(lab)
            self.near_labels.append(lab)

    def _build_layout(self) -> None:
        """Header, face and side column (place plot, sliders), z-vector, nearest images: in one scroll area."""
        # (no FlowLayout in here: a height-for-width layout makes the scroll area as tall as its size hints)
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.zoom)
        head.addWidget(self.reset_btn)
        head.addWidget(self.save_btn)
        upper = QHBoxLayout()
        upper.addLayout(self.before_after.face_column(self.face), 3)  # the face; Before, Side by side below it
        side = QVBoxLayout()
        side.addWidget(self.place_plot, 1)
        side.addWidget(self.sliders_box, 0)
        side.addWidget(self.attr_box, 0)
        side.addWidget(self.dir_box, 0)
        upper.addLayout(side, 2)
        scrolled_body(self, head, (upper, 3), (self.z_plot, 1), self.near_box)

    def _connect(self, session: Session) -> None:
        """The session's signals."""
        session.selection_changed.connect(self.show_current)
        session.probe_changed.connect(self._probe_dropped)
        session.sample_changed.connect(self.show_current)
        session.stats_changed.connect(self._stats_changed)
        session.axes_changed.connect(self._draw_place)
        session.dataset_changed.connect(self._draw_nearest)
        session.model_changed.connect(self._model_changed)
        session.edited_changed.connect(self._edited_from_session)

    # ---- showing a face
    def _zoom_changed(self) -> None:
        self.face.smooth = self.zoom.currentIndex() == 1
        self.face._render()

    def _stats_changed(self) -> None:
        st = self.session.stats
        if st is None:  # no statistics (another model without z-points): no band of the previous model
            self.band_lo.setData([], [])
            self.band_hi.setData([], [])
        if st is not None:
            mean, std = np.asarray(st.mean, float), np.asarray(st.std, float)
            x = np.arange(len(mean), dtype=float)
            self.band_lo.setData(x, mean - 2 * std)
            self.band_hi.setData(x, mean + 2 * std)
            rng = np.random.default_rng(1)
            z = self.session.latents
            if z is not None:
                self._place_idx = np.sort(rng.choice(len(z), size=min(len(z), 2000), replace=False))
        self.show_current()

    def show_current(self) -> None:
        s = self.session
        z = s.base_z()
        if z is None:
            self.face.set_image(None)
            self.title.setText("no face selected")
            self.z_bars.setOpts(x=[], height=[])
            self._base_t = None
            self._set_sliders(None)
            self._draw_place()
            self._draw_nearest()
            return
        ph = s.inspected_photo()
        if ph is not None:
            r = ph.result
            self.title.setText(f"your photo {ph.name} · reconstruction · {r.verdict} ({r.percentile:.0f} %)")
        else:
            self.title.setText(f"face #{s.current} of {len(s.sample.z)} · {s.sample.params.get('sampler')} · seed {s.sample.params.get('seed')}")
        shown_z = s.current_z()
        if s.edited_z is None:
            self.face.set_image(s.base_image())
            self._base_t = self._pca_coords(z)
            self._set_sliders(self._base_t)
        self._draw_z(shown_z)
        self._draw_place()
        self._draw_nearest()

    def _pca_coords(self, z: np.ndarray) -> Optional[np.ndarray]:
        st = self.session.stats
        if st is None:
            return None
        return np.asarray(st.pca.transform(np.asarray(z, float)[None, :]), float)[0]

    def _sigmas(self) -> np.ndarray:
        from engine.latent_stats import pca_sigmas

        return pca_sigmas(self.session.stats)

    def _set_sliders(self, t: Optional[np.ndarray], at: Optional[np.ndarray] = None) -> None:
        """The sliders for a face whose principal coordinates are ``t`` (their base), placed at ``at`` (default
        ``t``: un-edited); attribute and direction sliders back to 0."""
        self._block = True
        for name, sl in self.attribute_sliders.items():  # a newly shown face starts un-edited
            sl.setValue(0)
            self._attr_label(name).setText("+0.00")
            sl.setEnabled(t is not None)
        for key, (_d, sl) in self.direction_sliders.items():
            sl.setValue(0)
            self._dir_rows[key][2].setText("+0.00σ")
            sl.setEnabled(t is not None)
        k_max = 0 if t is None else min(self.n_sliders, len(t))
        self._base_steps = np.zeros(k_max)
        sig = self._sigmas() if t is not None else None
        for k, (s, lab) in enumerate(zip(self.sliders, self.slider_labels)):
            s.setEnabled(k < k_max)
            if k < k_max:
                self._base_steps[k] = int(round(np.clip(t[k] / sig[k], -3, 3) * SLIDER_STEPS))
                v = (t if at is None else at)[k] / sig[k]
                s.setValue(int(round(np.clip(v, -3, 3) * SLIDER_STEPS)))
                lab.setText(f"{v:+.2f}σ")
            else:
                s.setValue(0)
                lab.setText("")
        self._block = False

    def _draw_z(self, z: Optional[np.ndarray]) -> None:
        if z is None:
            self.z_bars.setOpts(x=[], height=[])
            return
        self.z_bars.setOpts(x=np.arange(len(z)), height=np.asarray(z, float), width=0.8)

    def _draw_place(self) -> None:
        s = self.session
        pp = self.place_plot.getPlotItem()
        if s.stats is None or s.latents is None:
            self._place_drawn = None
            self.place_cloud.setData([], [])
            self.place_face.setData([], [])
            self.place_edit.setData([], [])
            return
        from engine.latent_stats import project

        ax = s.axes
        pp.setTitle(f"{axis_label(ax[0])} × {axis_label(ax[1])}", size="8pt")
        idx = getattr(self, "_place_idx", None)
        was = getattr(self, "_place_drawn", None)  # the cloud is redrawn only when it changed
        if was is None or was[0] is not s.latents or was[1] is not s.stats or was[2] != ax or was[3] is not idx:
            cloud = s.latents if idx is None else s.latents[idx]
            self.place_cloud.setData(pos=np.asarray(project(cloud, s.stats, ax), float))
            self._place_drawn = (s.latents, s.stats, ax, idx)
        base = s.base_z()
        if base is not None:
            photo = s.inspected_photo() is not None
            self.place_face.setData(pos=np.asarray(project(np.asarray(base)[None, :], s.stats, ax), float),
                                    symbol="star" if photo else "o", size=18 if photo else 14,
                                    brush=ps.brush(PHOTO_COLOUR if photo else ps.ORANGE))
        else:
            self.place_face.setData([], [])
        if s.edited_z is not None:
            self.place_edit.setData(pos=np.asarray(project(s.edited_z[None, :], s.stats, ax), float))
        else:
            self.place_edit.setData([], [])

    def _draw_nearest(self) -> None:
        s = self.session
        z = s.current_z()
        ds = s.dataset
        files = s.model.latent_files if s.model is not None else []
        for lab in self.near_labels:
            lab.clear()
        if z is None or ds is None or s.latents is None:
            self.near_note.setText("open a dataset (File ▸ Open dataset folder) to see them" if ds is None else "")
            return
        # the nearest among all the model's z-points (not only those whose image is open): the same face gets
        # the same neighbours whichever folder is open; a neighbour whose image is missing says so. The search
        # runs on the worker (a pass over every z-point); the newest request replaces an older one.
        latents, count = s.latents, self.near_count

        def fn(progress, cancel):
            from engine.latent_stats import nearest_points

            return nearest_points(latents, np.asarray(z, np.float32), count)

        def done(found):
            if self.session.latents is latents and self.session.dataset is ds:
                self._show_nearest(*found, files, ds)

        self.bridge.submit(Job("nearest faces", fn, on_done=done, key="inspector-nearest", quiet=True))

    def _show_nearest(self, order: np.ndarray, dist: np.ndarray, files: list, ds) -> None:
        from engine.image_data import name_problem, printable_name

        s = self.session
        index = {f: i for i, f in enumerate(ds.files)}  # stored names are plain file names of the folder
        d = dict(zip(order.tolist(), dist.tolist()))
        k = len(order)
        missing = 0
        for lab, i in zip(self.near_labels, order):
            name = files[i] if i < len(files) and name_problem(files[i]) is None else f"z-point {i}"
            shown = html.escape(printable_name(name))  # a stranger's names are text, never rich text
            if name in index:
                lab.setPixmap(to_pixmap(np.asarray(ds.images[index[name]]), 72, True))
                lab.setToolTip(f"{name}\n‖z − z_train‖ = {d[i]:.3f}")
            else:
                missing += 1
                lab.setText(f"<small>{shown}<br><i>not in the<br>open folder</i></small>")
                lab.setToolTip(f"{name}: not in {getattr(ds, 'folder', 'the open folder')}\n‖z − z_train‖ = {d[i]:.3f}")
        total = len(s.latents)
        absent = sum(1 for f in files if f not in index)
        note = f"the {k} nearest of all {total:,} z-points"
        if missing:
            note += f"; {missing} of them not in the open folder"
        if absent:
            note += f" (it lacks {absent:,} of the model's {total:,} images)"
        self.near_note.setText(note)

    # ---- live PCA editing
    def slider_values(self) -> np.ndarray:
        return np.array([s.value() / SLIDER_STEPS for s in self.sliders])

    def _slider_moved(self, *_) -> None:
        if self._block or self._base_t is None:
            return
        moved = self.sender()
        if isinstance(moved, QSlider):  # the undo step's name: "PC3 to +1.20σ"
            name = self.slider_name(moved)
            self._edit_label = f"{name} to {moved.value() / SLIDER_STEPS:+.2f}{'' if name in self.attribute_sliders else 'σ'}"
        for s, lab in zip(self.sliders, self.slider_labels):
            if s.isEnabled():
                lab.setText(f"{s.value() / SLIDER_STEPS:+.2f}σ")
        for name, sl in self.attribute_sliders.items():
            self._attr_label(name).setText(f"{sl.value() / SLIDER_STEPS:+.2f}")
        for key, (_d, sl) in self.direction_sliders.items():
            self._dir_rows[key][2].setText(f"{sl.value() / SLIDER_STEPS:+.2f}σ")
        self._decode_timer.start()

    # ---- attribute sliders
    def _model_changed(self) -> None:
        from .qt_widgets import reset_view

        for plot in (self.z_plot, self.place_plot):  # a zoom of the previous model's plots does not carry over
            reset_view(plot)
        for name in list(self.attribute_sliders):
            self.remove_attribute_slider(name)
        for key in list(self.direction_sliders):
            self.remove_direction_slider(key)
        for job in self._direction_jobs.values():
            job.cancel.cancel()
        self._direction_jobs = {}
        self._directions = {}
        self.attr_pick.clear()
        labels = self.session.labels
        names = list(labels.names) if labels is not None else []
        self.attr_pick.addItems(names)
        self.attr_pick.setEnabled(bool(names))
        self.attr_add.setEnabled(bool(names))
        self.attr_status.setText("" if names else "the model has no labels.csv")
        self.attr_box.setVisible(self.session.model is None or bool(names))

    def attribute_amounts(self) -> dict[str, float]:
        return {n: sl.value() / SLIDER_STEPS for n, sl in self.attribute_sliders.items()}

    def _attr_label(self, name: str) -> QLabel:
        return self._attr_rows[name][2]

    def add_attribute_slider(self, name: str) -> Optional[Job]:
        """Add a slider for attribute ``name``: its direction is fitted on the worker, then the row appears."""
        s = self.session
        labels = s.labels
        if not name or labels is None or s.latents is None or name not in labels.names:
            return None
        if name in self.attribute_sliders or name in self._direction_jobs:
            return self._direction_jobs.get(name)
        if name in self._directions:
            self._add_row(name)
            return None
        z, model_folder = s.latents, s.model.folder

        def fn(progress, cancel):
            from engine.attributes import DEFAULT_EDIT_METHOD, attribute_direction

            return attribute_direction(z, labels, name, DEFAULT_EDIT_METHOD)

        def done(direction):
            self._direction_jobs.pop(name, None)
            if self.session.model is None or self.session.model.folder != model_folder:
                return
            self._directions[name] = direction
            self._add_row(name)
            self.attr_status.setText("")

        def failed(msg):
            self._direction_jobs.pop(name, None)
            self.attr_status.setText(msg)

        self.attr_status.setText(f"fitting the {name} direction …")
        job = Job(f"attribute direction ({name})", fn, on_done=done, on_error=failed,
                  on_cancelled=lambda: self._direction_jobs.pop(name, None))
        self._direction_jobs[name] = job
        return self.bridge.submit(job)

    def _slider_row(self, grid, object_name: str, span: float, tip: str, name_lab, zero: str, remove) -> list:
        """One edit row (name, slider of ±``span`` amounts, value, ×) appended to ``grid``; the row's widgets."""
        sl = QSlider(Qt.Orientation.Horizontal)
        sl.setObjectName(object_name)
        sl.setRange(int(-span * SLIDER_STEPS), int(span * SLIDER_STEPS))
        sl.setToolTip(tip)
        sl.setEnabled(self._base_t is not None)
        sl.valueChanged.connect(self._slider_moved)
        sl.sliderReleased.connect(self.session.end_step)
        name_lab.setToolTip(tip)
        val = QLabel(zero)
        val.setMinimumWidth(48)
        rm = QPushButton("×")
        rm.setFixedWidth(24)
        rm.setToolTip(f"remove the {name_lab.text()} slider")
        rm.clicked.connect(remove)
        r = grid.rowCount()
        row = [name_lab, sl, val, rm]
        for c, w in enumerate(row):
            grid.addWidget(w, r, c)
        return row

    def _add_row(self, name: str) -> None:
        d = self._directions[name]
        tip = (f"{name}: right = more, left = less (the {d.method} direction; amount 1 = the average difference between "
               f"the {d.n_present} faces with it and the {d.n_absent} without it, {d.step:.2f} in z)")
        row = self._slider_row(self.attr_grid, f"attributeSlider-{name}", ATTRIBUTE_RANGE, tip, QLabel(name), "+0.00",
                               lambda: self.remove_attribute_slider(name))
        self.attribute_sliders[name] = row[1]
        self._attr_rows[name] = row

    def remove_attribute_slider(self, name: str) -> None:
        sl = self.attribute_sliders.pop(name, None)
        if sl is None:
            return
        moved = sl.value() != 0
        for w in self._attr_rows.pop(name):
            self.attr_grid.removeWidget(w)
            w.deleteLater()
        if moved and self._base_t is not None:
            self._decode_timer.start()

    # ---- direction sliders (the Directions panel's "add as inspector slider")
    def add_direction_slider(self, d, key: Optional[str] = None) -> str:
        """A slider along ``d`` (engine.directions.Direction): ``d.apply(z, amount)``, amount in σ (±3)."""
        key = key or d.name
        if key in self.direction_sliders:
            return key
        tip = f"{d.name} ({d.method}): amount 1 = one σ of the cloud along it ({d.sigma:.3f} in z)"
        if d.label:
            tip += f"\nmoves most: {d.label}"
        name_lab = ElidedLabel(d.name)
        name_lab.setMinimumWidth(60)
        row = self._slider_row(self.dir_grid, f"directionSlider-{key}", 3, tip, name_lab, "+0.00σ",
                               lambda: self.remove_direction_slider(key))
        self.direction_sliders[key] = (d, row[1])
        self._dir_rows[key] = row
        self.dir_box.show()
        return key

    def remove_direction_slider(self, key: str) -> None:
        entry = self.direction_sliders.pop(key, None)
        if entry is None:
            return
        moved = entry[1].value() != 0
        for w in self._dir_rows.pop(key):
            self.dir_grid.removeWidget(w)
            w.deleteLater()
        self.dir_box.setVisible(bool(self.direction_sliders))
        if moved and self._base_t is not None:
            self._decode_timer.start()

    def edited_vector(self) -> Optional[np.ndarray]:
        s = self.session
        base = s.base_z()
        if self._base_t is None or base is None or s.stats is None:
            return None
        z0 = np.asarray(base, float)
        k = len(self._base_steps)
        from engine.latent_stats import move_along_pcs

        # move by what each slider moved since the face was shown (an unmoved slider changes nothing)
        z = move_along_pcs(z0, s.stats, (self.slider_values()[:k] * SLIDER_STEPS - self._base_steps) / SLIDER_STEPS)
        for name, amount in self.attribute_amounts().items():
            d = self._directions.get(name)
            if d is not None and amount:
                z = np.asarray(d.apply(z, amount), float)
        for key, (d, sl) in self.direction_sliders.items():
            amount = sl.value() / SLIDER_STEPS
            if amount:
                z = np.asarray(d.apply(z, amount), float)  # engine.directions.Direction: amount in σ
        return z.astype(np.float32)

    def _submit_decode(self) -> None:
        z = self.edited_vector()
        s = self.session
        if z is None or s.model is None:
            return
        codec = s.model.codec
        face_index = s.focus()

        def fn(progress, cancel):
            return codec.decode(z[None, :], cancel=cancel)[0]

        def done(img):
            self.decodes_done += 1
            if self.session.focus() != face_index:
                return
            self.face.set_image(img)
            self._set_edit(z, getattr(self, "_edit_label", None))
            self._draw_z(z)
            self._draw_place()
            self._draw_nearest()

        self.decodes_submitted += 1
        self.bridge.submit(Job("edit face", fn, on_done=done, key="inspector-decode", quiet=True))

    def _probe_dropped(self) -> None:
        """A point decoded in a plot (Alt+click) dropped here: shown as the inspected face moved to that z
        (its marker follows in the plots; "reset edits" goes back; Save this face writes it)."""
        p = self.session.probe
        if p is None or p.image is None or self.session.base_z() is None:
            return
        z = np.asarray(p.z, np.float32)
        self.face.set_image(p.image)
        self._set_edit(z, "Show the dropped point")
        self.title.setText(f"point dropped from the plot · Mahalanobis {p.mahalanobis:.2f}")
        self._draw_z(z)
        self._draw_place()
        self._draw_nearest()

    def reset_sliders(self) -> None:
        if self._base_t is None:
            return
        self._set_edit(None)
        self.show_current()


    def clear_model_state(self) -> None:
        """Another model (``Session.model_reset``): the z-vector and place plots empty, as in a new window."""
        from .qt_widgets import empty_plot

        self._place_idx = None
        empty_plot(self.z_plot)
        empty_plot(self.place_plot, title=True)  # "PC1 × PC2": the axes of the previous cloud
