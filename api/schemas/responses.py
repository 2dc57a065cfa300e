"""Response bodies. Students, evaluations and scores are the library's own dataclasses, so the API returns
exactly the specs the CLI writes (`build_student` accepts them as they come)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Optional

from pydantic import BaseModel, Field

from diswot.scorer import CandidateScore
from diswot.student_search import Evaluation, StudentSpec

JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class ErrorMessage(BaseModel):
    detail: str = Field(examples=["field 'teacher': unknown teacher 'resnet57' (did you mean 'resnet56'?); valid: ..."])


# Error responses as the OpenAPI document lists them.
NOT_FOUND = {404: {"model": ErrorMessage, "description": "No such job."}}
CONFLICT = {409: {"model": ErrorMessage, "description": "The job is not in a state that allows this."}}
INVALID = {
    422: {"model": ErrorMessage, "description": "Invalid request: the detail names the field and what is valid."}
}
UNREADABLE = {400: {"model": ErrorMessage, "description": "The body could not be read (not UTF-8 JSON)."}}


SearchStage = Literal["calibration", "search", "confirm"]


class SearchJobProgress(BaseModel):
    evaluations: int = Field(description="Feasible candidates the search has scored (kept through the confirm stage).")
    total: Optional[int] = Field(description="Candidates the search will score (none for exhaustive search).")
    best_score: Optional[float]
    elapsed: Optional[float] = Field(description="Seconds since the job first started; none while queued.")
    eta: Optional[float] = Field(description="Estimated seconds left in the current stage, as of the last update.")
    stage: Optional[SearchStage] = Field(
        None, description="calibration (reference cells measured), search (candidates scored), confirm (the best "
                          "candidates scored again); none before the job starts.")
    stage_done: Optional[int] = Field(None, description="The stage's own count: cells, candidates or finalists.")
    stage_total: Optional[int] = Field(None, description="What the stage will count (none: not known).")


class JobFields(BaseModel):
    """What every job has, whatever its kind."""

    id: str
    status: JobStatus
    created_at: datetime
    started_at: Optional[datetime]
    finished_at: Optional[datetime]
    error: Optional[str] = Field(description="Why the job failed.")
    cancel_requested: bool
    runs: int = Field(description="Times a worker started the job; more than 1 when it resumed after a restart.")
    config: dict[str, Any] = Field(description="The validated request.")
    name: Optional[str] = Field(None, description="The job's name, if it was given one.")
    tags: list[str] = Field(default_factory=list)
    note: Optional[str] = None


class SearchJob(JobFields):
    progress: SearchJobProgress
    stop_reason: Optional[str] = Field(
        None, description="Why a succeeded search stopped: 'evaluations reached', 'space exhausted' (fewer "
                          "candidates met the budget than asked for), ...")


class SearchJobPage(BaseModel):
    items: list[SearchJob]
    total: int = Field(description="Jobs matching the filter, on all pages.")
    limit: int
    offset: int


class DistillationProgress(BaseModel):
    epochs_done: int = Field(description="Epochs trained and evaluated so far.")
    epochs: int = Field(description="Epochs the run trains.")
    best_top1: Optional[float] = Field(description="Best evaluation top-1 so far (%).")
    elapsed: Optional[float] = Field(description="Seconds since the job first started; none while queued.")
    eta: Optional[float] = Field(description="Estimated seconds left, from the epochs so far.")
    stage: Optional[Literal["training"]] = Field(None, description="training once the job runs.")


class DistillationJob(JobFields):
    progress: DistillationProgress


class DistillationJobPage(BaseModel):
    items: list[DistillationJob]
    total: int = Field(description="Jobs matching the filter, on all pages.")
    limit: int
    offset: int


class EpochPage(BaseModel):
    items: list[dict[str, float]] = Field(
        description="One record per epoch trained so far, in order (metrics.csv's columns: epoch, train_loss, "
                    "train_top1, eval_loss, eval_top1, eval_top5, train_seconds, ...).")


class EvaluationPage(BaseModel):
    items: list[Evaluation] = Field(description="Stored evaluations in the order they were made, from `offset` on.")
    offset: int


class NumberedEvaluation(BaseModel):
    number: int = Field(description="Its place in evaluation order, from 1.")
    evaluation: Evaluation


class EvaluationTable(BaseModel):
    items: list[NumberedEvaluation]
    total: int = Field(description="Evaluations matching the filters, on all pages.")
    limit: int
    offset: int


class SearchResultBody(BaseModel):
    id: str
    students: list[StudentSpec] = Field(description="The top_k students, best first.")
    pareto_front: list[StudentSpec] = Field(description="Non-dominated in (score up, cost down), cheapest first.")
    evaluations: int
    stop_reason: str
    seconds: float = Field(description="Seconds the last run of the search took.")
    diswot_version: str
    config: dict[str, Any]
    history: Optional[list[Evaluation]] = Field(
        None, description="Every candidate in evaluation order; null unless ?history=true."
    )
    best_scores: Optional[list[float]] = Field(
        None, description="Best score after each evaluation; null unless ?history=true."
    )
    calibrations: dict[str, Any] = Field(
        default_factory=dict, description="Per 'space/proxy': the reference scales a calibrated proxy used."
    )
    executor: dict[str, Any] = Field(
        default_factory=dict, description="Where it was scored: executor kind, workers and the devices used."
    )


class ScoreResponse(BaseModel):
    records: list[CandidateScore]


class SpaceInfo(BaseModel):
    name: str
    size: int
    description: str
    image_size: int = Field(description="The resolution its networks are made for: a request's default probe size.")
    reference_points: dict[str, str] = Field(
        description="Named architectures equal to published models (name -> architecture); a name is accepted "
        "wherever an architecture is.")


class TeacherCatalog(BaseModel):
    zoo: list[str] = Field(description="Named teachers.")
    imagenet: list[str] = Field(description="ImageNet teachers, as 'imagenet:NAME'.")
    spec_forms: str = Field(description="Every form a teacher spec can take.")
    files_accepted: bool = Field(description="Whether this server reads teacher files (from its teacher directory).")


class ProxyInfo(BaseModel):
    name: str
    higher_is_better: bool
    raw_direction: Literal["max", "min"]
    needs_teacher: bool
    needs_labels: bool
    needs_grad: bool
    summary: str
    reference: str


class StrategyInfo(BaseModel):
    name: str
    summary: str


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready", "not ready"]
    database: bool
    workers: bool
