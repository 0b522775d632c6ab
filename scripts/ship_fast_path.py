"""Write what the default model ships ready-made: its checked ONNX export (engine/formats/fast_path_shipped.py)
the statistics of its z-points (engine/latent_stats.py) and the lab's attribute judges (engine/lab/probes.py, about
40 s to train).

    python scripts/ship_fast_path.py [model folder]

Run it whenever the default model's weights, z-points or labels change (after scripts/export_default_model.py),
then put the printed sha256 into engine.resources.SHIPPED_FAST_PATHS (tests/test_fast_path_shipped.py checks that
they agree).
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.formats.fast_path_shipped import MANIFEST, SHIPPED_CACHES, SHIPPED_FILES, write_shipped  # noqa: E402
from engine.formats.native import load_model, read_config  # noqa: E402
from engine.formats.native.weights import network_key  # noqa: E402
from engine.resources import default_model_dir  # noqa: E402


def main(folder: str | None = None) -> None:
    from engine.workflows.open_model import open_model

    out = Path(folder) if folder else default_model_dir()
    caches = {}
    opened = open_model(out)
    if opened.latents is not None:  # the statistics of its z-points (the first launch needs them)
        import tempfile

        from engine.latent_stats import compute_stats, save_stats, stats_key

        stats = compute_stats(opened.latents)
        stats.key = stats_key(opened.latents, stats.interval)
        with tempfile.TemporaryDirectory() as tmp:
            save_stats(Path(tmp) / "stats.npz", stats)
            caches[f"{stats.key}.npz"] = (Path(tmp) / "stats.npz").read_bytes()
    if opened.latents is not None and opened.labels is not None:
        from engine.lab.probes import shipped_probes_file

        name, data = shipped_probes_file(opened.latents, opened.labels)
        caches[name] = data
    module, _ = load_model(out, device="cpu")
    digest = write_shipped(out, module, network_key(out, read_config(out)), caches)
    files = [out / n for n in (MANIFEST, *SHIPPED_FILES)] + [out / SHIPPED_CACHES / n for n in caches]
    print(f"{out}: shipped files written ({sum(f.stat().st_size for f in files) / 1e6:.1f} MB)")
    for f in files:
        print(f"  {f.relative_to(out)}  {f.stat().st_size:,} bytes")
    print(f"manifest sha256 (engine.resources.SHIPPED_FAST_PATHS): {digest}")


if __name__ == "__main__":
    main(*sys.argv[1:])
