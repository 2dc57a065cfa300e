"""The body of a distillation job (`POST /v1/distillations`): `diswot.distill`'s arguments, bounded by this
server's settings. The model is built per app because its bounds come from the settings."""

from __future__ import annotations

from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, create_model

from api.schemas.labels import LABEL_FIELDS
from api.schemas.requests import SEED_LIMIT, Spec
from api.settings import Settings
from diswot.devices import DEVICE_CHOICES
from diswot.distillation import DistillConfig
from diswot.distillation.losses import MIN_TEMPERATURE
from diswot.distillation.recipe import MODES, SCHEDULES

DEFAULTS = DistillConfig()
DISTILL_EXAMPLE = {
    "student": "resnet_cifar:3x16-3x32-3x64",
    "teacher": "resnet56",
    "checkpoint": "resnet56_cifar10.pt",
    "data": "cifar10.npz",
    "epochs": 30,
}


class SourceStudent(BaseModel):
    """A ranked student of a succeeded search on this server: the student to train, and a link back to it."""

    model_config = ConfigDict(extra="forbid", strict=True)
    search: str = Field(min_length=1, max_length=64, description="The search job's id.")
    rank: int = Field(1, ge=1, description="Its rank in the search's result (1 = best).")


def distill_request_model(settings: Settings) -> type[BaseModel]:
    weights = DEFAULTS.weights
    return create_model(
        "DistillRequest",
        # strict: `"epochs": true` is not 1, nor `"seed": "3"` 3.
        __config__=ConfigDict(
            extra="forbid", allow_inf_nan=False, strict=True, json_schema_extra={"examples": [DISTILL_EXAMPLE]}
        ),
        __doc__="Train a student by distillation from a frozen teacher (mode 'kd') or without one ('vanilla').",
        student=(
            Optional[Union[dict[str, Any], Spec]],
            Field(None, description="A student spec as a search result gives it (`students[i]`), or 'SPACE:ARCH'; "
                                    "leave it out to train `source`'s student."),
        ),
        source=(Optional[SourceStudent], Field(None, description="The search and rank the student comes from: "
                                                                 "its spec is taken from there when `student` is "
                                                                 "left out, and the two jobs link to each other.")),
        teacher=(Optional[Spec], Field(None, description="Zoo name, SPACE:ARCH, or a TorchScript file in the "
                                                         "server's teacher directory; needed by mode 'kd'.")),
        checkpoint=(Optional[Spec], Field(None, description="Trained teacher weights, in the teacher directory.")),
        data=(Spec, Field(description="Training data in the data directory: an .npz, cifar:DIR or folder:DIR.")),
        num_classes=(Optional[int], Field(None, ge=2, le=settings.max_num_classes,
                                          description="Classes of a 'SPACE:ARCH' student (needed for one); "
                                                      "with a spec, its classifier is rebuilt for this many.")),
        mode=(Literal[MODES], Field(DEFAULTS.mode)),  # type: ignore[valid-type]
        epochs=(int, Field(ge=1, le=settings.max_distill_epochs,
                           description=f"Training epochs (at most {settings.max_distill_epochs} here).")),
        batch_size=(int, Field(DEFAULTS.batch_size, ge=2, le=settings.max_distill_batch_size)),
        lr=(float, Field(DEFAULTS.lr, gt=0, le=10)),
        weight_decay=(float, Field(DEFAULTS.weight_decay, ge=0, le=1)),
        schedule=(Literal[SCHEDULES], Field(DEFAULTS.schedule)),  # type: ignore[valid-type]
        ce_weight=(float, Field(weights.cross_entropy, ge=0, le=1e6)),
        kd_weight=(float, Field(weights.kd, ge=0, le=1e6)),
        temperature=(float, Field(weights.temperature, ge=MIN_TEMPERATURE, le=1e3)),
        semantic_weight=(float, Field(0.0, ge=0, le=1e6)),
        relation_weight=(float, Field(0.0, ge=0, le=1e6)),
        seed=(int, Field(DEFAULTS.seed, ge=0, le=SEED_LIMIT, description="Batch order, crops, flips, held-out part.")),
        validation_fraction=(float, Field(DEFAULTS.validation_fraction, gt=0, lt=1)),
        image_size=(int, Field(DEFAULTS.image_size, ge=8, le=settings.max_image_size)),
        device=(Literal[DEVICE_CHOICES], Field("auto")),  # type: ignore[valid-type]
        **LABEL_FIELDS,
    )
