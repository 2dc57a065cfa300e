"""How candidates are scored, as one frozen, validated, picklable value: what a worker needs to build its scorer.

The CLI, the API, `SearchConfig`, `diswot.score` and `correlate` each build one `ScoringSetup` from their own
inputs; it is validated once, here, and trusted below (a bad field raises FieldError naming it). A worker
process or a Ray actor receives the setup and calls `build_scorer()` once: the teacher and the probe batch are
loaded there and the teacher's statistics are computed once per worker.

Calibrations (`diswot.calibration`) travel with the setup: a search measures them once (its executor's workers
measure the reference cells, `measured_calibrations`) and ships them, so that every worker standardises against
the same scales and a result does not depend on the number of workers.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Optional

from diswot.calibration import Calibration, calibrate, calibration_reference
from diswot.devices import resolve_device
from diswot.errors import DiswotError, FieldError, in_field
from diswot.executors.tasks import CalibrationTask
from diswot.initialisation import check_init_scheme
from diswot.probe_data import ProbeDataSpec, load_probe_batch
from diswot.proxies import get_proxy, resolve_proxy_name
from diswot.teachers import TORCHSCRIPT_SUFFIXES, check_network_spec, load_teacher

if TYPE_CHECKING:
    from diswot.executors import Executor
    from diswot.scorer import Scorer
    from search_spaces import SearchSpace


@dataclass(frozen=True)
class ScoringSetup:
    """Teacher, probe data, proxies and init: everything a score depends on. `teacher` None scores with
    teacher-free proxies only. Files are read only from inside `allowed_teacher_dir` / `allowed_data_dir` when
    they are set. `calibrations`, keyed (space, proxy) as the scorer keys them, are measured ones to reuse."""

    teacher: Optional[str]
    num_classes: int = 100
    probe: ProbeDataSpec = field(default_factory=ProbeDataSpec)
    proxies: tuple[str, ...] = ("default",)
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
        from diswot.scorer import check_inits, check_shared_init  # the scorer imports this module

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
        in_field("inits", lambda: check_inits(self.inits))
        in_field("shared_init", lambda: check_shared_init(self.shared_init))
        in_field("device", lambda: resolve_device(self.device))
        for name in ("allowed_teacher_dir", "allowed_data_dir"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, str(value))

    def with_calibrations(self, calibrations: Mapping[tuple[str, str], Calibration]) -> "ScoringSetup":
        return dataclasses.replace(self, calibrations=dict(calibrations))

    def on_device(self, device: str) -> "ScoringSetup":
        """The same setup scoring on `device` (a GPU worker's own): the device does not change what is scored."""
        return dataclasses.replace(self, device=device)

    def build_scorer(self) -> "Scorer":
        """The scorer: the teacher built (or read) and the probe batch loaded, once."""
        from diswot.scorer import Scorer

        teacher = None
        if self.teacher is not None:
            teacher = load_teacher(
                self.teacher, self.num_classes, checkpoint=self.checkpoint, seed=self.seed, init=self.init,
                allowed_dir=_path(self.allowed_teacher_dir), image_size=self.probe.image_size,
            )
        probe = load_probe_batch(self.probe, self.num_classes, allowed_dir=_path(self.allowed_data_dir))
        scorer = Scorer(
            teacher, probe, self.proxies, seed=self.seed, init=self.init, device=self.device, inits=self.inits,
            shared_init=self.shared_init, num_classes=self.num_classes,
        )
        scorer.calibrations.update(self.calibrations)
        return scorer


def measured_calibrations(scorer: "Scorer", space: "SearchSpace",
                          executor: "Executor") -> dict[tuple[str, str], Calibration]:
    """Every calibration `scorer`'s proxies use on `space` and do not have yet, measured now by `executor` (the
    reference cells in parallel on its workers) and kept in `scorer`: the calibrations to ship to every worker."""
    wanted = [proxy for proxy in scorer.proxies
              if proxy.calibration_terms is not None and (space.name, proxy.name) not in scorer.calibrations]
    reference = calibration_reference(space, scorer.seed)
    for proxy in wanted:
        for arch in reference:
            executor.submit(CalibrationTask(space.name, arch, proxy.name))
    for proxy in wanted:
        measured = {}
        for arch in reference:
            outcome = executor.next_outcome()
            if outcome.failure is not None:
                raise DiswotError(f"cannot calibrate {proxy.name!r} on {space.name}: reference cell {arch} could not "
                                  f"be measured ({outcome.failure})")
            measured[arch] = outcome.calibration_terms
        scorer.calibrations[(space.name, proxy.name)] = calibrate(space, reference, measured.__getitem__)
    return dict(scorer.calibrations)


def _path(value: Optional[str]) -> Optional[Path]:
    return None if value is None else Path(value)


def _fail(message: str):
    raise DiswotError(message)
