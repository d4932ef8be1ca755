"""What is special about LeNet-5 (the generic suite covers shapes, gradients, determinism and the claims)."""

import pytest
import torch
from torch import nn

from encyclo import create, module

LAYERS = ("c1", "s2", "c3", "s4", "c5", "f6")


def count(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def per_layer_params() -> list[int]:
    """Trainable parameters of C1, S2, C3, S4, C5, F6 in the default (paper) model."""
    model = create("lenet5")
    return [count(getattr(model, name)) for name in LAYERS]


def _connections() -> dict[str, int]:
    """Connections per layer, counted from the built model on a 32x32 input: for every output unit, the inputs
    it reads (connected kernel taps, 2x2 window for subsampling) plus its bias, as in Sec. II.B's counts."""
    lenet = module("lenet5")
    model = create("lenet5").eval()
    shapes: dict[str, tuple[int, ...]] = {}
    hooks = [getattr(model, n).register_forward_hook(lambda m, i, o, n=n: shapes.__setitem__(n, tuple(o.shape)))
             for n in (*LAYERS, "output")]
    with torch.no_grad():
        model(torch.zeros(1, 1, 32, 32))
    for h in hooks:
        h.remove()
    units = {n: int(torch.Size(s[1:]).numel()) for n, s in shapes.items()}
    out: dict[str, int] = {}
    for n in (*LAYERS, "output"):
        m = getattr(model, n)
        if isinstance(m, lenet.PartialConv2d):  # taps of the connected maps, per output map
            taps = m.mask.sum(1) * m.kernel_size ** 2 + 1  # (16,)
            out[n] = int(taps.sum()) * shapes[n][2] * shapes[n][3]
        elif isinstance(m, nn.Conv2d):
            out[n] = (m.in_channels * m.kernel_size[0] * m.kernel_size[1] + 1) * units[n]
        elif isinstance(m, lenet.Subsampling):
            out[n] = (2 * 2 + 1) * units[n]
        elif isinstance(m, nn.Linear):
            out[n] = (m.in_features + 1) * units[n]
        elif isinstance(m, lenet.EuclideanRBF):
            out[n] = m.centers.shape[1] * units[n]  # 84 inputs per RBF unit, no bias
    return out


def connections() -> int:
    return sum(_connections().values())


def c3_connections() -> int:
    return _connections()["c3"]


def test_per_layer_connections_of_sec_2b():
    assert _connections() == {"c1": 122304, "s2": 5880, "c3": 151600, "s4": 2000, "c5": 48120, "f6": 10164,
                              "output": 840}


def test_table1_connection_scheme():
    lenet = module("lenet5")
    c3 = create("lenet5").c3
    # Sec. II.B: six contiguous triples, six contiguous quadruples, three non-contiguous quadruples, then all six
    assert lenet.connection_counts() == [3] * 6 + [4] * 9 + [6]
    mask = c3.mask.int()
    for j in range(6):
        assert mask[j].tolist() == [int((i - j) % 6 < 3) for i in range(6)]
        assert mask[6 + j].tolist() == [int((i - j) % 6 < 4) for i in range(6)]
    assert mask[15].all() and mask.sum() == 60
    # every S2 map feeds exactly ten C3 maps in Table I
    assert mask.sum(0).tolist() == [10] * 6


def test_unconnected_inputs_have_no_effect_on_c3_maps():
    torch.manual_seed(0)
    c3 = create("lenet5").c3
    x = torch.randn(1, 6, 14, 14)
    y = c3(x)
    x2 = x.clone()
    x2[:, 3] += 5.0  # S2 map 3 feeds C3 maps 1, 2, 3 but not 0, 4, 5 (Table I)
    diff = (c3(x2) - y).abs().amax(dim=(0, 2, 3))
    assert (diff[[0, 4, 5]] == 0).all() and (diff[[1, 2, 3]] > 0).all()


def test_trainable_subsampling_is_sum_times_coefficient_plus_bias():
    s2 = create("lenet5").s2
    with torch.no_grad():
        s2.weight.copy_(torch.arange(1.0, 7.0))
        s2.bias.fill_(0.5)
    x = torch.rand(1, 6, 4, 4)
    expected = x.unfold(2, 2, 2).unfold(3, 2, 2).sum((-1, -2)) * torch.arange(1.0, 7.0).view(1, 6, 1, 1) + 0.5
    assert torch.allclose(s2(x), expected, atol=1e-6)


def test_squashing_function_and_layer_sizes():
    lenet = module("lenet5")
    assert abs(lenet.squash_gain() - 1.0) < 1e-5  # f(1) = 1.7159 tanh(2/3) = 1
    model = create("lenet5")
    assert isinstance(model.act1, lenet.ScaledTanh)
    sizes = {}
    x = torch.zeros(1, 1, 32, 32)
    for name in ("c1", "act1", "s2", "act2", "c3", "act3", "s4", "act4", "c5"):
        x = getattr(model, name)(x)
        sizes[name] = tuple(x.shape[1:])
    assert sizes["c1"] == (6, 28, 28) and sizes["s2"] == (6, 14, 14) and sizes["c3"] == (16, 10, 10)
    assert sizes["s4"] == (16, 5, 5) and sizes["c5"] == (120, 1, 1)


def test_rbf_output_is_minus_squared_distance_to_fixed_codes():
    model = create("lenet5")
    rbf = model.output
    assert count(rbf) == 0 and set(rbf.centers.unique().tolist()) == {-1.0, 1.0}
    assert rbf.centers.shape == (10, 84)
    x = rbf.centers[3].unsqueeze(0).clone()
    logits = rbf(x)
    assert logits[0, 3] == 0 and logits.argmax() == 3
    assert torch.allclose(-logits, torch.cdist(x, rbf.centers).square(), atol=1e-4)
    assert torch.equal(create("lenet5").output.centers, rbf.centers)  # the codes are the same on every build


def test_modern_variant():
    model = create("lenet5_modern")
    assert isinstance(model.c3, nn.Conv2d) and isinstance(model.s2, nn.MaxPool2d)
    assert isinstance(model.act1, nn.ReLU) and isinstance(model.output, nn.Linear)
    assert count(model.c3) == 2416 and count(model) == 61706


def test_overfits_a_tiny_batch():
    torch.manual_seed(0)
    # The RBF logits are -squared distances (large at init), so the paper model takes a smaller step size.
    for name, lr in (("lenet5", 1e-3), ("lenet5_modern", 5e-3)):
        model = create(name)
        x, y = torch.randn(8, 1, 32, 32), torch.arange(8)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        losses = []
        for _ in range(12):
            loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        assert losses[-1] < 0.5 * losses[0], (name, losses)


def test_larger_inputs_give_a_c5_map_and_bad_inputs_are_rejected():
    model = create("lenet5")
    assert model.forward_features(torch.zeros(1, 1, 64, 48)).shape == (1, 120, 9, 5)
    with pytest.raises(ValueError, match="32x32"):
        model(torch.zeros(1, 1, 64, 64))
    with pytest.raises(ValueError, match="expected input"):
        model(torch.zeros(1, 3, 32, 32))
    with pytest.raises(ValueError, match="subsampling"):
        create("lenet5", subsampling="median")
    with pytest.raises(ValueError, match="output"):
        create("lenet5", output="softmax")
