"""The default proxy on the ImageNet spaces: its calibration measures every component on each space's reference
sample, and ordinary candidates score finite values (no -inf from a term that breaks at this scale). At 32 px and
a batch of 8 to stay quick; the ranking at 64 px against 224 px is benchmarks/large_space_search.py's."""

import math
import random

import pytest

from diswot.probe_data import ProbeDataSpec
from diswot.proxies.diswot_capacity import COMPONENTS
from diswot.scoring_setup import ScoringSetup
from search_spaces import get_space

CANDIDATES = 8


@pytest.mark.parametrize("space_name", ["mobilenet", "resnet_imagenet"])
def test_the_default_is_finite_and_calibrated_on_the_imagenet_spaces(space_name):
    setup = ScoringSetup("imagenet:resnet18", num_classes=100, proxies=("default",),
                         probe=ProbeDataSpec(batch_size=8, image_size=32), device="cpu")
    scorer = setup.build_scorer()
    space = get_space(space_name)
    rng = random.Random(3)
    records = [scorer.score(space, space.sample(rng)) for _ in range(CANDIDATES)]
    for record in records:
        assert math.isfinite(record.score), (record.arch, record.terms)
        assert all(math.isfinite(record.terms[name]) for name in COMPONENTS), record.terms
        assert record.terms["log_params"] == pytest.approx(math.log(record.params))
    (calibration,) = scorer.calibrations.values()
    assert len(calibration.reference) == 64 and set(calibration.scales) == set(COMPONENTS)
    for name, scale in calibration.scales.items():
        assert math.isfinite(scale.median) and scale.spread > 0, name
    # The candidates differ: every component separates them (none is constant over the sample).
    for name in COMPONENTS:
        assert len({round(record.terms[name], 9) for record in records}) > 1, name
