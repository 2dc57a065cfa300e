"""Predicted latency: the sum of per-block timings from a lookup table (once-for-all's and nn-Meter's approach).

A network that can be cut into units run one after another (`latency_units()`: the stem, each block, the pooled
head) is predicted as the sum of its units' latencies, each unit timed once per distinct configuration (its
module description and input shape) and kept in the table. Candidates of a space share most of their units, so
after a few hundred timings a prediction costs a meta-device build and some dictionary look-ups.

The sum misses what a whole network pays and a unit timed alone on its own warm input does not (weights and
activations coming cold from memory, one call's overhead against many): measured here, whole networks take about
10% longer than their units' sum, and the share varies little within a space. So the sum is scaled by one factor
per space and setting, the median ratio of measured to summed latency over a few calibration networks (the space's
reference points and seeded samples), measured once and kept with the table. `benchmarks/latency_predictor.py`
reports the error that remains.
"""

from __future__ import annotations

import copy
import functools
import random
import statistics
from pathlib import Path
from typing import Any

import torch
from torch import nn

from diswot.errors import DiswotError
from diswot.latency.measured import LATENCY_CLASSES, MeasuredLatency
from diswot.latency.measurement import LatencySetting, measure_latency
from diswot.latency.store import LatencyStore
from search_spaces import SearchSpace, get_space


CALIBRATION_SAMPLES = 4


class LatencyTable:
    """`predict(space, arch)`: seconds per forward pass. With a `path`, unit timings and calibration factors are
    kept in that JSON file (the measured networks of the calibration too), so they are made once per machine."""

    def __init__(self, setting: LatencySetting = LatencySetting(), path: str | Path | None = None):
        self.setting = setting
        self.store = LatencyStore(path)
        self.measured = MeasuredLatency(setting, self.store)
        self.timings = 0  # units timed by this table (the rest came from its file)
        self._output_shapes: dict[tuple[str, tuple[int, ...]], tuple[int, ...]] = {}

    def predict(self, space: SearchSpace, arch: Any) -> float:
        """Seconds per forward pass of `arch`: its units' sum, scaled; a network that cannot be cut into units
        (the CIFAR spaces', small enough to time whole) is measured whole, once per setting."""
        if not cut_into_units(space):
            return self.measured.seconds(space, arch)
        return self.scale(space) * self.summed(space, arch)

    def scale(self, space: SearchSpace) -> float:
        """Measured over summed latency, the median over the calibration networks of `space`."""
        key = f"scale|{space.name}|{self.setting.key()}"
        cached = self.store.get(key)
        if cached is None:
            rng = random.Random(0)
            archs = [space.parse(text) for text in space.reference_points.values()]
            archs += [space.sample(rng) for _ in range(CALIBRATION_SAMPLES)]
            cached = statistics.median(self.measured.seconds(space, arch) / self.summed(space, arch) for arch in archs)
            self.store.put(key, cached)
        return cached

    def summed(self, space: SearchSpace, arch: Any) -> float:
        """Seconds per forward pass of `arch`, as the plain sum of its units' tabled latencies."""
        if not cut_into_units(space):
            raise DiswotError(f"{space.name} networks cannot be cut into blocks for a latency table; measure instead")
        with torch.device("meta"):
            network = space.build(arch, LATENCY_CLASSES).eval()  # as measured: BN on running statistics
        shape = (self.setting.batch_size, 3, self.setting.image_size, self.setting.image_size)
        total = 0.0
        for unit in network.latency_units():
            description = repr(unit)
            total += self._unit_seconds(unit, description, shape)
            shape = self._output_shape(unit, description, shape)
        return total

    def _output_shape(self, unit: nn.Module, description: str, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """The unit's output shape, run on the meta device once per (unit configuration, input shape): a meta
        run goes through Python decompositions and took 0.25 s per mobilenet candidate, the rest of a prediction
        a few milliseconds."""
        key = (description, input_shape)
        if key not in self._output_shapes:
            with torch.no_grad():
                self._output_shapes[key] = tuple(unit(torch.empty(input_shape, device="meta")).shape)
        return self._output_shapes[key]

    def _unit_seconds(self, unit: nn.Module, description: str, input_shape: tuple[int, ...]) -> float:
        key = f"unit|{description}|{input_shape}|{self.setting.key()}"
        cached = self.store.get(key)
        if cached is None:
            cached = measure_latency(materialised(unit), input_shape, self.setting)
            self.store.put(key, cached)
            self.timings += 1
        return cached


@functools.cache
def _cut_into_units(space_name: str) -> bool:
    space = get_space(space_name)
    with torch.device("meta"):
        return hasattr(space.build(space.extreme_archs()[0], LATENCY_CLASSES), "latency_units")


def cut_into_units(space: SearchSpace) -> bool:
    """Whether the space's networks list their latency units (`latency_units()`)."""
    return _cut_into_units(space.name)


def materialised(unit: nn.Module) -> nn.Module:
    """A real copy of a meta-device unit, with seeded weights (their values do not matter for timing, but they
    must be ordinary numbers: uninitialised memory can hold denormals, which are slow) and unit BN statistics."""
    real = copy.deepcopy(unit).to_empty(device="cpu")
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, tensor in list(real.named_parameters()) + list(real.named_buffers()):
            if name.endswith("running_var"):
                tensor.fill_(1.0)
            elif tensor.is_floating_point():
                tensor.normal_(0.0, 0.05, generator=generator)
            else:
                tensor.zero_()
    return real
