"""Latency of candidate students: measured (cached per device and setting) or predicted from a per-block table.

For a latency budget: `LatencyTable(setting).predict(space, arch)` rejects candidates cheaply before scoring;
`MeasuredLatency(setting, path).seconds(space, arch)` is the measured figure to report (and to confirm with).
"""

from diswot.latency.measured import MeasuredLatency
from diswot.latency.store import LATENCY_CACHE_FILE
from diswot.latency.measurement import LatencySetting, device_fingerprint, measure_latency, measure_network_latency
from diswot.latency.table import LatencyTable

__all__ = [
    "LATENCY_CACHE_FILE", "LatencySetting", "LatencyTable", "MeasuredLatency", "device_fingerprint", "measure_latency",
    "measure_network_latency",
]
