"""The shape every network in diswot has, so that a scorer can read its features, pooled vector and logits."""

from __future__ import annotations

from typing import Tuple

import torch
from torch import nn


class ClassifierNetwork(nn.Module):
    """A classifier split at the points DisWOT reads from.

    `forward_features(x)` returns F, the last 4-D activation before global pooling (B, C, H, W); `pool(F)` gives
    h, the vector entering `classifier`, a single nn.Linear giving the logits. h is the spatial mean of F unless a
    network says otherwise (MobileNetV3's head runs a Linear + hardswish after the mean). A network whose h is not a
    function of F (a ViT's class token, its F being the patch tokens) overrides `forward_pooled` instead.
    TorchScript keeps these methods (they are exported), so a scripted network can be scored too.
    """

    @torch.jit.export
    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    @torch.jit.export
    def pool(self, features: torch.Tensor) -> torch.Tensor:
        return features.mean(dim=(2, 3))

    @torch.jit.export
    def forward_pooled(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(F, h) from one pass."""
        features = self.forward_features(x)
        return features, self.pool(features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.forward_pooled(x)[1])


class PooledHead(nn.Module):
    """Global mean pooling, an optional head and the classifier as one module: the last unit of a network cut into
    units for a latency table (`latency_units()`)."""

    def __init__(self, head: nn.Module, classifier: nn.Linear):
        super().__init__()
        self.head = head
        self.classifier = classifier

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.head(features.mean(dim=(2, 3))))
