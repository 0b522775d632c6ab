"""The main window: dockable panels around one session, one engine worker, menus and settings.

The window holds the docks (``PANEL_TITLES``), the staged start (placeholders; ``LATE_PANELS`` built by
``build_late_panels`` once the first faces are on screen), the layout and its memory (``gui/window_layout.py``), the
menus, the status bar and the settings. What a menu item or a panel's request does is a handler of its one actions
object (``window.window_actions``: ``gui/actions.py``, ``gui/actions_save.py``).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QByteArray, QEvent, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QGuiApplication, QIcon, QKeySequence
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QMessageBox, QWidget

from .actions import WindowActions
from .dialogs import offer_subfolder
from .engine_bridge import EngineBridge, Job, error_message
from .session import Session
from .wheel_guard import install_wheel_guard
from .window_layout import STATE_VERSION  # noqa: F401 - the saved layouts' version, read here by tests and tools
from .window_layout import DOCK_MINIMUM, DockLayout, add_panel_actions, build_workspace_bar

MAX_RECENT = 8

#: Every dock, in the order they are created: (object name, title).
PANEL_TITLES = (
    ("samplerDock", "Sampler"), ("modelDataDock", "Model && data"), ("faceGridDock", "Faces"),
    ("inspectorDock", "Face inspector"), ("pairPlotDock", "Pair plot"), ("componentsDock", "Components"),
    ("correlationsDock", "Correlations"), ("pcaDock", "PCA"), ("compareDock", "Compare samplers"),
    ("attributesDock", "Attributes"), ("photoDock", "Your photo"), ("directionsDock", "Directions"),
    ("pathDock", "Path"), ("atlasDock", "Atlas"), ("selectionDock", "Selection"), ("twoModelsDock", "Two models"),
    ("bookmarksDock", "Bookmarks"))
#: Panels built once the first faces are on screen (window attribute, dock): the window shows at once, the faces
#: come first, the plots (pyqtgraph) follow (benchmarks/startup_timeline.py).
LATE_PANELS = (
    ("model_panel", "modelDataDock"), ("pair_plot", "pairPlotDock"), ("components", "componentsDock"),
    ("correlations", "correlationsDock"), ("pca_panel", "pcaDock"), ("inspector", "inspectorDock"),
    ("compare", "compareDock"), ("attributes", "attributesDock"), ("photo_panel", "photoDock"),
    ("directions", "directionsDock"), ("path_panel", "pathDock"), ("atlas_panel", "atlasDock"),
    ("selection_panel", "selectionDock"),
    ("model_compare", "twoModelsDock"),
    ("bookmarks", "bookmarksDock"),
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


class MainWindow(QMainWindow):
    model_loaded = Signal()
    sample_ready = Signal()
    error_shown = Signal(str)
    panels_built = Signal()  # every panel exists (build_late_panels)

    def __init__(self, model_dir: Optional[Path] = None, sampler: Optional[str] = None, *,
                 settings: Optional[QSettings] = None, auto_generate: bool = True, restore_state: bool = True) -> None:
        super().__init__()
        install_wheel_guard()  # the wheel never changes a value the user did not pick (every panel, every dialog)
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
        self.window_actions = WindowActions(self)  # what the menus and the panels' requests do
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
        self.dock_layout = DockLayout(self)  # the workspaces, their memory, the proportions a resize keeps
        self._build_menus()
        self.dock_layout.fit_to_screen()
        self._default_layout()
        if restore_state:
            self._restore_settings()
        if sampler:
            if not self.sampler_panel.set_sampler(sampler):
                from engine.samplers import SAMPLERS

                self.show_error(f"unknown sampler {sampler!r}; available: {', '.join(SAMPLERS)}")
        self._connect_bridge()
        QTimer.singleShot(LATE_BUILD_FALLBACK_MS, self._late_build_fallback)

        from engine.resources import default_model_dir

        start = Path(model_dir) if model_dir else default_model_dir()
        if model_dir is not None or start.exists():
            self.window_actions.open_model(start)
        else:
            self.statusBar().showMessage(f"no default model at {start}: open or train one (File menu)", 10000)

    def _connect_bridge(self) -> None:
        """The status bar follows the worker's jobs; the staged start and the torch preload follow its idling."""
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
        self.sampler_panel.generate_requested.connect(self.window_actions.generate_clicked)
        sp = self.sampler_panel  # its choice and fields are undo steps; undo puts its controls back
        sp.committed.connect(lambda label: s.set_sampler(*sp.choice(), label))
        s.sampler_changed.connect(lambda: sp.show_choice(s.state.sampler))
        s.set_sampler(*sp.choice())
        self.face_grid.inspect_requested.connect(self.window_actions.inspect_face)
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
        from .qt_bookmarks import BookmarksPanel
        from .qt_attributes import AttributesPanel
        from .qt_compare import ComparePanel
        from .qt_components import ComponentsPanel
        from .qt_correlations import CorrelationsPanel
        from .qt_directions import DirectionsPanel
        from .qt_inspector import InspectorPanel
        from .qt_model_compare import ModelComparePanel
        from .qt_model_data import ModelDataPanel
        from .qt_pair_plot import PairPlotPanel
        from .qt_path import PathPanel
        from .qt_pca import PCAPanel
        from .qt_photo import PhotoPanel
        from .qt_selection import SelectionPanel

        s, late = self.session, {}
        makers = {
            "model_panel": lambda: ModelDataPanel(s), "pair_plot": lambda: PairPlotPanel(s),
            "components": lambda: ComponentsPanel(s), "correlations": lambda: CorrelationsPanel(s),
            "pca_panel": lambda: PCAPanel(s), "inspector": lambda: InspectorPanel(s, self.bridge),
            "compare": lambda: ComparePanel(s, self.bridge, self.sampler_panel),
            "attributes": lambda: AttributesPanel(s, self.bridge), "photo_panel": lambda: PhotoPanel(s),
            "directions": lambda: DirectionsPanel(s, self.bridge), "path_panel": lambda: PathPanel(s, self.bridge),
            "atlas_panel": lambda: AtlasPanel(submit=self.window_actions.atlas_panel_submit),
            "selection_panel": lambda: SelectionPanel(s, self.bridge),
            "model_compare": lambda: ModelComparePanel(s, self.bridge),
            "bookmarks": lambda: BookmarksPanel(s),
        }
        for attr, _dock in LATE_PANELS:  # one list of the late panels: their order, docks and properties
            late[attr] = makers[attr]()
            yield
        late["inspector"].settings = self.settings
        late["pair_plot"].bridge = self.bridge
        self.__dict__["_late"] = late
        self.dock_layout.hold_adjusting()  # the docks' resizes as the panels replace their placeholders: not a drag
        for attr, name in LATE_PANELS:
            dock = self.docks[name]
            old = dock.widget()
            self._fit_minimum(name, late[attr])
            dock.setWidget(late[attr])
            if old is not None:
                old.deleteLater()
        QTimer.singleShot(0, self, self.dock_layout.reapply)  # the panels' own minimums: the workspace's sizes again
        self.window_actions.wire_late_panels()  # their requests, the Atlas panel following the session, the exports
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
        from engine.errors import extra_missing

        if extra_missing("torch") is not None:  # an install without torch (the viewer): nothing to preload
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

    # ---- the layout: workspaces, each remembered, and its proportions kept across resizes (gui/window_layout.py)
    def _default_layout(self) -> None:
        self.dock_layout.default_layout()

    def reset_layout(self) -> None:
        """View ▸ Reset layout: the current workspace as designed (the others keep their changes)."""
        self.dock_layout.reset_current()

    def switch_workspace(self, key: str) -> None:
        """Show the workspace ``key`` (``gui/workspaces.py``) as the user left it."""
        self.dock_layout.switch(key)

    def workspace(self) -> str:
        return self.dock_layout.current

    def raise_dock(self, name: str) -> None:
        """Show the dock ``name`` in the current workspace and raise it above its tab group."""
        self.dock_layout.show_dock(name)

    def _show_inspector(self) -> None:
        self.raise_dock("inspectorDock")

    def createPopupMenu(self):  # noqa: N802 - no right-click menu of docks: View ▸ a panel places it
        return None

    def event(self, ev) -> bool:  # noqa: D102
        if ev.type() == QEvent.Type.MouseButtonRelease:
            # the end of a drag of a separator between docks (the main window handles those itself): the
            # proportions the user wants (a window resize, a dock shown or a panel built only follow them)
            self.dock_layout.mouse_released()
        return super().event(ev)

    def resizeEvent(self, ev) -> None:  # noqa: N802
        super().resizeEvent(ev)
        self.dock_layout.window_resized()

    def _build_status_bar(self) -> None:
        from .qt_widgets import JobStatus

        # the running job: its whole name, step, time and Cancel (developer timings such as the pair plot's redraw
        # stay out of the status bar: ``pair_plot.redrawn`` carries them to benchmarks and tests)
        self.job_status = JobStatus(self.statusBar(), self.bridge.cancel_current)
        self.job_label, self.progress_bar, self.cancel_btn = (self.job_status.label, self.job_status.progress_bar,
                                                              self.job_status.cancel_btn)

    def _build_menus(self) -> None:
        mb, a = self.menuBar(), self.window_actions
        f = mb.addMenu("&File")
        self._action(f, "Open &model folder…", a.open_model_dialog, QKeySequence.StandardKey.Open)
        self.recent_menu = f.addMenu("Recent models")
        self._action(f, "Open &dataset folder…", a.open_dataset_dialog, "Ctrl+D")
        self._action(f, "Open &photo…", a.open_photo_dialog, "Ctrl+P")
        f.addSeparator()
        self._action(f, "Open sessio&n…", a.open_session_dialog, None)
        self.recent_sessions_menu = f.addMenu("Recent sessions")
        self._action(f, "Save sessi&on…", a.save_session_dialog, None)
        self._action(f, "Save as script…", a.save_script_dialog, None)
        a.refresh_recent_sessions()
        f.addSeparator()
        self._action(f, "&Train a new model…", a.show_train_dialog, "Ctrl+T")
        self._action(f, "&Encode dataset folder…", a.encode_dataset_dialog, "Ctrl+E")
        self._action(f, "Import &labels…", a.import_labels_dialog, None)
        self._action(f, "&Import model…", a.import_model_dialog, None)
        self._action(f, "&Compare with another model…", a.compare_model_dialog, None)
        self._action(f, "E&xport model…", a.export_model_dialog, None)
        f.addSeparator()
        self._action(f, "&Save image set…", a.save_set_dialog, QKeySequence.StandardKey.Save)
        self._action(f, "Save &selected faces…", lambda: a.save_set_dialog(which="selection"), "Ctrl+Shift+S")
        self._action(f, "Save p&hoto results…", lambda: a.save_photo_dialog(self.photo_panel.index()), None)
        f.addSeparator()
        self._action(f, "Export &report…", a.export_report_dialog, None)
        self._action(f, "Export mo&vie…", a.export_movie_dialog, None)
        f.addSeparator()
        self._action(f, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        e = mb.addMenu("&Edit")
        self.undo_action = self._action(e, "Undo", self.session.undo, "Ctrl+Z")
        self.redo_action = self._action(e, "Redo", self.session.redo, None)
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self._action(e, "Add &bookmark", a.add_bookmark, "Ctrl+B")
        self.session.history_changed.connect(self._history_changed)
        self._history_changed()
        g = mb.addMenu("&Generate")
        self.generate_action = self._action(g, "&Generate", a.generate_clicked, None)
        self.generate_action.setShortcuts([QKeySequence("Ctrl+G"), QKeySequence("F5")])
        self._action(g, "Cancel running job", self.bridge.cancel_current, "Esc")
        v = mb.addMenu("&View")
        palette = self._action(v, "Command &palette…", self.show_command_palette, "Ctrl+Shift+P")
        palette.setObjectName("commandPaletteAction")
        palette.setStatusTip("every menu item and tool, searchable, with its shortcut")
        v.addSection("Workspaces")
        self.workspace_bar = build_workspace_bar(self, self.dock_layout, v)
        self._action(v, "Reset layout", self.reset_layout, None).setStatusTip(
            "the current workspace as designed; the other workspaces keep their layouts")
        v.addSection("Panels")
        self.panel_actions = add_panel_actions(self.dock_layout, v)
        h = mb.addMenu("&Help")
        self._action(h, "&Help…", self.show_help, "F1")
        self._action(h, "Keyboard shortcuts", lambda: self.show_help("shortcuts"), None)
        h.addSeparator()
        self._action(h, "About", self._about, None)
        self._refresh_recent_menu()

    def _history_changed(self) -> None:
        """Edit ▸ Undo / Redo name the step they would undo or redo ("Undo: Axes PC1 × PC5")."""
        for action, verb, label in ((self.undo_action, "Undo", self.session.history.undo_label()),
                                    (self.redo_action, "Redo", self.session.history.redo_label())):
            action.setText(f"{verb}: {label}" if label else verb)
            action.setEnabled(label is not None)

    def _action(self, menu, text, slot, shortcut) -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut) if isinstance(shortcut, str) else shortcut)
        a.triggered.connect(lambda *_: slot())
        menu.addAction(a)
        self.addAction(a)
        return a

    def show_help(self, topic: Optional[str] = None):
        """Help ▸ Help… (F1): the searchable help window, at ``topic`` or the focused panel's topic."""
        from .qt_help import open_help

        return open_help(self, topic)

    def show_command_palette(self):
        """View ▸ Command palette… (Ctrl+Shift+P): every menu item and tool, searchable, with its shortcut."""
        from .qt_command_palette import open_palette

        return open_palette(self)

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
            self.dock_layout.keep_on_screen()  # saved on a larger screen, or on one that is gone
        self.dock_layout.restore(st)  # the workspaces' layouts and proportions, the workspace the user was in
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
            a.triggered.connect(lambda *_, p=r: self.window_actions.open_model(Path(p)))
        self.recent_menu.setEnabled(bool(recent))

    # ------------------------------------------------------------------------------ jobs + status
    def _status_done(self, message: str = "") -> None:
        if message:
            self.statusBar().showMessage(message, 5000)

    def _job_failed(self, job: Job, error) -> None:
        if job.on_error is None:
            self.show_error(error, title=f"{job.name} failed")

    def show_error(self, message, title: str = "Error") -> None:
        """A non-blocking error dialog with the engine's message (the app lives on). ``message`` is text, a failed
        job's :class:`JobError` or an exception: an engine error names its options as the window's controls
        (``Output folder``, ``Faces``: :mod:`gui.param_names`), never as the CLI's flags."""
        if isinstance(message, BaseException):
            message = error_message(message)
        message = str(message)  # a JobError: its message, rendered so already
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

    def _offer_subfolder(self, title: str, problem: str, sub: Path) -> Optional[Path]:
        """Ask to save into the new folder ``sub`` instead (gui.dialogs.offer_subfolder): ``sub``, or None."""
        return offer_subfolder(self, title, problem, sub)

    # ---- drag & drop of image files: opened as photos
    def dragEnterEvent(self, ev) -> None:  # noqa: N802
        if self.window_actions.dropped_photos(ev.mimeData()):
            ev.acceptProposedAction()
        else:
            super().dragEnterEvent(ev)

    def dropEvent(self, ev) -> None:  # noqa: N802
        paths = self.window_actions.dropped_photos(ev.mimeData())
        if not paths:
            return super().dropEvent(ev)
        ev.acceptProposedAction()
        for p in paths:
            self.window_actions.open_photo(p)

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


