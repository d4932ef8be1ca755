"""Run a classifier on a plain image: the preprocessing comes from the entry's ``preprocess`` fields.

Weights are read from a local file only, with ``torch.load(..., weights_only=True)`` (no pickled
code runs) and an optional sha256 check before anything is loaded; mismatched keys or shapes give
one clear error. Nothing is downloaded, ever.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .registry import EncycloError, registry

_CV2_INTERPOLATION = {"nearest": 0, "bilinear": 1, "bicubic": 2, "area": 3}  # cv2.INTER_* values


@dataclass(frozen=True)
class Prediction:
    index: int
    label: str
    probability: float


def read_image(image: Any):
    """A file path or an (H, W, 3) uint8 RGB array -> (H, W, 3) uint8 RGB array."""
    import cv2
    import numpy as np

    if isinstance(image, (str, Path)):
        path = Path(image)
        if not path.is_file():
            raise EncycloError(f"--image {path}: no such file")
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise EncycloError(f"--image {path}: not an image opencv can read")
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise EncycloError("image: expected a file path or an (H, W, 3) uint8 RGB array")
    return image


def preprocess(image, spec: dict):
    """Resize the short side to ``resize``, centre-crop ``input_size``, scale to [0, 1], normalise.

    A one-number ``mean`` means a grey model: the image is converted to luma first (ITU-R 601).
    Returns a (1, C, input_size, input_size) float32 tensor, C = len(mean).
    """
    import cv2
    import numpy as np
    import torch

    if len(spec["mean"]) == 1:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[:, :, None]
    h, w = image.shape[:2]
    scale = spec["resize"] / min(h, w)
    resized = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))),
                         interpolation=_CV2_INTERPOLATION[spec["interpolation"]])
    size = spec["input_size"]
    top, left = (resized.shape[0] - size) // 2, (resized.shape[1] - size) // 2
    crop = resized.reshape(resized.shape[0], resized.shape[1], -1)[top:top + size, left:left + size]
    crop = crop.astype(np.float32) / 255.0
    crop = (crop - np.asarray(spec["mean"], np.float32)) / np.asarray(spec["std"], np.float32)
    return torch.from_numpy(np.ascontiguousarray(crop.transpose(2, 0, 1)))[None]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_weights(model, path: str | Path, sha256: str | None = None) -> None:
    """Load a local state_dict (strict), after an optional sha256 check; one clear error otherwise."""
    import pickle

    import torch

    path = Path(path)
    if not path.is_file():
        raise EncycloError(f"--weights {path}: no such file")
    if sha256 is not None:
        actual = sha256_of(path)
        if actual.lower() != sha256.lower():
            raise EncycloError(f"--weights {path}: sha256 is {actual}, expected {sha256}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise EncycloError(f"--weights {path}: not a weights-only checkpoint ({first})") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise EncycloError(f"--weights {path}: expected a state_dict, got {type(state).__name__}")
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [f"{k} {tuple(state[k].shape)} != {tuple(own[k].shape)}" for k in own
              if k in state and hasattr(state[k], "shape") and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or unexpected or shapes:
        parts = []
        for label, items in (("missing", missing), ("unexpected", unexpected), ("shape mismatch", shapes)):
            if items:
                parts.append(f"{len(items)} {label} (e.g. {', '.join(items[:3])})")
        raise EncycloError(f"--weights {path} does not fit {type(model).__name__}: {'; '.join(parts)}")
    model.load_state_dict(state, strict=True)


def read_labels(path: str | Path | None, num_classes: int) -> list[str]:
    if path is None:
        return [f"class {i}" for i in range(num_classes)]
    lines = [line.strip() for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    if len(lines) != num_classes:
        raise EncycloError(f"--labels {path}: {len(lines)} labels for a {num_classes}-class model")
    return lines


def predict(name: str, image: Any, *, weights: str | Path | None = None, sha256: str | None = None,
            topk: int = 5, labels: str | Path | None = None, **overrides: Any) -> list[Prediction]:
    """Top-k classes of an image (file path or HWC uint8 RGB array) under a classifier entry.

    Examples:
        >>> predict("resnet18", "photo.jpg", weights="resnet18.pth", topk=3)  # doctest: +SKIP
    """
    import torch

    entry = registry().entry(name.split("+", 1)[0])
    if entry.io != "classifier" or not entry.preprocess:
        raise EncycloError(f"'{name}' is not a classifier with preprocessing (io {entry.io})")
    if topk < 1:
        raise EncycloError(f"--topk {topk}: expected a positive number")
    model = registry().create(name, **overrides).eval()
    if weights is not None:
        load_weights(model, weights, sha256)
    x = preprocess(read_image(image), entry.preprocess)
    with torch.inference_mode():
        probs = torch.softmax(model(x).float(), dim=1)[0]
    names = read_labels(labels, probs.numel())
    values, indices = probs.topk(min(topk, probs.numel()))
    return [Prediction(int(i), names[int(i)], float(p)) for p, i in zip(values, indices)]
