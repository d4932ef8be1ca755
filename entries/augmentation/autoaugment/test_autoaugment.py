"""What is special about AutoAugment (the generic suite covers contract, determinism, claims, example)."""

import inspect

import numpy as np
import pytest

from encyclo import create, get

autoaugment = get("autoaugment")
M = inspect.getmodule(autoaugment)  # sample_/apply_autoaugment, POLICY, OPS, the operations


def photo(h: int = 32, w: int = 32, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


# ---- claim measures ---------------------------------------------------------------------------------
def num_sub_policies() -> int:
    """Distinct sub-policies drawn in 4000 draws (uniform over the table)."""
    rng = np.random.default_rng(0)
    return len({M.sample_autoaugment_params(32, 32, rng).index for _ in range(4000)})


def first_sub_policy() -> list[str]:
    """Sub-policy 0 as 'Name(p=..., level=...)', p measured as the firing rate of each operation."""
    rng = np.random.default_rng(1)
    draws = [q for q in (M.sample_autoaugment_params(32, 32, rng) for _ in range(8000)) if q.index == 0]
    rates = np.mean([[op.applied for op in q.ops] for q in draws], axis=0)
    return [f"{op.name}(p={round(rate, 1)}, level={op.level})" for op, rate in zip(draws[0].ops, rates)]


def first_sub_policy_arguments() -> list[float]:
    """Bits kept by Posterize and |angle| of Rotate in sub-policy 0 on a 224 x 224 image."""
    q = next(q for q in (M.sample_autoaugment_params(224, 224, np.random.default_rng(s)) for s in range(500))
             if q.index == 0)
    return [int(q.ops[0].value), abs(q.ops[1].value)]


def policy_operations() -> list[str]:
    return sorted({name for sub in M.POLICY for name, _, _ in sub})


# ---- properties -------------------------------------------------------------------------------------
def test_policy_shape_and_levels():
    assert len(M.POLICY) == 25 and all(len(sub) == 2 for sub in M.POLICY)
    for sub in M.POLICY:
        for name, p, level in sub:
            assert name in M.OPS and 0.0 <= p <= 1.0
            assert (level is None) == (M.OPS[name][1] == (0.0, 0.0))  # magnitude-free ops carry no level
            assert level is None or 0 <= level < M.NUM_LEVELS


def test_level_mapping_follows_the_paper_ranges():
    arg = M.op_argument
    assert arg("Rotate", 10, 224, 224) == 30.0 and arg("ShearX", 10, 224, 224) == pytest.approx(0.3)
    assert arg("Posterize", 0, 224, 224) == 8 and arg("Posterize", 10, 224, 224) == 4
    assert arg("Solarize", 0, 224, 224) == 256 and arg("Solarize", 10, 224, 224) == 0
    assert arg("Color", 0, 224, 224) == pytest.approx(0.1) and arg("Color", 10, 224, 224) == pytest.approx(1.9)
    assert arg("TranslateX", 10, 331, 331) == 150  # 150 px on the paper's 331 px ImageNet images


def test_zero_magnitude_is_identity_where_it_should_be():
    image = photo()
    for name in ("ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate", "Solarize", "Posterize"):
        fn = M.OPS[name][0]
        assert np.array_equal(fn(image, M.op_argument(name, 0, 32, 32), (0, 0, 0)), image), name
    for name in ("Color", "Contrast", "Brightness", "Sharpness"):  # factor 1.0 = level 5 is the identity
        assert np.array_equal(M.OPS[name][0](image, 1.0), image), name
    assert M.op_argument("Color", 5, 32, 32) == pytest.approx(1.0)


def test_operations_against_hand_computed_results():
    image = photo(16, 16)
    assert np.array_equal(M.rotate(image, 90.0), np.rot90(image))  # counter-clockwise, square image
    assert np.array_equal(M.rotate(image, -90.0), np.rot90(image, -1))
    assert np.array_equal(M.solarize(image, 128), np.where(image >= 128, 255 - image, image))
    assert np.array_equal(M.posterize(image, 3), (image // 32) * 32)
    assert np.array_equal(M.invert(image), 255 - image)
    shifted = M.translate_x(image, 4.0, (7, 7, 7))
    assert np.array_equal(shifted[:, :-4], image[:, 4:]) and (shifted[:, -4:] == 7).all()
    ramp = np.tile(np.arange(50, 100, dtype=np.uint8)[None, :, None], (4, 1, 3))
    stretched = M.auto_contrast(ramp)
    assert stretched.min() == 0 and stretched.max() == 255
    assert np.array_equal(M.brightness(image, 0.5), image // 2)  # truncation, like PIL


def test_operations_match_pil():
    Image = pytest.importorskip("PIL.Image")
    from PIL import ImageEnhance, ImageOps

    image = photo(37, 53, seed=3)
    pil = Image.fromarray(image)
    same = [
        (M.auto_contrast(image), ImageOps.autocontrast(pil)),
        (M.equalize(image), ImageOps.equalize(pil)),
        (M.shear_x(image, 0.3), pil.transform(pil.size, Image.AFFINE, (1, 0.3, 0, 0, 1, 0))),
        (M.shear_y(image, -0.27), pil.transform(pil.size, Image.AFFINE, (1, 0, 0, -0.27, 1, 0))),
        (M.translate_y(image, -13), pil.transform(pil.size, Image.AFFINE, (1, 0, 0, 0, 1, -13))),
    ]
    for factor in (0.1, 0.64, 1.72):
        same += [(M.color(image, factor), ImageEnhance.Color(pil).enhance(factor)),
                 (M.contrast(image, factor), ImageEnhance.Contrast(pil).enhance(factor)),
                 (M.brightness(image, factor), ImageEnhance.Brightness(pil).enhance(factor)),
                 (M.sharpness(image, factor), ImageEnhance.Sharpness(pil).enhance(factor))]
    for ours, theirs in same:
        assert np.array_equal(ours, np.asarray(theirs))
    rotated = M.rotate(image, 27.0)
    assert np.mean(rotated != np.asarray(pil.rotate(27))) < 0.01  # nearest-neighbour rounding on a few pixels


def test_sampled_params_reproduce_the_output_and_input_untouched():
    image = photo(40, 30, seed=4)
    before = image.copy()
    for seed in range(20):
        out = autoaugment(image, np.random.default_rng(seed))
        q = M.sample_autoaugment_params(40, 30, np.random.default_rng(seed))
        assert np.array_equal(out, M.apply_autoaugment(image, q))
        assert np.array_equal(out, autoaugment(image, np.random.default_rng(seed)))
    assert np.array_equal(image, before)


def test_probabilities_and_signs():
    rng = np.random.default_rng(5)
    qs = [M.sample_autoaugment_params(32, 32, rng) for _ in range(6000)]
    never = [op.applied for q in qs if q.index == 12 for op in q.ops[:1]]  # ("Equalize", 0.0, None)
    always = [q.ops[1].applied for q in qs if q.index == 7]  # ("Equalize", 1.0, None)
    assert never and not any(never) and always and all(always)
    angles = [op.value for q in qs for op in q.ops if op.name == "Rotate" and op.level == 9]
    assert set(angles) == {27.0, -27.0}


def test_skipped_operations_leave_the_image_unchanged_and_grey_images_work():
    image = photo()
    q = M.AutoAugmentParams(0, (M.OpCall("Posterize", 8, 5.0, False), M.OpCall("Rotate", 9, 27.0, False)), (32, 32))
    assert np.array_equal(M.apply_autoaugment(image, q), image)
    grey = photo()[..., :1]
    assert autoaugment(grey, np.random.default_rng(0)).shape == (32, 32, 1)
    assert create("autoaugment").keywords == {"fill": 128}


@pytest.mark.parametrize("bad", [
    dict(image=np.zeros((8, 8), np.uint8)), dict(image=np.zeros((8, 8, 3), np.float32)),
    dict(image=np.zeros((0, 8, 3), np.uint8)), dict(image=np.zeros((8, 8, 4), np.uint8)),
    dict(fill=256), dict(fill=(1, 2)), dict(fill="grey"), dict(rng=np.random.RandomState(0)),
])
def test_bad_input_raises_value_error(bad):
    kwargs = dict(image=np.zeros((8, 8, 3), np.uint8), rng=np.random.default_rng(0))
    kwargs.update(bad)
    with pytest.raises(ValueError):
        autoaugment(kwargs.pop("image"), kwargs.pop("rng"), **kwargs)


def test_params_for_another_size_are_rejected():
    q = M.sample_autoaugment_params(64, 64, np.random.default_rng(0))
    with pytest.raises(ValueError):
        M.apply_autoaugment(photo(), q)
