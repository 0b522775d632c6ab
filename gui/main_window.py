"""The main window: dockable panels around one session, one engine worker, menus and settings."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Optional

from PySide6.QtCore import QByteArray, QSettings, Qt, Signal
from PySide6.QtGui import QAction, QGuiApplication, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget, QFileDialog, QLabel, QMainWindow, QMessageBox, QProgressBar, QPushButton, QWidget,
)

from .engine_bridge import EngineBridge, Job
from .session import LoadedModel, Sample, Session

MAX_RECENT = 8
STATE_VERSION = 2


def load_model_bundle(folder: Path, progress, cancel) -> tuple[LoadedModel, Any]:
    """Worker side of "open model": the validated model, its z-points and their statistics."""
    from engine.errors import ModelFileError
    from engine.model_store import LATENTS, load_latents, load_model

    model, config = load_model(folder)
    cancel.raise_if_cancelled()
    latents, files, stats = None, [], None
    if (folder / LATENTS).exists():
        latents, files = load_latents(folder, config.arch.z_dim)
        if len(latents) < 3:
            raise ModelFileError(f"{folder / LATENTS}: only {len(latents)} z-points; statistics need at least 3")
        from engine.latent_stats import load_or_compute_stats

        stats = load_or_compute_stats(folder, latents, progress=progress, cancel=cancel)
    loaded = LoadedModel(folder, model, config, latents, list(files))
    if latents is not None:
        from engine.attributes import load_labels
        from engine.errors import EngineError

        try:  # a broken labels.csv must not stop the model from opening: it only hides the attribute views
            loaded.labels = load_labels(folder, files)
        except (EngineError, OSError, ValueError) as exc:
            import sys

            print(f"{folder}: labels not loaded: {exc}", file=sys.stderr)
    if stats is not None:
        from .session import leading_pca_coords

        loaded.pca_coords = leading_pca_coords(latents, stats)  # the pair plot's PCA axes, off the GUI thread
    return loaded, stats


class SampleMaker:
    """Worker side of "Generate": fits samplers once per (model, sampler, values) and decodes."""

    def __init__(self) -> None:
        self._fitted: dict = {}

    def __call__(self, loaded: LoadedModel, sampler: str, values: dict, n: int, seed: int, progress, cancel,
                 where: str = ""):
        from engine import __version__
        from engine.encoding import decode_latents
        from engine.errors import SamplerError
        from engine.samplers import make_sampler

        if loaded.latents is None:
            raise SamplerError(f"{loaded.folder}: the model has no z-points yet; encode a dataset first")
        conditions, fit_on = [], loaded.latents
        if where:  # fit on the z-points whose labels match, exactly as `generate --where`
            from engine.attributes import conditional_latents, describe_where, parse_where, require_labels

            conditions = parse_where(where)
            labels = loaded.labels if loaded.labels is not None else require_labels(loaded.folder, loaded.latent_files)
            fit_on = conditional_latents(loaded.latents, labels, conditions, sampler)
            where = describe_where(conditions)
        key = (loaded.config.model_id, id(loaded.latents), sampler, tuple(sorted(values.items())), where)
        s = self._fitted.get(key)
        if s is None:
            s = make_sampler(sampler, values)
            try:
                s.fit(fit_on)
            except (ValueError, ArithmeticError) as exc:
                if not conditions:
                    raise
                raise SamplerError(f"--where {where}: the {sampler} sampler cannot be fitted on the "
                                   f"{len(fit_on)} matching z-points ({exc})") from None
            self._fitted = {key: s}  # keep the last one: a second Generate is just sample+decode
        cancel.raise_if_cancelled()
        z = s.sample(n, seed)
        images = decode_latents(loaded.model, z, progress=progress, cancel=cancel)
        params = {  # exactly engine.generation.generate's params (the params.json of a set)
            "sampler": sampler,
            "parameters": dict(s.values),
            "seed": int(seed),
            "n": int(n),
            "model_id": loaded.config.model_id,
            "model_folder": str(loaded.folder),
            "app_version": __version__,
        }
        if conditions:
            params["where"] = where
            params["where_points"] = int(len(fit_on))
        diag = s.diagnostics() if hasattr(s, "diagnostics") else None
        return Sample(z, images, params), diag


class MainWindow(QMainWindow):
    model_loaded = Signal()
    sample_ready = Signal()
    error_shown = Signal(str)

    def __init__(self, model_dir: Optional[Path] = None, sampler: Optional[str] = None, *,
                 settings: Optional[QSettings] = None, auto_generate: bool = True, restore_state: bool = True) -> None:
        super().__init__()
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
        self.sample_maker = SampleMaker()
        self.error_dialogs: list[QMessageBox] = []
        self.last_error: Optional[str] = None
        self.train_dialog = None
        self._closing = False
        self.setDockNestingEnabled(True)
        self.setDockOptions(QMainWindow.DockOption.AllowTabbedDocks | QMainWindow.DockOption.AllowNestedDocks
                            | QMainWindow.DockOption.AnimatedDocks)

        self._build_panels()
        self._build_status_bar()
        self._build_menus()
        self._default_layout()
        if restore_state:
            self._restore_settings()
        if sampler:
            if not self.sampler_panel.set_sampler(sampler):
                from engine.samplers import SAMPLERS

                self.show_error(f"unknown sampler {sampler!r}; available: {', '.join(SAMPLERS)}")

        self.bridge.job_started.connect(self._job_started)
        self.bridge.job_progress.connect(self._job_progress)
        self.bridge.job_failed.connect(self._job_failed)
        self.bridge.idle.connect(self._idle)
        self.bridge.job_finished.connect(lambda *_: self._status_done())
        self.bridge.job_cancelled.connect(lambda job: self._status_done(f"{job.name}: cancelled"))

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
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.docks[name] = dock
        return dock

    def _build_panels(self) -> None:
        from .qt_attributes import AttributesPanel
        from .qt_compare import ComparePanel
        from .qt_components import ComponentsPanel
        from .qt_correlations import CorrelationsPanel
        from .qt_face_grid import FaceGrid
        from .qt_inspector import InspectorPanel
        from .qt_model_data import ModelDataPanel
        from .qt_pair_plot import PairPlotPanel
        from .qt_pca import PCAPanel
        from .qt_sampler import SamplerPanel

        s = self.session
        self.docks: dict[str, QDockWidget] = {}
        self.sampler_panel = SamplerPanel()
        self.model_panel = ModelDataPanel(s)
        self.face_grid = FaceGrid(s)
        self.pair_plot = PairPlotPanel(s)
        self.components = ComponentsPanel(s)
        self.correlations = CorrelationsPanel(s)
        self.pca_panel = PCAPanel(s)
        self.inspector = InspectorPanel(s, self.bridge)
        self.compare = ComparePanel(s, self.bridge, self.sampler_panel)
        self.attributes = AttributesPanel(s, self.bridge)
        self._dock("samplerDock", "Sampler", self.sampler_panel)
        self._dock("modelDataDock", "Model && data", self.model_panel)
        self._dock("faceGridDock", "Faces", self.face_grid)
        self._dock("inspectorDock", "Face inspector", self.inspector)
        self._dock("pairPlotDock", "Pair plot", self.pair_plot)
        self._dock("componentsDock", "Components", self.components)
        self._dock("correlationsDock", "Correlations", self.correlations)
        self._dock("pcaDock", "PCA", self.pca_panel)
        self._dock("compareDock", "Compare samplers", self.compare)
        self._dock("attributesDock", "Attributes", self.attributes)

        self.sampler_panel.generate_requested.connect(self.generate_now)
        self.face_grid.inspect_requested.connect(self.inspect_face)
        self.model_panel.open_model_requested.connect(self.open_model_dialog)
        self.model_panel.open_dataset_requested.connect(self.open_dataset_dialog)
        self.model_panel.train_requested.connect(self.show_train_dialog)
        self.model_panel.encode_requested.connect(self.encode_dataset)
        self.attributes.show_in_pair_plot.connect(self._show_pair_plot)
        self.attributes.generate_requested.connect(self.generate_where)
        s.model_changed.connect(lambda: self.sampler_panel.set_attributes(s.labels.names if s.labels is not None else [], s.labels))
        self.pair_plot.redrawn.connect(lambda ms: self.redraw_label.setText(f"pair plot {ms:.0f} ms"))

    def _default_layout(self) -> None:
        d = self.docks
        for dock in d.values():
            dock.setFloating(False)
            self.removeDockWidget(dock)
        L, R = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        self.addDockWidget(L, d["samplerDock"])
        # the sampler needs the whole left column (parameters, conditions, diagnostics): model & data is a tab
        self.tabifyDockWidget(d["samplerDock"], d["modelDataDock"])
        self.addDockWidget(R, d["faceGridDock"])
        self.splitDockWidget(d["faceGridDock"], d["pairPlotDock"], Qt.Orientation.Horizontal)
        self.splitDockWidget(d["faceGridDock"], d["inspectorDock"], Qt.Orientation.Vertical)
        self.splitDockWidget(d["pairPlotDock"], d["componentsDock"], Qt.Orientation.Vertical)
        self.tabifyDockWidget(d["componentsDock"], d["correlationsDock"])
        self.tabifyDockWidget(d["correlationsDock"], d["pcaDock"])
        self.tabifyDockWidget(d["pcaDock"], d["compareDock"])
        self.tabifyDockWidget(d["compareDock"], d["attributesDock"])
        for dock in d.values():
            dock.show()
        d["componentsDock"].raise_()
        d["samplerDock"].raise_()
        self.resizeDocks([d["samplerDock"], d["faceGridDock"], d["pairPlotDock"]], [300, 620, 620], Qt.Orientation.Horizontal)
        self.resizeDocks([d["faceGridDock"], d["inspectorDock"]], [430, 470], Qt.Orientation.Vertical)
        self.resizeDocks([d["pairPlotDock"], d["componentsDock"]], [520, 380], Qt.Orientation.Vertical)

    def reset_layout(self) -> None:
        self._default_layout()

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.job_label = QLabel("")
        self.progress_bar = QProgressBar()
        self.progress_bar.setMaximumWidth(220)
        self.progress_bar.setTextVisible(False)
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.setToolTip("cancel the running job (Esc)")
        self.cancel_btn.clicked.connect(self.bridge.cancel_current)
        self.redraw_label = QLabel("")
        self.redraw_label.setStyleSheet("color: #666;")
        sb.addPermanentWidget(self.redraw_label)
        sb.addPermanentWidget(self.job_label)
        sb.addPermanentWidget(self.progress_bar)
        sb.addPermanentWidget(self.cancel_btn)
        # always there (idle: empty and disabled): showing/hiding them would re-lay out every panel
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.cancel_btn.setEnabled(False)

    def _build_menus(self) -> None:
        mb = self.menuBar()
        f = mb.addMenu("&File")
        self._action(f, "Open &model folder…", self.open_model_dialog, QKeySequence.StandardKey.Open)
        self.recent_menu = f.addMenu("Recent models")
        self._action(f, "Open &dataset folder…", self.open_dataset_dialog, "Ctrl+D")
        f.addSeparator()
        self._action(f, "&Train a new model…", self.show_train_dialog, "Ctrl+T")
        self._action(f, "&Encode dataset", self.encode_dataset, "Ctrl+E")
        f.addSeparator()
        self._action(f, "&Save image set…", self.save_set_dialog, QKeySequence.StandardKey.Save)
        self._action(f, "Save &selected faces…", lambda: self.save_set_dialog(which="selection"), "Ctrl+Shift+S")
        f.addSeparator()
        self._action(f, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        g = mb.addMenu("&Generate")
        self.generate_action = self._action(g, "&Generate", self.generate_now, None)
        self.generate_action.setShortcuts([QKeySequence("Ctrl+G"), QKeySequence("F5")])
        self._action(g, "Cancel running job", self.bridge.cancel_current, "Esc")
        v = mb.addMenu("&View")
        for dock in self.docks.values():
            v.addAction(dock.toggleViewAction())
        v.addSeparator()
        self._action(v, "Reset layout", self.reset_layout, None)
        h = mb.addMenu("&Help")
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
            centre = self.frameGeometry().center()
            if QGuiApplication.screenAt(centre) is None:  # saved on a screen that is gone
                self.resize(1600, 1000)
        else:
            self.resize(1600, 1000)
        state = st.value("window/state")
        if isinstance(state, (QByteArray, bytes)) and int(st.value("window/stateVersion", 0) or 0) == STATE_VERSION:
            self.restoreState(QByteArray(state), STATE_VERSION)
        name = st.value("sampler/name")
        if isinstance(name, str):
            self.sampler_panel.set_sampler(name)

    def save_settings(self) -> None:
        st = self.settings
        st.setValue("window/geometry", self.saveGeometry())
        st.setValue("window/state", self.saveState(STATE_VERSION))
        st.setValue("window/stateVersion", STATE_VERSION)
        st.setValue("sampler/name", self.sampler_panel.sampler_name())
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
    def _job_started(self, job: Job) -> None:
        if job.quiet:
            return
        self.job_label.setText(job.name)
        self.progress_bar.setRange(0, 0)
        self.progress_bar.setTextVisible(True)
        self.cancel_btn.setEnabled(True)

    def _job_progress(self, job: Job, p) -> None:
        if job.quiet:
            return
        if p.total > 0:
            self.progress_bar.setRange(0, 1000)
            self.progress_bar.setValue(int(1000 * p.fraction))
        text = job.name if p.job == job.name or not p.job else f"{job.name}: {p.job}"
        if p.message:
            text += f" — {p.message}"
        if p.loss is not None:
            text += f" — loss {p.loss:.5f}"
        if p.eta_s:
            text += f" — {p.eta_s:.0f} s left"
        self.job_label.setText(text)

    def _status_done(self, message: str = "") -> None:
        if message:
            self.statusBar().showMessage(message, 5000)

    def _idle(self) -> None:
        self.job_label.setText("")
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.progress_bar.setTextVisible(False)
        self.cancel_btn.setEnabled(False)

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
            self.pair_plot._axes_from_session()
            msg = f"opened {loaded.folder}"
            if loaded.latents is None:
                msg += " — no z-points yet: open the training dataset and encode it"
            self.statusBar().showMessage(msg, 8000)
            self.model_loaded.emit()
            if gen and loaded.latents is not None:
                self.generate_now()

        return self.run_job("open model", lambda progress, cancel: load_model_bundle(folder, progress, cancel), done,
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

    def encode_dataset(self) -> Optional[Job]:
        s = self.session
        if s.model is None or s.dataset is None:
            self.show_error("encoding needs an open model and an open dataset (File ▸ Open dataset folder…)")
            return None
        folder, model, ds = s.model.folder, s.model.model, s.dataset

        def fn(progress, cancel):
            from engine.encoding import encode_dataset

            encode_dataset(folder, ds, model=model, progress=progress, cancel=cancel)
            return load_model_bundle(folder, progress, cancel)

        def done(result):
            loaded, stats = result
            self.session.set_model(loaded, stats)
            self.session.set_dataset(ds)
            if self.auto_generate:
                self.generate_now()

        return self.run_job("encode dataset", fn, done)

    # ------------------------------------------------------------------------------ generating
    def generate_now(self) -> Optional[Job]:
        s = self.session
        if s.model is None:
            self.statusBar().showMessage("no model open", 5000)
            return None
        req = self.sampler_panel.request()
        loaded = s.model
        maker = self.sample_maker

        def fn(progress, cancel):
            return maker(loaded, req["sampler"], req["values"], req["n"], req["seed"], progress, cancel,
                         where=req.get("where", ""))

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

    # ------------------------------------------------------------------------------ saving
    def save_set_dialog(self, which: str = "all") -> None:
        s = self.session
        if s.sample is None:
            self.show_error("nothing to save yet: generate faces first")
            return
        if which == "selection" and not s.selected:
            self.show_error("no faces selected (click, Ctrl+click or Shift+click faces in the grid)")
            return
        last = self.settings.value("save/last", "") or str(Path.home())
        path = QFileDialog.getExistingDirectory(self, "Save image set into folder", str(last))
        if path:
            self.save_image_set(Path(path), which=which)

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
            self.show_error(str(exc))
            return None
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
