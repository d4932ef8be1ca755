"""What is special about Nystromformer (the generic suite covers shapes, gradients and claims).

Checks: the iterative pseudo-inverse converges to torch.linalg.pinv; landmarks are segment means; the
module is the Nystrom formula F~ A~^+ B~ V per head; the error against exact softmax attention falls as the
number of landmarks grows and vanishes when every token is a landmark; the cost is affine (linear) in L.
"""

import pytest
import torch
import torch.nn.functional as F

from encyclo import create, module
from encyclo.measure.counting import count_ops


def _macs(length: int, d: int = 512, h: int = 8, m: int = 64, conv: int | None = 33) -> int:
    return count_ops(lambda: create("nystromformer", dim=d, num_heads=h, num_landmarks=m, conv_kernel_size=conv),
                     lambda device: (torch.randn(1, length, d, device=device),), per_module=False).macs


def macs_increment_ratio() -> float:
    """Claim: (MACs(4096) - MACs(2048)) / (MACs(2048) - MACs(1024)) at D = 512, h = 8, m = 64: 2 for a cost
    affine in L (the m x m pseudo-inverse is a constant term)."""
    a, b, c = (_macs(n) for n in (1024, 2048, 4096))
    return (c - b) / (b - a)


def _error(m: int) -> float:
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 2, 256, 32, generator=g, dtype=torch.float64) * 0.6 for _ in range(3))
    approx = module("nystromformer").nystrom_attention(q, k, v, num_landmarks=m)
    return float((approx - F.scaled_dot_product_attention(q, k, v)).abs().mean())


def error_decreases_with_landmarks() -> bool:
    """Claim: mean |Nystrom - softmax attention| at L = 256 falls strictly for m = 8, 32, 128 and is 0 at m = L."""
    errs = [_error(m) for m in (8, 32, 128)]
    return all(a > b for a, b in zip(errs, errs[1:])) and _error(256) < 1e-12


def test_iterative_pinv_converges_to_pinv():
    pinv = module("nystromformer").iterative_pinv
    g = torch.Generator().manual_seed(0)
    a = torch.softmax(4 * torch.eye(16, dtype=torch.float64) + 0.5 * torch.randn(3, 16, 16, generator=g,
                                                                                 dtype=torch.float64), -1)
    assert (pinv(a, 6) - torch.linalg.pinv(a)).abs().max() < 1e-10  # 6 iterations suffice when well conditioned
    assert (pinv(a, 2) - torch.linalg.pinv(a)).abs().max() > 1e-3  # and it is an iteration, not a closed form
    b = torch.softmax(torch.randn(4, 8, 8, generator=g, dtype=torch.float64), -1)
    torch.testing.assert_close(pinv(b, 30), torch.linalg.pinv(b))


def test_landmarks_are_segment_means():
    seg = module("nystromformer").segment_means
    x = torch.randn(2, 3, 12, 5)
    torch.testing.assert_close(seg(x, 4), x.view(2, 3, 4, 3, 5).mean(-2))  # m divides L: the paper's means
    y = torch.arange(10.0)[:, None]
    torch.testing.assert_close(seg(y, 4)[:, 0], torch.tensor([1.0, 3.5, 6.0, 8.5]))  # sizes 3, 2, 3, 2


def test_module_is_nystrom_formula_per_head():
    torch.manual_seed(0)
    m = create("nystromformer", dim=32, num_heads=4, num_landmarks=5, conv_kernel_size=None,
               pinv_iterations=40).double().eval()  # converged iteration == exact pinv
    x = torch.randn(2, 40, 32, dtype=torch.float64)
    heads = []
    for i in range(4):
        rows = slice(8 * i, 8 * i + 8)
        q = (x @ m.q_proj.weight[rows].T + m.q_proj.bias[rows]) / 8**0.5
        k = x @ m.k_proj.weight[rows].T + m.k_proj.bias[rows]
        v = x @ m.v_proj.weight[rows].T + m.v_proj.bias[rows]
        ql, kl = q.view(2, 5, 8, 8).mean(2), k.view(2, 5, 8, 8).mean(2)
        f_, a_, b_ = (torch.softmax(s, -1) for s in (q @ kl.mT, ql @ kl.mT, ql @ k.mT))
        heads.append(f_ @ torch.linalg.pinv(a_) @ b_ @ v)
    torch.testing.assert_close(m(x), m.out_proj(torch.cat(heads, -1)), atol=1e-6, rtol=1e-6)


def test_conv_skip_is_depthwise_on_v():
    torch.manual_seed(0)
    m = create("nystromformer", dim=32, num_heads=4, num_landmarks=64, conv_kernel_size=3).double().eval()
    assert m.conv.weight.shape == (4, 1, 3, 1)
    x = torch.randn(1, 10, 32, dtype=torch.float64)  # L <= m: the attention part is exact softmax attention
    v = m.v_proj(x).view(1, 10, 4, 8).transpose(1, 2)
    q, k = (p(x).view(1, 10, 4, 8).transpose(1, 2) for p in (m.q_proj, m.k_proj))
    w = m.conv.weight[:, 0, :, 0]  # (h, 3)
    vp = F.pad(v, (0, 0, 1, 1))
    conv = w[None, :, 0, None, None] * vp[:, :, :-2] + w[None, :, 1, None, None] * vp[:, :, 1:-1] \
        + w[None, :, 2, None, None] * vp[:, :, 2:]
    expected = m.out_proj((F.scaled_dot_product_attention(q, k, v) + conv).transpose(1, 2).reshape(1, 10, 32))
    torch.testing.assert_close(m(x), expected)


def test_error_falls_with_landmarks():
    assert error_decreases_with_landmarks()


def test_cost_is_affine_in_length():
    macs = [_macs(n, d=64, h=4, m=16) for n in (128, 256, 512)]
    assert macs[2] - macs[1] == 2 * (macs[1] - macs[0])
    assert macs[1] < 2 * macs[0] + 1  # sub-quadratic: at most twice (the pinv term is constant)


def test_any_length_and_low_precision():
    m = create("nystromformer", dim=64, num_heads=4, num_landmarks=16).eval()
    x = torch.randn(2, 101, 64, generator=torch.Generator().manual_seed(0))  # 101 is not a multiple of 16
    ref = m(x)
    assert ref.shape == x.shape and torch.isfinite(ref).all()
    for dtype in (torch.bfloat16, torch.float16):
        out = m.to(dtype)(x.to(dtype))
        assert out.dtype == dtype and torch.isfinite(out).all()
        torch.testing.assert_close(out.float(), ref, atol=5e-2, rtol=5e-2)
        m.float()


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="divide"):
        create("nystromformer", dim=30, num_heads=8)
    with pytest.raises(ValueError):
        create("nystromformer", dim=32, conv_kernel_size=4)
    with pytest.raises(ValueError):
        create("nystromformer", dim=32, num_landmarks=0)
    with pytest.raises(ValueError):
        create("nystromformer", dim=32)(torch.randn(2, 5, 16))
