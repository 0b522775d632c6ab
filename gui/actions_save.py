"""The window's use cases that write the user's files: image sets, photo results, the report, the movie, and the
plots' and faces' exports (PNG, SVG, CSV, clipboard).

:class:`SaveActions` is the base of the window's one actions object (:class:`gui.actions.WindowActions`): it holds
the window, its session, engine bridge and settings, and the small helpers every handler uses. Each handler asks
what it must (a file dialog, "replace?", "a new folder inside it instead?"), checks the engine's folder rules
before any work, and submits one :class:`~gui.engine_bridge.Job` to the bridge; the window's status bar says what
was written.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox

from .actions_session import SessionActions
from .dialogs import inspect_folder_quietly, offer_subfolder, pictures_folder, unique_child
from .engine_bridge import Job


class SaveActions(SessionActions):
    """Saving and exporting, on behalf of ``window`` (a :class:`gui.main_window.MainWindow`)."""

    def __init__(self, window) -> None:
        self.window = window
        self.session = window.session
        self.bridge = window.bridge
        self.settings = window.settings

    # ---- helpers
    def run_job(self, name: str, fn, on_done=None, **kw) -> Job:
        return self.bridge.submit(Job(name, fn, on_done=on_done, **kw))

    def show_error(self, message: str, title: str = "Error") -> None:
        self.window.show_error(message, title=title)

    def status(self, message: str, ms: int) -> None:
        self.window.statusBar().showMessage(message, ms)

    def notice(self, message: str, ms: int = 10000) -> None:
        """A result worth reading: the status bar, and ``window.last_notice``."""
        self.window.last_notice = message
        self.status(message, ms)

    # ---- image sets
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
            self.window, "Save image set — name a new folder (it is created)", str(target), "Folder (*)",
            options=QFileDialog.Option.DontConfirmOverwrite)
        if path:
            self.save_image_set(Path(path), which=which)

    def _set_folder_refused(self, folder: Path, problem: str, interactive: bool) -> Optional[Path]:
        """``folder`` was refused for a set: a new subfolder inside it when it holds the user's own files (e.g. the
        parent of the set typed by mistake) and the user agrees; else the error, and None."""
        holder = inspect_folder_quietly(folder)
        if holder is None or not holder.foreign or holder.ours or not interactive:
            self.show_error(problem)
            return None
        sub = unique_child(folder, self.set_folder_name())
        more = len(holder.foreign) - 3
        shown = ", ".join(holder.foreign[:3]) + (f" and {more} more" if more > 0 else "")
        return offer_subfolder(
            self.window, "Save image set", f"{folder} holds files that {self.window.app_name} did not write ({shown}); "
            "a set is never saved among them.", sub)

    def save_image_set(self, folder: Path, which: str = "all", overwrite: Optional[bool] = None) -> Optional[Job]:
        """Write the grid (``which="all"``) or the selection as an image set in the CLI format."""
        from engine.errors import EngineError
        from engine.workflows.save_set import check_set_folder

        s = self.session
        if s.sample is None or s.model is None:
            return None
        folder = Path(folder)
        model_folder = s.model.folder
        try:  # the CLI's folder rules: never into a folder of the user's own files, nor inside the model's
            state = check_set_folder(folder, model_folder, overwrite=True, label="save into")
        except EngineError as exc:
            folder = self._set_folder_refused(folder, str(exc), interactive=overwrite is None)
            if folder is None:
                return None
            state = check_set_folder(folder, model_folder, overwrite=True, label="save into")
        if state.ours and not overwrite:
            if overwrite is None:
                ans = QMessageBox.question(self.window, "Save image set", f"{folder} already holds {state.what}.\n"
                                           "Replace its files? (files you added there are kept)",
                                           QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                           QMessageBox.StandardButton.No)
                if ans != QMessageBox.StandardButton.Yes:
                    return None
            else:
                self.show_error(f"{folder}: already holds {state.what}; not overwritten")
                return None
        sample = s.sample
        rows = list(s.selected) if which == "selection" else None
        cols = self.window.face_grid.columns.value() or None

        def fn(progress, cancel):
            # staged and moved into place by the engine: a failed write leaves the previous set intact
            from engine.progress import Progress
            from engine.workflows.save_set import save_set

            progress(Progress("save image set", 0, 1, str(folder)))
            return save_set(folder, model_folder, sample.z, sample.params, sample.images, rows=rows, overwrite=True,
                            grid_columns=cols)

        def done(saved):
            self.settings.setValue("save/last", str(folder))
            self.remember_saved_set(saved.folder, sample.params, rows, cols)
            self.status(f"saved {saved.count} faces to {saved.folder}", 8000)

        return self.run_job("save image set", fn, done)

    # ---- photo results
    def save_photo_dialog(self, i: int) -> None:
        s = self.session
        if not 0 <= i < len(s.photos):
            self.show_error("no photo to save: File ▸ Open photo… first")
            return
        stem = Path(s.photos[i].result.source).stem
        target = unique_child(self.save_parent(), f"photo-{stem}")
        path, _ = QFileDialog.getSaveFileName(
            self.window, "Save photo results — name a new folder (it is created)", str(target), "Folder (*)",
            options=QFileDialog.Option.DontConfirmOverwrite)
        if path:
            self.save_photo(Path(path), i)

    def save_photo(self, folder: Path, i: int, interactive: bool = True) -> Optional[Job]:
        """Write ``folder/<stem>/`` (engine.workflows.photo.save_photos: aligned.png, reconstruction.png, z.npy,
        photo.json, put-back.png) for ``photos[i]``; the inspector's edited z goes into photo.json, and its edit
        into put-back.png, when it edits this photo."""
        from engine.errors import EngineError
        from engine.photo import photo_stems
        from engine.workflows.photo import check_photos_output

        s = self.session
        if not 0 <= i < len(s.photos) or s.model is None:
            return None
        entry = s.photos[i]
        folder = Path(folder)
        stems = photo_stems([entry.result])
        try:  # the folder rules of the photo workflow, checked before any work: never among the user's own files
            check_photos_output(s.model.folder, folder, [entry.result.source])  # nor inside the model's or photo's
        except EngineError as exc:
            holder = inspect_folder_quietly(folder)
            if not interactive or holder is None or not holder.foreign:
                self.show_error(str(exc))
                return None
            folder = offer_subfolder(self.window, "Save photo results", str(exc),
                                     unique_child(folder, f"photo-{stems[0]}"))
            if folder is None:
                return None
        edited_z = s.edited_z if s.photo_current == i and s.edited_z is not None else None
        opened = s.model

        def fn(progress, cancel):
            from engine.progress import Progress
            from engine.workflows.photo import save_photos

            progress(Progress("save photo", 0, 1, str(folder)))
            from engine.workflows.photo import PhotoOptions

            # put-back.png: the photo with the face put back (the inspector's edit added to it when it edits this one)
            return save_photos(opened, folder, [entry.result], PhotoOptions(put_back=True), edited_z=edited_z,
                               cancel=cancel)

        def done(written):
            self.settings.setValue("save/last", str(folder))
            self.status(f"saved {entry.name} to {written[0]}", 8000)

        return self.run_job("save photo", fn, done)

    # ---- report
    def export_report_dialog(self) -> None:
        """File ▸ Export report…: which parts, each with its expected time (:class:`gui.qt_report_dialog.ReportDialog`),
        then where (a new folder)."""
        from engine.workflows.estimates import expected_report_parts

        from .qt_report_dialog import ReportDialog

        s = self.session
        if s.model is None:
            self.show_error("open a model first")
            return
        if s.model.latents is None:
            self.show_error("a report needs the model's z-points: encode a dataset first")
            return
        data = getattr(s.dataset, "folder", None)
        dlg = ReportDialog(self.window, expected_report_parts(s.model, data), has_data=data is not None)
        self.report_dialog = dlg  # (tests read it)
        if not dlg.exec():
            return
        parts = dlg.parts()
        target = unique_child(self.save_parent(), f"report-{s.model.folder.name}")
        path, _ = QFileDialog.getSaveFileName(
            self.window, "Export report — name a new folder (it is created)", str(target), "Folder (*)",
            options=QFileDialog.Option.DontConfirmOverwrite)
        if path:
            self.export_report(Path(path), parts=parts, expected=dlg.expected())

    def export_report(self, folder: Path, parts=None, expected=None) -> Optional[Job]:
        """File ▸ Export report: engine.workflows.report.report_of_model on the worker (the open model as it is), into
        a new folder (never into a folder of the user's own files, nor the model's or data folder). ``parts``: the
        report's parts (default: all but the sampler comparison, which takes minutes and is asked for)."""
        from engine.errors import EngineError
        from engine.workflows.report import ReportOptions, check_report_output

        from .qt_report_dialog import DEFAULT_PARTS

        s = self.session
        if s.model is None:
            self.show_error("open a model first")
            return None
        folder = Path(folder)
        data = getattr(s.dataset, "folder", None)
        options = ReportOptions(parts=list(DEFAULT_PARTS if parts is None else parts))
        try:
            check_report_output(s.model.folder, folder, data=data, options=options)
        except EngineError as exc:
            self.show_error(str(exc))
            return None
        model = s.model
        if expected is None and model.latents is not None:
            from engine.workflows.estimates import Expected, expected_report_parts

            each = expected_report_parts(model, data)
            expected = sum((each[p] for p in options.parts), Expected(0.0))

        def fn(progress, cancel):
            from engine.workflows.report import report_of_model

            return report_of_model(model, folder, data=data, options=options, progress=progress, cancel=cancel)

        def done(report):
            self.notice(f"report written to {report.folder} ({report.seconds:.1f} s)")

        return self.run_job("export report", fn, done, key="export-report", expected=expected,
                            title=f"Writing the report ({', '.join(options.parts)})")

    # ---- movie
    def export_movie_dialog(self) -> None:
        from .qt_movie_dialog import MovieDialog

        s = self.session
        if s.model is None or s.stats is None:
            self.show_error("open a model with z-points first")
            return
        dlg = MovieDialog(self.window, can_path=self._movie_ends() is not None, axis=s.axes[0],
                          directions=s.directions, attributes=list(s.labels.names) if s.labels is not None else [],
                          has_face=s.current_z() is not None, grid_faces=len(s.sample.z) if s.sample else 0)
        if dlg.exec():
            o = dlg.options()
            suffix = ".mp4" if o["format"] == "mp4" else ".gif"
            target = unique_child(self.save_parent(), f"movie-{s.model.folder.name}{suffix}")
            path, _ = QFileDialog.getSaveFileName(self.window, "Export movie", str(target),
                                                  f"{o['format'].upper()} (*{suffix})")
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
                     method: str = "linear", value_range: str = "-3:3", along=None) -> Optional[Job]:
        """File ▸ Export movie: a film (``gui.qt_movie_dialog.film_work``) on the worker — the cloud's centre, the
        inspected face or the whole grid moved along ``along`` (default the pair plot's x axis), or the path from
        the inspected face to the other selected face."""
        from engine.workflows.movie import MovieOptions

        from .qt_movie_dialog import film_work

        s = self.session
        if s.model is None or s.stats is None:
            self.show_error("open a model with z-points first")
            return None
        options = MovieOptions(frames=int(frames), fps=float(fps), size=int(size), method=method,
                               value_range=value_range)
        columns = self.window.face_grid.columns.value() or None
        fn, problem = film_work(s, out, kind, along, options, columns,
                                self._movie_ends() if kind == "path" else None)
        if fn is None:
            self.show_error(problem)
            return None

        def done(movie):
            from engine.workflows.movie import movie_summary

            self.notice(movie_summary(movie))

        return self.run_job("export movie", fn, done, key="export-movie")

    # ---- the plots' and faces' exports
    def wire_exports(self) -> None:
        """PNG (1×/2×/4×), SVG, CSV and the clipboard on every plot's right-click menu and a corner button;
        the face grid, the atlas and the path strip as PNG (``window.export_menus``, ``face_grid_export_menu``)."""
        from PySide6.QtWidgets import QMenu

        from engine.image_sets import make_grid  # noqa: F401 - loaded here, on the late build, not at a first export
        from .qt_export import add_export_actions, image_actions

        w = self.window
        plots = [(w.pair_plot.plot, "pair-plot"), (w.components.plot, "component-histogram"),
                 (w.correlations.plot, "correlations"), (w.pca_panel.var_plot, "pca-explained-variance"),
                 (w.pca_panel.norm_plot, "normality-check"), (w.pca_panel.md_plot, "mahalanobis-histogram"),
                 (w.pca_panel.cloud_plot, "pca-cloud"), (w.compare.bar_plot, "sampler-comparison"),
                 (w.compare.sweep_plot, "sampler-sweep"), (w.model_panel.loss_plot, "training-loss"),
                 (w.inspector.z_plot, "inspector-z"), (w.inspector.place_plot, "inspector-place"),
                 (w.path_panel.plot, "path-mahalanobis"), (w.atlas_panel.plot, "atlas")]
        w.export_menus = {}
        for plot, name in plots:
            w.export_menus[name] = add_export_actions(plot, w, name)
        for menu_name, src, name in (("pair-plot", self._atlas_image, "atlas"), ("atlas", self._atlas_image, "atlas"),
                                     ("path-mahalanobis", w.path_panel.strip_image, "path-strip")):
            sub = w.export_menus[menu_name].addMenu(f"Faces ({name}) as PNG")
            for a in image_actions(w, src, name):
                sub.addAction(a)
        grid_menu = QMenu(w.face_grid)
        for a in image_actions(w, self._grid_image, "faces"):
            grid_menu.addAction(a)
        w.face_grid_export_menu = grid_menu
        lst = w.face_grid.list
        lst.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        lst.customContextMenuRequested.connect(lambda pos: grid_menu.exec(lst.mapToGlobal(pos)))

    def _grid_image(self):
        from engine.image_sets import make_grid

        s = self.session
        return None if s.sample is None else make_grid(s.sample.images, self.window.face_grid.columns.value() or None)

    def _atlas_image(self):
        a = self.window.atlas_panel.layer.atlas or self.window.pair_plot.atlas_layer.atlas
        return None if a is None else a.mosaic()
