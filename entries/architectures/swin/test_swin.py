"""What is special about Swin (the generic suite covers shapes, gradients, determinism and the claims)."""

import pytest
import torch
from torch import nn

from encyclo import create, module

TINY = dict(embed_dim=16, depths=(2, 2), num_heads=(1, 2), window_size=4)


def head_dim_of_every_block() -> int:
    """The per-head query dimension d = C / heads of every block of Swin-B (Sec. 3.3: d = 32)."""
    with torch.device("meta"):
        model = create("swin_b")
    dims = {blk.attn.qkv.in_features // blk.attn.num_heads for blk in model.modules() if hasattr(blk, "attn")}
    assert len(dims) == 1
    return dims.pop()


def torchvision_layout(embed_dim, depths, window=7, num_classes=1000):
    """The (key, shape) list of torchvision's SwinTransformer (v1) state_dict, from its module structure.

    Derived independently of swin.py: features.0 = (Conv2d, Permute, LayerNorm); each stage holds
    SwinTransformerBlock(norm1, attn = ShiftedWindowAttention whose own parameter
    relative_position_bias_table and buffer relative_position_index come before its children qkv and proj,
    norm2, mlp = torchvision MLP with linears at 0 and 3); PatchMerging(reduction (no bias), norm); then norm
    and head.
    """
    def wb(name, w, b):
        return [(f"{name}.weight", w), (f"{name}.bias", b)]

    c = embed_dim
    keys = wb("features.0.0", (c, 3, 4, 4), (c,)) + wb("features.0.2", (c,), (c,))
    index = 1
    for i, depth in enumerate(depths):
        dim, heads = c * 2 ** i, c * 2 ** i // 32
        for j in range(depth):
            p = f"features.{index}.{j}"
            keys += wb(f"{p}.norm1", (dim,), (dim,))
            keys += [(f"{p}.attn.relative_position_bias_table", ((2 * window - 1) ** 2, heads)),
                     (f"{p}.attn.relative_position_index", (window ** 4,))]
            keys += wb(f"{p}.attn.qkv", (3 * dim, dim), (3 * dim,)) + wb(f"{p}.attn.proj", (dim, dim), (dim,))
            keys += wb(f"{p}.norm2", (dim,), (dim,)) + wb(f"{p}.mlp.0", (4 * dim, dim), (4 * dim,))
            keys += wb(f"{p}.mlp.3", (dim, 4 * dim), (dim,))
        index += 1
        if i + 1 < len(depths):
            keys += [(f"features.{index}.reduction.weight", (2 * dim, 4 * dim))] + wb(f"features.{index}.norm", (4 * dim,), (4 * dim,))
            index += 1
    last = c * 2 ** (len(depths) - 1)
    return keys + wb("norm", (last,), (last,)) + wb("head", (num_classes, last), (num_classes,))


def test_state_dict_is_torchvision_layout():
    for variant, c, depths in (("swin_t", 96, (2, 2, 6, 2)), ("swin_b", 128, (2, 2, 18, 2))):
        with torch.device("meta"):
            state = create(variant).state_dict()
        assert [(k, tuple(v.shape)) for k, v in state.items()] == torchvision_layout(c, depths)


def test_torchvision_checkpoint_loads_strict(tmp_path):
    gen = torch.Generator().manual_seed(0)
    ckpt = {k: torch.randn(s, generator=gen) for k, s in torchvision_layout(32, (2, 2), window=4, num_classes=5)}
    fresh = create("swin", num_classes=5, embed_dim=32, depths=(2, 2), num_heads=(1, 2), window_size=4)
    ckpt = {k: (fresh.state_dict()[k] if k.endswith("relative_position_index") else v) for k, v in ckpt.items()}
    torch.save(ckpt, tmp_path / "swin_tiny.pth")
    result = fresh.load_state_dict(torch.load(tmp_path / "swin_tiny.pth", weights_only=True), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert torch.equal(fresh.features[2].reduction.weight, ckpt["features.2.reduction.weight"])


def test_relative_position_index_addresses_the_bias_table():
    # Sec. 3.2: offsets along each axis lie in [-M+1, M-1]; B^ has (2M-1)^2 entries, row-major over (dy, dx).
    m = 7
    index = module("swin").relative_position_index(m).view(m * m, m * m)
    ys, xs = torch.arange(m * m) // m, torch.arange(m * m) % m
    dy, dx = ys[:, None] - ys[None, :], xs[:, None] - xs[None, :]
    assert torch.equal(index, (dy + m - 1) * (2 * m - 1) + (dx + m - 1))
    assert index.min() == 0 and index.max() == (2 * m - 1) ** 2 - 1 and index.unique().numel() == (2 * m - 1) ** 2


def _authors_mask(h, w, m, s):
    """The shift mask as the authors' code builds it: label 9 slices of the padded map, then compare labels."""
    img = torch.zeros(h, w)
    count = 0
    for hs in (slice(0, -m), slice(-m, -s), slice(-s, None)):
        for ws in (slice(0, -m), slice(-m, -s), slice(-s, None)):
            img[hs, ws] = count
            count += 1
    win = img.view(h // m, m, w // m, m).permute(0, 2, 1, 3).reshape(-1, m * m)
    diff = win[:, None, :] - win[:, :, None]
    return diff.masked_fill(diff != 0, -100.0).masked_fill(diff == 0, 0.0)


def test_shift_mask_equals_the_authors_construction():
    make = module("swin").shift_attention_mask
    for h, w in ((14, 14), (21, 14), (56, 28)):
        assert torch.equal(make(h, w, 7, 3, 3, torch.device("cpu")), _authors_mask(h, w, 7, 3))


def test_cyclic_shift_with_mask_equals_shifted_window_partition():
    # Sec. 3.2 / Fig. 4: cyclic shift + masking computes exactly the shifted partition (windows displaced by
    # (M/2, M/2), smaller windows at the borders). Reference: dense attention over all tokens where a pair may
    # attend only if both lie in the same displaced window, with B looked up from the true offset.
    torch.manual_seed(0)
    m, s, h, w, c, heads = 4, 2, 8, 12, 8, 2
    attn = module("swin").ShiftedWindowAttention(c, m, s, heads).eval()
    x = torch.randn(2, h, w, c)
    ys, xs = torch.arange(h).repeat_interleave(w), torch.arange(w).repeat(h)
    group = ((ys - s) // m + 1) * 100 + ((xs - s) // m + 1)  # displaced-window id of every token
    same = group[:, None] == group[None, :]
    dy, dx = ys[:, None] - ys[None, :], xs[:, None] - xs[None, :]
    bias = attn.relative_position_bias_table[((dy + m - 1).clamp(0, 2 * m - 2) * (2 * m - 1)
                                              + (dx + m - 1).clamp(0, 2 * m - 2))].permute(2, 0, 1)  # (heads, L, L)
    with torch.no_grad():
        tokens = x.reshape(2, h * w, c)
        q, k, v = attn.qkv(tokens).view(2, h * w, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
        logits = q @ k.transpose(-2, -1) * (c // heads) ** -0.5 + bias
        logits = logits.masked_fill(~same, float("-inf"))
        ref = attn.proj((logits.softmax(-1) @ v).transpose(1, 2).reshape(2, h * w, c)).view(2, h, w, c)
        assert torch.allclose(attn(x), ref, atol=1e-5)


def test_blocks_alternate_regular_and_shifted_windows():
    with torch.device("meta"):
        model = create("swin_s")
    for i, depth in zip((1, 3, 5, 7), (2, 2, 18, 2)):
        shifts = [blk.attn.shift_size for blk in model.features[i]]
        assert len(shifts) == depth and shifts == [0, 3] * (depth // 2)


def test_hierarchical_stage_shapes():
    # Fig. 3a: H/4 x W/4 x C, H/8 x 2C, H/16 x 4C, H/32 x 8C (channels last inside the network).
    with torch.device("meta"):
        model = create("swin_t")
        x = torch.randn(1, 3, 224, 224)
    shapes = []
    for i, layer in enumerate(model.features):
        x = layer(x)
        if i in (1, 3, 5, 7):
            shapes.append(tuple(x.shape))
    assert shapes == [(1, 56, 56, 96), (1, 28, 28, 192), (1, 14, 14, 384), (1, 7, 7, 768)]


def test_patch_merging_concatenates_2x2_neighbours():
    merge = module("swin").PatchMerging(1)
    x = torch.arange(16.0).view(1, 4, 4, 1)
    with torch.no_grad():
        merge.norm.weight.fill_(1.0)
        merge.norm.bias.zero_()
    captured = {}
    merge.norm.register_forward_hook(lambda mod, inp, out: captured.setdefault("in", inp[0]))
    assert merge(x).shape == (1, 2, 2, 2)
    assert captured["in"][0, 0, 0].tolist() == [0.0, 4.0, 1.0, 5.0]  # x0 (0,0), x1 (1,0), x2 (0,1), x3 (1,1)


def test_overfits_a_tiny_batch():
    torch.manual_seed(0)
    model = create("swin", num_classes=4, **TINY)
    x, y = torch.randn(8, 3, 32, 32), torch.arange(8) % 4
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(10):
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0], losses


def test_any_input_size_and_low_precision():
    torch.manual_seed(0)
    model = create("swin", num_classes=3, **TINY).eval()
    for shape in ((1, 3, 32, 32), (2, 3, 45, 70), (1, 3, 4, 4)):
        assert model(torch.randn(shape)).shape == (shape[0], 3)
    out = model.to(torch.bfloat16)(torch.randn(2, 3, 36, 36, dtype=torch.bfloat16))
    assert out.dtype == torch.bfloat16 and torch.isfinite(out).all()


def test_invalid_arguments_are_rejected():
    with pytest.raises(ValueError, match="same non-zero length"):
        create("swin", depths=(2, 2), num_heads=(3, 6, 12))
    with pytest.raises(ValueError, match="divisible by num_heads"):
        create("swin", embed_dim=10, depths=(2,), num_heads=(3,))
    with pytest.raises(ValueError, match="expected input"):
        create("swin", **TINY)(torch.randn(1, 1, 32, 32))
