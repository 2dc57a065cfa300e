"""Size proxies: the baseline every ranking must be compared with (bigger networks tend to be more accurate)."""

from __future__ import annotations

from diswot.proxies import register_proxy
from diswot.proxies.base import Proxy, ProxyValue

BASELINE_REFERENCE = "Abdelfattah et al., Zero-Cost Proxies for Lightweight NAS, ICLR 2021 (as a baseline)"


def _cost_proxy(name: str, summary: str) -> Proxy:
    return register_proxy(
        Proxy(
            name=name,
            compute=lambda candidate: ProxyValue(float(getattr(candidate.cost, name))),
            direction="max",
            needs_teacher=False,
            needs_labels=False,
            needs_grad=False,
            reference=BASELINE_REFERENCE,
            summary=summary,
        )
    )


_cost_proxy("params", "parameter count of the candidate network")
_cost_proxy("flops", "multiply-accumulates of one forward pass at the probe resolution")
