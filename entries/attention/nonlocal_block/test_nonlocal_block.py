"""What is special about the non-local block (the generic suite covers shapes, gradients and claims)."""

import pytest
import torch

from encyclo import create


def max_abs_change_at_init() -> float:
    """Sec. 3.3: with the BN scale initialised to zero, z = x exactly, in train and in eval mode."""
    torch.manual_seed(0)
    block = create("nonlocal_block", channels=64)
    x = torch.randn(2, 64, 16, 16)
    with torch.no_grad():
        return max(float((block.train()(x) - x).abs().max()), float((block.eval()(x) - x).abs().max()))


def reference(block: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Eqs. 1, 3 and 6 written out literally with the module's weights: explicit exp and normaliser."""
    n, c, h, w = x.shape
    theta = block.theta(x).flatten(2)  # (N, C', HW)
    phi = block.phi(x).flatten(2)
    g = block.g(x).flatten(2)
    f = torch.exp(theta.transpose(1, 2) @ phi)  # f(x_i, x_j) = exp(theta_i^T phi_j): (N, HW, HW)
    y = (f / f.sum(-1, keepdim=True)) @ g.transpose(1, 2)  # (1 / C(x)) sum_j f g_j
    y = y.transpose(1, 2).reshape(n, -1, h, w)
    return block.bn(block.W_z(y)) + x


def _trained_looking(block: torch.nn.Module) -> torch.nn.Module:
    """Give the block non-trivial weights (BN scale 1, larger convs) so that the branch is not zero."""
    torch.manual_seed(1)
    block.reset_parameters(zero_init=False)
    for m in block.modules():
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.normal_(m.weight, std=0.2)
    if hasattr(block, "w_f"):
        torch.nn.init.normal_(block.w_f, std=1.0)
    return block.eval()


def test_embedded_gaussian_is_eq3_softmax_without_scale():
    block = _trained_looking(create("nonlocal_block", channels=16))
    x = torch.randn(2, 16, 5, 7)
    with torch.no_grad():
        assert torch.allclose(block(x), reference(block, x), atol=1e-5)
        block.scaled = True  # the authors' code default: logits / sqrt(C') differ from Eq. 3
        assert not torch.allclose(block(x), reference(block, x), atol=1e-3)


def test_dot_product_normalises_by_number_of_positions():
    # Eq. 4: f = theta^T phi, C(x) = N; so y is linear in g with weights summing to sum_j f / N.
    block = _trained_looking(create("nonlocal_block", channels=8, mode="dot_product"))
    x = torch.randn(1, 8, 4, 6)
    with torch.no_grad():
        theta, phi, g = (m(x).flatten(2) for m in (block.theta, block.phi, block.g))
        y = (theta.transpose(1, 2) @ phi / 24) @ g.transpose(1, 2)
        expected = block.bn(block.W_z(y.transpose(1, 2).reshape(1, -1, 4, 6))) + x
        assert torch.allclose(block(x), expected, atol=1e-5)


def test_gaussian_mode_has_no_embeddings():
    block = create("nonlocal_block", channels=32, mode="gaussian")
    assert not hasattr(block, "theta") and not hasattr(block, "phi")  # Eq. 2 uses x_i^T x_j


@pytest.mark.parametrize("mode", ["embedded_gaussian", "gaussian", "dot_product", "concatenation"])
def test_every_mode_is_non_local(mode):
    # Eq. 1: the response at one position depends on the input at distant positions (outside any 3x3 conv).
    block = _trained_looking(create("nonlocal_block", channels=8, mode=mode))
    x = torch.randn(1, 8, 9, 9, requires_grad=True)
    block(x)[0, :, 0, 0].sum().backward()
    assert x.grad[0, :, 4:, 4:].abs().sum() > 0


def test_inter_channels_halve_c():
    block = create("nonlocal_block", channels=64)
    assert block.theta.out_channels == block.phi.out_channels == block.g.out_channels == 32  # Sec. 3.3


def test_sub_sample_pools_keys_and_values_only():
    block = _trained_looking(create("nonlocal_block", channels=8, sub_sample=True))
    x = torch.randn(1, 8, 6, 6)
    with torch.no_grad():
        pooled = torch.nn.functional.max_pool2d(x, 2)
        theta = block.theta(x).flatten(2).transpose(1, 2)  # queries at all 36 positions
        phi, g = block.phi(pooled).flatten(2), block.g(pooled).flatten(2).transpose(1, 2)  # 9 keys
        y = torch.softmax(theta @ phi, -1) @ g
        expected = block.bn(block.W_z(y.transpose(1, 2).reshape(1, -1, 6, 6))) + x
        assert torch.allclose(block(x), expected, atol=1e-5)


def test_plugs_into_resnet18_attention_slot():
    torch.manual_seed(0)
    model = create("resnet18", attention="nonlocal_block", num_classes=10)
    x = torch.randn(2, 3, 64, 64)
    out = model(x)
    assert out.shape == (2, 10)
    out.square().mean().backward()
    grads = [p.grad for n, p in model.named_parameters() if ".attn." in n]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="mode"):
        create("nonlocal_block", channels=8, mode="cosine")
    with pytest.raises(ValueError, match="expected input"):
        create("nonlocal_block", channels=8)(torch.randn(1, 4, 3, 3))
    with pytest.raises(ValueError, match="sub_sample"):
        create("nonlocal_block", channels=8, sub_sample=True)(torch.randn(1, 8, 1, 5))
