"""ScoringSetup: one validated, picklable description of scoring that every entry point builds and every worker
builds its scorer from."""

import math
import pickle

import pytest

from diswot import ProbeDataSpec, Scorer, SearchRequest, load_probe_batch, load_teacher
from diswot.calibration import Calibration, TermScale
from diswot.errors import FieldError
from diswot.executors import InProcessExecutor
from diswot.proxies.diswot_capacity import DEFAULT_WEIGHTS
from diswot.proxies.diswot_capacity import NAME as CAPACITY
from diswot.calibration_on_workers import measured_calibrations
from diswot.scoring_setup import ScoringSetup
from search_spaces import get_space

PROBE = ProbeDataSpec(batch_size=8, image_size=16, seed=3)


def test_a_setup_survives_pickling_and_builds_the_scorer_a_hand_built_one_equals():
    setup = ScoringSetup("resnet8", num_classes=10, probe=PROBE, proxies=("diswot", "snip"), seed=3, device="cpu")
    again = pickle.loads(pickle.dumps(setup))
    assert again == setup
    by_hand = Scorer(setup, load_teacher("resnet8", 10, seed=3), load_probe_batch(PROBE, 10))
    space = get_space("resnet_cifar")
    assert again.build_scorer().score(space, "1x16-3x32-5x64").scores == by_hand.score(space, "1x16-3x32-5x64").scores


@pytest.mark.parametrize(
    "fields,field",
    [
        (dict(proxies=("no_such_proxy",)), "proxies"),
        (dict(proxies=()), "proxies"),
        (dict(teacher="resnet9000"), "teacher"),
        (dict(teacher=None, proxies=("diswot",)), "teacher"),
        (dict(init="uniform"), "init"),
        (dict(inits=0), "inits"),
        (dict(shared_init="yes"), "shared_init"),
        (dict(device="tpu"), "device"),
        (dict(num_classes=1), "num_classes"),
    ],
)
def test_a_bad_field_is_named(fields, field):
    values = dict(teacher="resnet8", num_classes=10, probe=PROBE, proxies=("diswot",))
    with pytest.raises(FieldError) as caught:
        ScoringSetup(**{**values, **fields})
    assert caught.value.field == field


def test_the_default_proxy_alias_is_resolved_once():
    assert ScoringSetup("resnet8", proxies=("default",)).proxies == ("diswot_capacity",)


def test_a_search_request_parses_its_scoring_setup_from_the_same_fields():
    request = SearchRequest.parse(dict(teacher="resnet8", space="nb201", num_classes=10, batch_size=8,
                                       image_size=16, seed=4, inits=2, shared_init=True, proxies=["diswot"]),
                                  allowed_teacher_dir="/srv/teachers")
    setup = request.scoring
    assert setup.probe == ProbeDataSpec(batch_size=8, image_size=16, seed=4)
    assert (setup.teacher, setup.num_classes, setup.seed, setup.inits, setup.shared_init, setup.proxies) == (
        "resnet8", 10, 4, 2, True, ("diswot",))
    assert setup.allowed_teacher_dir == "/srv/teachers"


def test_shipped_calibrations_are_used_not_measured_again():
    """A worker given the parent's calibration scores with it: the score is the weighted sum of the candidate's
    components standardised by that calibration (here a made-up one that no measurement would give)."""
    setup = ScoringSetup("resnet8", num_classes=10, probe=PROBE, proxies=(CAPACITY,), device="cpu")
    space = get_space("resnet_cifar")
    made_up = Calibration("resnet_cifar", ("1x16-1x32-1x64",), {name: TermScale(median=0.5, spread=2.0) for name in DEFAULT_WEIGHTS})
    scorer = setup.with_calibrations({("resnet_cifar", CAPACITY): made_up}).build_scorer()
    record = scorer.score(space, "3x16-3x32-3x64")
    expected = sum(weight * (record.terms[name] - 0.5) / 2.0 for name, weight in DEFAULT_WEIGHTS.items())
    assert math.isclose(record.score, expected, rel_tol=1e-12)
    assert scorer.calibrations == {("resnet_cifar", CAPACITY): made_up}


def test_measured_calibrations_are_those_the_scorer_would_measure_on_first_use():
    setup = ScoringSetup("resnet8", num_classes=10, probe=PROBE, proxies=(CAPACITY,), device="cpu")
    space = get_space("resnet_cifar")
    scorer = setup.build_scorer()
    executor = InProcessExecutor()
    executor.start(setup, scorer)
    shipped = measured_calibrations(scorer, space, executor)
    lazily = setup.build_scorer()
    lazily.score(space, "3x16-3x32-3x64")
    assert shipped == lazily.calibrations and list(shipped) == [("resnet_cifar", CAPACITY)]
