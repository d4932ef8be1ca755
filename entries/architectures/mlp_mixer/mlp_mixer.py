"""MLP-Mixer (Tolstikhin et al.: "MLP-Mixer: An all-MLP Architecture for Vision", NeurIPS 2021, arXiv:2105.01601).

torchvision has no MLP-Mixer; module names follow timm's ``MlpMixer`` (``stem.proj``, ``blocks.i.{norm1,
mlp_tokens.fc1/fc2, norm2, mlp_channels.fc1/fc2}``, ``norm``, ``head``), the most used PyTorch layout.
"""

from __future__ import annotations

import torch
from torch import nn


class MlpBlock(nn.Module):
    """The MLP of Sec. 2 / Eq. 1: two fully connected layers with a GELU in between (``fc1``, ``fc2``).

    Shape:
        - Input: (..., in_features)
        - Output: (..., in_features)
    """

    def __init__(self, in_features: int, hidden_features: int, dropout: float = 0.0):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_features, in_features)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class MixerBlock(nn.Module):
    """One Mixer layer (Fig. 1, Eq. 1): a token-mixing MLP, then a channel-mixing MLP, each with a skip.

    ``U_{*,i} = X_{*,i} + W2 GELU(W1 LN(X)_{*,i})`` for every channel i (token mixing, shared across channels),
    ``Y_{j,*} = U_{j,*} + W4 GELU(W3 LN(U)_{j,*})`` for every patch j (channel mixing, shared across patches).

    Args:
        dim: hidden size C.
        seq_len: number of patches S.
        tokens_mlp_dim: D_S, hidden width of the token-mixing MLP.
        channels_mlp_dim: D_C, hidden width of the channel-mixing MLP.
        dropout: dropout inside the MLPs.

    Shape:
        - Input: (N, S, C)
        - Output: (N, S, C)
    """

    def __init__(self, dim: int, seq_len: int, tokens_mlp_dim: int, channels_mlp_dim: int, dropout: float = 0.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)  # eps 1e-6 as the authors' Flax LayerNorm and timm
        self.mlp_tokens = MlpBlock(seq_len, tokens_mlp_dim, dropout)  # MLP_1 acts on columns of X (R^S -> R^S)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp_channels = MlpBlock(dim, channels_mlp_dim, dropout)  # MLP_2 acts on rows (R^C -> R^C)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.mlp_tokens(self.norm1(x).transpose(1, 2)).transpose(1, 2)  # Eq. 1, token mixing
        return x + self.mlp_channels(self.norm2(x))  # Eq. 1, channel mixing


class PatchEmbed(nn.Module):
    """Per-patch fully connected layer (Sec. 2): non-overlapping P x P patches projected to C (``proj``)."""

    def __init__(self, in_chans: int, dim: int, patch_size: int):
        super().__init__()
        self.proj = nn.Conv2d(in_chans, dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)  # (N, S, C), patches in row-major order


class MlpMixer(nn.Module):
    """MLP-Mixer image classifier (Sec. 2, Fig. 1, Table 1).

    Per-patch linear embedding -> N Mixer layers (token mixing + channel mixing) -> LayerNorm -> global average
    pooling over patches -> linear head. No convolutions (beyond the patch projection, which is a per-patch
    linear layer), no attention, no position embeddings: the token-mixing MLP is sensitive to patch order.

    Table 1 configurations: S ``num_blocks=8, hidden_dim=512, tokens_mlp_dim=256, channels_mlp_dim=2048``;
    B ``12, 768, 384, 3072``; L ``24, 1024, 512, 4096``; H ``32, 1280, 640, 5120``; "/16" is the patch size.

    Args:
        num_classes: number of output classes; 0 leaves out the head (the model returns the pooled features),
            which is how Table 1 counts parameters.
        in_chans: number of input channels.
        image_size: input size; fixes the number of patches S = (image_size / P)^2, which the token-mixing
            MLPs depend on.
        patch_size: P.
        num_blocks: number of Mixer layers.
        hidden_dim: C.
        tokens_mlp_dim: D_S.
        channels_mlp_dim: D_C.
        dropout: dropout inside the MLPs (0 for inference).

    Shape:
        - Input: (N, in_chans, image_size, image_size)
        - Output: (N, num_classes), or (N, hidden_dim) with num_classes = 0

    Examples:
        >>> import torch
        >>> model = MlpMixer(num_classes=10, image_size=32, patch_size=8, num_blocks=2, hidden_dim=32,
        ...                  tokens_mlp_dim=16, channels_mlp_dim=64)
        >>> model(torch.randn(2, 3, 32, 32)).shape
        torch.Size([2, 10])
    """

    def __init__(self, num_classes: int = 1000, in_chans: int = 3, *, image_size: int = 224, patch_size: int = 16,
                 num_blocks: int = 8, hidden_dim: int = 512, tokens_mlp_dim: int = 256,
                 channels_mlp_dim: int = 2048, dropout: float = 0.0):
        super().__init__()
        for name, value in (("in_chans", in_chans), ("image_size", image_size), ("patch_size", patch_size),
                            ("num_blocks", num_blocks), ("hidden_dim", hidden_dim),
                            ("tokens_mlp_dim", tokens_mlp_dim), ("channels_mlp_dim", channels_mlp_dim)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not isinstance(num_classes, int) or num_classes < 0:
            raise ValueError(f"num_classes must be a non-negative integer, got {num_classes!r}")
        if image_size % patch_size != 0:
            raise ValueError(f"image_size ({image_size}) must be divisible by patch_size ({patch_size})")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.num_classes, self.in_chans, self.image_size = num_classes, in_chans, image_size
        self.seq_len = (image_size // patch_size) ** 2  # S of Table 1 (196 for /16 at 224)

        self.stem = PatchEmbed(in_chans, hidden_dim, patch_size)
        self.blocks = nn.Sequential(*[MixerBlock(hidden_dim, self.seq_len, tokens_mlp_dim, channels_mlp_dim, dropout)
                                      for _ in range(num_blocks)])
        self.norm = nn.LayerNorm(hidden_dim, eps=1e-6)  # pre-head LayerNorm (Fig. 1)
        self.head = nn.Linear(hidden_dim, num_classes) if num_classes > 0 else nn.Identity()
        self._init_weights()

    def _init_weights(self) -> None:
        # Deviation (unverified against the authors' Flax code): Xavier-uniform linear weights with normal(1e-6)
        # biases, truncated-normal(1 / sqrt(fan_in)) patch projection and a zero head, as in torchvision's ViT.
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.normal_(m.bias, std=1e-6)
        fan_in = self.stem.proj.in_channels * self.stem.proj.kernel_size[0] * self.stem.proj.kernel_size[1]
        nn.init.trunc_normal_(self.stem.proj.weight, std=fan_in ** -0.5)
        nn.init.zeros_(self.stem.proj.bias)
        if isinstance(self.head, nn.Linear):
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Patch tokens after the last Mixer layer and the pre-head LayerNorm: (N, S, C)."""
        if x.ndim != 4 or x.shape[1] != self.in_chans:
            raise ValueError(f"expected input (N, {self.in_chans}, H, W), got {tuple(x.shape)}")
        if x.shape[2] != self.image_size or x.shape[3] != self.image_size:
            raise ValueError(f"the token-mixing MLPs are built for {self.image_size}x{self.image_size} inputs "
                             f"({self.seq_len} patches), got {tuple(x.shape[2:])}; build with image_size=...")
        return self.norm(self.blocks(self.stem(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.forward_features(x).mean(dim=1))  # global average pooling over patches (Fig. 1)
