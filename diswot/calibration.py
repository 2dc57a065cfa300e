"""Proxy terms on a common scale: robust z-scores against a fixed reference sample of the search space.

Raw proxy terms live on unrelated scales (DisWOT's relation distance is 1e-4..3e-3 where its semantic distance
is 3e-2..0.15; log parameter counts span a few units), so a plain sum is decided by whichever term happens to
be largest. A calibration scores a fixed sample of the space once per scorer (teacher, probe batch, seed,
init) and records, for every term, the median and a robust spread (interquartile range / 1.349, which equals
the standard deviation for a normal distribution). A candidate's standardised term is (value - median) / spread:
unbounded, so candidates beyond the reference range keep their order (an empirical quantile would tie them
all at 0 or 1), and insensitive to the few extreme cells a sample of a space always holds.

The reference sample depends only on the space and the seed, so a search, its resumed run and the service
all standardise against the same cells; the calibration is recorded in the search result.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

import numpy as np

from diswot.errors import DiswotError
from diswot.seeding import derive_seed
from search_spaces import SearchSpace

REFERENCE_SIZE = 64
# Spread of a standard normal's interquartile range: IQR / 1.349 estimates sigma.
IQR_PER_SIGMA = 1.349
# Draws allowed per wanted reference cell before a small space is taken as it is.
DRAWS_PER_CELL = 50


def reference_sample(space: SearchSpace, size: int, seed: int) -> list[str]:
    """`size` distinct canonical architectures of `space`, the same for the same (space, size, seed) anywhere."""
    rng = random.Random(derive_seed(seed, f"calibration-reference:{space.name}"))
    chosen: dict[str, None] = {}
    for _ in range(size * DRAWS_PER_CELL):
        if len(chosen) == size:
            break
        chosen[space.canonical(space.sample(rng))] = None
    return list(chosen)


def calibration_reference(space: SearchSpace, seed: int) -> list[str]:
    """The reference sample every calibration of `space` under `seed` is measured on."""
    return reference_sample(space, REFERENCE_SIZE, seed)


@dataclass(frozen=True)
class TermScale:
    """Where one term sits over the reference sample: its median and robust spread."""

    median: float
    spread: float

    def standardise(self, value: float) -> float:
        if math.isnan(value):
            return -math.inf
        return (value - self.median) / self.spread

    @classmethod
    def of(cls, name: str, values: list[float]) -> "TermScale":
        finite = np.asarray([v for v in values if math.isfinite(v)], dtype=float)
        if len(finite) < 4:
            raise DiswotError(f"cannot calibrate {name!r}: only {len(finite)} reference candidates have a finite value")
        q25, median, q75 = np.percentile(finite, [25, 50, 75])
        spread = (q75 - q25) / IQR_PER_SIGMA
        if spread <= 0:  # more than half the reference ties: fall back on the full range
            spread = (finite.max() - finite.min()) / 4 or 1.0
        return cls(float(median), float(spread))


@dataclass(frozen=True)
class Calibration:
    """Robust scales of named terms, measured on `reference` (canonical architectures of `space`)."""

    space: str
    reference: tuple[str, ...]
    scales: Mapping[str, TermScale]

    def standardise(self, term: str, value: float) -> float:
        return self.scales[term].standardise(value)

    def to_dict(self) -> dict[str, Any]:
        return {"space": self.space, "reference": list(self.reference),
                "scales": {name: {"median": s.median, "spread": s.spread} for name, s in self.scales.items()}}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "Calibration":
        return cls(values["space"], tuple(values["reference"]),
                   {name: TermScale(**scale) for name, scale in values["scales"].items()})


class CalibrationStopped(Exception):
    """`calibrate`'s `should_stop` said so between two reference cells; nothing was kept."""


def calibrate(
    space: SearchSpace, reference: list[str], measure: Callable[[str], Mapping[str, float]],
    should_stop: Optional[Callable[[], bool]] = None,
) -> Calibration:
    """Scales of every term that `measure` (canonical architecture -> term values) gives on the reference sample.
    `should_stop` is asked before each cell (a calibration is many candidates' work: its caller may leave)."""
    measured = []
    for arch in reference:
        if should_stop is not None and should_stop():
            raise CalibrationStopped()
        measured.append(measure(arch))
    names = list(measured[0]) if measured else []
    return Calibration(space.name, tuple(reference),
                       {name: TermScale.of(name, [values[name] for values in measured]) for name in names})
