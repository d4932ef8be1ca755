"""What is special about ViT (the generic suite covers shapes, gradients, determinism and the claims)."""

import pytest
import torch
from torch import nn

from encyclo import create

TINY = dict(image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64)


def tokens_of_vit_b_16_at_224() -> int:
    """Length of the sequence entering the encoder of ViT-B/16 at 224 x 224 (Eq. 1: N patches + class token)."""
    with torch.device("meta"):
        model = create("vit_b_16")
        tokens = model.forward_features(torch.randn(1, 3, 224, 224))
    assert model.encoder.pos_embedding.shape[1] == tokens.shape[1]
    return tokens.shape[1]


def torchvision_layout(num_layers, hidden_dim, mlp_dim, patch_size, image_size=224, num_classes=1000):
    """The (key, shape) list of torchvision's VisionTransformer state_dict, written out from its module structure.

    Derived independently of vit.py: torchvision registers class_token (a parameter of the model itself, so it
    comes first), then conv_proj, encoder (pos_embedding, layers.encoder_layer_i with ln_1,
    self_attention = nn.MultiheadAttention (in_proj_weight, in_proj_bias, out_proj), ln_2, mlp = torchvision
    MLP with linear layers at indices 0 and 3), encoder.ln, and heads.head.
    """
    d, seq = hidden_dim, (image_size // patch_size) ** 2 + 1
    keys = [("class_token", (1, 1, d)), ("conv_proj.weight", (d, 3, patch_size, patch_size)), ("conv_proj.bias", (d,)),
            ("encoder.pos_embedding", (1, seq, d))]
    for i in range(num_layers):
        p = f"encoder.layers.encoder_layer_{i}"
        keys += [(f"{p}.ln_1.weight", (d,)), (f"{p}.ln_1.bias", (d,)),
                 (f"{p}.self_attention.in_proj_weight", (3 * d, d)), (f"{p}.self_attention.in_proj_bias", (3 * d,)),
                 (f"{p}.self_attention.out_proj.weight", (d, d)), (f"{p}.self_attention.out_proj.bias", (d,)),
                 (f"{p}.ln_2.weight", (d,)), (f"{p}.ln_2.bias", (d,)),
                 (f"{p}.mlp.0.weight", (mlp_dim, d)), (f"{p}.mlp.0.bias", (mlp_dim,)),
                 (f"{p}.mlp.3.weight", (d, mlp_dim)), (f"{p}.mlp.3.bias", (d,))]
    return keys + [("encoder.ln.weight", (d,)), ("encoder.ln.bias", (d,)),
                   ("heads.head.weight", (num_classes, d)), ("heads.head.bias", (num_classes,))]


def test_state_dict_is_torchvision_layout():
    for variant, cfg in (("vit_b_16", (12, 768, 3072, 16)), ("vit_l_32", (24, 1024, 4096, 32))):
        expected = torchvision_layout(*cfg)
        assert len(expected) == 4 + 12 * cfg[0] + 4
        with torch.device("meta"):
            state = create(variant).state_dict()
        assert [(k, tuple(v.shape)) for k, v in state.items()] == expected


def test_torchvision_checkpoint_loads_strict(tmp_path):
    gen = torch.Generator().manual_seed(0)
    ckpt = {k: torch.randn(s, generator=gen) for k, s in torchvision_layout(2, 32, 64, 8, image_size=32, num_classes=5)}
    torch.save(ckpt, tmp_path / "vit_tiny.pth")
    model = create("vit", num_classes=5, **TINY)
    result = model.load_state_dict(torch.load(tmp_path / "vit_tiny.pth", weights_only=True), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert torch.equal(model.encoder.layers.encoder_layer_1.mlp[3].weight, ckpt["encoder.layers.encoder_layer_1.mlp.3.weight"])


def test_self_attention_equals_torch_multihead_attention():
    # Appendix A (Eq. 5-8) as written out in vit.py vs torch's own nn.MultiheadAttention, same weights.
    torch.manual_seed(0)
    block = create("vit", **TINY).encoder.layers.encoder_layer_0.self_attention.eval()
    mha = nn.MultiheadAttention(32, 2, batch_first=True).eval()
    mha.load_state_dict(block.state_dict())
    x = torch.randn(3, 17, 32)
    with torch.no_grad():
        expected, _ = mha(x, x, x, need_weights=False)
        assert torch.allclose(block(x), expected, atol=1e-5)


def test_encoder_layer_is_pre_norm_residual():
    # Eq. 2-3: z' = MSA(LN(z)) + z, z = MLP(LN(z')) + z'. With the two output projections zeroed, the layer is
    # the identity (a post-norm layer, LN(z + F(z)), would still normalise its input).
    torch.manual_seed(0)
    layer = create("vit", **TINY).encoder.layers.encoder_layer_0.eval()
    for lin in (layer.self_attention.out_proj, layer.mlp[3]):
        nn.init.zeros_(lin.weight)
        nn.init.zeros_(lin.bias)
    x = torch.randn(2, 5, 32) * 3 + 1
    assert torch.equal(layer(x), x)


def test_without_position_embeddings_patches_are_a_set():
    # Sec. 3.1 / 3.2: the only 2-D information comes from patch extraction and E_pos; with E_pos = 0 the model is
    # invariant to a permutation of whole patches (here the 4 x 4 patch grid is flipped upside down).
    torch.manual_seed(0)
    model = create("vit", num_classes=3, **TINY).eval()
    nn.init.normal_(model.heads.head.weight)  # torchvision zero-initialises the head
    with torch.no_grad():
        model.encoder.pos_embedding.zero_()
        x = torch.randn(2, 3, 32, 32)
        flipped = x.view(2, 3, 4, 8, 32).flip(2).reshape(2, 3, 32, 32)  # rows of patches reversed, patches intact
        assert torch.allclose(model(x), model(flipped), atol=1e-5)
        model.encoder.pos_embedding.normal_()
        assert not torch.allclose(model(x), model(flipped), atol=1e-3)


def test_position_embeddings_resampled_for_other_grids():
    # Sec. 3.2: at another resolution the patch grid changes and E_pos is 2-D interpolated; the class-token
    # embedding is kept. At the training grid nothing is resampled.
    torch.manual_seed(0)
    model = create("vit", **TINY).eval()
    pos = model.encoder.pos_embedding
    assert model.position_embedding(4, 4) is pos
    resized = model.position_embedding(6, 8)
    assert resized.shape == (1, 6 * 8 + 1, 32)
    assert torch.equal(resized[:, 0], pos[:, 0])
    # A constant embedding stays constant under bicubic resampling.
    with torch.no_grad():
        pos[:, 1:] = 0.5
    assert torch.allclose(model.position_embedding(7, 3)[:, 1:], torch.full((1, 21, 32), 0.5), atol=1e-6)
    assert model(torch.randn(2, 3, 48, 64)).shape == (2, 1000)
    assert model(torch.randn(1, 3, 8, 8)).shape == (1, 1000)  # a single patch


def test_patch_grid_and_sequence_length():
    # Eq. 1: N = HW / P^2; B/32 sees 7 x 7 = 49 patches at 224, B/16 196, H/14 256.
    assert tokens_of_vit_b_16_at_224() == 197
    for variant, n in (("vit_b_32", 50), ("vit_h_14", 257)):
        with torch.device("meta"):
            assert create(variant).forward_features(torch.randn(1, 3, 224, 224)).shape[1] == n


def test_overfits_a_tiny_batch():
    torch.manual_seed(0)
    model = create("vit", num_classes=4, **TINY)
    x, y = torch.randn(8, 3, 32, 32), torch.arange(8) % 4
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(10):
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0], losses


def test_low_precision_forward():
    torch.manual_seed(0)
    model = create("vit", num_classes=4, **TINY).to(torch.bfloat16).eval()
    out = model(torch.randn(2, 3, 40, 40, dtype=torch.bfloat16))  # 5 x 5 grid: resampled in float32
    assert out.dtype == torch.bfloat16 and torch.isfinite(out).all()


def test_invalid_arguments_are_rejected():
    with pytest.raises(ValueError, match="divisible by patch_size"):
        create("vit", image_size=100, patch_size=16)
    with pytest.raises(ValueError, match="num_heads"):
        create("vit", hidden_dim=100, num_heads=12, mlp_dim=8, num_layers=1)
    with pytest.raises(ValueError, match="expected input"):
        create("vit", **TINY)(torch.randn(1, 1, 32, 32))
    with pytest.raises(ValueError, match="smaller than one"):
        create("vit", **TINY)(torch.randn(1, 3, 4, 32))
