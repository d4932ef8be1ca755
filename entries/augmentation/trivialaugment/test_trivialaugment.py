"""What is special about TrivialAugment (the generic suite covers contract, determinism, claims, example)."""

import inspect

import numpy as np
import pytest

from encyclo import create, get

trivialaugment = get("trivialaugment")
M = inspect.getmodule(trivialaugment)  # sample_/apply_trivialaugment, OPS, op_argument, the operations


def photo(h: int = 32, w: int = 32, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def draws(n: int, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    return [M.sample_trivialaugment_params(32, 32, rng) for _ in range(n)]


# ---- claim measures ---------------------------------------------------------------------------------
def operations_per_image() -> int:
    """Each draw applies one operation: applying it equals applying that single operation of OPS."""
    image = photo(16, 16)
    counts = []
    for q in (M.sample_trivialaugment_params(16, 16, np.random.default_rng(s)) for s in range(2000)):
        single = M.OPS[q.name][0](image, q.value, (0, 0, 0))
        counts.append(len(q.ops) if np.array_equal(M.apply_trivialaugment(image, q), single) else -1)
    return max(counts) if min(counts) > 0 else -1


def num_strengths() -> int:
    return len({q.strength for q in draws(5000, seed=1)})


def operations_drawn() -> list[str]:
    drawn = {q.name for q in draws(3000, seed=2)}
    return [name for name in M.OPS if name in drawn]


def wide_range_ends() -> list[float]:
    top = {}
    for q in draws(20000, seed=3):
        if q.strength == M.MAX_STRENGTH:
            top[q.name] = abs(q.value)
    return [top[n] for n in ("Rotate", "ShearX", "TranslateX", "Posterize", "Solarize", "Color")]


# ---- properties -------------------------------------------------------------------------------------
def test_create_and_defaults():
    assert create("trivialaugment").keywords == {"fill": 0} and len(M.OPS) == 14


def test_uniform_operation_and_strength():
    qs = draws(28000, seed=4)
    names = np.array([q.name for q in qs])
    freq = np.array([np.mean(names == n) for n in M.OPS])
    assert np.abs(freq - 1 / 14).max() < 0.01
    strengths = np.bincount([q.strength for q in qs], minlength=31) / len(qs)
    assert len(strengths) == 31 and np.abs(strengths - 1 / 31).max() < 0.008
    signs = {np.sign(q.value) for q in qs if q.name == "Rotate" and q.strength > 0}
    assert signs == {-1.0, 1.0}


def test_strength_mapping_matches_the_authors_code():
    arg = M.op_argument
    assert arg("Solarize", 1) == 256 - int(256 / 30) and arg("Posterize", 15) == 8 - int(15 * 6 / 30)
    assert arg("Rotate", 7) == int(7 * 135 / 30) and arg("TranslateX", 29) == int(29 * 32 / 30)
    assert arg("Contrast", 15) == pytest.approx(0.01 + 15 * 1.99 / 30)
    assert arg("ShearY", 10) == pytest.approx(0.33)


def test_strength_zero_is_identity_where_it_should_be():
    image = photo()
    for name in ("Identity", "Rotate", "Solarize", "Posterize", "ShearX", "ShearY", "TranslateX", "TranslateY"):
        q = M.TrivialAugmentParams(name=name, strength=0, value=M.op_argument(name, 0), size=(32, 32))
        assert np.array_equal(M.apply_trivialaugment(image, q), image), name
    assert np.array_equal(M.brightness(image, 1.0), image) and np.array_equal(M.sharpness(image, 1.0), image)


def test_operations_against_hand_computed_results():
    image = photo(10, 10)
    assert np.array_equal(M.rotate(image, 90.0), np.rot90(image))
    assert np.array_equal(M.rotate(image, 180.0), np.rot90(image, 2))
    assert np.array_equal(M.posterize(image, 2), image & 0b11000000)
    assert np.array_equal(M.solarize(image, 0), 255 - image)
    shifted = M.translate_y(image, -3.0, (9, 9, 9))  # content moves down by 3
    assert np.array_equal(shifted[3:], image[:-3]) and (shifted[:3] == 9).all()


def test_sampled_params_reproduce_the_output_and_input_untouched():
    image = photo(40, 30, seed=5)
    before = image.copy()
    for seed in range(30):
        out = trivialaugment(image, np.random.default_rng(seed))
        q = M.sample_trivialaugment_params(40, 30, np.random.default_rng(seed))
        assert np.array_equal(out, M.apply_trivialaugment(image, q))
        assert np.array_equal(out, trivialaugment(image, np.random.default_rng(seed)))
    assert np.array_equal(image, before)


def test_grey_images_work():
    grey = photo()[..., :1]
    for seed in range(20):
        assert trivialaugment(grey, np.random.default_rng(seed)).shape == (32, 32, 1)


@pytest.mark.parametrize("bad", [
    dict(image=np.zeros((8, 8), np.uint8)), dict(image=np.zeros((8, 8, 3), np.float32)),
    dict(image=np.zeros((0, 8, 3), np.uint8)), dict(image=np.zeros((8, 8, 4), np.uint8)),
    dict(fill=-1), dict(fill=(1, 2)), dict(rng=np.random.RandomState(0)),
])
def test_bad_input_raises_value_error(bad):
    kwargs = dict(image=np.zeros((8, 8, 3), np.uint8), rng=np.random.default_rng(0))
    kwargs.update(bad)
    with pytest.raises(ValueError):
        trivialaugment(kwargs.pop("image"), kwargs.pop("rng"), **kwargs)


def test_params_for_another_size_are_rejected():
    q = M.sample_trivialaugment_params(64, 64, np.random.default_rng(0))
    with pytest.raises(ValueError):
        M.apply_trivialaugment(photo(), q)
