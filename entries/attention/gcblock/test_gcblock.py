"""What is special about the GC block (the generic suite covers shapes, gradients and claims)."""

import pytest
import torch

from encyclo import create


def _shuffle(x: torch.Tensor, perm: torch.Tensor) -> torch.Tensor:
    return x.flatten(2)[:, :, perm].reshape_as(x)


def context_is_permutation_invariant() -> bool:
    """The context is one softmax-weighted sum over all positions: permuting the pixels leaves it unchanged."""
    torch.manual_seed(0)
    gc = create("gcblock", channels=64).eval()
    x = torch.randn(2, 64, 9, 7)
    shuffled = _shuffle(x, torch.randperm(63))
    with torch.no_grad():
        return bool(torch.allclose(gc.context_modeling(x), gc.context_modeling(shuffled), atol=1e-5))


def _trained_looking(gc: torch.nn.Module) -> torch.nn.Module:
    torch.manual_seed(1)
    torch.nn.init.normal_(gc.transform[-1].weight, std=0.1)  # undo the zero init of the last conv
    return gc.eval()


def test_context_is_softmax_attention_pooling():
    gc = create("gcblock", channels=16, reduction=4)
    x = torch.randn(2, 16, 5, 6)
    with torch.no_grad():
        alpha = torch.softmax(gc.conv_mask(x).flatten(1), dim=1)  # (N, HW)
        expected = torch.einsum("ncp,np->nc", x.flatten(2), alpha)[:, :, None, None]
        assert torch.allclose(gc.context_modeling(x), expected, atol=1e-6)


def test_fusion_adds_the_same_vector_at_every_position():
    gc = _trained_looking(create("gcblock", channels=32, reduction=4))
    x = torch.randn(2, 32, 6, 5)
    with torch.no_grad():
        delta = gc(x) - x
    assert delta.abs().max() > 0
    assert torch.allclose(delta, delta[:, :, :1, :1].expand_as(delta), atol=1e-5)


def test_output_is_permutation_equivariant():
    # Query-independent context + per-position addition: permuting pixels permutes the output.
    gc = _trained_looking(create("gcblock", channels=16, reduction=4))
    x = torch.randn(1, 16, 4, 4)
    perm = torch.randperm(16)
    with torch.no_grad():
        assert torch.allclose(gc(_shuffle(x, perm)), _shuffle(gc(x), perm), atol=1e-5)


def test_transform_is_layernormed_bottleneck():
    gc = create("gcblock", channels=256)
    conv1, ln, _, conv2 = gc.transform
    assert (conv1.in_channels, conv1.out_channels, conv2.out_channels) == (256, 16, 256)  # r = 16
    assert isinstance(ln, torch.nn.LayerNorm) and ln.normalized_shape == (16, 1, 1)


def test_starts_as_identity_with_zero_init():
    # The authors' code zero-initialises the last transform conv: with additive fusion z = x at start.
    x = torch.randn(2, 64, 7, 7)
    with torch.no_grad():
        assert torch.equal(create("gcblock", channels=64)(x), x)


def test_avg_pool_and_mul_fusion_reduce_to_se_like_block():
    gc = _trained_looking(create("gcblock", channels=16, reduction=4, pool="avg", fusion="mul"))
    x = torch.rand(2, 16, 5, 5) + 0.5
    with torch.no_grad():
        gate = gc(x) / x
    assert bool(((gate > 0) & (gate < 1)).all())
    assert torch.allclose(gate, gate[:, :, :1, :1].expand_as(gate), atol=1e-5)


def test_plugs_into_resnet18_attention_slot():
    torch.manual_seed(0)
    model = create("resnet18", attention="gcblock", num_classes=10)
    out = model(torch.randn(2, 3, 64, 64))
    assert out.shape == (2, 10)
    out.square().mean().backward()
    grads = [p.grad for n, p in model.named_parameters() if ".attn." in n]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="pool"):
        create("gcblock", channels=8, pool="max")
    with pytest.raises(ValueError, match="fusion"):
        create("gcblock", channels=8, fusion="concat")
    with pytest.raises(ValueError, match="expected input"):
        create("gcblock", channels=8)(torch.randn(1, 4, 3, 3))
