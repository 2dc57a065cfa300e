"""Searching a space for the students to distil into: strategies, budgets, stores, results."""

from diswot.student_search.budget import Budget
from diswot.student_search.evaluation import Evaluation
from diswot.student_search.result import (
    SearchResult, StudentSpec, build_student, hypervolume, pareto_front, read_student_spec, script_student,
)
from diswot.student_search.request import ConfirmStage, Execution, SearchRequest, StrategyChoice
from diswot.student_search.runner import SearchCancelled, SearchProgress, search
from diswot.student_search.store import EvaluationStore, JsonlStore, MemoryStore

__all__ = [
    "Budget",
    "ConfirmStage",
    "Evaluation",
    "EvaluationStore",
    "Execution",
    "JsonlStore",
    "MemoryStore",
    "SearchCancelled",
    "SearchProgress",
    "SearchRequest",
    "SearchResult",
    "StrategyChoice",
    "StudentSpec",
    "build_student",
    "hypervolume",
    "pareto_front",
    "read_student_spec",
    "script_student",
    "search",
]
