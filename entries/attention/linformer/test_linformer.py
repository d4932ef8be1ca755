"""What is special about Linformer (the generic suite covers shapes, gradients and claims).

Checks: the module is Eq. 7 written per head with its E_i, F_i; shorter sequences use the first L columns of
E and F; longer ones are refused; with k = n and E = F = I it is exactly softmax multi-head attention; the
sharing levels own the parameters they should; the cost is linear in L at fixed k.
"""

import pytest
import torch
import torch.nn.functional as F

from encyclo import create
from encyclo.measure.counting import count_ops


def _macs(length: int, d: int = 512, k: int = 256, seq_len: int = 4096) -> int:
    return count_ops(lambda: create("linformer", dim=d, k=k, seq_len=seq_len),
                     lambda device: (torch.randn(1, length, d, device=device),), per_module=False).macs


def macs_ratio_when_L_doubles() -> float:
    """Claim: MACs at L = 2048 over MACs at L = 1024 (D = 512, k = 256, seq_len = 4096)."""
    return _macs(2048) / _macs(1024)


def _eq7(m, x):
    """Eq. 7 literally, head by head: softmax(Q_i (E_i K_i)^T / sqrt(d)) F_i V_i, concatenated, W^O."""
    n, length, d = x.shape
    h, dh = m.num_heads, m.head_dim
    heads = []
    for i in range(h):
        rows = slice(i * dh, (i + 1) * dh)
        q = x @ m.q_proj.weight[rows].T + m.q_proj.bias[rows]
        k = x @ m.k_proj.weight[rows].T + m.k_proj.bias[rows]
        v = x @ m.v_proj.weight[rows].T + m.v_proj.bias[rows]
        e = m.E[i if m.E.shape[0] > 1 else 0, :, :length]
        f = e if m.F is None else m.F[i if m.F.shape[0] > 1 else 0, :, :length]
        p = torch.softmax(q @ (e @ k).transpose(-2, -1) / dh**0.5, -1)  # (N, L, k) context mapping P-bar
        heads.append(p @ (f @ v))
    return m.out_proj(torch.cat(heads, -1))


@pytest.mark.parametrize("sharing", ["none", "headwise", "kv"])
def test_module_is_eq7_per_head(sharing):
    torch.manual_seed(0)
    m = create("linformer", dim=32, seq_len=20, k=6, num_heads=4, sharing=sharing).double().eval()
    x = torch.randn(2, 20, 32, dtype=torch.float64)
    torch.testing.assert_close(m(x), _eq7(m, x))


def test_shorter_sequences_use_the_first_columns_and_longer_ones_are_refused():
    torch.manual_seed(0)
    m = create("linformer", dim=32, seq_len=50, k=8, num_heads=4).double().eval()
    x = torch.randn(2, 30, 32, dtype=torch.float64)
    short = create("linformer", dim=32, seq_len=30, k=8, num_heads=4).double().eval()
    short.load_state_dict({**m.state_dict(), "E": m.E[:, :, :30], "F": m.F[:, :, :30]})
    torch.testing.assert_close(m(x), short(x))
    torch.testing.assert_close(m(x), _eq7(m, x))
    with pytest.raises(ValueError, match="seq_len"):
        m(torch.randn(1, 51, 32, dtype=torch.float64))


def test_identity_projections_give_softmax_attention():
    # With k = n and E = F = I the projection is a no-op: Eq. 7 reduces to standard multi-head attention.
    torch.manual_seed(0)
    m = create("linformer", dim=32, seq_len=12, k=12, num_heads=4).double().eval()
    with torch.no_grad():
        m.E.copy_(torch.eye(12)[None])
        m.F.copy_(torch.eye(12)[None])
    x = torch.randn(2, 12, 32, dtype=torch.float64)
    split = lambda t: t.view(2, 12, 4, 8).transpose(1, 2)  # noqa: E731
    q, k, v = split(m.q_proj(x)), split(m.k_proj(x)), split(m.v_proj(x))
    expected = m.out_proj(F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(2, 12, 32))
    torch.testing.assert_close(m(x), expected)


def test_sharing_levels():
    none = create("linformer", dim=64, seq_len=100, k=10, num_heads=4, sharing="none")
    head = create("linformer", dim=64, seq_len=100, k=10, num_heads=4, sharing="headwise")
    kv = create("linformer", dim=64, seq_len=100, k=10, num_heads=4, sharing="kv")
    assert none.E.shape == none.F.shape == (4, 10, 100)
    assert head.E.shape == head.F.shape == (1, 10, 100)
    assert kv.F is None and kv.E.shape == (1, 10, 100)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    base = 4 * 64 * 64 + 4 * 64
    assert (count(none), count(head), count(kv)) == (base + 8000, base + 2000, base + 1000)


def test_cost_is_linear_in_length_at_fixed_k():
    macs = [_macs(n, d=64, k=16, seq_len=1000) for n in (100, 200, 400)]
    assert macs[1] == 2 * macs[0] and macs[2] == 2 * macs[1]
    softmax = [count_ops(lambda: create("multi_head_attention", dim=64, num_heads=8),
                         lambda device, n=n: (torch.randn(1, n, 64, device=device),), per_module=False).macs
               for n in (100, 200)]
    assert softmax[1] > 2 * softmax[0]


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="sharing"):
        create("linformer", dim=32, sharing="layerwise")
    with pytest.raises(ValueError, match="divide"):
        create("linformer", dim=30, num_heads=8)
    with pytest.raises(ValueError):
        create("linformer", dim=32, k=0)
    with pytest.raises(ValueError):
        create("linformer", dim=32, seq_len=64)(torch.randn(2, 5, 16))
