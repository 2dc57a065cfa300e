"""Searching a space for the students to distil into: strategies, budgets, stores, results."""

from diswot.student_search.budget import Budget
from diswot.student_search.config import SearchConfig
from diswot.student_search.evaluation import Evaluation
from diswot.student_search.result import (
    SearchResult, StudentSpec, build_student, hypervolume, pareto_front, script_student,
)
from diswot.student_search.runner import SearchCancelled, SearchProgress, search
from diswot.student_search.store import EvaluationStore, JsonlStore, MemoryStore

__all__ = [
    "Budget",
    "Evaluation",
    "EvaluationStore",
    "JsonlStore",
    "MemoryStore",
    "SearchCancelled",
    "SearchConfig",
    "SearchProgress",
    "SearchResult",
    "StudentSpec",
    "build_student",
    "hypervolume",
    "pareto_front",
    "script_student",
    "search",
]
