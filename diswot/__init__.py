"""diswot: training-free student-architecture search for knowledge distillation (DisWOT, CVPR 2023).

The public names below are imported on first use, so that a light module (`diswot.client`, `diswot.errors`)
can be imported without loading torch and the whole engine.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_PUBLIC = {
    "DiswotError": "diswot.errors",
    "ProbeBatch": "diswot.probe_data",
    "ProbeDataSpec": "diswot.probe_data",
    "load_probe_batch": "diswot.probe_data",
    "get_proxy": "diswot.proxies",
    "list_proxies": "diswot.proxies",
    "CandidateScore": "diswot.scorer",
    "Scorer": "diswot.scorer",
    "score": "diswot.scoring",
    "Teacher": "diswot.teachers",
    "load_teacher": "diswot.teachers",
    "create_model": "search_spaces.zoo",
    "list_models": "search_spaces.zoo",
    "search": "diswot.student_search",
    "SearchRequest": "diswot.student_search",
    "ScoringSetup": "diswot.scoring_setup",
    "SearchResult": "diswot.student_search",
    "StudentSpec": "diswot.student_search",
    "build_student": "diswot.student_search",
    "distill": "diswot.distillation",
    "DistillConfig": "diswot.distillation",
    "get_space": "search_spaces",
    "list_spaces": "search_spaces",
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'diswot' has no attribute {name!r}")
    value = getattr(importlib.import_module(_PUBLIC[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
