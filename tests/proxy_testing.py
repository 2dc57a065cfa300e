"""What the proxy tests share: a scorer without a teacher, and a network that runs out of memory on demand."""

import torch
from torch import nn

from diswot import ProbeDataSpec, ScoringSetup


def teacher_free_scorer(proxies, batch_size=8, classes=10):
    """A scorer of `proxies` (none teacher-aware) on a small synthetic probe batch of 16x16 images."""
    probe = ProbeDataSpec(batch_size=batch_size, image_size=16)
    return ScoringSetup(None, num_classes=classes, probe=probe, proxies=tuple(proxies), device="cpu").build_scorer()


class FailsAboveBatch(nn.Module):
    """Wraps a network so that a forward pass over more than `limit` images runs out of memory."""

    def __init__(self, inner, limit):
        super().__init__()
        self.inner = inner
        self.limit = limit
        self.batches = []

    def _check(self, x):
        self.batches.append(len(x))
        if len(x) > self.limit:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (injected)")

    def forward_features(self, x):
        self._check(x)
        return self.inner.forward_features(x)

    def forward(self, x):
        self._check(x)
        return self.inner(x)
