"""Your own photo (issue 15): the photo with the detected face marked, the aligned crop beside its
reconstruction, where the face sits in the training cloud (Mahalanobis percentile and verdict) and its
nearest training faces.

Everything here is drawn from an ``engine.photo.PhotoResult`` (File ▸ Open photo… runs
``frame_and_encode_photos`` on the worker); the face itself joins the session (``session.photos``): a
magenta star in the pair plot and the components plot, and "Inspect & edit" shows it in the inspector,
whose PCA, attribute and direction sliders edit it live.
"""
from __future__ import annotations

import html
from typing import Optional

import numpy as np
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton, QSizePolicy,
    QVBoxLayout, QWidget,
)

from .param_names import control_name
from .qt_images import to_pixmap
from .qt_inspector import PHOTO_COLOUR, FaceView
from .qt_widgets import ElidedLabel, flow, row, scrolled_body
from .session import PhotoEntry, Session

#: Image files File ▸ Open photo… and drag & drop accept.
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".ppm", ".pgm")
PHOTO_FILTER = "Photos (" + " ".join(f"*{s}" for s in PHOTO_SUFFIXES) + ");;All files (*)"
VERDICT_COLOURS = {"typical": "#2a7d2a", "unusual": "#b36b00", "outside the 3σ ellipsoid": "#b00020"}


def is_photo_path(path: str) -> bool:
    return str(path).lower().endswith(PHOTO_SUFFIXES)


def _to_work(pts, scale: float) -> np.ndarray:
    """Full-size photo pixels → pixels of the working copy (engine.photo.result_picture's convention)."""
    return (np.asarray(pts, float) + 0.5) * scale - 0.5


class PhotoView(QLabel):
    """The photo (working copy) scaled to the label, with every face found outlined (the chosen one
    bold, numbered by size), the detected eyes, where the framing puts the eyes, and the crop."""

    def __init__(self) -> None:
        super().__init__()
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)  # the empty state's text wraps in a narrow dock (it was cut off on both sides)
        self.setMargin(6)
        self.setMinimumSize(160, 140)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setStyleSheet("background: #f4f4f4; border: 1px solid #ccc;")
        self.entry: Optional[PhotoEntry] = None
        self.crop_outline: Optional[np.ndarray] = None  # 4×2 working-copy pixels
        self.after: Optional[np.ndarray] = None  # the photo with the face put back (shown instead, unmarked)

    def set_after(self, picture: Optional[np.ndarray]) -> None:
        """Show ``picture`` (the photo with the face put back) instead of the marked photo; None: the photo again."""
        self.after = picture
        self._render()

    def set_entry(self, entry: Optional[PhotoEntry]) -> None:
        self.entry = entry
        self.crop_outline = None
        if entry is not None and entry.result.photo is not None:
            from engine import face_framing as ff

            r = entry.result
            s = r.aligned.shape[0]
            corners = [[-0.5, -0.5], [s - 0.5, -0.5], [s - 0.5, s - 0.5], [-0.5, s - 0.5]]
            self.crop_outline = _to_work(ff.apply(ff.invert(r.transform), corners), r.photo_scale)
        self._render()

    def resizeEvent(self, ev) -> None:  # noqa: N802
        super().resizeEvent(ev)
        self._render()

    def _render(self) -> None:
        e = self.entry
        if e is None or e.result.photo is None:
            self.setPixmap(QPixmap())
            self.setText("No photo yet: click Open photo… above, or drop an image file on the window" if e is None else
                         "The photo itself is not kept in the session: its aligned crop, reconstruction and "
                         "place in the cloud are shown beside it")
            return
        r = e.result
        if self.after is not None:  # "after": the picture alone, no marks (they would hide what changed)
            h, w = self.after.shape[:2]
            f = max(1e-6, min((self.width() - 4) / w, (self.height() - 4) / h))
            self.setPixmap(to_pixmap(np.ascontiguousarray(self.after), max(8, int(round(max(w, h) * f))), True))
            return
        img = np.ascontiguousarray(r.photo)
        h, w = img.shape[:2]
        f = max(1e-6, min((self.width() - 4) / w, (self.height() - 4) / h))
        pm = to_pixmap(img, max(8, int(round(max(w, h) * f))), True)
        f = pm.width() / w  # the scale actually drawn
        p = QPainter(pm)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)

        def poly(pts, colour, width, style=Qt.PenStyle.SolidLine):
            pen = QPen(QColor(*colour), width)
            pen.setStyle(style)
            p.setPen(pen)
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawPolygon(QPolygonF([QPointF((x + 0.5) * f, (y + 0.5) * f) for x, y in pts]))

        chosen = r.face_index if r.face_index is not None else -1
        font = QFont(p.font())
        font.setBold(True)
        p.setFont(font)
        for k, corners in enumerate(e.faces):
            if k == chosen:
                continue
            poly(corners, (200, 200, 200), 1.5, Qt.PenStyle.DashLine)
            x, y = np.asarray(corners)[0]
            p.drawText(QPointF((x + 0.5) * f + 3, (y + 0.5) * f + 14), str(k + 1))
        if self.crop_outline is not None:
            poly(self.crop_outline, (40, 200, 40), 1.5)
        if r.face_box is not None:
            box = _to_work(r.face_box, r.photo_scale)
            poly(box, (255, 200, 0), 2.5)
            if len(e.faces) > 1:
                x, y = box[0]
                p.setPen(QPen(QColor(255, 200, 0)))
                p.drawText(QPointF((x + 0.5) * f + 3, (y + 0.5) * f + 14), str(chosen + 1))
        if r.detected_eyes is not None:
            p.setPen(QPen(QColor(0, 0, 0), 1))
            p.setBrush(QColor(0, 230, 255))
            for x, y in _to_work(r.detected_eyes, r.photo_scale):
                p.drawEllipse(QPointF((x + 0.5) * f, (y + 0.5) * f), 3.5, 3.5)
        p.setPen(QPen(QColor(*PHOTO_COLOUR), 2))
        for x, y in _to_work(np.array(list(r.landmarks.values())), r.photo_scale):
            cx, cy = (x + 0.5) * f, (y + 0.5) * f
            p.drawLine(QPointF(cx - 6, cy), QPointF(cx + 6, cy))
            p.drawLine(QPointF(cx, cy - 6), QPointF(cx, cy + 6))
        p.end()
        self.setPixmap(pm)


