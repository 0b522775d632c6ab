"""Direction lab on the default model: names of the first 10 unsupervised directions (PCA, ICA, varimax,
decoder), a conditional direction, timings, and the blog's question — clusters or directions? — answered
with silhouette scores per attribute on the z-points and on 2-D maps.

    .venv/bin/python benchmarks/directions_default_model.py [--no-maps] [--umap] [--k 10] > out.txt

``--umap`` needs umap-learn importable (an optional extra; see engine/lab/maps.py). Caches are bypassed
for the timed steps.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import lab as D  # noqa: E402
from engine.attributes import cross_fitted_separation, load_labels  # noqa: E402
from engine.formats.native import load_latents, load_model  # noqa: E402
from engine.resources import default_model_dir  # noqa: E402

STRONG = ("Male", "Smiling", "Blond_Hair", "Black_Hair", "Eyeglasses", "Wearing_Lipstick", "Wearing_Hat", "Bangs",
          "Young", "Heavy_Makeup")


def timed(label, fn):
    t0 = time.perf_counter()
    out = fn()
    print(f"[time] {label}: {time.perf_counter() - t0:.1f} s", flush=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--no-maps", action="store_true")
    ap.add_argument("--umap", action="store_true")
    ap.add_argument("--no-images", action="store_true", help="skip pixel/feature measures")
    a = ap.parse_args()

    model_dir = default_model_dir()
    model, config = load_model(model_dir)
    z, files = load_latents(model_dir, config.arch.z_dim)
    table = load_labels(model_dir, files)
    print(f"model {config.model_id}: {len(z)} z-points × {z.shape[1]}, {len(table.names)} attributes")
    probes = timed("attribute judges (40 logistic probes, whitened)",
                   lambda: D.attribute_probes(z, table, cache=False))
    features = None
    if not a.no_images:
        from engine.feature_space import FeatureSpace

        features = FeatureSpace()

    sets = {}
    for method in D.UNSUPERVISED:
        dirs = timed(f"{method} directions (k={a.k})",
                     lambda: D.unsupervised_directions(z, method, a.k, model=model, seed=0))
        ms = timed(f"{method} measures", lambda: D.measure_directions(
            z, dirs, probes=probes, model=None if a.no_images else model, features=features))
        sets[method] = dirs
        print(f"\n== {method}: first {a.k} directions ==")
        print(D.format_table(D.table_rows(dirs, ms)))
        print()

    cond = timed("conditional Smiling | hold Male", lambda: D.conditional_direction(z, table, "Smiling", ["Male"], probes=probes))
    plain = D.attribute_directions(z, table, ["Smiling", "Male"])
    both = [plain[0], cond, plain[1]]
    ms = D.measure_directions(z, both, probes=probes, model=None if a.no_images else model, features=features)
    print("\n== attribute vs conditional ==")
    print(D.format_table(D.table_rows(both, ms)))
    print(f"cosine(conditional, unconditional Smiling) = {cond.meta['cosine_with_unconditional']:.3f}; "
          f"Euclidean cosine with Male's editing direction = {cond.meta['euclidean_cosine_with_held']['Male']:.3f}")

    # ---- clusters or directions?
    print("\n== clusters or directions? ==")
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    zs = np.asarray(z, dtype=np.float64)
    for kk in (2, 3, 5, 8):
        lab = KMeans(kk, n_init=3, random_state=0).fit_predict(zs)
        print(f"k-means k={kk}: silhouette on z {silhouette_score(zs, lab, sample_size=4000, random_state=0):.3f}")
    sil_z = timed("silhouettes on z", lambda: D.attribute_silhouettes(zs, table, STRONG))
    maps = {}
    if not a.no_maps:
        maps["tsne"] = timed("t-SNE map (9,000 × 256 → PCA 50 → 2-D, 1,000 iterations)",
                             lambda: D.compute_map(z, "tsne", cache=False)).xy
        if a.umap:
            maps["umap"] = timed("UMAP map (first call includes numba compilation)",
                                 lambda: D.compute_map(z, "umap", cache=False)).xy
            maps["umap"] = timed("UMAP map (second call)", lambda: D.compute_map(z, "umap", seed=1, cache=False)).xy
        maps["pca"] = D.compute_map(z, "pca", cache=False).xy
    sil_maps = {k: D.attribute_silhouettes(v, table, STRONG) for k, v in maps.items()}
    for k, xy in maps.items():
        for kk in (2, 5):
            lab = KMeans(kk, n_init=3, random_state=0).fit_predict(xy)
            print(f"k-means k={kk} on the {k} map: silhouette {silhouette_score(xy, lab, sample_size=4000, random_state=0):.3f}")
    head = f"{'attribute':<18} {'rate':>5} {'sil z':>7} " + " ".join(f"{'sil ' + k:>9}" for k in maps) + \
        f" {'sep d':>6} {'dir acc':>7}"
    print(head)
    for nm in STRONG:
        p, ab = table.groups(nm)
        keep = p | ab
        sep, acc = cross_fitted_separation(zs[keep], p[keep])
        cells = " ".join(f"{sil_maps[k][nm]:>9.3f}" for k in maps)
        print(f"{nm:<18} {p.sum() / keep.sum():>5.2f} {sil_z[nm]:>7.3f} {cells} {sep:>6.2f} {acc:>7.3f}")
    print("sil: silhouette of the present/absent split (1 = two separate tight clusters, 0 = overlapping); "
          "sep d / dir acc: cross-fitted separation and balanced accuracy along the difference-of-means direction")
    return 0


if __name__ == "__main__":
    sys.exit(main())
