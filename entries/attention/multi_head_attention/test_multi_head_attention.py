"""What is special about multi-head self-attention (the generic suite covers shapes, gradients and claims).

Parity: against torch's independent ``torch.nn.MultiheadAttention`` with the weights copied.
"""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from encyclo import create

SHAPES = [(1, 1, 8, 1), (2, 7, 16, 4), (3, 20, 64, 8), (2, 13, 48, 12)]  # (N, L, D, h)


def default_num_heads() -> int:
    """Claim: h of the module built with the entry's defaults (the base model's h = 8)."""
    return create("multi_head_attention", dim=512).num_heads


def head_dim_at_base() -> int:
    """Claim: d_k = d_model / h of the module at d_model = 512 with the defaults."""
    return create("multi_head_attention", dim=512).head_dim


def _pair(d: int, h: int, dtype: torch.dtype, bias: bool = True):
    torch.manual_seed(0)
    ref = nn.MultiheadAttention(d, h, bias=bias, batch_first=True, dtype=dtype).eval()
    with torch.no_grad():  # non-zero biases, so a mis-mapped bias would show
        for p in ref.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    ours = create("multi_head_attention", dim=d, num_heads=h, bias=bias).to(dtype).eval().load_from_torch(ref)
    return ours, ref


def _tokens(n: int, length: int, d: int, dtype: torch.dtype) -> torch.Tensor:
    return torch.randn(n, length, d, generator=torch.Generator().manual_seed(1), dtype=dtype)


TOLS = [(torch.float32, 1e-5), (torch.float64, 1e-12)]


