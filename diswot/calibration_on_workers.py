"""A search's calibrations measured on its executor's workers: the reference sample (`diswot.calibration`) sent
as tasks, so the cells are measured in parallel, and the calibrations built here, once, to ship to every worker
(all then standardise against the same scales, whatever the number of workers)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Optional

from diswot.calibration import Calibration, calibrate, calibration_reference
from diswot.errors import DiswotError
from diswot.executors.tasks import CalibrationTask

if TYPE_CHECKING:
    from diswot.executors import Executor
    from diswot.scorer import Scorer
    from search_spaces import SearchSpace


def measured_calibrations(
    scorer: "Scorer", space: "SearchSpace", executor: "Executor",
    on_measured: Optional[Callable[[int, int], None]] = None,
) -> dict[tuple[str, str], Calibration]:
    """Every calibration `scorer`'s proxies use on `space`: those it has or its calibration cache keeps, and the
    others measured now by `executor` (the reference cells in parallel on its workers) and kept in `scorer` (and
    its cache): the calibrations to ship to every worker. `on_measured(done, total)` after each reference cell
    (never called when nothing is measured)."""
    wanted = [proxy for proxy in scorer.proxies
              if proxy.calibration_terms is not None and (space.name, proxy.name) not in scorer.calibrations
              and not scorer.reuse_calibration(space, proxy)]
    reference = calibration_reference(space, scorer.seed)
    for proxy in wanted:
        for arch in reference:
            executor.submit(CalibrationTask(space.name, arch, proxy.name))
    done, total = 0, len(wanted) * len(reference)
    for proxy in wanted:
        measured = {}
        for arch in reference:
            outcome = executor.next_outcome()
            done += 1
            if on_measured is not None:
                on_measured(done, total)
            if outcome.failure is not None:
                raise DiswotError(f"cannot calibrate {proxy.name!r} on {space.name}: reference cell {arch} could not "
                                  f"be measured ({outcome.failure})")
            measured[arch] = outcome.calibration_terms
        scorer.keep_calibration(space, proxy, calibrate(space, reference, measured.__getitem__))
    return dict(scorer.calibrations)