def _miss_controls() -> tuple[QPushButton, QLabel]:
    """After "no face found": the retry button and what to do about it in this panel (hidden until then)."""
    retry = QPushButton("Frame the centre square instead")
    retry.setObjectName("photoRetry")
    retry.setToolTip("no face was found: encode the centre square of the whole photo")
    retry.hide()
    note = QLabel("")
    note.setObjectName("photoMissNote")
    note.setWordWrap(True)
    note.setStyleSheet("color: #b00020;")
    note.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    note.hide()
    return retry, note


def _nearest_box() -> tuple[QGroupBox, list[QLabel], list[ElidedLabel]]:
    """The nearest training faces: six pictures, each with its file name under it."""
    box = QGroupBox("nearest training faces in z")
    lay = QGridLayout(box)
    lay.setContentsMargins(4, 2, 4, 2)
    lay.setHorizontalSpacing(4)
    lay.setVerticalSpacing(0)
    pics, names = [], []
    for k in range(6):
        pic = QLabel()
        pic.setAlignment(Qt.AlignmentFlag.AlignCenter)
        pic.setMinimumSize(36, 36)
        name = ElidedLabel("")
        name.setStyleSheet("color: #444; font-size: 8pt;")
        lay.addWidget(pic, 0, k)
        lay.addWidget(name, 1, k)
        pics.append(pic)
        names.append(name)
    return box, pics, names


