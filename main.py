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

import argparse
import os
import sys
from pathlib import Path

EXIT_BAD_INPUT = 2
EXIT_CANCELLED = 130
EXIT_INTERNAL = 1
#: The most vector components (n × z_dim) one ``generate`` run draws: the z-vectors are held in
#: memory (float64 while sampling: 1 GiB at this ceiling, e.g. 524,288 vectors of 256); images are streamed.
MAX_GENERATE_VALUES = 2**27


class TqdmProgress:
    """Renders engine Progress records as a tqdm bar on stderr (one bar per job name)."""

    def __init__(self, quiet: bool = False):
        self.quiet = quiet or not sys.stderr.isatty() and os.environ.get("LFS_PROGRESS") != "1"
        self.bar = None
        self.job = None

    def __call__(self, p) -> None:
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
    from engine.output_folders import check_model_output

    # a new or empty folder, or (--resume) a model of ours; never the user's files, never inside --data
    out = check_model_output(a.out, data=a.data, resume=a.resume)
    if a.device.startswith("cuda") and not _cuda_ok(a.device):
        raise_bad(f"--device {a.device}: CUDA is not available on this machine (use --device cpu or auto)")
    if not a.resume:  # sizes whose network could not be allocated: refused before any work starts
        from engine.autoencoder import CLI_NAMES, check_architecture_limits

        check_architecture_limits(a.image_size, a.z_dim, tuple(int(c) for c in a.channels.split(",")), names=CLI_NAMES)
    if ctx.distributed:
        return _train_run(a, out, progress, ctx)
    from engine.model_lock import model_writer

    with model_writer(out, "train"):  # held from before the images are read until the z-points are written
        return _train_run(a, out, progress, ctx)


def _train_run(a, out, progress, ctx) -> int:
    from engine.autoencoder import ArchitectureConfig
    from engine.image_data import Preprocess, load_folder
    from engine.model_store import read_config
    from engine.training import TrainOptions, train

    if a.resume:
        pre = read_config(out).preprocess
    else:
        pre = Preprocess(image_size=a.image_size)
    if ctx.distributed and ctx.local_rank != 0:
        ctx.barrier()  # one decode per machine: local rank 0 fills the image cache, the others read it
    data = load_folder(a.data, pre, progress=progress)
    if ctx.distributed and ctx.local_rank == 0:
        ctx.barrier()
    if ctx.is_main:
        print(data.summary(), file=sys.stderr)
    arch = None
    if not a.resume:
        arch = ArchitectureConfig(
            image_size=a.image_size, z_dim=a.z_dim, batch_norm=a.batch_norm,
            channels=tuple(int(c) for c in a.channels.split(",")),
        )
    opts = TrainOptions(epochs=a.epochs, batch_size=a.batch_size, learning_rate=a.lr, seed=a.seed,
                        val_count=a.val_count, flip=not a.no_flip, device=a.device,
                        precision=a.precision, compile=a.compile)
    res = train(data, out, arch, opts, resume=a.resume, progress=progress, dist_ctx=ctx)
    progress.close()
    if not ctx.is_main:
        return 0  # rank 0 reports and encodes
    for h in res.history:
        print(f"epoch {h['epoch']:3d}  train {h['train_loss']:.5f}  val {h['val_loss'] if h['val_loss'] is None else format(h['val_loss'], '.5f')}  {h['images_per_s']:.0f} img/s")
    if not a.no_encode:
        from engine.encoding import encode_dataset
        from engine.model_store import load_model

        model, _ = load_model(out, device="cuda" if _cuda_ok(a.device) else "cpu")
        encode_dataset(out, data, model=model, progress=progress)
        progress.close()
    print(f"model written to {out}")
    return 0


def _cuda_ok(device: str) -> bool:
    if device == "cpu":
        return False
    import torch

    return torch.cuda.is_available()


def cmd_encode(a, progress) -> int:
    from engine.encoding import encode_folder
    from engine.model_store import load_model

    model_dir = Path(a.model)
    model, config = load_model(model_dir, device="cuda" if _cuda_ok(a.device) else "cpu")
    # streams the folder in chunks (bounded memory) and resumes an interrupted run
    res = encode_folder(model_dir, a.data, model=model, batch_size=a.batch_size, fresh=a.fresh, progress=progress)
    progress.close()
    print(res.summary())
    return 0


def cmd_reconstruct(a, progress) -> int:
    from engine import __version__
    from engine.encoding import mse, reconstruct_images
    from engine.image_data import load_folder
    from engine.model_store import load_model
    from engine.output_folders import check_output_folder
    from engine.reconstructions import write_reconstructions
    import numpy as np

    model_dir = _model_dir(a.model)
    inputs = [a.data, model_dir]
    check_output_folder(a.out, inputs=inputs, overwrite=a.overwrite, kind="reconstructions")  # before any work
    model, config = load_model(model_dir)
    data = load_folder(a.data, config.preprocess, progress=progress)
    print(data.summary(), file=sys.stderr)
    n = len(data) if a.n is None else max(0, min(a.n, len(data)))
    images = np.asarray(data.images[:n])
    recon = reconstruct_images(model, images)
    err = mse(images, recon)
    params = {"model_id": config.model_id, "model_folder": str(model_dir), "data": str(a.data), "n": n,
              "mse": err, "app_version": __version__}
    write_reconstructions(a.out, data.files[:n], images, recon, params, overwrite=a.overwrite, inputs=inputs)
    progress.close()
    print(f"MSE {err:.6f} over {n} images")
    return 0


