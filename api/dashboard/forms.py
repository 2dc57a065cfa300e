"""The new-search and new-distillation forms, described from the API's own request models: each field's default,
bounds and help text come from the JSON schema the API validates against, so a form shows this server's limits
and cannot drift from them. The server alone validates (a form is `novalidate`); its 422 is shown beside the
field it names."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from pydantic import BaseModel

from api.schemas.distill_requests import DISTILL_EXAMPLE, distill_request_model
from api.schemas.requests import SEARCH_EXAMPLE, search_request_model
from api.settings import Settings
from diswot.distillation.recipe import MODES, SCHEDULES
from diswot.devices import DEVICE_CHOICES
from diswot.initialisation import INIT_SCHEMES
from diswot.latency.budget import LATENCY_DEVICES
from diswot.proxies import PROXIES
from diswot.student_search.request import OBJECTIVES
from diswot.student_search.strategies import STRATEGIES
from search_spaces.zoo import list_models
from search_spaces import SPACES


@dataclass
class FormField:
    name: str
    label: str
    kind: str  # integer, number, text, select, checkbox, list (comma-separated), count (e.g. 0.5M)
    default: Any = None
    minimum: Optional[float] = None
    maximum: Optional[float] = None
    help: str = ""
    required: bool = False
    options: list[str] = field(default_factory=list)  # the choices of a select, the suggestions of a text field


@dataclass
class FormSection:
    title: str
    fields: list[FormField]
    advanced: bool = False  # folded away until opened (it opens itself when one of its fields has an error)


# (section, [(field, kind)], advanced): what a person choosing a search sets, in the order they decide it; the
# settings most searches leave at their defaults are folded into the advanced sections.
SEARCH_LAYOUT = [
    ("Teacher and probe data", [("teacher", "text"), ("num_classes", "integer"), ("data", "text")], False),
    ("Search", [("space", "select"), ("strategy", "select"), ("evaluations", "integer"), ("proxies", "list"),
                ("top_k", "integer")], False),
    ("Budget", [("max_params", "count"), ("min_params", "count"), ("max_flops", "count"), ("max_latency", "text")],
     False),
    ("Name, tags and note", [("name", "text"), ("tags", "list"), ("note", "text")], False),
    ("Advanced: probe batch and strategy settings", [
        ("batch_size", "integer"), ("image_size", "integer"), ("population", "integer"), ("sample_size", "integer"),
        ("crossover_rate", "number"), ("mutation_rate", "number"), ("objective", "select"),
        ("concurrency", "integer"),
    ], True),
    ("Advanced: seeds and initialisation", [
        ("seed", "integer"), ("search_seed", "integer"), ("init", "select"), ("inits", "integer"),
        ("shared_init", "checkbox"), ("device", "text"), ("checkpoint", "text"),
    ], True),
    ("Advanced: confirm stage (the best candidates scored again, as the mean of more inits)", [
        ("confirm_top", "integer"), ("confirm_inits", "integer"),
    ], True),
    ("Advanced: where latency is measured (for max_latency and the latency objective)", [
        ("latency_device", "select"), ("latency_threads", "integer"), ("latency_batch", "integer"),
        ("latency_image_size", "integer"),
    ], True),
]

DISTILL_LAYOUT = [
    ("Student and data", [("data", "text"), ("num_classes", "integer"), ("epochs", "integer")], False),
    ("Teacher", [("mode", "select"), ("teacher", "text"), ("checkpoint", "text")], False),
    ("Name, tags and note", [("name", "text"), ("tags", "list"), ("note", "text")], False),
    ("Advanced: recipe", [
        ("batch_size", "integer"), ("lr", "number"), ("weight_decay", "number"), ("schedule", "select"),
        ("seed", "integer"), ("validation_fraction", "number"), ("image_size", "integer"), ("device", "select"),
    ], True),
    ("Advanced: loss weights (mode kd)", [
        ("ce_weight", "number"), ("kd_weight", "number"), ("temperature", "number"), ("semantic_weight", "number"),
        ("relation_weight", "number"),
    ], True),
]


def choices() -> dict[str, list[str]]:
    """The registries' names: the options of each select and the suggestions of a free-text field."""
    return {
        "teacher": list_models(),
        "space": SPACES.names(),
        "strategy": STRATEGIES.names(),
        "objective": list(OBJECTIVES),
        "proxies": PROXIES.names(),
        "init": list(INIT_SCHEMES),
        "device": list(DEVICE_CHOICES),
        "latency_device": list(LATENCY_DEVICES),
        "mode": list(MODES),
        "schedule": list(SCHEDULES),
    }


def bound(schema: dict[str, Any], key: str) -> Optional[float]:
    """`minimum`/`maximum` of a field, also when it is Optional (the bound then sits inside `anyOf`)."""
    if key in schema:
        return schema[key]
    return next((option[key] for option in schema.get("anyOf", []) if key in option), None)


def form_sections(model: type[BaseModel], layout: list, example: dict[str, Any]) -> list[FormSection]:
    """The sections of `layout` with each field described by `model`'s JSON schema (a required field shows
    `example`'s value)."""
    schema = model.model_json_schema()
    properties, required = schema["properties"], set(schema.get("required", []))
    options = choices()
    sections = []
    for title, entries, advanced in layout:
        form_fields = []
        for name, kind in entries:
            spec = properties[name]
            default = spec.get("default", example.get(name) if name in required else None)
            if kind == "list" and default is not None:
                default = ", ".join(default)
            form_fields.append(
                FormField(
                    name=name,
                    label=spec.get("title", name),
                    kind=kind,
                    default=default,
                    minimum=bound(spec, "minimum"),
                    maximum=bound(spec, "maximum"),
                    help=spec.get("description", ""),
                    required=name in required,
                    options=options.get(name, []),
                )
            )
        sections.append(FormSection(title, form_fields, advanced))
    return sections


def search_form(settings: Settings) -> list[FormSection]:
    return form_sections(search_request_model(settings), SEARCH_LAYOUT, SEARCH_EXAMPLE)


def distill_form(settings: Settings) -> list[FormSection]:
    return form_sections(distill_request_model(settings), DISTILL_LAYOUT, DISTILL_EXAMPLE)
