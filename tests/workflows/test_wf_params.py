"""engine/params.py and cli/schema.py: the workflows' options declared once; the CLI's flags built from them."""
from __future__ import annotations

import pytest


def _sub(name):
    import main

    return next(a for a in main.build_parser()._actions if a.dest == "command").choices[name]


@pytest.mark.parametrize("command, schema", [
    ("photo", "engine.workflows.photo:PHOTO_PARAMS"), ("encode", "engine.workflows.encode:ENCODE_PARAMS"),
    ("movie", "engine.workflows.movie:MOVIE_PARAMS"), ("generate", "engine.workflows.generate:GENERATE_PARAMS"),
    ("evaluate", "engine.workflows.evaluate:EVALUATE_PARAMS"), ("report", "engine.workflows.report:REPORT_PARAMS"),
    ("reconstruct", "engine.workflows.reconstruct:RECONSTRUCT_PARAMS"), ("edit", "engine.workflows.edit:EDIT_PARAMS"),
    ("attributes", "engine.workflows.rank_attributes:ATTRIBUTES_PARAMS"),
    ("export", "engine.workflows.export_model:EXPORT_PARAMS"), ("import", "engine.workflows.import_model:IMPORT_PARAMS"),
    ("directions", "engine.workflows.directions:DIRECTIONS_PARAMS"),
])
def test_every_option_of_a_schema_is_a_flag_with_its_default(command, schema):
    import importlib

    from cli.schema import flag_of

    module, name = schema.split(":")
    params = getattr(importlib.import_module(module), name)
    actions = {a.dest: a for a in _sub(command)._actions if a.dest != "help"}
    assert set(actions) == {p.name for p in params}
    for p in params:
        a = actions[p.name]
        assert a.option_strings == [flag_of(p)] and a.required == p.required
        if p.type is not bool and not p.required:
            assert a.default == p.default, p.name
        if p.choices:
            assert tuple(a.choices) == tuple(p.choices)


def test_registered_names_come_from_the_registries():
    from engine.attributes import EDIT_METHODS
    from engine.latent_paths import METHODS
    from engine.samplers import default_sweep_sampler

    assert set(_sub("photo")._option_string_actions["--method"].choices) == set(EDIT_METHODS)
    assert tuple(_sub("edit")._option_string_actions["--method"].choices) == tuple(EDIT_METHODS)
    assert tuple(_sub("movie")._option_string_actions["--method"].choices) == METHODS
    assert default_sweep_sampler() in _sub("evaluate")._option_string_actions["--sweep-sampler"].help
    from engine.formats import exporter_names

    assert tuple(_sub("export")._option_string_actions["--format"].choices) == tuple(exporter_names())


def test_a_param_checks_in_domain_words():
    from engine.errors import EngineError, SamplerError
    from engine.params import Param
    from engine.samplers.base import Param as SamplerParam

    p = Param("frames", int, 60, "", minimum=2)
    assert p.parse("5") == 5
    with pytest.raises(EngineError, match="below the minimum"):
        p.parse("1")
    with pytest.raises(SamplerError):
        SamplerParam("fact", float, 1.0, "", minimum=0.0).parse("-1", "box")


def test_engine_errors_name_the_schemas_flags():
    import main
    from engine.errors import EngineError

    main.build_parser()
    assert main._one_line(EngineError("far.npy: lies 1e9 σ from the cloud's centre", param="from_")) == \
        "--from far.npy: lies 1e9 σ from the cloud's centre"
    assert main._one_line(EngineError("attach labels with {opt:import_file} FILE")) == "attach labels with --import FILE"
    assert main._one_line(EngineError("{opt:no_detect} frames its centre")) == "--no-detect frames its centre"
