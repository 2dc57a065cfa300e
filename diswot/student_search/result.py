"""A search's result: ranked students, the Pareto front and the history, each student a self-contained spec."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import moocore
import torch
from torch import nn

from diswot.errors import DiswotError
from diswot.initialisation import build_initialised
from diswot.student_search.evaluation import Evaluation
from search_spaces import get_space


@dataclass
class StudentSpec:
    """Everything needed to rebuild a found student and to know how it was scored."""

    space: str
    arch: str  # canonical
    num_classes: int
    params: int
    flops: int
    score: float
    scores: dict[str, float]
    terms: dict[str, float]
    teacher: str
    seed: int
    init: str
    diswot_version: str
    rank: int = 0
    inits: int = 1  # random inits its scores are the mean of
    shared_init: bool = False  # layers drawn by name (common random numbers across students)
    # The confirm stage's mean and standard deviation of `score` over `confirm_inits` inits (None: not confirmed);
    # confirmed students rank by `confirmed_score`, ahead of the rest.
    confirmed_score: float | None = None
    confirmed_spread: float | None = None
    confirm_inits: int = 0
    # Seconds per forward pass where the search timed its candidates (a latency budget or objective): predicted
    # from the latency table, and, for the ranked students, measured directly (`latency_setting` says where).
    latency: float | None = None
    measured_latency: float | None = None
    latency_setting: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "StudentSpec":
        return cls(**values)


def read_student_spec(path: str | Path, rank: int = 1) -> StudentSpec:
    """The student in a spec file (one student's JSON) or in a search's result.json (`rank`: 1 = best)."""
    try:
        document = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DiswotError(f"cannot read student spec {path}: {error}") from None
    if isinstance(document, dict) and "students" in document:
        students = document["students"]
        if not 1 <= rank <= len(students):
            raise DiswotError(f"--rank must be between 1 and {len(students)} for {path}")
        document = students[rank - 1]
    try:
        student = StudentSpec.from_dict(document)
    except TypeError as error:
        raise DiswotError(f"{path} is not a student spec: {error}") from None
    get_space(student.space).parse(student.arch)  # a hand-edited spec with a bad architecture fails here
    return student


def build_student(spec: StudentSpec | dict) -> nn.Module:
    """The student's network, initialised exactly as it was when scored (the first of its inits, if several
    were averaged), ready to be trained."""
    if isinstance(spec, dict):
        spec = StudentSpec.from_dict(spec)
    space = get_space(spec.space)
    return build_initialised(space, spec.arch, spec.num_classes, seed=spec.seed, scheme=spec.init,
                             shared=spec.shared_init)


def script_student(spec: StudentSpec | dict) -> torch.jit.ScriptModule:
    """The student as TorchScript in eval mode (what `diswot export` writes): loads without diswot installed."""
    return torch.jit.script(build_student(spec).eval())


@dataclass
class SearchResult:
    config: dict[str, Any]
    students: list[StudentSpec]  # the top_k feasible candidates (all, for exhaustive), best first
    pareto_front: list[StudentSpec]  # non-dominated in (score up, cost down), cheapest first
    history: list[Evaluation]  # every distinct candidate in the order it was first evaluated
    evaluations: int  # feasible candidates scored
    stop_reason: str
    seconds: float
    diswot_version: str
    best_scores: list[float] = field(default_factory=list)  # best score after each feasible evaluation
    # Per "space/proxy": the robust scales a calibrated proxy standardised its terms with (diswot.calibration).
    calibrations: dict[str, Any] = field(default_factory=dict)
    # Where it was scored: the executor's kind, its workers and the devices they scored on (diswot.executors).
    executor: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config,
            "students": [s.to_dict() for s in self.students],
            "pareto_front": [s.to_dict() for s in self.pareto_front],
            "history": [e.to_dict() for e in self.history],
            "evaluations": self.evaluations,
            "stop_reason": self.stop_reason,
            "seconds": self.seconds,
            "diswot_version": self.diswot_version,
            "best_scores": self.best_scores,
            "calibrations": self.calibrations,
            "executor": self.executor,
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "SearchResult":
        return cls(
            config=values["config"],
            students=[StudentSpec.from_dict(s) for s in values["students"]],
            pareto_front=[StudentSpec.from_dict(s) for s in values["pareto_front"]],
            history=[Evaluation.from_dict(e) for e in values["history"]],
            evaluations=values["evaluations"],
            stop_reason=values["stop_reason"],
            seconds=values["seconds"],
            diswot_version=values["diswot_version"],
            best_scores=values.get("best_scores", []),
            calibrations=values.get("calibrations", {}),
            executor=values.get("executor", {}),
        )


def pareto_front(evaluations: list[Evaluation], objective: str) -> list[Evaluation]:
    """Feasible evaluations no other beats on both score (higher) and cost (lower), cheapest first. A score of
    -inf (a student that cannot learn, such as one whose output ignores its input) or NaN is on no front."""
    scored = (e for e in evaluations if e.feasible and e.score > float("-inf"))
    ordered = sorted(scored, key=lambda e: (getattr(e, objective), -e.score))
    front: list[Evaluation] = []
    for evaluation in ordered:
        if not front or evaluation.score > front[-1].score:
            front.append(evaluation)
    return front


def hypervolume(front: Sequence[Evaluation | StudentSpec], objective: str, reference: tuple[float, float]) -> float:
    """The area a front dominates in (score up, cost down), bounded by `reference` = (lowest score, highest
    `objective` cost): one number for how much of the trade-off a search found, to compare two fronts on one
    reference. A point no better than the reference in both adds nothing. Computed by moocore (DEAP's own
    hypervolume backend), which minimises every objective, hence the negated scores."""
    if not front:
        return 0.0
    points = [(-member.score, float(getattr(member, objective))) for member in front]
    return float(moocore.hypervolume(points, ref=[-reference[0], reference[1]]))
