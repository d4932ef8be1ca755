"""What is special about Switchable Normalization (the generic suite covers shapes, gradients and claims)."""

import pytest
import torch

from encyclo import create


def _select(sn: torch.nn.Module, index: int) -> None:
    """Put every importance weight on normalizer `index` (0: IN, 1: LN, 2: BN): softmax([-inf, ..., 0, ...])."""
    with torch.no_grad():
        for p in (sn.mean_weight, sn.var_weight):
            p.fill_(float("-inf"))
            p[index] = 0.0


def _randomize_affine(m: torch.nn.Module, gen: torch.Generator) -> None:
    with torch.no_grad():
        m.weight.copy_(torch.randn(m.weight.shape, generator=gen, dtype=m.weight.dtype))
        m.bias.copy_(torch.randn(m.bias.shape, generator=gen, dtype=m.bias.dtype))


def equals_batchnorm_when_weights_select_bn() -> bool:
    """w_bn = w'_bn = 1: SN's training output is Batch Norm's (torch.nn.BatchNorm2d, same gamma, beta, eps)."""
    gen = torch.Generator().manual_seed(0)
    sn = create("switchable_norm", channels=8).double()
    _select(sn, 2)
    _randomize_affine(sn, gen)
    bn = torch.nn.BatchNorm2d(8, eps=sn.eps).double()
    with torch.no_grad():
        bn.weight.copy_(sn.weight)
        bn.bias.copy_(sn.bias)
    ok = True
    for step in range(3):
        x = (step + 1) * torch.randn(4, 8, 5, 6, generator=gen, dtype=torch.float64) + 2 * step - 1
        ok &= bool((sn(x) - bn(x)).abs().max() < 1e-12)
    return ok


def extremes_equal_in_and_ln() -> list[bool]:
    """All weight on IN == InstanceNorm2d; all weight on LN == GroupNorm(1, C) (LN over C, H, W)."""
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(3, 8, 5, 4, generator=gen, dtype=torch.float64) * torch.arange(1, 9).reshape(1, 8, 1, 1) + 2
    results = []
    for index, ref in ((0, torch.nn.InstanceNorm2d(8, affine=True)), (1, torch.nn.GroupNorm(1, 8))):
        sn = create("switchable_norm", channels=8).double()
        _select(sn, index)
        _randomize_affine(sn, gen)
        ref = ref.double()
        with torch.no_grad():
            ref.weight.copy_(sn.weight)
            ref.bias.copy_(sn.bias)
        results.append(bool((sn(x) - ref(x)).abs().max() < 1e-12))
    return results


def initial_importance_weights() -> list[float]:
    sn = create("switchable_norm", channels=8)
    return torch.softmax(sn.mean_weight.detach().double(), 0).tolist()


def test_claims_measure_the_paper_figures():
    assert equals_batchnorm_when_weights_select_bn() is True
    assert extremes_equal_in_and_ln() == [True, True]
    assert initial_importance_weights() == pytest.approx([1 / 3] * 3, abs=1e-12)


