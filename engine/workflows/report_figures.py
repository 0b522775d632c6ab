"""The report's figures, one function each returning (the figure as PNG and vector bytes, its numbers): drawn with
matplotlib's object API (no pyplot, no global backend), so the report can be built on the GUI's worker thread.
:mod:`engine.workflows.report` puts them on one page."""
from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

TOP_PAIRS = 10
DPI = 110


@dataclass
class Figure:
    name: str  # file stem: fig-01-histograms
    title: str
    caption: str
    png: bytes
    vectors: dict = field(default_factory=dict)  # extension → bytes


# ----------------------------------------------------------------------------------------------
# drawing helpers (matplotlib's object API)


def _figure(w: float, h: float):
    from matplotlib.figure import Figure as MplFigure

    return MplFigure(figsize=(w, h), dpi=DPI, layout="constrained")


def _render(fig, name: str, title: str, caption: str, formats: Sequence[str]) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": "Latent Face Studio"})
    out = Figure(name, title, caption, buf.getvalue())
    for ext in formats:
        if ext == "png":
            continue
        vb = io.BytesIO()
        meta = {"Creator": "Latent Face Studio"} if ext == "pdf" else {"Creator": "Latent Face Studio"}
        fig.savefig(vb, format=ext, metadata=meta)
        out.vectors[ext] = vb.getvalue()
    return out


def _r(v, digits: int = 6):
    """JSON-ready numbers: floats rounded, NaN/inf → None, arrays → lists."""
    if isinstance(v, np.ndarray):
        return _r(v.tolist(), digits)
    if isinstance(v, (list, tuple)):
        return [_r(x, digits) for x in v]
    if isinstance(v, dict):
        return {str(k): _r(x, digits) for k, x in v.items()}
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return round(f, digits) if math.isfinite(f) else None
    return v


def strongest_pairs(corr: np.ndarray, k: int = TOP_PAIRS) -> list[tuple[int, int, float]]:
    """The k off-diagonal pairs with the largest |r| (i < j), strongest first — the Correlations panel's list."""
    corr = np.asarray(corr, float)
    iu = np.triu_indices(corr.shape[0], 1)
    vals = np.abs(corr[iu])
    order = np.argsort(vals)[::-1][:k]
    return [(int(iu[0][o]), int(iu[1][o]), float(corr[iu[0][o], iu[1][o]])) for o in order]


def _axis_name(axis) -> str:
    kind, i = axis
    return f"PC{i + 1}" if kind == "pca" else f"z{i}"


# ----------------------------------------------------------------------------------------------
# the figures, one function each: (figure, numbers)


def fig_histograms(stats, components: Sequence[int], formats) -> tuple[Figure, dict]:
    from ..latent_stats import gaussian

    n = len(components)
    cols = min(3, n)
    rows = int(math.ceil(n / cols))
    fig = _figure(3.3 * cols, 2.5 * rows)
    axs = fig.subplots(rows, cols, squeeze=False)
    nums = []
    for k, ax in enumerate(axs.ravel()):
        if k >= n:
            ax.set_visible(False)
            continue
        i = int(components[k])
        h = stats.histogram(i)
        amp, c, s = float(stats.amplitudes[i]), float(stats.centres[i]), float(stats.sigmas[i])
        hw = float(stats.half_widths[i])
        ax.bar(h.centres, h.counts, width=stats.interval * 0.95, color="#8fb4d9", edgecolor="none", label="z-points")
        xs = np.linspace(h.edges[0], h.edges[-1], 300)
        ax.plot(xs, gaussian(xs, amp, c, s), color="#c0392b", lw=1.6, label="Gaussian fit")
        ax.axvline(c, color="#333", lw=1)
        for x in (c - hw, c + hw):
            ax.axvline(x, color="#333", lw=0.8, ls="--")
        ax.set_title(f"z{i}: centre {c:.3f}, σ {s:.3f}, R² {float(stats.fit_quality[i]):.3f}", fontsize=8)
        ax.tick_params(labelsize=7)
        nums.append({"component": i, "centre": c, "sigma": s, "half_width": hw, "amplitude": amp,
                     "fit_quality": float(stats.fit_quality[i]), "mean": float(stats.mean[i]), "std": float(stats.std[i]),
                     "edges": h.edges, "counts": h.counts})
    axs[0, 0].legend(fontsize=7, loc="upper left")
    f = _render(fig, "fig-01-histograms", "Per-component histograms with Gaussian fits",
                "Histogram of each chosen component (bins of the sampling interval), the least-squares Gaussian fit "
                "(red), its centre (solid) and centre ± half-width at half maximum (dashed).", formats)
    return f, {"interval": float(stats.interval), "components": nums}


