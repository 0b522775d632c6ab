"""Renders the documentation screenshots offscreen: the main window, the inspector and every panel.

    python -m gui.screenshots OUT_DIR [--model DIR] [--data DIR] [--sampler NAME] [--all-panels] [--compare]

Writes OUT_DIR/main-window.png and OUT_DIR/inspector.png (and with --all-panels one PNG per panel
and the training dialog, for checking them by eye).
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
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
