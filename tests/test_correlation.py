"""Ranking statistics on hand-computed cases, the budgeted pick on a table whose answer is known, ensembles."""

import json
import math

import numpy as np
import pytest
import scipy.stats

from diswot import DiswotError, ProbeDataSpec
from diswot.correlation import (
    budgeted_pick,
    correlate,
    mean_truth_of_top,
    rank_correlations,
    ranking_quality,
    top_membership,
    top_share,
)
from diswot.proxies.ensemble import RankEnsemble, ranks_within_set, split_proxy_list
from diswot.scoring_setup import ScoringSetup
from search_spaces import get_space

CELLS = [
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
    "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|",
    "|nor_conv_1x1~0|+|none~0|none~1|+|skip_connect~0|nor_conv_3x3~1|none~2|",
    "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|nor_conv_1x1~2|",
    "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|",
]


def test_rank_correlations_of_one_swapped_pair():
    # 1 of 6 pairs discordant: tau = (5 - 1) / 6; rho = 1 - 6 * 2 / (4 * 15) = 0.8; ranks as values: r = rho.
    tau, rho, r = rank_correlations([1, 2, 3, 4], [1, 2, 4, 3])
    assert (tau, rho, r) == pytest.approx((2 / 3, 0.8, 0.8))


def test_rank_correlations_with_a_tie():
    # tau-b with one tied pair of scores: 5 concordant, 0 discordant, sqrt((6 - 1)(6 - 0)) = sqrt(30).
    # rho: Pearson of ranks (1.5, 1.5, 3, 4) and (1, 2, 3, 4) = 4.5 / sqrt(4.5 * 5).
    tau, rho, _ = rank_correlations([1, 1, 2, 3], [1, 2, 3, 4])
    assert tau == pytest.approx(5 / math.sqrt(30))
    assert rho == pytest.approx(4.5 / math.sqrt(4.5 * 5))


def test_worst_scores_rank_last_and_pearson_skips_them():
    tau, rho, r = rank_correlations([-math.inf, 1, 2, 4], [0, 1, 2, 3])
    assert tau == pytest.approx(1) and rho == pytest.approx(1)
    assert r == pytest.approx(np.corrcoef([1, 2, 4], [1, 2, 3])[0, 1])
    assert rank_correlations([float("nan"), 1, 2], [0, 1, 2])[:2] == pytest.approx((1, 1))
    assert all(math.isnan(v) for v in rank_correlations([3, 3, 3], [1, 2, 3]))


def test_top_membership_shares_a_tied_boundary():
    assert top_membership([5, 3, 3, 3, 1], 2) == pytest.approx([1, 1 / 3, 1 / 3, 1 / 3, 0])
    assert top_membership([5, 3, 3, 3, 1], 4) == pytest.approx([1, 1, 1, 1, 0])


def test_top_share_and_mean_truth_of_top():
    truth = list(range(20))  # the true top 5% of 20 is the last one (k = 1)
    assert top_share(list(range(20)), truth) == 1.0
    assert top_share(list(range(20))[::-1], truth) == 0.0
    assert top_share(list(range(20)), truth, fraction=0.1) == 1.0  # k = 2
    scores = [0] * 18 + [1, 0]  # best by the proxy: index 18; the true best (19) ties with 17 others at 0
    assert top_share(scores, truth, fraction=0.1) == pytest.approx((1 + 1 / 19) / 2)
    # Top 3 of [9, 8, 8, 1]: the 9, then both 8s count 1 each: mean (40 + 30 + 20) / 3.
    assert mean_truth_of_top([9, 8, 8, 1], [40, 30, 20, 10], count=3) == pytest.approx(30)
    # Top 2: the 9, then one of the tied 8s at random: (40 + (30 + 20) / 2) / 2.
    assert mean_truth_of_top([9, 8, 8, 1], [40, 30, 20, 10], count=2) == pytest.approx(32.5)


PARAMS = [1, 2, 3, 4, 5, 6]
TRUTH = [50, 60, 55, 70, 65, 80]
SCORES = [0.1, 0.5, 0.9, 0.2, 0.3, 0.8]


def test_budgeted_pick_on_a_known_table():
    pick = budgeted_pick(SCORES, TRUTH, PARAMS, budget=3)
    assert (pick.picked_truth, pick.best_truth, pick.gap) == (55, 60, 5)  # proxy picks index 2; best is index 1
    assert budgeted_pick(SCORES, TRUTH, PARAMS, budget=6).gap == 25
    assert budgeted_pick(TRUTH, TRUTH, PARAMS, budget=4).gap == 0  # an oracle proxy never loses
    tied = budgeted_pick([1, 1, 0, 0, 0, 0], TRUTH, PARAMS, budget=2)
    assert tied.picked_truth == 55 and tied.gap == 5  # a random choice of the tied best, in expectation
    # Top 5 within budget: the proxy leaves out index 5 (truth 80); the five best leave out index 0 (truth 50).
    listed = budgeted_pick([0.1, 0.5, 0.9, 0.2, 0.3, 0.0], TRUTH, PARAMS, budget=6)
    assert (listed.picked_top5_truth, listed.best_top5_truth) == (60, 66)
    assert budgeted_pick(SCORES, TRUTH, PARAMS, budget=2).picked_top5_truth == 55  # both fit: their mean
    with pytest.raises(DiswotError, match="no candidate fits"):
        budgeted_pick(SCORES, TRUTH, PARAMS, budget=0.5)


