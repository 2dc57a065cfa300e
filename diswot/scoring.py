"""`diswot.score`: score given architectures against a teacher, the library call behind `diswot score`."""

from __future__ import annotations

from typing import Any, Callable, Sequence

from diswot.calibration import CalibrationStopped
from diswot.calibration_cache import CalibrationCache
from diswot.scorer import CandidateScore
from diswot.scoring_setup import ScoringSetup
from search_spaces import get_space


class ScoringCancelled(Exception):
    """Raised by `score` when its `should_stop` says so (the caller no longer wants the scores)."""


def score(
    scoring: ScoringSetup | str | None,
    space: str,
    archs: Sequence[str],
    *,
    on_scored: Callable[[CandidateScore], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    calibration_cache: CalibrationCache | None = None,
    **setup_fields: Any,
) -> list[CandidateScore]:
    """Scores of `archs` (strings of `space`) in the order given: `score("resnet56", "nb201", archs, num_classes=10)`.

    `scoring`: how to score (a `ScoringSetup`), or the teacher spec with the setup's other fields as keywords
    (`data`: a ProbeDataSpec or its source; see `ScoringSetup.for_teacher`). Everything is checked (teacher,
    space, every architecture, data) before the first candidate is scored. `should_stop` is asked before each
    candidate (and each calibration cell): when it says so, ScoringCancelled is raised. `calibration_cache`:
    where a calibrated proxy's calibration is reused from and kept (`diswot.calibration_cache`).
    """
    setup = scoring if isinstance(scoring, ScoringSetup) else ScoringSetup.for_teacher(scoring, **setup_fields)
    search_space = get_space(space)
    parsed = [search_space.parse(arch) for arch in archs]
    scorer = setup.build_scorer(calibration_cache)
    try:  # a calibrated proxy's reference cells, measured before the first candidate, stop like the candidates
        for proxy in scorer.proxies:
            if proxy.calibration_terms is not None:
                scorer.calibration(search_space, proxy, should_stop)
    except CalibrationStopped:
        raise ScoringCancelled() from None
    results = []
    for arch in parsed:
        if should_stop is not None and should_stop():
            raise ScoringCancelled()
        result = scorer.score(search_space, arch)
        if on_scored is not None:
            on_scored(result)
        results.append(result)
    return results
