"""Choosing where scoring runs: `auto` takes a CUDA GPU when one is present, else the CPU."""

from __future__ import annotations

import torch

from diswot.errors import DiswotError

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu" or name.startswith("cuda"):
        if name.startswith("cuda") and not torch.cuda.is_available():
            raise DiswotError(f"device {name!r} was asked for but no CUDA GPU is available; use --device cpu or auto")
        return torch.device(name)
    raise DiswotError(f"unknown device {name!r}; valid: auto, cpu, cuda, cuda:N")