def test_ranking_quality_budgets_at_the_parameter_quartiles():
    quality = ranking_quality("toy", SCORES, TRUTH, PARAMS, ms_per_candidate=1.0)
    # np.percentile([1..6], (25, 50, 75)) = 2.25, 3.5, 4.75: feasible prefixes of length 2, 3, 4.
    assert [p.budget for p in quality.budgeted] == pytest.approx([2.25, 3.5, 4.75])
    assert [(p.picked_truth, p.best_truth, p.gap) for p in quality.budgeted] == [(60, 60, 0), (55, 60, 5), (55, 70, 15)]
    assert quality.top10_mean_truth == pytest.approx(np.mean(TRUTH))  # all six are in the top 10


def test_mean_rank_ensemble():
    columns = {"a": [3.0, 1.0, 2.0], "b": [1.0, 3.0, -math.inf], "c": [float("nan"), 0.0, 0.0]}
    assert list(ranks_within_set(columns["c"])) == [1, 2.5, 2.5]
    ensemble = RankEnsemble("ensemble:a+b", ("a", "b"))
    assert list(ensemble.scores(columns)) == pytest.approx([(3 + 2) / 2, (1 + 3) / 2, (2 + 1) / 2])


def test_ensemble_specs():
    to_score, ensembles = split_proxy_list(["params", "nwot", "ensemble", "ensemble:synflow+params"])
    assert to_score == ["params", "nwot", "synflow"]
    assert [(e.name, e.members) for e in ensembles] == [
        ("ensemble", ("params", "nwot")), ("ensemble:synflow+params", ("synflow", "params"))]
    with pytest.raises(DiswotError, match="at least two"):
        split_proxy_list(["params", "ensemble"])
    with pytest.raises(DiswotError, match="unknown proxy"):
        split_proxy_list(["ensemble:params+nowt"])


def test_correlate_a_small_table(tmp_path):
    table = tmp_path / "truth.csv"
    truth = [70.0, 52.0, 60.0, 30.0, 10.0, 71.0]
    rows = [*CELLS, CELLS[0]]  # a duplicate row is scored once and counted twice
    table.write_text("arch,acc\n" + "".join(f"{a},{t}\n" for a, t in zip(rows, truth)))
    report = correlate(table, "arch", "acc", proxies=["params", "synflow", "ensemble"], num_classes=10,
                       data=ProbeDataSpec(batch_size=8, image_size=16), timing_sample=2)
    assert [row.proxy for row in report.table] == ["params", "synflow", "ensemble"]
    assert report.settings["distinct_candidates"] == 5 and len(report.candidates) == 6
    assert report.candidates[0].scores == report.candidates[5].scores
    params = report.table[0]
    assert params.spearman_rho == pytest.approx(rank_correlations([c.params for c in report.candidates], truth)[1])
    assert all(row.ms_per_candidate > 0 for row in report.table)
    written = report.write(tmp_path / "out")
    assert {p.name for p in written} >= {"ranking_quality.csv", "ranking_quality.json", "ranking_quality.md",
                                         "scores.csv", "scatter_params.png"}
    document = json.loads((tmp_path / "out" / "ranking_quality.json").read_text())
    assert document["table"][1]["proxy"] == "synflow" and len(document["candidates"]) == 6
    # The markdown table: one row per proxy, its statistics as scipy computes them from the scores.
    markdown = (tmp_path / "out" / "ranking_quality.md").read_text()
    statistics_table = markdown.split("\n\n")[2].splitlines()[2:]  # heading, settings, then the table
    rows = {line.split(" | ")[0].lstrip("| "): line.split(" | ") for line in statistics_table}
    assert list(rows) == ["params", "synflow", "ensemble"]
    synflow = [c.scores["synflow"] for c in report.candidates]
    assert float(rows["synflow"][1]) == pytest.approx(scipy.stats.kendalltau(synflow, truth)[0], abs=5e-4)
    assert float(rows["params"][2]) == pytest.approx(scipy.stats.spearmanr([c.params for c in report.candidates],
                                                                           truth)[0], abs=5e-4)
    assert "acc: 6 rows (5 distinct)" in markdown


def test_correlate_with_several_inits_averages_each_student_over_them(tmp_path):
    table = tmp_path / "truth.csv"
    table.write_text("arch,acc\n" + "".join(f"{a},{t}\n" for a, t in zip(CELLS, [70.0, 52.0, 60.0, 30.0, 10.0])))
    data = ProbeDataSpec(batch_size=8, image_size=16)
    # timing_sample=2: candidates 1 and 2 take the per-proxy timed path, the others the shared one
    report = correlate(table, "arch", "acc", proxies=["synflow"], num_classes=10, data=data, timing_sample=2, inits=2)
    one_init = ScoringSetup(None, num_classes=10, probe=data, proxies=("synflow",), device="cpu").build_scorer()
    space = get_space("nb201")
    for cell, scored in zip(CELLS, report.candidates):
        candidate = one_init.candidate(space, cell)
        by_init = [one_init.score_candidate(candidate.another_init(index)).score for index in (0, 1)]
        assert by_init[0] != by_init[1]
        assert scored.scores["synflow"] == pytest.approx((by_init[0] + by_init[1]) / 2, rel=1e-9)
    assert report.settings["inits"] == 2


def test_correlate_rejects_a_missing_column(tmp_path):
    table = tmp_path / "truth.csv"
    table.write_text("arch,acc\n" + "".join(f"{a},1\n" for a in CELLS))
    with pytest.raises(DiswotError, match="no column 'accuracy'; its columns: arch, acc"):
        correlate(table, "arch", "accuracy", proxies=["params"])
