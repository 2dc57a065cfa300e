"""One forward pass of a network on the probe batch, read at the points DisWOT needs."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Iterator

import torch
from torch import nn


@dataclass(frozen=True)
class NetworkOutputs:
    features: torch.Tensor  # F: last 4-D activation before global pooling, (B, C, H, W); a ViT's patch tokens
    pooled: torch.Tensor  # h: the vector entering the classifier, (B, C'); a ViT's normalised class token
    logits: torch.Tensor  # z: (B, K)

    def ignores_input(self, relative_tolerance: float = 1e-6) -> bool:
        """True when every image gets the same features: the network's output does not depend on its input.

        An NB201 cell with no path from input to output is such a network: whatever it is shown, it outputs
        the classifier's bias, so it cannot learn, and similarities computed from it are meaningless.
        """
        flat = self.features.float().flatten(1)
        if len(flat) < 2:
            return False  # one image cannot tell
        spread = (flat - flat[:1]).abs().max()
        return bool(spread <= relative_tolerance * flat.abs().max())


@contextlib.contextmanager
def batch_statistics_norm(model: nn.Module) -> Iterator[None]:
    """BatchNorm normalises with the batch's own statistics and leaves running statistics untouched.

    A randomly initialised network has no meaningful running statistics, so DisWOT scores it with batch
    statistics; turning off `track_running_stats` for the duration keeps buffers (and `num_batches_tracked`)
    exactly as they were, so scoring never changes the network.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [(m.training, m.track_running_stats) for m in norms]
    try:
        for m in norms:
            m.train()
            m.track_running_stats = False
        yield
    finally:
        for m, (training, tracking) in zip(norms, saved):
            m.train(training)
            m.track_running_stats = tracking


def forward_outputs(model: nn.Module, images: torch.Tensor) -> NetworkOutputs:
    """F, h and z of `model` on `images`, in whatever grad mode and norm mode the caller has set.

    h is what the network's `forward_pooled` says (see ClassifierNetwork); a TorchScript file that exports only
    `forward_features` (the documented minimum for a foreign teacher) gets the spatial mean of F."""
    if hasattr(model, "forward_pooled"):
        features, pooled = model.forward_pooled(images)
    else:
        features = model.forward_features(images)
        pooled = features.mean(dim=(2, 3)) if features.dim() == 4 else features
    if features.dim() != 4:
        raise ValueError(f"forward_features must return a 4-D (B, C, H, W) map, got shape {tuple(features.shape)}")
    return NetworkOutputs(features, pooled, model.classifier(pooled))