def cmd_generate(a, progress) -> int:
    from engine.encoding import decode_latents
    from engine.generation import generate
    from engine.image_sets import write_image_set
    from engine.model_store import load_model
    from engine.samplers import parse_settings

    from engine.output_folders import check_output_folder

    values = parse_settings(a.sampler, a.set or [])
    if a.n < 0:
        raise_bad("--n must be ≥ 0")
    model_dir = _model_dir(a.model)
    check_output_folder(a.out, inputs=[model_dir], overwrite=a.overwrite)  # before any work
    model, config = load_model(model_dir)
    most = MAX_GENERATE_VALUES // config.arch.z_dim
    if a.n > most:
        raise_bad(f"--n {a.n} is more than the {most:,} vectors of {config.arch.z_dim} components one run holds in "
                  "memory; split it over several runs with different --seed")
    result = generate(model_dir, a.sampler, values, a.n, a.seed, decode=False, where=a.where, model=model, config=config)
    # faces are decoded and written batch by batch: memory stays bounded for any --n
    images = None if a.z_only else (decode_latents(model, result.z[i : i + 256]) for i in range(0, len(result.z), 256))
    write_image_set(a.out, result.z, result.params, images, overwrite=a.overwrite, inputs=[model_dir])
    what = "z-vectors" if a.z_only else "faces"
    cond = f", fitted on {result.params['where_points']} z-points with {result.params['where']}" if "where" in result.params else ""
    print(f"wrote {a.n} {what} ({a.sampler}, seed {a.seed}{cond}) to {a.out}")
    return 0


def cmd_edit(a, progress) -> int:
    from engine import __version__
    from engine.attributes import DEFAULT_EDIT_METHOD, attribute_direction, require_labels
    from engine.editing import edit_strips, parse_amounts, write_edit_strips
    from engine.encoding import encode_images
    from engine.image_data import image_folder_listing, load_files
    from engine.model_store import load_latents, load_model

    from engine.output_folders import check_output_folder

    amounts = parse_amounts(a.amount)
    if a.n is not None and a.n < 1:
        raise_bad("--n must be ≥ 1")
    model_dir = _model_dir(a.model)
    inputs = [a.data, model_dir]
    check_output_folder(a.out, inputs=inputs, overwrite=a.overwrite, kind="edit-strips")  # before any work
    model, config = load_model(model_dir)
    z_all, files = load_latents(model_dir, config.arch.z_dim)
    table = require_labels(model_dir, files)
    a.method = a.method or DEFAULT_EDIT_METHOD
    direction = attribute_direction(z_all, table, a.attribute, a.method)
    folder, paths, _ = image_folder_listing(a.data)
    images, names, skipped = load_files(paths[: a.n or 8], config.preprocess)
    for name, why in skipped:
        print(f"skipped {name}: {why}", file=sys.stderr)
    if not len(images):
        raise_bad(f"{folder}: none of the first {len(paths[: a.n or 8])} images could be read")
    z = encode_images(model, images)
    strips = edit_strips(model, z, direction, amounts)
    params = {
        "command": "edit", "attribute": a.attribute, "method": a.method, "amounts": [float(x) for x in amounts],
        "amount_unit": "class-mean gaps along the direction (1 = from the mean without to the mean with the attribute)",
        "step": float(direction.step), "n_present": direction.n_present, "n_absent": direction.n_absent,
        "columns": ["original"] + [f"{x:g}" for x in amounts], "data": str(folder),
        "model_id": config.model_id, "model_folder": str(model_dir), "app_version": __version__,
    }
    write_edit_strips(a.out, names, strips, images, params, overwrite=a.overwrite, inputs=inputs)
    print(f"wrote {len(names)} edit strip(s) of {a.attribute} ({a.method} direction, amounts {', '.join(f'{x:g}' for x in amounts)}) to {a.out}")
    return 0


