"""A Vision Transformer (Dosovitskiy et al. 2021) with timm's module names, so timm ViT/DeiT checkpoints load.

Patch embedding (a stride-16 conv), a class token, learned position embeddings, pre-norm blocks (multi-head
self-attention, then a GELU MLP), a final LayerNorm, and the classifier on the class token. timm names the classifier
`head`; here it is `classifier` (`checkpoint_key_renames` maps it). Every other key is timm's: `cls_token`,
`pos_embed`, `patch_embed.proj`, `blocks.N.norm1`, `blocks.N.attn.qkv`, `blocks.N.attn.proj`, `blocks.N.norm2`,
`blocks.N.mlp.fc1`, `blocks.N.mlp.fc2`, `norm`.

What DisWOT reads from it (the answer to "how do a ViT teacher and CNN students compare"): F is the patch tokens
after the final norm, laid out as a (B, D, H/16, W/16) map, one position per patch, in image order, so the relation
term compares the same thing as for a CNN (every image's features at every position); the class token is not a
position and is left out of F. h is the normalised class token, the vector the classifier reads, so the semantic
term is the gradient of the classifier's weight, as for a CNN. Position embeddings are resized (bicubic) when the
input's patch grid differs from the one they were made for, as timm does with `dynamic_img_size`, so a 32-px
probe batch works too (a 2x2 grid).
"""

from __future__ import annotations

import math
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import nn

from search_spaces.network import ClassifierNetwork

# timm's ViTs use LayerNorm with epsilon 1e-6 (a checkpoint's norms were trained with it).
NORM_EPS = 1e-6


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, dim = x.shape
        qkv = self.qkv(x).reshape(batch, tokens, 3, self.heads, dim // self.heads).permute(2, 0, 3, 1, 4)
        attended = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])
        return self.proj(attended.transpose(1, 2).reshape(batch, tokens, dim))


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_ratio: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=NORM_EPS)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=NORM_EPS)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    def __init__(self, patch_size: int, dim: int):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x)


class VisionTransformer(ClassifierNetwork):
    checkpoint_key_renames = {"head.": "classifier."}

    def __init__(self, num_classes: int, *, dim: int, depth: int, heads: int, patch_size: int = 16,
                 image_size: int = 224, mlp_ratio: float = 4.0):
        super().__init__()
        self.patch_embed = PatchEmbed(patch_size, dim)
        grid = image_size // patch_size
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + grid * grid, dim))
        # timm's init of the embeddings (truncated normal, std 0.02); the Linear layers keep PyTorch's default
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        self.blocks = nn.Sequential(*(Block(dim, heads, mlp_ratio) for _ in range(depth)))
        self.norm = nn.LayerNorm(dim, eps=NORM_EPS)
        self.classifier = nn.Linear(dim, num_classes)

    def position_embeddings(self, height: int, width: int) -> torch.Tensor:
        cls_position, grid_positions = self.pos_embed[:, :1], self.pos_embed[:, 1:]
        side = int(math.sqrt(grid_positions.shape[1]))
        if side == height and side == width:
            return self.pos_embed
        grid = grid_positions.reshape(1, side, side, -1).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, size=(height, width), mode="bicubic", align_corners=False)
        return torch.cat([cls_position, grid.permute(0, 2, 3, 1).reshape(1, height * width, -1)], dim=1)

    @torch.jit.export
    def forward_pooled(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        patches = self.patch_embed(x)  # (B, D, h, w)
        batch, dim, height, width = patches.shape
        tokens = torch.cat([self.cls_token.expand(batch, -1, -1), patches.flatten(2).transpose(1, 2)], dim=1)
        tokens = self.norm(self.blocks(tokens + self.position_embeddings(height, width)))
        patch_map = tokens[:, 1:].transpose(1, 2).reshape(batch, dim, height, width)
        return patch_map, tokens[:, 0]

    @torch.jit.export
    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_pooled(x)[0]


def deit_tiny(num_classes: int) -> VisionTransformer:
    """DeiT-Tiny / ViT-Tiny at 224 px (Touvron et al. 2021): 192 wide, 12 blocks of 3 heads, patch 16; timm's
    `deit_tiny_patch16_224` and `vit_tiny_patch16_224` share this architecture and these keys."""
    return VisionTransformer(num_classes, dim=192, depth=12, heads=3)
