"""What is special about ECA (the generic suite covers shapes, gradients and claims)."""

import math
import sys

import pytest
import torch

from encyclo import UnknownEntryError, create, entry, get

RESNET_WIDTHS = [64, 128, 256, 512, 1024, 2048]
RELEASED_K = {256: 3, 512: 5, 1024: 5, 2048: 7}  # eca_resnet50_k3557, the authors' released ECA-Net50


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def eca_kernel_sizes() -> list[int]:
    """Eq. 12: the adaptive kernel size the module picks at each ResNet width."""
    return [create("eca", channels=c).kernel_size for c in RESNET_WIDTHS]


def eca_resnet50_extra_params() -> int:
    """Abstract: parameters that ECA adds to ResNet-50, with the released model's k = 3, 5, 5, 7."""
    eca_r50 = create("resnet50", attention=lambda c: create("eca", channels=c, kernel_size=RELEASED_K[c]))
    return count(eca_r50) - count(create("resnet50"))


def eca_resnet50_extra_params_adaptive() -> int:
    """Abstract: parameters that ECA adds to ResNet-50, with k from Eq. 12 in every block."""
    return count(create("resnet50", attention="eca")) - count(create("resnet50"))


def _needs_resnet50() -> None:
    try:
        entry("resnet50")
    except UnknownEntryError:
        pytest.skip("no resnet50 entry registered")


@pytest.mark.parametrize("channels, k", [
    (1, 1), (2, 1), (8, 3), (16, 3), (32, 3), (64, 3),
    (128, 5),  # t = 4 exactly: even, rounded up to 5 (Fig. 3 code)
    (256, 5),  # t = 4.5 -> int 4 -> 5
    (512, 5), (1024, 5),  # t = 5, 5.5 -> 5
    (2048, 7),  # t = 6 -> 7
    (4096, 7), (8192, 7),
])
def test_kernel_size_follows_eq12(channels, k):
    assert create("eca", channels=channels).kernel_size == k


def test_kernel_size_is_the_odd_neighbour_of_the_mapping():
    eca_kernel_size = sys.modules[get("eca").__module__].eca_kernel_size  # the helper beside the class
    previous = 1
    for c in range(1, 5000):
        k = eca_kernel_size(c)
        t = (math.log2(c) + 1) / 2  # Eq. 12 before rounding, gamma = 2, b = 1
        assert k % 2 == 1 and abs(k - t) <= 1.0 + 1e-9
        assert k >= previous  # wider layers never get a shorter kernel
        previous = k
    assert eca_kernel_size(64, gamma=1, b=0) == 7  # log2(64) = 6 -> 7


def test_no_dimensionality_reduction():
    # Sec. 3.2: one k-tap kernel maps the C-vector to C gates directly: k weights, no bias, no hidden layer.
    eca = create("eca", channels=512)
    assert [tuple(p.shape) for p in eca.parameters()] == [(1, 1, eca.kernel_size)]
    assert eca.conv.bias is None


def test_fixed_kernel_size_overrides_eq12():
    eca = create("eca", channels=256, kernel_size=9)
    assert eca.kernel_size == 9 and count(eca) == 9
    with pytest.raises(ValueError, match="odd"):
        create("eca", channels=256, kernel_size=4)


def test_interaction_is_local_to_k_neighbours():
    # Eq. 9: the gate of channel i sees only channels i - k//2 .. i + k//2.
    torch.manual_seed(0)
    eca = create("eca", channels=64, kernel_size=5)  # random, non-zero taps
    x = torch.rand(1, 64, 4, 4) + 0.5
    c = 30
    x2 = x.clone()
    x2[:, c] += 1.0
    with torch.no_grad():
        changed = ((eca(x) / x) - (eca(x2) / x2)).abs().flatten(2).amax(-1)[0] > 1e-7
    assert changed.nonzero().flatten().tolist() == list(range(c - 2, c + 3))


def test_gate_is_a_shared_convolution_of_the_gap_descriptor():
    # Eq. 9: omega_i = sigmoid(sum_j w_j y_{i+j-k//2}), one kernel for all channels, zero padding at the ends.
    torch.manual_seed(0)
    eca = create("eca", channels=32, kernel_size=3)
    x = torch.rand(2, 32, 5, 6) + 0.5
    y = x.mean(dim=(2, 3))  # GAP
    w = eca.conv.weight.view(3)
    padded = torch.nn.functional.pad(y, (1, 1))
    logits = w[0] * padded[:, :-2] + w[1] * padded[:, 1:-1] + w[2] * padded[:, 2:]
    with torch.no_grad():
        assert torch.allclose(eca(x), x * torch.sigmoid(logits)[:, :, None, None], atol=1e-6)


def test_gate_depends_only_on_the_spatial_mean():
    torch.manual_seed(0)
    eca = create("eca", channels=16)
    x = torch.randn(1, 16, 6, 6)
    shuffled = x.flatten(2)[:, :, torch.randperm(36)].reshape_as(x)
    with torch.no_grad():
        assert torch.allclose(eca(x) / x, eca(shuffled) / shuffled, atol=1e-5)


def test_resnet50_extra_params():
    _needs_resnet50()
    assert eca_resnet50_extra_params() == 3 * 3 + 4 * 5 + 6 * 5 + 3 * 7 == 80  # the paper's figure
    assert eca_resnet50_extra_params_adaptive() == 3 * 5 + 4 * 5 + 6 * 5 + 3 * 7 == 86  # Eq. 12 everywhere
