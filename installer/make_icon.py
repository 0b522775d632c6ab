"""Draw the application icon resources/icons/app.png (256×256): a face drawn in a scatter of latent points.

    python installer/make_icon.py [OUT.png]
"""
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parents[1]


def draw_icon(size: int = 256) -> Image.Image:
    s = size / 256
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle([8 * s, 8 * s, 248 * s, 248 * s], radius=44 * s, fill=(28, 36, 58, 255))
    rng = np.random.default_rng(7)  # a Gaussian cloud of z-points with its 1σ/2σ ellipses
    pts = rng.multivariate_normal([128, 128], [[1500, 700], [700, 1100]], 260) * 1.0
    for x, y in pts:
        if 20 < x < 236 and 20 < y < 236:
            d.ellipse([(x - 2.2) * s, (y - 2.2) * s, (x + 2.2) * s, (y + 2.2) * s], fill=(90, 160, 230, 150))
    ring = Image.new("RGBA", img.size, (0, 0, 0, 0))
    r = ImageDraw.Draw(ring)
    for k, alpha in ((1.0, 200), (2.0, 120)):
        r.ellipse([(128 - 52 * k) * s, (128 - 40 * k) * s, (128 + 52 * k) * s, (128 + 40 * k) * s],
                  outline=(255, 190, 80, alpha), width=max(2, int(3 * s)))
    ring = ring.rotate(-28, center=(128 * s, 128 * s))
    img = Image.alpha_composite(img, ring)
    d = ImageDraw.Draw(img)
    # the face: skin oval, eyes, smile
    d.ellipse([84 * s, 66 * s, 172 * s, 184 * s], fill=(242, 200, 160, 255), outline=(255, 235, 205, 255),
              width=max(1, int(3 * s)))
    for ex in (108, 148):
        d.ellipse([(ex - 7) * s, 110 * s, (ex + 7) * s, 124 * s], fill=(40, 44, 60, 255))
    d.arc([104 * s, 124 * s, 152 * s, 164 * s], start=20, end=160, fill=(170, 70, 70, 255), width=max(2, int(5 * s)))
    return img.filter(ImageFilter.SMOOTH)


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "resources" / "icons" / "app.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    draw_icon().save(out, optimize=True)
    print(out, out.stat().st_size, "bytes")
