#!/usr/bin/env python3
"""Latent Face Studio — the GUI by default, sub-commands for headless work.

    python main.py                      # the GUI on the embedded default model
    python main.py train --data DIR --out MODEL_DIR [--epochs N] [--image-size 64] [--z-dim 256] ...
    python main.py encode --model MODEL_DIR --data DIR
    python main.py reconstruct [--model MODEL_DIR] --data DIR --out DIR [--n N]
    python main.py generate [--model MODEL_DIR] --sampler NAME [--set KEY=VALUE ...] --n N [--seed S] --out DIR [--z-only] [--where Smiling=1,Male=-1]
    python main.py edit [--model MODEL_DIR] --data DIR --attribute NAME --amount -2:2:5 --out DIR [--n N] [--method probe|mean]
    python main.py attributes [--model MODEL_DIR] [--import LABEL_FILE] [--no-probe] [--rates Smiling=1 --sampler NAME]
    python main.py samplers
    python main.py evaluate [--model MODEL_DIR] [--data DIR] [--n 256] [--seed S] [--samplers a,b] [--sweep fact=0.4:1.0:7] [--out report.json]
    python main.py info [--model MODEL_DIR]

Bad input ends with a non-zero exit status and one clear line on stderr, never a traceback.
"""
from __future__ import annotations

import _signal  # first (built in): from this line on a Ctrl-C ends with 130 and one line, nothing written half
import os

if __name__ == "__main__":  # until engine/interrupts.py takes over below; nothing has been written before
    _signal.signal(_signal.SIGINT, lambda *_: (os.write(2, b"interrupted; nothing was written\n"), os._exit(130)))

from engine import interrupts  # noqa: E402

if __name__ == "__main__":
    interrupts.install()
import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

EXIT_BAD_INPUT = 2
EXIT_CANCELLED = 130
EXIT_INTERNAL = 1


