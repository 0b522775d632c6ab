"""File ▸ Save session… / Open session… / Recent sessions: the window's use cases of a session file
(``engine/workflows/session.py``): what the window adds (workspace, layout, σ-levels, the sampler's fields) is
gathered here, the engine writes and reads the file, and an opened session is put back into the window.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QFileDialog

#: The file dialogs' filter, and how many sessions File ▸ Recent sessions lists.
FILTER = "Latent Face Studio session (*.lfs-session.json)"
MAX_RECENT = 8


class SessionActions:
    """A mixin of the window's actions (``gui/actions.py``): ``window``, ``session``, ``settings``, ``run_job``."""

    # ---- save
    def window_view(self):
        """The window's part of a session: workspace, dock layout, geometry, σ-levels, the sampler's fields."""
        from engine.workflows.session import WindowView

        w = self.window
        sp = w.sampler_panel
        sampler = {"name": sp.sampler_name(), "values": sp.values(), "n": sp.count.value(), "seed": sp.seed.value(),
                   "where": sp.where(), "next_seed": sp.next_seed.isChecked()}
        levels = w.pair_plot.levels() if w.panels_ready() else []
        return WindowView(w.workspace(), bytes(w.saveState()), bytes(w.saveGeometry()), levels, sampler,
                          self._view_range(), panels=self._panel_fields(),
                          docks=[n for n, d in w.docks.items() if not d.isHidden()])

    def _panel_fields(self) -> dict:
        """The panels' own fields a session keeps: the selection's query line, the atlas's grid, base, redraw."""
        w = self.window
        if not w.panels_ready():
            return {}
        a = w.atlas_panel
        return {"selection": {"query": w.selection_panel.query.text()},
                "atlas": {"side": a.side.value(), "base": str(a.base.currentData()), "auto": a.auto.isChecked()}}

    def _set_panel_fields(self, panels: dict) -> None:
        w = self.window
        sel, atlas = panels.get("selection") or {}, panels.get("atlas") or {}
        if isinstance(sel.get("query"), str):
            w.selection_panel.query.setText(sel["query"])
        a = w.atlas_panel
        if isinstance(atlas.get("side"), int):
            a.side.setValue(atlas["side"])
        if a.base.findData(atlas.get("base")) >= 0:
            a.base.setCurrentIndex(a.base.findData(atlas["base"]))
        if isinstance(atlas.get("auto"), bool):
            a.auto.setChecked(atlas["auto"])

    def _view_range(self) -> Optional[tuple]:
        """The pair plot's shown range (x0, x1, y0, y1), or None before it is built or while it shows no cloud."""
        w = self.window
        if not w.panels_ready() or w.session.stats is None:
            return None
        (x0, x1), (y0, y1) = w.pair_plot.plot.getPlotItem().getViewBox().viewRange()
        return (float(x0), float(x1), float(y0), float(y1))

    def _set_view_range(self, view_range) -> None:
        if view_range is not None and len(view_range) == 4:
            x0, x1, y0, y1 = view_range
            self.window.pair_plot.plot.getPlotItem().getViewBox().setRange(xRange=(x0, x1), yRange=(y0, y1),
                                                                           padding=0)

    def save_session_dialog(self) -> None:
        if self.session.model is None:
            self.show_error("Open a model first: a session keeps an exploration of a model.")
            return
        start = str(self._session_folder() / "exploration.lfs-session.json")
        path, _ = QFileDialog.getSaveFileName(self.window, "Save session", start, FILTER)
        if path:
            if not path.endswith(".lfs-session.json"):
                path += ".lfs-session.json"
            self.save_session(Path(path), overwrite=Path(path).exists())

    def save_session(self, path: Path, overwrite: bool = False):
        from engine.workflows.session import save_session

        state, view = self.session.state, self.window_view()

        def done(written):
            self._remember_session(written)
            self.notice(f"session saved: {written}", 8000)

        return self.run_job("save session", lambda progress, cancel: save_session(path, state, view, overwrite=overwrite),
                            done, key="session")

    # ---- open
    def open_session_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open session", str(self._session_folder()), FILTER)
        if path:
            self.open_session(Path(path))

    def open_session(self, path: Path, model_folder: Optional[Path] = None):
        """Read the session on the worker (its model opened, its faces decoded), then put it into the window."""
        from engine.workflows.session import open_session

        def work(progress, cancel):
            return open_session(path, model_folder=model_folder, progress=progress, cancel=cancel)

        return self.run_job("open session", work, self.apply_session, key="open-model",
                            title=f"Opening the session {Path(path).name}")

    def apply_session(self, opened) -> None:
        """Put an opened session (``engine.workflows.session.OpenedSession``) into the window: the model, the
        faces, selection, axes, colouring, path and edit, then the workspace, layout, σ-levels and sampler."""
        w, s, st = self.window, self.session, opened.state
        s.set_model(opened.opened, opened.opened.stats)
        w.setWindowTitle(f"{w.app_name} — {opened.opened.folder.name}")
        w._remember_model(opened.opened.folder)
        if st.sample is not None:
            s.set_sample(st.sample)
            s.select(st.current, st.selected)
        s.set_axes(*st.axes)
        s.set_colour_by(st.colour_by)
        s.set_path_vertices(st.path_vertices)
        for entry in st.photos:  # placed again from their z: the photo files are not read
            s.add_photo(entry)
        if st.directions:
            s.set_directions(st.directions)
            self._list_directions(st.directions)
        if st.photo_current is not None:
            s.inspect_photo(st.photo_current)
        if st.edited_z is not None:
            s.set_edited(st.edited_z)
        s.set_bookmarks(st.bookmarks)
        s.set_cloud_selection(st.cloud_selection)
        s.set_groups(st.groups)
        self._apply_view(opened.view)
        QTimer.singleShot(0, w.dock_layout.keep_on_screen)  # a restored layout can grow the window past the screen
        s.history.clear()  # the restored session is where undo starts
        s.history_changed.emit()
        w.model_loaded.emit()
        self._remember_session(opened.path)
        self.notice(f"session opened: {opened.path}", 8000)

    def _list_directions(self, directions: list) -> None:
        """A session's directions measured on the worker and listed in the direction lab's table."""
        s = self.session
        z, labels, codec, dirs = s.latents, s.labels, s.model.codec, list(directions)
        table = labels if labels is not None and len(labels) == len(z) else None

        def fn(progress, cancel):
            from engine.workflows.directions import measure_set

            res = measure_set(z, dirs, model=codec, table=table, progress=progress, cancel=cancel)
            return res.directions, res.rows

        self.window.directions.show_set(fn)

    def _restore_layout(self, layout: bytes, shown) -> None:
        """The saved dock layout; the docks it did not show are taken out (``restoreState`` leaves a dock its
        state does not hold where it is), and the workspace remembers it."""
        w = self.window
        hide = [d for n, d in w.docks.items() if shown is not None and n not in shown]
        for dock in hide:
            w.removeDockWidget(dock)
        w.restoreState(layout)
        for dock in hide:
            if not dock.isHidden():
                w.removeDockWidget(dock)
        w.dock_layout.stash()

    def _apply_view(self, view) -> None:
        w = self.window
        if view.workspace:
            w.switch_workspace(view.workspace)
        if view.layout:
            self._restore_layout(view.layout, view.docks)
        sp = w.sampler_panel
        sam = view.sampler or {}
        if sam.get("name") and sp.apply_choice(sam["name"], sam.get("values")):
            if isinstance(sam.get("n"), int):
                sp.count.setValue(sam["n"])
            if isinstance(sam.get("seed"), int):
                sp.seed.setValue(sam["seed"])
            if isinstance(sam.get("next_seed"), bool):
                sp.next_seed.setChecked(sam["next_seed"])
            if isinstance(sam.get("where"), str):
                sp.set_where(sam["where"])
        if view.levels:  # the pair plot is built now if it was not yet
            w.pair_plot.set_levels(list(view.levels))
        self._set_view_range(view.view_range)
        if view.panels:  # (builds the late panels if they were not yet)
            self._set_panel_fields(view.panels)

    # ---- the direction lab's table follows undo and redo of its set
    def wire_direction_rows(self) -> None:
        """The direction lab lists a set with its measured rows; a set changed by undo or redo is listed again
        with the rows it was measured with (the rows are kept by direction; a set new to the lab is measured by
        the lab, which lists it itself)."""
        panel, s, kept = self.window.directions, self.session, {}

        def follow() -> None:
            dirs = list(s.directions)
            if all(id(d) in kept for d in dirs):
                rows = [kept[id(d)][1] for d in dirs]
                if {id(r) for r in rows} != {id(r) for r in panel.rows}:
                    panel.rows, panel.sort_key, panel.sort_descending = rows, None, None
                    panel._fill_table()
            elif [r.get("name") for r in panel.rows] == [d.name for d in dirs]:  # the lab's new set, listed already
                kept.update((id(d), (d, r)) for d, r in zip(dirs, panel.rows))

        s.directions_changed.connect(follow)
        s.model_changed.connect(kept.clear)

    # ---- bookmarks (the Bookmarks panel, Edit ▸ Add bookmark)
    def wire_bookmarks(self) -> None:
        panel = self.window.bookmarks
        panel.add_requested.connect(lambda: self.add_bookmark())
        panel.restore_requested.connect(self.restore_bookmark)

    def add_bookmark(self, name: Optional[str] = None):
        """Keep the view as it is now as a bookmark (an undoable step); the bookmark."""
        from engine import bookmarks

        s = self.session
        if s.model is None:
            self.notice("Open a model first: a bookmark keeps a view of its cloud.", 5000)
            return None
        view = self.window_view()
        b = bookmarks.make(s.state, name, view_range=view.view_range, levels=view.levels, sampler=view.sampler,
                           workspace=view.workspace)
        s.set_bookmarks(list(s.bookmarks) + [b], f"Add bookmark {b.name}")
        if self.window.workspace() == "explore":
            self.window.raise_dock("bookmarksDock")
        self.notice(f"bookmark added: {b.name}", 4000)
        return b

    def restore_bookmark(self, i: int) -> None:
        """Go back to bookmark ``i``: its workspace, sampler fields, axes, σ-levels, face or photo, edit, zoom."""
        from engine import bookmarks

        w, s = self.window, self.session
        if not 0 <= i < len(s.bookmarks) or s.model is None:
            return
        r = bookmarks.restore(s.bookmarks[i], s.state)
        if r.workspace and r.workspace != w.workspace():
            w.switch_workspace(r.workspace)
        from engine.workflows.session import WindowView

        self._apply_view(WindowView(sampler=r.sampler))
        s.set_axes(*r.axes)
        if r.levels:
            w.pair_plot.set_levels(r.levels)
        if r.photo_current is not None:
            s.inspect_photo(r.photo_current)
        elif r.current is not None:
            s.select(r.current, r.selected)
        if r.edit is not None:
            s.set_edited(r.edit)
        self._set_view_range(r.view_range)
        self.notice(f"bookmark: {s.bookmarks[i].name}", 3000)

    # ---- the session as a script
    def remember_saved_set(self, folder, params: dict, rows, columns) -> None:
        """A set saved in this window: File ▸ Save as script makes it again (a model switch forgets them)."""
        from engine.workflows.script import SavedSetEntry

        self.saved_sets.append(SavedSetEntry(str(folder), dict(params), None if rows is None else tuple(rows),
                                             columns))

    def save_script_dialog(self) -> None:
        if not self.saved_sets:
            self.show_error("No image set was saved with this model yet: File ▸ Save image set… first; the script "
                            "makes the saved sets again.")
            return
        start = str(self._session_folder() / "make-sets.py")
        path, _ = QFileDialog.getSaveFileName(self.window, "Save as script", start, "Python script (*.py)")
        if path:
            self.save_script(Path(path), overwrite=Path(path).exists())

    def save_script(self, path: Path, overwrite: bool = False):
        from engine.workflows.script import save_script

        sets, folder = list(self.saved_sets), self.session.model.folder

        def done(written):
            self.notice(f"script saved: {written} (makes {len(sets)} image set(s) again)", 8000)

        return self.run_job("save script", lambda progress, cancel: save_script(path, folder, sets, overwrite=overwrite),
                            done)

    # ---- recent
    def _session_folder(self) -> Path:
        recent = self.recent_sessions()
        return Path(recent[0]).parent if recent and Path(recent[0]).parent.is_dir() else self.save_parent()

    def recent_sessions(self) -> list[str]:
        v = self.settings.value("recent/sessions", [])
        return [str(x) for x in (v if isinstance(v, list) else [v] if v else [])]

    def _remember_session(self, path: Path) -> None:
        items = [str(path)] + [r for r in self.recent_sessions() if r != str(path)]
        self.settings.setValue("recent/sessions", items[:MAX_RECENT])
        self.refresh_recent_sessions()

    def refresh_recent_sessions(self) -> None:
        menu = getattr(self.window, "recent_sessions_menu", None)
        if menu is None:
            return
        menu.clear()
        for r in self.recent_sessions():
            menu.addAction(r).triggered.connect(lambda *_, p=r: self.open_session(Path(p)))
        menu.setEnabled(bool(self.recent_sessions()))
