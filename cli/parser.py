"""The command-line parser: one function per command, in the order ``--help`` lists them."""
from __future__ import annotations

import argparse
import re

from .common import _Parser
from .schema import add_params

#: lets "--amount -2:2:5", "--amount -1,0,1" and "--range -3:3" read as values, not as options
NEGATIVE_NUMBERS = re.compile(r"^-\d*\.?\d+([:,]-?\d*\.?\d+)*$")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="latent-face-studio", description="Latent Face Studio: explore and sample the latent space of a conv autoencoder.")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)
    for add in COMMAND_PARSERS:
        add(sub)
    return p



def _train(sub) -> None:
    from engine.workflows.train import TRAIN_PARAMS

    t = sub.add_parser("train", help="train a new model on a folder of face images")
    add_params(t, TRAIN_PARAMS,
               allow_other_data={"help": "with --resume: continue on images other than those it was trained on"})


def _encode(sub) -> None:
    from engine.workflows.encode import ENCODE_PARAMS

    e = sub.add_parser("encode", help="encode a folder into the model's latents.npy (streaming, resumable)")
    add_params(e, ENCODE_PARAMS)


def _reconstruct(sub) -> None:
    from engine.workflows.reconstruct import RECONSTRUCT_PARAMS

    r = sub.add_parser("reconstruct", help="reconstruct images through the autoencoder")
    add_params(r, RECONSTRUCT_PARAMS, overwrite={"help": "replace reconstructions written earlier into --out"})


def _generate(sub) -> None:
    from engine.workflows.generate import GENERATE_PARAMS

    g = sub.add_parser("generate", help="sample z-vectors and decode them into faces")
    add_params(g, GENERATE_PARAMS, overwrite={"help": "replace an image set already in --out"})


def _edit(sub) -> None:
    from engine.workflows.edit import EDIT_PARAMS

    ed = sub.add_parser("edit", help="move faces along an attribute direction and write a strip per face "
                        "(or move a whole image set: --set)")
    add_params(ed, EDIT_PARAMS, data={"help": "folder of face images (the first --n by name are edited)"},
               direction={"help": "a direction set written by `directions --out` (instead of --attribute)"},
               index={"help": "with --direction: which direction (the table's #, from 1)"},
               force={"help": "with --direction: use a set saved for another model anyway"},
               overwrite={"help": "replace edit strips already in --out"})
    ed._negative_number_matcher = NEGATIVE_NUMBERS


def _attributes(sub) -> None:
    from engine.workflows.rank_attributes import ATTRIBUTES_PARAMS

    at = sub.add_parser("attributes", help="attach labels to a model, rank attributes by separability, measure conditional sampling")
    add_params(at, ATTRIBUTES_PARAMS, rank={"help": "with --import: also print the ranking"},
               also={"help": "with --rates: further attributes to judge"})


def _directions(sub) -> None:
    from engine.workflows.directions import DIRECTIONS_PARAMS  # the methods read from the lab's registry now

    di = sub.add_parser("directions", help="find, name and measure directions in the latent space; save them as a set")
    add_params(di, DIRECTIONS_PARAMS, overwrite={"help": "replace a direction set written earlier to --out"})


def _photo(sub) -> None:
    from engine.workflows.photo import PHOTO_PARAMS

    ph = sub.add_parser("photo", help="frame your own photo like the training faces, encode it and place it in the cloud",
                        epilog="A batch never fails whole: every face found is written to --out/<name>/, each photo "
                        "missed (no face found, unreadable or refused file) is one line at the end and is listed with "
                        "its reason in --out/photos.json. A folder given to --photo is read for its image files "
                        "(sorted, not its subfolders). Exit status: 0 every photo placed; 3 some missed, at least one "
                        "written; 2 bad input (every photo missed, or refused before any work: nothing written).")
    add_params(ph, PHOTO_PARAMS, overwrite={"help": "replace photo results already in --out"})
    ph._negative_number_matcher = NEGATIVE_NUMBERS


def _report(sub) -> None:
    from engine.workflows.report import REPORT_PARAMS

    rp = sub.add_parser("report", help="one HTML page + PNG/SVG figures + JSON of the latent space (the blog's figures)")
    add_params(rp, REPORT_PARAMS, overwrite={"help": "replace a report written earlier to --out"})


def _movie(sub) -> None:
    from engine.workflows.movie import MOVIE_PARAMS

    mv = sub.add_parser("movie", help="a path between two faces, or a sweep along an axis, an attribute or a "
                        "direction (of the cloud's centre, a face or a whole set) as MP4 or GIF")
    add_params(mv, MOVIE_PARAMS, range={"help": "with --axis, --attribute or --direction: START:STOP in the "
                                                "direction's unit (σ; class-mean gaps for an attribute)"},
               index={"help": "with --direction: which direction (the table's #, from 1)"},
               columns={"help": "with --set: faces per row of the grid film"},
               overwrite={"help": "replace a movie written earlier to --out"})
    mv._negative_number_matcher = NEGATIVE_NUMBERS  # "--range -3:3" is a value


def _import_(sub) -> None:
    from engine.workflows.import_model import IMPORT_PARAMS

    im = sub.add_parser("import", help="import an ONNX or Keras autoencoder as a model folder")
    add_params(im, IMPORT_PARAMS,
               split_layer={"help": "--model-file: the encoder's last layer (default: the bottleneck)"})


def _export(sub) -> None:
    from engine.workflows.export_model import EXPORT_PARAMS

    ex = sub.add_parser("export", help="export a model as encoder.onnx + decoder.onnx + its card")
    add_params(ex, EXPORT_PARAMS)


def _samplers(sub) -> None:
    sub.add_parser("samplers", help="list samplers with their parameters and defaults")


def _evaluate(sub) -> None:
    from engine.samplers import default_sweep_sampler
    from engine.workflows.evaluate import EVALUATE_PARAMS

    ev = sub.add_parser("evaluate", help="measure samplers against held-out real faces (latent and image metrics)")
    add_params(ev, EVALUATE_PARAMS, judge={"help": "with --where: further attributes to judge (e.g. Male)"},
               sweep_sampler={"help": "the swept sampler (default: the only one in --samplers, else "
                                      f"{default_sweep_sampler()})"})


def _compare_models(sub) -> None:
    from engine.workflows.compare_models import COMPARE_PARAMS

    cm = sub.add_parser("compare-models", help="two models side by side: shared faces, aligned latent spaces, "
                        "neighbourhood overlap, attribute judges and samplers (JSON + a figure)")
    add_params(cm, COMPARE_PARAMS)


def _info(sub) -> None:
    i = sub.add_parser("info", help="describe a model folder")
    i.add_argument("--model")


def _gui(sub) -> None:
    u = sub.add_parser("gui", help="start the desktop application (the default)")
    u.add_argument("--model")
    u.add_argument("--screenshot", metavar="FILE", help="render the window to FILE and exit")
    u.add_argument("--sampler")
    u.add_argument("--session", metavar="FILE", help="open a saved session (*.lfs-session.json): its model, faces, "
                   "selection, axes, layout")


COMMAND_PARSERS = (_train, _encode, _reconstruct, _generate, _edit, _attributes, _directions, _photo, _report, _movie, _import_, _export, _samplers, _evaluate, _compare_models, _info, _gui)
