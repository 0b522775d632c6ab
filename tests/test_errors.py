"""Typed engine errors: options named by each front end, fields instead of text to act on."""
from __future__ import annotations

import pickle

import pytest

from engine.errors import DataError, EngineError, FolderHoldsModel, NoFaceFound, OtherModelsFile


def test_the_engine_names_options_in_domain_words_and_each_front_end_renders_them():
    e = EngineError("{out}: holds files; choose a new folder, or {opt:overwrite}".replace("{out}", "/x"), param="out")
    assert str(e) == "out /x: holds files; choose a new folder, or overwrite"
    assert e.render(lambda p: "--" + p.replace("_", "-")) == "--out /x: holds files; choose a new folder, or --overwrite"
    assert e.render({"out": "Output folder"}.get) == "Output folder /x: holds files; choose a new folder, or overwrite"
    assert EngineError("give {opt:image_size}").render() == "give image size"


def test_the_cli_prints_the_flag(capsys):
    import main

    assert main._one_line(EngineError("/x: is not empty", param="out")) == "--out /x: is not empty"
    assert main._one_line(ValueError("plain  text\\n")) == "plain text\\n"


def test_fields_survive_pickling_and_kinds_are_kinds(tmp_path):
    e = OtherModelsFile("set.json: made for model abc", path=tmp_path / "set.json", model_id="abc")
    back = pickle.loads(pickle.dumps(e))
    assert type(back) is OtherModelsFile and back.model_id == "abc" and back.path == tmp_path / "set.json"
    assert str(back) == str(e)
    assert issubclass(NoFaceFound, DataError) and issubclass(FolderHoldsModel, EngineError)
    with pytest.raises(AttributeError):
        e.nothing_like_this


def test_a_message_after_the_option_a_callers_words_and_a_flag_not_yet_converted():
    cli = lambda p: "--" + p.replace("_", "-")  # noqa: E731
    assert EngineError(": an empty path", param="out").render(cli) == "--out: an empty path"
    assert str(EngineError(": an empty path", param="image_size")) == "image size: an empty path"
    e = EngineError("/x: no such folder", param="model folder")  # a GUI caller's label
    assert e.render(cli) == str(e) == "model folder /x: no such folder"
    old = EngineError("/x: is not empty", param="--image-size")  # a caller still giving the flag
    assert old.param == "image_size" and old.render(cli) == "--image-size /x: is not empty"
    assert str(old) == "image size /x: is not empty"
