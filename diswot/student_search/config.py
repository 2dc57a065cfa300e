"""What a search is asked to do, validated as a whole before any work starts."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Optional

from diswot.errors import DiswotError, FieldError, in_field
from diswot.probe_data import ProbeDataSpec
from diswot.proxies import DEFAULT_PROXY
from diswot.scoring_setup import ScoringSetup
from diswot.student_search.budget import Budget, parse_count
from diswot.student_search.strategies import get_strategy
from search_spaces import get_space

OBJECTIVES = ("params", "flops")
DEFAULT_TOP_K = 10
DEFAULT_CONFIRM_TOP = 20
DEFAULT_CONFIRM_INITS = 5


@dataclass
class SearchConfig:
    """Everything that determines a search's result. `seed` sets the probe batch and every network's init;
    `search_seed` (default: `seed`) sets the strategy's random choices."""

    teacher: str
    space: str
    num_classes: int = 100
    strategy: str = "aging"
    evaluations: int = 500
    population: int = 100
    sample_size: int = 10
    crossover_rate: float = 0.5
    mutation_rate: float = 1.0  # every child mutated: crossing two cells often rebuilds a parent
    objective: str = "params"  # the cost axis of NSGA-II and of the Pareto front
    proxies: list[str] = field(default_factory=lambda: [DEFAULT_PROXY])  # "default" names DEFAULT_PROXY
    min_params: Optional[int] = None
    max_params: Optional[int] = None
    max_flops: Optional[int] = None
    data: str = "synthetic"
    batch_size: int = 64
    image_size: int = 32
    seed: int = 0
    search_seed: Optional[int] = None
    init: str = "default"
    inits: int = 1  # random inits averaged per candidate
    shared_init: bool = False  # every layer drawn from a seed of its name: common random numbers across students
    device: str = "auto"
    checkpoint: Optional[str] = None
    top_k: Optional[int] = None  # students in the result; None: every candidate for exhaustive, else 10
    # The confirm stage: the best `confirm_top` candidates are scored again as the mean of `confirm_inits` random
    # inits, and the students are ranked by that mean (one init's ranking of the top is partly init luck).
    confirm_top: int = DEFAULT_CONFIRM_TOP
    confirm_inits: int = DEFAULT_CONFIRM_INITS
    # Candidates in flight at once: the strategy is told each result in the order it asked, so the result depends
    # on this and the seeds, never on how many workers score them (see `runner`). Stored requests predate it: 1.
    concurrency: int = 1

    @property
    def confirms(self) -> bool:
        """Whether the confirm stage adds evidence: with no more inits than the search used it would not."""
        return self.confirm_top > 0 and self.confirm_inits > self.inits

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "SearchConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise FieldError(unknown[0], f"unknown field; valid fields: {', '.join(sorted(known))}")
        missing = [name for name in ("teacher", "space") if name not in values]
        if missing:
            raise FieldError(missing[0], "is required")
        config = cls(**values)
        config.validate()
        return config

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def budget(self) -> Budget:
        return Budget(self.min_params, self.max_params, self.max_flops)

    @property
    def students_kept(self) -> Optional[int]:
        if self.top_k is not None:
            return self.top_k
        return None if get_strategy(self.strategy).enumerates else DEFAULT_TOP_K

    @property
    def evaluation_limit(self) -> Optional[int]:
        """Distinct feasible candidates scored at most (None: the strategy walks the whole space)."""
        return None if get_strategy(self.strategy).enumerates else self.evaluations

    @property
    def strategy_seed(self) -> int:
        return self.seed if self.search_seed is None else self.search_seed

    def probe_spec(self) -> ProbeDataSpec:
        return ProbeDataSpec(source=self.data, batch_size=self.batch_size, image_size=self.image_size, seed=self.seed)

    def scoring_setup(self, allowed_teacher_dir: Optional[str] = None,
                      allowed_data_dir: Optional[str] = None) -> ScoringSetup:
        """How this search's candidates are scored (validated: a wrong field raises FieldError naming it)."""
        try:
            probe = self.probe_spec()
        except DiswotError as error:
            raise FieldError("data", str(error)) from None
        return ScoringSetup(
            teacher=self.teacher, num_classes=self.num_classes, probe=probe, proxies=tuple(self.proxies),
            seed=self.seed, init=self.init, inits=self.inits, shared_init=self.shared_init, device=self.device,
            checkpoint=self.checkpoint, allowed_teacher_dir=allowed_teacher_dir, allowed_data_dir=allowed_data_dir,
        )

    def validate(self) -> None:
        """Check every field; raise DiswotError naming the field that is wrong and what is valid."""
        self.min_params = parse_count(self.min_params, "min_params")
        self.max_params = parse_count(self.max_params, "max_params")
        self.max_flops = parse_count(self.max_flops, "max_flops")
        if isinstance(self.proxies, str):
            self.proxies = [name.strip() for name in self.proxies.split(",") if name.strip()]
        in_field("space", lambda: get_space(self.space))
        in_field("strategy", lambda: get_strategy(self.strategy))
        for name, low in (("num_classes", 2), ("evaluations", 1), ("population", 2), ("sample_size", 1), ("top_k", 1),
                          ("confirm_top", 0), ("confirm_inits", 0), ("concurrency", 1)):
            value = getattr(self, name)
            if name == "top_k" and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise FieldError(name, f"must be an integer >= {low}, got {value!r}")
        self.proxies = list(self.scoring_setup().proxies)
        in_field("min_params", lambda: self.budget)
        if self.sample_size > self.population:
            raise FieldError("sample_size", f"{self.sample_size} must not exceed population ({self.population})")
        for name in ("crossover_rate", "mutation_rate"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise FieldError(name, f"must be a probability in [0, 1], got {value!r}")
        if self.objective not in OBJECTIVES:
            raise FieldError("objective", f"must be one of {', '.join(OBJECTIVES)}, got {self.objective!r}")

