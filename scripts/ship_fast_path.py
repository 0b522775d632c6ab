"""Write the default model's shipped fast path (its checked ONNX export, engine/formats/fast_path_shipped.py).

    python scripts/ship_fast_path.py [model folder]

Run it whenever the default model's weights change (scripts/export_default_model.py does), then put the printed
sha256 into engine.resources.SHIPPED_FAST_PATHS (tests/test_fast_path_shipped.py checks that they agree).
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.formats.fast_path_shipped import write_shipped  # noqa: E402
from engine.resources import default_model_dir  # noqa: E402


def main(folder: str | None = None) -> None:
    out = Path(folder) if folder else default_model_dir()
    digest = write_shipped(out)
    sizes = sum((out / n).stat().st_size for n in ("fast_path.json", "fast_path_encoder.onnx", "fast_path_decoder.onnx",
                                                   "fast_path_probe.npz"))
    print(f"{out}: shipped fast path written ({sizes / 1e6:.1f} MB)")
    print(f"manifest sha256 (engine.resources.SHIPPED_FAST_PATHS): {digest}")


if __name__ == "__main__":
    main(*sys.argv[1:])
