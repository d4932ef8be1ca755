"""What is special about AugMix (the generic suite covers shapes, determinism, claims and the example)."""

import inspect

import numpy as np
import pytest
import torch

from encyclo import create, get

augmix = get("augmix")
M = inspect.getmodule(augmix)  # OPS, sample_augmix_params, apply_chain, mix_float, apply_augmix, jsd_loss


def photo(h=48, w=64):
    y, x = np.mgrid[0:h, 0:w]
    rng = np.random.default_rng(0)
    img = np.stack([x * 255 // w, y * 255 // h, (x + y) * 255 // (h + w)], axis=2) + rng.integers(0, 20, (h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def sampled_chains(n=1000):
    rng = np.random.default_rng(0)
    return [c for _ in range(n) for c in M.sample_augmix_params(32, 32, rng).chains]


# ---- claim measures ---------------------------------------------------------------------------------
def drawn_operations() -> list[str]:
    seen = {name for chain in sampled_chains() for name, _ in chain}
    return [name for name in M.OPS if name in seen]


def default_hyperparameters() -> list[float]:
    defaults = inspect.signature(augmix).parameters
    return [defaults[k].default for k in ("severity", "mixture_width", "depth", "alpha")]


def chain_depth_range() -> list[int]:
    depths = [len(chain) for chain in sampled_chains()]
    return [min(depths), max(depths)]


def output_is_convex_combination() -> bool:
    image, rng = photo(), np.random.default_rng(3)
    for _ in range(20):
        params = M.sample_augmix_params(*image.shape[:2], rng)
        chains = np.stack([M.apply_chain(image, c) for c in params.chains]).astype(np.float64)
        rebuilt = (1 - params.m) * image + params.m * np.tensordot(params.weights, chains, axes=1)
        out = M.apply_augmix(image, params)
        ok = (abs(sum(params.weights) - 1) < 1e-5 and min(params.weights) >= 0 and 0 <= params.m <= 1
              and np.abs(out - rebuilt).max() <= 0.5 + 1e-3)
        if not ok:
            return False
    return True


# ---- the operations reproduce PIL (the authors' library) --------------------------------------------
def test_lookup_table_ops_match_pil_exactly():
    Image = pytest.importorskip("PIL.Image")
    ImageOps = pytest.importorskip("PIL.ImageOps")
    image = photo()
    image[..., 1] = image[..., 1] // 3 + 50  # a channel that does not span [0, 255]
    pil = Image.fromarray(image)
    assert np.array_equal(M.autocontrast(image), np.asarray(ImageOps.autocontrast(pil)))
    assert np.array_equal(M.equalize(image), np.asarray(ImageOps.equalize(pil)))
    for bits in (1, 3, 4):
        assert np.array_equal(M.posterize(image, bits), np.asarray(ImageOps.posterize(pil, bits)))
    for threshold in (0, 128, 231, 256):
        assert np.array_equal(M.solarize(image, threshold), np.asarray(ImageOps.solarize(pil, threshold)))


@pytest.mark.parametrize("name,value", [("rotate", 7.0), ("rotate", -9.0), ("shear_x", 0.21), ("shear_y", -0.15),
                                        ("translate_x", 5.0), ("translate_y", -4.0)])
def test_geometric_ops_match_pil_to_one_level(name, value):
    Image = pytest.importorskip("PIL.Image")
    image = photo()
    pil, (h, w) = Image.fromarray(image), image.shape[:2]
    coeffs = {"shear_x": (1, value, 0, 0, 1, 0), "shear_y": (1, 0, 0, value, 1, 0),
              "translate_x": (1, 0, value, 0, 1, 0), "translate_y": (1, 0, 0, 0, 1, value)}
    ref = (pil.rotate(value, resample=Image.BILINEAR) if name == "rotate"
           else pil.transform((w, h), Image.AFFINE, coeffs[name], resample=Image.BILINEAR))
    diff = np.abs(M.apply_chain(image, ((name, value),)).astype(int) - np.asarray(ref).astype(int))
    assert diff.max() <= 1  # cv2's 5-bit bilinear weights against PIL's floating point


# ---- properties from the paper ----------------------------------------------------------------------
def test_magnitudes_at_severity_3_follow_the_code():
    values = {}
    for chain in sampled_chains():
        for name, value in chain:
            values.setdefault(name, set()).add(value)
    assert values["posterize"] <= {3.0, 4.0} and min(values["solarize"]) >= 256 - 76 and max(values["solarize"]) <= 256
    assert max(abs(v) for v in values["rotate"]) <= 8 and max(abs(v) for v in values["shear_x"]) <= 0.09
    assert max(abs(v) for v in values["translate_x"]) <= int(3 * (32 / 3) / 10)
    assert values["autocontrast"] == {0.0}


def test_weights_are_dirichlet_and_m_is_beta_1_1():
    rng = np.random.default_rng(0)
    draws = [M.sample_augmix_params(8, 8, rng) for _ in range(3000)]
    w = np.array([d.weights for d in draws])
    m = np.array([d.m for d in draws])
    assert np.allclose(w.sum(1), 1, atol=1e-5) and abs(w.mean() - 1 / 3) < 0.01
    assert abs(m.mean() - 0.5) < 0.02 and abs(m.var() - 1 / 12) < 0.01  # Beta(1, 1) = U(0, 1)


def test_m_zero_is_the_original_and_m_one_is_the_chain_mixture():
    image = photo()
    chains = ((("solarize", 128.0),), (("posterize", 2.0),))
    assert np.array_equal(M.apply_augmix(image, M.AugMixParams((0.5, 0.5), 0.0, chains, image.shape[:2])), image)
    one = M.mix_float(image, M.AugMixParams((1.0, 0.0), 1.0, chains, image.shape[:2]))
    assert np.array_equal(one, M.solarize(image, 128).astype(np.float32))


def test_same_seed_same_output_input_untouched_and_create():
    image = photo(30, 20)[:, :, :1]
    before = image.copy()
    a, b = augmix(image, np.random.default_rng(2)), augmix(image, np.random.default_rng(2))
    assert np.array_equal(a, b) and np.array_equal(image, before) and a.shape == (30, 20, 1)
    five = np.concatenate([photo(), photo()[..., :2]], axis=2)  # more channels than cv2 warps at once
    assert augmix(five, np.random.default_rng(0)).shape == five.shape
    assert create("augmix").keywords == {"severity": 3, "mixture_width": 3, "depth": -1, "alpha": 1.0}


# ---- the Jensen-Shannon consistency loss (Sec. 3) ---------------------------------------------------
def test_jsd_loss_matches_the_definition_and_bounds():
    torch.manual_seed(0)
    z = [torch.randn(5, 7) for _ in range(3)]
    p = [torch.softmax(t.double(), 1) for t in z]
    mix = sum(p) / 3
    reference = sum((q * (q.log() - mix.log())).sum(1).mean() for q in p) / 3
    assert torch.allclose(M.jsd_loss(*z).double(), reference, atol=1e-5)
    assert float(M.jsd_loss(z[0], z[0], z[0])) < 1e-6
    peaked = torch.eye(3) * 50  # three confident, disagreeing predictions: JS -> log 3
    assert abs(float(M.jsd_loss(peaked[[0]], peaked[[1]], peaked[[2]])) - np.log(3)) < 1e-3


def test_jsd_loss_has_gradients_and_rejects_bad_shapes():
    z = [torch.randn(4, 10, requires_grad=True) for _ in range(3)]
    M.jsd_loss(*z).backward()
    assert all(t.grad is not None and torch.isfinite(t.grad).all() for t in z)
    with pytest.raises(ValueError):
        M.jsd_loss(torch.randn(4, 10), torch.randn(4, 9), torch.randn(4, 10))
    with pytest.raises(ValueError):
        M.jsd_loss(torch.randn(10), torch.randn(10), torch.randn(10))


@pytest.mark.parametrize("bad", [
    dict(image=np.zeros((32, 32), np.uint8)), dict(image=np.zeros((32, 32, 3), np.float32)),
    dict(image=np.zeros((0, 32, 3), np.uint8)), dict(severity=0), dict(severity=11), dict(mixture_width=0),
    dict(depth=0), dict(depth=-2), dict(alpha=0.0), dict(rng=np.random.RandomState(0)),
])
def test_bad_input_raises_value_error(bad):
    kwargs = dict(image=np.zeros((32, 32, 3), np.uint8), rng=np.random.default_rng(0))
    kwargs.update(bad)
    with pytest.raises(ValueError):
        augmix(kwargs.pop("image"), kwargs.pop("rng"), **kwargs)
