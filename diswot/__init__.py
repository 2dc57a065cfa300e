"""diswot: training-free student-architecture search for knowledge distillation (DisWOT, CVPR 2023)."""

__version__ = "0.1.0"

from diswot.errors import DiswotError  # noqa: E402
from diswot.probe_data import ProbeBatch, ProbeDataSpec, load_probe_batch  # noqa: E402
from diswot.proxies import get_proxy, list_proxies  # noqa: E402
from diswot.scorer import CandidateScore, Scorer  # noqa: E402
from diswot.teachers import Teacher, load_teacher  # noqa: E402
from diswot.zoo import create_model, list_models  # noqa: E402
from search_spaces import get_space, list_spaces  # noqa: E402

__all__ = [
    "CandidateScore",
    "DiswotError",
    "ProbeBatch",
    "ProbeDataSpec",
    "Scorer",
    "Teacher",
    "__version__",
    "create_model",
    "get_proxy",
    "get_space",
    "list_models",
    "list_proxies",
    "list_spaces",
    "load_probe_batch",
    "load_teacher",
]
