"""What is special about GoogLeNet (the generic suite covers shapes, gradients, determinism and the claims)."""

import pytest
import torch
from torch import nn

from encyclo import create, module

NAMES = ["3a", "3b", "4a", "4b", "4c", "4d", "4e", "5a", "5b"]
# Table 1, "output size" column (channels, spatial size at 224) after each Inception module.
OUTPUTS = [(256, 28), (480, 28), (512, 14), (512, 14), (512, 14), (528, 14), (832, 14), (832, 7), (1024, 7)]


def test_table1_inception_outputs_at_224():
    with torch.device("meta"):
        model = create("googlenet").eval()
        x = torch.randn(1, 3, 224, 224)
    shapes = []
    hooks = [getattr(model, f"inception{n}").register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape[1:])))
             for n in NAMES]
    model(x)
    for h in hooks:
        h.remove()
    assert shapes == [(c, s, s) for c, s in OUTPUTS]
    for n, (c, _) in zip(NAMES, OUTPUTS):
        row = module("googlenet").TABLE1[n]
        assert row[0] + row[2] + row[4] + row[5] == c  # #1x1 + #3x3 + #5x5 + pool proj


def test_paper_and_torchvision_branch3_kernels():
    with torch.device("meta"):
        tv, paper = create("googlenet"), create("googlenet_paper")
    assert tv.inception3a.branch3[1].conv.kernel_size == (3, 3)  # pytorch/vision#906, kept for the weights
    assert paper.inception3a.branch3[1].conv.kernel_size == (5, 5)  # Figure 2(b): 5x5 convolutions
    assert isinstance(tv.conv1.bn, nn.BatchNorm2d) and isinstance(paper.conv1.bn, nn.Identity)
    assert paper.conv1.conv.bias is not None and type(paper.lrn1).__name__ == "LocalResponseNorm"
    assert paper.dropout.p == 0.4  # Table 1: dropout (40%)
    # The 5x5 kernels add 16 x ch5x5red x ch5x5 weights per module (25 - 9 taps).
    extra = sum(16 * module("googlenet").TABLE1[n][3] * module("googlenet").TABLE1[n][4] for n in NAMES)
    count = lambda m: sum(p.numel() for p in m.parameters())
    with torch.device("meta"):
        paper_bn = create("googlenet", branch3_kernel=5)
    assert count(paper_bn) - count(tv) == extra


def test_auxiliary_heads_do_not_change_forward_and_train_with_paper_loss():
    torch.manual_seed(0)
    model = create("googlenet", aux_logits=True, num_classes=5).train()
    x, y = torch.randn(2, 3, 224, 224), torch.tensor([1, 3])
    out = model(x)
    assert out.shape == (2, 5)  # the io contract holds in train mode with aux heads
    logits, aux2, aux1 = model.forward_with_aux(x)
    assert logits.shape == aux1.shape == aux2.shape == (2, 5)
    # Sec. 5: auxiliary losses added with weight 0.3
    loss = nn.functional.cross_entropy(logits, y) + 0.3 * (nn.functional.cross_entropy(aux1, y) +
                                                          nn.functional.cross_entropy(aux2, y))
    loss.backward()
    assert model.aux1.fc2.weight.grad is not None and torch.isfinite(model.aux1.fc2.weight.grad).all()
    with pytest.raises(ValueError, match="aux_logits"):
        create("googlenet", num_classes=5).forward_with_aux(x)


def test_torchvision_state_dict_keys():
    with torch.device("meta"):
        sd, sd_aux = create("googlenet").state_dict(), create("googlenet", aux_logits=True).state_dict()
    assert len(sd) == 344 and len(sd_aux) == 364
    assert set(sd_aux) - set(sd) == {f"aux{i}.{k}" for i in (1, 2) for k in (
        "conv.conv.weight", "conv.bn.weight", "conv.bn.bias", "conv.bn.running_mean", "conv.bn.running_var",
        "conv.bn.num_batches_tracked", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias")}
    convs = [k[: -len(".conv.weight")] for k in sd if k.endswith(".conv.weight")]
    assert convs[:5] == ["conv1", "conv2", "conv3", "inception3a.branch1", "inception3a.branch2.0"]
    assert len(convs) == 3 + 9 * 6  # stem + six convolutions per Inception module
    assert tuple(sd["inception5b.branch3.1.conv.weight"].shape) == (128, 48, 3, 3)
    assert tuple(sd["fc.weight"].shape) == (1000, 1024) and "conv1.conv.bias" not in sd
    assert tuple(sd_aux["aux1.fc1.weight"].shape) == (1024, 2048)


def test_transform_input_matches_torchvision():
    torch.manual_seed(0)
    model = create("googlenet", transform_input=True, num_classes=3)
    x = torch.randn(1, 3, 4, 4)
    mean, std = torch.tensor([0.485, 0.456, 0.406]), torch.tensor([0.229, 0.224, 0.225])
    expected = torch.cat([x[:, c:c + 1] * (std[c] / 0.5) + (mean[c] - 0.5) / 0.5 for c in range(3)], 1)
    torch.testing.assert_close(model._transform(x), expected)


def test_overfits_a_tiny_batch():
    torch.manual_seed(0)
    model = create("googlenet", num_classes=4, dropout=0.0)
    x, y = torch.randn(8, 3, 32, 32), torch.arange(8) % 4
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(5):
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses


def test_invalid_arguments_are_rejected():
    with pytest.raises(ValueError, match="branch3_kernel"):
        create("googlenet", branch3_kernel=7)
    with pytest.raises(ValueError, match="transform_input"):
        create("googlenet", transform_input=True, in_chans=1)
    with pytest.raises(ValueError, match="expected input"):
        create("googlenet", num_classes=2).eval()(torch.randn(1, 1, 32, 32))
