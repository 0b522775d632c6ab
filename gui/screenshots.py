"""Renders the documentation screenshots offscreen: the main window, the inspector and every panel.

    python -m gui.screenshots OUT_DIR [--model DIR] [--data DIR] [--sampler NAME] [--all-panels] [--compare]
    python -m gui.screenshots OUT_DIR --first-hour [--model DIR]

Writes OUT_DIR/main-window.png and OUT_DIR/inspector.png (and with --all-panels one PNG per panel
and the training dialog, for checking them by eye).

With --first-hour it also writes OUT_DIR/first-hour/: what a new user sees, at 1280×720 and at 1600×1000 —
the default layout after the first grid, every workspace with every panel docked (the k-th tab of each group of
tabbed docks raised together), the window after a conditional generate and after a shrink and re-maximise. The PNGs are
quantized to 256 colours (small enough to commit); the faces are decoded by the model, no dataset image.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path


def main(argv=None) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--model")
    ap.add_argument("--data", help="dataset folder (shows the nearest training images in the inspector)")
    ap.add_argument("--sampler", default=None, help="default: the window's own first sampler (normal)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--all-panels", action="store_true")
    ap.add_argument("--compare", action="store_true", help="run the sampler comparison for its panel (slow)")
    ap.add_argument("--compare-n", type=int, default=128)
    ap.add_argument("--first-hour", action="store_true",
                    help="write OUT_DIR/first-hour/: the default layout, every panel docked, a conditional generate "
                         "and a shrink/re-maximise, at 1280×720 and 1600×1000")
    a = ap.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from gui.app import make_app
    from gui.main_window import MainWindow

    app = make_app()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    settings = QSettings(str(Path(tempfile.mkdtemp(prefix="lfs-shots-")) / "s.ini"), QSettings.Format.IniFormat)
    w = MainWindow(model_dir=Path(a.model) if a.model else None, sampler=a.sampler, settings=settings,
                   restore_state=False, auto_generate=False)
    w.resize(1600, 1000)
    w.show()
    w.wait_idle(600)
    if w.session.model is None:
        print(f"error: {w.last_error or 'no model'}", file=sys.stderr)
        return 2
    w.sampler_panel.seed.setValue(a.seed)
    w.generate_now()
    w.wait_idle(600)
    if a.data:
        w.open_dataset(Path(a.data))
        w.wait_idle(600)
    s = w.session
    face = min(5, len(s.sample.z) - 1)
    w.face_grid.click_face(face)
    w.inspect_face(face)
    w.wait_idle(60)
    w.pair_plot.layer_boxes["points"].setChecked(True)
    app.processEvents()
    ok = w.grab().save(str(out / "main-window.png"))

    # the inspector, floated large, with PC1 moved by +1.5σ
    insp = w.inspector
    sl = insp.sliders[0]
    sl.setValue(min(sl.maximum(), sl.value() + 150))
    insp._decode_timer.stop()
    insp._submit_decode()
    w.wait_idle(60)
    dock = w.docks["inspectorDock"]
    dock.setFloating(True)
    dock.resize(980, 760)
    app.processEvents()
    w.wait_idle(10)
    ok &= dock.grab().save(str(out / "inspector.png"))
    dock.setFloating(False)
    app.processEvents()

    if a.all_panels:
        if a.compare:
            w.compare.n.setValue(a.compare_n)
            w.compare.run()
            w.wait_idle(1800)
        for name, dock in w.docks.items():
            if name == "inspectorDock":
                continue
            dock.setFloating(True)
            dock.resize(900, 640)
            dock.show()
            app.processEvents()
            dock.grab().save(str(out / f"panel-{name}.png"))
            dock.setFloating(False)
            app.processEvents()
        w.show_train_dialog()
        dlg = w.train_dialog
        dlg.show()
        app.processEvents()
        dlg.grab().save(str(out / "train-dialog.png"))
    w.close()
    QApplication.processEvents()
    if a.first_hour:
        ok &= first_hour(app, out / "first-hour", model=Path(a.model) if a.model else None) == 0
    return 0 if ok else 1


#: The window sizes of the first-hour pictures: a small laptop screen and the window's first size.
FIRST_HOUR_SIZES = ((1280, 720), (1600, 1000))


def save_quantized(widget, path: Path) -> int:
    """Grab ``widget`` and write it as a 256-colour PNG; return its size in bytes."""
    import numpy as np
    from PIL import Image
    from PySide6.QtGui import QImage

    img = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    rgb = np.frombuffer(img.constBits(), np.uint8, count=bpl * h).reshape(h, bpl)[:, :3 * w].reshape(h, w, 3)
    # median cut refined by two k-means passes: plain median cut left the small faces blotchy
    Image.fromarray(rgb.copy()).quantize(colors=256, method=Image.Quantize.MEDIANCUT, kmeans=2).save(path, optimize=True)
    return path.stat().st_size


def _settle(app, w, ms: int = 300) -> None:
    """Process events for ``ms`` (the window's own timers: the sampler width, the tab titles, the atlas)."""
    import time

    end = time.monotonic() + ms / 1000
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)
    w.wait_idle(120)


