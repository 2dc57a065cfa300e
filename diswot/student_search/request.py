"""What a search is asked to do: one frozen `SearchRequest` built from parts, parsed once at the edge.

The parts: how candidates are scored (`ScoringSetup`: teacher, probe data, proxies, seed, init), the `Budget`,
the strategy (`StrategyChoice`: its name and its own settings object, as Optuna's samplers take their own
arguments), the `ConfirmStage`, and the `Execution` (candidates in flight, and the executor that scores them).

Every edge turns its input into a request with `SearchRequest.parse` exactly once: the CLI's options, a batch
file's entry, an API body, a stored job the service resumes after a restart. Everything is checked there (a
wrong field raises FieldError naming it and what is valid, a budget no candidate meets is refused) and nothing
below checks it again: the runner, the run folder, the service's worker and the executors take the parsed value.

The flat form (`to_dict`, `parse`'s input) is what is stored: a run folder's request.json, a job's config, a
result's `config`. It names the strategy's settings alike for every strategy (`evaluations`, `population`, ...);
a request keeps those of its own strategy, so a random search's `population` is ignored, as it always was.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass, field, fields
from typing import Any, Mapping, Optional

from diswot.errors import DiswotError, FieldError, in_field, integer_field
from diswot.executors.spec import ExecutorSpec
from diswot.latency.budget import LatencyBudget
from diswot.probe_data import ProbeDataSpec
from diswot.scoring_setup import ScoringSetup
from diswot.student_search.budget import Budget
from diswot.student_search.strategies import STRATEGIES, Strategy, get_strategy
from search_spaces import SPACES, SearchSpace, get_space

OBJECTIVES = ("params", "flops", "latency")
DEFAULT_TOP_K = 10


@dataclass(frozen=True)
class StrategyChoice:
    """The strategy by name, its own settings, and the seed of its choices (None: the scoring seed)."""

    name: str = "aging"
    settings: Any = None  # the strategy's `Settings`; None: its defaults
    search_seed: Optional[int] = None

    def __post_init__(self) -> None:
        if self.settings is None:
            object.__setattr__(self, "settings", self.strategy_class.Settings())

    @property
    def strategy_class(self) -> type[Strategy]:
        return get_strategy(self.name)

    @property
    def evaluation_limit(self) -> Optional[int]:
        """Distinct feasible candidates scored at most (None: the strategy walks the whole space)."""
        return None if self.strategy_class.enumerates else self.settings.evaluations

    def build(self, space: SearchSpace, scoring_seed: int) -> Strategy:
        seed = scoring_seed if self.search_seed is None else self.search_seed
        return self.strategy_class(space, self.settings, random.Random(seed))


@dataclass(frozen=True)
class ConfirmStage:
    """The best `top` candidates are scored again as the mean of `inits` random inits, and the students are ranked
    by that mean (one init's ranking of the top is partly init luck). Its cost stays proportional: it scores no
    more networks than the search did, so a short search confirms fewer than `top` (`finalists`)."""

    top: int = 20
    inits: int = 5

    def adds_evidence(self, search_inits: int) -> bool:
        """With no more inits than the search used, scoring again would add nothing."""
        return self.top > 0 and self.inits > search_inits

    def first_new_init(self, search_inits: int) -> int:
        """A search that scored one init scored init 0 as the stage would: that score is taken, not made again."""
        return 1 if search_inits == 1 else 0

    def finalists(self, evaluated: int, search_inits: int) -> int:
        """How many of the `evaluated` candidates are confirmed: `top`, at most as many as the networks the search
        scored allow (each finalist costs `inits` minus the one taken from the search)."""
        networks_each = self.inits - self.first_new_init(search_inits)
        return min(self.top, evaluated, max(1, evaluated * search_inits // networks_each))


@dataclass(frozen=True)
class Execution:
    """Candidates in flight at once, and where they are scored. The strategy is told each result in the order it
    asked, so a result depends on `concurrency` and the seeds, never on the executor or its workers."""

    concurrency: int = 1
    executor: ExecutorSpec = field(default_factory=ExecutorSpec)


@dataclass(frozen=True)
class SearchRequest:
    space: str
    scoring: ScoringSetup
    budget: Budget = field(default_factory=Budget)
    latency: LatencyBudget = field(default_factory=LatencyBudget)
    strategy: StrategyChoice = field(default_factory=StrategyChoice)
    confirm: ConfirmStage = field(default_factory=ConfirmStage)
    execution: Execution = field(default_factory=Execution)
    objective: str = "params"  # the cost axis of NSGA-II and of the Pareto front: params, flops or latency
    top_k: Optional[int] = None  # students in the result; None: every candidate for exhaustive, else DEFAULT_TOP_K

    @classmethod
    def parse(cls, values: Mapping[str, Any], *, executor: Optional[ExecutorSpec] = None,
              allowed_teacher_dir: Optional[str] = None, allowed_data_dir: Optional[str] = None) -> "SearchRequest":
        """The request of a flat mapping of fields (`FLAT_DEFAULTS` lists them), checked as a whole.
        `executor`: where to score (default in-process); a `concurrency` left unset is its default. Files are read
        only from inside `allowed_teacher_dir` / `allowed_data_dir` when they are set."""
        unknown = sorted(set(values) - set(FLAT_DEFAULTS))
        if unknown:
            raise FieldError(unknown[0], f"unknown field; valid fields: {', '.join(sorted(FLAT_DEFAULTS))}")
        missing = [name for name in ("teacher", "space") if name not in values]
        if missing:
            raise FieldError(missing[0], "is required")
        given = with_space_resolution({**FLAT_DEFAULTS, **values})
        in_field("space", lambda: get_space(given["space"]))
        space = get_space(given["space"])
        in_field("strategy", lambda: get_strategy(given["strategy"]))
        strategy_class = get_strategy(given["strategy"])
        if given["objective"] not in OBJECTIVES:
            raise FieldError("objective", f"must be one of {', '.join(OBJECTIVES)}, got {given['objective']!r}")
        settings_fields = [f.name for f in fields(strategy_class.Settings)]
        settings = strategy_class.Settings(**{name: given[name] for name in settings_fields})
        if given["search_seed"] is not None:
            integer_field("search_seed", given["search_seed"], 0)
        if given["top_k"] is not None:
            integer_field("top_k", given["top_k"], 1)
        confirm = ConfirmStage(integer_field("confirm_top", given["confirm_top"], 0),
                               integer_field("confirm_inits", given["confirm_inits"], 0))
        executor = executor if executor is not None else ExecutorSpec()
        concurrency = given["concurrency"]
        concurrency = executor.default_concurrency if concurrency is None else integer_field("concurrency",
                                                                                             concurrency, 1)
        request = cls(
            space=given["space"],
            scoring=scoring_setup_of(given, allowed_teacher_dir, allowed_data_dir),
            budget=Budget.parse(given["min_params"], given["max_params"], given["max_flops"]),
            latency=LatencyBudget.parse(given["max_latency"], given["latency_device"], given["latency_threads"],
                                        given["latency_batch"], given["latency_image_size"], space),
            strategy=StrategyChoice(given["strategy"], settings, given["search_seed"]),
            confirm=confirm,
            execution=Execution(concurrency, executor),
            objective=given["objective"],
            top_k=given["top_k"],
        )
        request.check_budget_reachable()
        return request

    def to_dict(self) -> dict[str, Any]:
        """The flat form: every field that decides the result (the executor does not), `parse`'s input."""
        scoring, probe = self.scoring, self.scoring.probe
        flat = {
            "teacher": scoring.teacher, "space": self.space, "num_classes": scoring.num_classes,
            "strategy": self.strategy.name, **dataclasses.asdict(self.strategy.settings),
            "objective": self.objective, "proxies": list(scoring.proxies),
            "min_params": self.budget.min_params, "max_params": self.budget.max_params,
            "max_flops": self.budget.max_flops, **self.latency_fields(), "data": probe.source,
            "batch_size": probe.batch_size, "image_size": probe.image_size, "seed": scoring.seed,
            "search_seed": self.strategy.search_seed,
            "init": scoring.init, "inits": scoring.inits, "shared_init": scoring.shared_init, "device": scoring.device,
            "checkpoint": scoring.checkpoint, "top_k": self.top_k, "confirm_top": self.confirm.top,
            "confirm_inits": self.confirm.inits, "concurrency": self.execution.concurrency,
        }
        return {name: flat[name] for name in FLAT_DEFAULTS if name in flat}

    def latency_fields(self) -> dict[str, Any]:
        """The latency budget's flat fields (`max_latency` in milliseconds, as `parse` reads a bare number); none
        for a search that does not time its candidates (as a strategy's settings are kept for that strategy only)."""
        if not self.times_latency:
            return {}
        latency, setting = self.latency, self.latency.setting
        return {"max_latency": None if latency.max_seconds is None else latency.max_seconds * 1e3,
                "latency_device": setting.device, "latency_threads": setting.threads,
                "latency_batch": setting.batch_size, "latency_image_size": setting.image_size}

    @property
    def times_latency(self) -> bool:
        """Whether candidates' latencies are predicted: for a latency budget or the latency objective."""
        return self.latency.max_seconds is not None or self.objective == "latency"

    @property
    def search_space(self) -> SearchSpace:
        return get_space(self.space)

    @property
    def students_kept(self) -> Optional[int]:
        if self.top_k is not None:
            return self.top_k
        return None if self.strategy.strategy_class.enumerates else DEFAULT_TOP_K

    @property
    def confirms(self) -> bool:
        return self.confirm.adds_evidence(self.scoring.inits)

    def describe_budget(self) -> str:
        parts = [self.budget.describe()] if not self.budget.unlimited else []
        if self.latency.max_seconds is not None:
            parts.append(self.latency.describe())
        return ", ".join(parts) or "none"

    def build_strategy(self) -> Strategy:
        return self.strategy.build(self.search_space, self.scoring.seed)

    def check_budget_reachable(self) -> None:
        """Fail now when no candidate of the space can meet the budget."""
        if self.budget.unlimited:
            return
        space, classes = self.search_space, self.scoring.num_classes
        smallest, largest = space.extreme_archs()  # costed at the space's resolution, as candidates are
        self.budget.check_reachable(space.cost(smallest, classes), space.cost(largest, classes), space.name)

    def with_execution(self, execution: Execution) -> "SearchRequest":
        """The same search run as `execution` says (a parsed execution: nothing is checked again)."""
        return dataclasses.replace(self, execution=execution)


def with_space_resolution(values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` with an unset `image_size` set to the resolution the `space`'s networks are made for
    (`SearchSpace.default_image_size`: 32 px for the CIFAR spaces, 224 for the ImageNet ones)."""
    values = dict(values)
    if values.get("image_size") is None:
        space = values.get("space")
        values["image_size"] = (get_space(space).default_image_size if isinstance(space, str) and space in SPACES
                                else ProbeDataSpec.image_size)
    return values


def scoring_setup_of(values: Mapping[str, Any], allowed_teacher_dir: Optional[str] = None,
                     allowed_data_dir: Optional[str] = None) -> ScoringSetup:
    """The scoring part of a flat request (FieldError naming a wrong field); an unset `image_size` is the
    `space`'s resolution."""
    values = with_space_resolution(values)
    try:
        probe = ProbeDataSpec(source=values["data"], batch_size=values["batch_size"],
                              image_size=values["image_size"], seed=values["seed"])
    except DiswotError as error:
        raise FieldError("data", str(error)) from None
    proxies = values["proxies"]
    if isinstance(proxies, str):  # "diswot, params", as a batch file or a form may write it
        proxies = [name.strip() for name in proxies.split(",") if name.strip()]
    return ScoringSetup(
        teacher=values["teacher"], num_classes=values["num_classes"], probe=probe, proxies=proxies,
        seed=values["seed"], init=values["init"], inits=values["inits"], shared_init=values["shared_init"],
        device=values["device"], checkpoint=values["checkpoint"], allowed_teacher_dir=allowed_teacher_dir,
        allowed_data_dir=allowed_data_dir,
    )


def _flat_defaults() -> dict[str, Any]:
    """Every flat field and its default, each taken from the part that defines it."""
    scoring, probe = ScoringSetup(teacher=None, proxies=("params",)), ProbeDataSpec()
    strategy_settings: dict[str, Any] = {}
    for name in STRATEGIES:
        strategy_settings.update(dataclasses.asdict(get_strategy(name).Settings()))
    request = SearchRequest(space="", scoring=scoring)
    latency = request.latency.setting
    return {
        "teacher": None, "space": None, "num_classes": scoring.num_classes, "strategy": request.strategy.name,
        **{name: value for name, value in strategy_settings.items() if name != "objective"},
        "objective": request.objective, "proxies": list(ScoringSetup.__dataclass_fields__["proxies"].default),
        "min_params": None, "max_params": None, "max_flops": None, "max_latency": None,
        "latency_device": latency.device, "latency_threads": latency.threads, "latency_batch": latency.batch_size,
        "latency_image_size": None,  # None: the space's resolution
        "data": probe.source, "batch_size": probe.batch_size,
        "image_size": None,  # None: the space's resolution (`SearchSpace.default_image_size`)
        "seed": scoring.seed,
        "search_seed": request.strategy.search_seed, "init": scoring.init, "inits": scoring.inits,
        "shared_init": scoring.shared_init, "device": scoring.device, "checkpoint": scoring.checkpoint,
        "top_k": request.top_k, "confirm_top": request.confirm.top, "confirm_inits": request.confirm.inits,
        "concurrency": None,  # None: the executor's default (`ExecutorSpec.default_concurrency`)
    }


# The flat fields in their stored order, with their defaults (`teacher` and `space` are required).
FLAT_DEFAULTS: dict[str, Any] = _flat_defaults()
