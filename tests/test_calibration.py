"""Calibration (robust scales on a reference sample) and the calibrated default fitness `diswot_capacity`."""

import math
import random

import numpy as np
import pytest
import torch
from scipy import stats

from diswot.calibration import IQR_PER_SIGMA, Calibration, TermScale, reference_sample
from diswot.probe_data import ProbeDataSpec
from diswot.proxies import DEFAULT_PROXY, get_proxy, resolve_proxy_name
from diswot.proxies.diswot_capacity import DEFAULT_WEIGHTS, NAME, fitness
from diswot.scoring_setup import ScoringSetup
from diswot.student_search import SearchRequest
from search_spaces import get_space


def test_term_scale_is_median_and_iqr_over_1349():
    scale = TermScale.of("x", [1, 2, 3, 4, 5, 6, 7, 8, float("-inf")])  # -inf (a dead cell) is left out
    assert scale.median == 4.5
    assert scale.spread == pytest.approx((6.25 - 2.75) / 1.349)  # numpy's linear-interpolated quartiles of 1..8
    assert scale.standardise(4.5 + scale.spread) == pytest.approx(1.0)
    assert scale.standardise(float("nan")) == -math.inf


def test_term_scale_of_normal_values_estimates_sigma():
    values = np.random.default_rng(0).normal(3.0, 2.0, 20000)
    scale = TermScale.of("x", list(values))
    assert scale.median == pytest.approx(3.0, abs=0.05)
    assert scale.spread == pytest.approx(2.0, rel=0.03)
    assert IQR_PER_SIGMA == pytest.approx(stats.norm.ppf(0.75) - stats.norm.ppf(0.25), abs=1e-3)


def test_calibration_needs_finite_values():
    with pytest.raises(Exception, match="only 2 reference candidates"):
        TermScale.of("relation_similarity", [1.0, 2.0, float("-inf")])


def test_reference_sample_is_fixed_distinct_and_ignores_global_rng():
    space = get_space("nb201")
    random.seed(1)
    torch.manual_seed(1)
    first = reference_sample(space, 64, seed=0)
    random.seed(2)
    torch.manual_seed(2)
    assert reference_sample(space, 64, seed=0) == first
    assert len(set(first)) == 64
    assert reference_sample(space, 64, seed=1) != first
    assert all(space.canonical(space.parse(arch)) == arch for arch in first)


def test_small_space_reference_is_the_whole_space():
    space = get_space("resnet_cifar")  # 64 students
    assert sorted(reference_sample(space, 100, seed=0)) == sorted(space.format(a) for a in space.enumerate())


def test_calibration_round_trips_through_json_form():
    calibration = Calibration("nb201", ("a", "b"), {"x": TermScale(1.0, 2.0)})
    assert Calibration.from_dict(calibration.to_dict()) == calibration


@pytest.fixture(scope="module")
def nb201_scorer():
    proxies = (NAME, "diswot_semantic", "diswot_relation", "params", "synflow")
    return ScoringSetup("resnet8", num_classes=10, probe=ProbeDataSpec(source="synthetic", batch_size=16),
                        proxies=proxies, device="cpu").build_scorer()


def components(record):
    """diswot_capacity's components, from the separately registered single proxies."""
    if record.scores["diswot_semantic"] == -math.inf:
        return None
    return {"semantic_similarity": record.scores["diswot_semantic"],
            "relation_similarity": -math.log(-record.scores["diswot_relation"]),
            "log_params": math.log(record.scores["params"]), "log_synflow": math.log(record.scores["synflow"])}


@pytest.fixture(scope="module")
def reference_records(nb201_scorer):
    space = get_space("nb201")
    return [nb201_scorer.score(space, arch) for arch in reference_sample(space, 64, seed=0)]


def test_diswot_capacity_is_the_weighted_sum_of_robust_z_scores(nb201_scorer, reference_records):
    """Recomputed from the single proxies and numpy's quartiles of the reference sample."""
    space = get_space("nb201")
    reference = [c for c in map(components, reference_records) if c is not None]
    archs = ["|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|",
             "|nor_conv_1x1~0|+|skip_connect~0|nor_conv_3x3~1|+|nor_conv_3x3~0|none~1|nor_conv_3x3~2|"]
    for arch in archs:
        record = nb201_scorer.score(space, arch)
        mine = components(record)
        expected = 0.0
        for name, weight in DEFAULT_WEIGHTS.items():
            q25, median, q75 = np.percentile([r[name] for r in reference], [25, 50, 75])
            expected += weight * (mine[name] - median) / ((q75 - q25) / 1.349)
        assert record.scores[NAME] == pytest.approx(expected, rel=1e-6)
        assert record.terms["log_params"] == pytest.approx(mine["log_params"])  # raw values stay in the record


def test_diswot_capacity_scores_a_student_that_ignores_its_input_worst(nb201_scorer):
    dead = "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|"  # no path from input to output
    assert nb201_scorer.score(get_space("nb201"), dead).scores[NAME] == -math.inf


def test_both_diswot_terms_count_in_the_default(nb201_scorer, reference_records):
    """The raw DisWOT sum ranks like its semantic term alone (the relation distance is ~100x smaller); after
    calibration, dropping the relation term reorders the candidates."""
    records = [r for r in reference_records if components(r) is not None]
    raw_sum = [r.scores["diswot_semantic"] + r.scores["diswot_relation"] for r in records]
    semantic = [r.scores["diswot_semantic"] for r in records]
    assert stats.kendalltau(raw_sum, semantic).statistic > 0.97

    calibration = next(iter(nb201_scorer.calibrations.values()))
    without_relation = {**DEFAULT_WEIGHTS, "relation_similarity": 0.0}
    default = [fitness(calibration, components(r), DEFAULT_WEIGHTS) for r in records]
    ablated = [fitness(calibration, components(r), without_relation) for r in records]
    assert stats.kendalltau(default, ablated).statistic < 0.95


def test_default_names_the_search_default():
    assert resolve_proxy_name("default") == DEFAULT_PROXY == NAME
    assert get_proxy("default") is get_proxy(NAME)
    assert SearchRequest.parse({"teacher": "resnet8", "space": "nb201"}).scoring.proxies == (DEFAULT_PROXY,)
    config = SearchRequest.parse({"teacher": "resnet8", "space": "nb201", "proxies": ["default", "params"]})
    assert config.scoring.proxies == (DEFAULT_PROXY, "params")
