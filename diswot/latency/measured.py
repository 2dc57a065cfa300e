"""Measured latency of a space's candidates, cached per (space, canonical arch, device, threads, batch, resolution)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from diswot.latency.measurement import LatencySetting, measure_network_latency
from diswot.latency.store import LatencyStore
from diswot.seeding import derive_seed, seeded_torch
from search_spaces import SearchSpace

# Latency does not depend on the class count much; one count keeps the cache shared across tasks.
LATENCY_CLASSES = 1000


class MeasuredLatency:
    """`seconds(space, arch)`: the candidate built and timed the first time it is asked for on this device and
    setting, read from the cache after that (across searches, with a `path`)."""

    def __init__(self, setting: LatencySetting = LatencySetting(), path: str | Path | LatencyStore | None = None):
        self.setting = setting
        self.store = path if isinstance(path, LatencyStore) else LatencyStore(path)

    def key(self, space: SearchSpace, arch: Any) -> str:
        return f"network|{space.name}:{space.canonical(arch)}|{self.setting.key()}"

    def seconds(self, space: SearchSpace, arch: Any) -> float:
        key = self.key(space, arch)
        cached = self.store.get(key)
        if cached is None:
            with seeded_torch(derive_seed(0, key)):  # weights drawn without touching the global generator
                network = space.build(arch, LATENCY_CLASSES)
            cached = measure_network_latency(network, self.setting)
            self.store.put(key, cached)
        return cached
