"""How candidates are scored, as one frozen, validated, picklable value: what a worker needs to build its scorer.

A search request (`diswot.student_search.request`), `diswot.score` and `correlate` each build one `ScoringSetup`
from their inputs; it is validated once, when it is built (a bad field raises FieldError naming it), and trusted
below: the copies it makes of itself (`with_calibrations`, `on_device`) and the scorer check nothing again. A
worker process or a Ray actor receives the setup and calls `build_scorer()` once: the teacher and the probe batch
are loaded there and the teacher's statistics are computed once per worker.

Calibrations (`diswot.calibration`) travel with the setup: a search measures them once (its executor's workers
measure the reference cells, `diswot.calibration_on_workers`) and ships them, so that every worker standardises
against the same scales and a result does not depend on the number of workers.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional

from diswot.calibration import Calibration
from diswot.calibration_cache import CalibrationCache
from diswot.devices import resolve_device
from diswot.errors import DiswotError, FieldError, in_field, integer_field
from diswot.initialisation import check_init_scheme
from diswot.probe_data import ProbeDataSpec, load_probe_batch
from diswot.proxies import DEFAULT_PROXY, get_proxy, resolve_proxy_name
from diswot.scorer import Scorer
from diswot.teachers import TORCHSCRIPT_SUFFIXES, check_network_spec, load_teacher


@dataclass(frozen=True)
class ScoringSetup:
    """Teacher, probe data, proxies and init: everything a score depends on. `teacher` None scores with
    teacher-free proxies only. Files are read only from inside `allowed_teacher_dir` / `allowed_data_dir` when
    they are set. `calibrations`, keyed (space, proxy) as the scorer keys them, are measured ones to reuse."""

    teacher: Optional[str]
    num_classes: int = 100
    probe: ProbeDataSpec = field(default_factory=ProbeDataSpec)
    proxies: tuple[str, ...] = (DEFAULT_PROXY,)  # the first ranks
    seed: int = 0
    init: str = "default"
    inits: int = 1
    shared_init: bool = False
    device: str = "auto"
    checkpoint: Optional[str] = None
    allowed_teacher_dir: Optional[str] = None
    allowed_data_dir: Optional[str] = None
    calibrations: Mapping[tuple[str, str], Calibration] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        names = (self.proxies,) if isinstance(self.proxies, str) else self.proxies
        if not isinstance(names, (list, tuple)) or not all(isinstance(name, str) for name in names):
            raise FieldError("proxies", f"must be a list of proxy names, got {self.proxies!r}")
        # Frozen: normalised values are set once, here, through object.__setattr__.
        object.__setattr__(self, "proxies", tuple(resolve_proxy_name(name) for name in names))
        in_field("proxies", lambda: [get_proxy(name) for name in self.proxies] or _fail("at least one proxy is needed"))
        if self.teacher is None:
            needing = [name for name in self.proxies if get_proxy(name).needs_teacher]
            if needing:
                raise FieldError("teacher", f"proxies {', '.join(needing)} need a teacher")
        elif not any(self.teacher.endswith(suffix) for suffix in TORCHSCRIPT_SUFFIXES):
            in_field("teacher", lambda: check_network_spec(self.teacher))
        if isinstance(self.num_classes, bool) or not isinstance(self.num_classes, int) or self.num_classes < 2:
            raise FieldError("num_classes", f"must be an integer >= 2, got {self.num_classes!r}")
        if not isinstance(self.probe, ProbeDataSpec):
            raise FieldError("data", f"must be a ProbeDataSpec, got {type(self.probe).__name__}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise FieldError("seed", f"must be an integer, got {self.seed!r}")
        in_field("init", lambda: check_init_scheme(self.init))
        integer_field("inits", self.inits, 1)
        if not isinstance(self.shared_init, bool):
            raise FieldError("shared_init", f"must be true or false, got {self.shared_init!r}")
        in_field("device", lambda: resolve_device(self.device))
        for name in ("allowed_teacher_dir", "allowed_data_dir"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, str(value))

    @classmethod
    def for_teacher(cls, teacher: Optional[str], *, data: ProbeDataSpec | str = "synthetic",
                    **fields) -> "ScoringSetup":
        """The setup of `teacher` with probe `data` (a spec, or its source drawn with the setup's seed) and the
        other fields as keywords."""
        probe = data if isinstance(data, ProbeDataSpec) else ProbeDataSpec(source=data, seed=fields.get("seed", 0))
        return cls(teacher, probe=probe, **fields)

    def with_calibrations(self, calibrations: Mapping[tuple[str, str], Calibration]) -> "ScoringSetup":
        return self._copy_with(calibrations=dict(calibrations))

    def on_device(self, device: str) -> "ScoringSetup":
        """The same setup scoring on `device` (a GPU worker's own): the device does not change what is scored."""
        return self._copy_with(device=device)

    def _copy_with(self, **changes) -> "ScoringSetup":
        """A copy with `changes`, not validated again (`dataclasses.replace` would run every check anew)."""
        changed = copy.copy(self)
        for name, value in changes.items():
            object.__setattr__(changed, name, value)
        return changed

    def build_scorer(self, calibration_cache: Optional[CalibrationCache] = None) -> Scorer:
        """The scorer: the teacher built (or read) and the probe batch loaded, once; calibrations it measures are
        kept in, and taken from, `calibration_cache` when one is given."""
        teacher = None
        if self.teacher is not None:
            teacher = load_teacher(
                self.teacher, self.num_classes, checkpoint=self.checkpoint, seed=self.seed, init=self.init,
                allowed_dir=_path(self.allowed_teacher_dir), image_size=self.probe.image_size,
            )
        probe = load_probe_batch(self.probe, self.num_classes, allowed_dir=_path(self.allowed_data_dir))
        return Scorer(self, teacher, probe, calibration_cache=calibration_cache)


def _path(value: Optional[str]) -> Optional[Path]:
    return None if value is None else Path(value)


def _fail(message: str):
    raise DiswotError(message)
