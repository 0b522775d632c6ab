#!/usr/bin/env python3
"""Which attribute direction edits better: the difference of class means or the linear probe?

    python benchmarks/attribute_editing.py [--model MODEL_DIR] [--attributes Smiling,Male,...] [--n 300]

The z-points are split at random in two halves. Directions (both methods) come from half A only.
Two independent judges are trained on half B only:
  * latent judge — a logistic probe on B's z-points; an edited face is decoded and re-encoded first,
    so the judge sees what the face really shows;
  * pixel judge — a logistic regression on B's *decoded* faces (reconstructions, 16×16×3 average-pooled
    pixels), never on z at all, so it cannot favour either direction by construction.
Then ``n`` faces of half B *without* the attribute are moved by +amount (adding it) and ``n`` faces
*with* it by −amount (removing it). Reported per method and amount: the share of edited faces the
judges call changed ("flip"), the mean absolute pixel change of the decoded face (0–255), the
length of the move in z, and the off-target drift: the share of edited faces whose pixel-judged label
of another attribute (``--others``) flipped, averaged over those attributes. Amount 1 for both methods is the gap between the class means measured along
the method's own direction; ``equal-dist`` rows move the probe direction by the same z-distance as
the mean direction at amount 1, for a like-for-like comparison. ``probe`` is the engine's editing
probe (logistic regression on standardised z); ``probe-wht`` is the ranking's probe on whitened z
(≈ the LDA direction Σ⁻¹Δμ), which classifies as well but edits poorly.
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_ATTRS = "Smiling,Male,Eyeglasses,Blond_Hair,Young,Mouth_Slightly_Open,Bangs,Wearing_Hat"


def pooled(images: np.ndarray, k: int = 4) -> np.ndarray:
    n, h, w, c = images.shape
    x = images.reshape(n, h // k, k, w // k, k, c).astype(np.float32).mean(axis=(2, 4))
    return x.reshape(n, -1) / 255.0


def pixel_pipeline(C: float = 0.01):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=C, class_weight="balanced", max_iter=300))


def main() -> int:
    from sklearn.exceptions import ConvergenceWarning

    from engine.attributes import LinearProbe, _direction_from, attribute_direction, edit_latents, require_labels
    from engine.encoding import decode_latents, encode_images
    from engine.formats.native import load_latents, load_model
    from engine.resources import default_model_dir

    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=str(default_model_dir()))
    ap.add_argument("--attributes", default=DEFAULT_ATTRS)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--amounts", default="0.5,1,1.5,2")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--others", default="Male,Young,Eyeglasses,Blond_Hair,Smiling",
                    help="attributes whose (pixel-judged) labels should NOT change: the off-target drift")
    a = ap.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    import torch

    torch.set_num_threads(max(1, torch.get_num_threads()))
    amounts = [float(x) for x in a.amounts.split(",")]
    model, config = load_model(a.model)
    z, files = load_latents(a.model, config.arch.z_dim)
    table = require_labels(a.model, files)
    rng = np.random.default_rng(a.seed)
    perm = rng.permutation(len(z))
    A, B = np.sort(perm[: len(z) // 2]), np.sort(perm[len(z) // 2 :])
    tA, tB = table.subset(A), table.subset(B)
    t0 = time.time()
    recon_B = decode_latents(model, z[B])
    pix_B = pooled(recon_B)
    print(f"{len(A)} z-points give the directions, {len(B)} train the judges; decoded B in {time.time() - t0:.0f} s", flush=True)

    others = {}
    for o in [s.strip() for s in a.others.split(",") if s.strip()]:
        po, ao = tB.groups(o)
        others[o] = pixel_pipeline().fit(pix_B[po | ao], po[po | ao])

    summary = []
    for name in [s.strip() for s in a.attributes.split(",") if s.strip()]:
        pB, aB = tB.groups(name)
        keepB = pB | aB
        latent_judge = LinearProbe(balanced=True).fit(z[B][keepB], pB[keepB])
        pixel_judge = pixel_pipeline().fit(pix_B[keepB], pB[keepB])
        dirs = {m: attribute_direction(z[A], tA, name, m) for m in ("mean", "probe")}
        # the ranking's probe on whitened z (≈ the LDA direction): classifies as well, but how does it edit?
        pA, aA = tA.groups(name)
        keepA = pA | aA
        dirs["probe-wht"] = _direction_from(z[A].astype(np.float64), pA, aA, name, "probe-wht",
                                            LinearProbe().fit(z[A][keepA], pA[keepA]).weights)
        mean_len = float(np.linalg.norm(dirs["mean"].vector))
        print(f"\n{name}: {int(pB.sum())} with / {int(aB.sum())} without in B; |mean step| {mean_len:.2f}, "
              f"probe step {dirs['probe'].step:.2f}, cos(mean, probe) {float(dirs['mean'].unit @ dirs['probe'].unit):.2f}, "
              f"cos(mean, probe-wht) {float(dirs['mean'].unit @ dirs['probe-wht'].unit):.2f}")
        print(f"  {'method':<9} {'amount':>10} {'|Δz|':>6} {'add: pix':>9} {'lat':>5} {'remove: pix':>12} {'lat':>5} {'Δpixels':>8} {'off-target':>10}")
        idx_neg = np.flatnonzero(aB)[: a.n]
        idx_pos = np.flatnonzero(pB)[: a.n]
        base = {"neg": recon_B[idx_neg], "pos": recon_B[idx_pos]}
        rows = []
        for method in ("mean", "probe", "probe-wht"):
            d = dirs[method]
            plan = [(f"{x:g}", x) for x in amounts]
            if method != "mean":
                plan.append(("equal-dist", mean_len / d.step))
            for label, amt in plan:
                res = {}
                for kind, idx, sign in (("neg", idx_neg, +1), ("pos", idx_pos, -1)):
                    zz = edit_latents(z[B][idx], d, [sign * amt])[:, 0]
                    img = decode_latents(model, zz)
                    want = kind == "neg"  # adding: judged present; removing: judged absent
                    pix = (pixel_judge.decision_function(pooled(img)) > 0) == want
                    lat = (latent_judge.decision_function(encode_images(model, img)) > 0) == want
                    change = float(np.abs(img.astype(np.float32) - base[kind].astype(np.float32)).mean())
                    drift = [float(((j.decision_function(pooled(img)) > 0) != (j.decision_function(pooled(base[kind])) > 0)).mean())
                             for o, j in others.items() if o != name]
                    res[kind] = (float(pix.mean()), float(lat.mean()), change, float(np.mean(drift)) if drift else float("nan"))
                dz = abs(amt) * d.step
                change = (res["neg"][2] + res["pos"][2]) / 2
                off = (res["neg"][3] + res["pos"][3]) / 2
                print(f"  {method:<9} {label:>10} {dz:>6.2f} {res['neg'][0]:>9.3f} {res['neg'][1]:>5.3f} "
                      f"{res['pos'][0]:>12.3f} {res['pos'][1]:>5.3f} {change:>8.2f} {off:>10.3f}", flush=True)
                rows.append((method, label, dz, res, change, off))
        # baseline: how often the judges already call unedited faces "changed" (their error rate)
        pix0n = float(((pixel_judge.decision_function(pooled(base["neg"])) > 0)).mean())
        pix0p = float(((pixel_judge.decision_function(pooled(base["pos"])) <= 0)).mean())
        print(f"  unedited reconstructions judged changed: add {pix0n:.3f} / remove {pix0p:.3f} (pixel judge)")
        m1 = next(r for r in rows if r[0] == "mean" and r[1] == "1")
        p1 = next(r for r in rows if r[0] == "probe" and r[1] == "1")
        pe = next(r for r in rows if r[0] == "probe" and r[1] == "equal-dist")
        se = next(r for r in rows if r[0] == "probe-wht" and r[1] == "equal-dist")
        summary.append((name, m1, p1, pe, se))

    print("\nsummary: flip rate by the pixel judge (add/remove averaged) (mean |Δpixel| per face; off-target flip rate)")
    print(f"  {'attribute':<20} {'mean a=1':>18} {'probe a=1':>18} {'probe eq-dist':>18} {'probe-wht eq-dist':>18}")
    for name, m1, p1, pe, se in summary:
        f = lambda r: f"{(r[3]['neg'][0] + r[3]['pos'][0]) / 2:.2f} ({r[4]:.1f}; {r[5]:.2f})"  # noqa: E731
        print(f"  {name:<20} {f(m1):>18} {f(p1):>18} {f(pe):>18} {f(se):>18}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
