"""Random Gaussian blur as in SimCLR (Chen, Kornblith, Norouzi, Hinton: "A Simple Framework for Contrastive
Learning of Visual Representations", ICML 2020, arXiv:2002.05709).

Appendix A ("Gaussian blur"): the image is blurred 50 % of the time with a Gaussian kernel; sigma is drawn
uniformly from [0.1, 2.0] and the kernel size is 10 % of the image height/width. The authors' code
(google-research/simclr ``data_util.py``) makes the size odd: ``random_blur`` passes
``kernel_size = height // 10``, and ``gaussian_blur`` uses ``radius = kernel_size // 2`` taps on each side,
``2 * radius + 1`` in all (23 for a 224 image), with the sampled, normalised 1-D kernel
``exp(-x^2 / (2 sigma^2))`` applied separably (one horizontal, one vertical pass). ``batch_random_blur``
applies it with ``blur_probability=0.5``.

The random parameters are drawn by :func:`sample_gaussian_blur_params` and applied by the deterministic
:func:`apply_gaussian_blur`; :func:`gaussian_blur` does both. The filtering is ``cv2.sepFilter2D`` in
float32 with the authors' kernel.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

SIGMA_RANGE: tuple[float, float] = (0.1, 2.0)  # Appendix A: sigma ~ U[0.1, 2.0]
KERNEL_FRACTION = 0.1  # Appendix A: kernel size 10 % of the image height/width
P = 0.5  # Appendix A: "we blur the image 50% of the time" (data_util.batch_random_blur: blur_probability=0.5)
BORDERS: dict[str, int] = {
    "reflect": cv2.BORDER_REFLECT_101,  # torch/numpy "reflect" (torchvision GaussianBlur's padding)
    "zeros": cv2.BORDER_CONSTANT,  # the authors' TF depthwise_conv2d(padding="SAME") pads with zeros
}


@dataclass(frozen=True)
class GaussianBlurParams:
    """The random parameters of one blur draw.

    Attributes:
        sigma: standard deviation of the Gaussian in pixels.
        kernel_size: (ky, kx), odd numbers of taps of the vertical and horizontal 1-D kernels.
        size: (H, W) of the image the parameters were drawn for.
        applied: False when the blur was skipped (probability 1 - p); the image is then unchanged.
    """

    sigma: float
    kernel_size: tuple[int, int]
    size: tuple[int, int]
    applied: bool = True


def kernel_taps(side: int, fraction: float = KERNEL_FRACTION) -> int:
    """Odd kernel size for an image side: ``2 * (floor(fraction * side) // 2) + 1`` (authors' code).

    For ``fraction = 0.1`` this is SimCLR's ``kernel_size = side // 10; radius = kernel_size // 2;
    2 * radius + 1``: 23 taps for 224, 3 for 32.

    Args:
        side: the image height (or width) in pixels.
        fraction: the kernel size as a fraction of the side (0.1 in the paper).

    Returns:
        The odd number of taps (1, i.e. no blur, for sides below 2 / fraction).

    Examples:
        >>> kernel_taps(224), kernel_taps(32), kernel_taps(5)
        (23, 3, 1)
    """
    size = math.floor(side * fraction + 1e-9)  # height // 10 for fraction 0.1 (guard float error)
    return 2 * (size // 2) + 1  # radius = kernel_size / 2 (int), kernel_size = 2 * radius + 1


def gaussian_kernel(taps: int, sigma: float) -> np.ndarray:
    """The normalised sampled Gaussian ``exp(-x^2 / (2 sigma^2))``, x = -r..r, as in the authors' code.

    Args:
        taps: odd kernel length 2r + 1.
        sigma: standard deviation in pixels.

    Returns:
        (taps,) float32 weights summing to 1.

    Examples:
        >>> k = gaussian_kernel(5, 1.0)
        >>> k.shape, round(float(k.sum()), 6), bool(k[2] == k.max())
        ((5,), 1.0, True)
    """
    radius = taps // 2
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    weights = np.exp(-(x**2) / (2.0 * float(sigma) ** 2))
    return (weights / weights.sum()).astype(np.float32)


def _check_positive_int(value: int, name: str) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def _check_probability(p: float) -> None:
    if not (isinstance(p, numbers.Real) and not isinstance(p, bool) and 0.0 <= p <= 1.0):
        raise ValueError(f"p must be a probability in [0, 1], got {p!r}")


def sample_gaussian_blur_params(height: int, width: int, rng: np.random.Generator, *,
                                sigma_range: Sequence[float] = SIGMA_RANGE,
                                kernel_fraction: float = KERNEL_FRACTION, p: float = P) -> GaussianBlurParams:
    """Draw sigma ~ U(sigma_range), then whether to blur (probability p); the kernel size follows H and W.

    Args:
        height: H of the image.
        width: W of the image.
        rng: the explicit numpy random generator.
        sigma_range: (low, high) of the uniform sigma in pixels; (0.1, 2.0) in the paper.
        kernel_fraction: kernel size as a fraction of the image side; 0.1 in the paper.
        p: probability of blurring; 0.5 in the paper.

    Returns:
        A :class:`GaussianBlurParams`. The same generator state gives the same parameters.

    Examples:
        >>> q = sample_gaussian_blur_params(224, 224, np.random.default_rng(0))
        >>> q.kernel_size, 0.1 <= q.sigma <= 2.0
        ((23, 23), True)
    """
    _check_positive_int(height, "height")
    _check_positive_int(width, "width")
    try:
        lo, hi = (float(v) for v in sigma_range)
    except (TypeError, ValueError):
        raise ValueError(f"sigma_range must be two numbers (low, high), got {sigma_range!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and 0.0 < lo <= hi):
        raise ValueError(f"sigma_range must satisfy 0 < low <= high (finite), got {sigma_range!r}")
    if not (isinstance(kernel_fraction, numbers.Real) and not isinstance(kernel_fraction, bool)
            and 0.0 < kernel_fraction <= 1.0):
        raise ValueError(f"kernel_fraction must be a number in (0, 1], got {kernel_fraction!r}")
    _check_probability(p)
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
                         f"got {type(rng).__name__}")
    sigma = float(rng.uniform(lo, hi))  # tf.random.uniform([], 0.1, 2.0)
    applied = bool(rng.random() < p)  # batch_random_blur's selector: uniform < blur_probability
    # Deviation: one size per axis (10 % of H and of W); the authors' code uses height // 10 for both.
    taps = (kernel_taps(height, kernel_fraction), kernel_taps(width, kernel_fraction))
    return GaussianBlurParams(sigma=sigma, kernel_size=taps, size=(height, width), applied=applied)


def _check_image(image: np.ndarray) -> None:
    if not isinstance(image, np.ndarray):
        raise ValueError(f"image must be a numpy (H, W, C) uint8 array, got {type(image).__name__}")
    if image.ndim != 3:
        raise ValueError(f"image must be (H, W, C), got shape {image.shape}")
    if image.dtype != np.uint8:
        raise ValueError(f"image must be uint8, got {image.dtype}")
    if image.size == 0:
        raise ValueError(f"image is empty, got shape {image.shape}")


def apply_gaussian_blur(image: np.ndarray, params: GaussianBlurParams, border: str = "reflect") -> np.ndarray:
    """Blur a copy of ``image`` with the separable Gaussian of ``params`` (deterministic).

    Args:
        image: (H, W, C) uint8 array (any C); not modified.
        params: the :class:`GaussianBlurParams` to apply (drawn for this H, W).
        border: ``"reflect"`` (mirror without repeating the edge, torchvision's ``GaussianBlur``) or
            ``"zeros"`` (the authors' TensorFlow ``padding="SAME"``, which darkens a band along the border).

    Returns:
        A new (H, W, C) uint8 array.

    Shape:
        - Input: (H, W, C)
        - Output: (H, W, C)

    Examples:
        >>> flat = np.full((32, 32, 3), 90, np.uint8)
        >>> q = GaussianBlurParams(sigma=1.5, kernel_size=(3, 3), size=(32, 32))
        >>> bool((apply_gaussian_blur(flat, q) == 90).all())  # a flat image stays flat
        True
    """
    _check_image(image)
    if not isinstance(params, GaussianBlurParams):
        raise ValueError(f"params must be GaussianBlurParams (from sample_gaussian_blur_params), "
                         f"got {type(params).__name__}")
    if tuple(params.size) != image.shape[:2]:
        raise ValueError(f"params were drawn for an image of size {tuple(params.size)}, got {image.shape[:2]}")
    if border not in BORDERS:
        raise ValueError(f"border must be one of {sorted(BORDERS)}, got {border!r}")
    ky, kx = (int(k) for k in params.kernel_size)
    if ky < 1 or kx < 1 or ky % 2 == 0 or kx % 2 == 0:
        raise ValueError(f"params.kernel_size must be two odd positive ints, got {params.kernel_size!r}")
    if not (math.isfinite(params.sigma) and params.sigma > 0):
        raise ValueError(f"params.sigma must be a positive number, got {params.sigma!r}")
    if not params.applied:
        return image.copy()
    # One horizontal and one vertical pass (authors: depthwise_conv2d with blur_h, then blur_v), in float.
    out = cv2.sepFilter2D(image.astype(np.float32), -1, gaussian_kernel(kx, params.sigma),
                          gaussian_kernel(ky, params.sigma), borderType=BORDERS[border])
    # Deviation: round to nearest uint8 (the authors keep floats in [0, 1] and clip).
    return np.clip(np.rint(out), 0, 255).astype(np.uint8).reshape(image.shape)  # cv2 drops C = 1


def gaussian_blur(image: np.ndarray, rng: np.random.Generator, *, sigma_range: Sequence[float] = SIGMA_RANGE,
                  kernel_fraction: float = KERNEL_FRACTION, p: float = P, border: str = "reflect") -> np.ndarray:
    """SimCLR's random Gaussian blur: with probability p, blur with sigma ~ U(0.1, 2.0), kernel 10 % of the side.

    Equivalent to ``apply_gaussian_blur(image, sample_gaussian_blur_params(H, W, rng, ...), border)``.
    Pure: the input is never modified; the same seed gives the same output.

    Args:
        image: (H, W, C) uint8 array (RGB, BGR, grey, ...).
        rng: the explicit numpy random generator.
        sigma_range: (low, high) of the uniform sigma in pixels (0.1, 2.0).
        kernel_fraction: kernel size as a fraction of the image side (0.1).
        p: probability of blurring (0.5).
        border: ``"reflect"`` (default) or ``"zeros"`` (the authors' TensorFlow padding).

    Returns:
        The (possibly) blurred uint8 array, same shape, a new array.

    Shape:
        - Input: (H, W, C)
        - Output: (H, W, C)

    Examples:
        >>> out = gaussian_blur(np.full((64, 64, 3), 100, np.uint8), np.random.default_rng(0))
        >>> out.shape, out.dtype
        ((64, 64, 3), dtype('uint8'))
    """
    _check_image(image)
    params = sample_gaussian_blur_params(image.shape[0], image.shape[1], rng, sigma_range=sigma_range,
                                         kernel_fraction=kernel_fraction, p=p)
    return apply_gaussian_blur(image, params, border)
