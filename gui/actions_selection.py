"""The Selection panel's use cases (a mixin of the window's actions, ``gui/actions.py``): select by a query, export
the selection, generate faces like it, say what distinguishes it — each one job of
``engine/workflows/selection.py`` on the worker, its result put into the session or shown."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtWidgets import QDialog, QFileDialog, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout

#: Rows the "what distinguishes it" table shows.
DISTINGUISH_ROWS = 20


class SelectionActions:
    """Uses ``window``, ``session``, ``run_job``, ``show_error``, ``status`` of the window's actions."""

    def wire_selection_panel(self, panel) -> None:
        panel.query_entered.connect(self.select_by_query)
        panel.action_requested.connect(self.selection_action)

    def _selection_space(self):
        """The open model's query space (built on the worker, once per model)."""
        from engine.workflows.selection import selection_space

        model = self.session.model
        cached = getattr(self, "_sel_space", None)
        if cached is None or cached[0] is not model:
            cached = (model, selection_space(model))
            self._sel_space = cached
        return cached[1]

    def select_by_query(self, text: str) -> Optional[object]:
        """The query line's Enter: the z-points the query holds for become the cloud's selection."""
        from engine.selection import CloudSelection

        panel = self.window.selection_panel
        if not text or self.session.model is None:
            return None
        model = self.session.model

        def fn(progress, cancel):
            from engine.workflows.selection import select

            return select(self._selection_space(), text, stats=False)

        def done(found):
            if self.session.model is model:
                panel.query_note.setText("")
                self.session.set_cloud_selection(CloudSelection(found.mask, f"query {found.query}"))

        def failed(error):
            panel.query_note.setText(str(error))

        return self.run_job("select by query", fn, done, key="selection-query", on_error=failed, quiet=True)

    def selection_action(self, key: str) -> None:
        sel, model = self.session.cloud_selection, self.session.model
        if sel is None or not sel.count or model is None:
            return
        if key == "generate":
            self.generate_like_selection(sel)
        elif key == "distinguish":
            self.distinguish_selection(sel, self.window.selection_panel.against_group())
        elif key == "keep":
            self.keep_selection(sel)
        elif key == "export":
            target, _ = QFileDialog.getSaveFileName(
                self.window, "Export the selection — name a new folder (it is created)",
                str(self.save_parent() / "selection"), "Folder (*)", options=QFileDialog.Option.DontConfirmOverwrite)
            if target:
                self.export_selection(sel, Path(target))

    def _as_selection(self, sel, stats: bool):
        from engine.workflows.selection import Selection

        res = Selection(sel.how or "selection", sel.mask)
        if stats:
            from engine.group_stats import group_stats

            res.stats = group_stats(self._selection_space().cloud(), sel.mask)
        return res

    def generate_like_selection(self, sel):
        """Faces from the sampler panel's sampler fitted to the selected z-points; they replace the grid."""
        from engine.explore_state import Sample

        sp, model = self.window.sampler_panel, self.session.model
        sampler, n, seed, values = sp.sampler_name(), sp.count.value(), sp.seed.value(), sp.values()

        def fn(progress, cancel):
            from engine.workflows.selection import generate_like

            return generate_like(model, sel.mask, sampler, n, seed, values=values, quality=True, cancel=cancel)

        def done(gen):
            if self.session.model is not model:
                return
            params = {"sampler": sampler, "parameters": dict(gen.values), "seed": int(seed), "n": int(n),
                      "model_id": model.model_id, "model_folder": str(model.folder),
                      "like": {"selection": sel.how, "points": int(gen.selected), "fit_points": int(gen.fit_points)}}
            self.session.set_sample(Sample(gen.z, gen.images, params))
            self.window.raise_dock("faceGridDock")
            q = gen.quality or {}
            g, h = q.get("generated") or {}, q.get("held_out") or {}
            measured = (f"; inside the selection's 2σ ellipsoid: {g['inside_2s']:.0%} of them, {h['inside_2s']:.0%} of "
                        f"its own held-out members; nearest-neighbour ratio {g['nn_ratio']:.2f} vs "
                        f"{h['nn_ratio']:.2f}") if g and h else ""
            self.last_like_quality = q
            self.notice(f"{n} faces like the {gen.selected:,} selected z-points ({sampler}, fitted on "
                        f"{gen.fit_points:,}){measured}", 15000)

        return self.run_job("generate like the selection", fn, done, key="generate",
                            title=f"Generating {n} faces like the selection ({sampler})")

    def keep_selection(self, sel, name: Optional[str] = None) -> Optional[str]:
        """Keep the selection as a named group (asked for when ``name`` is None); an undoable step."""
        groups = list(self.session.groups)
        if name is None:
            from PySide6.QtWidgets import QInputDialog

            default = f"group {len(groups) + 1} ({sel.count:,})"
            name, ok = QInputDialog.getText(self.window, "Keep as group", "Name of the group:", text=default)
            if not ok:
                return None
        name = name.strip() or f"group {len(groups) + 1}"
        groups = [(n, g) for n, g in groups if n != name] + [(name, sel)]
        self.session.set_groups(groups, f"Keep as group “{name}”")
        return name

    def distinguish_selection(self, sel, against=None):
        """What separates the selection from the rest of the cloud, or from the group ``against`` (name, selection)."""
        vs = "the rest" if against is None else against[0]

        def fn(progress, cancel):
            from engine.group_stats import direction_between, group_stats
            from engine.workflows.selection import distinguish_rows

            basis = self._selection_space().cloud()
            other = ~sel.mask if against is None else against[1].mask
            rows = distinguish_rows(group_stats(basis, sel.mask, None if against is None else other,
                                                other=None if against is None else against[0]))
            return rows, direction_between(basis, other, sel.mask, f"{vs} → {sel.how or 'selection'}")

        return self.run_job("what distinguishes the selection", fn, lambda res: self._show_rows(sel, *res, vs),
                            key="selection-distinguish")

    def _show_rows(self, sel, rows: list, direction=None, vs: str = "the rest") -> None:
        dlg = QDialog(self.window)
        dlg.setObjectName("distinguishDialog")
        dlg.setWindowTitle(f"What distinguishes {sel.count:,} z-points ({sel.how}) from {vs}")
        cols = ("rank", "kind", "name", "auc", "smd", "group", "other")
        table = QTableWidget(min(len(rows), DISTINGUISH_ROWS), len(cols))
        table.setHorizontalHeaderLabels(["#", "kind", "name", "AUC", "SMD (σ)", "selection", "rest"])
        for i, row in enumerate(rows[:DISTINGUISH_ROWS]):
            for j, c in enumerate(cols):
                v = row.get(c)
                table.setItem(i, j, QTableWidgetItem(f"{v:.3f}" if isinstance(v, float) else str(v)))
        table.verticalHeader().setVisible(False)  # the rank is a column of its own
        table.resizeColumnsToContents()
        lay = QVBoxLayout(dlg)
        lay.addWidget(table)
        if direction is not None:  # the direction between the two groups, to edit faces along it
            btn = QPushButton(f"Edit along {vs} → selection ({direction.meta['amount']:.2f} σ apart) in the inspector")
            btn.setObjectName("directionBetweenButton")
            btn.clicked.connect(lambda *_: (self.window.inspector.add_direction_slider(direction),
                                            self.window.raise_dock("inspectorDock")))
            lay.addWidget(btn)
        dlg.direction = direction
        dlg.resize(min(720, self.window.width() - 40), min(520, self.window.height() - 60))
        dlg.show()
        self.window._distinguish_dialog = dlg

    def export_selection(self, sel, out: Path):
        from engine.workflows.selection import EXPORT_KINDS, MAX_EXPORT_IMAGES

        model, data = self.session.model, getattr(self.session.dataset, "folder", None)
        kinds = EXPORT_KINDS if sel.count <= MAX_EXPORT_IMAGES else tuple(k for k in EXPORT_KINDS if k != "images")

        def fn(progress, cancel):
            from engine.workflows.selection import export_selection

            return export_selection(model, self._as_selection(sel, stats=True), out, kinds, data=data,
                                    progress=progress)

        def done(result):
            folder, files = result
            self.status(f"selection exported to {folder}: {len(files)} files", 8000)

        return self.run_job("export the selection", fn, done, key="selection-export")