def test_matches_equation_3_written_out_with_direct_statistics():
    # Eq. 2-3 with every statistic computed directly from the input (no reuse of the IN statistics).
    gen = torch.Generator().manual_seed(2)
    sn = create("switchable_norm", channels=6).double()
    _randomize_affine(sn, gen)
    with torch.no_grad():
        sn.mean_weight.copy_(torch.randn(3, generator=gen, dtype=torch.float64))
        sn.var_weight.copy_(torch.randn(3, generator=gen, dtype=torch.float64))
    x = torch.randn(4, 6, 5, 3, generator=gen, dtype=torch.float64) * 2 + 1
    stats = {k: (x.mean(dim=d, keepdim=True), x.var(dim=d, unbiased=False, keepdim=True))
             for k, d in (("in", (2, 3)), ("ln", (1, 2, 3)), ("bn", (0, 2, 3)))}
    w = torch.softmax(sn.mean_weight, 0)
    v = torch.softmax(sn.var_weight, 0)
    mean = sum(w[i] * stats[k][0] for i, k in enumerate(("in", "ln", "bn")))
    var = sum(v[i] * stats[k][1] for i, k in enumerate(("in", "ln", "bn")))
    expected = sn.weight.reshape(1, 6, 1, 1) * (x - mean) / torch.sqrt(var + sn.eps) + sn.bias.reshape(1, 6, 1, 1)
    torch.testing.assert_close(sn(x), expected, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(sn.running_mean, 0.1 * stats["bn"][0].reshape(6), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(sn.running_var, 0.9 + 0.1 * stats["bn"][1].reshape(6), rtol=1e-12, atol=1e-12)


def test_inference_uses_running_bn_statistics():
    gen = torch.Generator().manual_seed(3)
    sn = create("switchable_norm", channels=4, momentum=None).double()
    _select(sn, 2)
    batches = [torch.randn(4, 4, 3, 3, generator=gen, dtype=torch.float64) * (k + 1) + k for k in range(4)]
    for b in batches:
        sn(b)  # momentum=None: the plain average over batches ("batch average")
    means = torch.stack([b.mean(dim=(0, 2, 3)) for b in batches]).mean(0)
    variances = torch.stack([b.var(dim=(0, 2, 3), unbiased=False) for b in batches]).mean(0)
    torch.testing.assert_close(sn.running_mean, means, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(sn.running_var, variances, rtol=1e-12, atol=1e-12)
    sn.eval()
    x = torch.randn(2, 4, 3, 3, generator=gen, dtype=torch.float64)
    expected = (x - means.reshape(1, 4, 1, 1)) / torch.sqrt(variances.reshape(1, 4, 1, 1) + sn.eps)
    torch.testing.assert_close(sn(x), expected, rtol=1e-12, atol=1e-12)


def test_importance_weights_receive_gradients():
    sn = create("switchable_norm", channels=8)
    x = torch.randn(4, 8, 5, 5) * torch.linspace(0.5, 3, 8).reshape(1, 8, 1, 1)
    (sn(x) * torch.randn_like(x)).sum().backward()
    assert sn.mean_weight.grad.abs().sum() > 0 and sn.var_weight.grad.abs().sum() > 0


def test_without_bn_is_batch_independent():
    gen = torch.Generator().manual_seed(4)
    sn = create("switchable_norm", channels=6, using_bn=False)
    assert sum(p.numel() for p in sn.parameters()) == 2 * 6 + 2 * 2
    x = torch.randn(4, 6, 5, 5, generator=gen)
    torch.testing.assert_close(sn(x[:1]), sn(x)[:1], rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(sn.train()(x), sn.eval()(x), rtol=0, atol=0)


def test_low_precision_inputs_follow_float32_statistics():
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(4, 32, 6, 6, generator=gen) * 3 + 5
    expected = create("switchable_norm", channels=32)(x)
    for dtype in (torch.bfloat16, torch.float16):
        sn = create("switchable_norm", channels=32)
        y = sn(x.to(dtype))
        assert y.dtype == dtype and sn.running_var.dtype == torch.float32
        torch.testing.assert_close(y.float(), expected, rtol=0, atol=0.05)


def test_invalid_arguments_raise_value_error():
    with pytest.raises(ValueError, match="channels"):
        create("switchable_norm", channels=0)
    with pytest.raises(ValueError, match="momentum"):
        create("switchable_norm", channels=4, momentum=1.5)
    sn = create("switchable_norm", channels=4)
    with pytest.raises(ValueError, match=r"\(N, 4, H, W\)"):
        sn(torch.randn(2, 3, 5, 5))
    with pytest.raises(ValueError, match=r"\(N, 4, H, W\)"):
        sn(torch.randn(2, 4))
    with pytest.raises(ValueError, match="floating-point"):
        sn(torch.ones(2, 4, 5, 5, dtype=torch.long))
