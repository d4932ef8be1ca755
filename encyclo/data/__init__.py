"""Small sample images shipped with encyclo, so examples and tests never download anything.

From scikit-image's bundled data (skimage/data), resized to 256 px on the short side:
- astronaut: Eileen Collins, NASA Great Images database; public domain.
- chelsea: a cat; CC0 by the photographer, Stefan van der Walt.
- coffee: a cup of coffee, courtesy of Pikolo Espresso Bar; CC0 by the photographer, Rachel Michetti.
"""

from __future__ import annotations

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent
SAMPLES = ("astronaut", "chelsea", "coffee")


def sample_path(name: str = "astronaut") -> Path:
    if name not in SAMPLES:
        raise ValueError(f"unknown sample image '{name}' (known: {', '.join(SAMPLES)})")
    return DATA_DIR / f"{name}.jpg"


def sample_image(name: str = "astronaut"):
    """A sample photo as an (H, W, 3) uint8 RGB array (opencv decodes it)."""
    import cv2

    bgr = cv2.imread(str(sample_path(name)), cv2.IMREAD_COLOR)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
