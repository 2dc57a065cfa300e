"""The proxy registry: every score a candidate can get, looked up by name."""

from __future__ import annotations

from diswot.proxies.base import Proxy, ProxyValue
from search_spaces.registry import Registry

PROXIES: Registry[Proxy] = Registry("proxy")
# What `diswot search` ranks by unless told otherwise; the name "default" stands for it wherever a proxy is named.
DEFAULT_PROXY = "diswot_capacity"
DEFAULT_ALIAS = "default"


def register_proxy(proxy: Proxy) -> Proxy:
    PROXIES.add(proxy.name, proxy)
    return proxy


def resolve_proxy_name(name: str) -> str:
    """`name`, or the default proxy's name for "default"."""
    return DEFAULT_PROXY if name == DEFAULT_ALIAS else name


def get_proxy(name: str) -> Proxy:
    return PROXIES.get(resolve_proxy_name(name))


def list_proxies() -> list[str]:
    return PROXIES.names()


from diswot.proxies import (  # noqa: E402,F401  (registration)
    aznas, cost_proxies, diswot_capacity, diswot_proxies, jacob_cov, meco, naswot, pruning_saliency, swap, synflow,
    teacher_similarity, vkdnw, zen, zico,
)

__all__ = [
    "DEFAULT_ALIAS", "DEFAULT_PROXY", "PROXIES", "Proxy", "ProxyValue", "get_proxy", "list_proxies", "register_proxy",
    "resolve_proxy_name",
]
