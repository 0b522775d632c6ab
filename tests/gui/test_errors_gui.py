"""A failed job reaches the window as its exception: the GUI acts on the error's kind, never on its text, and
shows an engine message with the options named as its controls (not as the CLI's --flags)."""
from __future__ import annotations

from engine.errors import DataError, EngineError, FolderHoldsModel, NoFaceFound, OtherModelsFile


def _idle(qtbot, w, timeout=60000):
    qtbot.waitUntil(lambda: not w.bridge.busy(), timeout=timeout)


def test_an_error_raised_in_a_job_reaches_on_error_as_the_exception(window, qtbot, tmp_path):
    from gui.engine_bridge import JobError

    w = window
    raised = OtherModelsFile("set.json: made for model abc", path=tmp_path / "set.json", model_id="abc")
    got = []

    def fn(progress, cancel):
        raise raised

    w.bridge.run("failing job", fn, on_error=got.append)
    _idle(qtbot, w)
    (error,) = got
    assert isinstance(error, JobError) and error.exc is raised
    assert isinstance(error.exc, OtherModelsFile) and error.exc.model_id == "abc"
    assert error.message == "set.json: made for model abc"
    # the worker's frames stay on the worker: no traceback travels to the GUI thread (its garbage collector would
    # free the worker's objects there)
    assert error.exc.__traceback__ is None
    # a job that is not an engine error still comes as its exception, with a readable text
    got.clear()
    w.bridge.run("bug", lambda p, c: {}["missing"], on_error=got.append)
    _idle(qtbot, w)
    assert isinstance(got[0].exc, KeyError) and got[0].message.startswith("KeyError")


def test_the_error_dialog_names_the_control_not_the_flag(window, qtbot):
    from engine.workflows.movie import MAX_FRAMES, check_movie_args

    w = window
    w.last_error = None
    # a real engine check, failing in a job with no on_error: the window's dialog shows it
    w.bridge.run("movie", lambda p, c: check_movie_args("film.gif", 1, 10, 64))
    _idle(qtbot, w)
    assert w.last_error == f"Frames: must be a whole number 2…{MAX_FRAMES}, got 1"
    assert "--" not in w.last_error and w.error_dialogs[-1].text() == w.last_error
    w.last_error = None
    w.bridge.run("generate", lambda p, c: (_ for _ in ()).throw(
        EngineError("/x: holds files; choose another, or {opt:overwrite}", param="out")))
    _idle(qtbot, w)
    assert w.last_error == "Output folder /x: holds files; choose another, or Replace"
    # an option the window has no control for: the engine's domain words
    w.show_error(EngineError(": too big", param="max_image_bytes"))
    assert w.last_error == "max image bytes: too big"


def test_gui_names_are_control_labels_and_unknown_names_fall_back_to_domain_words():
    from gui.param_names import CONTROL_NAMES, control_name, gui_text

    assert control_name("out") == "Output folder" and control_name("n") == "Faces"
    assert control_name("method") == "Method" and control_name("seed") == "Seed"
    assert control_name("no_such_option") is None
    assert all(v and v[0].isupper() and not v.startswith("-") for v in CONTROL_NAMES.values())
    assert gui_text(EngineError("{opt:image_size} must be 64", param="set")) == "Sampler parameter Image size must be 64"
    assert gui_text(ValueError("plain")) == "plain"


def test_no_face_found_offers_the_centre_square_by_its_kind(window, qtbot, tmp_path, monkeypatch):
    import engine.photo

    w = window
    photo = tmp_path / "wall.png"
    photo.write_bytes(b"")

    def no_face(*a, **k):
        raise NoFaceFound(f"{photo}: no face found in the photo; {{opt:no_detect}} frames its centre square",
                          path=photo)

    monkeypatch.setattr(engine.photo, "frame_and_encode_photos", no_face)
    w.open_photo(photo)
    _idle(qtbot, w)
    assert w.photo_panel.retry_btn.isVisibleTo(w.photo_panel)
    assert "Centre square (no detection) frames" in w.last_error and "--" not in w.last_error
    # the same words from another kind of error: no offer (the text is never read)

    def other(*a, **k):
        raise DataError(f"{photo}: no face found in the photo (a different problem)", path=photo)

    monkeypatch.setattr(engine.photo, "frame_and_encode_photos", other)
    w.open_photo(photo)
    _idle(qtbot, w)
    assert not w.photo_panel.retry_btn.isVisibleTo(w.photo_panel)


def test_another_models_set_is_asked_about_by_its_kind(window, qtbot, tmp_path, monkeypatch):
    import engine.workflows.directions as wd

    w = window
    lab = w.directions
    target = tmp_path / "theirs.json"

    def foreign(path, *a, force=False, **k):
        raise OtherModelsFile(f"{target}: belongs to model other-id, not to this model", path=target,
                              model_id="other-id")

    monkeypatch.setattr(wd, "load_and_measure", foreign)
    asked = []
    lab.load_set(target, confirm=lambda question: asked.append(question) or False)
    _idle(qtbot, w)
    assert len(asked) == 1 and "other-id" in asked[0] and str(target) in asked[0] and "load it anyway?" in asked[0]
    assert "not loaded" in lab.status.text() and "other-id" in lab.status.text()

    # the same words from another kind of error: a plain failure, nobody is asked
    def broken(path, *a, **k):
        raise EngineError(f"{target}: belongs to model x — but damaged", path=target)

    monkeypatch.setattr(wd, "load_and_measure", broken)
    asked.clear()
    w.last_error = None
    lab.load_set(target, confirm=lambda question: asked.append(question) or True)
    _idle(qtbot, w)
    assert asked == [] and w.last_error and "damaged" in w.last_error


def test_a_folder_holding_a_model_points_at_resume_by_its_kind(window, qtbot, tmp_path, monkeypatch, tiny_data):
    import engine.output_folders as of
    from gui.engine_bridge import JobError

    w = window
    w.show_train_dialog()
    dlg = w.train_dialog
    out = tmp_path / "m"
    dlg.data.edit.setText(str(tiny_data))
    dlg.out.edit.setText(str(out))

    def holds(folder, **k):
        raise FolderHoldsModel(f"{folder}: already holds a model; use {{opt:resume}}", path=folder)

    monkeypatch.setattr(of, "check_model_output", holds)
    assert dlg.start() is None
    assert "tick “continue the model in that folder”" in dlg.status.text() and str(out) in dlg.status.text()

    def other(folder, **k):
        raise EngineError(f"{folder}: already holds a model (another problem)", path=folder)

    monkeypatch.setattr(of, "check_model_output", other)
    assert dlg.start() is None
    assert "tick" not in dlg.status.text() and "another problem" in dlg.status.text()
    # the training job's own refusal (re-checked under its lock) comes back as the kind too
    dlg._failed(JobError(FolderHoldsModel(f"{out}: already holds a model", path=out)))
    assert "tick “continue the model in that folder”" in dlg.status.text()
    dlg._failed(JobError(EngineError("no labels", param="n")))
    assert dlg.status.text() == "failed: Faces no labels"
