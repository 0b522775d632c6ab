"""The main window: dockable panels around one session, one engine worker, menus and settings."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import numpy as np
from PySide6.QtCore import QByteArray, QEvent, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QGuiApplication, QIcon, QKeySequence
from PySide6.QtWidgets import QDockWidget, QFileDialog, QLabel, QMainWindow, QMessageBox, QWidget

from .dialogs import inspect_folder_quietly, offer_subfolder, pictures_folder, unique_child
from .engine_bridge import EngineBridge, Job
from .session import LoadedModel, PhotoEntry, Sample, Session
from .window_layout import DOCK_MINIMUM, DockLayout

MAX_RECENT = 8
STATE_VERSION = 5  # 3: docks with minimum sizes and the sampler column at its preferred width; 4: photo + directions docks; 5: path + atlas docks

#: Every dock, in the order they are created: (object name, title).
PANEL_TITLES = (
    ("samplerDock", "Sampler"), ("modelDataDock", "Model && data"), ("faceGridDock", "Faces"),
    ("inspectorDock", "Face inspector"), ("pairPlotDock", "Pair plot"), ("componentsDock", "Components"),
    ("correlationsDock", "Correlations"), ("pcaDock", "PCA"), ("compareDock", "Compare samplers"),
    ("attributesDock", "Attributes"), ("photoDock", "Your photo"), ("directionsDock", "Directions"),
    ("pathDock", "Path"), ("atlasDock", "Atlas"),
)
#: Panels built once the first faces are on screen (window attribute, dock): the window shows at once, the faces
#: come first, the plots (pyqtgraph) follow (benchmarks/startup_timeline.py).
LATE_PANELS = (
    ("model_panel", "modelDataDock"), ("pair_plot", "pairPlotDock"), ("components", "componentsDock"),
    ("correlations", "correlationsDock"), ("pca_panel", "pcaDock"), ("inspector", "inspectorDock"),
    ("compare", "compareDock"), ("attributes", "attributesDock"), ("photo_panel", "photoDock"),
    ("directions", "directionsDock"), ("path_panel", "pathDock"), ("atlas_panel", "atlasDock"),
)
#: After the first grid (or an idle worker): the event loop paints the faces before the panels are built.
LATE_BUILD_DELAY_MS = 30
#: The panels are built this long after the window was created even while the first faces are still coming.
LATE_BUILD_FALLBACK_MS = 1500
#: torch is loaded on the worker once the window is complete and the worker has been idle this long (loading it
#: takes ~1.5 s of the worker: a Generate clicked meanwhile would wait for it).
TORCH_PRELOAD_IDLE_MS = 2000


def _placeholder(title: str) -> QLabel:
    """What a dock shows until its panel is built (a moment after the first faces)."""
    label = QLabel(f"{title.replace('&&', '&')}: loading…")
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setStyleSheet("color: #888;")
    return label


def open_model_job(folder: Path, progress, cancel):
    """Worker side of "open model": the engine's workflow, with statistics and the leading PCA coordinates."""
    from engine.workflows.open_model import open_model

    loaded = open_model(folder, statistics=True, progress=progress, cancel=cancel)
    if loaded.labels_problem:
        import sys

        print(f"{folder}: labels not loaded: {loaded.labels_problem}", file=sys.stderr)
    return loaded, loaded.stats


