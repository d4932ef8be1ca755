"""What is special about Polarized Self-Attention (the generic suite covers shapes, gradients and claims)."""

import pytest
import torch

from encyclo import create


def branches_are_polarized() -> bool:
    """A_ch is one gate per channel (C x 1 x 1), A_sp one gate per position (1 x H x W), as Sec. 3 defines them."""
    torch.manual_seed(0)
    psa = create("polarized_self_attention", channels=64).eval()
    x = torch.randn(2, 64, 9, 7)
    with torch.no_grad():
        a_ch, a_sp = psa.channel_attention(x), psa.spatial_attention(x)
        channel_part = x * a_ch
        spatial_part = x * a_sp
        channel_const_over_space = torch.allclose(channel_part / x, a_ch.expand_as(x), atol=1e-5)
        spatial_const_over_channels = torch.allclose(spatial_part / x, a_sp.expand_as(x), atol=1e-5)
    return (a_ch.shape == (2, 64, 1, 1) and a_sp.shape == (2, 1, 9, 7)
            and channel_const_over_space and spatial_const_over_channels)


def _shuffle(x: torch.Tensor, perm: torch.Tensor) -> torch.Tensor:
    return x.flatten(2)[:, :, perm].reshape_as(x)


def test_parallel_is_sum_of_the_two_branches():
    torch.manual_seed(0)
    psa = create("psa", channels=32)
    x = torch.randn(2, 32, 6, 5)
    with torch.no_grad():
        expected = x * psa.channel_attention(x) + x * psa.spatial_attention(x)
        assert torch.allclose(psa(x), expected, atol=1e-6)


def test_sequential_applies_spatial_after_channel():
    torch.manual_seed(0)
    psa = create("psa", channels=32, layout="sequential")
    x = torch.randn(2, 32, 6, 5)
    with torch.no_grad():
        y = x * psa.channel_attention(x)
        assert torch.allclose(psa(x), y * psa.spatial_attention(y), atol=1e-6)


def test_channel_gate_is_permutation_invariant_and_spatial_gate_equivariant():
    # Both branches pool over all positions with a softmax (or a mean): no position is special.
    torch.manual_seed(0)
    psa = create("psa", channels=16)
    x = torch.randn(1, 16, 5, 5)
    perm = torch.randperm(25)
    with torch.no_grad():
        assert torch.allclose(psa.channel_attention(_shuffle(x, perm)), psa.channel_attention(x), atol=1e-5)
        assert torch.allclose(psa.spatial_attention(_shuffle(x, perm)), _shuffle(psa.spatial_attention(x), perm),
                              atol=1e-6)


def test_spatial_gate_is_sigmoid_of_a_softmax_over_positions():
    # Enhancement (Sec. 3): softmax over the H x W positions, then sigmoid, so sigmoid^-1 sums to 1.
    torch.manual_seed(0)
    psa = create("psa", channels=16)
    with torch.no_grad():
        a_sp = psa.spatial_attention(torch.randn(3, 16, 4, 6)).double()
    assert torch.allclose(torch.logit(a_sp).sum(dim=(1, 2, 3)), torch.ones(3, dtype=torch.double), atol=1e-4)


def test_internal_resolution_is_half_the_channels():
    psa = create("psa", channels=64)
    assert psa.ch_wv.out_channels == psa.sp_wq.out_channels == psa.sp_wv.out_channels == 32
    assert psa.ch_wq.out_channels == 1 and psa.ch_wz.out_channels == 64


def test_plugs_into_resnet18_attention_slot():
    torch.manual_seed(0)
    model = create("resnet18", attention="polarized_self_attention", num_classes=10)
    out = model(torch.randn(2, 3, 64, 64))
    assert out.shape == (2, 10)
    out.square().mean().backward()
    grads = [p.grad for n, p in model.named_parameters() if ".attn." in n]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="layout"):
        create("psa", channels=8, layout="mixed")
    with pytest.raises(ValueError, match="channels"):
        create("psa", channels=1)
    with pytest.raises(ValueError, match="expected input"):
        create("psa", channels=8)(torch.randn(1, 4, 3, 3))
