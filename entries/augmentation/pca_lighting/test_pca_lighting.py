"""What is special about AlexNet's PCA colour augmentation (the generic suite covers contract, determinism,
claims and the example)."""

import inspect

import numpy as np
import pytest

from encyclo import create, entry, get, module, sample_image

pca_lighting = get("pca_lighting")
M = inspect.getmodule(pca_lighting)  # sample_/apply_pca_lighting, lighting_shift, rgb_pca, IMAGENET_*

EIGVAL = np.array(M.IMAGENET_EIGVAL)
EIGVEC = np.array(M.IMAGENET_EIGVEC)


def photo(h: int = 48, w: int = 64, seed: int = 0, low: int = 0, high: int = 256) -> np.ndarray:
    return np.random.default_rng(seed).integers(low, high, (h, w, 3), dtype=np.uint8)


# ---- claim measures ---------------------------------------------------------------------------------
def alpha_std_drawn() -> float:
    rng = np.random.default_rng(0)
    alphas = np.array([M.sample_pca_lighting_params(rng).alpha for _ in range(10000)])
    return round(float(alphas.std()), 4)


def imagenet_eigenvalues() -> list[float]:
    """|shift(a = e_i)| on the [0, 1] scale = l_i |p_i| = l_i (unit eigenvectors)."""
    return [round(float(np.linalg.norm(M.lighting_shift(np.eye(3)[i], scale=1.0))), 4) for i in range(3)]


def shift_constant_over_pixels() -> bool:
    image = photo(low=40, high=216)  # 40..215: a shift of up to +-40 levels never clips
    q = M.sample_pca_lighting_params(np.random.default_rng(1), alpha_std=0.2)
    diff = M.apply_pca_lighting(image, q).astype(int) - image
    return bool((diff == diff[0, 0]).all() and np.abs(diff[0, 0]).max() > 0)


def shift_is_sum_alpha_lambda_p() -> bool:
    rng = np.random.default_rng(2)
    for _ in range(200):
        q = M.sample_pca_lighting_params(rng)
        coords = np.linalg.solve(EIGVEC, np.array(q.shift))  # the shift in the basis p_1, p_2, p_3
        recovered = coords / (M.PIXEL_SCALE * EIGVAL)  # coordinate i / (255 l_i) should be a_i
        if not np.allclose(recovered, q.alpha, rtol=1e-9, atol=1e-12):
            return False
    return True


# ---- properties -------------------------------------------------------------------------------------
def test_defaults_and_constants():
    assert pca_lighting is M.pca_lighting and create("pca_lighting").keywords == {"alpha_std": 0.1}
    assert imagenet_eigenvalues() == [0.2175, 0.0188, 0.0045]
    assert np.allclose(EIGVEC.T @ EIGVEC, np.eye(3), atol=1e-4)  # orthonormal eigenvectors (4 decimals)
    assert EIGVAL[0] > EIGVAL[1] > EIGVAL[2] > 0


def test_alpha_is_gaussian_with_std_0p1():
    rng = np.random.default_rng(3)
    alphas = np.array([M.sample_pca_lighting_params(rng).alpha for _ in range(4000)])
    assert np.abs(alphas.mean(0)).max() < 0.01 and np.allclose(alphas.std(0), 0.1, atol=0.006)
    assert alpha_std_drawn() == pytest.approx(0.1, abs=0.003)


def test_same_shift_added_to_every_pixel():
    assert shift_constant_over_pixels()
    image = photo(low=40, high=216, seed=4)
    q = M.sample_pca_lighting_params(np.random.default_rng(5), alpha_std=0.3)
    out = M.apply_pca_lighting(image, q)
    assert np.array_equal(out.astype(int) - image, np.broadcast_to(np.rint(q.shift).astype(int), image.shape))


def test_matches_fb_resnet_torch_lighting():
    """fb.resnet.torch: rgb = eigvec:clone():cmul(alpha:view(1,3):expand(3,3)):cmul(eigval:...):sum(2)."""
    alpha = np.array([0.07, -0.12, 0.03])
    lua = (EIGVEC * alpha[None, :] * EIGVAL[None, :]).sum(axis=1)  # on [0, 1] pixels
    assert np.allclose(M.lighting_shift(alpha, scale=1.0), lua)
    assert np.allclose(M.lighting_shift(alpha), 255 * lua)
    assert shift_is_sum_alpha_lambda_p()


def test_first_component_is_a_brightness_change():
    # p1 ~ -(0.57, 0.58, 0.58)/...: almost equal weight on R, G, B, so a1 mostly changes the intensity.
    shift = M.lighting_shift((0.1, 0.0, 0.0))
    assert np.ptp(shift) < 0.05 * np.abs(shift).mean() and np.abs(shift).mean() == pytest.approx(
        255 * 0.1 * 0.2175 * 0.5773, rel=0.01)


