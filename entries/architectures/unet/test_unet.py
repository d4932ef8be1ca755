"""What is special about U-Net (the generic suite covers shapes, gradients, determinism and the claims)."""

import pytest
import torch
from torch import nn

from encyclo import create, module


def conv_layers() -> int:
    """Convolutions (3x3, 2x2 up-convolutions and the final 1x1) in Fig. 1's network."""
    with torch.device("meta"):
        model = create("unet_valid")
    return sum(isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) for m in model.modules())


def valid_output_side() -> int:
    """Output side of the valid-padding network on Fig. 1's 572 x 572 tile, run on the meta device."""
    with torch.device("meta"):
        model = create("unet_valid")
        out = model(torch.randn(1, 1, 572, 572))
    assert out.shape[-2] == out.shape[-1]
    return int(out.shape[-1])


def test_fig1_feature_map_sizes_and_widths():
    # Fig. 1: 572 -> 570 -> 568 | 284 -> 280 | 140 -> 136 | 68 -> 64 | 32 -> 28 (1024) | up: 56 -> 52 ... 388
    with torch.device("meta"):
        model = create("unet_valid")
        x = torch.randn(1, 1, 572, 572)
    sizes, widths = [], []
    for block in model.down:
        x = block(x)
        sizes.append(x.shape[-1])
        widths.append(x.shape[1])
        x = model.pool(x)
    x = model.bottom(x)
    assert sizes == [568, 280, 136, 64] and widths == [64, 128, 256, 512]
    assert tuple(x.shape[1:]) == (1024, 28, 28)
    ups = []
    for up in model.up:
        x = up(x)
        ups.append((x.shape[1], x.shape[-1]))
        x = torch.randn(1, x.shape[1], x.shape[-1] - 4, x.shape[-1] - 4, device="meta")  # two valid 3x3 convs
    assert ups == [(512, 56), (256, 104), (128, 200), (64, 392)]
    assert module("unet").valid_output_size(572) == 388


def test_valid_tiles_need_even_sizes_at_every_pool():
    unet = module("unet")
    assert unet.valid_output_size(570) is None  # 566 -> 283: odd before the second pool
    assert unet.valid_output_size(188) == 4  # the smallest legal tile
    with pytest.raises(ValueError, match="even"):
        create("unet_valid", base_width=2)(torch.randn(1, 1, 570, 570))


def test_copy_and_crop_takes_the_center():
    crop = module("unet").center_crop
    x = torch.arange(36.0).view(1, 1, 6, 6)
    assert torch.equal(crop(x, 2, 2), x[..., 2:4, 2:4])


def test_same_padding_keeps_any_input_size():
    model = create("unet", base_width=4)
    for h, w in ((64, 64), (37, 50), (16, 17)):
        assert model(torch.randn(1, 1, h, w)).shape == (1, 2, h, w)


def test_channels_double_down_and_halve_up():
    model = create("unet")
    assert [b[0].out_channels for b in model.down] == [64, 128, 256, 512] and model.bottom[0].out_channels == 1024
    assert [(u.in_channels, u.out_channels, u.kernel_size, u.stride) for u in model.up] == [
        (1024, 512, (2, 2), (2, 2)), (512, 256, (2, 2), (2, 2)), (256, 128, (2, 2), (2, 2)), (128, 64, (2, 2), (2, 2))]
    assert [b[0].in_channels for b in model.up_convs] == [1024, 512, 256, 128]  # after concatenation
    assert model.head.kernel_size == (1, 1) and model.head.in_channels == 64


def test_init_follows_sec3():
    torch.manual_seed(0)
    model = create("unet")
    conv = model.down[1][2]  # a 3x3 conv on 128 channels: std sqrt(2 / (9 * 128))
    assert abs(conv.weight.std().item() - (2 / (9 * 128)) ** 0.5) < 0.002


def test_overfits_a_tiny_batch():
    torch.manual_seed(0)
    model = create("unet", base_width=8, num_classes=3)
    x = torch.randn(2, 1, 32, 32)
    y = ((x > 0.5).long() + (x > 1.2).long())[:, 0]  # (N, H, W): a per-pixel labelling to memorise
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(15):
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses


def test_invalid_arguments_are_rejected():
    with pytest.raises(ValueError, match="padding"):
        create("unet", padding="reflect")
    with pytest.raises(ValueError, match="dropout"):
        create("unet", dropout=2.0)
    with pytest.raises(ValueError, match="expected input"):
        create("unet", base_width=2)(torch.randn(1, 3, 32, 32))
