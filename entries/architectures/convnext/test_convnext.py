"""What is special about ConvNeXt (the generic suite covers shapes, gradients, determinism and the claims)."""

import pytest
import torch
from torch import nn

from encyclo import create

TINY = dict(depths=(1, 1, 2, 1), dims=(8, 16, 32, 64))


def layer_scale_initial_value() -> float:
    """The initial value of the layer-scale gamma of ConvNeXt-T's 18 blocks (Sec. 3.1: 1e-6), read from the model."""
    model = create("convnext_tiny")
    gammas = torch.cat([v.flatten() for k, v in model.state_dict().items() if k.endswith("layer_scale")])
    assert gammas.numel() == 3 * 96 + 3 * 192 + 9 * 384 + 3 * 768 and bool((gammas == gammas[0]).all())
    return gammas[0].item()


def torchvision_layout(depths, dims, num_classes=1000):
    """The (key, shape) list of torchvision's ConvNeXt state_dict, written out from its module structure.

    Derived independently of convnext.py: features.0 is Conv2dNormActivation(conv 4x4/4 with bias, LayerNorm2d);
    then stages (CNBlock: layer_scale (C, 1, 1), a parameter of the block itself so it comes first, then
    block.0 depthwise 7x7 conv, block.2 LayerNorm, block.3 Linear C->4C, block.5 Linear 4C->C) alternate with
    downsampling Sequential(LayerNorm2d, Conv2d 2x2/2); classifier.0 LayerNorm2d, classifier.2 Linear.
    """
    def wb(name, w, b):
        return [(f"{name}.weight", w), (f"{name}.bias", b)]

    keys = wb("features.0.0", (dims[0], 3, 4, 4), (dims[0],)) + wb("features.0.1", (dims[0],), (dims[0],))
    index = 1
    for i, (depth, c) in enumerate(zip(depths, dims)):
        for j in range(depth):
            p = f"features.{index}.{j}"
            keys += [(f"{p}.layer_scale", (c, 1, 1))] + wb(f"{p}.block.0", (c, 1, 7, 7), (c,))
            keys += wb(f"{p}.block.2", (c,), (c,)) + wb(f"{p}.block.3", (4 * c, c), (4 * c,))
            keys += wb(f"{p}.block.5", (c, 4 * c), (c,))
        index += 1
        if i + 1 < len(depths):
            keys += wb(f"features.{index}.0", (c,), (c,)) + wb(f"features.{index}.1", (dims[i + 1], c, 2, 2), (dims[i + 1],))
            index += 1
    return keys + wb("classifier.0", (dims[-1],), (dims[-1],)) + wb("classifier.2", (num_classes, dims[-1]), (num_classes,))


def test_state_dict_is_torchvision_layout():
    for variant, depths, dims in (("convnext_tiny", (3, 3, 9, 3), (96, 192, 384, 768)),
                                  ("convnext_base", (3, 3, 27, 3), (128, 256, 512, 1024))):
        with torch.device("meta"):
            state = create(variant).state_dict()
        assert [(k, tuple(v.shape)) for k, v in state.items()] == torchvision_layout(depths, dims)