class TqdmProgress:
    """Renders engine Progress records as a tqdm bar on stderr (one bar per job name)."""

    def __init__(self, quiet: bool = False):
        self.quiet = quiet or not sys.stderr.isatty() and os.environ.get("LFS_PROGRESS") != "1"
        self.bar = None
        self.job = None

    def __call__(self, p) -> None:
        interrupts.checkpoint()  # a Ctrl-C that a library swallowed ends the job at its next step
        if self.quiet:
            return
        from tqdm import tqdm

        if self.bar is None or self.job != p.job or self.bar.total != p.total:
            self.close()
            self.bar = tqdm(total=p.total, desc=p.job, unit="", file=sys.stderr, leave=False, dynamic_ncols=True)
            self.job = p.job
        self.bar.n = p.done
        post = {}
        if p.epoch:
            post["epoch"] = f"{p.epoch}/{p.epochs}"
        if p.loss is not None:
            post["loss"] = f"{p.loss:.5f}"
        if p.val_loss is not None:
            post["val"] = f"{p.val_loss:.5f}"
        if post:
            self.bar.set_postfix(post, refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _model_dir(arg) -> Path:
    from engine.resources import default_model_dir

    if arg is None:
        return default_model_dir()
    if not str(arg).strip():
        raise_bad("--model: an empty path; name a model folder, or leave --model out for the embedded default model")
    return Path(arg)


def cmd_train(a, progress) -> int:
    from engine import distributed

    # Under torchrun (RANK/WORLD_SIZE/LOCAL_RANK set) this joins the DDP job; otherwise a no-op.
    ctx = distributed.init_from_env(a.device)
    try:
        return _train(a, progress if ctx.is_main else TqdmProgress(quiet=True), ctx)
    finally:
        distributed.shutdown()


def _train(a, progress, ctx) -> int:
    from engine.architecture import CLI_NAMES, ArchitectureConfig, check_architecture_limits
    from engine.training import TrainOptions
    from engine.workflows.train import train_model

    if a.device.startswith("cuda") and not _cuda_ok(a.device):
        raise_bad(f"--device {a.device}: CUDA is not available on this machine (use --device cpu or auto)")
    arch = None
    if not a.resume:  # sizes whose network could not be allocated: refused before any work starts
        channels = tuple(int(c) for c in a.channels.split(","))
        check_architecture_limits(a.image_size, a.z_dim, channels, names=CLI_NAMES)
        arch = ArchitectureConfig(image_size=a.image_size, z_dim=a.z_dim, batch_norm=a.batch_norm, channels=channels)
    opts = TrainOptions(epochs=a.epochs, batch_size=a.batch_size, learning_rate=a.lr, seed=a.seed,
                        val_count=a.val_count, flip=not a.no_flip, device=a.device,
                        precision=a.precision, compile=a.compile)
    res = train_model(a.data, a.out, arch, opts, resume=a.resume, allow_other_data=a.allow_other_data,
                      encode=not a.no_encode,
                      encode_device="cuda" if _cuda_ok(a.device) else "cpu", dist_ctx=ctx, progress=progress,
                      on_data=lambda data: print(data.summary(), file=sys.stderr))
    progress.close()
    if not res.is_main:
        return 0  # rank 0 reports
    for h in res.history:
        val = "None" if h["val_loss"] is None else format(h["val_loss"], ".5f")
        print(f"epoch {h['epoch']:3d}  train {h['train_loss']:.5f}  val {val}  {h['images_per_s']:.0f} img/s")
    print(f"model written to {res.folder}")
    return 0


def _cuda_ok(device: str) -> bool:
    if device == "cpu":
        return False
    import torch

    return torch.cuda.is_available()


def cmd_encode(a, progress) -> int:
    from engine.encoding import encode_folder
    from engine.formats import open_model

    codec = open_model(a.model, device="cuda" if _cuda_ok(a.device) else "cpu")
    # streams the folder in chunks (bounded memory) and resumes an interrupted run
    res = encode_folder(a.model, a.data, model=codec, batch_size=a.batch_size, fresh=a.fresh, progress=progress)
    progress.close()
    print(res.summary())
    return 0


def cmd_reconstruct(a, progress) -> int:
    from engine.workflows.reconstruct import reconstruct_folder

    res = reconstruct_folder(_model_dir(a.model), a.data, a.out, n=a.n, overwrite=a.overwrite, progress=progress)
    progress.close()
    print(res.data_summary, file=sys.stderr)
    print(f"MSE {res.mse:.6f} over {res.n} images")
    return 0


def cmd_generate(a, progress) -> int:
    from engine.samplers import parse_settings
    from engine.workflows.generate import generate_to_folder

    values = parse_settings(a.sampler, a.set or [])
    res = generate_to_folder(_model_dir(a.model), a.sampler, values, a.n, a.seed, a.out, where=a.where,
                             z_only=a.z_only, overwrite=a.overwrite, n_label="--n", progress=progress)
    progress.close()
    p = res.generated.params
    what = "z-vectors" if a.z_only else "faces"
    cond = f", fitted on {p['where_points']} z-points with {p['where']}" if "where" in p else ""
    print(f"wrote {a.n} {what} ({a.sampler}, seed {a.seed}{cond}) to {a.out}")
    return 0


def cmd_edit(a, progress) -> int:
    from engine.editing import parse_amounts
    from engine.workflows.edit import edit_folder

    if (a.attribute is None) == (a.direction is None):
        raise_bad("edit: give --attribute NAME or --direction FILE [--index K], not both and not neither")
    if a.direction is None and (a.force or a.index != 1):
        raise_bad("--index / --force: only with --direction FILE")
    if a.direction is not None and a.method:
        raise_bad("--method: only with --attribute (a saved direction is used as it was saved)")
    amounts = parse_amounts(a.amount)
    res = edit_folder(_model_dir(a.model), a.data, a.attribute, amounts, a.out, n=a.n, method=a.method,
                      direction_file=a.direction, index=a.index, force=a.force, overwrite=a.overwrite,
                      progress=progress)
    progress.close()
    for name, why in res.skipped:
        print(f"skipped {name}: {why}", file=sys.stderr)
    what = (f"{a.attribute} ({res.method} direction" if a.direction is None
            else f"direction {a.index} of {a.direction} (σ units")
    print(f"wrote {len(res.names)} edit strip(s) of {what}, amounts {', '.join(f'{x:g}' for x in res.amounts)}) "
          f"to {a.out}")
    return 0


def cmd_report(a, progress) -> int:
    from engine.workflows.report import ReportOptions, make_report

    try:
        comps = [int(c) for c in a.components.split(",") if c.strip()] if a.components else None
    except ValueError:
        raise_bad(f"--components {a.components!r}: expected component numbers, e.g. 0,1,2")
    names = [s.strip() for s in a.samplers.split(",") if s.strip()] if a.samplers else None
    opts = ReportOptions(components=comps, samplers=names, seed=a.seed, formats=("png", a.vector))
    rep = make_report(_model_dir(a.model), a.out, data=a.data, options=opts, overwrite=a.overwrite, progress=progress)
    progress.close()
    print(f"report written to {rep.folder / 'report.html'} ({len(rep.figures)} figures, {rep.seconds:.1f} s)")
    return 0


def cmd_movie(a, progress) -> int:
    from engine.workflows.movie import make_movie, movie_summary

    m = make_movie(_model_dir(a.model), a.out, frm=a.from_, to=a.to, axis=a.axis, value_range=a.range,
                   method=a.method, frames=a.frames, fps=a.fps, size=a.size, overwrite=a.overwrite, progress=progress)
    progress.close()
    print(movie_summary(m))
    return 0


def cmd_import(a, progress) -> int:
    from engine.workflows.import_model import import_model

    res = import_model(a.encoder, a.decoder, a.out, model_file=a.model_file, architecture=a.architecture,
                       image_size=a.image_size, framing=a.framing, channel_order=a.channel_order,
                       value_range=a.value_range, split_layer=a.split_layer, progress=progress)
    progress.close()
    print(res.summary())
    return 0


def cmd_export(a, progress) -> int:
    from engine.workflows.export_model import export_model

    res = export_model(_model_dir(a.model), a.out, a.format, progress=progress)
    progress.close()
    print(f"exported {', '.join(res.files)} ({res.image_size}×{res.image_size}, z_dim {res.z_dim}) to {res.folder}")
    return 0


def cmd_photo(a, progress) -> int:
    from engine import __version__
    from engine.editing import parse_amounts
    from engine.photo import check_photo_output, frame_and_encode_photos, stems_for, write_photo_results
    from engine.workflows.open_model import open_model

    if any(not str(p).strip() for p in a.photo):
        raise_bad("--photo: an empty path; name the photo file")
    if a.amount is not None and not a.attribute:
        raise_bad("--amount: give --attribute NAME too (e.g. --attribute Smiling --amount -2:2:5)")
    amounts = parse_amounts(a.amount or "-2:2:5") if a.attribute else None
    model_dir = _model_dir(a.model)
    inputs = [model_dir, *a.photo]
    check_photo_output(a.out, stems_for(a.photo), inputs=inputs, overwrite=a.overwrite)  # before any work
    opened = open_model(model_dir, labels=bool(a.attribute))
    z_all = opened.require_latents()
    direction = None
    if a.attribute:
        from engine.attributes import DEFAULT_EDIT_METHOD, attribute_direction, require_labels

        direction = attribute_direction(z_all, require_labels(model_dir, opened.latent_files), a.attribute,
                                        a.method or DEFAULT_EDIT_METHOD)
    results = frame_and_encode_photos(opened.codec, opened.config, z_all, opened.latent_files, a.photo,
                                      no_detect=a.no_detect, face_index=a.face, model_dir=model_dir, progress=progress)
    params = {"model_id": opened.model_id, "model_folder": str(model_dir), "app_version": __version__}
    folders = write_photo_results(a.out, results, model=opened.codec, direction=direction, attribute=a.attribute,
                                  amounts=amounts, params=params, overwrite=a.overwrite, inputs=inputs)
    progress.close()
    for r, folder in zip(results, folders):
        face = "whole image" if r.face_index is None else f"face {r.face_index} of {r.faces_found}"
        print(f"{r.source}: {r.framing} ({face}), reconstruction MSE {r.mse:.4f}, Mahalanobis {r.mahalanobis:.1f} "
              f"(percentile {r.percentile:.0f}: {r.verdict}) → {folder}")
    return 0


def cmd_directions(a, progress) -> int:
    from engine.lab import UNIT_TEXT
    from engine.workflows.directions import DirectionOptions, directions_of_model

    names = [s.strip() for s in (a.attribute or "").split(",") if s.strip()]
    hold = [s.strip() for s in (a.hold or "").split(",") if s.strip()]
    options = DirectionOptions(a.method, a.k, names, hold, a.seed, decode=not a.no_images, feature_space=True,
                               sort=a.sort)
    model_dir = _model_dir(a.model)
    res = directions_of_model(model_dir, options, out=a.out, set_name=a.name, overwrite=a.overwrite,
                              progress=progress)
    progress.close()
    for note in res.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"{len(res.directions)} {a.method} direction(s) of {model_dir}; 1 unit = {UNIT_TEXT}")
    print("effect = change of a logistic judge's log-odds of the attribute per unit; pix MSE / feat Δ: per unit, on "
          "64 typical faces (feat Δ ÷ the median feature distance between two faces); out 2σ: share of typical "
          "faces a ±2 move carries outside the 2σ ellipsoid; maha: Mahalanobis length of one unit"
          + ("" if res.named else "; no labels.csv, so no names"))
    print(res.table())
    if res.saved is not None:
        print(f"wrote {len(res.directions)} direction(s) to {res.saved[0]} (+ {res.saved[1].name})")
    return 0