def fig_histogram_overview(stats, formats) -> tuple[Figure, dict]:
    d = int(stats.z_dim)
    lo = float(np.min(stats.hist_lo))
    hi = float(np.max(stats.hist_lo + stats.interval * stats.hist_bins))
    bins = int(round((hi - lo) / stats.interval))
    img = np.zeros((d, bins))
    for i in range(d):
        b = int(stats.hist_bins[i])
        start = int(round((float(stats.hist_lo[i]) - lo) / stats.interval))
        counts = np.asarray(stats.hist_counts[i, :b], float)
        img[i, start:start + b] = counts / max(counts.max(), 1.0)
    fig = _figure(9.0, 5.2)
    ax1, ax2 = fig.subplots(1, 2, width_ratios=[3, 2])
    ax1.imshow(img, aspect="auto", origin="lower", extent=(lo, hi, -0.5, d - 0.5), cmap="Blues", interpolation="nearest")
    ax1.plot(stats.centres, np.arange(d), ".", color="#c0392b", ms=1.5, label="fitted centre")
    ax1.set_xlabel("value")
    ax1.set_ylabel("component")
    ax1.set_title("every component's histogram (each row scaled to its peak)", fontsize=9)
    ax1.legend(fontsize=7, loc="upper right")
    ax2.plot(np.arange(d), stats.sigmas, lw=1, color="#2c6fad", label="fitted σ")
    ax2.plot(np.arange(d), stats.std, lw=0.8, color="#777", ls="--", label="std")
    ax2.set_xlabel("component")
    ax2.set_ylabel("σ")
    tw = ax2.twinx()
    tw.plot(np.arange(d), stats.fit_quality, lw=0.8, color="#c0392b", label="R² of the fit")
    tw.set_ylim(min(0.0, float(np.min(stats.fit_quality))), 1.02)
    tw.set_ylabel("R²")
    ax2.legend(fontsize=7, loc="upper left")
    tw.legend(fontsize=7, loc="lower right")
    ax2.set_title("fitted σ and fit quality per component", fontsize=9)
    f = _render(fig, "fig-02-histogram-overview", "All components at a glance",
                "Left: the histogram of every component as one row (scaled to its peak), the fitted centres in red. "
                "Right: the fitted σ (and the plain standard deviation) and the fit's R² per component.", formats)
    nums = {"centres": stats.centres, "sigmas": stats.sigmas, "half_widths": stats.half_widths,
            "fit_quality": stats.fit_quality, "amplitudes": stats.amplitudes, "mean": stats.mean, "std": stats.std}
    return f, nums


