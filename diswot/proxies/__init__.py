"""The proxy registry: every score a candidate can get, looked up by name."""

from __future__ import annotations

from diswot.proxies.base import Proxy, ProxyValue
from diswot.registry import Registry

PROXIES: Registry[Proxy] = Registry("proxy")


def register_proxy(proxy: Proxy) -> Proxy:
    PROXIES.add(proxy.name, proxy)
    return proxy


def get_proxy(name: str) -> Proxy:
    return PROXIES.get(name)


def list_proxies() -> list[str]:
    return PROXIES.names()


from diswot.proxies import (  # noqa: E402,F401  (registration)
    aznas, cost_proxies, diswot_proxies, jacob_cov, naswot, pruning_saliency, synflow, teacher_similarity, vkdnw, zen,
)

__all__ = ["PROXIES", "Proxy", "ProxyValue", "get_proxy", "list_proxies", "register_proxy"]
