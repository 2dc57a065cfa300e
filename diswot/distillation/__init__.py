"""Training the chosen student by distillation (`diswot distill`): losses, data and recipe, the trainer with
its per-epoch checkpoint, and the run folder's outputs."""

from diswot.distillation.losses import LossWeights
from diswot.distillation.recipe import DistillConfig
from diswot.distillation.trainer import DistillProgress, DistillResult, DistillStopped, distill

__all__ = ["DistillConfig", "DistillProgress", "DistillResult", "DistillStopped", "LossWeights", "distill"]
