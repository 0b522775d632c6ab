"""A model switch leaves no stale value (issue 24, finding 9): on model A a point is decoded with the plot's Decode
tool, the pointer's readout shown and a path drawn and decoded with the Path tool (real clicks); then File ▸ Open
model folder… (Ctrl+O, the path typed into the real file dialog) opens model B, a copy in another folder; then a
model without z-points. After each open the window shows what a window that opened that model directly shows,
field by field (tests/gui/test_model_switch.py's ``window_values``)."""
from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _values_module():
    spec = importlib.util.spec_from_file_location("model_switch_values", ROOT / "tests/gui/test_model_switch.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _open_by_dialog(rw, folder: Path) -> None:
    """File ▸ Open model folder… by its shortcut; the folder typed into the dialog, as a user does."""
    from PySide6.QtCore import QTimer

    w = rw.window
    rw.activate()

    def type_folder():  # inside the dialog's own event loop (it is modal: the scenario waits until it closes)
        seen = [d for d in w.findChildren(_file_dialog()) if d.isVisible()]
        rw.typed.append(len(seen))
        rw.xdotool("type", "--delay", 10, str(folder))
        rw.xdotool("key", "Return")

    rw.typed = getattr(rw, "typed", [])
    QTimer.singleShot(1500, type_folder)
    rw.key("ctrl+o")
    rw.wait_until(lambda: w.session.model is not None and w.session.model.folder == folder, 30, f"{folder} open")
    rw.wait_idle(60)


def _file_dialog():
    from PySide6.QtWidgets import QFileDialog

    return QFileDialog


def _fresh_values(rw, mod, folder: Path, like) -> dict:
    """What a window that opened ``folder`` directly shows (the user's choices of ``like`` made there too)."""
    from harness import build_window

    fresh = build_window(folder, rw.out / f"fresh-{folder.name}", (like.width(), like.height()))
    rw.wait_until(lambda: fresh.panels_ready() and not fresh.bridge.busy(), 90, "the fresh window")
    fresh.directions.tabs.setCurrentIndex(like.directions.tabs.currentIndex())
    for name, dock in like.docks.items():  # the same docks in front (the Atlas panel follows the model when shown)
        if dock.isVisible() and not dock.visibleRegion().isEmpty():
            fresh.raise_dock(name)
    fresh.window_actions.atlas_panel_follow()
    rw.wait_until(lambda: not fresh.bridge.busy(), 60, "the fresh window's jobs")
    rw.process(300)
    values = mod.window_values(fresh)
    fresh.close()
    return values


def run(rw) -> dict:
    from gui.plot_tools import PlotMode

    mod = _values_module()
    w = rw.window
    s, pp = w.session, w.pair_plot
    first = s.model.folder
    b = rw.out / "model-b"
    shutil.copytree(first, b)
    bare = rw.out / "model-bare"
    shutil.copytree(first, bare)
    for name in ("latents.npy", "latent_names.txt"):
        (bare / name).unlink(missing_ok=True)

    w.raise_dock("pairPlotDock")
    rw.process(200)
    vb = pp.plot.getPlotItem().getViewBox()
    r = vb.sceneBoundingRect()
    inside = [(int(r.x() + r.width() * fx), int(r.y() + r.height() * fy)) for fx, fy in ((0.45, 0.5), (0.3, 0.35),
                                                                                       (0.7, 0.65))]
    rw.click(pp.tool_bar.buttons[PlotMode.DECODE])
    rw.click(pp.plot, at=inside[0])  # a real click decodes the point
    rw.move_to(pp.plot, at=(inside[0][0] + 5, inside[0][1] + 5))  # the readout follows the pointer
    rw.click(pp.tool_bar.buttons[PlotMode.PATH])
    rw.click(pp.plot, at=inside[1])
    rw.click(pp.plot, at=inside[2])  # the second point decodes the path
    rw.wait_idle(60)
    used = {"probe": pp.probe is not None, "inspector button": pp.probe_btn.isEnabled(),
            "readout": pp.coords.text().strip(), "path faces": 0 if w.path_panel.path is None else len(w.path_panel.path),
            "diagnostics": w.sampler_panel.diagnostics.text()}
    rw.shot("model-a-used")

    _open_by_dialog(rw, b)
    rw.move_to(w.face_grid)  # the pointer off the plot: a readout now would be the new model's
    rw.shot("model-b-opened")
    after_b = {"probe": pp.probe is not None, "inspector button": pp.probe_btn.isEnabled(),
               "readout": pp.coords.text().strip(), "path faces": 0 if w.path_panel.path is None else len(w.path_panel.path),
               "path vertices": len(s.path_vertices)}
    diff_b = mod.differences(mod.window_values(w), _fresh_values(rw, mod, b, w))

    _open_by_dialog(rw, bare)
    rw.shot("model-without-z-points-opened")
    diff_bare = mod.differences(mod.window_values(w), _fresh_values(rw, mod, bare, w))
    return {"dialogs seen": rw.typed, "first": str(first), "used": used, "after b": after_b, "model": str(s.model.folder),
            "differences after b": diff_b, "differences after the model without z-points": diff_bare}
