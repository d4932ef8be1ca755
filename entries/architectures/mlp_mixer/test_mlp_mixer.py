"""What is special about MLP-Mixer (the generic suite covers shapes, gradients, determinism and the claims)."""

import pytest
import torch
from torch import nn

from encyclo import create

TINY = dict(image_size=32, patch_size=8, num_blocks=2, hidden_dim=32, tokens_mlp_dim=16, channels_mlp_dim=64)


def patches_of_mixer_b16() -> int:
    """Number of patches S the token-mixing MLPs of Mixer-B/16 act on at 224 x 224 (Table 1: 196)."""
    with torch.device("meta"):
        model = create("mixer_b16")
        tokens = model.forward_features(torch.randn(1, 3, 224, 224))
    assert model.blocks[0].mlp_tokens.fc1.in_features == tokens.shape[1]
    return tokens.shape[1]


def timm_layout(num_blocks, c, s, ds, dc, patch, num_classes=1000):
    """(key, shape) list of timm's MlpMixer state_dict: stem.proj, blocks.i.{norm1, mlp_tokens.fc1/fc2, norm2,
    mlp_channels.fc1/fc2}, norm, head (written out independently of mlp_mixer.py)."""
    def wb(name, w, b):
        return [(f"{name}.weight", w), (f"{name}.bias", b)]

    keys = wb("stem.proj", (c, 3, patch, patch), (c,))
    for i in range(num_blocks):
        p = f"blocks.{i}"
        keys += wb(f"{p}.norm1", (c,), (c,)) + wb(f"{p}.mlp_tokens.fc1", (ds, s), (ds,))
        keys += wb(f"{p}.mlp_tokens.fc2", (s, ds), (s,)) + wb(f"{p}.norm2", (c,), (c,))
        keys += wb(f"{p}.mlp_channels.fc1", (dc, c), (dc,)) + wb(f"{p}.mlp_channels.fc2", (c, dc), (c,))
    return keys + wb("norm", (c,), (c,)) + wb("head", (num_classes, c), (num_classes,))


def test_state_dict_is_timm_layout():
    with torch.device("meta"):
        state = create("mixer_b16").state_dict()
    assert [(k, tuple(v.shape)) for k, v in state.items()] == timm_layout(12, 768, 196, 384, 3072, 16)


def test_table1_sequence_lengths():
    assert patches_of_mixer_b16() == 196
    for variant, s in (("mixer_s32", 49), ("mixer_h14", 256)):
        with torch.device("meta"):
            assert create(variant).seq_len == s


def test_token_mixing_is_shared_across_channels():
    # Sec. 2: the token-mixing MLP acts on every column (channel) of the S x C table with the same weights, so
    # permuting channels commutes with it (parameter tying; Sec. 2 compares it to a depthwise convolution).
    torch.manual_seed(0)
    mlp = create("mlp_mixer", **TINY).blocks[0].mlp_tokens
    x = torch.randn(2, 32, 16)  # (N, C, S): the token MLP sees rows of length S
    perm = torch.randperm(32)
    assert torch.allclose(mlp(x[:, perm]), mlp(x)[:, perm], atol=1e-6)


def test_channel_mixing_is_shared_across_patches():
    # The channel-mixing half of a Mixer layer acts on every row (patch) alike: permuting patches commutes with it,
    # while the token-mixing half does not (it is what gives the model its sensitivity to patch positions).
    torch.manual_seed(0)
    block = create("mlp_mixer", **TINY).blocks[0].eval()
    x = torch.randn(2, 16, 32)  # (N, S, C)
    perm = torch.randperm(16)
    channel_half = lambda t: t + block.mlp_channels(block.norm2(t))
    assert torch.allclose(channel_half(x[:, perm]), channel_half(x)[:, perm], atol=1e-6)
    assert not torch.allclose(block(x[:, perm]), block(x)[:, perm], atol=1e-3)


def test_cost_is_linear_in_the_number_of_patches():
    # Sec. 2: "the computational complexity of the network is linear in the number of input patches" (D_S, D_C
    # fixed), unlike ViT's quadratic attention. MACs per patch are constant up to the head.
    from torch.utils.flop_counter import FlopCounterMode

    def macs(size):
        with torch.device("meta"):
            model = create("mlp_mixer", num_classes=0, image_size=size, patch_size=16, num_blocks=2, hidden_dim=64,
                           tokens_mlp_dim=32, channels_mlp_dim=128)
        counter = FlopCounterMode(display=False)
        with counter:
            model(torch.randn(1, 3, size, size, device="meta"))
        return counter.get_total_flops() // 2

    per_patch = [macs(s) / (s // 16) ** 2 for s in (64, 128, 256)]
    assert per_patch[0] == per_patch[1] == per_patch[2]


def test_no_classifier_head_with_zero_classes():
    model = create("mlp_mixer", num_classes=0, **TINY).eval()
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 32)
    assert not any(k.startswith("head") for k in model.state_dict())


def test_overfits_a_tiny_batch():
    torch.manual_seed(0)
    model = create("mlp_mixer", num_classes=4, **TINY)
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


def test_invalid_arguments_and_inputs_are_rejected():
    with pytest.raises(ValueError, match="divisible by patch_size"):
        create("mlp_mixer", image_size=100)
    with pytest.raises(ValueError, match="num_classes"):
        create("mlp_mixer", num_classes=-1, **TINY)
    model = create("mlp_mixer", **TINY)
    with pytest.raises(ValueError, match="built for 32x32"):
        model(torch.randn(1, 3, 64, 64))
    with pytest.raises(ValueError, match="expected input"):
        model(torch.randn(1, 1, 32, 32))