#: The handlers callers use on the window (tests, ``gui/screenshots.py``, ``benchmarks/``): each a method of the window
#: that calls the same-named handler of ``window.window_actions``.
WINDOW_ACTIONS = (
    "open_model", "open_model_dialog", "open_dataset", "open_dataset_dialog", "encode_dataset", "encode_dataset_dialog",
    "encode_folder", "import_model", "import_model_dialog", "export_model", "export_model_dialog", "import_labels",
    "import_labels_dialog", "generate_clicked", "generate_now", "generate_where", "inspect_face", "open_photo",
    "open_photo_dialog", "inspect_photo", "save_photo", "save_photo_dialog", "save_image_set", "save_set_dialog",
    "save_parent", "set_folder_name", "export_report", "export_report_dialog", "export_movie", "export_movie_dialog",
    "show_train_dialog", "run_job", "compare_model_dialog", "compare_with_model",
)


def _delegate(name: str):
    def call(self, *args, **kw):
        return getattr(self.window_actions, name)(*args, **kw)

    call.__name__, call.__qualname__ = name, f"MainWindow.{name}"
    call.__doc__ = f"``window.window_actions.{name}``: {getattr(WindowActions, name).__doc__ or ''}".rstrip()
    return call


for _name in WINDOW_ACTIONS:
    setattr(MainWindow, _name, _delegate(_name))
