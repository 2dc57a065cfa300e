"""Seeds derived from names, so a network's initialisation depends on what it is, not on when it was built."""

from __future__ import annotations

import contextlib
import hashlib
import threading
from typing import Iterator

import torch


def derive_seed(seed: int, key: str) -> int:
    """A 63-bit seed from (search seed, canonical architecture): the same pair gives the same seed in any process."""
    digest = hashlib.sha256(f"{seed}|{key}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


def network_key(space: str, canonical: str, init_index: int = 0) -> str:
    """What a candidate network's init seed is derived from: its space and canonical architecture, and, for the
    second and later of several random inits of one candidate, which init it is."""
    key = f"{space}:{canonical}"
    return key if init_index == 0 else f"{key}#init{init_index}"


# torch's CPU generator is one per process: searches on several threads (the service's workers) take turns.
_GLOBAL_GENERATOR_LOCK = threading.RLock()


@contextlib.contextmanager
def seeded_torch(seed: int) -> Iterator[None]:
    """Run a block (a network's construction) under a fixed torch CPU seed, leaving the global RNG as it was."""
    with _GLOBAL_GENERATOR_LOCK, torch.random.fork_rng(devices=[]):
        seed_cpu_generator(seed)
        yield


def global_generator_lock() -> threading.RLock:
    """The lock held while torch's global CPU generator is seeded or restored: a long run (training) takes it
    only to set or give back the generator's state, so that it never lands inside another thread's seeded build."""
    return _GLOBAL_GENERATOR_LOCK


def seed_cpu_generator(seed: int) -> None:
    """Seed torch's CPU generator only. `torch.manual_seed` also queues a seed for every accelerator, which
    costs a stack capture per call while CUDA is not initialised (most of a layer's re-draw) and would reset
    the accelerators' RNG, which `seeded_torch` does not restore."""
    torch.default_generator.manual_seed(seed)
