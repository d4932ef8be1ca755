"""What is special about the dual attention block (the generic suite covers shapes, gradients and claims)."""

import pytest
import torch

from encyclo import create


def max_abs_change_at_init() -> float:
    """alpha = beta = 0 at initialisation (Sec. 3.2-3.3): y = x exactly."""
    torch.manual_seed(0)
    block = create("danet", channels=512)
    x = torch.randn(2, 512, 8, 8)
    with torch.no_grad():
        return float((block(x) - x).abs().max())


def _with_scales(block: torch.nn.Module, gamma: float, beta: float) -> torch.nn.Module:
    with torch.no_grad():
        block.gamma.fill_(gamma)
        block.beta.fill_(beta)
    return block.eval()


def test_position_attention_is_eq1_eq2():
    torch.manual_seed(0)
    block = _with_scales(create("danet", channels=32), 1.0, 0.0)
    x = torch.randn(2, 32, 5, 6)
    with torch.no_grad():
        b = block.pam.query(x).flatten(2)  # (N, C', HW)
        c = block.pam.key(x).flatten(2)
        d = block.pam.value(x).flatten(2)
        e = torch.exp(b.transpose(1, 2) @ c)  # exp(B_i . C_j) at [j, i] -> [query, key]
        s = e / e.sum(-1, keepdim=True)  # Eq. 1: softmax over i for each j
        expected = (d @ s.transpose(1, 2)).view_as(x) + x  # Eq. 2 with alpha = 1
        assert torch.allclose(block(x), expected, atol=1e-5)


@pytest.mark.parametrize("energy,sign", [("paper", 1.0), ("official", -1.0)])
def test_channel_attention_eq3_and_official_variant(energy, sign):
    torch.manual_seed(0)
    block = _with_scales(create("danet", channels=16, channel_energy=energy), 0.0, 1.0)
    x = torch.randn(1, 16, 4, 4) * 0.3
    with torch.no_grad():
        a = x.flatten(2)
        attn = torch.softmax(sign * (a @ a.transpose(1, 2)), -1)  # official: max - energy == -energy up to a shift
        expected = (attn @ a).view_as(x) + x  # Eq. 4 with beta = 1
        assert torch.allclose(block(x), expected, atol=1e-5)


def test_channel_attention_has_no_parameters():
    assert sum(p.numel() for p in create("danet", channels=64).cam.parameters()) == 0


def test_block_is_pam_plus_cam_modules_on_one_skip():
    # E_pos = alpha PAM + x (Eq. 2), E_chn = beta CAM + x (Eq. 4); the block returns E_pos + E_chn - x.
    torch.manual_seed(0)
    block = _with_scales(create("danet", channels=16), 0.7, -0.4)
    x = torch.randn(2, 16, 6, 5)
    with torch.no_grad():
        e_pos = 0.7 * block.pam(x) + x
        e_chn = -0.4 * block.cam(x) + x
        assert torch.allclose(block(x), e_pos + e_chn - x, atol=1e-5)


def test_position_attention_is_global():
    torch.manual_seed(0)
    block = _with_scales(create("danet", channels=16), 1.0, 0.0)
    x = torch.randn(1, 16, 9, 9, requires_grad=True)
    block(x)[0, :, 0, 0].sum().backward()
    assert x.grad[0, :, 6:, 6:].abs().sum() > 0


def test_plugs_into_resnet18_attention_slot():
    torch.manual_seed(0)
    model = create("resnet18", attention="danet", num_classes=10)
    out = model(torch.randn(2, 3, 64, 64))
    assert out.shape == (2, 10)
    out.square().mean().backward()
    grads = [p.grad for n, p in model.named_parameters() if ".attn." in n]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="channel_energy"):
        create("danet", channels=16, channel_energy="negated")
    with pytest.raises(ValueError, match="expected input"):
        create("danet", channels=16)(torch.randn(1, 8, 3, 3))
