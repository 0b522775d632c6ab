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
    ("directions", "engine.workflows.directions:DIRECTIONS_PARAMS"), ("train", "engine.workflows.train:TRAIN_PARAMS"),
])
def test_every_option_of_a_schema_is_a_flag_with_its_default(command, schema):
    import importlib

    from cli.schema import flag_of, off_flag_of

    module, name = schema.split(":")
    params = getattr(importlib.import_module(module), name)
    actions: dict = {}
    for a in _sub(command)._actions:
        if a.dest != "help":
            actions.setdefault(a.dest, []).append(a)
    assert set(actions) == {p.name for p in params}
    for p in params:
        a, *off = actions[p.name]
        assert a.option_strings == [flag_of(p)] and a.required == p.required
        assert [o.option_strings for o in off] == ([[off_flag_of(p)]] if p.off_help is not None else [])
        if not p.required:
            assert a.default == p.default, p.name
        if p.choices:
            assert tuple(a.choices) == tuple(p.choices)


def test_train_flags_read_as_before():
    import main

    parse = main.build_parser().parse_args
    a = parse(["train", "--data", "d", "--out", "o"])
    assert (a.batch_norm, a.channels, a.image_size, a.lr, a.val_count, a.no_flip) == (True, "32,64,128,256", 64, 1e-3,
                                                                                       None, False)
    a = parse(["train", "--data", "d", "--out", "o", "--no-batch-norm", "--channels", "8, 16,32,64", "--image-size",
               "32", "--lr", "0.5", "--allow-other-data"])
    assert (a.batch_norm, a.channels, a.image_size, a.lr, a.allow_other_data) == (False, "8,16,32,64", 32, 0.5, True)
    assert parse(["train", "--data", "d", "--out", "o", "--no-batch-norm", "--batch-norm"]).batch_norm is True
    for bad in (["--image-size", "40"], ["--channels", "1,2,3"], ["--lr", "0"], ["--precision", "fp8"],
                ["--val-count", "-1"], ["--seed", "-1"], ["--device", "tpu"]):
        with pytest.raises(SystemExit):
            parse(["train", "--data", "d", "--out", "o", *bad])


def test_the_train_schema_agrees_with_the_training_defaults():
    from engine.architecture import ArchitectureConfig
    from engine.params import defaults
    from engine.training import PRECISIONS, TrainOptions
    from engine.workflows.train import TRAIN_PARAMS

    d, o, arch = defaults(TRAIN_PARAMS), TrainOptions(), ArchitectureConfig()
    assert (d["epochs"], d["batch_size"], d["lr"], d["seed"], d["val_count"], d["device"], d["precision"]) == \
        (o.epochs, o.batch_size, o.learning_rate, o.seed, o.val_count, o.device, o.precision)
    assert (not d["no_flip"], d["compile"]) == (o.flip, o.compile)
    assert (d["image_size"], d["z_dim"], d["batch_norm"]) == (arch.image_size, arch.z_dim, arch.batch_norm)
    assert tuple(int(c) for c in d["channels"].split(",")) == tuple(arch.channels)
    assert tuple(next(p for p in TRAIN_PARAMS if p.name == "precision").choices) == PRECISIONS


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
