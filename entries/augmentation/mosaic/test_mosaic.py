"""What is special about Mosaic (the generic suite covers shapes, determinism, claims and the example)."""

import inspect

import pytest
import torch

from encyclo import create, get

mosaic = get("mosaic")
M = inspect.getmodule(mosaic)  # sample_mosaic_params, apply_mosaic, mosaic_with_boxes, MosaicParams


def flat_batch(n=8, h=24, w=20):
    """Image i is the constant i + 1 (in every channel): a pixel's value names its source."""
    return (torch.arange(n).float() + 1)[:, None, None, None].expand(n, 3, h, w).clone(), torch.arange(n)


def boxed_images(seed, n=4, h=48, w=40, per_image=3):
    """Zero images with filled rectangles; rectangle j of image i has value (and label) 1 + i * per_image + j."""
    g = torch.Generator().manual_seed(seed)
    images = torch.zeros(n, 1, h, w)
    boxes, labels = [], []
    for i in range(n):
        bs, ls = [], []
        for j in range(per_image):  # disjoint rectangles: one per horizontal band
            band = h // per_image
            y1 = j * band + int(torch.randint(0, band // 3, (), generator=g))
            y2 = y1 + int(torch.randint(3, band - band // 3, (), generator=g))
            x1 = int(torch.randint(0, w - 6, (), generator=g))
            x2 = x1 + int(torch.randint(4, w - x1 + 1, (), generator=g))
            value = 1 + i * per_image + j
            images[i, 0, y1:y2, x1:x2] = value
            bs.append([x1, y1, x2, y2])
            ls.append(value)
        boxes.append(torch.tensor(bs, dtype=torch.float32))
        labels.append(torch.tensor(ls))
    return images, boxes, labels


# ---- claim measures ---------------------------------------------------------------------------------
def images_per_mosaic() -> int:
    """Sec. 3.3: 4 images per mosaic. Median number of distinct source values visible in a mosaic."""
    x, y = flat_batch()
    counts = []
    for seed in range(50):
        out, _ = mosaic(x, y, num_classes=8, generator=torch.Generator().manual_seed(seed))
        counts += [len(torch.unique(out[i])) for i in range(8)]
    return int(torch.tensor(counts).median())


def soft_target_equals_visible_area() -> bool:
    """Each source's weight in the soft target == the fraction of output pixels showing it."""
    x, y = flat_batch()
    for seed in range(50):
        out, soft = mosaic(x, y, num_classes=8, generator=torch.Generator().manual_seed(seed))
        values = out[:, 0].round().long() - 1  # (N, H, W): which image every pixel came from
        fraction = torch.nn.functional.one_hot(values, 8).float().mean((1, 2))  # (N, 8)
        if not torch.allclose(soft, fraction, atol=1e-6):
            return False
    return True


def boxes_move_with_pixels() -> bool:
    """Every returned box covers exactly the pixels of its rectangle, and no pixel of it lies outside."""
    kept_total = 0
    for seed in range(30):
        images, boxes, labels = boxed_images(seed)
        out, b, lab = M.mosaic_with_boxes(images, boxes, labels, generator=torch.Generator().manual_seed(seed))
        for (x1, y1, x2, y2), value in zip(b.round().long().tolist(), lab.tolist()):
            inside = torch.zeros(out.shape[1:], dtype=torch.bool)
            inside[y1:y2, x1:x2] = True
            has_value = out[0] == value
            if not (has_value[inside].all() and not has_value[~inside].any()):
                return False
            kept_total += 1
    return kept_total > 100


# ---- properties -------------------------------------------------------------------------------------
def test_get_returns_the_contract_function():
    assert mosaic is M.mosaic
    assert create("mosaic").keywords["center_range"] in ([0.5, 1.5], (0.5, 1.5))


def test_quadrants_meet_at_the_centre():
    # load_mosaic: the top-left image ends at (yc, xc), the bottom-right one starts there.
    x, _ = flat_batch(n=4, h=16, w=16)
    params = M.MosaicParams(sources=torch.tensor([[0, 1, 2, 3]]), center=torch.tensor([[13, 10]]),
                            tile_size=(16, 16), out_size=(16, 16))
    out, areas = M.apply_mosaic(x, params)
    r, c = 13 - 8, 10 - 8  # centre in output coordinates (the crop starts at S / 2)
    assert torch.equal(out[0, 0, :r, :c].unique(), torch.tensor([1.0]))
    assert torch.equal(out[0, 0, :r, c:].unique(), torch.tensor([2.0]))
    assert torch.equal(out[0, 0, r:, :c].unique(), torch.tensor([3.0]))
    assert torch.equal(out[0, 0, r:, c:].unique(), torch.tensor([4.0]))
    assert areas.tolist() == [[r * c, r * (16 - c), (16 - r) * c, (16 - r) * (16 - c)]]
    # the top-left tile shows its bottom-right corner: the pixel just above-left of the centre is its last
    x = torch.arange(256.0).view(1, 1, 16, 16).expand(4, 1, 16, 16)
    out, _ = M.apply_mosaic(x, params)
    assert out[0, 0, r - 1, c - 1] == 255 and out[0, 0, r, c] == 0


def test_centre_is_uniform_in_half_to_three_halves_of_the_size():
    p = M.sample_mosaic_params(20_000, 8, (64, 64), (64, 64), torch.Generator().manual_seed(0))
    yc, xc = p.center.unbind(1)
    assert int(yc.min()) == 32 and int(yc.max()) == 95 and int(xc.min()) == 32 and int(xc.max()) == 95
    assert abs(float(yc.float().mean()) - 63.5) < 0.5


def test_each_mosaic_holds_its_anchor_and_three_distinct_others():
    p = M.sample_mosaic_params(64, 64, (8, 8), (8, 8), torch.Generator().manual_seed(0))
    assert (p.sources == torch.arange(64)[:, None]).any(1).all()
    assert all(len(set(row)) == 4 for row in p.sources.tolist())
    assert len(set(p.sources[:, 0].tolist())) > 30  # the anchor is shuffled over the slots


def test_fill_shows_when_tiles_are_smaller_than_the_output_and_targets_stay_normalised():
    images, boxes, labels = boxed_images(0, h=20, w=40)  # long side 40 -> tiles 20 x 40 in a 40 x 40 output
    out, _, _ = M.mosaic_with_boxes(images + 0.5, boxes, labels, generator=torch.Generator().manual_seed(1),
                                    out_size=40)
    assert out.shape == (1, 40, 40) and bool((out == M.DEFAULT_FILL).any())
    x, y = flat_batch(n=4, h=16, w=16)
    params = M.MosaicParams(sources=torch.tensor([[0, 1, 2, 3]]), center=torch.tensor([[2, 2]]),
                            tile_size=(8, 8), out_size=(16, 16))
    out, areas = M.apply_mosaic(x[:, :, :8, :8], params)
    soft = M.area_soft_targets(y, params, areas, 4)
    covered = (out[0, 0] != M.DEFAULT_FILL).sum()
    assert int(areas.sum()) == int(covered) < 256 and torch.allclose(soft.sum(1), torch.ones(1))


def test_resizing_moves_boxes_with_the_pixels():
    # out_size resizes the tiles (bilinear): the inside of every returned box, one pixel in, is its rectangle.
    images, boxes, labels = boxed_images(3, h=48, w=40)
    checked = 0
    for seed in range(10):
        out, b, lab = M.mosaic_with_boxes(images, boxes, labels, generator=torch.Generator().manual_seed(seed),
                                          out_size=32)
        for (x1, y1, x2, y2), value in zip(b.tolist(), lab.tolist()):
            inner = out[0, int(y1) + 1:int(y2 + 0.999) - 1, int(x1) + 1:int(x2 + 0.999) - 1]
            if inner.numel():
                assert torch.allclose(inner, torch.full_like(inner, value), atol=1e-4)
                checked += 1
    assert checked >= 10


def test_degenerate_boxes_are_dropped():
    images = torch.zeros(4, 1, 32, 32)
    boxes = [torch.tensor([[0.0, 0.0, 32.0, 1.0], [8.0, 8.0, 24.0, 24.0]])] * 4  # a 1-pixel-tall box: dropped
    labels = [torch.tensor([0, 1])] * 4
    _, b, lab = M.mosaic_with_boxes(images, boxes, labels, generator=torch.Generator().manual_seed(0))
    assert (lab == 1).any() and not (lab == 0).any()
    assert bool(((b[:, 2] - b[:, 0]) > 2).all() and ((b[:, 3] - b[:, 1]) > 2).all())


def test_same_seed_same_output_and_inputs_untouched():
    x, y = flat_batch()
    x0 = x.clone()
    a = mosaic(x, y, num_classes=8, generator=torch.Generator().manual_seed(5))
    b = mosaic(x, y, num_classes=8, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) and torch.equal(x, x0)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_precision_copies_pixels_exactly(dtype):
    x, y = flat_batch()
    ref, soft_ref = mosaic(x, y, num_classes=8, generator=torch.Generator().manual_seed(1))
    out, soft = mosaic(x.to(dtype), y, num_classes=8, generator=torch.Generator().manual_seed(1))
    assert out.dtype == dtype and torch.equal(out, ref.to(dtype)) and torch.equal(soft, soft_ref)


def test_small_batches_draw_with_replacement():
    x, y = flat_batch(n=2)
    out, soft = mosaic(x, y, num_classes=2, generator=torch.Generator().manual_seed(0))
    assert out.shape == x.shape and torch.allclose(soft.sum(1), torch.ones(2))


@pytest.mark.parametrize("bad", [
    dict(images=torch.rand(3, 8, 8)), dict(images=torch.randint(0, 255, (2, 3, 8, 8))),
    dict(targets=torch.tensor([0.0, 1.0])), dict(targets=torch.tensor([0, 5])),
    dict(generator=None), dict(num_classes=0), dict(center_range=(1.5, 0.5)), dict(center_range=(0.5, 3.0)),
])
def test_bad_input_raises_value_error(bad):
    kwargs = dict(images=torch.rand(2, 3, 8, 8), targets=torch.tensor([0, 1]), num_classes=5,
                  generator=torch.Generator().manual_seed(0))
    kwargs.update(bad)
    with pytest.raises(ValueError):
        mosaic(kwargs.pop("images"), kwargs.pop("targets"), **kwargs)


def test_bad_boxes_raise_value_error():
    x = torch.rand(4, 3, 8, 8)
    g = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError):
        M.mosaic_with_boxes(x, [torch.zeros(1, 4)] * 3, [torch.zeros(1)] * 3, generator=g)
    with pytest.raises(ValueError):
        M.mosaic_with_boxes(x, [torch.zeros(1, 5)] * 4, [torch.zeros(1)] * 4, generator=g)
    with pytest.raises(ValueError):
        M.mosaic_with_boxes(x, [torch.zeros(2, 4)] * 4, [torch.zeros(1)] * 4, generator=g)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu():
    x, y = flat_batch()
    params = M.sample_mosaic_params(8, 8, (24, 20), (24, 20), torch.Generator().manual_seed(0))
    ref, areas = M.apply_mosaic(x, params)
    out, areas_cuda = M.apply_mosaic(x.cuda(), params)
    assert torch.equal(out.cpu(), ref) and torch.equal(areas_cuda.cpu(), areas)
    out, soft = mosaic(x.cuda(), y.cuda(), num_classes=8, generator=torch.Generator(device="cuda").manual_seed(0))
    assert out.device.type == "cuda" and torch.allclose(soft.sum(1), torch.ones(8, device="cuda"))
