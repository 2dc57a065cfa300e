"""The new-search form, described from the API's own request model: each field's default, bounds and help text
come from the JSON schema the API validates against, so the form shows this server's limits and cannot drift
from them. The server alone validates (the form is `novalidate`); its 422 is shown beside the field it names."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from api.schemas.requests import SEARCH_EXAMPLE, search_request_model
from api.settings import Settings
from diswot.devices import DEVICE_CHOICES
from diswot.initialisation import INIT_SCHEMES
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


# (section, [(field, kind)]): what a person choosing a search sets, in the order they decide it.
LAYOUT = [
    ("Teacher and probe data", [
        ("teacher", "text"), ("num_classes", "integer"), ("data", "text"), ("batch_size", "integer"),
        ("image_size", "integer"),
    ]),
    ("Search", [
        ("space", "select"), ("strategy", "select"), ("evaluations", "integer"), ("population", "integer"),
        ("sample_size", "integer"), ("crossover_rate", "number"), ("mutation_rate", "number"),
        ("objective", "select"), ("proxies", "list"), ("top_k", "integer"), ("concurrency", "integer"),
    ]),
    ("Budget", [("max_params", "count"), ("min_params", "count"), ("max_flops", "count")]),
    ("Seeds and initialisation", [
        ("seed", "integer"), ("search_seed", "integer"), ("init", "select"), ("inits", "integer"),
        ("shared_init", "checkbox"), ("device", "text"),
    ]),
    ("Confirm stage (the best candidates scored again, as the mean of more inits)", [
        ("confirm_top", "integer"), ("confirm_inits", "integer"),
    ]),
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
    }


def bound(schema: dict[str, Any], key: str) -> Optional[float]:
    """`minimum`/`maximum` of a field, also when it is Optional (the bound then sits inside `anyOf`)."""
    if key in schema:
        return schema[key]
    return next((option[key] for option in schema.get("anyOf", []) if key in option), None)


def search_form(settings: Settings) -> list[tuple[str, list[FormField]]]:
    schema = search_request_model(settings).model_json_schema()
    properties, required = schema["properties"], set(schema.get("required", []))
    options = choices()
    sections = []
    for title, entries in LAYOUT:
        form_fields = []
        for name, kind in entries:
            spec = properties[name]
            default = spec.get("default", SEARCH_EXAMPLE.get(name) if name in required else None)
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
        sections.append((title, form_fields))
    return sections
