"""What is special about Ghost Batch Normalization (the generic suite covers shapes, gradients and claims)."""

import pytest
import torch

from encyclo import create


def _randomize_affine(m: torch.nn.Module, gen: torch.Generator) -> None:
    with torch.no_grad():
        m.weight.copy_(torch.randn(m.weight.shape, generator=gen, dtype=m.weight.dtype))
        m.bias.copy_(torch.randn(m.bias.shape, generator=gen, dtype=m.bias.dtype))


def _compare_with_sequential_bn(n: int, vbs: int, momentum, steps: int, seed: int, c: int = 8) -> bool:
    """Ghost BN vs torch.nn.BatchNorm2d applied to torch.split(x, vbs) one chunk after the other."""
    gen = torch.Generator().manual_seed(seed)
    gbn = create("ghost_batchnorm", channels=c, virtual_batch_size=vbs, momentum=momentum).double()
    _randomize_affine(gbn, gen)
    bn = torch.nn.BatchNorm2d(c, momentum=momentum).double()
    bn.load_state_dict(gbn.state_dict())
    ok = True
    for step in range(steps):
        x = (step + 1) * torch.randn(n, c, 4, 3, generator=gen, dtype=torch.float64) + step
        ref = torch.cat([bn(chunk) for chunk in torch.split(x, vbs)])
        ok &= bool((gbn(x) - ref).abs().max() < 1e-12)
    for key, value in bn.state_dict().items():
        ok &= bool((gbn.state_dict()[key].double() - value.double()).abs().max() < 1e-12)
    gbn.eval()
    bn.eval()
    x = torch.randn(3, c, 4, 3, generator=gen, dtype=torch.float64)
    return ok and bool((gbn(x) - bn(x)).abs().max() < 1e-12)


def equals_batchnorm_when_one_ghost_batch() -> bool:
    """|B_S| >= N: one ghost batch, i.e. Batch Norm (outputs, running statistics, eval outputs)."""
    return _compare_with_sequential_bn(n=16, vbs=16, momentum=0.1, steps=3, seed=0) and \
        _compare_with_sequential_bn(n=6, vbs=16, momentum=0.1, steps=3, seed=1)


def ghost_batch_moments_are_zero_and_one() -> list[bool]:
    """Each ghost batch of 4 samples, per channel, has mean 0 and mean square 1 after normalization (eps = 0)."""
    gen = torch.Generator().manual_seed(2)
    ramp = torch.arange(1, 9, dtype=torch.float64).reshape(1, 8, 1, 1)
    shift = torch.arange(12, dtype=torch.float64).reshape(12, 1, 1, 1)  # ghost batches with different statistics
    x = torch.randn(12, 8, 5, 4, generator=gen, dtype=torch.float64) * ramp + shift
    gbn = create("ghost_batchnorm", channels=8, virtual_batch_size=4, eps=0.0).double()
    ghosts = gbn(x).detach().reshape(3, 4, 8, 20)
    mean = ghosts.mean(dim=(1, 3))
    second = ghosts.square().mean(dim=(1, 3))
    return [bool(mean.abs().max() < 1e-12), bool((second - 1).abs().max() < 1e-12)]


def matches_sequential_batchnorm_per_ghost_batch() -> bool:
    """Authors' code: the chunks of a large batch go through Batch Norm in turn. N = 10, |B_S| = 3 (3, 3, 3, 1)."""
    return _compare_with_sequential_bn(n=10, vbs=3, momentum=0.1, steps=3, seed=3)


def test_claims_measure_the_paper_figures():
    assert equals_batchnorm_when_one_ghost_batch() is True
    assert ghost_batch_moments_are_zero_and_one() == [True, True]
    assert matches_sequential_batchnorm_per_ghost_batch() is True


@pytest.mark.parametrize("n,vbs", [(8, 2), (8, 4), (9, 4), (7, 3), (5, 1)])
@pytest.mark.parametrize("momentum", [0.1, 0.7, None])
def test_matches_sequential_batchnorm(n, vbs, momentum):
    assert _compare_with_sequential_bn(n=n, vbs=vbs, momentum=momentum, steps=2, seed=4)


