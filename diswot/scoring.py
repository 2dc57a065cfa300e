"""`diswot.score`: score given architectures against a teacher, the library call behind `diswot score`."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

from diswot.calibration import CalibrationStopped
from diswot.probe_data import ProbeDataSpec
from diswot.proxies import DEFAULT_PROXY
from diswot.scorer import CandidateScore
from diswot.scoring_setup import ScoringSetup
from search_spaces import get_space


class ScoringCancelled(Exception):
    """Raised by `score` when its `should_stop` says so (the caller no longer wants the scores)."""


def score(
    teacher: str,
    space: str,
    archs: Sequence[str],
    *,
    num_classes: int = 100,
    data: ProbeDataSpec | str = "synthetic",
    proxies: Sequence[str] = (DEFAULT_PROXY,),
    seed: int = 0,
    init: str = "default",
    inits: int = 1,
    shared_init: bool = False,
    device: str = "auto",
    checkpoint: str | None = None,
    on_scored: Callable[[CandidateScore], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    allowed_teacher_dir: str | Path | None = None,
    allowed_data_dir: str | Path | None = None,
) -> list[CandidateScore]:
    """Scores of `archs` (strings of `space`) against `teacher`, in the order given.

    Everything is validated (teacher, space, every architecture, data) before the first candidate is scored.
    `should_stop` is asked before each candidate (and each calibration cell): when it says so, ScoringCancelled
    is raised.
    With `allowed_teacher_dir` / `allowed_data_dir`, files are read only from inside those directories.
    """
    search_space = get_space(space)
    parsed = [search_space.parse(arch) for arch in archs]
    data_spec = data if isinstance(data, ProbeDataSpec) else ProbeDataSpec(source=data, seed=seed)
    scorer = ScoringSetup(
        teacher, num_classes=num_classes, probe=data_spec, proxies=proxies, seed=seed, init=init, inits=inits,
        shared_init=shared_init, device=device, checkpoint=checkpoint, allowed_teacher_dir=allowed_teacher_dir,
        allowed_data_dir=allowed_data_dir,
    ).build_scorer()
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