class MainWindow(QMainWindow):
    model_loaded = Signal()
    sample_ready = Signal()
    error_shown = Signal(str)
    panels_built = Signal()  # every panel exists (build_late_panels)

    def __init__(self, model_dir: Optional[Path] = None, sampler: Optional[str] = None, *,
                 settings: Optional[QSettings] = None, auto_generate: bool = True, restore_state: bool = True) -> None:
        super().__init__()
        self._tabs_pending = False
        from engine import APP_NAME
        from engine.resources import icon_path

        self.app_name = APP_NAME
        self.setWindowTitle(APP_NAME)
        icon = icon_path("app.png")
        if icon.is_file():
            self.setWindowIcon(QIcon(str(icon)))
        self.settings = settings if settings is not None else QSettings("LatentFaceStudio", "Latent Face Studio")
        self.auto_generate = auto_generate
        self.session = Session(self)
        self.bridge = EngineBridge(self)
        from engine.workflows.generate import SamplerFits

        self.sampler_fits = SamplerFits()  # a second Generate with the same sampler only samples and decodes
        self.error_dialogs: list[QMessageBox] = []
        self.last_error: Optional[str] = None
        self.last_notice: Optional[str] = None
        self.train_dialog = None
        self._closing = False
        self._late_building = False
        self._late_scheduled = False
        self._late_steps = None  # the late build in progress (a generator of its steps)
        self._torch_asked = False
        self.late_panels_ms: Optional[float] = None  # ms from the late build's first step to the panels in place
        self.setAcceptDrops(True)  # image files dropped on the window are opened as photos
        self.setDockNestingEnabled(True)
        self.setDockOptions(QMainWindow.DockOption.AllowTabbedDocks | QMainWindow.DockOption.AllowNestedDocks
                            | QMainWindow.DockOption.AnimatedDocks)

        self._build_panels()
        self._build_status_bar()
        self._build_menus()
        self.dock_layout = DockLayout(self)  # the default layout, and the proportions a resize keeps
        self.dock_layout.fit_to_screen()
        self._default_layout()
        if restore_state:
            self._restore_settings()
        self.docks["samplerDock"].installEventFilter(self)
        if sampler:
            if not self.sampler_panel.set_sampler(sampler):
                from engine.samplers import SAMPLERS

                self.show_error(f"unknown sampler {sampler!r}; available: {', '.join(SAMPLERS)}")

        self.job_status.follow(self.bridge)
        self.bridge.job_failed.connect(self._job_failed)
        self.bridge.job_finished.connect(lambda *_: self._status_done())
        self.bridge.job_cancelled.connect(lambda job: self._status_done(f"{job.name}: cancelled"))
        self.sample_ready.connect(self._late_build_due)
        self.bridge.idle.connect(self._late_build_due)
        self._torch_timer = QTimer(self)  # torch is loaded after the worker has been idle this long
        self._torch_timer.setSingleShot(True)
        self._torch_timer.setInterval(TORCH_PRELOAD_IDLE_MS)
        self._torch_timer.timeout.connect(self._preload_torch)
        self.bridge.idle.connect(self._torch_due)
        self.bridge.job_started.connect(lambda _job: self._torch_timer.stop())  # the user's work goes first
        QTimer.singleShot(LATE_BUILD_FALLBACK_MS, self._late_build_fallback)

        from engine.resources import default_model_dir

        start = Path(model_dir) if model_dir else default_model_dir()
        if model_dir is not None or start.exists():
            self.open_model(start)
        else:
            self.statusBar().showMessage(f"no default model at {start}: open or train one (File menu)", 10000)

    # ------------------------------------------------------------------------------ panels
    def _dock(self, name: str, title: str, widget: QWidget) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        self._fit_minimum(name, widget)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.docks[name] = dock
        return dock

    @staticmethod
    def _fit_minimum(name: str, widget: QWidget) -> None:
        """A floor under panels whose content could shrink to nothing (never below what the content needs:
        an explicit minimum smaller than the layout's would squeeze and clip the controls)."""
        w, h = DOCK_MINIMUM.get(name, (200, 120))
        hint = widget.minimumSizeHint()
        widget.setMinimumSize(w if hint.width() < w else 0, h if hint.height() < h else 0)

    def _build_panels(self) -> None:
        """What the first faces need (the sampler and the face grid), and every dock: the other panels hold a
        placeholder until :meth:`build_late_panels` (they import pyqtgraph and build ~15 plots: about a second)."""
        from .qt_face_grid import FaceGrid
        from .qt_sampler import SamplerPanel

        s = self.session
        self.docks: dict[str, QDockWidget] = {}
        self.sampler_panel = SamplerPanel()
        self.face_grid = FaceGrid(s)
        first = {"samplerDock": self.sampler_panel, "faceGridDock": self.face_grid}
        for name, title in PANEL_TITLES:
            self._dock(name, title, first[name] if name in first else _placeholder(title))
        self.sampler_panel.generate_requested.connect(self.generate_clicked)
        self.face_grid.inspect_requested.connect(self.inspect_face)
        s.model_changed.connect(lambda: self.sampler_panel.set_attributes(s.labels.names if s.labels is not None else [], s.labels))

    def panels_ready(self) -> bool:
        """True once every panel is built (:meth:`build_late_panels`)."""
        return self.__dict__.get("_late") is not None and not self._late_building

    def _late_build_due(self) -> None:
        """The first faces are on screen, the worker has nothing to do, or the window waited long enough: build
        the other panels, one per turn of the event loop (the faces are painted first, and the window answers
        clicks between two panels)."""
        if self.__dict__.get("_late") is None and not self._late_scheduled and not self._closing:
            self._late_scheduled = True
            QTimer.singleShot(LATE_BUILD_DELAY_MS, self._late_step)

    def _late_build_fallback(self) -> None:
        """The model takes long to open (the first launch exports it for ONNX Runtime): build the panels now,
        unless its first faces are being generated (they come first; sample_ready builds the panels then)."""
        cur = self.bridge.current
        if cur is not None and cur.key == "generate" and self.session.sample is None:
            return
        self._late_build_due()

    def _late_step(self) -> None:
        """One piece of the late build; the next one on the next turn of the event loop."""
        if self._closing or self.__dict__.get("_late") is not None:
            return
        if self._late_steps is None:
            self._late_steps = self._late_build_steps()
        try:
            next(self._late_steps)
        except StopIteration:
            return
        QTimer.singleShot(0, self._late_step)

    def build_late_panels(self) -> None:
        """Build the panels behind the placeholders (the rest of them, when a stepwise build has begun), wire them,
        and bring them up to the session's state. Any use of such a panel (``window.pair_plot`` …) before then
        calls this: they are all there at once."""
        if self.__dict__.get("_late") is not None:
            return
        if self._late_steps is None:
            self._late_steps = self._late_build_steps()
        for _ in self._late_steps:
            pass

    def _late_build_steps(self):
        """The late build as a generator: it yields after importing pyqtgraph and after each panel; the last step
        puts them all in their docks, wires them and replays the session's state to them."""
        t0 = time.perf_counter()
        self._late_building = True
        import pyqtgraph  # noqa: F401 - the plots' library (a few hundred ms): a step of its own

        yield
        from .qt_atlas import AtlasPanel
        from .qt_attributes import AttributesPanel
        from .qt_compare import ComparePanel
        from .qt_components import ComponentsPanel
        from .qt_correlations import CorrelationsPanel
        from .qt_directions import DirectionsPanel
        from .qt_inspector import InspectorPanel
        from .qt_model_data import ModelDataPanel
        from .qt_pair_plot import PairPlotPanel
        from .qt_path import PathPanel
        from .qt_pca import PCAPanel
        from .qt_photo import PhotoPanel

        s, late = self.session, {}
        makers = {
            "model_panel": lambda: ModelDataPanel(s), "pair_plot": lambda: PairPlotPanel(s),
            "components": lambda: ComponentsPanel(s), "correlations": lambda: CorrelationsPanel(s),
            "pca_panel": lambda: PCAPanel(s), "inspector": lambda: InspectorPanel(s, self.bridge),
            "compare": lambda: ComparePanel(s, self.bridge, self.sampler_panel),
            "attributes": lambda: AttributesPanel(s, self.bridge), "photo_panel": lambda: PhotoPanel(s),
            "directions": lambda: DirectionsPanel(s, self.bridge), "path_panel": lambda: PathPanel(s, self.bridge),
            "atlas_panel": lambda: AtlasPanel(submit=self._atlas_panel_submit),
        }
        for attr, _dock in LATE_PANELS:  # one list of the late panels: their order, docks and properties
            late[attr] = makers[attr]()
            yield
        late["inspector"].settings = self.settings
        late["pair_plot"].bridge = self.bridge
        self.__dict__["_late"] = late
        for attr, name in LATE_PANELS:
            dock = self.docks[name]
            old = dock.widget()
            self._fit_minimum(name, late[attr])
            dock.setWidget(late[attr])
            if old is not None:
                old.deleteLater()
        self.docks["atlasDock"].visibilityChanged.connect(lambda on: on and self._atlas_panel_follow())
        for sig in (s.stats_changed, s.axes_changed, s.selection_changed):
            sig.connect(self._atlas_panel_follow)
        self.model_panel.open_model_requested.connect(self.open_model_dialog)
        self.model_panel.open_dataset_requested.connect(self.open_dataset_dialog)
        self.model_panel.train_requested.connect(self.show_train_dialog)
        self.model_panel.encode_requested.connect(self.encode_dataset)
        self.attributes.show_in_pair_plot.connect(self._show_pair_plot)
        self.attributes.generate_requested.connect(self.generate_where)
        self.photo_panel.open_requested.connect(self.open_photo_dialog)
        self.photo_panel.face_requested.connect(self._photo_face_requested)
        self.photo_panel.centre_square_requested.connect(lambda path: self.open_photo(Path(path), no_detect=True))
        self.photo_panel.save_requested.connect(self.save_photo_dialog)
        self.photo_panel.inspect_requested.connect(self.inspect_photo)
        self.directions.add_slider_requested.connect(self._add_direction_slider)
        self.directions.inspect_face_requested.connect(self._show_inspector)
        self.pair_plot.redrawn.connect(lambda ms: self.redraw_label.setText(f"pair plot {ms:.0f} ms"))
        self._wire_exports()
        self._late_building = False
        if s.model is not None:
            s.replay()  # what the new panels missed: model, statistics, faces, selection, axes
        self.late_panels_ms = 1000 * (time.perf_counter() - t0)
        self.panels_built.emit()
        self._torch_due()

    def _torch_due(self) -> None:
        if not self._torch_asked and self.panels_ready() and not self.bridge.busy():
            self._torch_timer.start()

    def _preload_torch(self) -> None:
        """Load torch on the worker once the window is complete and the worker has had nothing to do for a moment
        (the first faces are there): they come from ONNX Runtime without it, but training, exports and the torch
        fallback need it, and loading it (about 1.5 s) stalls the GUI thread once for ~0.25 s while its libraries
        initialise: better now than when the user starts a job. (On the worker, not a thread of its own: two
        threads importing torch and the engine at once can deadlock on Python's import locks.)"""
        import sys

        if self._torch_asked or not self.panels_ready() or self.bridge.busy() or self._closing:
            return
        self._torch_asked = True
        if "torch" in sys.modules:
            return

        def load(progress, cancel):
            import importlib

            importlib.import_module("torch")

        self.bridge.submit(Job("load torch", load, quiet=True, key="preload-torch", on_error=lambda _message: None))

    # ---- tabbed docks show their whole titles ("Correlations", not "Correlatio…"), with scroll arrows when needed
    def childEvent(self, ev) -> None:  # noqa: N802
        super().childEvent(ev)
        if ev.type() == QEvent.Type.ChildAdded and not self._tabs_pending:
            self._tabs_pending = True  # the main window makes a tab bar for each group of tabbed docks
            QTimer.singleShot(0, self._whole_tab_titles)

    def _whole_tab_titles(self) -> None:
        from PySide6.QtWidgets import QTabBar

        self._tabs_pending = False
        for bar in self.findChildren(QTabBar, options=Qt.FindChildOption.FindDirectChildrenOnly):
            if bar.elideMode() != Qt.TextElideMode.ElideNone:
                bar.setElideMode(Qt.TextElideMode.ElideNone)
                bar.setUsesScrollButtons(True)

    # ---- the layout: the default one, and its proportions kept across resizes (gui/window_layout.py)
    def _default_layout(self) -> None:
        self.dock_layout.default_layout()

    def reset_layout(self) -> None:
        self._default_layout()

    def eventFilter(self, obj, ev) -> bool:  # noqa: N802
        if ev.type() == QEvent.Type.Resize and obj is self.docks.get("samplerDock"):
            self.dock_layout.sampler_resized(obj)
        return super().eventFilter(obj, ev)

    def event(self, ev) -> bool:  # noqa: D102
        if ev.type() == QEvent.Type.MouseButtonRelease:
            # the end of a drag of a separator between docks (the main window handles those itself): the
            # proportions the user wants (a window resize, a dock shown or a panel built only follow them)
            QTimer.singleShot(0, self.dock_layout.remember_split)
        return super().event(ev)

    def resizeEvent(self, ev) -> None:  # noqa: N802
        super().resizeEvent(ev)
        self.dock_layout.window_resized()

    def _build_status_bar(self) -> None:
        from .qt_widgets import JobStatus

        self.redraw_label = QLabel("")
        self.redraw_label.setStyleSheet("color: #666;")
        self.statusBar().addPermanentWidget(self.redraw_label)
        self.job_status = JobStatus(self.statusBar(), self.bridge.cancel_current)  # the running job, Cancel
        self.job_label, self.progress_bar, self.cancel_btn = (self.job_status.label, self.job_status.progress_bar,
                                                              self.job_status.cancel_btn)

    def _build_menus(self) -> None:
        mb = self.menuBar()
        f = mb.addMenu("&File")
        self._action(f, "Open &model folder…", self.open_model_dialog, QKeySequence.StandardKey.Open)
        self.recent_menu = f.addMenu("Recent models")
        self._action(f, "Open &dataset folder…", self.open_dataset_dialog, "Ctrl+D")
        self._action(f, "Open &photo…", self.open_photo_dialog, "Ctrl+P")
        f.addSeparator()
        self._action(f, "&Train a new model…", self.show_train_dialog, "Ctrl+T")
        self._action(f, "&Encode dataset", self.encode_dataset, "Ctrl+E")
        self._action(f, "Import &labels…", self.import_labels_dialog, None)
        f.addSeparator()
        self._action(f, "&Save image set…", self.save_set_dialog, QKeySequence.StandardKey.Save)
        self._action(f, "Save &selected faces…", lambda: self.save_set_dialog(which="selection"), "Ctrl+Shift+S")
        self._action(f, "Save p&hoto results…", lambda: self.save_photo_dialog(self.photo_panel.index()), None)
        f.addSeparator()
        self._action(f, "Export &report…", self.export_report_dialog, None)
        self._action(f, "Export mo&vie…", self.export_movie_dialog, None)
        f.addSeparator()
        self._action(f, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        g = mb.addMenu("&Generate")
        self.generate_action = self._action(g, "&Generate", self.generate_clicked, None)
        self.generate_action.setShortcuts([QKeySequence("Ctrl+G"), QKeySequence("F5")])
        self._action(g, "Cancel running job", self.bridge.cancel_current, "Esc")
        v = mb.addMenu("&View")
        for dock in self.docks.values():
            v.addAction(dock.toggleViewAction())
        v.addSeparator()
        self._action(v, "Reset layout", self.reset_layout, None)
        h = mb.addMenu("&Help")
        self._action(h, "What am I looking at?", self.show_tour, "F1")
        self._action(h, "Keyboard shortcuts", self.show_shortcuts, None)
        h.addSeparator()
        self._action(h, "About", self._about, None)
        self._refresh_recent_menu()

    def _action(self, menu, text, slot, shortcut) -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut) if isinstance(shortcut, str) else shortcut)
        a.triggered.connect(lambda *_: slot())
        menu.addAction(a)
        self.addAction(a)
        return a

    def _info_box(self, title: str, html: str) -> QMessageBox:
        box = QMessageBox(QMessageBox.Icon.NoIcon, f"{self.app_name} — {title}", "", QMessageBox.StandardButton.Close, self)
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setText(html)
        box.setModal(False)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.show()
        return box

    def show_shortcuts(self) -> QMessageBox:
        """Help ▸ Keyboard shortcuts: every shortcut of the window in one table."""
        from .help_text import shortcuts_html

        return self._info_box("Keyboard shortcuts", shortcuts_html(self))

    def show_tour(self) -> QMessageBox:
        """Help ▸ What am I looking at?: one paragraph per panel."""
        from .help_text import TOUR_HTML

        return self._info_box("What am I looking at?", TOUR_HTML)

    def _about(self) -> None:
        from engine import __version__

        QMessageBox.about(self, f"About {self.app_name}",
                          f"<b>{self.app_name}</b> {__version__}<br>Study the latent space of a conv autoencoder "
                          "trained on faces, and sample new faces from it.")

    # ------------------------------------------------------------------------------ settings
    def _restore_settings(self) -> None:
        st = self.settings
        geo = st.value("window/geometry")
        if isinstance(geo, (QByteArray, bytes)) and self.restoreGeometry(QByteArray(geo)):
            screen = QGuiApplication.screenAt(self.frameGeometry().center())
            if screen is None:  # saved on a screen that is gone
                self.dock_layout.fit_to_screen()
            elif not self.isMaximized():  # saved on a larger screen: shrink onto this one
                avail = screen.availableGeometry()
                if self.width() > avail.width() or self.height() > avail.height():
                    self.dock_layout.fit_to_screen()
        state = st.value("window/state")
        if isinstance(state, (QByteArray, bytes)) and int(st.value("window/stateVersion", 0) or 0) == STATE_VERSION:
            if self.restoreState(QByteArray(state), STATE_VERSION):
                self.dock_layout.defaults_pending = False
            self.dock_layout.restore(st)  # the sampler column's width, the split proportions
        values = st.value("sampler/values")
        if isinstance(values, str):
            import json

            try:
                self.sampler_panel.restore_values(json.loads(values))
            except (ValueError, TypeError):
                pass  # a damaged entry: the samplers' defaults
        name = st.value("sampler/name")
        if isinstance(name, str):
            self.sampler_panel.set_sampler(name)

    def save_settings(self) -> None:
        st = self.settings
        st.setValue("window/geometry", self.saveGeometry())
        st.setValue("window/state", self.saveState(STATE_VERSION))
        st.setValue("window/stateVersion", STATE_VERSION)
        st.setValue("sampler/name", self.sampler_panel.sampler_name())
        self.dock_layout.save(st)
        import json

        st.setValue("sampler/values", json.dumps(self.sampler_panel.kept_values()))
        st.sync()

    def recent_models(self) -> list[str]:
        v = self.settings.value("recent/models", [])
        if isinstance(v, str):
            v = [v]
        return [str(x) for x in (v or [])]

    def _remember_model(self, folder: Path) -> None:
        items = [str(folder)] + [r for r in self.recent_models() if r != str(folder)]
        self.settings.setValue("recent/models", items[:MAX_RECENT])
        self._refresh_recent_menu()

    def _refresh_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.recent_models()
        for r in recent:
            a = self.recent_menu.addAction(r)
            a.triggered.connect(lambda *_, p=r: self.open_model(Path(p)))
        self.recent_menu.setEnabled(bool(recent))

    # ------------------------------------------------------------------------------ jobs + status
    def _status_done(self, message: str = "") -> None:
        if message:
            self.statusBar().showMessage(message, 5000)

    def _job_failed(self, job: Job, message: str) -> None:
        if job.on_error is None:
            self.show_error(message, title=f"{job.name} failed")

    def show_error(self, message: str, title: str = "Error") -> None:
        """A non-blocking error dialog with the engine's message (the app lives on)."""
        self.last_error = message
        self.statusBar().showMessage(f"{title}: {message}", 10000)
        if self._closing:
            return
        box = QMessageBox(QMessageBox.Icon.Critical, f"{self.app_name} — {title}", message, QMessageBox.StandardButton.Ok, self)
        box.finished.connect(self._error_dialog_closed)
        self.error_dialogs.append(box)
        box.open()
        self.error_shown.emit(message)

    def _error_dialog_closed(self, *_) -> None:
        box = self.sender()
        if box in self.error_dialogs:
            self.error_dialogs.remove(box)
            box.deleteLater()

    def run_job(self, name: str, fn, on_done=None, **kw) -> Job:
        return self.bridge.submit(Job(name, fn, on_done=on_done, **kw))

    # ------------------------------------------------------------------------------ model + data
    def open_model_dialog(self) -> None:
        start = str(self.session.model.folder.parent) if self.session.model else str(Path.home())
        path = QFileDialog.getExistingDirectory(self, "Open model folder", start)
        if path:
            self.open_model(Path(path))

    def open_model(self, folder: Path, generate: Optional[bool] = None) -> Job:
        folder = Path(folder)
        gen = self.auto_generate if generate is None else generate

        def done(result):
            loaded, stats = result
            self.session.set_model(loaded, stats)
            self.setWindowTitle(f"{self.app_name} — {loaded.folder.name}")
            self._remember_model(loaded.folder)
            if self.panels_ready():
                self.pair_plot._axes_from_session()
            msg = f"opened {loaded.folder}"
            if loaded.latents is None:
                msg += " — no z-points yet: open the training dataset and encode it"
            self.statusBar().showMessage(msg, 8000)
            self.model_loaded.emit()
            if gen and loaded.latents is not None:
                self.generate_now()

        return self.run_job("open model", lambda progress, cancel: open_model_job(folder, progress, cancel), done,
                            key="open-model")

    def open_dataset_dialog(self) -> None:
        last = self.settings.value("data/last", "") or str(Path.home())
        path = QFileDialog.getExistingDirectory(self, "Open dataset folder (face images)", str(last))
        if path:
            self.open_dataset(Path(path))

    def open_dataset(self, folder: Path) -> Optional[Job]:
        if self.session.model is None:
            self.show_error("open a model first: the dataset is cropped and resized the way the model expects")
            return None
        pre = self.session.model.config.preprocess
        folder = Path(folder)

        def fn(progress, cancel):
            from engine.image_data import load_folder

            return load_folder(folder, pre, progress=progress, cancel=cancel) if _accepts_cancel(load_folder) else load_folder(folder, pre, progress=progress)

        def done(ds):
            self.session.set_dataset(ds)
            self.settings.setValue("data/last", str(folder))
            self.statusBar().showMessage(ds.summary() if hasattr(ds, "summary") else f"{len(ds)} images", 8000)

        return self.run_job("load dataset", fn, done, key="load-dataset")

    def encode_dataset(self, confirm: Optional[bool] = None) -> Optional[Job]:
        s = self.session
        if s.model is None or s.dataset is None:
            self.show_error("encoding needs an open model and an open dataset (File ▸ Open dataset folder…)")
            return None
        folder, codec, ds = s.model.folder, s.model.codec, s.dataset
        known = set(s.model.latent_files)
        if known and confirm is not True:  # the model has z-points: encoding another folder replaces them
            shared = sum(1 for f in ds.files if f in known)
            if shared < 0.5 * len(known):
                text = (f"{getattr(ds, 'folder', 'this folder')} is not this model's training set: {shared:,} of its "
                        f"{len(ds):,} images are among the model's {len(known):,} z-points. Encoding replaces the "
                        "z-points (and labels.csv no longer matches them). Encode anyway?")
                if confirm is False:
                    self.show_error(text.replace(" Encode anyway?", " Not encoded."))
                    return None
                ans = QMessageBox.question(self, "Encode dataset", text, QMessageBox.StandardButton.Yes |
                                           QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
                if ans != QMessageBox.StandardButton.Yes:
                    return None

        def fn(progress, cancel):
            from engine.encoding import encode_dataset

            encode_dataset(folder, ds, model=codec, progress=progress, cancel=cancel)
            return open_model_job(folder, progress, cancel)

        def done(result):
            loaded, stats = result
            self.session.set_model(loaded, stats)
            self.session.set_dataset(ds)
            if self.auto_generate:
                self.generate_now()

        return self.run_job("encode dataset", fn, done)

    def import_labels_dialog(self) -> None:
        if self.session.model is None or self.session.latents is None:
            self.show_error("labels are attached to a model's z-points: open a model and encode its dataset first")
            return
        path, _ = QFileDialog.getOpenFileName(self, "Import labels (CelebA list_attr_celeba.txt or a CSV file,label1,…)",
                                              str(Path.home()), "Label files (*.txt *.csv);;All files (*)")
        if path:
            self.import_labels(Path(path))

    def import_labels(self, path: Path) -> Optional[Job]:
        """Attach a label file to the open model (labels.csv beside it), then reopen it so every panel sees them."""
        s = self.session
        if s.model is None:
            return None
        folder, files = s.model.folder, list(s.model.latent_files)

        def fn(progress, cancel):
            from engine.attributes import import_labels

            table = import_labels(folder, path, files)
            return table.report.summary(), open_model_job(folder, progress, cancel)

        def done(result):
            summary, (loaded, stats) = result
            self.session.set_model(loaded, stats)
            self.statusBar().showMessage(f"labels imported: {summary}", 10000)
            self.last_notice = summary

        return self.run_job("import labels", fn, done)

    # ------------------------------------------------------------------------------ generating
    def generate_clicked(self) -> Optional[Job]:
        """Generate asked for by the user (button, Ctrl+G, F5, Enter): says so when it has to wait."""
        return self.generate_now(notify=True)

    def generate_now(self, notify: bool = False) -> Optional[Job]:
        s = self.session
        if s.model is None:
            self.statusBar().showMessage("no model open", 5000)
            return None
        if notify and self.bridge.busy():  # say what happens to this request instead of queueing it silently
            cur = self.bridge.current
            if cur is not None and cur.key == "generate":
                note = "Generate: the new request replaces the one running"
            elif cur is not None and not cur.quiet:
                note = f"Generate queued: it starts when “{cur.name}” has finished (Esc cancels that job)"
            else:
                note = "Generate queued: it starts in a moment"
            self.statusBar().showMessage(note, 6000)
            self.last_notice = note
        req = self.sampler_panel.request()
        loaded = s.model
        fits = self.sampler_fits

        def fn(progress, cancel):
            from engine.workflows.generate import generate

            gen = generate(loaded, req["sampler"], req["values"], req["n"], req["seed"], where=req.get("where") or None,
                           fits=fits, progress=progress, cancel=cancel)
            return Sample(gen.z, gen.images, gen.params), gen.diagnostics

        def done(result):
            sample, diag = result
            if self.session.model is not loaded:
                return
            self.session.set_sample(sample)
            self.sampler_panel.show_diagnostics(diag)
            if sample.params.get("where"):
                self.statusBar().showMessage(f"{len(sample.z)} faces from the {sample.params['sampler']} sampler fitted on the "
                                             f"{sample.params['where_points']:,} z-points where {sample.params['where']}", 8000)
            self.sample_ready.emit()

        return self.run_job("generate", fn, done, key="generate")

    def generate_where(self, name: str, has: bool = True) -> Optional[Job]:
        """One click: a grid from the current sampler fitted only on the faces that have (lack) ``name``."""
        sp = self.sampler_panel
        sp.clear_conditions()
        if not sp.add_condition(name, has):
            self.show_error(f"unknown attribute {name!r}")
            return None
        return self.generate_now()

    def _show_pair_plot(self) -> None:
        dock = self.docks["pairPlotDock"]
        dock.show()
        dock.raise_()

    def inspect_face(self, i: int) -> None:
        self.session.select(i, [i])
        dock = self.docks["inspectorDock"]
        dock.show()
        dock.raise_()

    # ------------------------------------------------------------------------------ your own photo
    def open_photo_dialog(self) -> None:
        from .qt_photo import PHOTO_FILTER

        if self.session.model is None or self.session.latents is None:
            self.show_error("open a model with encoded z-points first: a photo is placed in its cloud")
            return
        last = self.settings.value("photo/last", "") or str(pictures_folder())
        paths, _ = QFileDialog.getOpenFileNames(self, "Open photo (a face is found, framed and encoded)", str(last),
                                                PHOTO_FILTER)
        for path in paths:
            self.open_photo(Path(path))

    def open_photo(self, path: Path, face_index: Optional[int] = None, no_detect: Optional[bool] = None,
                   replace: Optional[int] = None) -> Optional[Job]:
        """Frame, encode and place one photo on the worker (engine.photo.frame_and_encode_photos); the face joins
        the session (``session.photos``), is shown in the photo panel and inspected."""
        s = self.session
        if s.model is None or s.latents is None:
            self.show_error("open a model with encoded z-points first: a photo is placed in its cloud")
            return None
        path = Path(path)
        nd = self.photo_panel.no_detect.isChecked() if no_detect is None else bool(no_detect)
        opened = s.model

        def fn(progress, cancel):
            from engine import face_framing as ff
            from engine.photo import frame_and_encode_photos

            (r,) = frame_and_encode_photos(opened.codec, opened.config, opened.latents, opened.latent_files, [path],
                                           stats=opened.stats, keep_photo=True, model_dir=opened.folder,
                                           no_detect=nd, face_index=face_index, progress=progress, cancel=cancel)
            if r.faces_found > 1:  # all the faces, for the choice (working-copy pixels, largest first)
                faces = [f.corners for f in ff.detect_faces(r.photo)]
            elif r.face_box is not None:
                faces = [(np.asarray(r.face_box) + 0.5) * r.photo_scale - 0.5]
            else:
                faces = []
            index = {f: i for i, f in enumerate(opened.latent_files)}
            rows = [index[f] for f, _d in r.nearest if f in index]
            near = opened.codec.decode(opened.latents[rows]) if len(rows) == len(r.nearest) and rows else None
            return PhotoEntry(r, faces, nd, near)

        def done(entry):
            if self.session.model is not opened:
                return
            self.settings.setValue("photo/last", str(path.parent))
            i = self.session.add_photo(entry, replace=replace)
            self.photo_panel.offer_centre_square(None)
            self.photo_panel.show_photo(i)
            self.inspect_photo(i, raise_panel=False)
            dock = self.docks["photoDock"]
            dock.show()
            dock.raise_()
            r = entry.result
            self.statusBar().showMessage(f"{path.name}: {r.verdict} — farther out than {r.percentile:.1f} % of the "
                                         f"training z-points ({r.framing})", 10000)

        def failed(message):
            self.show_error(message, title="open photo failed")
            self.photo_panel.offer_centre_square(str(path) if "no face found" in message else None)

        return self.run_job(f"open photo ({path.name})", fn, done, on_error=failed)

    def _photo_face_requested(self, i: int, face_index: int) -> None:
        if 0 <= i < len(self.session.photos):
            e = self.session.photos[i]
            self.open_photo(Path(e.result.source), face_index=face_index, no_detect=False, replace=i)

    def inspect_photo(self, i: int, raise_panel: bool = True) -> None:
        self.session.inspect_photo(i)
        if raise_panel:
            self._show_inspector()

    def _show_inspector(self) -> None:
        dock = self.docks["inspectorDock"]
        dock.show()
        dock.raise_()

    def save_photo_dialog(self, i: int) -> None:
        s = self.session
        if not 0 <= i < len(s.photos):
            self.show_error("no photo to save: File ▸ Open photo… first")
            return
        stem = Path(s.photos[i].result.source).stem
        target = unique_child(self.save_parent(), f"photo-{stem}")
        path, _ = QFileDialog.getSaveFileName(
            self, "Save photo results — name a new folder (it is created)", str(target), "Folder (*)",
            options=QFileDialog.Option.DontConfirmOverwrite)
        if path:
            self.save_photo(Path(path), i)

    def save_photo(self, folder: Path, i: int, interactive: bool = True) -> Optional[Job]:
        """Write ``folder/<stem>/`` (engine.photo.write_photo_results: aligned.png, reconstruction.png, z.npy,
        photo.json) for ``photos[i]``; the inspector's edited z goes into photo.json when it edits this photo."""
        from engine.errors import EngineError
        from engine.photo import check_photo_output, photo_stems

        s = self.session
        if not 0 <= i < len(s.photos) or s.model is None:
            return None
        entry = s.photos[i]
        folder = Path(folder)
        stems = photo_stems([entry.result])
        try:  # the folder rules of engine.photo, checked before any work: never among the user's own files
            check_photo_output(folder, stems)
        except EngineError as exc:
            holder = inspect_folder_quietly(folder)
            if not interactive or holder is None or not holder.foreign:
                self.show_error(str(exc))
                return None
            folder = self._offer_subfolder("Save photo results", str(exc), unique_child(folder, f"photo-{stems[0]}"))
            if folder is None:
                return None
        params = {"model": str(s.model.folder), "model_id": s.model.model_id}
        if s.photo_current == i and s.edited_z is not None:
            params["edited_z"] = [round(float(v), 6) for v in np.asarray(s.edited_z).reshape(-1)]
            params["edited_note"] = "the face inspector's edit of z (decode it with the model to see it)"
        codec = s.model.codec

        def fn(progress, cancel):
            from engine.photo import write_photo_results
            from engine.progress import Progress

            progress(Progress("save photo", 0, 1, str(folder)))
            return write_photo_results(folder, [entry.result], model=codec, params=params, cancel=cancel)

        def done(written):
            self.settings.setValue("save/last", str(folder))
            self.statusBar().showMessage(f"saved {entry.name} to {written[0]}", 8000)

        return self.run_job("save photo", fn, done)

    def _add_direction_slider(self, d) -> None:
        self.inspector.add_direction_slider(d)
        self._show_inspector()

    # ---- drag & drop of image files: opened as photos
    def _dropped_photos(self, mime) -> list[Path]:
        from .qt_photo import is_photo_path

        if mime is None or not mime.hasUrls():
            return []
        return [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile() and is_photo_path(u.toLocalFile())]

    def dragEnterEvent(self, ev) -> None:  # noqa: N802
        if self._dropped_photos(ev.mimeData()):
            ev.acceptProposedAction()
        else:
            super().dragEnterEvent(ev)

    def dropEvent(self, ev) -> None:  # noqa: N802
        paths = self._dropped_photos(ev.mimeData())
        if not paths:
            return super().dropEvent(ev)
        ev.acceptProposedAction()
        for p in paths:
            self.open_photo(p)

    # ------------------------------------------------------------------------------ saving
    def save_set_dialog(self, which: str = "all") -> None:
        s = self.session
        if s.sample is None:
            self.show_error("nothing to save yet: generate faces first")
            return
        if which == "selection" and not s.selected:
            self.show_error("no faces selected (click, Ctrl+click or Shift+click faces in the grid)")
            return
        # a new folder is the normal case: the dialog proposes one beside the last set (or in Pictures)
        target = unique_child(self.save_parent(), self.set_folder_name())
        path, _ = QFileDialog.getSaveFileName(
            self, "Save image set — name a new folder (it is created)", str(target), "Folder (*)",
            options=QFileDialog.Option.DontConfirmOverwrite)
        if path:
            self.save_image_set(Path(path), which=which)

    def _offer_subfolder(self, title: str, problem: str, sub: Path) -> Optional[Path]:
        """"Save into a new folder inside it instead?" (gui.dialogs.offer_subfolder): ``sub``, or None."""
        return offer_subfolder(self, title, problem, sub)

    def save_parent(self) -> Path:
        """Where new sets go: beside the last saved set, else the user's pictures folder."""
        last = self.settings.value("save/last", "")
        if last:
            parent = Path(str(last)).parent
            if parent.is_dir():
                return parent
        return pictures_folder()

    def set_folder_name(self) -> str:
        p = self.session.sample.params if self.session.sample is not None else {}
        return f"faces-{p.get('sampler', 'set')}-seed{p.get('seed', 0)}"

    def save_image_set(self, folder: Path, which: str = "all", overwrite: Optional[bool] = None) -> Optional[Job]:
        """Write the grid (``which="all"``) or the selection as an image set in the CLI format."""
        from engine.errors import EngineError
        from engine.output_folders import check_output_folder

        s = self.session
        if s.sample is None:
            return None
        folder = Path(folder)
        try:  # the CLI's folder rules: never into a folder of the user's own files
            state = check_output_folder(folder, overwrite=True, label="save into")
        except EngineError as exc:
            state = None
            holder = inspect_folder_quietly(folder)
            if holder is None or not holder.foreign or holder.ours:
                self.show_error(str(exc))
                return None
            # a folder of the user's own files (e.g. the parent of the set typed by mistake): never written
            # into; a new subfolder inside it is offered instead
            sub = unique_child(folder, self.set_folder_name())
            shown = ", ".join(holder.foreign[:3]) + (f" and {len(holder.foreign) - 3} more" if len(holder.foreign) > 3 else "")
            if overwrite is not None:  # not interactive
                self.show_error(str(exc))
                return None
            folder = self._offer_subfolder(
                "Save image set", f"{folder} holds files that {self.app_name} did not write ({shown}); a set is "
                "never saved among them.", sub)
            if folder is None:
                return None
            state = check_output_folder(folder, overwrite=True, label="save into")
        if state.ours and not overwrite:
            if overwrite is None:
                ans = QMessageBox.question(self, "Save image set", f"{folder} already holds {state.what}.\n"
                                           "Replace its files? (files you added there are kept)",
                                           QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                           QMessageBox.StandardButton.No)
                if ans != QMessageBox.StandardButton.Yes:
                    return None
            else:
                self.show_error(f"{folder}: already holds {state.what}; not overwritten")
                return None
        sample = s.sample
        params = dict(sample.params)
        if which == "selection":
            idx = list(s.selected)
            z, images = sample.z[idx], sample.images[idx]
            params["selection"] = idx  # regenerate: the full set for seed/n, then these rows
        else:
            z, images = sample.z, sample.images
        cols = self.face_grid.columns.value() or None

        def fn(progress, cancel):
            # staged and moved into place by the engine: a failed write leaves the previous set intact
            from engine.image_sets import write_image_set
            from engine.progress import Progress

            progress(Progress("save image set", 0, 1, str(folder)))
            return write_image_set(folder, z, params, images, overwrite=True, grid_columns=cols)

        def done(out):
            self.settings.setValue("save/last", str(folder))
            self.statusBar().showMessage(f"saved {len(z)} faces to {out}", 8000)

        return self.run_job("save image set", fn, done)

    # ------------------------------------------------------------------------------ atlas panel, exports
    def _atlas_panel_submit(self, work, done) -> None:
        panel = self.atlas_panel

        def reset(*_):
            panel._busy = False

        self.bridge.submit(Job("atlas panel", lambda progress, cancel: work(), on_done=done, on_error=reset,
                               on_cancelled=reset, key="atlas-panel", quiet=True))

    def _atlas_panel_follow(self, *_) -> None:
        """The Atlas panel follows the session's axes, statistics and inspected face (only while shown)."""
        s = self.session
        if not self.docks["atlasDock"].isVisible() or self.docks["atlasDock"].visibleRegion().isEmpty():
            return
        if s.stats is None or s.model is None:
            self.atlas_panel.set_model(None, None)
            return
        key = (id(s.stats), s.axes, None if s.current_z() is None else s.current_z().tobytes())
        if key == getattr(self, "_atlas_panel_key", None):
            return
        self._atlas_panel_key = key
        self.atlas_panel.set_model(s.model.codec, s.stats, s.axes, s.current_z())

    def _wire_exports(self) -> None:
        """PNG (1×/2×/4×), SVG, CSV and the clipboard on every plot's right-click menu and a corner button;
        the face grid, the atlas and the path strip as PNG."""
        from .qt_export import add_export_actions, image_actions

        plots = [(self.pair_plot.plot, "pair-plot"), (self.components.plot, "component-histogram"),
                 (self.correlations.plot, "correlations"), (self.pca_panel.var_plot, "pca-explained-variance"),
                 (self.pca_panel.norm_plot, "normality-check"), (self.pca_panel.md_plot, "mahalanobis-histogram"),
                 (self.pca_panel.cloud_plot, "pca-cloud"), (self.compare.bar_plot, "sampler-comparison"),
                 (self.compare.sweep_plot, "sampler-sweep"), (self.model_panel.loss_plot, "training-loss"),
                 (self.inspector.z_plot, "inspector-z"), (self.inspector.place_plot, "inspector-place"),
                 (self.path_panel.plot, "path-mahalanobis"), (self.atlas_panel.plot, "atlas")]
        self.export_menus = {}
        for plot, name in plots:
            self.export_menus[name] = add_export_actions(plot, self, name)
        from engine.image_sets import make_grid

        def grid_image():
            s = self.session
            return None if s.sample is None else make_grid(s.sample.images, self.face_grid.columns.value() or None)

        def atlas_image():
            a = self.atlas_panel.layer.atlas or self.pair_plot.atlas_layer.atlas
            return None if a is None else a.mosaic()

        for menu_name, src, name in (("pair-plot", atlas_image, "atlas"), ("atlas", atlas_image, "atlas"),
                                     ("path-mahalanobis", self.path_panel.strip_image, "path-strip")):
            menu = self.export_menus[menu_name]
            sub = menu.addMenu(f"Faces ({name}) as PNG")
            for a in image_actions(self, src, name):
                sub.addAction(a)
        from PySide6.QtWidgets import QMenu

        grid_menu = QMenu(self.face_grid)
        for a in image_actions(self, grid_image, "faces"):
            grid_menu.addAction(a)
        self.face_grid_export_menu = grid_menu
        lst = self.face_grid.list
        lst.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        lst.customContextMenuRequested.connect(lambda pos: grid_menu.exec(lst.mapToGlobal(pos)))

    # ------------------------------------------------------------------------------ report, movie
    def export_report_dialog(self) -> None:
        s = self.session
        if s.model is None:
            self.show_error("open a model first")
            return
        target = unique_child(self.save_parent(), f"report-{s.model.folder.name}")
        path, _ = QFileDialog.getSaveFileName(self, "Export report — name a new folder (it is created)", str(target),
                                              "Folder (*)", options=QFileDialog.Option.DontConfirmOverwrite)
        if path:
            self.export_report(Path(path))

    def export_report(self, folder: Path) -> Optional[Job]:
        """File ▸ Export report: engine.workflows.report.make_report on the worker, into a new folder (never into
        a folder of the user's own files; the engine's folder rules)."""
        from engine.errors import EngineError
        from engine.output_folders import check_output_folder
        from engine.workflows.report import REPORT_KIND

        s = self.session
        if s.model is None:
            self.show_error("open a model first")
            return None
        folder = Path(folder)
        data = getattr(s.dataset, "folder", None)
        try:
            check_output_folder(folder, inputs=[i for i in (s.model.folder, data) if i is not None], overwrite=False,
                                kind=REPORT_KIND)
        except EngineError as exc:
            self.show_error(str(exc))
            return None
        model = s.model

        def fn(progress, cancel):
            from engine.workflows.report import make_report

            return make_report(model.folder, folder, data=data, opened=model, progress=progress, cancel=cancel)

        def done(report):
            self.last_notice = f"report written to {report.folder} ({report.seconds:.1f} s)"
            self.statusBar().showMessage(self.last_notice, 10000)

        return self.run_job("export report", fn, done, key="export-report")

    def export_movie_dialog(self) -> None:
        from .qt_movie_dialog import MovieDialog

        s = self.session
        if s.model is None or s.stats is None:
            self.show_error("open a model with z-points first")
            return
        dlg = MovieDialog(self, can_path=self._movie_ends() is not None, axis=s.axes[0])
        if dlg.exec():
            o = dlg.options()
            suffix = ".mp4" if o["format"] == "mp4" else ".gif"
            target = unique_child(self.save_parent(), f"movie-{s.model.folder.name}{suffix}")
            path, _ = QFileDialog.getSaveFileName(self, "Export movie", str(target), f"{o['format'].upper()} (*{suffix})")
            if path:
                if not path.lower().endswith(suffix):
                    path += suffix
                self.export_movie(Path(path), **{k: v for k, v in o.items() if k != "format"})

    def _movie_ends(self):
        s = self.session
        a = s.current_z()
        others = [i for i in s.selected if i != s.current] if s.sample is not None else []
        if a is None or not others:
            return None
        return a, s.sample.z[others[0]]

    def export_movie(self, out: Path, kind: str = "sweep", frames: int = 60, fps: float = 20.0, size: int = 256,
                     method: str = "linear", value_range: str = "-3:3") -> Optional[Job]:
        """File ▸ Export movie: engine.workflows.movie.make_movie on the worker — a sweep along the pair plot's x
        axis, or the path from the inspected face to the other selected face."""
        import tempfile

        from engine.latent_paths import parse_axis  # noqa: F401 - the CLI's axis names
        from .session import axis_label

        s = self.session
        if s.model is None or s.stats is None:
            self.show_error("open a model with z-points first")
            return None
        kw: dict = {}
        if kind == "path":
            ends = self._movie_ends()
            if ends is None:
                self.show_error("a path movie needs two faces: inspect one and Ctrl+click a second one in the grid")
                return None
            tmp = Path(tempfile.mkdtemp(prefix="lfs-movie-"))
            np.save(tmp / "from.npy", np.asarray(ends[0], np.float32))
            np.save(tmp / "to.npy", np.asarray(ends[1], np.float32))
            kw = {"frm": str(tmp / "from.npy"), "to": str(tmp / "to.npy"), "method": method}
        else:
            kw = {"axis": axis_label(s.axes[0]), "value_range": value_range}
        model = s.model

        def fn(progress, cancel):
            from engine.workflows.movie import make_movie

            return make_movie(model.folder, out, frames=int(frames), fps=float(fps), size=int(size), opened=model,
                              progress=progress, cancel=cancel, **kw)

        def done(movie):
            from engine.workflows.movie import movie_summary

            self.last_notice = movie_summary(movie)
            self.statusBar().showMessage(self.last_notice, 10000)

        return self.run_job("export movie", fn, done, key="export-movie")

    # ------------------------------------------------------------------------------ training
    def show_train_dialog(self) -> None:
        from .qt_train_dialog import TrainDialog

        if self.train_dialog is None:
            self.train_dialog = TrainDialog(self.bridge, self.settings, self)
            self.train_dialog.model_trained.connect(lambda p: self.open_model(Path(p)))
        self.train_dialog.show()
        self.train_dialog.raise_()

    # ------------------------------------------------------------------------------ shutdown
    def wait_idle(self, timeout_s: float = 60.0) -> bool:
        """Process events until the worker is idle (for the screenshot mode and tests)."""
        from PySide6.QtWidgets import QApplication

        self.build_late_panels()
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            QApplication.processEvents()
            if not self.bridge.busy():
                QApplication.processEvents()
                return True
            time.sleep(0.005)
        return False

    def closeEvent(self, ev) -> None:  # noqa: N802
        self._closing = True
        try:
            self.save_settings()
        except Exception:  # noqa: BLE001
            pass
        if self.train_dialog is not None:
            self.train_dialog.close()
        self.bridge.shutdown()
        super().closeEvent(ev)


def _accepts_cancel(fn) -> bool:
    import inspect

    try:
        return "cancel" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _late_panel(attr: str) -> property:
    def get(self):
        late = self.__dict__.get("_late")
        if late is None:
            self.build_late_panels()
            late = self.__dict__["_late"]
        return late[attr]

    return property(get, doc=f"The {attr.replace('_', ' ')} (built with the late panels on first use).")


for _attr, _dock_name in LATE_PANELS:
    setattr(MainWindow, _attr, _late_panel(_attr))
