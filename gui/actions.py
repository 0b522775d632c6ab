"""The window's use cases: what a menu item, a shortcut or a panel's request does — open a model, a dataset or a
photo, encode, import labels, generate, inspect, train — and, through its base :class:`~gui.actions_save.SaveActions`,
save and export.

The window owns one :class:`WindowActions` (``window.window_actions``); its menus and the panels' request signals call
it. A handler asks what it must (a file dialog, a question), submits one :class:`~gui.engine_bridge.Job` to the
engine bridge, and puts the result into the session (which every panel follows) and the window's status bar.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFileDialog, QMessageBox

from .actions_save import SaveActions
from .actions_selection import SelectionActions
from .dialogs import pictures_folder
from .engine_bridge import Job
from .session import PhotoEntry, Sample


#: Keys of the jobs that draw a view of the open model: cancelled when another model opens.
VIEW_JOB_KEYS = ("path", "atlas", "atlas-panel", "map-decode", "selection-faces")


def open_model_job(folder: Path, progress, cancel):
    """Worker side of "open model": the engine's workflow, with statistics and the leading PCA coordinates."""
    from engine.workflows.open_model import open_model

    loaded = open_model(folder, statistics=True, prepare=True, progress=progress, cancel=cancel)
    if loaded.labels_problem:
        import sys

        print(f"{folder}: labels not loaded: {loaded.labels_problem}", file=sys.stderr)
    return loaded, loaded.stats


def _accepts_cancel(fn) -> bool:
    import inspect

    try:
        return "cancel" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


