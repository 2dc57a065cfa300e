"""The shape every network in diswot has, so that a scorer can read its features, pooled vector and logits."""

from __future__ import annotations

import torch
from torch import nn


class ClassifierNetwork(nn.Module):
    """A CNN classifier split at the point DisWOT reads from.

    `forward_features(x)` returns F, the last 4-D activation before global pooling (B, C, H, W);
    the pooled vector h = mean of F over H, W enters `classifier`, a single nn.Linear giving the logits.
    TorchScript keeps `forward_features` (it is exported), so a scripted network can be scored too.
    """

    @torch.jit.export
    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.forward_features(x).mean(dim=(2, 3)))
