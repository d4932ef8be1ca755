"""What is special about Simple Copy-Paste (the generic suite covers shapes, determinism, claims and the example)."""

import inspect

import numpy as np
import pytest
import torch

from encyclo import create, get

copy_paste_batch = get("copy_paste")
M = inspect.getmodule(copy_paste_batch)  # copy_paste, apply_copy_paste, sample_copy_paste_params, boxes_from_masks


def scene(seed, h=40, w=48, k=5):
    """A random image with k disjoint instance masks (from a coarse random label map; 0 is background)."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.randint(0, k + 1, (1, 1, 5, 6), generator=g).float()
    label_map = torch.nn.functional.interpolate(coarse, size=(h, w), mode="nearest")[0, 0].long()
    masks = torch.stack([label_map == i for i in range(1, k + 1)])
    masks = masks[masks.flatten(1).any(1)]
    image = torch.rand(3, h, w, generator=g)
    labels = torch.randint(0, 10, (masks.shape[0],), generator=g)
    return image, masks, labels


def run(seed, **kw):
    image, masks, labels = scene(seed)
    src, src_masks, src_labels = scene(1000 + seed, h=36, w=30)
    out = M.copy_paste(image, masks, labels, src, src_masks, src_labels,
                       generator=torch.Generator().manual_seed(seed), **kw)
    return (image, masks, labels, src, src_masks, src_labels), out


# ---- claim measures ---------------------------------------------------------------------------------
def lsj_scale_range() -> list:
    """Sec. 3: LSJ resizes by 0.1 to 2.0. Min and max of 20,000 scales drawn at the default range."""
    scales = [M.sample_copy_paste_params((8, 8), (8, 8), 0, torch.Generator().manual_seed(s)).scale
              for s in range(200)]
    g = torch.Generator().manual_seed(0)
    more = M.sample_copy_paste_batch_params(19_800, 8, 8, g).scale  # the same LSJ sampler, vectorised
    allv = torch.cat([torch.stack(scales), more])
    return [round(float(allv.min()), 2), round(float(allv.max()), 2)]


def no_pixel_in_two_masks() -> bool:
    """After pasting, no pixel belongs to two instance masks (inputs had disjoint masks)."""
    pasted_any = False
    for seed in range(20):
        (_, masks, *_), (_, out_masks, out_labels, _) = run(seed)
        if int(out_masks.sum(0).max()) > 1:
            return False
        pasted_any |= out_masks.shape[0] != masks.shape[0] or not torch.equal(out_masks, masks)
    return pasted_any


def boxes_recomputed_from_masks() -> bool:
    """Every box is the tight box of its (updated) mask; no returned mask is empty."""
    for seed in range(20):
        _, (_, out_masks, _, boxes) = run(seed)
        for m, b in zip(out_masks.numpy(), boxes.tolist()):
            ys, xs = np.nonzero(m)
            if len(ys) == 0 or b != [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]:
                return False
    return True


# ---- properties from the paper ----------------------------------------------------------------------
def test_get_returns_the_batch_contract_function():
    assert copy_paste_batch is M.copy_paste_batch
    assert create("copy_paste").keywords["blend_sigma"] == 0.0


def test_pasted_pixels_are_the_source_pixels_at_scale_one():
    (image, masks, labels, src, src_masks, src_labels), _ = run(0)
    src, src_masks = src[:, :36, :30], src_masks[:, :36, :30]
    params = M.CopyPasteParams(scale=torch.tensor(1.0), offset=torch.tensor([2.0, 5.0]),
                               selected=torch.ones(src_masks.shape[0], dtype=torch.bool), src_size=(36, 30),
                               out_size=(40, 48))
    out, out_masks, out_labels, _ = M.apply_copy_paste(image, masks, labels, src, src_masks, src_labels, params)
    alpha = torch.zeros(40, 48, dtype=torch.bool)
    alpha[2:38, 5:35] = src_masks.any(0)
    shifted = torch.zeros_like(image)
    shifted[:, 2:38, 5:35] = src
    assert torch.allclose(out[:, alpha], shifted[:, alpha], atol=1e-5)  # I1 x alpha
    assert torch.equal(out[:, ~alpha], image[:, ~alpha])  # + I2 x (1 - alpha)
    assert torch.equal(out_labels[-src_labels.shape[0]:], src_labels)  # pasted objects keep their labels


def test_occluded_masks_lose_exactly_the_pasted_pixels_and_fully_occluded_ones_are_dropped():
    image = torch.zeros(3, 16, 16)
    masks = torch.zeros(2, 16, 16, dtype=torch.bool)
    masks[0, 2:6, 2:6] = True  # will be fully covered
    masks[1, 8:14, 0:16] = True  # will be partly covered
    src_masks = torch.zeros(1, 16, 16, dtype=torch.bool)
    src_masks[0, 0:10, 0:8] = True
    params = M.CopyPasteParams(scale=torch.tensor(1.0), offset=torch.zeros(2), selected=torch.tensor([True]),
                               src_size=(16, 16), out_size=(16, 16))
    _, out_masks, out_labels, boxes = M.apply_copy_paste(image, masks, torch.tensor([3, 4]), torch.ones(3, 16, 16),
                                                         src_masks, torch.tensor([7]), params)
    assert out_labels.tolist() == [4, 7]  # object 3 was fully occluded and removed
    assert boxes.tolist() == [[0.0, 8.0, 16.0, 14.0], [0.0, 0.0, 8.0, 10.0]]
    assert int(out_masks[0].sum()) == 6 * 16 - 2 * 8


def test_random_subset_is_uniform_over_subsets():
    sel = torch.stack([M.sample_copy_paste_params((8, 8), (8, 8), 3, torch.Generator().manual_seed(s)).selected
                       for s in range(2000)])
    codes = (sel.long() * torch.tensor([1, 2, 4])).sum(1)
    freq = torch.bincount(codes, minlength=8).float() / 2000
    assert float((freq - 1 / 8).abs().max()) < 0.04  # all 8 subsets, empty and full included


def test_lsj_crops_large_sources_and_pads_small_ones():
    for s in range(200):
        p = M.sample_copy_paste_params((32, 32), (32, 32), 0, torch.Generator().manual_seed(s))
        room = 32 - 32 * float(p.scale)
        dy, dx = p.offset.tolist()
        assert min(0.0, room) - 1 <= dy <= max(0.0, room) and min(0.0, room) - 1 <= dx <= max(0.0, room)


def test_blending_is_optional_and_smooths_the_edge():
    (image, masks, labels, src, src_masks, src_labels), (hard, *_) = run(3, p_object=1.0)
    _, (soft, *_) = run(3, p_object=1.0, blend_sigma=2.0)
    differs = (hard != soft).any(0)
    assert differs.any()
    between = ((soft - image).abs().sum(0) > 1e-3) & ((soft - hard).abs().sum(0) > 1e-3)
    assert between.any()  # blended pixels are neither the target nor the pasted value


def test_batch_wrapper_labels_are_the_pasted_area():
    g = torch.Generator().manual_seed(0)
    x = torch.arange(6.0)[:, None, None, None].expand(6, 3, 32, 32).clone()  # image i is the constant i
    y = torch.arange(6)
    params = M.sample_copy_paste_batch_params(6, 32, 32, g)
    out, soft = M.apply_copy_paste_batch(x, y, params, num_classes=6)
    moved = params.perm != y
    fraction = (out[:, 0] != x[:, 0]).flatten(1).float().mean(1)
    assert torch.allclose(soft[torch.arange(6), y][moved], 1 - fraction[moved], atol=1e-6)
    assert torch.allclose(soft.sum(1), torch.ones(6))


def test_same_seed_same_output_and_inputs_untouched():
    (image, masks, labels, src, src_masks, src_labels), a = run(4)
    clones = [t.clone() for t in (image, masks, labels, src, src_masks, src_labels)]
    _, b = run(4)
    assert all(torch.equal(u, v) for u, v in zip(a, b))
    (image, masks, *_), _ = run(4)
    assert torch.equal(image, clones[0]) and torch.equal(masks, clones[1])


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_precision_batch(dtype):
    x, y = torch.rand(4, 3, 16, 16), torch.arange(4)
    out, soft = copy_paste_batch(x.to(dtype), y, num_classes=4, generator=torch.Generator().manual_seed(0))
    ref, soft_ref = copy_paste_batch(x, y, num_classes=4, generator=torch.Generator().manual_seed(0))
    assert out.dtype == dtype and torch.allclose(out.float(), ref, atol=0.02) and torch.allclose(soft, soft_ref)


@pytest.mark.parametrize("bad", [
    dict(images=torch.rand(3, 8, 8)), dict(images=torch.randint(0, 255, (2, 3, 8, 8))),
    dict(targets=torch.tensor([0.0, 1.0])), dict(targets=torch.tensor([0, 5])), dict(generator=None),
    dict(num_classes=0), dict(scale_range=(0.0, 1.0)), dict(scale_range=(2.0, 1.0)), dict(fg_fraction=0.0),
    dict(blend_sigma=-1.0),
])
def test_bad_input_raises_value_error(bad):
    kwargs = dict(images=torch.rand(2, 3, 8, 8), targets=torch.tensor([0, 1]), num_classes=5,
                  generator=torch.Generator().manual_seed(0))
    kwargs.update(bad)
    with pytest.raises(ValueError):
        copy_paste_batch(kwargs.pop("images"), kwargs.pop("targets"), **kwargs)


def test_bad_instances_raise_value_error():
    image, masks, labels = scene(0)
    g = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError):  # masks not bool
        M.copy_paste(image, masks.float(), labels, image, masks, labels, generator=g)
    with pytest.raises(ValueError):  # labels do not match masks
        M.copy_paste(image, masks, labels[:-1], image, masks, labels, generator=g)
    with pytest.raises(ValueError):  # channel mismatch
        M.copy_paste(image, masks, labels, image[:1], masks, labels, generator=g)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_masks_stay_disjoint():
    image, masks, labels = scene(0)
    src, src_masks, src_labels = scene(1)
    out = M.copy_paste(image.cuda(), masks.cuda(), labels.cuda(), src.cuda(), src_masks.cuda(), src_labels.cuda(),
                       generator=torch.Generator(device="cuda").manual_seed(0), p_object=1.0)
    assert out[0].device.type == "cuda" and int(out[1].sum(0).max()) <= 1
    x, y = torch.rand(4, 3, 16, 16, device="cuda"), torch.arange(4, device="cuda")
    o, soft = copy_paste_batch(x, y, num_classes=4, generator=torch.Generator(device="cuda").manual_seed(0))
    assert torch.allclose(soft.sum(1), torch.ones(4, device="cuda"))