def test_gradients_match_sequential_batchnorm():
    gen = torch.Generator().manual_seed(5)
    gbn = create("ghost_batchnorm", channels=4, virtual_batch_size=3).double()
    _randomize_affine(gbn, gen)
    bn = torch.nn.BatchNorm2d(4).double()
    bn.load_state_dict(gbn.state_dict())
    x = torch.randn(8, 4, 3, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    g = torch.randn(8, 4, 3, 3, generator=gen, dtype=torch.float64)
    ours = torch.autograd.grad((gbn(x) * g).sum(), (x, gbn.weight, gbn.bias))
    ref = torch.autograd.grad((torch.cat([bn(c) for c in torch.split(x, 3)]) * g).sum(), (x, bn.weight, bn.bias))
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


def test_a_sample_only_depends_on_its_own_ghost_batch():
    gen = torch.Generator().manual_seed(6)
    gbn = create("ghost_batchnorm", channels=4, virtual_batch_size=2)
    x = torch.randn(6, 4, 3, 3, generator=gen)
    other = x.clone()
    other[2:] = 50 * torch.randn(4, 4, 3, 3, generator=gen)  # change every other ghost batch
    torch.testing.assert_close(gbn(x)[:2], gbn(other)[:2], rtol=0, atol=1e-6)
    assert (gbn(x)[2:] - gbn(other)[2:]).abs().max() > 0.1


def test_state_dict_loads_from_torch_batchnorm():
    bn = torch.nn.BatchNorm2d(8)
    bn(torch.randn(4, 8, 3, 3) * 2 + 1)
    gbn = create("ghost_batchnorm", channels=8, virtual_batch_size=2)
    gbn.load_state_dict(bn.state_dict())
    gbn.eval()
    bn.eval()
    x = torch.randn(2, 8, 5, 5)
    torch.testing.assert_close(gbn(x), bn(x), rtol=1e-6, atol=1e-6)


def test_fully_connected_inputs():
    gen = torch.Generator().manual_seed(7)
    gbn = create("ghost_batchnorm", channels=6, virtual_batch_size=4).double()
    bn = torch.nn.BatchNorm1d(6).double()
    x = torch.randn(12, 6, generator=gen, dtype=torch.float64)
    torch.testing.assert_close(gbn(x), torch.cat([bn(c) for c in torch.split(x, 4)]), rtol=1e-12, atol=1e-12)


def test_low_precision_inputs_follow_float32_statistics():
    gen = torch.Generator().manual_seed(8)
    x = torch.randn(8, 32, 6, 6, generator=gen) * 3 + 5
    expected = create("ghost_batchnorm", channels=32, virtual_batch_size=4)(x)
    for dtype in (torch.bfloat16, torch.float16):
        gbn = create("ghost_batchnorm", channels=32, virtual_batch_size=4)
        y = gbn(x.to(dtype))
        assert y.dtype == dtype and gbn.running_var.dtype == torch.float32
        torch.testing.assert_close(y.float(), expected, rtol=0, atol=0.05)


def test_invalid_arguments_raise_value_error():
    with pytest.raises(ValueError, match="channels"):
        create("ghost_batchnorm", channels=0)
    with pytest.raises(ValueError, match="virtual_batch_size"):
        create("ghost_batchnorm", channels=4, virtual_batch_size=0)
    with pytest.raises(ValueError, match="momentum"):
        create("ghost_batchnorm", channels=4, momentum=1.5)
    gbn = create("ghost_batchnorm", channels=4, virtual_batch_size=2)
    with pytest.raises(ValueError, match=r"\(N, 4, \*\)"):
        gbn(torch.randn(2, 3, 5, 5))
    with pytest.raises(ValueError, match="last ghost batch"):
        gbn(torch.randn(3, 4, 1, 1))  # ghost batches of 2 and 1 sample; the last has one value per channel
    gbn.eval()(torch.randn(1, 4, 1, 1))  # fine at inference
