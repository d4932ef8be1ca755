"""Vision Transformer (Dosovitskiy et al.: "An Image is Worth 16x16 Words: Transformers for Image Recognition
at Scale", ICLR 2021, arXiv:2010.11929).

State-dict compatible with torchvision's ``torchvision.models.vision_transformer`` (``conv_proj``,
``class_token``, ``encoder.pos_embedding``, ``encoder.layers.encoder_layer_i.{ln_1, self_attention, ln_2,
mlp}``, ``encoder.ln``, ``heads.head``), so its checkpoints load with ``strict=True``. Unlike torchvision, the
model also runs at input sizes other than the one it was built for: the learned position embeddings are
resampled bicubically to the patch grid of the input (Sec. 3.2, "2D interpolation of the pre-trained position
embeddings"), as timm does with ``dynamic_img_size``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class SelfAttention(nn.Module):
    """Multi-head self-attention (MSA, Appendix A, Eq. 5-8) with nn.MultiheadAttention's parameter layout.

    The query/key/value projections are one packed ``in_proj_weight`` (3D x D) and ``in_proj_bias``, the output
    projection is ``out_proj``, exactly the names and shapes of ``nn.MultiheadAttention(D, heads)``, so
    torchvision checkpoints load into it. Written out (rather than calling nn.MultiheadAttention) so the
    computation is visible, and because nn.MultiheadAttention switches to a fused kernel in inference.

    Args:
        dim: token dimension D.
        num_heads: number of heads k; D must be divisible by k (D_h = D / k, Appendix A).
        attention_dropout: dropout on the attention weights (0 in the paper).

    Shape:
        - Input: (N, L, D)
        - Output: (N, L, D)
    """

    def __init__(self, dim: int, num_heads: int, attention_dropout: float = 0.0):
        super().__init__()
        if dim % num_heads != 0:
            raise ValueError(f"hidden_dim ({dim}) must be divisible by num_heads ({num_heads})")
        self.num_heads, self.head_dim = num_heads, dim // num_heads
        self.attention_dropout = attention_dropout
        self.in_proj_weight = nn.Parameter(torch.empty(3 * dim, dim))  # [U_q; U_k; U_v] of Eq. 5
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * dim))
        self.out_proj = nn.Linear(dim, dim)  # U_msa of Eq. 8
        nn.init.xavier_uniform_(self.in_proj_weight)  # nn.MultiheadAttention's initialisation
        nn.init.zeros_(self.out_proj.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, length, dim = x.shape
        qkv = F.linear(x, self.in_proj_weight, self.in_proj_bias)  # Eq. 5: (N, L, 3D)
        qkv = qkv.view(n, length, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)  # (3, N, k, L, D_h)
        # Eq. 6-7: softmax(q k^T / sqrt(D_h)) v, per head
        out = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2],
                                             dropout_p=self.attention_dropout if self.training else 0.0)
        return self.out_proj(out.transpose(1, 2).reshape(n, length, dim))  # Eq. 8: concat heads, project


class MLPBlock(nn.Sequential):
    """The Transformer MLP (Sec. 3.1): two layers with a GELU non-linearity, D -> mlp_dim -> D.

    Indices 0 and 3 hold the linear layers, as in torchvision (Linear, GELU, Dropout, Linear, Dropout).
    """

    def __init__(self, dim: int, mlp_dim: int, dropout: float = 0.0):
        super().__init__(nn.Linear(dim, mlp_dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(mlp_dim, dim),
                         nn.Dropout(dropout))
        for m in (self[0], self[3]):  # torchvision's initialisation
            nn.init.xavier_uniform_(m.weight)
            nn.init.normal_(m.bias, std=1e-6)


class EncoderBlock(nn.Module):
    """One pre-norm Transformer encoder layer (Sec. 3.1, Eq. 2-3, Fig. 1 right).

    ``z' = MSA(LN(z)) + z`` (Eq. 2), then ``z = MLP(LN(z')) + z'`` (Eq. 3).

    Shape:
        - Input: (N, L, D)
        - Output: (N, L, D)
    """

    def __init__(self, num_heads: int, hidden_dim: int, mlp_dim: int, dropout: float = 0.0,
                 attention_dropout: float = 0.0):
        super().__init__()
        self.ln_1 = nn.LayerNorm(hidden_dim, eps=1e-6)  # eps 1e-6 as the authors' Flax code and torchvision
        self.self_attention = SelfAttention(hidden_dim, num_heads, attention_dropout)
        self.dropout = nn.Dropout(dropout)
        self.ln_2 = nn.LayerNorm(hidden_dim, eps=1e-6)
        self.mlp = MLPBlock(hidden_dim, mlp_dim, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.dropout(self.self_attention(self.ln_1(x)))  # Eq. 2
        return x + self.mlp(self.ln_2(x))  # Eq. 3


class Encoder(nn.Module):
    """Position embeddings + L encoder layers + the final LayerNorm of Eq. 4 (torchvision's ``encoder``)."""

    def __init__(self, seq_length: int, num_layers: int, num_heads: int, hidden_dim: int, mlp_dim: int,
                 dropout: float = 0.0, attention_dropout: float = 0.0):
        super().__init__()
        # E_pos of Eq. 1: learned 1-D position embeddings (Sec. 3.1; Appendix D.4 finds 2-D ones no better).
        self.pos_embedding = nn.Parameter(torch.empty(1, seq_length, hidden_dim).normal_(std=0.02))
        self.dropout = nn.Dropout(dropout)
        self.layers = nn.Sequential()
        for i in range(num_layers):
            self.layers.add_module(f"encoder_layer_{i}", EncoderBlock(num_heads, hidden_dim, mlp_dim, dropout,
                                                                      attention_dropout))
        self.ln = nn.LayerNorm(hidden_dim, eps=1e-6)

    def forward(self, x: torch.Tensor, pos_embedding: torch.Tensor) -> torch.Tensor:
        return self.ln(self.layers(self.dropout(x + pos_embedding)))  # Eq. 1 (+ E_pos), Eq. 2-3, Eq. 4 (LN)


class VisionTransformer(nn.Module):
    """Vision Transformer (ViT) for image classification (Sec. 3.1, Fig. 1, Table 1), torchvision layout.

    The image is cut into P x P patches, each flattened and linearly projected to D dimensions (done as a
    P x P convolution with stride P, ``conv_proj``); a learned class token is prepended; learned position
    embeddings are added (Eq. 1); L pre-norm Transformer layers follow (Eq. 2-3); the class token's final state,
    layer-normalised (Eq. 4), goes to a linear head.

    Table 1 configurations: ViT-Base ``num_layers=12, hidden_dim=768, mlp_dim=3072, num_heads=12``; ViT-Large
    ``24, 1024, 4096, 16``; ViT-Huge ``32, 1280, 5120, 16``; "/16" and "/32" are the patch size.

    Args:
        num_classes: number of output classes.
        in_chans: number of input channels.
        image_size: the input size the position embeddings are learned for ((image_size / P)^2 + 1 of them).
        patch_size: patch size P.
        num_layers: number of encoder layers L.
        num_heads: number of attention heads.
        hidden_dim: token dimension D.
        mlp_dim: hidden size of the MLPs.
        dropout: dropout after the embeddings, the attention output and in the MLPs (0.0 for inference).
        attention_dropout: dropout on the attention weights.

    Shape:
        - Input: (N, in_chans, H, W) with H, W >= patch_size. The patch grid is (H // P, W // P): pixels past a
          multiple of P are not seen (a stride-P convolution). When the grid differs from the one of
          ``image_size``, the position embeddings are resampled bicubically to it (Sec. 3.2).
        - Output: (N, num_classes)

    Examples:
        >>> import torch
        >>> model = VisionTransformer(num_classes=10, image_size=32, patch_size=8, num_layers=2, num_heads=2,
        ...                           hidden_dim=32, mlp_dim=64)
        >>> model(torch.randn(2, 3, 32, 32)).shape
        torch.Size([2, 10])
        >>> model(torch.randn(2, 3, 48, 64)).shape  # another grid: position embeddings are resampled
        torch.Size([2, 10])
    """

    def __init__(self, num_classes: int = 1000, in_chans: int = 3, *, image_size: int = 224, patch_size: int = 16,
                 num_layers: int = 12, num_heads: int = 12, hidden_dim: int = 768, mlp_dim: int = 3072,
                 dropout: float = 0.0, attention_dropout: float = 0.0):
        super().__init__()
        for name, value in (("num_classes", num_classes), ("in_chans", in_chans), ("image_size", image_size),
                            ("patch_size", patch_size), ("num_layers", num_layers), ("num_heads", num_heads),
                            ("hidden_dim", hidden_dim), ("mlp_dim", mlp_dim)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if image_size % patch_size != 0:
            raise ValueError(f"image_size ({image_size}) must be divisible by patch_size ({patch_size})")
        if not (0.0 <= dropout < 1.0 and 0.0 <= attention_dropout < 1.0):
            raise ValueError(f"dropout rates must be in [0, 1), got {dropout} and {attention_dropout}")
        self.num_classes, self.in_chans = num_classes, in_chans
        self.image_size, self.patch_size, self.hidden_dim = image_size, patch_size, hidden_dim
        self.grid = image_size // patch_size

        # Eq. 1: x_p^i E, the patch embedding E in R^{(P^2 C) x D}, as a P x P / stride-P convolution.
        self.conv_proj = nn.Conv2d(in_chans, hidden_dim, kernel_size=patch_size, stride=patch_size)
        self.class_token = nn.Parameter(torch.zeros(1, 1, hidden_dim))  # x_class of Eq. 1 (z_0^0)
        self.encoder = Encoder(self.grid ** 2 + 1, num_layers, num_heads, hidden_dim, mlp_dim, dropout,
                               attention_dropout)
        self.heads = nn.Sequential()
        # Sec. 3.1: the classification head is an MLP with one hidden layer at pre-training and a single linear
        # layer at fine-tuning; torchvision (and this code) use the single linear layer (see README Deviations).
        self.heads.add_module("head", nn.Linear(hidden_dim, num_classes))

        # torchvision's initialisation: truncated normal (std sqrt(1 / fan_in)) for the patch projection and a
        # zero head (the authors' code also zero-initialises the head, Sec. 3.2 "zero-initialized D x K").
        fan_in = in_chans * patch_size * patch_size
        nn.init.trunc_normal_(self.conv_proj.weight, std=math.sqrt(1.0 / fan_in))
        nn.init.zeros_(self.conv_proj.bias)
        nn.init.zeros_(self.heads.head.weight)
        nn.init.zeros_(self.heads.head.bias)

    def position_embedding(self, grid_h: int, grid_w: int) -> torch.Tensor:
        """E_pos for a (grid_h, grid_w) patch grid: learned as is, or resampled bicubically (Sec. 3.2).

        The class-token embedding is kept; the patch embeddings, laid out on the training grid, are
        interpolated to the new grid as a 2-D image with D channels.

        Returns:
            (1, grid_h * grid_w + 1, D)
        """
        pos = self.encoder.pos_embedding
        if grid_h == self.grid and grid_w == self.grid:
            return pos
        cls_pos, patch_pos = pos[:, :1], pos[:, 1:]
        patch_pos = patch_pos.reshape(1, self.grid, self.grid, -1).permute(0, 3, 1, 2)  # (1, D, g, g)
        # Deviation: resampled at every forward pass (timm's dynamic_img_size) rather than once when loading a
        # checkpoint (Sec. 3.2; torchvision's interpolate_embeddings); interpolated in float32 so that
        # bfloat16 / float16 models work on every device.
        patch_pos = F.interpolate(patch_pos.float(), size=(grid_h, grid_w), mode="bicubic", align_corners=False)
        patch_pos = patch_pos.to(pos.dtype).flatten(2).transpose(1, 2)  # (1, grid_h * grid_w, D)
        return torch.cat([cls_pos, patch_pos], dim=1)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The encoder output y = LN(z_L) for every token (Eq. 4): (N, 1 + (H // P) (W // P), D)."""
        if x.ndim != 4 or x.shape[1] != self.in_chans:
            raise ValueError(f"expected input (N, {self.in_chans}, H, W), got {tuple(x.shape)}")
        if x.shape[2] < self.patch_size or x.shape[3] < self.patch_size:
            raise ValueError(f"input {tuple(x.shape[2:])} is smaller than one {self.patch_size}x{self.patch_size} patch")
        x = self.conv_proj(x)  # (N, D, H // P, W // P)
        grid_h, grid_w = x.shape[2], x.shape[3]
        x = x.flatten(2).transpose(1, 2)  # (N, L, D), patches in row-major order
        x = torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], dim=1)  # (N, L + 1, D)
        return self.encoder(x, self.position_embedding(grid_h, grid_w))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.heads(self.forward_features(x)[:, 0])  # Eq. 4: the class token's state -> (N, num_classes)
