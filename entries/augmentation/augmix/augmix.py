"""AugMix (Hendrycks, Mu, Cubuk, Zoph, Gilmer, Lakshminarayanan: "AugMix: A Simple Data Processing Method
to Improve Robustness and Uncertainty", ICLR 2020, arXiv:1912.02781).

An image augmentation (Sec. 3, Algorithm 1): ``width`` = 3 chains of 1 to 3 random operations each are
applied to the image, the chains are mixed with Dirichlet(alpha) weights, and the mixture is blended
with the original image by a Beta(alpha, alpha) weight m, alpha = 1:

    x_augmix = m * x_orig + (1 - m) * sum_i w_i * chain_i(x_orig)

(the authors' code writes it ``(1 - m) * x_orig + m * mix``; m and 1 - m have the same Beta(1, 1) law).
The operations are the nine of the authors' ``augmentations.py`` list, which leaves out every operation
that overlaps the ImageNet-C / CIFAR-C test corruptions (contrast, colour, brightness, sharpness, noise,
blur, JPEG). They are reimplemented here with numpy and OpenCV on uint8 images, reproducing PIL's
semantics (lookup tables, affine maps in PIL's pixel-centre convention); see the README's Deviations.

The Jensen-Shannon consistency loss of Sec. 3 is :func:`jsd_loss` (torch).

The random parameters are drawn by :func:`sample_augmix_params` and applied by the deterministic
:func:`apply_augmix`; :func:`augmix` does both. All randomness comes from the explicit ``np.random.Generator``.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F

# The operations of the authors' ``augmentations.augmentations`` list, in its order (Sec. 3, Appendix).
OPS: tuple[str, ...] = ("autocontrast", "equalize", "posterize", "rotate", "solarize", "shear_x", "shear_y",
                        "translate_x", "translate_y")
# augment_and_mix.py / cifar.py defaults: severity 3, width k = 3, depth -1 (uniform in {1, 2, 3}), alpha 1.
PAPER_DEFAULTS: dict[str, float] = {"severity": 3, "width": 3, "depth": -1, "alpha": 1.0}
# Weight lambda of the Jensen-Shannon term in the authors' training scripts (``loss += 12 * JS``).
JSD_WEIGHT: float = 12.0

Op = tuple[str, float]  # (operation name, its resolved magnitude: bits, degrees, threshold, shear or pixels)


@dataclass(frozen=True)
class AugMixParams:
    """The random parameters of one AugMix draw.

    Attributes:
        weights: (width,) Dirichlet(alpha) mixing weights of the chains (sum to 1).
        m: the Beta(alpha, alpha) weight of the chain mixture; the original gets 1 - m.
        chains: ``width`` chains, each a tuple of (op name, magnitude) applied in order.
        size: (H, W) of the image the parameters were drawn for.
    """

    weights: tuple[float, ...]
    m: float
    chains: tuple[tuple[Op, ...], ...]
    size: tuple[int, int]


# ---- operations (PIL semantics on uint8 arrays) ---------------------------------------------------------
def _lut(image: np.ndarray, luts: np.ndarray) -> np.ndarray:
    """Apply one 256-entry table per channel (``luts`` (C, 256) or (256,)), with cv2.LUT."""
    luts = np.asarray(luts, dtype=np.uint8)
    if luts.ndim == 2 and image.shape[2] > 1:
        return cv2.LUT(image, np.ascontiguousarray(luts.T).reshape(1, 256, image.shape[2]))
    return cv2.LUT(image, luts.reshape(1, 256, -1)[..., :1]).reshape(image.shape)


def autocontrast(image: np.ndarray) -> np.ndarray:
    """PIL ``ImageOps.autocontrast``: stretch every channel's [min, max] to [0, 255] (no cutoff)."""
    extremes = np.array([cv2.minMaxLoc(channel)[:2] for channel in cv2.split(image)])  # (C, 2), fast
    lo, hi = extremes[:, :1], extremes[:, 1:]  # (C, 1) each
    scale = 255.0 / np.maximum(hi - lo, 1.0)
    table = np.clip(np.trunc(np.arange(256) * scale - lo * scale), 0, 255)  # PIL: int(ix * scale + offset)
    table = np.where(hi > lo, table, np.arange(256))  # a flat channel is left as is
    return _lut(image, table)


