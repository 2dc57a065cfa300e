"""VKDNW and AZ-NAS against independent computations of their definitions, and the log-rank aggregate."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from diswot import ProbeDataSpec, get_space
from diswot.correlation import correlate
from diswot.errors import DiswotError
from diswot.proxies import get_proxy
from diswot.proxies.aznas import aznas_scores, spectral_entropy
from diswot.proxies.ensemble import RankEnsemble, split_proxy_list
from diswot.proxies.network_blocks import network_blocks
from diswot.proxies.vkdnw import decile_entropy, fisher_coordinates, fisher_matrix, freeze_batch_statistics
from proxy_testing import teacher_free_scorer

NEW = ["vkdnw", "vkdnw_entropy", "aznas_expressivity", "aznas_progressivity", "aznas_trainability"]
CELL = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
DISCONNECTED = "|nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|none~0|none~1|none~2|"
SKIP_ONLY = "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"


class Wrap(nn.Module):
    """A block: one layer inside a module of its own, as network_blocks expects blocks to be."""

    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def forward(self, x):
        return self.layer(x)


class HandNet(nn.Module):
    """forward_features = a sequence of blocks; the classifier reads the pooled features."""

    def __init__(self, *blocks, width=4, classes=3):
        super().__init__()
        self.body = nn.Sequential(*blocks)
        self.classifier = nn.Linear(width, classes)

    def forward_features(self, x):
        return self.body(x)

    def forward(self, x):
        return self.classifier(self.forward_features(x).mean(dim=(2, 3)))


def fixed_conv(weight):
    conv = nn.Conv2d(weight.shape[1], weight.shape[0], 1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(weight.reshape(*weight.shape, 1, 1))
    return conv


# ---- VKDNW ----------------------------------------------------------------------------------------------------


class SmallBnNet(nn.Module):
    """Every kind of layer VKDNW reads: strided padded conv with bias, BatchNorm, conv without bias, linear."""

    def __init__(self, classes=5):
        super().__init__()
        generator = torch.Generator().manual_seed(1)
        self.stem = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.BatchNorm2d(4), nn.ReLU())
        self.conv = nn.Conv2d(4, 6, 3, padding=1, bias=False)
        self.norm = nn.BatchNorm2d(6)
        self.classifier = nn.Linear(6, classes)
        with torch.no_grad():
            for parameter in self.parameters():  # BatchNorm's gamma 1 / beta 0 would hide a wrong scale
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.7 + 0.1)

    def forward_features(self, x):
        return torch.relu(self.norm(self.conv(self.stem(x))))

    def forward(self, x):
        return self.classifier(self.forward_features(x).mean(dim=(2, 3)))


def test_fisher_matches_an_explicit_per_image_per_class_autograd_loop():
    model = SmallBnNet()
    images = torch.randn(4, 3, 8, 8, generator=torch.Generator().manual_seed(2))
    freeze_batch_statistics(model, images)
    parameters = list(model.parameters())
    expected = torch.zeros(len(parameters), len(parameters), dtype=torch.float64)
    for image in images:  # one image at a time: the frozen statistics make it that image's own function
        log_probabilities = torch.log_softmax(model(image[None]), dim=1)[0]
        for c, log_probability in enumerate(log_probabilities):
            gradients = torch.autograd.grad(log_probability, parameters, retain_graph=True)
            first = torch.stack([g.flatten()[0] for g in gradients]).double()
            expected += log_probability.exp().item() * torch.outer(first, first)
    expected /= len(images)
    fisher = fisher_matrix(model, images)
    assert len(fisher_coordinates(model)) == len(parameters) == 9
    assert torch.allclose(fisher, expected, rtol=1e-4, atol=1e-7 * expected.abs().max())


def test_frozen_statistics_reproduce_the_batch_statistics_forward():
    model = SmallBnNet()
    images = torch.randn(6, 3, 8, 8, generator=torch.Generator().manual_seed(3))
    model.train()
    with torch.no_grad():
        batch_statistics_logits = model(images)
    freeze_batch_statistics(model, images)
    assert not model.training
    with torch.no_grad():
        assert torch.allclose(model(images), batch_statistics_logits, atol=1e-5)


def test_decile_entropy_on_hand_made_spectra():
    assert decile_entropy(torch.full((50,), 3.0)) == pytest.approx(math.log(9))
    # 1..10: the q-quantile sits at 1 + 9q (linear interpolation), i.e. 1.9, 2.8, ..., 9.1
    deciles = np.array([1 + 9 * k / 10 for k in range(1, 10)])
    p = deciles / deciles.sum()
    assert decile_entropy(torch.arange(1.0, 11.0)) == pytest.approx(-(p * np.log(p)).sum())
    # only the 90% decile is non-zero: all the mass on one value, entropy 0
    assert decile_entropy(torch.tensor([0.0] * 9 + [5.0])) == pytest.approx(0.0)
    assert decile_entropy(torch.zeros(20)) == -math.inf


def test_fisher_coordinates_refuse_layers_they_cannot_read():
    with pytest.raises(DiswotError, match="LayerNorm"):
        fisher_coordinates(nn.Sequential(nn.Conv2d(3, 4, 3), nn.LayerNorm(4)))


# ---- AZ-NAS ---------------------------------------------------------------------------------------------------


def test_spectral_entropy_isotropic_and_rank_deficient():
    assert spectral_entropy(torch.ones(4)) == pytest.approx(math.log(4))
    assert spectral_entropy(torch.tensor([2.0, 0.0, -1e-9, 0.0])) == pytest.approx(0.0)
    assert math.isnan(spectral_entropy(torch.zeros(3)))


def test_aznas_on_blocks_whose_answers_are_known():
    # X0: isotropic Gaussian channels (entropy ~ log 4); block 1 doubles them (same entropy, sigma = 2);
    # block 2 is a 2x2 average pool (sigma = 1/2 once pixel-unshuffled); block 3 maps every channel to the
    # same value (rank 1, entropy 0).
    model = HandNet(Wrap(fixed_conv(2 * torch.eye(4))), Wrap(nn.AvgPool2d(2)), Wrap(fixed_conv(torch.ones(4, 4))))
    images = torch.randn(16, 4, 16, 16, generator=torch.Generator().manual_seed(4))
    scores = aznas_scores(model, images, torch.Generator().manual_seed(5))
    log4 = math.log(4)
    assert scores.block_entropies[:3] == pytest.approx([log4, log4, log4], abs=0.01)
    assert scores.block_entropies[3] == pytest.approx(0.0, abs=1e-6)
    assert scores.expressivity == pytest.approx(3 * log4, abs=0.03)
    assert scores.progressivity == pytest.approx(-log4, abs=0.01)
    # sigma 2 and 1/2 both give -2 - 1/2 + 2 = -0.5; the all-ones 4x4 map has spectral norm 4: -4 - 1/4 + 2
    assert scores.trainability == pytest.approx((-0.5 - 0.5 - 2.25) / 3, abs=0.05)


def test_an_identity_block_makes_trainability_worst():
    model = HandNet(Wrap(fixed_conv(2 * torch.eye(4))), Wrap(nn.Identity()))
    images = torch.randn(4, 4, 8, 8, generator=torch.Generator().manual_seed(6))
    assert aznas_scores(model, images, torch.Generator().manual_seed(7)).trainability == -math.inf


def test_network_blocks_of_each_space():
    nb201 = get_space("nb201").build(get_space("nb201").parse(CELL), 10)
    assert len(network_blocks(nb201)) == 17 and network_blocks(nb201)[0] is nb201.cells[0]
    resnet = get_space("resnet_cifar").build(get_space("resnet_cifar").parse("1x16-3x32-1x64"), 10)
    assert network_blocks(resnet) == list(resnet.blocks)
    with pytest.raises(DiswotError, match="no sequence of blocks"):
        network_blocks(nn.Linear(2, 2))


# ---- the proxies on real candidates ----------------------------------------------------------------------------


@pytest.mark.parametrize("space, arch", [("nb201", CELL), ("resnet_cifar", "1x16-1x32-1x64")])
def test_finite_reproducible_and_the_candidate_network_untouched(space, arch):
    scorer = teacher_free_scorer(NEW)
    candidate = scorer.candidate(get_space(space), arch)
    before = {name: value.clone() for name, value in candidate.network.state_dict().items()}
    first = scorer.score_candidate(candidate)
    assert all(math.isfinite(first.scores[name]) for name in NEW), first.scores
    assert first.scores["vkdnw"] == pytest.approx(len(list(candidate.network.parameters()))
                                                  + first.scores["vkdnw_entropy"])
    assert 0 < first.scores["vkdnw_entropy"] <= math.log(9)
    for name, value in candidate.network.state_dict().items():
        assert torch.equal(value, before[name]), name
    assert all(p.requires_grad for p in candidate.network.parameters())
    assert scorer.score(get_space(space), arch).scores == first.scores  # a fresh candidate, the same draws


def test_a_cell_that_ignores_its_input_scores_worst_and_a_skip_only_cell_is_untrainable():
    scorer = teacher_free_scorer(NEW)
    assert all(v == -math.inf for v in scorer.score(get_space("nb201"), DISCONNECTED).scores.values())
    skip_only = scorer.score(get_space("nb201"), SKIP_ONLY).scores
    assert skip_only["aznas_trainability"] == -math.inf and math.isfinite(skip_only["aznas_expressivity"])


def test_registered_as_data_free_teacher_free_proxies():
    for name in NEW:
        proxy = get_proxy(name)
        assert not proxy.needs_teacher and not proxy.needs_labels and proxy.reference


# ---- log-rank aggregation --------------------------------------------------------------------------------------


def test_log_rank_aggregate_on_a_hand_made_table():
    columns = {"a": [3.0, 1.0, 2.0], "b": [1.0, 3.0, -math.inf]}  # ranks a: 3, 1, 2; b: 2, 3, 1
    aggregate = RankEnsemble("logrank:a+b", ("a", "b"), "log_rank")
    expected = [math.log(3 / 3) + math.log(2 / 3), math.log(1 / 3) + math.log(3 / 3), math.log(2 / 3) + math.log(1 / 3)]
    assert list(aggregate.scores(columns)) == pytest.approx(expected)
    # one bad rank costs more than a good one gains: (2, 2) beats (3, 1), though their mean ranks are equal
    two_ways = RankEnsemble("logrank:a+b", ("a", "b"), "log_rank").scores({"a": [2.0, 3.0, 1.0], "b": [2.0, 1.0, 3.0]})
    assert two_ways[0] > two_ways[1]


def test_aggregate_specs():
    to_score, aggregates = split_proxy_list(["params", "synflow", "aznas", "vkdnw_agg", "logrank", "logrank:nwot+params"])
    assert [(a.name, a.aggregation) for a in aggregates] == [
        ("aznas", "log_rank"), ("vkdnw_agg", "log_rank"), ("logrank", "log_rank"), ("logrank:nwot+params", "log_rank")]
    assert aggregates[0].members == ("aznas_expressivity", "aznas_progressivity", "aznas_trainability", "flops")
    assert aggregates[1].members == ("vkdnw", "jacob_cov", "aznas_expressivity", "aznas_trainability", "flops")
    assert aggregates[2].members == ("params", "synflow")
    assert to_score == ["params", "synflow", "aznas_expressivity", "aznas_progressivity", "aznas_trainability", "flops",
                        "vkdnw", "jacob_cov", "nwot"]
    with pytest.raises(DiswotError, match="cannot contain"):
        split_proxy_list(["logrank:aznas+params"])


def test_correlate_reports_the_aznas_aggregate_of_its_components(tmp_path):
    cells = [CELL, DISCONNECTED, "|nor_conv_1x1~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|none~1|skip_connect~2|",
             "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"]
    table = tmp_path / "truth.csv"
    table.write_text("arch,acc\n" + "".join(f"{a},{t}\n" for a, t in zip(cells, [70.0, 10.0, 50.0, 72.0])))
    report = correlate(table, "arch", "acc", proxies=["aznas"], num_classes=10,
                       data=ProbeDataSpec(batch_size=8, image_size=16), timing_sample=0)
    members = ("aznas_expressivity", "aznas_progressivity", "aznas_trainability", "flops")
    ranks = {m: np.argsort(np.argsort([c.scores[m] for c in report.candidates])) + 1 for m in members}
    expected = sum(np.log(ranks[m] / len(cells)) for m in members)  # no ties among these four cells
    assert [c.scores["aznas"] for c in report.candidates] == pytest.approx(list(expected))
    assert report.table[0].proxy == "aznas"