class WindowActions(SelectionActions, SaveActions):
    """Every use case of ``window`` (a :class:`gui.main_window.MainWindow`)."""

    def __init__(self, window) -> None:
        super().__init__(window)
        from engine.workflows.generate import SamplerFits

        self.sampler_fits = SamplerFits()  # a second Generate with the same sampler only samples and decodes
        self._atlas_panel_key = None
        self.saved_sets: list = []  # engine.workflows.script.SavedSetEntry: the sets saved with the open model
        self.session.model_reset.connect(self._model_reset)

    def wire_late_panels(self) -> None:
        """The late panels' requests to the handlers, the Atlas panel following the session, the exports."""
        w, s = self.window, self.session
        w.docks["atlasDock"].visibilityChanged.connect(lambda on: on and self.atlas_panel_follow())
        for sig in (s.stats_changed, s.axes_changed, s.selection_changed):
            sig.connect(self.atlas_panel_follow)
        w.model_panel.open_model_requested.connect(self.open_model_dialog)
        w.model_panel.open_dataset_requested.connect(self.open_dataset_dialog)
        w.model_panel.train_requested.connect(self.show_train_dialog)
        w.model_panel.encode_requested.connect(self.encode_dataset_dialog)
        w.attributes.show_in_pair_plot.connect(lambda *_: w.raise_dock("pairPlotDock"))
        w.attributes.generate_requested.connect(self.generate_where)
        w.photo_panel.open_requested.connect(self.open_photo_dialog)
        w.photo_panel.face_requested.connect(self._photo_face_requested)
        w.photo_panel.centre_square_requested.connect(lambda path: self.open_photo(Path(path), no_detect=True))
        w.photo_panel.save_requested.connect(self.save_photo_dialog)
        w.photo_panel.inspect_requested.connect(self.inspect_photo)
        w.photo_panel.put_back_requested.connect(self.put_back_photo)
        w.directions.add_slider_requested.connect(self._add_direction_slider)
        w.directions.inspect_face_requested.connect(lambda *_: w.raise_dock("inspectorDock"))
        w.pair_plot.path_drawn.connect(self.decode_drawn_path)
        self.wire_bookmarks()
        self.wire_direction_rows()
        from .qt_selection_layer import atlas_selection

        w.atlas_panel.selector = atlas_selection(w.atlas_panel, s)  # a lasso on the atlas selects in the cloud
        self.wire_selection_panel(w.selection_panel)
        w.model_compare.compare_requested.connect(self.compare_model_dialog)
        self.wire_exports()
        for dock in w.docks.values():  # every panel, the sampler and the faces included
            self.follow_model_reset(dock.widget())

    def follow_model_reset(self, panel) -> None:
        """The contract of a model switch: ``Session.set_model`` emits ``model_reset`` first, and every panel that
        keeps something derived from a model besides what the session's signals redraw (a decoded point, a
        readout, a fitted result, a plot's range) drops it in its ``clear_model_state()``."""
        clear = getattr(panel, "clear_model_state", None)
        if clear is not None:
            self.session.model_reset.connect(clear)

    def _model_reset(self) -> None:
        """Another model: the previous model's view jobs (a path, an atlas, a decoded face) are cancelled, so that
        none of their results lands on the new model's panels; the Atlas panel follows afresh; the sets saved with
        the previous model are no longer the script's."""
        self.saved_sets.clear()
        for job in self.bridge.pending():
            if job.key in VIEW_JOB_KEYS:
                job.cancel.cancel()
        self._atlas_panel_key = None

    def decode_drawn_path(self) -> None:
        """A line drawn in the pair plot got its second point: the Path panel comes up and decodes it."""
        w = self.window
        w.raise_dock("pathDock")
        plot, path = w.docks["pairPlotDock"], w.docks["pathDock"]
        if path in w.tabifiedDockWidgets(plot):  # it went over the pair plot (one tab group): a row of its own
            w.removeDockWidget(path)
            w.addDockWidget(w.dockWidgetArea(plot), path, Qt.Orientation.Vertical)
            path.show()
            plot.raise_()
            w.resizeDocks([path], [max(200, w.height() // 3)], Qt.Orientation.Vertical)  # the plot keeps the most
        w.path_panel.source.setCurrentIndex(w.path_panel.source.findData("line"))
        w.path_panel.run()

    # ---- model + data
    def open_model_dialog(self) -> None:
        start = str(self.session.model.folder.parent) if self.session.model else str(Path.home())
        path = QFileDialog.getExistingDirectory(self.window, "Open model folder", start)
        if path:
            self.open_model(Path(path))

    def open_model(self, folder: Path, generate: Optional[bool] = None) -> Job:
        folder = Path(folder)
        w = self.window
        gen = w.auto_generate if generate is None else generate

        def done(result):
            loaded, stats = result
            self.session.set_model(loaded, stats)
            w.setWindowTitle(f"{w.app_name} — {loaded.folder.name}")
            w._remember_model(loaded.folder)
            if w.panels_ready():
                w.pair_plot._axes_from_session()
            msg = f"opened {loaded.folder}"
            if loaded.latents is None:
                msg += " — no z-points yet: File ▸ Encode dataset folder… encodes its training images"
            self.status(msg, 8000)
            w.model_loaded.emit()
            if gen and loaded.latents is not None:
                self.generate_now()

        def preparing(p) -> None:  # the one-time preparation of a model, said where it reads in full
            from engine.workflows.open_model import PREPARE_JOB

            if p is not None and p.job == PREPARE_JOB and p.done == 0:
                self.notice(f"{folder.name}: {p.message}", 120000)

        return self.run_job("open model", lambda progress, cancel: open_model_job(folder, progress, cancel), done,
                            key="open-model", title=f"Opening the model {Path(folder).name}",
                            on_progress=preparing)

    def open_dataset_dialog(self) -> None:
        last = self.settings.value("data/last", "") or str(Path.home())
        path = QFileDialog.getExistingDirectory(self.window, "Open dataset folder (face images)", str(last))
        if path:
            self.open_dataset(Path(path))

    def open_dataset(self, folder: Path, then=None) -> Optional[Job]:
        """Open ``folder`` as the dataset, framed for the open model; ``then(dataset)`` after it is in the session."""
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
            self.status(ds.summary() if hasattr(ds, "summary") else f"{len(ds)} images", 8000)
            if then is not None:  # once the job has ended (a question asked then shows no job still running)
                QTimer.singleShot(0, lambda: then(ds))

        return self.run_job("load dataset", fn, done, key="load-dataset")

    def _encoding_agreed(self, opened, ds, confirm: Optional[bool]) -> bool:
        """Encoding ``ds`` into a model that has z-points replaces them: the user is told so and asked first (or it
        is refused with ``confirm=False``); a folder that is not the model's training set says that too
        (engine.workflows.encode.replacement_check)."""
        from engine.workflows.encode import replacement_check

        folder = getattr(ds, "folder", None)
        check = replacement_check(opened, ds.files, folder)
        if not check.known or confirm is True:
            return True
        question = check.question or (
            f"Encode {folder or 'the open dataset'} ({check.images:,} images) with {opened.folder.name}? This "
            f"replaces this model's {check.known:,} z-points (its latents.npy). Encode?")
        if confirm is False:
            self.show_error(question.replace(" Encode anyway?", " Not encoded.").replace(" Encode?", " Not encoded."))
            return False
        ans = QMessageBox.question(self.window, "Encode dataset", question, QMessageBox.StandardButton.Yes |
                                   QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        return ans == QMessageBox.StandardButton.Yes

    def encode_dataset_dialog(self) -> None:
        """File ▸ Encode dataset folder… (Ctrl+E): always asks which folder (starting at the last one), then says
        what the encoding replaces before it runs (:meth:`encode_folder`)."""
        s = self.session
        if s.model is None:
            self.show_error("open a model first: a dataset is encoded with the open model")
            return
        last = getattr(s.dataset, "folder", None) or self.settings.value("data/last", "") or str(Path.home())
        path = QFileDialog.getExistingDirectory(self.window, f"Encode a folder of face images with "
                                                f"{s.model.folder.name}", str(last))
        if path:
            self.encode_folder(Path(path))

    def encode_folder(self, folder: Path, confirm: Optional[bool] = None) -> Optional[Job]:
        """Open ``folder`` as the dataset (framed the way the model expects), then encode it into the open model's
        z-points once the user agreed to what that replaces (:meth:`encode_dataset`)."""
        s = self.session
        if s.model is None:
            self.show_error("open a model first: a dataset is encoded with the open model")
            return None
        opened = s.model

        def then(ds):
            if self.session.model is opened and self.session.dataset is ds:
                self.encode_dataset(confirm=confirm)

        return self.open_dataset(Path(folder), then=then)

    def encode_dataset(self, confirm: Optional[bool] = None) -> Optional[Job]:
        """Encode the open dataset into the open model (asked first when that replaces z-points)."""
        s = self.session
        if s.model is None or s.dataset is None:
            self.show_error("encoding needs an open model and a dataset folder (File ▸ Encode dataset folder…)")
            return None
        opened, ds = s.model, s.dataset
        if not self._encoding_agreed(opened, ds, confirm):
            return None

        def fn(progress, cancel):
            from engine.workflows.encode import encode_dataset_into

            encoded = encode_dataset_into(opened, ds, progress=progress, cancel=cancel)
            return open_model_job(encoded.folder, progress, cancel)

        def done(result):
            loaded, stats = result
            self.session.set_model(loaded, stats)
            self.session.set_dataset(ds)
            self.notice(f"encoded {len(ds):,} images of {getattr(ds, 'folder', 'the dataset')} into "
                        f"{loaded.folder.name}: {len(loaded.latents):,} z-points")
            if self.window.auto_generate:
                self.generate_now()

        return self.run_job("encode dataset", fn, done)

    def import_labels_dialog(self) -> None:
        if self.session.model is None or self.session.latents is None:
            self.show_error("labels are attached to a model's z-points: open a model and encode its dataset first")
            return
        path, _ = QFileDialog.getOpenFileName(self.window,
                                              "Import labels (CelebA list_attr_celeba.txt or a CSV file,label1,…)",
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
            self.status(f"labels imported: {summary}", 10000)
            self.window.last_notice = summary

        return self.run_job("import labels", fn, done)

    # ---- importing and exporting a model (the CLI's import and export workflows, with their checks)
    def import_model_dialog(self) -> None:
        """File ▸ Import model…: the files, the options they may not say and a new folder (qt_model_files)."""
        from .dialogs import unique_child
        from .qt_model_files import ImportModelDialog

        last = str(self.settings.value("import/last", "") or Path.home())
        parent = Path(str(self.settings.value("import/out", "") or Path.home()))
        dlg = ImportModelDialog(self.window, start=last,
                                out=str(unique_child(parent if parent.is_dir() else Path.home(), "imported-model")))
        if dlg.exec():
            self.import_model(dlg.values())

    def import_model(self, values: dict, open_after: Optional[bool] = None) -> Job:
        """Import on the worker (engine.workflows.import_model.import_model, ``values`` its keyword arguments, as
        the CLI gives them): a refused file ends in the error dialog, one line; then it offers to open the new model
        (``open_after``: answer without asking)."""
        values = dict(values)

        def fn(progress, cancel):
            from engine.workflows.import_model import import_model

            return import_model(**values, progress=progress, cancel=cancel)

        def done(res):
            from .param_names import control_name

            given = next((v for k in ("model_file", "encoder") if (v := values.get(k))), None)
            if given:
                self.settings.setValue("import/last", str(Path(given).parent))
            self.settings.setValue("import/out", str(Path(res.folder).parent))
            summary = res.summary(control_name)
            self.notice(summary)
            if open_after is None:  # asked once the job has ended (the status bar no longer shows it running)
                QTimer.singleShot(0, lambda: self._offer_to_open(Path(res.folder), summary))
            elif open_after:
                self.open_model(Path(res.folder))

        return self.run_job("import model", fn, done, key="import-model",
                            on_error=lambda error: self.show_error(error, title="import model failed"))

    def _offer_to_open(self, folder: Path, summary: str) -> None:
        ans = QMessageBox.question(self.window, "Import model", f"{summary}\n\nOpen the imported model now?",
                                   QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                   QMessageBox.StandardButton.Yes)
        if ans == QMessageBox.StandardButton.Yes:
            self.open_model(folder)

    def export_model_dialog(self) -> None:
        """File ▸ Export model…: the format (the exporter registry's) and a new folder for the open model."""
        from .dialogs import unique_child
        from .qt_model_files import ask_export_target

        s = self.session
        if s.model is None:
            self.show_error("open a model first: File ▸ Export model… writes the open model in another format")
            return
        got = ask_export_target(self.window, s.model.folder.name,
                                unique_child(self.save_parent(), f"{s.model.folder.name}-export"))
        if got is not None:
            self.export_model(got[1], got[0])

    def export_model(self, out: Path, fmt: str = "onnx") -> Optional[Job]:
        """Export the open model on the worker (engine.workflows.export_model.export_model: a new or empty folder)."""
        s = self.session
        if s.model is None:
            self.show_error("open a model first: File ▸ Export model… writes the open model in another format")
            return None
        folder, out = s.model.folder, Path(out)

        def fn(progress, cancel):
            from engine.workflows.export_model import export_model

            return export_model(folder, out, fmt, progress=progress, cancel=cancel)

        def done(res):
            self.settings.setValue("save/last", str(res.folder))
            self.notice(f"exported {', '.join(res.files)} ({res.image_size}×{res.image_size}, z_dim {res.z_dim}) "
                        f"to {res.folder}")

        return self.run_job("export model", fn, done, key="export-model",
                            on_error=lambda error: self.show_error(error, title="export model failed"))

    def compare_model_dialog(self) -> None:
        """File ▸ Compare with another model…: a second model's folder, compared with the open one."""
        s = self.session
        if s.model is None or s.model.latents is None:
            self.show_error("open an encoded model first: the second model is compared with it on the faces both "
                            "encoded")
            return
        path = QFileDialog.getExistingDirectory(self.window, "Compare with another model", str(s.model.folder.parent))
        if path:
            self.compare_with_model(Path(path))

    def compare_with_model(self, folder: Path, options=None) -> Optional[Job]:
        """Open the model in ``folder`` on the worker and compare it with the open one
        (``engine.workflows.compare_models.compare_with_folder``); the Two models panel shows the result."""
        from engine.workflows.compare_models import CompareOptions

        s, w, folder = self.session, self.window, Path(folder)
        if s.model is None:
            self.show_error("open an encoded model first: the second model is compared with it")
            return None
        a, data = s.model, getattr(s.dataset, "folder", None)
        opts = options or CompareOptions(samplers=("normal",), n=64, probe_faces=1000)

        def fn(progress, cancel):
            from engine.workflows.compare_models import compare_with_folder

            return compare_with_folder(a, folder, opts, data=data, judges=False, progress=progress, cancel=cancel)

        def judged(comp):
            if s.model is a and w.model_compare.comparison is comp:
                w.model_compare.show_judges(comp)

        def done(comp):
            if s.model is not a:
                return  # another model opened meanwhile: the comparison was of the previous one
            w.model_compare.show_comparison(comp)
            w.raise_dock("twoModelsDock")
            self.status(f"compared with {folder.name}: {comp.numbers['shared']['faces']:,} shared faces", 8000)
            if opts.probes or opts.samplers:  # then the slow part: the judges and samplers of both, in the table

                def judge(progress, cancel):
                    from engine.workflows.compare_models import measure_judges

                    return measure_judges(comp, opts, progress=progress, cancel=cancel)

                self.run_job("judge both models", judge, judged, key="compare-models-judges",
                             title="Judging both models")

        return self.run_job("compare models", fn, done, key="compare-models", title=f"Comparing with {folder.name}")

    # ---- generating
    def generate_clicked(self) -> Optional[Job]:
        """Generate asked for by the user (button, Ctrl+G, F5, Enter): says so when it has to wait."""
        return self.generate_now(notify=True)

    def _say_generate_waits(self) -> None:
        """What happens to a Generate asked for while the worker is busy (instead of queueing it silently)."""
        cur = self.bridge.current
        if cur is not None and cur.key == "generate":
            note = "Generate: the new request replaces the one running"
        elif cur is not None and not cur.quiet:
            note = f"Generate queued: it starts when “{cur.name}” has finished (Esc cancels that job)"
        else:
            note = "Generate queued: it starts in a moment"
        self.notice(note, 6000)

    def generate_now(self, notify: bool = False) -> Optional[Job]:
        s, w = self.session, self.window
        if s.model is None:
            self.status("no model open", 5000)
            return None
        if notify and self.bridge.busy():
            self._say_generate_waits()
        req = w.sampler_panel.request()
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
            w.sampler_panel.show_diagnostics(diag)
            if sample.params.get("where"):
                self.status(f"{len(sample.z)} faces from the {sample.params['sampler']} sampler fitted on the "
                            f"{sample.params['where_points']:,} z-points where {sample.params['where']}", 8000)
            w.sample_ready.emit()

        from engine.workflows.estimates import expected_generate

        expected = expected_generate(loaded, req["sampler"], req["values"], req["n"], req.get("where") or None, fits)
        if expected.long:  # the panel that asked says so first (the status bar too, as the job starts)
            w.sampler_panel.diagnostics.setText(f"Generate: {expected.notice()}")
        return self.run_job("generate", fn, done, key="generate", expected=expected,
                            title=f"Generating {req['n']} faces ({req['sampler']})")

    def generate_where(self, name: str, has: bool = True) -> Optional[Job]:
        """One click: a grid from the current sampler fitted only on the faces that have (lack) ``name``."""
        sp = self.window.sampler_panel
        sp.clear_conditions()
        if not sp.add_condition(name, has):
            self.show_error(f"unknown attribute {name!r}")
            return None
        return self.generate_now()

    def inspect_face(self, i: int) -> None:
        self.session.select(i, [i])
        self.window.raise_dock("inspectorDock")

    # ---- your own photo
    def open_photo_dialog(self) -> None:
        from .qt_photo import PHOTO_FILTER

        if self.session.model is None or self.session.latents is None:
            self.show_error("open a model with encoded z-points first: a photo is placed in its cloud")
            return
        last = self.settings.value("photo/last", "") or str(pictures_folder())
        paths, _ = QFileDialog.getOpenFileNames(self.window, "Open photo (a face is found, framed and encoded)",
                                                str(last), PHOTO_FILTER)
        for path in paths:
            self.open_photo(Path(path))

    def open_photo(self, path: Path, face_index: Optional[int] = None, no_detect: Optional[bool] = None,
                   replace: Optional[int] = None) -> Optional[Job]:
        """Frame, encode and place one photo on the worker (engine.workflows.photo.place_photos); the face joins
        the session (``session.photos``), is shown in the photo panel and inspected."""
        s, w = self.session, self.window
        if s.model is None or s.latents is None:
            self.show_error("open a model with encoded z-points first: a photo is placed in its cloud")
            return None
        path = Path(path)
        nd = w.photo_panel.no_detect.isChecked() if no_detect is None else bool(no_detect)
        detector = w.photo_panel.detector_name()
        opened = s.model

        def fn(progress, cancel):
            return _frame_photo(opened, path, nd, face_index, progress, cancel, detector)

        def done(entry):
            if self.session.model is not opened:
                return
            self.settings.setValue("photo/last", str(path.parent))
            i = self.session.add_photo(entry, replace=replace)
            w.photo_panel.offer_centre_square(None)
            w.photo_panel.show_photo(i)
            self.inspect_photo(i, raise_panel=False)
            w.raise_dock("photoDock")
            r = entry.result
            self.status(f"{path.name}: {r.verdict} — farther out than {r.percentile:.1f} % of the "
                        f"training z-points ({r.framing})", 10000)

        def failed(error):
            from engine.errors import NoFaceFound

            self.show_error(error, title="open photo failed")
            w.photo_panel.offer_centre_square(str(path) if isinstance(getattr(error, "exc", None), NoFaceFound) else None)

        return self.run_job(f"open photo ({path.name})", fn, done, on_error=failed)

    def put_back_photo(self, i: int) -> Optional[Job]:
        """The photo panel's "after" of ``photos[i]``: the face put back at the photo's own resolution, on the worker
        (engine.workflows.photo.put_back_view: reading a big photo again and warping takes longer than a frame)."""
        from engine.workflows.photo import put_back_view

        s, panel = self.session, self.window.photo_panel
        if not 0 <= i < len(s.photos) or s.model is None:
            return None
        key, result, opened = panel.after_key(), s.photos[i].result, s.model
        edited = s.edited_z if s.photo_current == i and s.edited_z is not None else None
        side = max(panel.view.width(), panel.view.height(), 640) * 2  # enough for the view on a dense screen

        def fn(progress, cancel):
            return put_back_view(opened, result, edited, max_side=side, cancel=cancel)

        return self.run_job("put back", fn, lambda picture: panel.set_put_back(key, picture), key="photo-put-back",
                            quiet=True)

    def _photo_face_requested(self, i: int, face_index: int) -> None:
        if 0 <= i < len(self.session.photos):
            e = self.session.photos[i]
            self.open_photo(Path(e.result.source), face_index=face_index, no_detect=False, replace=i)

    def inspect_photo(self, i: int, raise_panel: bool = True) -> None:
        self.session.inspect_photo(i)
        if raise_panel:
            self.window.raise_dock("inspectorDock")

    def _add_direction_slider(self, d) -> None:
        self.window.inspector.add_direction_slider(d)
        self.window.raise_dock("inspectorDock")

    @staticmethod
    def dropped_photos(mime) -> list[Path]:
        """The image files of a drag & drop (opened as photos)."""
        from .qt_photo import is_photo_path

        if mime is None or not mime.hasUrls():
            return []
        return [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile() and is_photo_path(u.toLocalFile())]

    # ---- training
    def show_train_dialog(self) -> None:
        from .qt_train_dialog import TrainDialog

        w = self.window
        if w.train_dialog is None:
            w.train_dialog = TrainDialog(self.bridge, self.settings, w)
            w.train_dialog.model_trained.connect(lambda p: self.open_model(Path(p)))
        w.train_dialog.show()
        w.train_dialog.raise_()

    # ---- the Atlas panel
    def atlas_panel_submit(self, work, done) -> None:
        panel = self.window.atlas_panel

        def reset(*_):
            panel._busy = False

        self.bridge.submit(Job("atlas panel", lambda progress, cancel: work(), on_done=done, on_error=reset,
                               on_cancelled=reset, key="atlas-panel", quiet=True))

    def atlas_panel_follow(self, *_) -> None:
        """The Atlas panel follows the session's axes, statistics and inspected face (only while shown)."""
        s, w = self.session, self.window
        if not w.docks["atlasDock"].isVisible() or w.docks["atlasDock"].visibleRegion().isEmpty():
            return
        if s.stats is None or s.model is None:
            w.atlas_panel.set_model(None, None)
            return
        key = (id(s.stats), s.axes, None if s.current_z() is None else s.current_z().tobytes())
        if key == self._atlas_panel_key:
            return
        self._atlas_panel_key = key
        w.atlas_panel.set_model(s.model.codec, s.stats, s.axes, s.current_z())


def _frame_photo(opened, path: Path, no_detect: bool, face_index: Optional[int], progress, cancel,
                 detector: Optional[str] = None) -> PhotoEntry:
    """Worker side of "open photo": frame, encode and place it (engine.workflows.photo.place_photos: every face
    found comes with it, for the choice among them) and decode the nearest training z-points."""
    from engine.workflows.photo import PhotoOptions, place_photos

    (r,) = place_photos(opened, [path], PhotoOptions(no_detect=no_detect, face=face_index, detector=detector),
                        keep_photo=True, progress=progress, cancel=cancel)
    faces = list(r.faces)  # working-copy pixels, largest first
    index = {f: i for i, f in enumerate(opened.latent_files)}
    rows = [index[f] for f, _d in r.nearest if f in index]
    near = opened.codec.decode(opened.latents[rows]) if len(rows) == len(r.nearest) and rows else None
    return PhotoEntry(r, faces, no_detect, near)