def equalize(image: np.ndarray) -> np.ndarray:
    """PIL ``ImageOps.equalize``: per-channel histogram equalisation with PIL's integer table."""
    tables = []
    for c in range(image.shape[2]):  # loop over channels (C <= 4), never over pixels
        hist = np.bincount(image[..., c].ravel(), minlength=256)
        nonzero = hist[hist > 0]
        step = (int(nonzero.sum()) - int(nonzero[-1])) // 255 if nonzero.size > 1 else 0
        if step == 0:
            tables.append(np.arange(256))
        else:
            before = np.concatenate([[0], np.cumsum(hist)[:-1]])  # pixels below each level
            tables.append(np.minimum((step // 2 + before) // step, 255))
    return _lut(image, np.stack(tables))


def posterize(image: np.ndarray, bits: int) -> np.ndarray:
    """PIL ``ImageOps.posterize``: keep the ``bits`` most significant bits of every value."""
    return image & np.uint8((0xFF << (8 - int(bits))) & 0xFF)


def solarize(image: np.ndarray, threshold: int) -> np.ndarray:
    """PIL ``ImageOps.solarize``: invert every value at or above ``threshold``."""
    levels = np.arange(256, dtype=np.uint8)
    return _lut(image, np.where(levels < threshold, levels, 255 - levels))  # a table, as PIL


def _pil_affine(image: np.ndarray, coeffs: tuple[float, float, float, float, float, float]) -> np.ndarray:
    """PIL ``Image.transform(size, AFFINE, coeffs, BILINEAR)`` with cv2.

    PIL maps output pixel centre (x + .5, y + .5) to the input point (a, b, c) . (x + .5, y + .5, 1); an
    output pixel whose point falls outside [0, W) x [0, H) is 0, the others are bilinear with the edge
    pixels replicated. In index space the inverse map has the same linear part and the offsets below.
    """
    a, b, c, d, e, f = coeffs
    inverse = np.array([[a, b, 0.5 * (a + b) + c - 0.5], [d, e, 0.5 * (d + e) + f - 0.5]], dtype=np.float64)
    height, width, channels = image.shape
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    planes = [image[..., i:i + 4] for i in range(0, channels, 4)]  # cv2 warps at most 4 channels at once
    out = np.concatenate([cv2.warpAffine(p, inverse, (width, height), flags=flags, borderMode=cv2.BORDER_REPLICATE)
                          .reshape(height, width, p.shape[2]) for p in planes], axis=2)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64) + 0.5  # (H, W) output pixel centres
    x_in, y_in = a * xs + b * ys + c, d * xs + e * ys + f  # PIL's sample points
    outside = (x_in < 0) | (x_in >= width) | (y_in < 0) | (y_in >= height)  # PIL: fill 0
    out[outside] = 0
    return out


def rotate(image: np.ndarray, degrees: float) -> np.ndarray:
    """PIL ``Image.rotate(degrees, resample=BILINEAR)``: counter-clockwise about (W/2, H/2), same size."""
    height, width = image.shape[:2]
    angle = -math.radians(degrees)
    cos, sin = round(math.cos(angle), 15), round(math.sin(angle), 15)
    cx, cy = width / 2.0, height / 2.0
    return _pil_affine(image, (cos, sin, cos * -cx + sin * -cy + cx, -sin, cos, -sin * -cx + cos * -cy + cy))


def shear_x(image: np.ndarray, shear: float) -> np.ndarray:
    """PIL ``transform(AFFINE, (1, shear, 0, 0, 1, 0))``."""
    return _pil_affine(image, (1.0, shear, 0.0, 0.0, 1.0, 0.0))


def shear_y(image: np.ndarray, shear: float) -> np.ndarray:
    """PIL ``transform(AFFINE, (1, 0, 0, shear, 1, 0))``."""
    return _pil_affine(image, (1.0, 0.0, 0.0, shear, 1.0, 0.0))


def translate_x(image: np.ndarray, pixels: float) -> np.ndarray:
    """PIL ``transform(AFFINE, (1, 0, pixels, 0, 1, 0))``: content moves left by ``pixels``."""
    return _pil_affine(image, (1.0, 0.0, pixels, 0.0, 1.0, 0.0))


def translate_y(image: np.ndarray, pixels: float) -> np.ndarray:
    """PIL ``transform(AFFINE, (1, 0, 0, 0, 1, pixels))``: content moves up by ``pixels``."""
    return _pil_affine(image, (1.0, 0.0, 0.0, 0.0, 1.0, pixels))


_APPLY = {"autocontrast": lambda x, _: autocontrast(x), "equalize": lambda x, _: equalize(x),
          "posterize": lambda x, v: posterize(x, int(v)), "rotate": rotate, "solarize": lambda x, v: solarize(x, int(v)),
          "shear_x": shear_x, "shear_y": shear_y, "translate_x": translate_x, "translate_y": translate_y}


def _sample_op(name: str, severity: float, height: int, width: int, rng: np.random.Generator) -> Op:
    """The magnitude of one operation, drawn as the authors' ``augmentations.py`` draws it."""
    if name in ("autocontrast", "equalize"):
        return (name, 0.0)  # no magnitude, no draw
    level = float(rng.uniform(0.1, severity))  # sample_level(severity)
    if name == "posterize":
        return (name, float(4 - int(level * 4 / 10)))  # bits = 4 - int_parameter(level, 4)
    if name == "solarize":
        return (name, float(256 - int(level * 256 / 10)))  # threshold = 256 - int_parameter(level, 256)
    if name == "rotate":
        value = float(int(level * 30 / 10))  # whole degrees, int_parameter(level, 30)
    elif name in ("shear_x", "shear_y"):
        value = level * 0.3 / 10  # float_parameter(level, 0.3)
    else:  # translate: int_parameter(level, IMAGE_SIZE / 3), here the image's own width or height
        value = float(int(level * ((width if name == "translate_x" else height) / 3) / 10))
    return (name, -value if rng.uniform() > 0.5 else value)  # random sign, as the code


def sample_augmix_params(height: int, width: int, rng: np.random.Generator, *, severity: float = 3,
                         mixture_width: int = 3, depth: int = -1, alpha: float = 1.0) -> AugMixParams:
    """Draw the mixing weights and the operation chains of Algorithm 1, in the authors' order.

    Args:
        height: H of the image.
        width: W of the image.
        rng: the explicit numpy random generator.
        severity: magnitude level in (0.1, 10] of the operations (paper/CIFAR code: 3; ImageNet code: 1).
        mixture_width: k, the number of chains (paper: 3).
        depth: operations per chain; -1 draws it uniformly from {1, 2, 3} per chain (paper).
        alpha: the Dirichlet and Beta coefficient (paper: 1).

    Returns:
        An :class:`AugMixParams`. The same generator state gives the same parameters.

    Examples:
        >>> params = sample_augmix_params(32, 32, np.random.default_rng(0))
        >>> len(params.chains), round(sum(params.weights), 5), all(1 <= len(c) <= 3 for c in params.chains)
        (3, 1.0, True)
    """
    for value, name in ((height, "height"), (width, "width"), (mixture_width, "mixture_width")):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if not isinstance(depth, (int, np.integer)) or isinstance(depth, bool) or depth == 0 or depth < -1:
        raise ValueError(f"depth must be a positive int or -1 (random in {{1, 2, 3}}), got {depth!r}")
    for value, name, low, high in ((severity, "severity", 0.1, 10.0), (alpha, "alpha", 1e-6, math.inf)):
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
        if not (ok and low <= value <= high):
            raise ValueError(f"{name} must be a finite number in [{low}, {high}], got {value!r}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
                         f"got {type(rng).__name__}")
    weights = np.float32(rng.dirichlet([alpha] * mixture_width))  # (w_1, ..., w_k) ~ Dirichlet(alpha, ..., alpha)
    m = np.float32(rng.beta(alpha, alpha))  # m ~ Beta(alpha, alpha)
    chains = []
    for _ in range(mixture_width):  # loop over the k chains (Algorithm 1), not over pixels
        d = depth if depth > 0 else int(rng.integers(1, 4))  # depth ~ U{1, 2, 3}
        ops = []
        for _ in range(d):
            name = OPS[int(rng.integers(len(OPS)))]  # np.random.choice(augmentations)
            ops.append(_sample_op(name, severity, height, width, rng))
        chains.append(tuple(ops))
    return AugMixParams(weights=tuple(float(w) for w in weights), m=float(m), chains=tuple(chains),
                        size=(height, width))


def _check_image(image: np.ndarray) -> None:
    if not isinstance(image, np.ndarray):
        raise ValueError(f"image must be a numpy (H, W, C) uint8 array, got {type(image).__name__}")
    if image.ndim != 3:
        raise ValueError(f"image must be (H, W, C), got shape {image.shape}")
    if image.dtype != np.uint8:
        raise ValueError(f"image must be uint8, got {image.dtype}")
    if image.size == 0:
        raise ValueError(f"image is empty, got shape {image.shape}")


def apply_chain(image: np.ndarray, chain: tuple[Op, ...]) -> np.ndarray:
    """Apply one chain of (op, magnitude) pairs in order; returns a new (H, W, C) uint8 array.

    Args:
        image: (H, W, C) uint8 array; not modified.
        chain: the operations, e.g. ``(("rotate", -7.0), ("posterize", 3.0))``.

    Returns:
        The augmented (H, W, C) uint8 array (each op works in uint8, as PIL does).

    Examples:
        >>> image = np.arange(256, dtype=np.uint8).reshape(16, 16, 1)
        >>> int(apply_chain(image, (("posterize", 4.0),)).max())
        240
    """
    _check_image(image)
    out = image
    for name, value in chain:
        if name not in _APPLY:
            raise ValueError(f"unknown operation {name!r}; the AugMix operations are {OPS}")
        out = _APPLY[name](out, value)
    return out if out is not image else image.copy()


def mix_float(image: np.ndarray, params: AugMixParams) -> np.ndarray:
    """The exact mixture ``(1 - m) x + m sum_i w_i chain_i(x)`` as an (H, W, C) float32 array in [0, 255].

    Args:
        image: (H, W, C) uint8 array; not modified.
        params: the :class:`AugMixParams` to apply.

    Returns:
        (H, W, C) float32. The official code mixes after normalisation; normalisation is affine and the
        coefficients sum to 1, so normalising this mixture gives the same tensor.
    """
    _check_image(image)
    if not isinstance(params, AugMixParams):
        raise ValueError(f"params must be AugMixParams (from sample_augmix_params), got {type(params).__name__}")
    if tuple(params.size) != image.shape[:2]:
        raise ValueError(f"params were drawn for an image of size {tuple(params.size)}, got {image.shape[:2]}")
    chains = np.stack([apply_chain(image, chain) for chain in params.chains]).astype(np.float32)  # (k, H, W, C)
    mix = np.tensordot(np.asarray(params.weights, dtype=np.float32), chains, axes=1)  # sum_i w_i chain_i
    return (1.0 - params.m) * image.astype(np.float32) + params.m * mix  # the code's (1 - m) x + m mix


def apply_augmix(image: np.ndarray, params: AugMixParams) -> np.ndarray:
    """Apply the chains of ``params`` and mix them (deterministic), rounded to uint8.

    Args:
        image: (H, W, C) uint8 array; not modified.
        params: the :class:`AugMixParams` to apply (drawn for this H, W).

    Returns:
        A new (H, W, C) uint8 array: :func:`mix_float` rounded to the nearest level.

    Shape:
        - Input: (H, W, C)
        - Output: (H, W, C)

    Examples:
        >>> image = np.full((8, 8, 3), 100, np.uint8)
        >>> params = AugMixParams(weights=(1.0,), m=0.5, chains=((("solarize", 50.0),),), size=(8, 8))
        >>> int(apply_augmix(image, params)[0, 0, 0])  # (100 + 155) / 2 = 127.5, rounded to even
        128
    """
    return np.clip(np.rint(mix_float(image, params)), 0, 255).astype(np.uint8)  # Deviation: uint8 output


def augmix(image: np.ndarray, rng: np.random.Generator, *, severity: float = 3, mixture_width: int = 3,
           depth: int = -1, alpha: float = 1.0) -> np.ndarray:
    """AugMix: mix k random augmentation chains, then blend the mixture with the original (Algorithm 1).

    Equivalent to ``apply_augmix(image, sample_augmix_params(H, W, rng, ...))``. Pure: the input is
    never modified; the same seed gives the same output. For the Jensen-Shannon loss, call it twice per
    image to get the two augmented views and pass the three logits to :func:`jsd_loss`.

    Args:
        image: (H, W, C) uint8 array (RGB, BGR, grey with C = 1, ...).
        rng: the explicit numpy random generator.
        severity: operation magnitude level (paper and CIFAR code: 3; the ImageNet script uses 1).
        mixture_width: k, the number of chains (3).
        depth: operations per chain, -1 for uniform in {1, 2, 3} (paper).
        alpha: Dirichlet/Beta coefficient (1).

    Returns:
        The augmented (H, W, C) uint8 array, a new array.

    Shape:
        - Input: (H, W, C)
        - Output: (H, W, C)

    Examples:
        >>> image = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
        >>> out = augmix(image, np.random.default_rng(1))
        >>> out.shape, out.dtype
        ((32, 32, 3), dtype('uint8'))
    """
    _check_image(image)
    params = sample_augmix_params(image.shape[0], image.shape[1], rng, severity=severity,
                                  mixture_width=mixture_width, depth=depth, alpha=alpha)
    return apply_augmix(image, params)


def jsd_loss(logits_clean: torch.Tensor, logits_aug1: torch.Tensor, logits_aug2: torch.Tensor) -> torch.Tensor:
    """The Jensen-Shannon consistency term of Sec. 3, JS(p_orig; p_augmix1; p_augmix2).

    With M = (p_orig + p_augmix1 + p_augmix2) / 3, JS = (KL(p_orig || M) + KL(p_augmix1 || M)
    + KL(p_augmix2 || M)) / 3, averaged over the batch. As in the authors' code, M is clamped to
    [1e-7, 1] before its log. The training loss is ``cross_entropy(logits_clean, y) + JSD_WEIGHT * jsd_loss(...)``
    (lambda = 12 in the authors' scripts).

    Args:
        logits_clean: (N, K) logits of the clean images.
        logits_aug1: (N, K) logits of the first AugMix view.
        logits_aug2: (N, K) logits of the second AugMix view.

    Returns:
        A scalar tensor, >= 0 and <= log 3; differentiable, works on CPU/CUDA and under torch.compile.

    Shape:
        - Inputs: (N, K) each
        - Output: ()

    Examples:
        >>> z = torch.randn(4, 10)
        >>> float(jsd_loss(z, z, z)) < 1e-6
        True
    """
    if not all(isinstance(t, torch.Tensor) for t in (logits_clean, logits_aug1, logits_aug2)):
        raise ValueError("jsd_loss takes three torch tensors of logits")
    if logits_clean.ndim != 2 or logits_aug1.shape != logits_clean.shape or logits_aug2.shape != logits_clean.shape:
        raise ValueError(f"logits must be three (N, K) tensors of one shape, got {tuple(logits_clean.shape)}, "
                         f"{tuple(logits_aug1.shape)}, {tuple(logits_aug2.shape)}")
    p_clean, p_aug1, p_aug2 = (F.softmax(z.float(), dim=1) for z in (logits_clean, logits_aug1, logits_aug2))
    log_mixture = torch.clamp((p_clean + p_aug1 + p_aug2) / 3.0, 1e-7, 1.0).log()  # log M, clamped as the code
    # F.kl_div(log M, p) = KL(p || M); 'batchmean' sums over classes and averages over the batch.
    return (F.kl_div(log_mixture, p_clean, reduction="batchmean") + F.kl_div(log_mixture, p_aug1, reduction="batchmean")
            + F.kl_div(log_mixture, p_aug2, reduction="batchmean")) / 3.0
