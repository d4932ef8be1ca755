"""Side-by-side image grids of augmentations on the shipped sample photos (``compare --save``)."""

from __future__ import annotations

from pathlib import Path

from .contracts import AUGMENT_NUM_CLASSES
from .data import SAMPLES, sample_image
from .registry import EncycloError, registry


def sample_batch(n: int, size: tuple[int, int]):
    """n sample photos (cycled) resized to (H, W), as an (n, 3, H, W) float tensor in [0, 1] and labels."""
    import cv2
    import numpy as np
    import torch

    h, w = size
    images = [cv2.resize(sample_image(SAMPLES[i % len(SAMPLES)]), (w, h), interpolation=cv2.INTER_AREA)
              for i in range(n)]
    batch = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255.0
    return batch, torch.arange(n) % AUGMENT_NUM_CLASSES


def _to_uint8(images) -> "list":
    return [(img.permute(1, 2, 0).clamp(0, 1) * 255).round().byte().numpy() for img in images]


def check_drawable(names: list[str]) -> None:
    if not {registry().entry(n).io for n in names} <= {"batch_augment", "image_augment"}:
        raise EncycloError("--save draws augmentations only (batch_augment or image_augment entries)")


def save_grid(names: list[str], shape: tuple[int, ...], path: Path, *, seed: int = 0) -> None:
    """Rows: the input, then each augmentation's output, on the sample photos; written with opencv."""
    import cv2
    import numpy as np
    import torch

    check_drawable(names)
    reg = registry()
    n = min(shape[0], 6) if len(shape) == 4 else 3
    h, w = (shape[2], shape[3]) if len(shape) == 4 else (shape[0], shape[1])
    batch, targets = sample_batch(n, (h, w))
    rows = [_to_uint8(batch)]
    labels = ["input"]
    for name in names:
        fn = reg.create(name)
        if reg.entry(name).io == "batch_augment":
            out, _ = fn(batch.clone(), targets, num_classes=AUGMENT_NUM_CLASSES,
                        generator=torch.Generator().manual_seed(seed))
            rows.append(_to_uint8(out))
        else:
            rng = np.random.default_rng(seed)
            rows.append([fn(img.copy(), rng) for img in rows[0]])
        labels.append(name)
    lines = []
    for label, images in zip(labels, rows):
        tiles = [cv2.resize(im, (w, h)) for im in images]
        strip = cv2.hconcat(tiles)
        band = np.full((24, strip.shape[1], 3), 255, np.uint8)
        cv2.putText(band, label, (6, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
        lines += [band, strip]
    grid = cv2.vconcat(lines)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR)):
        raise EncycloError(f"could not write {path} (use a .png or .jpg name)")
