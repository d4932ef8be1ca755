"""What is special about SimCLR's random Gaussian blur (the generic suite covers contract, determinism,
claims and the example)."""

import dataclasses
import inspect

import cv2
import numpy as np
import pytest

from encyclo import create, entry, get, module, sample_image

gaussian_blur = get("gaussian_blur")
M = inspect.getmodule(gaussian_blur)  # sample_/apply_gaussian_blur, kernel_taps, gaussian_kernel


def photo(h: int = 32, w: int = 40, c: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, c), dtype=np.uint8)


def step_edge(side: int = 224) -> np.ndarray:
    image = np.zeros((side, side, 3), np.uint8)
    image[:, side // 2:] = 255
    return image


def blurred_params(h: int, w: int, sigma: float) -> "M.GaussianBlurParams":
    q = M.sample_gaussian_blur_params(h, w, np.random.default_rng(0), p=1.0)
    return dataclasses.replace(q, sigma=sigma)


# ---- claim measures ---------------------------------------------------------------------------------
def sigma_range_drawn() -> list[float]:
    rng = np.random.default_rng(0)
    sigmas = [M.sample_gaussian_blur_params(224, 224, rng).sigma for _ in range(20000)]
    return [round(min(sigmas), 2), round(max(sigmas), 2)]


def blur_probability() -> float:
    rng = np.random.default_rng(1)
    return float(np.mean([M.sample_gaussian_blur_params(224, 224, rng).applied for _ in range(20000)]))


def kernel_fraction() -> float:
    ky, kx = M.sample_gaussian_blur_params(1000, 1000, np.random.default_rng(2)).kernel_size
    return kx / 1000 if kx == ky else -1.0


def kernel_size_224() -> int:
    """Taps of the kernel the code uses at 224: a step edge spreads over taps - 1 columns (flat kernel)."""
    image = step_edge(224)
    out = M.apply_gaussian_blur(image, blurred_params(224, 224, sigma=1000.0))  # ~flat weights, 255/23 each
    changed = int(np.sum(out[112, :, 0] != image[112, :, 0]))
    return changed + 1


# ---- properties -------------------------------------------------------------------------------------
def test_defaults_are_the_papers():
    assert gaussian_blur is M.gaussian_blur
    assert create("gaussian_blur").keywords == {"sigma_range": [0.1, 2.0], "kernel_fraction": 0.1, "p": 0.5}
    assert (M.SIGMA_RANGE, M.KERNEL_FRACTION, M.P) == ((0.1, 2.0), 0.1, 0.5)


def test_kernel_size_follows_the_authors_rounding():
    assert kernel_size_224() == 23 and M.kernel_taps(224) == 23
    for side in (10, 32, 96, 100, 223, 224, 225, 230, 256, 299, 384, 512):
        assert M.kernel_taps(side) == 2 * ((side // 10) // 2) + 1  # height // 10, radius, 2 r + 1
    assert M.kernel_taps(9) == 1 and M.sample_gaussian_blur_params(320, 64, np.random.default_rng(0)).kernel_size \
        == (33, 7)


def test_kernel_is_the_authors_sampled_gaussian():
    for taps, sigma in ((23, 0.1), (23, 1.0), (23, 2.0), (3, 0.7)):
        k = M.gaussian_kernel(taps, sigma)
        x = np.arange(-(taps // 2), taps // 2 + 1)
        ref = np.exp(-x**2 / (2 * sigma**2))
        assert np.allclose(k, ref / ref.sum(), atol=1e-7) and np.allclose(k, cv2.getGaussianKernel(taps, sigma).ravel())


def test_blur_equals_a_separable_convolution():
    image = photo(20, 24, seed=1)
    q = blurred_params(20, 24, sigma=1.3)  # kernel (3, 3)
    ky, kx = q.kernel_size
    k2 = np.outer(M.gaussian_kernel(ky, q.sigma), M.gaussian_kernel(kx, q.sigma)).astype(np.float64)
    padded = np.pad(image.astype(np.float64), ((ky // 2,) * 2, (kx // 2,) * 2, (0, 0)), mode="reflect")
    windows = np.lib.stride_tricks.sliding_window_view(padded, (ky, kx), axis=(0, 1))  # (H, W, C, ky, kx)
    ref = np.einsum("hwcij,ij->hwc", windows, k2)
    assert np.abs(M.apply_gaussian_blur(image, q).astype(float) - ref).max() <= 0.5 + 1e-3


def test_zero_border_darkens_the_edges_like_tf_same_padding():
    flat = np.full((64, 64, 3), 200, np.uint8)
    q = blurred_params(64, 64, sigma=2.0)  # kernel (7, 7)
    assert (M.apply_gaussian_blur(flat, q, border="reflect") == 200).all()
    zeros = M.apply_gaussian_blur(flat, q, border="zeros")
    assert zeros[0, 32, 0] < 200 and zeros[0, 0, 0] < zeros[0, 32, 0] and (zeros[10:-10, 10:-10] == 200).all()


def test_blur_preserves_the_mean_and_smooths():
    image = photo(64, 64, seed=2)
    out = M.apply_gaussian_blur(image, blurred_params(64, 64, sigma=2.0))
    assert abs(out.mean() - image.mean()) < 0.5 and out.std() < 0.5 * image.std()
    assert np.array_equal(M.apply_gaussian_blur(image, blurred_params(64, 64, sigma=0.1)), image)  # ~identity


def test_sigma_and_probability():
    assert sigma_range_drawn() == [0.1, 2.0]
    assert abs(blur_probability() - 0.5) < 0.015
    rng = np.random.default_rng(3)
    assert not any(M.sample_gaussian_blur_params(32, 32, rng, p=0.0).applied for _ in range(200))
    image = photo(seed=4)
    assert np.array_equal(gaussian_blur(image, np.random.default_rng(0), p=0.0), image)


def test_params_reproduce_the_output_and_input_untouched():
    image = photo(64, 48, seed=5)
    before = image.copy()
    a = gaussian_blur(image, np.random.default_rng(6), p=1.0)
    q = M.sample_gaussian_blur_params(64, 48, np.random.default_rng(6), p=1.0)
    assert np.array_equal(a, M.apply_gaussian_blur(image, q)) and np.array_equal(image, before)
    assert not np.array_equal(a, image)


def test_any_channel_count():
    for c in (1, 3, 4):
        out = M.apply_gaussian_blur(photo(40, 40, c=c, seed=c), blurred_params(40, 40, sigma=1.0))
        assert out.shape == (40, 40, c)


@pytest.mark.parametrize("bad", [
    dict(image=np.zeros((32, 32), np.uint8)), dict(image=np.zeros((32, 32, 3), np.float32)),
    dict(image=np.zeros((0, 32, 3), np.uint8)), dict(sigma_range=(2.0, 0.1)), dict(sigma_range=(0.0, 1.0)),
    dict(sigma_range=0.5), dict(kernel_fraction=0.0), dict(kernel_fraction=1.5), dict(p=1.5), dict(p=-0.1),
    dict(border="wrap"), dict(rng=np.random.RandomState(0)),
])
def test_bad_input_raises_value_error(bad):
    kwargs = dict(image=np.zeros((32, 32, 3), np.uint8), rng=np.random.default_rng(0))
    kwargs.update(bad)
    with pytest.raises(ValueError):
        gaussian_blur(kwargs.pop("image"), kwargs.pop("rng"), **kwargs)


def test_params_for_another_size_are_rejected():
    with pytest.raises(ValueError):
        M.apply_gaussian_blur(photo(32, 32), M.sample_gaussian_blur_params(64, 64, np.random.default_rng(0)))


# ---- numpy baseline: `encyclo compare gaussian_blur gaussian_blur@numpy` times it beside the entry ------
def numpy_reference(sigma_range=(0.1, 2.0), kernel_fraction: float = 0.1, p: float = 0.5, border: str = "reflect"):
    """SimCLR's random blur in plain numpy from the entry's arguments: ``(image, rng) -> image``.

    sigma, the kernel sizes and the coin come from the entry's own sampler (same rng, same draws); the
    image is padded with ``np.pad`` and filtered separably in float32 as a weighted sum of shifted slices,
    one horizontal and one vertical pass (the authors' two depthwise convolutions).
    """
    sample = module("gaussian_blur").sample_gaussian_blur_params

    def kernel(taps: int, sigma: float) -> np.ndarray:
        x = np.arange(taps) - taps // 2
        weights = np.exp(-(x**2) / (2 * sigma**2))
        return (weights / weights.sum()).astype(np.float32)

    def gaussian_blur_numpy(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        h, w, c = image.shape
        params = sample(h, w, rng, sigma_range=sigma_range, kernel_fraction=kernel_fraction, p=p)
        if not params.applied:
            return image.copy()
        ky, kx = params.kernel_size
        mode = "reflect" if border == "reflect" else "constant"  # np.pad "reflect" does not repeat the edge
        x = np.pad(image.astype(np.float32), ((ky // 2, ky // 2), (kx // 2, kx // 2), (0, 0)), mode=mode)
        row, col = kernel(kx, params.sigma), kernel(ky, params.sigma)
        x = sum(row[i] * x[:, i:i + w] for i in range(kx))  # horizontal pass: (H + ky - 1, W, C)
        x = sum(col[i] * x[i:i + h] for i in range(ky))  # vertical pass: (H, W, C)
        return np.clip(np.rint(x), 0, 255).astype(np.uint8)

    return gaussian_blur_numpy


@pytest.mark.parametrize("overrides", [{}, dict(p=1.0, sigma_range=(1.5, 3.0)), dict(p=1.0, border="zeros"),
                                       dict(p=1.0, kernel_fraction=0.2)])
def test_numpy_reference_gives_the_same_output(overrides):
    # Equal up to one level at rare pixels: both filter in float32, but OpenCV sums the taps in another
    # order (and with SIMD), which can move a value within ~1e-5 of a half level to the other side.
    config = {**entry("gaussian_blur").defaults, **overrides}
    ours, ref = create("gaussian_blur", **overrides), numpy_reference(**config)
    for name in ("astronaut", "chelsea"):
        photo = sample_image(name)
        for image in (photo, photo[:45, :70]):  # two sizes: the photo and a small crop
            for seed in range(4):
                a = ours(image, np.random.default_rng(seed)).astype(int)
                b = ref(image, np.random.default_rng(seed)).astype(int)
                assert a.shape == b.shape and np.abs(a - b).max() <= 1 and (a != b).mean() < 1e-3