def fig_correlations(stats, formats) -> tuple[Figure, dict]:
    corr = np.asarray(stats.corr, float)
    top = strongest_pairs(corr)
    fig = _figure(9.0, 5.0)
    ax1, ax2 = fig.subplots(1, 2, width_ratios=[3, 2])
    im = ax1.imshow(corr, cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
    fig.colorbar(im, ax=ax1, shrink=0.8, label="Pearson r")
    ax1.set_title("Pearson correlation of the components", fontsize=9)
    ax1.set_xlabel("component j")
    ax1.set_ylabel("component i")
    for i, j, _r_ in top[:5]:
        ax1.plot([j], [i], "s", mfc="none", mec="k", ms=5)
    ax2.axis("off")
    rows = [[f"z{i} – z{j}", f"{r:+.3f}"] for i, j, r in top]
    t = ax2.table(cellText=rows, colLabels=["pair", "r"], loc="center", cellLoc="left")
    t.auto_set_font_size(False)
    t.set_fontsize(8)
    ax2.set_title(f"the {len(top)} strongest pairs", fontsize=9)
    off = np.abs(corr[np.triu_indices(corr.shape[0], 1)])
    f = _render(fig, "fig-03-correlations", "Correlations",
                "The Pearson matrix of the z-components (the five strongest pairs boxed) and the strongest "
                "off-diagonal pairs.", formats)
    nums = {"strongest_pairs": [{"i": i, "j": j, "r": r} for i, j, r in top],
            "mean_abs_offdiagonal": float(off.mean()) if off.size else None,
            "max_abs_offdiagonal": float(off.max()) if off.size else None, "matrix": corr}
    return f, nums


def pair_numbers(latents, stats, axes, levels, scaling: str = "sigma") -> dict:
    from ..latent_stats import density_contours, density_grid, fraction_inside_ellipse, pair_moments, project

    xy = project(latents, stats, axes)
    mean2, cov2 = pair_moments(stats, axes)
    grid = density_grid(xy)
    contours = density_contours(grid)
    return {"axes": [_axis_name(a) for a in axes], "xy": xy, "mean": mean2, "cov": cov2, "grid": grid,
            "contours": contours, "scaling": scaling,
            "inside": [fraction_inside_ellipse(xy, mean2, cov2, lv, scaling) for lv in levels], "levels": list(levels)}


def fig_pairs(latents, stats, pairs: Sequence, levels, formats, seed: int = 0) -> tuple[Figure, dict]:
    from ..latent_stats import confidence_ellipse

    colours = ["#e67e22", "#8e44ad", "#16a085", "#c0392b"]
    fig = _figure(4.4 * len(pairs), 4.3)
    axs = fig.subplots(1, len(pairs), squeeze=False)[0]
    rng = np.random.default_rng(seed)
    out = []
    for ax, axes in zip(axs, pairs):
        p = pair_numbers(latents, stats, axes, levels)
        g = p["grid"]
        ax.imshow(np.sqrt(g.density.T), origin="lower", aspect="auto", cmap="Blues",
                  extent=(g.x_edges[0], g.x_edges[-1], g.y_edges[0], g.y_edges[-1]))
        xy = p["xy"]
        idx = rng.choice(len(xy), size=min(len(xy), 3000), replace=False)
        ax.scatter(xy[idx, 0], xy[idx, 1], s=0.6, c="#555", alpha=0.35, linewidths=0)
        for _lv, lines in p["contours"]:
            for line in lines:
                ax.plot(line[:, 0], line[:, 1], color="#1f3b73", lw=0.6, alpha=0.7)
        for k, (lv, inside) in enumerate(zip(levels, p["inside"])):
            e = confidence_ellipse(p["mean"], p["cov"], lv)
            ax.plot(e[:, 0], e[:, 1], color=colours[k % len(colours)], lw=1.6, ls="--",
                    label=f"{lv:g}σ ellipse: {100 * inside:.1f}% inside")
        ax.plot([p["mean"][0]], [p["mean"][1]], "k+", ms=12, mew=2)
        ax.set_xlim(g.x_edges[0], g.x_edges[-1])
        ax.set_ylim(g.y_edges[0], g.y_edges[-1])
        ax.set_xlabel(p["axes"][0])
        ax.set_ylabel(p["axes"][1])
        ax.legend(fontsize=7, loc="upper right")
        ax.set_title(f"{p['axes'][0]} × {p['axes'][1]}", fontsize=9)
        out.append({"axes": p["axes"], "mean": p["mean"], "cov": p["cov"], "levels": p["levels"], "scaling": p["scaling"],
                    "fraction_inside": p["inside"], "contour_levels": [lv for lv, _ in p["contours"]],
                    "density_extent": [g.x_edges[0], g.x_edges[-1], g.y_edges[0], g.y_edges[-1]]})
    f = _render(fig, "fig-04-pair-plots", "Pair plots: original and principal axes",
                "The density of all training z-points (blue), a sample of points, density contours, the confidence "
                "ellipses of the pair's covariance (σ scaling: half-axes level·σ) with the fraction of z-points "
                "inside each, and the centre (+). Left: the most strongly correlated pair of original components; "
                "right: the two leading principal components.", formats)
    return f, {"pairs": out}


def fig_pca(stats, formats) -> tuple[Figure, dict]:
    ratio = np.asarray(stats.pca.explained_variance_ratio, float)
    cum = np.cumsum(ratio)
    need = {str(q): int(np.searchsorted(cum, q / 100.0) + 1) for q in (50, 80, 90, 95, 99)}
    k = min(len(ratio), 64)
    fig = _figure(7.5, 3.6)
    ax = fig.subplots()
    ax.bar(np.arange(1, k + 1), 100 * ratio[:k], color="#8fb4d9", label="explained variance")
    ax.set_xlabel("principal component")
    ax.set_ylabel("% of variance")
    tw = ax.twinx()
    tw.plot(np.arange(1, len(ratio) + 1), 100 * cum, color="#c0392b", lw=1.5, label="cumulative")
    tw.set_ylim(0, 101)
    tw.set_ylabel("cumulative %")
    ax.set_xlim(0.5, k + 0.5)
    ax.set_title("PCA: " + ", ".join(f"{q}% in {n}" for q, n in need.items()) + " components", fontsize=9)
    ax.legend(fontsize=7, loc="center right")
    f = _render(fig, "fig-05-pca", "PCA explained variance",
                f"The variance each principal component carries (the first {k} as bars) and the cumulative curve "
                "over all components.", formats)
    return f, {"explained_variance": stats.pca.explained_variance, "explained_variance_ratio": ratio,
               "cumulative": cum, "components_for_percent": need}


def fig_normality(stats, formats) -> tuple[Figure, dict]:
    from scipy.stats import chi2

    nc = stats.normality
    levels = np.asarray(nc.levels, float)
    obs, exp = np.asarray(nc.observed, float), np.asarray(nc.expected, float)
    md = np.asarray(nc.mahalanobis_sq, float)
    d = int(stats.z_dim)
    fig = _figure(9.0, 3.6)
    ax1, ax2 = fig.subplots(1, 2)
    ax1.bar(levels - 0.1, obs, width=0.18, color="#2c6fad", label="z-points")
    ax1.bar(levels + 0.1, exp, width=0.18, color="#aaa", label="Gaussian")
    for lv, o, e in zip(levels, obs, exp):
        ax1.text(lv, max(o, e) + 0.02, f"{100 * o:.1f}% / {100 * e:.1f}%", ha="center", fontsize=7)
    ax1.set_ylim(0, 1.15)
    ax1.set_xticks(levels, [f"{lv:g}σ" for lv in levels])
    ax1.set_ylabel("fraction inside")
    ax1.set_title("inside the Mahalanobis σ-levels", fontsize=9)
    ax1.legend(fontsize=7, loc="upper left")
    lo, hi = float(np.percentile(md, 0.1)), float(np.percentile(md, 99.9))
    lo, hi = min(lo, d - 4 * np.sqrt(2 * d)), max(hi, d + 4 * np.sqrt(2 * d))
    counts, edges = np.histogram(md, bins=80, range=(max(0.0, lo), hi), density=True)
    ax2.stairs(counts, edges, fill=True, color="#8fb4d9", label="z-points")
    xs = np.linspace(edges[0], edges[-1], 300)
    ax2.plot(xs, chi2.pdf(xs, d), "k--", lw=1.4, label=f"χ²({d}) density")
    ax2.set_xlabel("squared Mahalanobis distance d²")
    ax2.set_title("d² against the χ²(d) of a Gaussian", fontsize=9)
    ax2.legend(fontsize=7)
    f = _render(fig, "fig-06-normality", "Normality check",
                "Fraction of z-points inside each Mahalanobis σ-level (the χ²(d) quantile of that level's 1-D "
                "probability), observed vs a Gaussian; the histogram of d² against the χ²(d) density.", formats)
    return f, {"levels": levels, "observed": obs, "expected": exp, "thresholds": nc.thresholds,
               "d2_median": float(np.median(md)), "d2_mean": float(md.mean()), "d2_histogram_edges": edges,
               "d2_histogram_density": counts}


def fig_faces(opened, samplers: Sequence[str], faces: int, seed: int, formats, cancel, tick) -> tuple[Figure, dict]:
    from ..image_sets import make_grid
    from ..samplers import compared_samplers
    from .generate import generate

    from ..errors import SamplerError

    names = list(samplers) if samplers else list(compared_samplers())
    cols = min(4, len(names))
    rows = int(math.ceil(len(names) / cols))
    fig = _figure(2.6 * cols, 2.9 * rows)
    axs = fig.subplots(rows, cols, squeeze=False)
    nums = {}
    for k, ax in enumerate(axs.ravel()):
        ax.axis("off")
        if k >= len(names):
            continue
        name = names[k]
        cancel.raise_if_cancelled()
        try:
            gen = generate(opened, name, None, faces, seed, cancel=cancel)
        except SamplerError as exc:
            ax.set_title(f"{name}: not fitted", fontsize=8)
            nums[name] = {"error": str(exc)}
            continue
        ax.imshow(make_grid(gen.images, columns=int(math.ceil(math.sqrt(faces))), pad=1), interpolation="nearest")
        ax.set_title(name, fontsize=9)
        nums[name] = {"parameters": gen.params["parameters"], "seed": int(seed), "n": int(faces)}
        tick(f"faces: {name}")
    f = _render(fig, "fig-07-faces", "Faces per sampler",
                f"{faces} faces of each sampler at its default parameters (seed {seed}).", formats)
    return f, nums


def fig_atlas(opened, side: int, levels, formats) -> tuple[Figure, dict]:
    from ..atlas import atlas
    from ..latent_stats import confidence_ellipse, pair_moments

    a = atlas(opened.codec, opened.stats, ("pca", 0), ("pca", 1), rows=side, cols=side)
    x0, x1, y0, y1 = a.extent
    mean2, cov2 = pair_moments(opened.stats, (("pca", 0), ("pca", 1)))
    fig = _figure(7.0, 6.6)
    ax = fig.subplots()
    ax.imshow(a.mosaic(), extent=(x0, x1, y0, y1), origin="upper", interpolation="nearest", aspect="auto")
    for lv in levels:
        e = confidence_ellipse(mean2, cov2, lv)
        ax.plot(e[:, 0], e[:, 1], color="#f1c40f", lw=1.4, ls="--")
        ax.text(mean2[0] + lv * math.sqrt(cov2[0, 0]) * 0.72, mean2[1] + lv * math.sqrt(cov2[1, 1]) * 0.72,
                f"{lv:g}σ", color="#f1c40f", fontsize=8)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel("PC1")
    ax.set_ylabel("PC2")
    ax.set_title(f"face atlas over PC1 × PC2 ({side}×{side}, other coordinates at the cloud's centre)", fontsize=9)
    f = _render(fig, "fig-08-atlas", "Face atlas over PC1 × PC2",
                "The decoder's face at the centre of each cell of the plane spanned by the two leading principal "
                "axes through the cloud's centre (±3σ), with the σ confidence ellipses.", formats)
    nums = a.to_json()
    nums["decode_s"] = round(a.decode_s, 3)
    return f, nums


def fig_sampler_table(report, formats) -> tuple[Figure, dict]:
    rows = report.rows
    cols = ["name", "kind"] + list(report.metrics)

    def cell(r, c):
        v = r.get(c)
        if c in ("name", "kind"):
            return str(v)
        if v is None or (isinstance(v, float) and not math.isfinite(v)):
            return "—"
        return f"{v:.1f}" if c == "frechet" else f"{v:.3f}"

    fig = _figure(9.0, 0.45 + 0.28 * (len(rows) + 1))
    ax = fig.subplots()
    ax.axis("off")
    t = ax.table(cellText=[[cell(r, c) for c in cols] for r in rows], colLabels=cols, loc="center", cellLoc="right")
    t.auto_set_font_size(False)
    t.set_fontsize(8)
    f = _render(fig, "fig-09-sampler-table", "Sampler comparison", "engine.evaluation.evaluate on this model; "
                "see the metric notes below the table.", formats)
    return f, report.to_json()
