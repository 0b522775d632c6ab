#!/usr/bin/env python3
"""The README's attribute pictures, drawn with numpy + Pillow (no matplotlib, no Qt):

    python benchmarks/attribute_pictures.py [--model MODEL_DIR] [--data IMAGE_DIR] [--attribute Smiling]

* docs/attributes_cloud_smiling.png — the z-point cloud coloured by the attribute on the two axes that
  separate it best (a density image per group, mixed by colour), with each group's 1σ and 2σ
  confidence ellipses;
* docs/attributes_edit_strip.png — held-out faces moved along the attribute direction (both the
  difference-of-means and the probe direction).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ABSENT = np.array([40, 95, 200], dtype=np.float64)
PRESENT = np.array([235, 120, 20], dtype=np.float64)


def font(size):
    """DejaVu Sans where the system has it (it has σ), else Pillow's built-in font."""
    from PIL import ImageFont

    for name in ("DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            pass
    return ImageFont.load_default(size=size)


def cloud_picture(xy, present, absent, axes, d_axes, title, subtitle, names, path):
    from PIL import Image, ImageDraw
    from scipy.ndimage import gaussian_filter

    from engine.atomic_io import save_png
    from engine.attributes import group_moments
    from engine.latent_stats import confidence_ellipse

    W, H, L, T, S = 980, 900, 90, 110, 740  # canvas, left/top margins, plot size
    lo = np.percentile(xy, 0.3, axis=0)
    hi = np.percentile(xy, 99.7, axis=0)
    span = (hi - lo).max() * 1.08
    centre = (lo + hi) / 2
    x0, y0 = centre - span / 2

    def to_px(p):
        p = np.asarray(p, dtype=np.float64)
        return np.stack([L + (p[:, 0] - x0) / span * S, T + S - (p[:, 1] - y0) / span * S], axis=1)

    dens = []
    for m in (absent, present):
        px = to_px(xy[m])
        h, _, _ = np.histogram2d(px[:, 1], px[:, 0], bins=[S, S], range=[[T, T + S], [L, L + S]])
        dens.append(gaussian_filter(h, 2.0))
    da, dp = dens
    tot = da + dp
    alpha = 1 - np.exp(-tot / (np.percentile(tot[tot > 0], 90) * 0.6))
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(tot > 0, dp / tot, 0.5)
    col = ABSENT[None, None, :] * (1 - frac[..., None]) + PRESENT[None, None, :] * frac[..., None]
    canvas = np.full((H, W, 3), 255.0)
    region = canvas[T : T + S, L : L + S]
    canvas[T : T + S, L : L + S] = region * (1 - alpha[..., None]) + col * alpha[..., None]
    img = Image.fromarray(canvas.clip(0, 255).astype(np.uint8))
    dr = ImageDraw.Draw(img)
    dr.rectangle([L, T, L + S, T + S], outline=(60, 60, 60), width=1)
    # ticks
    step = 10 ** np.floor(np.log10(span / 5))
    for mult in (1, 2, 5):
        if span / (step * mult) <= 8:
            step *= mult
            break
    f12, f14, f16, f20 = font(13), font(15), font(17), font(21)
    for k in range(2):
        v = np.ceil((x0 if k == 0 else y0) / step) * step
        end = (x0 if k == 0 else y0) + span
        while v <= end:
            if k == 0:
                px = L + (v - x0) / span * S
                dr.line([px, T + S, px, T + S + 6], fill=(60, 60, 60))
                dr.text((px, T + S + 9), f"{v:g}", fill=(40, 40, 40), font=f12, anchor="mt")
            else:
                py = T + S - (v - y0) / span * S
                dr.line([L - 6, py, L, py], fill=(60, 60, 60))
                dr.text((L - 9, py), f"{v:g}", fill=(40, 40, 40), font=f12, anchor="rm")
            v += step

    def axis_name(ax, d):
        fam, i = ax
        return f"{'PCA axis' if fam == 'pca' else 'component'} {i + 1}   (d = {d:+.2f} pooled σ)"

    dr.text((L + S / 2, T + S + 32), axis_name(axes[0], d_axes[0]), fill=(20, 20, 20), font=f16, anchor="mt")
    ylab = Image.new("RGBA", (S, 26), (255, 255, 255, 0))
    ImageDraw.Draw(ylab).text((S / 2, 13), axis_name(axes[1], d_axes[1]), fill=(20, 20, 20), font=f16, anchor="mm")
    ylab = ylab.rotate(90, expand=True)
    img.paste(ylab, (L - 62, T), ylab)
    # ellipses
    for m, c in ((absent, ABSENT), (present, PRESENT)):
        mean2, cov2 = group_moments(xy, m)
        dark = tuple(int(v) for v in c * 0.6)
        for level in (1.0, 2.0):
            poly = to_px(confidence_ellipse(mean2, cov2, level))
            dr.line([tuple(p) for p in poly], fill=dark, width=3 if level == 1 else 2)
        cx, cy = to_px(mean2[None])[0]
        dr.line([cx - 8, cy, cx + 8, cy], fill=dark, width=3)
        dr.line([cx, cy - 8, cx, cy + 8], fill=dark, width=3)
    dr.text((L, 22), title, fill=(10, 10, 10), font=f20)
    dr.multiline_text((L, 52), subtitle, fill=(60, 60, 60), font=f14, spacing=4)
    # legend
    lx, ly = L + S - 300, T + 14
    dr.rectangle([lx - 10, ly - 8, L + S - 10, ly + 78], fill=(255, 255, 255), outline=(150, 150, 150))
    for k, (c, text) in enumerate(((PRESENT, names[0]), (ABSENT, names[1]))):
        dr.rectangle([lx, ly + k * 26, lx + 18, ly + k * 26 + 18], fill=tuple(int(v) for v in c))
        dr.text((lx + 28, ly + k * 26 + 9), text, fill=(20, 20, 20), font=f14, anchor="lm")
    dr.text((lx, ly + 58), "lines: 1σ and 2σ ellipses, + the means", fill=(70, 70, 70), font=f12, anchor="lm")
    save_png(path, img)


def edit_picture(rows, amounts, labels, title, path, scale=2, with_originals=False):
    """rows: list of (original (S,S,3), tiles (K,S,S,3)); labels: text per row.

    The original CelebA images are left out by default: the dataset's licence forbids redistributing its
    images inside the repository (model outputs — reconstructions and edits — are fine)."""
    from PIL import Image, ImageDraw

    from engine.atomic_io import save_png

    s = rows[0][0].shape[0] * scale
    pad, gap, left, top = 4, 14, 150, 78
    k = len(amounts)
    x0 = left + s + gap if with_originals else left  # where the edited tiles start
    W = max(x0 + k * (s + pad) + 10, int(font(19).getlength(title)) + 24)
    H = top + len(rows) * (s + pad) + 10
    img = Image.new("RGB", (W, H), (255, 255, 255))
    dr = ImageDraw.Draw(img)
    f14, f16, f18 = font(14), font(16), font(19)
    dr.text((10, 12), title, fill=(10, 10, 10), font=f18)
    if with_originals:
        dr.text((left + s / 2, top - 10), "original", fill=(40, 40, 40), font=f14, anchor="mb")
    for j, a in enumerate(amounts):
        x = x0 + j * (s + pad) + s / 2
        dr.text((x, top - 10), f"{a:+g}" if a else "0 (reconstruction)", fill=(40, 40, 40), font=f14, anchor="mb")
    for i, ((orig, tiles), lab) in enumerate(zip(rows, labels)):
        y = top + i * (s + pad)
        big = lambda a: Image.fromarray(a).resize((s, s), Image.BICUBIC)  # noqa: E731
        if with_originals:
            img.paste(big(orig), (left, y))
        for j, t in enumerate(tiles):
            img.paste(big(t), (x0 + j * (s + pad), y))
        dr.multiline_text((10, y + s / 2), lab, fill=(30, 30, 30), font=f16, anchor="lm")
    save_png(path, img)


def main() -> int:
    from engine.attributes import analyse_attribute, attribute_direction, require_labels
    from engine.editing import edit_strips
    from engine.encoding import encode_images
    from engine.image_data import load_files
    from engine.latent_stats import pca_of
    from engine.formats.native import load_latents, load_model
    from engine.resources import default_model_dir

    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=str(default_model_dir()))
    ap.add_argument("--data", default="/work/shared/datasets/celeba-9k/img_align_celeba")
    ap.add_argument("--attribute", default="Smiling")
    ap.add_argument("--faces", default="008901.jpg,008950.jpg,008977.jpg")
    ap.add_argument("--out", default=str(ROOT / "docs"))
    a = ap.parse_args()
    model, config = load_model(a.model)
    z, files = load_latents(a.model, config.arch.z_dim)
    table = require_labels(a.model, files)
    name = a.attribute
    pca = pca_of(z)
    res = analyse_attribute(z, table, name, pca=pca, cv=5)
    present, absent = table.groups(name)
    cols = []
    for fam, i in res.best_axes:
        cols.append(pca.transform(z)[:, i] if fam == "pca" else z[:, i].astype(np.float64))
    xy = np.stack(cols, axis=1)
    out = Path(a.out)
    gp, ga = table.group_names(name)
    cloud_picture(
        xy, present, absent, res.best_axes, res.best_axis_d,
        f"{name} in the latent space of {Path(a.model).name}",
        f"{len(z):,} z-points on the two axes that separate {name} best (density per group, mixed by colour);\n"
        f"separation along the difference of means d = {res.separation:.2f} pooled σ, linear probe accuracy "
        f"{res.probe_accuracy:.3f} (balanced, 5-fold)",
        (f"{gp}  ({res.n_present:,})", f"{ga}  ({res.n_absent:,})"), out / f"attributes_cloud_{name.lower()}.png",
    )
    print(f"wrote {out / f'attributes_cloud_{name.lower()}.png'} (axes {res.best_axes}, d {res.best_axis_d})")
    names = [f.strip() for f in a.faces.split(",") if f.strip()]
    from engine.image_data import file_in_folder

    paths = [p for p in (file_in_folder(a.data, f) for f in names) if p is not None]  # names stay in --data
    images, got, skipped = load_files(paths, config.preprocess)
    zf = encode_images(model, images)
    amounts = [-2.0, -1.0, 0.0, 1.0, 2.0]
    rows, labels = [], []
    dirs = {m: attribute_direction(z, table, name, m) for m in ("mean", "probe")}
    strips = {m: edit_strips(model, zf, d, amounts) for m, d in dirs.items()}
    lab = table.column(name)
    for i, f in enumerate(got):
        j = files.index(f) if f in files else None
        tag = "" if j is None else (f"\n({gp})" if lab[j] > 0 else f"\n({ga})")
        for m in ("mean", "probe"):
            rows.append((images[i], strips[m][i]))
            labels.append(f"{f}{tag}\n{m} direction")
    edit_picture(rows, amounts, labels,
                 f"Editing along the {name} direction (amount 1 = the gap between the class means along it)",
                 out / "attributes_edit_strip.png")
    print(f"wrote {out / 'attributes_edit_strip.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
