"""The training recipe: the standard CIFAR one by default (SGD, momentum 0.9, weight decay 5e-4, lr 0.05, batch
64, as RepDistiller and DisWOT's training script use), with a cosine or a step schedule."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from diswot.distillation.losses import LossWeights
from diswot.errors import DiswotError
from diswot.probe_data import CIFAR_MEAN, CIFAR_STD

MODES = ("kd", "vanilla")
SCHEDULES = ("cosine", "step")
# RepDistiller's step schedule divides the rate by 10 at epochs 150, 180 and 210 of 240: these fractions of it.
STEP_FRACTIONS = (0.625, 0.75, 0.875)
STEP_FACTOR = 0.1


@dataclass(frozen=True)
class DistillConfig:
    epochs: int = 240
    mode: str = "kd"  # kd: with the teacher; vanilla: cross-entropy alone, the same recipe, no teacher
    weights: LossWeights = field(default_factory=LossWeights)
    batch_size: int = 64
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = "cosine"
    seed: int = 0  # batch order, crops, flips and the validation split (the student's init is its spec's)
    validation_fraction: float = 0.1  # held out of train when the data has no test split
    image_size: int = 32
    mean: tuple[float, float, float] = CIFAR_MEAN
    std: tuple[float, float, float] = CIFAR_STD
    augment: bool = True

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise DiswotError(f"unknown mode {self.mode!r}; valid: {', '.join(MODES)}")
        if self.schedule not in SCHEDULES:
            raise DiswotError(f"unknown schedule {self.schedule!r}; valid: {', '.join(SCHEDULES)}")
        if self.epochs < 1:
            raise DiswotError(f"epochs must be at least 1, got {self.epochs}")
        if self.batch_size < 2:
            raise DiswotError(f"batch size must be at least 2 (BatchNorm trains on batches), got {self.batch_size}")
        if not self.lr > 0:
            raise DiswotError(f"the learning rate must be > 0, got {self.lr}")
        if not 0 <= self.momentum < 1 or not self.weight_decay >= 0:
            raise DiswotError("momentum must be in [0, 1) and weight decay >= 0")
        if not 0 < self.validation_fraction < 1:
            raise DiswotError(f"the validation fraction must be in (0, 1), got {self.validation_fraction}")
        if self.image_size < 8:
            raise DiswotError(f"image size must be at least 8 pixels, got {self.image_size}")
        if self.mode == "vanilla" and (self.weights.semantic > 0 or self.weights.relation > 0):
            raise DiswotError("the semantic and relation losses need a teacher: use mode 'kd', or drop their weights")

    @property
    def distilling(self) -> bool:
        return self.mode == "kd"

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["mean"], values["std"] = list(self.mean), list(self.std)
        return values

    def described(self) -> dict[str, Any]:
        """The recipe as distill.json reports it: only what the mode uses (vanilla trains on cross-entropy
        alone, so it has no loss weights)."""
        values = self.to_dict()
        if not self.distilling:
            del values["weights"]
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "DistillConfig":
        values = dict(values)
        values["weights"] = LossWeights(**values["weights"])
        values["mean"], values["std"] = tuple(values["mean"]), tuple(values["std"])
        return cls(**values)


def make_optimiser(model: nn.Module, config: DistillConfig) -> torch.optim.SGD:
    return torch.optim.SGD(
        model.parameters(), lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
    )


def make_scheduler(optimiser: torch.optim.Optimizer, config: DistillConfig) -> torch.optim.lr_scheduler.LRScheduler:
    """Stepped once per epoch."""
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=config.epochs)
    milestones = sorted({max(1, round(fraction * config.epochs)) for fraction in STEP_FRACTIONS})
    return torch.optim.lr_scheduler.MultiStepLR(optimiser, milestones=milestones, gamma=STEP_FACTOR)