def cmd_attributes(a, progress) -> int:
    import numpy as np

    from engine.attributes import attribute_rates, import_labels, load_labels, rank_attributes, ranking_table
    from engine.model_store import load_latents, read_config

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
    from engine.evaluation import evaluate, parse_sweep_text, write_report
    from engine.samplers import parse_settings, sampler_class

    names = [x.strip() for x in a.samplers.split(",") if x.strip()] if a.samplers else None
    values: dict = {}
    for item in a.set or []:
        head, _, rest = item.partition(".")
        if not rest or "=" not in rest:
            raise_bad(f"--set {item!r}: expected SAMPLER.KEY=VALUE, e.g. pca-ellipse.fact=0.8")
        values.setdefault(head, {}).update(parse_settings(head, [rest]))
    sweep = None
    if a.sweep:
        key, vals = parse_sweep_text(a.sweep)
        target = a.sweep_sampler or (names[0] if names and len(names) == 1 else "pca-ellipse")
        sampler_class(target).param(key)
        sweep = (target, key, vals)
    if a.n < 2:
        raise_bad("--n must be ≥ 2")
    if a.out is not None:  # never over a file we did not write, never inside the model or data folder
        from engine.evaluation import REPORT_KEYS
        from engine.output_folders import check_output_file, json_file_with_keys

        check_output_file(a.out, inputs=[_model_dir(a.model), a.data], overwrite=a.overwrite, what="report",
                          is_ours=lambda path: json_file_with_keys(path, REPORT_KEYS))
    report = evaluate(_model_dir(a.model), a.data, n=a.n, seed=a.seed, samplers=names, sweep=sweep,
                      sampler_values=values, progress=progress)
    progress.close()
    print(report.table())
    if a.where is not None:  # conditional sampling, measured (issue 9): engine/attributes.py attribute_rates
        from engine.attributes import attribute_rates
        from engine.errors import SamplerError

        rates = []
        for name in (names or ["normal"]):
            try:
                rep = attribute_rates(_model_dir(a.model), a.where, sampler=name, values=values.get(name), n=a.n,
                                      seed=a.seed, attributes=[s for s in (a.judge or "").split(",") if s.strip()])
            except SamplerError as exc:
                if names and len(names) == 1:
                    raise
                print(f"{name}: no attribute rates ({exc})")
                continue
            print(rep.table())
            rates.append(rep.to_json())
        report.info["attribute_rates"] = rates
    if a.out is not None:
        write_report(a.out, report)
        print(f"report written to {a.out}")
    return 0


def cmd_info(a, progress) -> int:
    from engine.autoencoder import count_parameters
    from engine.model_store import load_latents, load_model, LATENTS

    model_dir = _model_dir(a.model)
    model, config = load_model(model_dir)
    arch = config.arch
    t = config.training
    print(f"model      {model_dir}")
    print(f"model id   {config.model_id}")
    print(f"image      {arch.image_size}×{arch.image_size} RGB, crop {list(config.preprocess.crop_box)} of {list(config.preprocess.reference_size)}")
    print(f"network    4 conv {list(arch.channels)} k{arch.kernel_size} → z_dim {arch.z_dim} → 4 conv-transpose; batch_norm {arch.batch_norm}; {count_parameters(model):,} parameters ({config.weights_dtype})")
    if t:
        print(f"training   {config.facts.summary()}")
    if (model_dir / LATENTS).exists():
        z, _ = load_latents(model_dir, arch.z_dim)
        print(f"z-points   {len(z)} × {z.shape[1]}")
    else:
        print("z-points   none (run encode)")
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
    from engine.model_store import SEED_MAX  # what every random generator of the app takes whole

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
    ed.add_argument("--attribute", required=True, help="attribute name from the model's labels.csv, e.g. Smiling")
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


def run(argv=None) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    parser = build_parser()
    a = parser.parse_args(argv)
    command = a.command or "gui"
    from engine.errors import Cancelled, EngineError

    progress = TqdmProgress()
    try:
        _refuse_empty_paths(a)
        return COMMANDS[command](a, progress)
    except (EngineError, BadInput) as exc:
        progress.close()
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Cancelled:
        progress.close()
        print("cancelled; results written so far are intact", file=sys.stderr)
        return EXIT_CANCELLED
    except KeyboardInterrupt:
        progress.close()
        print("interrupted; the last completed checkpoint and files are intact", file=sys.stderr)
        return EXIT_CANCELLED
    except OSError as exc:
        progress.close()
        name = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        print(f"error: {name}{_one_line(exc.strerror or exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except MemoryError:
        progress.close()
        print("error: not enough memory for this request (use a smaller --n or --batch-size)", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as exc:  # noqa: BLE001 - a bug, not bad input: still one line unless asked
        progress.close()
        if os.environ.get("LFS_DEBUG"):
            raise
        print(f"internal error: {type(exc).__name__}: {_one_line(exc)} (set LFS_DEBUG=1 for the traceback)",
              file=sys.stderr)
        return EXIT_INTERNAL


#: Arguments that name a file or folder: "" would silently mean the current folder (or the default model).
PATH_ARGS = {"data": "--data", "out": "--out", "model": "--model", "import_file": "--import", "screenshot": "--screenshot"}


def _refuse_empty_paths(a) -> None:
    for attr, flag in PATH_ARGS.items():
        value = getattr(a, attr, None)
        if value is not None and not str(value).strip():
            raise_bad(f"{flag}: an empty path; name the {'folder' if attr in ('data', 'out', 'model') else 'file'}")
        if value is not None and "\0" in str(value):
            raise_bad(f"{flag} {value!r}: a path cannot contain a NUL character")


def _one_line(exc) -> str:
    return " ".join(str(exc).split())


def run_gui_entry() -> int:
    """Entry point of the windowed launcher (``latent-face-studio-gui``): always the GUI."""
    return run(["gui", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(run())