def test_torchvision_checkpoint_loads_strict(tmp_path):
    gen = torch.Generator().manual_seed(0)
    ckpt = {k: torch.randn(s, generator=gen) for k, s in torchvision_layout(TINY["depths"], TINY["dims"], 5)}
    torch.save(ckpt, tmp_path / "convnext_tiny.pth")
    model = create("convnext", num_classes=5, **TINY)
    result = model.load_state_dict(torch.load(tmp_path / "convnext_tiny.pth", weights_only=True), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert torch.equal(model.features[5][1].layer_scale, ckpt["features.5.1.layer_scale"])


def test_layer_scale_starts_blocks_near_identity():
    # Sec. 3.1: gamma = 1e-6, so every block starts as (almost) the identity: |block(x) - x| <= ~1e-6 |F(x)|.
    assert layer_scale_initial_value() == pytest.approx(1e-6)
    torch.manual_seed(0)
    block = create("convnext", **TINY).features[1][0].eval()
    x = torch.randn(2, 8, 16, 16)
    with torch.no_grad():
        branch = block.block(x)
        assert torch.allclose(block(x) - x, 1e-6 * branch, atol=1e-7)
        block.layer_scale.fill_(1.0)
        assert torch.allclose(block(x), x + branch, atol=1e-6)


def test_block_is_depthwise_7x7_then_inverted_bottleneck():
    # Fig. 4: d7x7 (groups = C) -> LN -> 1x1, 4C -> GELU -> 1x1, C; one norm and one activation per block.
    with torch.device("meta"):
        block = create("convnext_tiny").features[3][0]
    dw, ln, up, act, down = block.block[0], block.block[2], block.block[3], block.block[4], block.block[5]
    assert dw.kernel_size == (7, 7) and dw.groups == dw.in_channels == dw.out_channels == 192 and dw.padding == (3, 3)
    assert isinstance(ln, nn.LayerNorm) and isinstance(act, nn.GELU)
    assert (up.in_features, up.out_features, down.out_features) == (192, 768, 192)
    assert sum(isinstance(m, (nn.LayerNorm, nn.BatchNorm2d)) for m in block.modules()) == 1


def test_stem_and_stage_resolutions():
    # Sec. 2.2: patchify stem 4x4 / 4; Sec. 2.6: 2x2 / 2 downsampling between stages -> 56, 28, 14, 7 at 224.
    with torch.device("meta"):
        model = create("convnext_small")
        x = torch.randn(1, 3, 224, 224)
    shapes = []
    for i, layer in enumerate(model.features):
        x = layer(x)
        if i in (1, 3, 5, 7):
            shapes.append(tuple(x.shape))
    assert shapes == [(1, 96, 56, 56), (1, 192, 28, 28), (1, 384, 14, 14), (1, 768, 7, 7)]
    assert sum(len(model.features[i]) for i in (1, 3, 5, 7)) == 36


def test_layernorm2d_equals_groupnorm_free_channel_layernorm():
    # LayerNorm2d normalises each pixel over its channels: equal to F.layer_norm on the channels-last view.
    torch.manual_seed(0)
    ln = create("convnext", **TINY).features[2][0]
    nn.init.normal_(ln.weight)
    nn.init.normal_(ln.bias)
    x = torch.randn(2, 8, 5, 7)
    mean, var = x.mean(1, keepdim=True), x.var(1, unbiased=False, keepdim=True)
    expected = (x - mean) / torch.sqrt(var + 1e-6) * ln.weight[:, None, None] + ln.bias[:, None, None]
    assert torch.allclose(ln(x), expected, atol=1e-5)


def test_stochastic_depth_only_in_training():
    torch.manual_seed(0)
    model = create("convnext", num_classes=3, stochastic_depth_prob=0.5, **TINY)
    probs = [b.stochastic_depth_prob for i in (1, 3, 5, 7) for b in model.features[i]]
    assert probs[0] == 0.0 and probs[-1] == pytest.approx(0.5) and probs == sorted(probs)  # linear in depth
    x = torch.randn(4, 3, 64, 64)
    model.eval()
    assert torch.equal(model(x), model(x))
    plain = create("convnext", num_classes=3, **TINY).eval()
    plain.load_state_dict(model.state_dict())
    assert torch.equal(plain(x), model(x))


def test_overfits_a_tiny_batch():
    torch.manual_seed(0)
    model = create("convnext", num_classes=4, layer_scale=1.0, **TINY)
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


def test_any_input_size():
    torch.manual_seed(0)
    model = create("convnext", num_classes=7, **TINY).eval()
    assert model.forward_features(torch.randn(1, 3, 64, 96)).shape == (1, 64, 2, 3)
    assert model(torch.randn(2, 3, 45, 70)).shape == (2, 7)
    assert create("convnext", in_chans=1, num_classes=2, **TINY)(torch.randn(1, 1, 32, 32)).shape == (1, 2)


def test_invalid_arguments_are_rejected():
    with pytest.raises(ValueError, match="same non-zero length"):
        create("convnext", depths=(3, 3, 9), dims=(96, 192, 384, 768))
    with pytest.raises(ValueError, match="stochastic_depth_prob"):
        create("convnext", stochastic_depth_prob=1.5, **TINY)
    with pytest.raises(ValueError, match="expected input"):
        create("convnext", **TINY)(torch.randn(1, 1, 32, 32))
