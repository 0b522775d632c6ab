"""The photo panel's before/after (the face put back into the photo, computed on the worker) and its detector control
(issue 25), on the tiny model."""
from __future__ import annotations

import numpy as np
import pytest

from test_photo_directions_gui import _idle, _open, _photo

pytestmark = pytest.mark.gui


def test_detector_choices_come_from_the_engine_and_reach_the_use_case(window, qtbot, tmp_path, monkeypatch):
    import engine.workflows.photo as wf
    from engine.photo import DEFAULT_DETECTOR, DETECTORS
    from gui.param_names import control_name

    panel = window.photo_panel
    combo = panel.detector
    assert [combo.itemData(k) for k in range(combo.count())] == list(DETECTORS)
    assert panel.detector_name() == DEFAULT_DETECTOR
    label = combo.parentWidget().findChildren(type(panel.info))
    assert any(lab.text().lower().startswith(control_name("detector").lower()) for lab in label)
    seen = []
    real = wf.place_photos

    def spy(opened, photos, options=None, **kw):
        seen.append(options.detector)
        return real(opened, photos, options, **kw)

    monkeypatch.setattr(wf, "place_photos", spy)
    combo.setCurrentIndex(DETECTORS.index("haar"))
    _open(qtbot, window, _photo(tmp_path / "me.png"), no_detect=True)
    assert window.last_error is None, window.last_error
    assert seen == ["haar"]


def test_before_after_shows_the_face_put_back_and_follows_the_edit(window, qtbot, tmp_path):
    w, s = window, window.session
    panel = w.photo_panel
    assert not panel.put_back.isEnabled()  # no photo yet
    _open(qtbot, w, _photo(tmp_path / "me.png"), no_detect=True)
    r = s.photos[0].result
    assert panel.put_back.isEnabled() and panel.view.after is None
    before = panel.view.pixmap().toImage().copy()
    panel.put_back.setChecked(True)
    assert panel.view.after is None  # asked of the worker, not computed on the GUI thread
    qtbot.waitUntil(lambda: panel.view.after is not None, timeout=30000)
    after = panel.view.after
    photo = r.photo
    assert after.shape == photo.shape  # a small photo: shown at its own size
    changed = np.abs(after.astype(int) - photo.astype(int)).max(2) > 0
    assert changed[60:110, 85:135].mean() > 0.5  # the centre square's face region is the model's face
    assert not changed[:, :20].any() and not changed[:, -20:].any()  # outside it: the photo's own pixels
    assert panel.view.pixmap().toImage() != before  # the view shows it (unmarked)
    # an edit of this photo's face in the inspector: the "after" follows it
    w.inspector.sliders[0].setValue(w.inspector.sliders[0].value() + 150)
    qtbot.waitUntil(lambda: s.edited_z is not None and not w.bridge.busy(), timeout=30000)
    _idle(qtbot, w)
    qtbot.waitUntil(lambda: panel.view.after is not None and not np.array_equal(panel.view.after, after),
                    timeout=30000)
    assert panel._after_key == panel.after_key()
    # back to "before": the marked photo again
    panel.put_back.setChecked(False)
    assert panel.view.after is None
    assert panel.view.pixmap().toImage() == before
