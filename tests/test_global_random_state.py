"""A search's result does not depend on what else runs in the process.

diswot draws from a process-wide generator only under its own locks: torch's CPU generator inside `seeded_torch`
(network construction), Python's `random` inside `private_random` (DEAP's operators); numpy's global generator
is never used, and a cost is counted on the meta device, drawing nothing. The perturber below behaves as other
work in the process may: it re-seeds every global generator over and over (taking diswot's lock where there is
one, as any diswot job does) and notes when a generator moved while it held it, that is, when the job drew from
it without the lock. Such a draw is what let one job's cost computation change another job's networks.
"""

import random
import threading
import time

import numpy as np
import pytest
import torch

import diswot
from diswot.seeding import seeded_torch
from diswot.student_search.strategies.deap_setup import private_random
from diswot.zoo import ZOO
from search_spaces import get_space, list_spaces

# A budget makes the search compute the extreme costs of the space before it starts (and count each candidate).
BUDGETED = dict(
    teacher="resnet8", space="resnet_cifar", num_classes=10, batch_size=8, population=6, sample_size=2,
    evaluations=10, max_params="0.4M", seed=3,
)
HOLD_S = 0.01  # the perturber holds the generators this long at a time ...
GAP_S = 0.002  # ... and lets go this long, so the job gets its turns


class GeneratorPerturber(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True)
        self.stopping = threading.Event()
        self.moved: set[str] = set()
        self.rounds = 0
        self.seeds = random.Random(12345)

    def run(self) -> None:
        while not self.stopping.is_set():
            seed = self.seeds.randrange(2**32)
            with seeded_torch(seed), private_random(random.Random(seed)):
                np.random.seed(seed)
                torch_state, python_state = torch.get_rng_state(), random.getstate()
                numpy_state = np.random.get_state()[1].copy()
                time.sleep(HOLD_S)
                if not torch.equal(torch_state, torch.get_rng_state()):
                    self.moved.add("torch")
                if python_state != random.getstate():
                    self.moved.add("random")
                if not np.array_equal(numpy_state, np.random.get_state()[1]):
                    self.moved.add("numpy")
            self.rounds += 1
            time.sleep(GAP_S)

    def __enter__(self) -> "GeneratorPerturber":
        self.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stopping.set()
        self.join()


def comparable(result):
    return [(e.canonical, e.feasible, e.score) for e in result.history], [(s.arch, s.score) for s in result.students]


@pytest.mark.parametrize("strategy", ["aging", "nsga2"])
def test_a_budgeted_search_gives_its_solo_result_while_the_global_generators_are_perturbed(strategy):
    alone = diswot.search(**BUDGETED, strategy=strategy)
    with GeneratorPerturber() as perturber:
        perturbed = diswot.search(**BUDGETED, strategy=strategy)
    assert perturber.rounds > 10  # it ran all along
    assert perturber.moved == set(), "the search drew from these global generators without diswot's lock"
    assert comparable(perturbed) == comparable(alone)


@pytest.mark.parametrize("space_name", list_spaces())
def test_cost_draws_nothing_from_the_global_generator(space_name):
    space = get_space(space_name)
    before = torch.get_rng_state()
    costs = [space.cost(arch, 10) for arch in space.extreme_archs()]
    assert torch.equal(before, torch.get_rng_state())
    assert 0 < costs[0].params <= costs[1].params and 0 < costs[0].flops <= costs[1].flops


def test_cost_counts_what_the_built_network_has():
    """Counted without weights, the cost is still the cost of the real network (here: every zoo model)."""
    space = get_space("zoo")
    for name in ZOO.names():
        network = space.build(name, 10)
        assert space.cost(name, 10).params == sum(p.numel() for p in network.parameters()), name