@pytest.mark.parametrize("dtype,tol", TOLS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("bias", [True, False])
def test_matches_torch_multihead_attention(shape, dtype, tol, bias):
    n, length, d, h = shape
    ours, ref = _pair(d, h, dtype, bias)
    x = _tokens(n, length, d, dtype)
    expected, _ = ref(x, x, x, need_weights=False)
    torch.testing.assert_close(ours(x), expected, atol=tol, rtol=tol)


@pytest.mark.parametrize("dtype,tol", TOLS)
@pytest.mark.parametrize("shape", SHAPES[1:])
def test_matches_torch_with_padding_and_causal_masks(shape, dtype, tol):
    n, length, d, h = shape
    ours, ref = _pair(d, h, dtype)
    x = _tokens(n, length, d, dtype)
    pad = torch.zeros(n, length, dtype=torch.bool)
    pad[0, length // 2 + 1:] = True  # the first sequence is padded (True = padding, as in torch)
    future = torch.ones(length, length, dtype=torch.bool).triu(1)  # torch: True = not allowed
    with torch.no_grad():
        expected, _ = ref(x, x, x, key_padding_mask=pad, need_weights=False)
        torch.testing.assert_close(ours(x, key_padding_mask=pad), expected, atol=tol, rtol=tol)
        expected, _ = ref(x, x, x, attn_mask=future, need_weights=False)
        torch.testing.assert_close(ours(x, causal=True), expected, atol=tol, rtol=tol)
        torch.testing.assert_close(ours(x, attn_mask=future), expected, atol=tol, rtol=tol)
        expected, _ = ref(x, x, x, key_padding_mask=pad, attn_mask=future, need_weights=False)
        torch.testing.assert_close(ours(x, key_padding_mask=pad, causal=True), expected, atol=tol, rtol=tol)
        bias = torch.randn(n * h, length, length, dtype=dtype)  # per-head additive mask
        expected, _ = ref(x, x, x, attn_mask=bias, need_weights=False)
        torch.testing.assert_close(ours(x, attn_mask=bias), expected, atol=tol, rtol=tol)


def test_to_torch_round_trip():
    ours = create("multi_head_attention", dim=32, num_heads=4).eval()
    ref = ours.to_torch()
    assert isinstance(ref, nn.MultiheadAttention) and ref.batch_first
    x = _tokens(2, 9, 32, torch.float32)
    torch.testing.assert_close(ours(x), ref(x, x, x, need_weights=False)[0], atol=1e-5, rtol=1e-5)
    back = create("multi_head_attention", dim=32, num_heads=4).eval().load_from_torch(ref)
    for a, b in zip(ours.state_dict().values(), back.state_dict().values()):
        assert torch.equal(a, b)


def test_heads_are_eq1_on_slices_of_the_projections():
    # Sec. 3.2.2: head_i = Attention(X W^Q_i, X W^K_i, X W^V_i), then Concat(head_1..h) W^O; written with a loop
    # over heads (reference only), against the batched module.
    d, h = 24, 3
    m = create("multi_head_attention", dim=d, num_heads=h).double().eval()
    x = _tokens(2, 6, d, torch.float64)
    dk = d // h
    heads = []
    for i in range(h):
        rows = slice(i * dk, (i + 1) * dk)
        q = x @ m.q_proj.weight[rows].T + m.q_proj.bias[rows]
        k = x @ m.k_proj.weight[rows].T + m.k_proj.bias[rows]
        v = x @ m.v_proj.weight[rows].T + m.v_proj.bias[rows]
        heads.append(torch.softmax(q @ k.transpose(1, 2) / dk ** 0.5, dim=-1) @ v)  # Eq. 1
    expected = m.out_proj(torch.cat(heads, dim=-1))
    torch.testing.assert_close(m(x), expected)


def test_one_head_is_projected_scaled_dot_product_attention():
    # With h = 1 and identity projections, MultiHead reduces to Eq. 1 on the tokens themselves.
    d = 16
    m = create("multi_head_attention", dim=d, num_heads=1, bias=False).double()
    with torch.no_grad():
        for proj in (m.q_proj, m.k_proj, m.v_proj, m.out_proj):
            proj.weight.copy_(torch.eye(d))
    x = _tokens(2, 5, d, torch.float64)
    sdpa = create("scaled_dot_product_attention", dim=d).double()
    torch.testing.assert_close(m(x), sdpa(x))


def test_macs_do_not_depend_on_the_number_of_heads():
    # Sec. 3.2.2: "due to the reduced dimension of each head, the total computational cost is similar to that
    # of single-head attention with full dimensionality" -- in MACs it is identical.
    # encyclo's counter (torch's FlopCounterMode alone misses CPU SDPA, see design.md Sec. 5).
    from encyclo.measure.counting import count_ops

    macs = [count_ops(lambda h=h: create("multi_head_attention", dim=64, num_heads=h),
                      lambda device: (torch.randn(1, 50, 64, device=device),), per_module=False).macs
            for h in (1, 4, 16)]
    assert macs[0] == macs[1] == macs[2] == 4 * 50 * 64 ** 2 + 2 * 50 ** 2 * 64


def test_causal_output_ignores_the_future():
    m = create("multi_head_attention", dim=32, num_heads=4).eval()
    x = _tokens(1, 10, 32, torch.float32)
    changed = x.clone()
    changed[:, 6:] = torch.randn(1, 4, 32)
    torch.testing.assert_close(m(changed, causal=True)[:, :6], m(x, causal=True)[:, :6])


def test_dropout_acts_only_in_training():
    m = create("multi_head_attention", dim=32, num_heads=4, dropout=0.5)
    x = _tokens(2, 16, 32, torch.float32)
    m.eval()
    torch.testing.assert_close(m(x), m(x))
    m.train()
    torch.manual_seed(0)
    a = m(x)
    assert not torch.allclose(a, m.eval()(x))


def test_initialisation_matches_torch_statistics():
    # The paper states no initialisation; the module initialises as torch.nn.MultiheadAttention.
    torch.manual_seed(0)
    ours = create("multi_head_attention", dim=256, num_heads=8)
    ref = nn.MultiheadAttention(256, 8, batch_first=True)
    bound = (6.0 / (256 + 3 * 256)) ** 0.5
    assert ours.q_proj.weight.abs().max() <= bound and ref.in_proj_weight.abs().max() <= bound
    assert abs(ours.v_proj.weight.std().item() - ref.in_proj_weight.std().item()) < 2e-3
    assert not ours.q_proj.bias.detach().any() and not ours.out_proj.bias.detach().any()


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="divide"):
        create("multi_head_attention", dim=30, num_heads=8)
    with pytest.raises(ValueError):
        create("multi_head_attention", dim=32, dropout=1.5)
    m = create("multi_head_attention", dim=32, num_heads=4)
    with pytest.raises(ValueError):
        m(torch.randn(2, 5, 16))
    with pytest.raises(ValueError):
        m(torch.randn(2, 5, 32), key_padding_mask=torch.zeros(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError):
        m.load_from_torch(nn.MultiheadAttention(32, 8, batch_first=True))
    with pytest.raises(ValueError):
        m.load_from_torch(nn.MultiheadAttention(32, 4, bias=False, batch_first=True))


def test_fused_kernel_equals_eq1_written_out():
    # The module calls F.scaled_dot_product_attention; check it against Eq. 1 with an explicit softmax.
    m = create("multi_head_attention", dim=32, num_heads=4).double().eval()
    x = _tokens(2, 9, 32, torch.float64)
    q, k, v = (p(x).view(2, 9, 4, 8).transpose(1, 2) for p in (m.q_proj, m.k_proj, m.v_proj))
    heads = torch.softmax(q @ k.transpose(-2, -1) / 8 ** 0.5, dim=-1) @ v
    torch.testing.assert_close(m(x), m.out_proj(heads.transpose(1, 2).reshape(2, 9, 32)))
    torch.testing.assert_close(F.scaled_dot_product_attention(q, k, v), heads)


class _TorchSelfAttention(torch.nn.Module):
    """torch.nn.MultiheadAttention as self-attention on (N, L, D), returning only the output."""

    def __init__(self, dim: int, num_heads: int, bias: bool, dropout: float):
        super().__init__()
        self.mha = torch.nn.MultiheadAttention(dim, num_heads, dropout=dropout, bias=bias, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mha(x, x, x, need_weights=False)[0]


def torch_reference(dim: int, num_heads: int = 8, bias: bool = True, dropout: float = 0.0) -> torch.nn.Module:
    """torch.nn.MultiheadAttention from the same arguments (bench times it beside this entry)."""
    return _TorchSelfAttention(dim, num_heads, bias, dropout)