def _photo_file(folder: Path) -> Path:
    """skimage's astronaut (public domain: NASA) as a PNG: a real photo for the photo panel, not a dataset face."""
    from PIL import Image
    from skimage import data

    path = folder / "astronaut.png"
    Image.fromarray(data.astronaut()).save(path)
    return path


def first_hour(app, out: Path, model=None) -> int:
    """The first-hour pictures (module docstring); 0 when every picture was written and the window kept its size."""
    import shutil

    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="lfs-first-hour-"))
    photo = _photo_file(tmp)
    try:
        return _first_hour(app, out, model, photo, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _first_hour(app, out: Path, model, photo: Path, tmp: Path) -> int:
    from PySide6.QtCore import QSettings

    from gui.main_window import MainWindow

    ok = True
    for W, H in FIRST_HOUR_SIZES:
        settings = QSettings(str(tmp / f"s-{W}x{H}.ini"), QSettings.Format.IniFormat)
        w = MainWindow(model_dir=model, settings=settings, restore_state=False)
        w.resize(W, H)
        w.show()
        w.wait_idle(600)
        if w.session.model is None or w.session.sample is None:
            print(f"error: {w.last_error or 'no model'}", file=sys.stderr)
            return 2
        _settle(app, w)
        shots: dict[str, int] = {}

        def shot(name: str) -> None:
            nonlocal ok
            shots[name] = save_quantized(w, out / name)
            if (w.width(), w.height()) != (W, H):
                print(f"{name}: the window is {w.width()}×{w.height()}, not {W}×{H}", file=sys.stderr)
                ok = False

        shot(f"default-{W}x{H}.png")

        # every panel with something in it: the attribute ranking, a photo, PCA directions, a path, a comparison
        s = w.session
        w.face_grid.click_face(min(5, len(s.sample.z) - 1))
        w.attributes.ensure_ranking()
        w.wait_idle(300)
        if s.latents is not None:
            w.open_photo(photo)
            w.wait_idle(300)
        w.directions.compute("pca", 10)
        w.wait_idle(300)
        w.inspect_face(min(5, len(s.sample.z) - 1))  # the inspector (and the path's plane) back on a face
        w.wait_idle(60)
        sd = [float(v) ** 0.5 for v in s.stats.pca.explained_variance[:2]]  # the default axes: PC1, PC2
        s.set_path_vertices([(-1.5 * sd[0], -0.8 * sd[1]), (0.0, 1.0 * sd[1]), (1.5 * sd[0], -0.5 * sd[1])])
        w.path_panel.run()
        w.wait_idle(300)
        cmp = w.compare
        cmp.n.setValue(64)
        cmp.run()
        w.wait_idle(300)
        from gui.workspaces import WORKSPACES

        for ws in WORKSPACES:  # every workspace, then each further tab of its groups
            w.switch_workspace(ws.key)
            groups = [g.docks for c in ws.columns for g in c.groups]
            for k in range(max(len(g) for g in groups)):
                for group in groups:
                    w.docks[group[k % len(group)]].raise_()
                _settle(app, w)
                shot(f"docked-{W}x{H}-{ws.key}-{k + 1}.png")

        # a conditional generate: its long caption must not widen the window
        w.switch_workspace("generate")
        w.docks["faceGridDock"].raise_()
        w.docks["samplerDock"].raise_()
        names = list(s.labels.names) if s.labels is not None else []
        if names:  # the default model's labels have Smiling
            w.generate_where("Smiling" if "Smiling" in names else names[0], True)
            w.wait_idle(300)
        _settle(app, w)
        hint = w.minimumSizeHint()
        print(f"{W}x{H} conditional: window {w.width()}×{w.height()}, minimumSizeHint {hint.width()}×{hint.height()}")
        if hint.width() > W or w.width() > W:
            print(f"error: the conditional caption widens the window beyond {W}", file=sys.stderr)
            ok = False
        shot(f"conditional-{W}x{H}.png")

        # shrink, then back to the first size (offscreen has no maximise: the same resize a maximise makes)
        w.resize(900, 600)
        _settle(app, w)
        w.resize(W, H)
        _settle(app, w)
        shot(f"shrink-remax-{W}x{H}.png")
        for name, size in shots.items():
            print(f"{out / name}: {size / 1024:.0f} KB")
        w.close()
        app.processEvents()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