def cmd_attributes(a, progress) -> int:
    from engine.attributes import attribute_rates, import_labels, load_labels, rank_attributes, ranking_table
    from engine.formats.native import load_latents, read_config

    model_dir = _model_dir(a.model)
    config = read_config(model_dir)
    z, files = load_latents(model_dir, config.arch.z_dim)
    if a.import_file:
        table = import_labels(model_dir, a.import_file, files)
        print(table.report.summary())
        print(f"labels for {table.report.matched} z-points written to {model_dir / 'labels.csv'}")
        if not a.rank:
            return 0
    else:
        table = load_labels(model_dir, files)
        if table is None:
            raise_bad(f"{model_dir}: the model has no labels.csv; attach labels with --import LABEL_FILE "
                      "(CelebA's list_attr_celeba.txt or a CSV file,label1,…)")
        if table.report and table.report.problems:
            print(table.report.summary(), file=sys.stderr)
    if a.rates is not None:
        from engine.samplers import parse_settings

        values = parse_settings(a.sampler, a.set or [])
        rep = attribute_rates(model_dir, a.rates, sampler=a.sampler, values=values, n=a.n, seed=a.seed,
                              attributes=[s for s in (a.also or "").split(",") if s.strip()], progress=progress)
        progress.close()
        print(rep.table())
        return 0
    rows = rank_attributes(z, table, probe=not a.no_probe, progress=progress)
    progress.close()
    by = "separation (d along the difference of means, cross-fitted)" if a.no_probe else "the linear probe's cross-validated accuracy"
    print(f"{len(rows)} attribute(s) of {model_dir} ranked by {by}; accuracies are balanced (chance 0.5)")
    print(ranking_table(rows))
    return 0


