"""Request bodies. They mirror a search request's flat fields and their defaults (`FLAT_DEFAULTS`), with the
bounds of this server's settings, so the OpenAPI document states every limit; the library then checks names and
meaning as it parses the request (`SearchRequest.parse`). The models are built per app because their bounds come
from its settings.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, StrictBool, WithJsonSchema, create_model
from pydantic_core import PydanticCustomError

from api.settings import Settings
from diswot.devices import DEVICE_CHOICES
from diswot.initialisation import INIT_SCHEMES
from diswot.proxies import DEFAULT_ALIAS, DEFAULT_PROXY, PROXIES
from diswot.student_search.budget import COUNT_FORM, MAX_COUNT
from diswot.student_search.request import DEFAULT_TOP_K, FLAT_DEFAULTS, OBJECTIVES
from diswot.student_search.strategies import STRATEGIES
from search_spaces import SPACES

# No control characters: they are never part of a name, an architecture or a path, and some break file APIs.
TEXT_PATTERN = r"^[^\x00-\x1f\x7f]*$"
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=TEXT_PATTERN)]
Spec = Annotated[str, Field(min_length=1, max_length=1024, pattern=TEXT_PATTERN)]
COUNT_TEXT_LENGTH = 32
SEED_LIMIT = 2**32 - 1


def count_value(value: Any) -> Union[int, str]:
    """A budget as the schema takes it: an integer in range, or a short string the library reads ('0.5M').
    One message for every wrong value (a plain union would report each member's complaint)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_COUNT:
        return value
    if isinstance(value, str) and len(value) <= COUNT_TEXT_LENGTH and re.fullmatch(TEXT_PATTERN, value):
        return value
    raise PydanticCustomError("count", f"must be {COUNT_FORM}")


Count = Annotated[
    Union[int, str],
    PlainValidator(count_value),
    WithJsonSchema(
        {
            "oneOf": [
                {"type": "integer", "minimum": 0, "maximum": MAX_COUNT},
                {"type": "string", "maxLength": COUNT_TEXT_LENGTH, "pattern": TEXT_PATTERN},
            ]
        }
    ),
]

SEARCH_DEFAULTS = dict(FLAT_DEFAULTS)
# The library keeps every student of an exhaustive search when top_k is unset; a server always bounds the result.
SEARCH_DEFAULTS["top_k"] = DEFAULT_TOP_K

SEARCH_EXAMPLE = {
    "teacher": "resnet56",
    "space": "resnet_cifar",
    "num_classes": 100,
    "strategy": "aging",
    "evaluations": 50,
    "max_params": "0.5M",
    "proxies": ["default", "params"],
    "data": "synthetic",
    "batch_size": 64,
    "seed": 0,
    "top_k": 5,
}
SCORE_EXAMPLE = {
    "teacher": "resnet56",
    "space": "resnet_cifar",
    "archs": ["3x16-3x32-3x64", "1x16-1x32-1x64"],
    "num_classes": 100,
    "proxies": ["diswot", "params"],
}


def one_of(names) -> str:
    """The valid names, written into the OpenAPI document (the library checks them and lists them on a typo)."""
    return "one of " + ", ".join(names)


def bounded(name: str, low: int, high: int, description: str) -> Any:
    """A field with the request's default (lowered to the server's limit) and the limit stated in the schema."""
    return Field(min(SEARCH_DEFAULTS[name], high), ge=low, le=high, description=f"{description} (at most {high} here)")


def probe_fields(settings: Settings) -> dict[str, Any]:
    """What a search and a scoring call share: the teacher, the probe batch, the networks' seed and init."""
    return dict(
        teacher=(
            Spec,
            Field(description="A zoo name, SPACE:ARCH, or a TorchScript file in the server's teacher directory."),
        ),
        space=(Name, Field(description=f"Search space: {one_of(SPACES)} (GET /v1/spaces).")),
        num_classes=(int, bounded("num_classes", 2, settings.max_num_classes, "Classes of teacher and students")),
        proxies=(
            list[Name],
            Field(
                SEARCH_DEFAULTS["proxies"],
                min_length=1,
                max_length=settings.max_list_length,
                description=f"Proxies, each {one_of(PROXIES)}, or '{DEFAULT_ALIAS}' ({DEFAULT_PROXY}); the first "
                "ranks the students (GET /v1/proxies).",
            ),
        ),
        data=(
            Spec,
            Field(
                SEARCH_DEFAULTS["data"], description="'synthetic', or a file or folder in the server's data directory."
            ),
        ),
        batch_size=(int, bounded("batch_size", 2, settings.max_batch_size, "Probe batch size")),
        image_size=(Optional[int], Field(None, ge=8, le=settings.max_image_size, description=(
            f"Probe image resolution (default: the space's, 32 px for CIFAR spaces, 224 for ImageNet ones; at most "
            f"{settings.max_image_size} here)."))),
        seed=(
            int,
            Field(SEARCH_DEFAULTS["seed"], ge=0, le=SEED_LIMIT, description="Seed of the probe batch and every init."),
        ),
        init=(Name, Field(SEARCH_DEFAULTS["init"], description=f"Init scheme: {one_of(INIT_SCHEMES)}.")),
        inits=(int, bounded("inits", 1, settings.max_inits, "Random inits of each student, scores averaged")),
        shared_init=(
            StrictBool,
            Field(SEARCH_DEFAULTS["shared_init"], description="Draw every layer from a seed of its name and shape."),
        ),
        device=(Name, Field(SEARCH_DEFAULTS["device"], description=f"{one_of(DEVICE_CHOICES)}, or cuda:N.")),
        checkpoint=(
            Optional[Spec],
            Field(None, description="Trained teacher weights, a file in the teacher directory."),
        ),
    )


def search_request_model(settings: Settings) -> type[BaseModel]:
    from api.schemas.labels import LABEL_FIELDS  # labels.py takes TEXT_PATTERN from here

    return create_model(
        "SearchRequest",
        __config__=ConfigDict(extra="forbid", allow_inf_nan=False, json_schema_extra={"examples": [SEARCH_EXAMPLE]}),
        __doc__="A search: a search request's fields, each within this server's limits.",
        **probe_fields(settings),
        strategy=(Name, Field(SEARCH_DEFAULTS["strategy"], description=f"Search strategy: {one_of(STRATEGIES)}.")),
        evaluations=(int, bounded("evaluations", 1, settings.max_evaluations, "Distinct feasible candidates to score")),
        population=(
            int,
            bounded("population", 2, settings.max_evaluations, "Population of the evolutionary strategies"),
        ),
        sample_size=(int, bounded("sample_size", 1, settings.max_evaluations, "Aging evolution's tournament sample")),
        crossover_rate=(float, Field(SEARCH_DEFAULTS["crossover_rate"], ge=0, le=1)),
        mutation_rate=(float, Field(SEARCH_DEFAULTS["mutation_rate"], ge=0, le=1)),
        objective=(
            Name,
            Field(
                SEARCH_DEFAULTS["objective"],
                description=f"Cost axis of NSGA-II and the Pareto front: {one_of(OBJECTIVES)}.",
            ),
        ),
        min_params=(Optional[Count], Field(None, description="e.g. 100000 or '100k'.")),
        max_params=(Optional[Count], Field(None, description="e.g. 500000 or '0.5M'.")),
        max_flops=(Optional[Count], Field(None, description="e.g. '40M'.")),
        max_latency=(Optional[Union[float, Annotated[str, Field(max_length=COUNT_TEXT_LENGTH, pattern=TEXT_PATTERN)]]],
                     Field(None, description="Seconds per forward pass a student may take: '5ms', '0.005s', or a "
                           "number of milliseconds; predicted from a per-block table on this server's machine.")),
        latency_device=(Name, Field(SEARCH_DEFAULTS["latency_device"], description="cpu or cuda: where latency is "
                                    "measured (this server's).")),
        latency_threads=(Optional[int], Field(SEARCH_DEFAULTS["latency_threads"], ge=1, le=256,
                                              description="CPU threads latency is measured with.")),
        latency_batch=(int, bounded("latency_batch", 1, settings.max_batch_size, "Batch latency is measured at")),
        latency_image_size=(Optional[int], Field(None, ge=8, le=settings.max_image_size,
                                                 description="Resolution latency is measured at (default: the "
                                                 "space's).")),
        search_seed=(
            Optional[int],
            Field(None, ge=0, le=SEED_LIMIT, description="Seed of the strategy's choices (default: seed)."),
        ),
        top_k=(int, bounded("top_k", 1, settings.max_top_k, "Students returned, best first")),
        confirm_top=(
            int,
            bounded("confirm_top", 0, settings.max_top_k, "Best candidates scored again at the end (0: none)"),
        ),
        confirm_inits=(
            int,
            bounded("confirm_inits", 0, settings.max_inits, "Inits of the confirm stage; students rank by their mean"),
        ),
        concurrency=(
            Optional[int],
            Field(None, ge=1, le=settings.max_concurrency,
                  description=f"Candidates in flight; the result depends on it (default here: "
                  f"{settings.executor_spec().default_concurrency}, this server's executor's "
                  f"default; at most {settings.max_concurrency})."),
        ),
        **LABEL_FIELDS,
    )


def score_request_model(settings: Settings) -> type[BaseModel]:
    return create_model(
        "ScoreRequest",
        __config__=ConfigDict(extra="forbid", allow_inf_nan=False, json_schema_extra={"examples": [SCORE_EXAMPLE]}),
        __doc__="Architectures of one space, scored against a teacher now, in the order given.",
        **probe_fields(settings),
        archs=(
            list[Spec],
            Field(
                min_length=1,
                max_length=settings.max_score_archs,
                description=f"Architectures of `space` (at most {settings.max_score_archs} here).",
            ),
        ),
    )
