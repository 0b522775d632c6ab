"""The Two models panel: File ▸ Compare with another model… runs the comparison on the worker and the panel shows
the side-by-side table, the overlap histogram and one shared face decoded by both; another model clears it."""
from __future__ import annotations

import shutil
import threading

import numpy as np
import pytest


@pytest.fixture(scope="module")
def turned(tiny_model, tmp_path_factory):
    """The tiny model's copy with its z-points turned by a rotation: the same faces, another latent space."""
    folder = tmp_path_factory.mktemp("turned") / "model"
    shutil.copytree(tiny_model, folder, ignore=shutil.ignore_patterns(".*", "labels.csv"))
    z = np.load(folder / "latents.npy").astype(np.float64)
    q, r = np.linalg.qr(np.random.default_rng(1).standard_normal((z.shape[1], z.shape[1])))
    np.save(folder / "latents.npy", (z @ (q * np.sign(np.diag(r)))).astype(np.float32))
    return folder


def _menu_texts(window) -> list[str]:
    file_menu = window.menuBar().actions()[0].menu()
    return [a.text() for a in file_menu.actions()]


def test_compare_with_another_model_fills_the_panel(window, turned, qtbot, monkeypatch):
    from engine.workflows import compare_models as cm
    from gui.workspaces import workspace

    assert "&Compare with another model…" in _menu_texts(window)
    assert "twoModelsDock" in workspace("compare").dock_names()
    threads = []
    real = cm.compare_with_folder
    monkeypatch.setattr(cm, "compare_with_folder",
                        lambda *a, **k: threads.append(threading.current_thread()) or real(*a, **k))
    panel = window.model_compare
    assert panel.table.rowCount() == 0 and not panel.face_spin.isEnabled()
    job = window.compare_with_model(turned, cm.CompareOptions(samplers=(), k=5))
    assert job is not None
    qtbot.waitUntil(lambda: panel.comparison is not None, timeout=60000)
    assert threads and threads[0] is not threading.main_thread()  # the window kept answering: the worker ran it
    rows = {panel.table.item(r, 0).text(): (panel.table.item(r, 1).text(), panel.table.item(r, 2).text())
            for r in range(panel.table.rowCount())}
    assert rows["shared faces"][0] == "96" and rows["z dimensions"] == ("8", "8")
    assert float(rows["held-out R², linear map (A→B, B→A)"][0]) > 0.98
    assert panel.table.horizontalHeaderItem(2).text() == "B: model"
    import pyqtgraph as pg

    bars = [it for it in panel.hist.getPlotItem().items if isinstance(it, pg.BarGraphItem)]
    assert len(bars) == 1 and int(np.sum(bars[0].opts["height"])) == 96
    for label in ("A", "B", "B from A's z"):
        pm = panel.face_labels[label].pixmap()
        assert pm is not None and not pm.isNull() and pm.width() > 40
    assert window.docks["twoModelsDock"].isVisible()
    qtbot.waitUntil(lambda: not window.bridge.busy(), timeout=30000)  # then the judges (none: no labels here)
    assert panel.comparison.numbers["judged"]
    assert panel.table.item(panel.table.rowCount() - 1, 1).text() != "measuring…"
    first = panel.face_name.text()
    panel.least_btn.click()
    least = panel.comparison.numbers["overlap"]["least"][0]["face"]
    qtbot.waitUntil(lambda: panel.face_name.text().startswith(least), timeout=20000)
    assert panel.face_name.text() != first or least == panel.comparison.face_name
    assert panel.face_spin.value() == 1 + panel.comparison.shared.names.index(least)


def test_the_same_model_is_refused_and_another_model_clears_the_panel(window, turned, qtbot, tiny_model):
    from engine.workflows.compare_models import CompareOptions

    panel = window.model_compare
    window.compare_with_model(tiny_model, CompareOptions(samplers=()))
    qtbot.waitUntil(lambda: not window.bridge.busy(), timeout=30000)
    assert panel.comparison is None and "same folder" in (window.last_error or "")
    window.compare_with_model(turned, CompareOptions(samplers=(), k=5))
    qtbot.waitUntil(lambda: panel.comparison is not None, timeout=60000)
    window.open_model(turned, generate=False)
    qtbot.waitUntil(lambda: panel.comparison is None, timeout=30000)
    assert panel.table.rowCount() == 0 and panel.face_labels["A"].pixmap().isNull()
