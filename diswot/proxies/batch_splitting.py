"""Out-of-memory recovery for proxies that run their own passes: split the probe batch and retry.

A proxy written as `run(chunks)` accumulates over the chunks it is given (slices of the probe batch). It is
first called with the whole batch as one chunk; when that runs out of memory it is called again with the
batch halved, then quartered, and so on down to one image per chunk. Each proxy weights its chunks so that a
split run computes the same quantity as an unsplit one (the reference implementations sum per-chunk mean
losses, which multiplies gradient proxies by the number of chunks); only BatchNorm's batch statistics, taken
per chunk, differ.
"""

from __future__ import annotations

import gc
from typing import Callable, TypeVar

import torch

T = TypeVar("T")

# What the allocators say when they give up: CUDA raises torch.OutOfMemoryError, the CPU allocator a RuntimeError.
OUT_OF_MEMORY_MESSAGES = ("out of memory", "can't allocate memory")


def is_out_of_memory(error: BaseException) -> bool:
    if isinstance(error, torch.OutOfMemoryError):
        return True
    return isinstance(error, RuntimeError) and any(text in str(error).lower() for text in OUT_OF_MEMORY_MESSAGES)


def batch_chunks(batch_size: int, parts: int) -> list[slice]:
    """`parts` contiguous slices covering the batch, sizes differing by at most one."""
    return [slice(part * batch_size // parts, (part + 1) * batch_size // parts) for part in range(parts)]


def run_with_batch_splitting(run: Callable[[list[slice]], T], batch_size: int) -> T:
    """`run(chunks)`, retried with twice as many chunks after each out-of-memory error until chunks hold one image."""
    parts = 1
    while True:
        try:
            return run(batch_chunks(batch_size, parts))
        except Exception as error:
            if not is_out_of_memory(error) or parts >= batch_size:
                raise
        parts = min(2 * parts, batch_size)
        # The failed attempt's tensors are garbage once the exception is dropped; free them before retrying.
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
