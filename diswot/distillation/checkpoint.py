"""The per-epoch checkpoint: everything a resumed run needs to continue to the same final weights as an
uninterrupted one (on the CPU, where the kernels are deterministic): the student, optimiser, scheduler and
AMP-scaler states, the data generator (batch order, crops, flips), torch's global RNG states (read by layers
such as dropout) and the history so far; plus the run's identity (recipe, student, teacher, data), so that
`--resume` refuses to continue a different run.

numpy's and Python's RNGs are not saved: nothing in training draws from them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from diswot.distillation.outputs import write_atomically
from diswot.errors import DiswotError


@dataclass
class TrainingState:
    epoch: int  # epochs completed
    model: dict[str, Any]
    optimiser: dict[str, Any]
    scheduler: dict[str, Any]
    scaler: dict[str, Any]
    data_generator: torch.Tensor
    torch_rng: torch.Tensor
    cuda_rng: list[torch.Tensor]
    history: list[dict[str, Any]]
    identity: dict[str, Any]
    teacher_accuracy: dict[str, float] | None


def save_checkpoint(path: Path, state: TrainingState) -> None:
    write_atomically(path, lambda temporary: torch.save(vars(state), temporary))


def load_checkpoint(path: Path, identity: dict[str, Any]) -> TrainingState:
    """The state in `path`, refused unless it was saved by a run with the same `identity`."""
    try:
        # weights_only: a checkpoint is plain tensors and containers, never arbitrary pickled objects.
        values = torch.load(path, map_location="cpu", weights_only=True)
        state = TrainingState(**values)
    except Exception as error:  # torch raises several types for foreign or damaged files
        raise DiswotError(f"cannot resume from {path}: {str(error).splitlines()[0]}") from None
    differences = _differences(state.identity, identity)
    if differences:
        shown = "; ".join(f"{key}: {before!r} there, {now!r} now" for key, before, now in differences)
        raise DiswotError(
            f"{path} is a checkpoint of a different run ({shown}); resume with the same options or use a new --out"
        )
    return state


def _differences(before: dict[str, Any], now: dict[str, Any], prefix: str = "") -> list[tuple[str, Any, Any]]:
    """(dotted key, value there, value now) for each leaf that differs; compared as JSON, so that an unscored
    student's NaN score equals itself."""
    found = []
    for key in sorted(set(before) | set(now)):
        old, new = before.get(key), now.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            found += _differences(old, new, f"{prefix}{key}.")
        elif json.dumps(old, sort_keys=True) != json.dumps(new, sort_keys=True):
            found.append((prefix + key, old, new))
    return found