def cmd_samplers(a, progress) -> int:
    from engine.samplers import SAMPLERS

    for name, cls in SAMPLERS.items():
        print(f"{name}: {cls.summary}")
        for p in cls.params:
            print(f"    {p.describe()}")
    return 0


def cmd_evaluate(a, progress) -> int:
    from engine.samplers import parse_settings
    from engine.workflows.evaluate import evaluate_model, sweep_spec

    names = [x.strip() for x in a.samplers.split(",") if x.strip()] if a.samplers else None
    values: dict = {}
    for item in a.set or []:
        head, _, rest = item.partition(".")
        if not rest or "=" not in rest:
            raise_bad(f"--set {item!r}: expected SAMPLER.KEY=VALUE, e.g. pca-ellipse.fact=0.8")
        values.setdefault(head, {}).update(parse_settings(head, [rest]))
    sweep = sweep_spec(a.sweep, a.sweep_sampler, names)
    res = evaluate_model(_model_dir(a.model), a.data, n=a.n, seed=a.seed, samplers=names, sweep=sweep,
                         sampler_values=values, where=a.where,
                         judge=[s for s in (a.judge or "").split(",") if s.strip()], out=a.out,
                         overwrite=a.overwrite, progress=progress)
    progress.close()
    print(res.report.table())
    for note in res.notes:
        print(note)
    for rep in res.rates:
        print(rep.table())
    if a.out is not None:
        print(f"report written to {a.out}")
    return 0


def cmd_info(a, progress) -> int:
    from engine.workflows.open_model import open_model

    opened = open_model(_model_dir(a.model), labels=False)
    for label, value in opened.describe():
        print(f"{label:<10} {value}")
    return 0


def cmd_gui(a, progress) -> int:
    from gui.app import run_gui

    shot = getattr(a, "screenshot", None)
    if shot is not None:
        shot = Path(shot)
        if shot.is_dir():
            raise_bad(f"--screenshot {shot}: is a folder; give the PNG file's name")
        if not shot.parent.is_dir():
            raise_bad(f"--screenshot {shot}: the folder {shot.parent} does not exist")
    return run_gui(model_dir=_model_dir(getattr(a, "model", None)), screenshot=getattr(a, "screenshot", None),
                   sampler=getattr(a, "sampler", None))


class BadInput(Exception):
    pass


def raise_bad(msg: str):
    raise BadInput(msg)