def test_zero_std_is_identity_and_clipping():
    image = photo(seed=6)
    assert np.array_equal(pca_lighting(image, np.random.default_rng(0), alpha_std=0.0), image)
    white = np.full((4, 4, 3), 255, np.uint8)
    q = M.PCALightingParams(alpha=(0.0, 0.0, 0.0), shift=(20.0, -20.0, 0.4))
    assert M.apply_pca_lighting(white, q)[0, 0].tolist() == [255, 235, 255]


def test_rgb_pca_recovers_the_covariance():
    rng = np.random.default_rng(7)
    base = rng.integers(30, 220, (64, 64, 1)).astype(float)
    image = np.clip(base + rng.normal(0, 8, (64, 64, 3)), 0, 255).astype(np.uint8)  # correlated channels
    val, vec = M.rgb_pca(image)
    cov = np.cov(image.reshape(-1, 3).astype(float) / 255, rowvar=False)
    assert np.allclose(vec @ np.diag(val) @ vec.T, cov, atol=1e-12) and np.allclose(vec.T @ vec, np.eye(3))
    val2, _ = M.rgb_pca([image, image[::-1]])  # a list of images pools their pixels
    assert np.allclose(val2, val, rtol=1e-3)
    assert val[0] > 10 * val[1] and np.abs(vec[:, 0]).min() > 0.55  # one dominant grey-ish component
    q = M.sample_pca_lighting_params(np.random.default_rng(8), eigval=val, eigvec=vec)
    assert np.allclose(np.array(q.shift), 255 * vec @ (np.array(q.alpha) * val))


def test_params_reproduce_the_output_and_input_untouched():
    image = photo(seed=9)
    before = image.copy()
    a = pca_lighting(image, np.random.default_rng(10))
    q = M.sample_pca_lighting_params(np.random.default_rng(10))
    assert np.array_equal(a, M.apply_pca_lighting(image, q)) and np.array_equal(image, before)
    assert np.array_equal(a, pca_lighting(image, np.random.default_rng(10)))


@pytest.mark.parametrize("bad", [
    dict(image=np.zeros((8, 8), np.uint8)), dict(image=np.zeros((8, 8, 3), np.float32)),
    dict(image=np.zeros((8, 8, 1), np.uint8)), dict(image=np.zeros((0, 8, 3), np.uint8)),
    dict(alpha_std=-0.1), dict(alpha_std=float("inf")), dict(eigval=(0.1, 0.2)), dict(eigval=(0.1, -0.2, 0.3)),
    dict(eigvec=np.eye(2)), dict(rng=np.random.RandomState(0)),
])
def test_bad_input_raises_value_error(bad):
    kwargs = dict(image=np.zeros((8, 8, 3), np.uint8), rng=np.random.default_rng(0))
    kwargs.update(bad)
    with pytest.raises(ValueError):
        pca_lighting(kwargs.pop("image"), kwargs.pop("rng"), **kwargs)


# ---- numpy baseline: `encyclo compare pca_lighting pca_lighting@numpy` times it beside the entry --------
def numpy_reference(alpha_std: float = 0.1, eigval=M.IMAGENET_EIGVAL, eigvec=M.IMAGENET_EIGVEC):
    """PCA lighting in plain numpy from the entry's arguments: ``(image, rng) -> image``.

    The a_i come from the entry's own sampler (same rng, same draws); the shift 255 * P (a * l) is added to
    every pixel in float64, rounded and clipped to 0..255.
    """
    sample = module("pca_lighting").sample_pca_lighting_params
    val, vec = np.asarray(eigval, np.float64), np.asarray(eigvec, np.float64)

    def pca_lighting_numpy(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        params = sample(rng, alpha_std=alpha_std, eigval=eigval, eigvec=eigvec)
        shift = 255.0 * vec @ (np.asarray(params.alpha) * val)  # (3,) RGB, Sec. 4.1
        return np.clip(np.rint(image + shift), 0, 255).astype(np.uint8)

    return pca_lighting_numpy


@pytest.mark.parametrize("overrides", [{}, dict(alpha_std=1.0)])
def test_numpy_reference_gives_the_same_output(overrides):
    # Equal up to one level at rare pixels: the entry adds the shift in float32, the baseline in float64,
    # which can put a sum within ~1e-5 of a half level on the other side of it before rounding.
    config = {**entry("pca_lighting").defaults, **overrides}
    ours, ref = create("pca_lighting", **overrides), numpy_reference(**config)
    for name in ("astronaut", "chelsea"):
        photo = sample_image(name)
        for image in (photo, photo[:45, :70]):  # two sizes: the photo and a small crop
            for seed in range(6):
                a = ours(image, np.random.default_rng(seed)).astype(int)
                b = ref(image, np.random.default_rng(seed)).astype(int)
                assert a.shape == b.shape and np.abs(a - b).max() <= 1 and (a != b).mean() < 1e-3
