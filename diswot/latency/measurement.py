"""Measured latency of a network (or one block of it): warm-up runs, then the median of timed runs.

On CPU the runs are timed with `time.perf_counter` (or the process's CPU time, see `LatencySetting.clock`); on CUDA with CUDA events (the GPU runs asynchronously, so a
host clock would time the launch, not the work), synchronising once after all runs. `threads` sets torch's
intra-op thread count for the measurement and restores it after: torch's setting is process-wide, so do not measure
while another thread of the same process scores.
"""

from __future__ import annotations

import contextlib
import platform
import statistics
import time
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import torch
from torch import nn

from diswot.errors import DiswotError


@dataclass(frozen=True)
class LatencySetting:
    """Where and how a latency is measured: a latency is only comparable with another of the same setting."""

    device: str = "cpu"
    threads: int | None = None  # None: torch's current intra-op thread count
    batch_size: int = 1
    image_size: int = 224
    # "wall": elapsed time, what a user waits. "cpu": the process's CPU time, which leaves out the time other
    # processes held the cores: on a machine shared while measuring (as in CI or on a busy workstation) it is the
    # closer estimate of the latency the same process would have alone; for CPU with one thread only.
    clock: str = "wall"
    warmup: int = 3
    # On a busy machine (two cores shared) a median of 10 runs still moved by 20% between calls; of 20, by 5%.
    repeats: int = 20

    def __post_init__(self) -> None:
        if self.device not in ("cpu", "cuda"):
            raise DiswotError(f"latency device must be 'cpu' or 'cuda', got {self.device!r}")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise DiswotError("latency device 'cuda' was asked for but no CUDA device is available")
        for name in ("batch_size", "image_size", "repeats"):
            if getattr(self, name) < 1:
                raise DiswotError(f"latency {name} must be at least 1, got {getattr(self, name)}")
        if self.threads is not None and self.threads < 1:
            raise DiswotError(f"latency threads must be at least 1, got {self.threads}")
        if self.clock not in ("wall", "cpu"):
            raise DiswotError(f"latency clock must be 'wall' or 'cpu', got {self.clock!r}")
        if self.clock == "cpu" and (self.device != "cpu" or self.threads != 1):
            raise DiswotError("the 'cpu' latency clock counts one thread's work: use it with device cpu and threads 1")

    @property
    def effective_threads(self) -> int:
        return torch.get_num_threads() if self.threads is None else self.threads

    def key(self) -> str:
        """The part of a cache key that says where and how: device fingerprint, threads, batch, resolution."""
        return (f"{device_fingerprint(self.device)}|threads={self.effective_threads}|batch={self.batch_size}"
                f"|size={self.image_size}|clock={self.clock}")


def device_fingerprint(device: str) -> str:
    """What makes a latency measured here differ from one measured elsewhere: the processor (or GPU) and torch."""
    if device == "cuda":
        index = torch.cuda.current_device()
        major, minor = torch.cuda.get_device_capability(index)
        return f"cuda:{torch.cuda.get_device_name(index)}:sm{major}{minor}:torch{torch.__version__}"
    return f"cpu:{_cpu_model()}:{torch.backends.cpu.get_cpu_capability()}:torch{torch.__version__}"


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


@contextlib.contextmanager
def intra_op_threads(threads: int | None) -> Iterator[None]:
    before = torch.get_num_threads()
    if threads is not None and threads != before:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


def measure_latency(module: nn.Module, input_shape: Sequence[int], setting: LatencySetting) -> float:
    """Seconds per forward pass of `module` (in eval mode, no autograd) on a seeded input of `input_shape`."""
    device = torch.device(setting.device)
    was_training = module.training
    module = module.to(device).eval()
    inputs = torch.randn(*input_shape, generator=torch.Generator().manual_seed(0)).to(device)
    try:
        with torch.inference_mode(), intra_op_threads(setting.threads):
            for _ in range(setting.warmup):
                module(inputs)
            if device.type == "cuda":
                times = _timed_cuda(module, inputs, setting.repeats)
            else:
                clock = time.process_time if setting.clock == "cpu" else time.perf_counter
                times = _timed_cpu(module, inputs, setting.repeats, clock)
    finally:
        module.train(was_training)
    return statistics.median(times)


def _timed_cpu(module: nn.Module, inputs: torch.Tensor, repeats: int, clock: Callable[[], float]) -> list[float]:
    times = []
    for _ in range(repeats):
        start = clock()
        module(inputs)
        times.append(clock() - start)
    return times


def _timed_cuda(module: nn.Module, inputs: torch.Tensor, repeats: int) -> list[float]:
    events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(repeats)]
    torch.cuda.synchronize()
    for start, end in events:
        start.record()
        module(inputs)
        end.record()
    torch.cuda.synchronize()
    return [start.elapsed_time(end) / 1000.0 for start, end in events]


def measure_network_latency(network: nn.Module, setting: LatencySetting) -> float:
    """Seconds per forward pass of a whole network on a batch of `setting.batch_size` RGB images."""
    return measure_latency(network, (setting.batch_size, 3, setting.image_size, setting.image_size), setting)
