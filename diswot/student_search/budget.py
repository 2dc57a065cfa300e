"""Resource budgets of a search: parameter and FLOP bounds a student must meet."""

from __future__ import annotations

import re
import reprlib
from dataclasses import dataclass

from diswot.errors import FieldError
from search_spaces import Cost

_SUFFIXES = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9}
_COUNT = re.compile(r"\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*([kmg]?)\s*", re.IGNORECASE)
# The largest budget accepted: far above any network's params or FLOPs, and within a 64-bit integer (SQL, JSON).
MAX_COUNT = 10**18
COUNT_FORM = "a count from 0 to 1e18 such as 500000, 500k or 0.5M"


def parse_count(text: str | int | float | None, field: str) -> int | None:
    """'0.5M', '500k', '2e6', 1200 -> an integer count; None stays None."""
    if text is None:
        return None
    if isinstance(text, bool):
        raise FieldError(field, f"must be {COUNT_FORM}, got {text!r}")
    if isinstance(text, (int, float)):
        value = text  # an int stays exact: float() of a huge one overflows
    else:
        match = _COUNT.fullmatch(str(text))
        if not match:
            raise FieldError(field, f"must be {COUNT_FORM}, got {reprlib.repr(text)}")
        value = float(match[1]) * _SUFFIXES[match[2].lower()]  # '1e400' is inf: refused below
    if value < 0:
        raise FieldError(field, f"must not be negative, got {reprlib.repr(text)}")
    if not value <= MAX_COUNT:  # also inf and NaN
        raise FieldError(field, f"must be {COUNT_FORM}, got {reprlib.repr(text)}")
    return int(round(value))


@dataclass(frozen=True)
class Budget:
    min_params: int | None = None
    max_params: int | None = None
    max_flops: int | None = None

    def __post_init__(self) -> None:
        if self.min_params is not None and self.max_params is not None and self.min_params > self.max_params:
            raise FieldError("min_params", f"{self.min_params} is larger than max_params {self.max_params}")

    @classmethod
    def parse(cls, min_params=None, max_params=None, max_flops=None) -> "Budget":
        return cls(
            parse_count(min_params, "min_params"), parse_count(max_params, "max_params"), parse_count(max_flops, "max_flops")
        )

    @property
    def unlimited(self) -> bool:
        return self.min_params is None and self.max_params is None and self.max_flops is None

    def admits(self, cost: Cost) -> bool:
        return (
            (self.min_params is None or cost.params >= self.min_params)
            and (self.max_params is None or cost.params <= self.max_params)
            and (self.max_flops is None or cost.flops <= self.max_flops)
        )

    def check_reachable(self, smallest: Cost, largest: Cost, space_name: str) -> None:
        """Fail early when no candidate of a space whose costs run from `smallest` to `largest` can fit."""
        too_small = self.max_params is not None and self.max_params < smallest.params
        too_large = self.min_params is not None and self.min_params > largest.params
        too_few_flops = self.max_flops is not None and self.max_flops < smallest.flops
        if too_small or too_large or too_few_flops:
            # named for the bound that cannot be met, so a form shows the message beside that field
            field = "max_params" if too_small else "min_params" if too_large else "max_flops"
            raise FieldError(
                field,
                f"no {space_name} candidate meets the budget {self.describe()}: the space offers "
                f"{smallest.params / 1e6:.3f}M to {largest.params / 1e6:.3f}M params and "
                f"{smallest.flops / 1e6:.1f}M to {largest.flops / 1e6:.1f}M FLOPs"
            )

    def describe(self) -> str:
        parts = []
        if self.min_params is not None:
            parts.append(f"params >= {self.min_params / 1e6:.3f}M")
        if self.max_params is not None:
            parts.append(f"params <= {self.max_params / 1e6:.3f}M")
        if self.max_flops is not None:
            parts.append(f"FLOPs <= {self.max_flops / 1e6:.1f}M")
        return ", ".join(parts) or "none"