def _int_at_least(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is below the minimum {minimum}")
        return value

    parse.__name__ = f"int ≥ {minimum}"
    return parse


def _seed(text: str) -> int:
    from engine.formats.native import SEED_MAX  # what every random generator of the app takes whole

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 0 <= value <= SEED_MAX:
        raise argparse.ArgumentTypeError(f"{value} is outside 0 … {SEED_MAX}")
    return value


def _positive_float(text: str) -> float:
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be a finite number > 0")
    return value


def _image_size(text: str) -> int:
    value = _int_at_least(16)(text)
    if value % 16:
        raise argparse.ArgumentTypeError(f"{value} is not a multiple of 16 (4 stride-2 layers)")
    return value


def _channels(text: str) -> str:
    parts = [t.strip() for t in str(text).split(",")]
    if len(parts) != 4 or not all(t.isdigit() and int(t) > 0 for t in parts):
        raise argparse.ArgumentTypeError(f"{text!r}: expected 4 positive whole numbers, e.g. 32,64,128,256")
    return ",".join(parts)


def _device(text: str) -> str:
    import re

    if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", text):
        raise argparse.ArgumentTypeError(f"{text!r}: expected auto, cpu, cuda or cuda:N")
    return text


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, as for every bad input
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="latent-face-studio", description="Latent Face Studio: explore and sample the latent space of a conv autoencoder.")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    t = sub.add_parser("train", help="train a new model on a folder of face images")
    t.add_argument("--data", required=True, help="folder of face images (e.g. img_align_celeba)")
    t.add_argument("--out", required=True, help="model folder to write")
    t.add_argument("--epochs", type=_int_at_least(1), default=30)
    t.add_argument("--image-size", type=_image_size, default=64)
    t.add_argument("--z-dim", type=_int_at_least(2), default=256)
    t.add_argument("--batch-size", type=_int_at_least(1), default=128)
    t.add_argument("--seed", type=_seed, default=0)
    t.add_argument("--resume", action="store_true", help="continue from the folder's checkpoint")
    t.add_argument("--allow-other-data", action="store_true",
                   help="with --resume: continue on images other than those it was trained on")
    t.add_argument("--lr", type=_positive_float, default=1e-3, help="Adam learning rate")
    t.add_argument("--channels", type=_channels, default="32,64,128,256", help="the 4 encoder channel widths")
    t.add_argument("--batch-norm", dest="batch_norm", action="store_true", default=True,
                   help="batch normalisation after each conv layer (the default: measured best)")
    t.add_argument("--no-batch-norm", dest="batch_norm", action="store_false", help="no batch normalisation, as in the blog")
    t.add_argument("--val-count", type=_int_at_least(0), default=None, help="held-out images (last by name); default min(500, N/18)")
    t.add_argument("--no-flip", action="store_true", help="no horizontal-flip augmentation")
    t.add_argument("--no-encode", action="store_true", help="do not encode the data set after training")
    t.add_argument("--device", type=_device, default="auto", help="auto, cpu or cuda[:N] (under torchrun: cuda:LOCAL_RANK)")
    t.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"],
                   help="auto: bf16 (fp16 on older GPUs) autocast on CUDA, fp32 on the CPU")
    t.add_argument("--compile", action="store_true", help="torch.compile the model (CUDA, long runs)")

    e = sub.add_parser("encode", help="encode a folder into the model's latents.npy (streaming, resumable)")
    e.add_argument("--model", required=True)
    e.add_argument("--data", required=True)
    e.add_argument("--batch-size", type=_int_at_least(1), default=256)
    e.add_argument("--device", type=_device, default="auto", help="auto, cpu or cuda")
    e.add_argument("--fresh", action="store_true", help="start over instead of resuming an interrupted encode")

    r = sub.add_parser("reconstruct", help="reconstruct images through the autoencoder")
    r.add_argument("--model")
    r.add_argument("--data", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--n", type=_int_at_least(1), default=None, help="only the first N images")
    r.add_argument("--overwrite", action="store_true", help="replace reconstructions written earlier into --out")

    g = sub.add_parser("generate", help="sample z-vectors and decode them into faces")
    g.add_argument("--model")
    g.add_argument("--sampler", default="uniform")
    g.add_argument("--set", action="append", metavar="KEY=VALUE", help="a sampler parameter (repeatable)")
    g.add_argument("--n", type=_int_at_least(0), required=True)
    g.add_argument("--seed", type=_seed, default=0)
    g.add_argument("--out", required=True)
    g.add_argument("--z-only", action="store_true", help="write only z.npy and params.json")
    g.add_argument("--overwrite", action="store_true", help="replace an image set already in --out")
    g.add_argument("--where", metavar="NAME=V,...", help="fit the sampler only on z-points with these labels, e.g. Smiling=1,Male=-1")

    ed = sub.add_parser("edit", help="move faces along an attribute direction and write a strip per face")
    ed.add_argument("--model")
    ed.add_argument("--data", required=True, help="folder of face images (the first --n by name are edited)")
    ed.add_argument("--attribute", help="attribute name from the model's labels.csv, e.g. Smiling")
    ed.add_argument("--direction", metavar="FILE", help="a direction set written by `directions --out` (instead of --attribute)")
    ed.add_argument("--index", type=_int_at_least(1), default=1, help="with --direction: which direction (the table's #, from 1)")
    ed.add_argument("--force", action="store_true", help="with --direction: use a set saved for another model anyway")
    ed.add_argument("--amount", default="-2:2:5", help="START:STOP:COUNT or a list -1,0,1 (1 = the gap between the class means)")
    ed.add_argument("--out", required=True)
    ed.add_argument("--n", type=_int_at_least(1), default=None, help="faces to edit (default 8)")
    ed.add_argument("--method", default=None, choices=("mean", "probe"),
                    help="direction: linear probe (the default: same effect, less collateral change — measured) or difference of class means")
    ed.add_argument("--overwrite", action="store_true", help="replace edit strips already in --out")
    import re  # let "--amount -2:2:5" and "--amount -1,0,1" read as values, not as options

    ed._negative_number_matcher = re.compile(r"^-\d*\.?\d+([:,]-?\d*\.?\d+)*$")

    at = sub.add_parser("attributes", help="attach labels to a model, rank attributes by separability, measure conditional sampling")
    at.add_argument("--model")
    at.add_argument("--import", dest="import_file", metavar="LABEL_FILE", help="CelebA list_attr_celeba.txt or CSV file,label1,… → labels.csv")
    at.add_argument("--rank", action="store_true", help="with --import: also print the ranking")
    at.add_argument("--no-probe", action="store_true", help="skip the (slower) cross-validated linear probes")
    at.add_argument("--rates", metavar="NAME=V,...", help="measure conditional sampling for this condition instead of ranking")
    at.add_argument("--also", metavar="NAME,...", help="with --rates: further attributes to judge")
    at.add_argument("--sampler", default="normal")
    at.add_argument("--set", action="append", metavar="KEY=VALUE")
    at.add_argument("--n", type=_int_at_least(2), default=256)
    at.add_argument("--seed", type=_seed, default=0)

    di = sub.add_parser("directions", help="find, name and measure directions in the latent space; save them as a set")
    di.add_argument("--model")
    from engine.lab import method_specs, methods_taking

    di.add_argument("--method", required=True, choices=[m.name for m in method_specs()],
                    help="; ".join(f"{m.name}: {m.help}" for m in method_specs()).replace("%", "%%"))
    di.add_argument("--attribute", metavar="NAME[,NAME…]",
                    help=f"{' / '.join(methods_taking('attributes'))}: the attribute(s) to move")
    di.add_argument("--hold", metavar="NAME[,NAME…]",
                    help=f"{' / '.join(methods_taking('hold'))}: attributes whose judges must not change")
    di.add_argument("--k", type=_int_at_least(1), default=10, help="unsupervised: how many directions (default 10)")
    di.add_argument("--seed", type=_seed, default=0)
    di.add_argument("--sort", metavar="COLUMN", help="sort the table by a column (index, name, sigma, variance_share, "
                    "top_effect, pixel_mse, feature_change, outside_2s, maha_per_unit, max_overlap, label; '+col' ascending)")
    di.add_argument("--out", metavar="FILE", help="write the set as FILE.json + FILE.npy")
    di.add_argument("--name", help="the set's name stored in FILE.json (default: the method)")
    di.add_argument("--overwrite", action="store_true", help="replace a direction set written earlier to --out")
    di.add_argument("--no-images", action="store_true", help="skip the decoded-face measures (pixel MSE, feature Δ)")

    ph = sub.add_parser("photo", help="frame your own photo like the training faces, encode it and place it in the cloud")
    ph.add_argument("--photo", action="append", required=True, metavar="FILE", help="a photo (repeat for several)")
    ph.add_argument("--model", default=None)
    ph.add_argument("--out", required=True)
    ph.add_argument("--face", type=_int_at_least(0), default=None, help="which face when several are found (0 = the first: eyes found, largest)")
    ph.add_argument("--no-detect", action="store_true", help="no face detection: frame the photo's centre square")
    ph.add_argument("--attribute", default=None, help="also write an edit strip along this attribute (e.g. Smiling)")
    ph.add_argument("--amount", default=None, help="edit amounts START:STOP:COUNT (default -2:2:5)")
    ph.add_argument("--method", choices=["probe", "mean"], default=None)
    ph.add_argument("--overwrite", action="store_true", help="replace photo results already in --out")
    ph._negative_number_matcher = ed._negative_number_matcher

    rp = sub.add_parser("report", help="one HTML page + PNG/SVG figures + JSON of the latent space (the blog's figures)")
    rp.add_argument("--model")
    rp.add_argument("--data", help="the model's training image folder: adds the sampler comparison table")
    rp.add_argument("--out", required=True, metavar="DIR")
    rp.add_argument("--components", metavar="0,1,2", help="the histograms shown large (default: the first 6)")
    rp.add_argument("--samplers", metavar="a,b", help="face grids of these samplers (default: all compared)")
    rp.add_argument("--seed", type=_seed, default=0)
    rp.add_argument("--vector", choices=("svg", "pdf"), default="svg", help="vector format of the figure files")
    rp.add_argument("--overwrite", action="store_true", help="replace a report written earlier to --out")

    mv = sub.add_parser("movie", help="a path between two faces or a sweep along an axis as MP4 or GIF")
    mv.add_argument("--model")
    mv.add_argument("--from", dest="from_", metavar="ROW|FILE.npy[:ROW]", help="start face: a training z-point's row or a .npy of z")
    mv.add_argument("--to", metavar="ROW|FILE.npy[:ROW]")
    mv.add_argument("--axis", metavar="PC1|z12", help="sweep along this axis instead of a path")
    mv.add_argument("--range", default="-3:3", help="with --axis: START:STOP in σ around the cloud's centre")
    mv.add_argument("--method", choices=("linear", "spherical"), default="linear", help="path interpolation")
    mv.add_argument("--frames", type=_int_at_least(2), default=60)
    mv.add_argument("--fps", type=_positive_float, default=20.0)
    mv.add_argument("--size", type=_int_at_least(16), default=256, help="frame size in pixels (even for MP4)")
    mv.add_argument("--out", required=True, metavar="FILE.mp4|FILE.gif")
    mv.add_argument("--overwrite", action="store_true", help="replace a movie written earlier to --out")
    mv._negative_number_matcher = ed._negative_number_matcher  # "--range -3:3" is a value

    im = sub.add_parser("import", help="import an ONNX or Keras autoencoder as a model folder")
    im.add_argument("--encoder", metavar="FILE", help="the encoder: .onnx, .keras or .h5")
    im.add_argument("--decoder", metavar="FILE", help="the decoder: .onnx, .keras or .h5")
    im.add_argument("--model-file", metavar="FILE", help="one Keras .keras/.h5 file holding the whole autoencoder")
    im.add_argument("--architecture", metavar="JSON", help="the architecture (model.to_json()) of a weights-only .h5")
    im.add_argument("--out", required=True, help="the model folder to write (new or empty)")
    im.add_argument("--image-size", type=_int_at_least(1), default=None, help="when the model does not fix it")
    im.add_argument("--framing", default=None, metavar="full|celeba|x0,y0,x1,y1@W×H",
                    help="crop of the input faces (default full: the whole image, no crop)")
    im.add_argument("--channel-order", choices=("nchw", "nhwc"), default=None, help="when the graph does not say")
    im.add_argument("--value-range", choices=("0,1", "-1,1", "0,255"), default=None,
                    help="pixel values the model takes and gives (default: from its last activation, else 0,1)")
    im.add_argument("--split-layer", metavar="NAME", help="--model-file: the encoder's last layer (default: the bottleneck)")

    ex = sub.add_parser("export", help="export a model as encoder.onnx + decoder.onnx + its card")
    ex.add_argument("--model")
    ex.add_argument("--format", default="onnx", choices=("onnx",))
    ex.add_argument("--out", required=True, help="the folder to write (new or empty)")

    sub.add_parser("samplers", help="list samplers with their parameters and defaults")

    ev = sub.add_parser("evaluate", help="measure samplers against held-out real faces (latent and image metrics)")
    ev.add_argument("--model")
    ev.add_argument("--data", help="the model's training image folder (for the image metrics against real faces)")
    ev.add_argument("--n", type=_int_at_least(2), default=256, help="vectors per sampler")
    ev.add_argument("--seed", type=_seed, default=0)
    ev.add_argument("--samplers", metavar="a,b,...", help="samplers to compare (default: all)")
    ev.add_argument("--set", action="append", metavar="SAMPLER.KEY=VALUE", help="a sampler parameter (repeatable)")
    ev.add_argument("--sweep", metavar="KEY=START:STOP:STEPS", help="metric curves of one sampler across a parameter")
    ev.add_argument("--sweep-sampler", metavar="NAME", help="the swept sampler (default: the only one in --samplers, else pca-ellipse)")
    ev.add_argument("--out", metavar="report.json", help="write the report as JSON")
    ev.add_argument("--overwrite", action="store_true", help="replace a report written earlier by evaluate")
    ev.add_argument("--where", metavar="NAME=V,...", help="also measure conditional sampling: the attribute rate a linear "
                    "probe on held-out z-points assigns to samples fitted on this subset vs on all (default sampler: normal)")
    ev.add_argument("--judge", metavar="NAME,...", help="with --where: further attributes to judge (e.g. Male)")

    i = sub.add_parser("info", help="describe a model folder")
    i.add_argument("--model")

    u = sub.add_parser("gui", help="start the desktop application (the default)")
    u.add_argument("--model")
    u.add_argument("--screenshot", metavar="FILE", help="render the window to FILE and exit")
    u.add_argument("--sampler")
    return p


COMMANDS = {
    "train": cmd_train, "encode": cmd_encode, "reconstruct": cmd_reconstruct, "generate": cmd_generate,
    "samplers": cmd_samplers, "info": cmd_info, "gui": cmd_gui, "edit": cmd_edit, "attributes": cmd_attributes,
}

COMMANDS["evaluate"] = cmd_evaluate
COMMANDS["directions"] = cmd_directions
COMMANDS["photo"] = cmd_photo
COMMANDS["import"] = cmd_import
COMMANDS["export"] = cmd_export
COMMANDS["report"] = cmd_report
COMMANDS["movie"] = cmd_movie


def run(argv=None) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    if argv is None:  # a command-line run (the console script too): Ctrl-C is engine/interrupts.py's
        interrupts.install()
    parser = build_parser()
    a = parser.parse_args(argv)
    command = a.command or "gui"
    if command == "gui":
        interrupts.uninstall()
    progress = TqdmProgress()
    interrupts.job_started()
    try:
        _refuse_empty_paths(a)
        status = COMMANDS[command](a, progress)
        interrupts.checkpoint()  # pressed, but swallowed by a library until the end: still 130
        return status
    except BaseException as exc:  # noqa: BLE001 - every outcome is one line and an exit status
        progress.close()
        status, line = interrupts.outcome(exc, bad_input=BadInput, one_line=_one_line)
        if line is None:
            raise  # SystemExit; or a bug's traceback when asked (LFS_DEBUG=1)
        print(line, file=sys.stderr)
        return status


#: Arguments that name a file or folder: "" would silently mean the current folder (or the default model).
PATH_ARGS = {"data": "--data", "out": "--out", "model": "--model", "import_file": "--import", "screenshot": "--screenshot",
             "direction": "--direction", "from_": "--from", "to": "--to", "encoder": "--encoder", "decoder": "--decoder",
             "model_file": "--model-file", "architecture": "--architecture"}


def _refuse_empty_paths(a) -> None:
    for attr, flag in PATH_ARGS.items():
        value = getattr(a, attr, None)
        if value is not None and not str(value).strip():
            raise_bad(f"{flag}: an empty path; name the {'folder' if attr in ('data', 'out', 'model') else 'file'}")
        if value is not None and "\0" in str(value):
            raise_bad(f"{flag} {value!r}: a path cannot contain a NUL character")


def cli_name(param: str) -> str:
    """An engine parameter as the CLI names it: its flag (``image_size`` → ``--image-size``)."""
    return "--" + param.replace("_", "-")


def _one_line(exc) -> str:
    from engine.errors import EngineError

    return " ".join((exc.render(cli_name) if isinstance(exc, EngineError) else str(exc)).split())


def run_gui_entry() -> int:
    """Entry point of the windowed launcher (``latent-face-studio-gui``): always the GUI."""
    return run(["gui", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(run())
