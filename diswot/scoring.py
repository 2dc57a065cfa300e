"""`diswot.score`: score given architectures against a teacher, the library call behind `diswot score`."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

from diswot.probe_data import ProbeDataSpec, load_probe_batch
from diswot.proxies import DEFAULT_PROXY
from diswot.scorer import CandidateScore, Scorer
from diswot.teachers import load_teacher
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
    `should_stop` is asked before each candidate: when it says so, ScoringCancelled is raised.
    With `allowed_teacher_dir` / `allowed_data_dir`, files are read only from inside those directories.
    """
    search_space = get_space(space)
    parsed = [search_space.parse(arch) for arch in archs]
    data_spec = data if isinstance(data, ProbeDataSpec) else ProbeDataSpec(source=data, seed=seed)
    teacher_model = load_teacher(
        teacher, num_classes, checkpoint=checkpoint, seed=seed, init=init, allowed_dir=allowed_teacher_dir,
        image_size=data_spec.image_size,
    )
    probe = load_probe_batch(data_spec, num_classes, allowed_dir=allowed_data_dir)
    scorer = Scorer(
        teacher_model, probe, proxies, seed=seed, init=init, device=device, inits=inits, shared_init=shared_init
    )
    results = []
    for arch in parsed:
        if should_stop is not None and should_stop():
            raise ScoringCancelled()
        result = scorer.score(search_space, arch)
        if on_scored is not None:
            on_scored(result)
        results.append(result)
    return results
