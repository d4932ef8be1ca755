"""What is special about RandAugment (the generic suite covers contract, determinism, claims, example)."""

import inspect

import numpy as np
import pytest

from encyclo import create, get

randaugment = get("randaugment")
M = inspect.getmodule(randaugment)  # sample_/apply_randaugment, OPS, op_argument, the operations


def photo(h: int = 32, w: int = 32, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


# ---- claim measures ---------------------------------------------------------------------------------
def operations_drawn() -> list[str]:
    rng = np.random.default_rng(0)
    drawn = {op.name for _ in range(3000) for op in M.sample_randaugment_params(32, 32, rng).ops}
    return [name for name in M.OPS if name in drawn]


def uniform_op_probability() -> float:
    rng = np.random.default_rng(1)
    names = [op.name for _ in range(7000) for op in M.sample_randaugment_params(32, 32, rng, 2, 9).ops]
    counts = np.array([names.count(n) for n in M.OPS]) / len(names)
    return round(float(counts.mean()), 4) if counts.min() > 0.06 and counts.max() < 0.08 else -1.0


def max_level() -> float:
    return next(m for m in range(31) if M.op_argument("Rotate", m, 224, 224) >= 30.0)


def magnitude_sweep_max() -> int:
    accepted = []
    for m in range(0, 41):
        try:
            M.sample_randaugment_params(8, 8, np.random.default_rng(0), 1, m)
            accepted.append(m)
        except ValueError:
            pass
    return max(accepted)


def default_num_ops_and_magnitude() -> list[int]:
    defaults = inspect.signature(M.randaugment).parameters
    return [defaults["num_ops"].default, defaults["magnitude"].default]


# ---- properties -------------------------------------------------------------------------------------
def test_defaults_and_create():
    assert create("randaugment").keywords == {"num_ops": 2, "magnitude": 9}
    assert default_num_ops_and_magnitude() == [2, 9] and len(M.OPS) == 14


def test_magnitude_maps_onto_autoaugment_ranges():
    arg = M.op_argument
    assert arg("Rotate", 10, 64, 64) == 30.0 and arg("ShearX", 10, 64, 64) == pytest.approx(0.3)
    assert arg("Posterize", 10, 64, 64) == 4 and arg("Solarize", 10, 64, 64) == 0
    assert arg("Contrast", 10, 64, 64) == pytest.approx(1.9) and arg("Contrast", 0, 64, 64) == pytest.approx(0.1)
    assert arg("TranslateY", 10, 331, 100) == 150
    assert arg("Rotate", 9, 64, 64) == 27.0  # ImageNet ResNet-50, M = 9
    assert arg("Rotate", 30, 64, 64) == 90.0  # beyond 10: extrapolated, as the authors' code
    assert arg("Posterize", 30, 64, 64) == 1 and arg("Solarize", 30, 64, 64) == 0  # clipped to the domain
    assert arg("Rotate", 9, 64, 64, max_level=30) == pytest.approx(9.0)  # torchvision's 31-bin scale


def test_magnitude_zero_is_identity_where_it_should_be():
    image = photo()
    q = M.RandAugmentParams(ops=tuple(M.OpCall(n, M.op_argument(n, 0, 32, 32)) for n in
                                      ("Identity", "Rotate", "Solarize", "Posterize", "ShearX", "ShearY",
                                       "TranslateX", "TranslateY")), magnitude=0, size=(32, 32))
    assert np.array_equal(M.apply_randaugment(image, q), image)
    for name in ("Color", "Contrast", "Brightness", "Sharpness"):  # factor 1.0 at M = 5 is the identity
        assert M.op_argument(name, 5, 32, 32) == pytest.approx(1.0)
        assert np.array_equal(M.OPS[name][0](image, M.op_argument(name, 5, 32, 32)), image), name


def test_operations_against_hand_computed_results():
    image = photo(12, 12)
    assert np.array_equal(M.rotate(image, 90.0), np.rot90(image))
    assert np.array_equal(M.solarize(image, 26), np.where(image >= 26, 255 - image, image))
    assert np.array_equal(M.posterize(image, 5), image & 0b11111000)
    grey = M.color(image, 0.0)
    assert (grey == grey[..., :1]).all()


def test_n_operations_with_replacement_and_random_signs():
    rng = np.random.default_rng(2)
    qs = [M.sample_randaugment_params(32, 32, rng, num_ops=3, magnitude=9) for _ in range(3000)]
    assert all(len(q.ops) == 3 for q in qs)
    assert any(q.ops[0].name == q.ops[1].name == q.ops[2].name for q in qs)  # with replacement
    angles = {op.value for q in qs for op in q.ops if op.name == "Rotate"}
    assert angles == {27.0, -27.0}
    factors = {op.value for q in qs for op in q.ops if op.name == "Brightness"}
    assert factors == {1.72}  # enhancement factors are unsigned (authors' code)
    assert M.sample_randaugment_params(32, 32, rng, num_ops=0).ops == ()


def test_sampled_params_reproduce_the_output_and_input_untouched():
    image = photo(40, 30, seed=4)
    before = image.copy()
    for seed in range(20):
        out = randaugment(image, np.random.default_rng(seed), num_ops=3, magnitude=14)
        q = M.sample_randaugment_params(40, 30, np.random.default_rng(seed), 3, 14)
        assert np.array_equal(out, M.apply_randaugment(image, q))
        assert np.array_equal(out, randaugment(image, np.random.default_rng(seed), num_ops=3, magnitude=14))
    assert np.array_equal(image, before)


def test_grey_images_work():
    grey = photo()[..., :1]
    assert randaugment(grey, np.random.default_rng(0), num_ops=4).shape == (32, 32, 1)


@pytest.mark.parametrize("bad", [
    dict(image=np.zeros((8, 8), np.uint8)), dict(image=np.zeros((8, 8, 3), np.float32)),
    dict(image=np.zeros((0, 8, 3), np.uint8)), dict(image=np.zeros((8, 8, 4), np.uint8)),
    dict(num_ops=-1), dict(num_ops=1.5), dict(magnitude=31), dict(magnitude=-1), dict(magnitude="9"),
    dict(max_level=0), dict(fill=300), dict(rng=np.random.RandomState(0)),
])
def test_bad_input_raises_value_error(bad):
    kwargs = dict(image=np.zeros((8, 8, 3), np.uint8), rng=np.random.default_rng(0))
    kwargs.update(bad)
    with pytest.raises(ValueError):
        randaugment(kwargs.pop("image"), kwargs.pop("rng"), **kwargs)


def test_params_for_another_size_are_rejected():
    q = M.sample_randaugment_params(64, 64, np.random.default_rng(0))
    with pytest.raises(ValueError):
        M.apply_randaugment(photo(), q)