def _detector_and_put_back() -> tuple[QComboBox, QCheckBox]:
    """The face detector for the next photo (engine.photo.DETECTORS, the default chosen) and the before/after toggle."""
    from engine.photo import DEFAULT_DETECTOR, DETECTOR_TITLES, DETECTORS, detector_available

    detector = QComboBox()
    detector.setObjectName("photoDetector")
    for k, name in enumerate(DETECTORS):
        available = detector_available(name)
        detector.addItem(DETECTOR_TITLES.get(name, name) + ("" if available else " (not installed)"), name)
        if not available:  # listed, so that the choice is known, but not offered
            detector.model().item(k).setEnabled(False)
    detector.setCurrentIndex(DETECTORS.index(DEFAULT_DETECTOR))
    detector.setToolTip("how faces are found in the next photo opened: MTCNN's five landmarks, or OpenCV's Haar "
                        "cascades (an optional extra, kept for comparison)")
    put_back = QCheckBox("face put back")
    put_back.setObjectName("photoPutBack")
    put_back.setToolTip("before / after: the photo as it was, or with the model's face put back at the photo's own "
                        "resolution (the reconstruction; the inspector's edit when it edits this photo's face), as "
                        "Save writes put-back.png")
    return detector, put_back


class PhotoPanel(QWidget):
    """Dock content: the session's photos, one shown with its framing, crop, reconstruction and place."""

    open_requested = Signal()
    face_requested = Signal(int, int)  # photo index, face index: re-run with another face of the photo
    centre_square_requested = Signal(str)  # a photo path: frame its centre square (no detection)
    save_requested = Signal(int)
    inspect_requested = Signal(int)
    put_back_requested = Signal(int)  # a photo index: compute its "after" (the face put back) on the worker

    def __init__(self, session: Session, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.setObjectName("photoPanel")
        self._block = False
        self.failed_path: Optional[str] = None

        self.open_btn = QPushButton("Open photo…")
        self.open_btn.setToolTip("frame a face of your own photo like the training faces, encode it and place it "
                                 "in the cloud (or drop image files on the window)")
        self.open_btn.clicked.connect(self.open_requested)
        self.no_detect = QCheckBox("centre square (no detection)")
        self.no_detect.setObjectName("photoNoDetect")
        self.no_detect.setToolTip("tick before opening a photo: frame the centre square of the whole photo "
                                  "instead of looking for a face")
        self.detector, self.put_back = _detector_and_put_back()
        self.put_back.toggled.connect(self._put_back_toggled)
        self._after_key: Optional[tuple] = None  # what the "after" shown was made from
        self.pick = QComboBox()
        self.pick.setObjectName("photoPick")
        self.pick.setMinimumContentsLength(10)
        self.pick.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.pick.setToolTip("the photos opened on this model")
        self.pick.currentIndexChanged.connect(self._picked)
        self.face_pick = QComboBox()
        self.face_pick.setObjectName("photoFacePick")
        self.face_pick.setToolTip("several faces were found (numbered by size in the photo): choose the one to encode")
        self.face_pick.currentIndexChanged.connect(self._face_picked)
        self.face_row = row("face", self.face_pick)
        self.face_row.hide()
        self.inspect_btn = QPushButton("Inspect && edit")
        self.inspect_btn.setObjectName("photoInspect")
        self.inspect_btn.setToolTip("show this face in the face inspector: its PCA, attribute and direction sliders "
                                    "edit it live")
        self.inspect_btn.clicked.connect(lambda: self.inspect_requested.emit(self.index()))
        self.save_btn = QPushButton("Save…")
        self.save_btn.setToolTip("write the aligned crop, its reconstruction, z, photo.json (face box, eyes, the "
                                 "transform, MSE, percentile, nearest training files) into a new folder")
        self.save_btn.clicked.connect(lambda: self.save_requested.emit(self.index()))
        self.remove_btn = QPushButton("Remove")
        self.remove_btn.setToolTip("take this photo out of the session (files are not touched)")
        self.remove_btn.clicked.connect(lambda: self.session.remove_photo(self.index()))
        self.retry_btn, self.miss_note = _miss_controls()
        self.retry_btn.clicked.connect(self._retry)

        self.view = PhotoView()
        self.aligned = FaceView()
        self.recon = FaceView()
        for fv, text in ((self.aligned, "aligned crop"), (self.recon, "reconstruction")):
            fv.setMinimumSize(72, 72)
            fv.smooth = False
            fv.placeholder = ""  # (not the inspector's "double-click a face": the caption under it says what comes)
            fv.setToolTip(text)
        self.info = QLabel("")
        self.info.setObjectName("photoInfo")
        self.info.setWordWrap(True)
        self.info.setStyleSheet("font-size: 8pt;")
        self.info.setTextFormat(Qt.TextFormat.RichText)
        self.info.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.info.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.near_box, self.near_labels, self.near_names = _nearest_box()

        controls = flow(self.open_btn, self.no_detect, row(control_name("detector").lower(), self.detector),
                        row("photo", self.pick), self.face_row, self.put_back, self.inspect_btn, self.save_btn,
                        self.remove_btn, self.retry_btn, spacing=8)
        pair = QHBoxLayout()
        for fv, text in ((self.aligned, "aligned crop (encoded)"), (self.recon, "its reconstruction")):
            col = QVBoxLayout()
            col.addWidget(fv, 1)
            cap = QLabel(text)
            cap.setAlignment(Qt.AlignmentFlag.AlignCenter)
            cap.setStyleSheet("color: #555;")
            col.addWidget(cap)
            pair.addLayout(col, 1)
        right = QVBoxLayout()
        right.addLayout(pair, 3)
        right.addWidget(self.info, 2)
        upper = QHBoxLayout()
        upper.addWidget(self.view, 3)
        upper.addLayout(right, 2)
        scrolled_body(self, controls, self.miss_note, (upper, 1), self.near_box)

        for signal, slot in ((session.photos_changed, self._photos_changed), (session.dataset_changed, self._show),
                             (session.selection_changed, self._follow_inspector),
                             (session.edited_changed, self._request_after)):
            signal.connect(slot)
        self._photos_changed()

    # ---- state
    def index(self) -> int:
        return self.pick.currentIndex()

    def detector_name(self) -> str:
        """The detector chosen for the next photo opened (one of engine.photo.DETECTORS)."""
        return str(self.detector.currentData())

    def after_key(self) -> Optional[tuple]:
        """What the "after" of the current photo is made from: the photo and the inspector's edit of it (or None)."""
        e = self.entry()
        if e is None:
            return None
        s = self.session
        edited = s.edited_z if s.photo_current == self.index() and s.edited_z is not None else None
        return (id(e), None if edited is None else np.asarray(edited, np.float32).tobytes())

    def set_put_back(self, key: Optional[tuple], picture: Optional[np.ndarray]) -> None:
        """The "after" computed for ``key`` (:meth:`after_key`): shown while "face put back" is ticked and the photo
        and its edit are still those it was made from."""
        if key is not None and key == self.after_key() and self.put_back.isChecked():
            self._after_key = key
            self.view.set_after(picture)

    def _put_back_toggled(self, on: bool) -> None:
        if not on:
            self._after_key = None
            self.view.set_after(None)
        else:
            self._request_after()

    def _request_after(self) -> None:
        """Ask for the current photo's "after" unless the one shown is still right (the photo shown until it comes)."""
        if not self.put_back.isChecked() or self.entry() is None:
            return
        if self._after_key != self.after_key():
            self._after_key = None
            self.view.set_after(None)
            self.put_back_requested.emit(self.index())

    def entry(self) -> Optional[PhotoEntry]:
        i = self.index()
        return self.session.photos[i] if 0 <= i < len(self.session.photos) else None

    def show_photo(self, i: int) -> None:
        if 0 <= i < self.pick.count():
            self.pick.setCurrentIndex(i)
        self._show()

    def offer_centre_square(self, path: Optional[str]) -> None:
        """After "no face found": a button that frames the centre square of that photo instead."""
        self.failed_path = path
        self.retry_btn.setVisible(path is not None)
        self.miss_note.setVisible(path is not None)
        if path is not None:
            from pathlib import Path

            self.miss_note.setText(f"No face found in {Path(path).name}. Click “{self.retry_btn.text()}” to encode the "
                                   f"middle of the photo, or tick “{self.no_detect.text()}” and open it again.")

    def _retry(self) -> None:
        if self.failed_path:
            self.centre_square_requested.emit(self.failed_path)
        self.offer_centre_square(None)

    def _photos_changed(self) -> None:
        photos = self.session.photos
        keep = self.index()
        self._block = True
        self.pick.clear()
        for k, p in enumerate(photos):
            self.pick.addItem(f"{k + 1}: {p.name}")
        if photos:
            self.pick.setCurrentIndex(min(max(keep, 0), len(photos) - 1))
        self._block = False
        if self.session.model is None:
            self.offer_centre_square(None)
        self._show()

    def _picked(self, *_) -> None:
        if not self._block:
            self._show()

    def _follow_inspector(self) -> None:
        i = self.session.photo_current
        if i is not None and i != self.index() and 0 <= i < self.pick.count():
            self.pick.setCurrentIndex(i)

    def _face_picked(self, k: int) -> None:
        e = self.entry()
        if self._block or e is None or k < 0:
            return
        if k != (e.result.face_index or 0):
            self.face_requested.emit(self.index(), k)

    def _show(self) -> None:
        e = self.entry()
        has = e is not None
        for w in (self.inspect_btn, self.save_btn, self.remove_btn, self.pick, self.put_back):
            w.setEnabled(has)
        self.view.set_entry(e)
        self._request_after()
        self._block = True
        self.face_pick.clear()
        if has and len(e.faces) > 1:
            for k in range(len(e.faces)):
                self.face_pick.addItem(f"{k + 1} of {len(e.faces)}" + (" (largest)" if k == 0 else ""))
            self.face_pick.setCurrentIndex(e.result.face_index or 0)
        self.face_row.setVisible(has and len(e.faces) > 1)
        self._block = False
        for lab, name in zip(self.near_labels, self.near_names):
            lab.clear()
            name.setText("")
        if not has:
            self.aligned.set_image(None)
            self.recon.set_image(None)
            for fv in (self.aligned, self.recon):
                fv.setText("")
            self.info.setText("Open photo… (Ctrl+P) finds the face, frames it like the training faces, encodes "
                              "it and places it in the cloud.")
            return
        r = e.result
        self.aligned.set_image(r.aligned)
        self.recon.set_image(r.reconstruction)
        colour = VERDICT_COLOURS.get(r.verdict, "#000")
        chi2 = ("inside" if r.inside_chi2_3sigma else "beyond") + " the χ²(d) 3σ radius, which holds fewer training z-points"
        turn = f", turned {r.face_angle:+.0f}°" if r.face_box is not None else ""
        w, h = r.photo_size
        self.info.setText(
            f"<b>{html.escape(e.name)}</b> ({w}×{h})<br>"
            f"<span style='color:{colour}; font-weight:bold'>{html.escape(r.verdict)}</span>: "
            f"farther out than {r.percentile:.1f} % of the training z-points (Mahalanobis distance "
            f"{r.mahalanobis:.1f})<br>"
            f"{html.escape(r.framing)}{turn}; faces found: {r.faces_found}; reconstruction MSE {r.mse:.4f}<br>"
            "<span style='color:#666'>yellow: the face · cyan: its eyes · magenta +: where the framing puts "
            "the eyes · green: the crop</span>")
        self.info.setToolTip(f"verdict by the percentile among the training z-points' own distances: above 95 % "
                             f"unusual, above 99.73 % outside the 3σ ellipsoid; this face is {chi2} (the cloud is "
                             "heavier-tailed than a Gaussian)")
        self._show_nearest(r)

    def _show_nearest(self, r) -> None:
        ds = self.session.dataset
        index = {f: i for i, f in enumerate(ds.files)} if ds is not None else {}
        from engine.image_data import printable_name

        decoded = self.entry().near_images
        for k, (lab, name, (f, d)) in enumerate(zip(self.near_labels, self.near_names, r.nearest)):
            shown = printable_name(str(f))
            name.setText(shown)
            tip = f"{shown}\n‖z − z_train‖ = {d:.3f}"
            if f in index:
                lab.setPixmap(to_pixmap(np.asarray(ds.images[index[f]]), 48, True))
            elif decoded is not None and k < len(decoded):
                lab.setPixmap(to_pixmap(np.asarray(decoded[k]), 48, True))
                tip += "\n(its z-point decoded: open the dataset folder to see the image itself)"
            else:
                lab.setText(f"<small>{d:.2f}</small>")
            name.setToolTip(tip)
            lab.setToolTip(tip)

    def clear_model_state(self) -> None:
        """Another model (``Session.model_reset``): no "centre square instead?" offer and no "after" of the previous
        model's photos."""
        self.offer_centre_square(None)
        self._after_key = None
        self.view.set_after(None)
