"""A search's latency budget: the most seconds per forward pass a student may take, and where that is measured.

`max_latency` reads '5ms', '0.005s', '800us' or a bare number of milliseconds. The setting (device, threads,
batch, resolution) says where a latency is predicted and measured: the default is this machine's CPU, one thread,
batch 1, at the space's own resolution (224 px for the ImageNet spaces).
"""

from __future__ import annotations

import math
import re
import reprlib
from dataclasses import dataclass, field
from typing import Any, Optional

from diswot.errors import DiswotError, FieldError, integer_field
from diswot.latency.measurement import LatencySetting
from diswot.latency.table import LatencyTable
from search_spaces import SearchSpace

_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "": 1e-3}  # a bare number is milliseconds
_LATENCY = re.compile(r"\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*(s|ms|us|µs)?\s*", re.IGNORECASE)
LATENCY_FORM = "a positive duration such as 5ms, 0.005s, 800us or 5 (milliseconds)"
# Where a latency can be measured; 'cuda' only where torch sees a GPU (checked when the setting is made).
LATENCY_DEVICES = ("cpu", "cuda")


def parse_latency(text: Any, name: str = "max_latency") -> Optional[float]:
    """'5ms' -> 0.005 (seconds); None stays None."""
    if text is None:
        return None
    if isinstance(text, bool):
        raise FieldError(name, f"must be {LATENCY_FORM}, got {text!r}")
    if isinstance(text, (int, float)):
        seconds = float(text) * _UNITS[""]
    else:
        match = _LATENCY.fullmatch(str(text))
        if not match:
            raise FieldError(name, f"must be {LATENCY_FORM}, got {reprlib.repr(text)}")
        seconds = float(match[1]) * _UNITS[(match[2] or "").lower()]
    if not (math.isfinite(seconds) and seconds > 0):
        raise FieldError(name, f"must be {LATENCY_FORM}, got {reprlib.repr(text)}")
    return seconds


def describe_seconds(seconds: float) -> str:
    return f"{seconds * 1e3:.3g} ms"


@dataclass(frozen=True)
class LatencyBudget:
    """`max_seconds` (None: no bound) on the latency measured as `setting` says (`parse` sets its resolution to
    the searched space's when the request leaves it unset)."""

    max_seconds: Optional[float] = None
    setting: LatencySetting = field(default_factory=lambda: LatencySetting(threads=1))

    @classmethod
    def parse(cls, max_latency=None, device="cpu", threads=1, batch_size=1, image_size=None,
              space: SearchSpace | None = None) -> "LatencyBudget":
        """From the request's flat fields (`latency_*`), each wrong one a FieldError naming it."""
        seconds = parse_latency(max_latency)
        if device not in LATENCY_DEVICES:
            raise FieldError("latency_device", f"must be one of {', '.join(LATENCY_DEVICES)}, got {device!r}")
        threads = None if threads is None else integer_field("latency_threads", threads, 1)
        batch_size = integer_field("latency_batch", batch_size, 1)
        if image_size is None:
            image_size = space.default_image_size if space is not None else LatencySetting.image_size
        image_size = integer_field("latency_image_size", image_size, 8)
        try:
            setting = LatencySetting(device=device, threads=threads, batch_size=batch_size, image_size=image_size)
        except DiswotError as error:
            raise FieldError("latency_device", str(error)) from None
        return cls(seconds, setting)

    def admits(self, seconds: Optional[float]) -> bool:
        return self.max_seconds is None or (seconds is not None and seconds <= self.max_seconds)

    def describe(self) -> str:
        return f"latency <= {describe_seconds(self.max_seconds)} ({self.where()})"

    def where(self) -> str:
        setting = self.setting
        threads = "torch's threads" if setting.threads is None else f"{setting.threads} thread(s)"
        return f"{setting.device}, {threads}, batch {setting.batch_size}, {setting.image_size} px"

    def check_reachable(self, space: SearchSpace, table: LatencyTable) -> None:
        """Fail when even the space's cheapest candidate is slower than the budget, saying how fast it is."""
        if self.max_seconds is None:
            return
        fastest = table.predict(space, space.extreme_archs()[0])
        if fastest > self.max_seconds:
            raise FieldError(
                "max_latency",
                f"no {space.name} candidate meets max_latency {describe_seconds(self.max_seconds)}: its cheapest "
                f"candidate (fewest params and FLOPs) takes {describe_seconds(fastest)} predicted ({self.where()}); "
                f"raise the budget to at least that, or measure elsewhere (--latency-device, --latency-threads, "
                f"--latency-batch)"
            )
