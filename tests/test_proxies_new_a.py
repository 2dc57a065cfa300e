"""ZiCo, MeCo and SWAP against independent computations of their definitions, on tiny hand-made cases."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from diswot import get_space
from diswot.errors import DiswotError
from diswot.proxies import get_proxy, list_proxies
from diswot.proxies.meco import meco_score, smallest_correlation_eigenvalue
from diswot.proxies.swap import distinct_patterns, size_regulariser, swap_score
from diswot.proxies.zico import batch_gradients, zico_from_gradients, zico_score
from proxy_testing import FailsAboveBatch, teacher_free_scorer

NEW = ["zico", "meco", "swap", "swap_reg"]
SMALL_CELL = "|nor_conv_1x1~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"
DISCONNECTED = "|nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|none~0|none~1|none~2|"


class TinyConvNet(nn.Module):
    """conv -> ReLU -> global pooling -> linear, without BatchNorm, in diswot's network shape."""

    def __init__(self):
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        self.conv = nn.Conv2d(3, 4, 3, padding=1, bias=False)
        self.classifier = nn.Linear(4, 3)
        with torch.no_grad():
            for parameter in self.parameters():
                parameter.copy_(torch.randn(parameter.shape, generator=generator))

    def forward_features(self, x):
        return torch.relu(self.conv(x))

    def forward(self, x):
        return self.classifier(self.forward_features(x).mean(dim=(2, 3)))


def test_new_proxies_are_registered_with_their_needs_and_a_reference():
    for name in NEW:
        proxy = get_proxy(name)
        assert name in list_proxies() and proxy.reference and proxy.summary and proxy.direction == "max"
        assert not proxy.needs_teacher
    assert get_proxy("zico").needs_grad and get_proxy("zico").needs_labels
    assert not any(get_proxy(n).needs_grad or get_proxy(n).needs_labels for n in ["meco", "swap", "swap_reg"])


def test_zico_of_given_gradients_is_the_log_of_mean_over_std():
    # Layer 1, per weight over the two batches: mean|g| = (2, 1, 2), std = (1, 1, 0): the third weight does not
    # vary and is left out, so the layer gives log(2/1 + 1/1). Layer 2 never varies and is left out entirely.
    first = [torch.tensor([1.0, -1.0, 2.0]), torch.tensor([[5.0, 5.0]])]
    second = [torch.tensor([3.0, 1.0, 2.0]), torch.tensor([[5.0, 5.0]])]
    assert zico_from_gradients([first, second]) == pytest.approx(math.log(3.0))
    assert zico_from_gradients([first, first]) == -math.inf  # nothing varies: log of an empty sum
    with pytest.raises(ValueError, match="at least 2"):
        zico_from_gradients([first])


def test_zico_matches_gradients_computed_by_hand_on_each_half():
    model = TinyConvNet()
    generator = torch.Generator().manual_seed(1)
    images, labels = torch.randn(8, 3, 5, 5, generator=generator), torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    expected_per_layer = [0.0, 0.0]
    halves = []
    for half in (slice(0, 4), slice(4, 8)):
        conv = model.conv.weight.detach().clone().requires_grad_(True)
        linear = model.classifier.weight.detach().clone().requires_grad_(True)
        features = torch.relu(F.conv2d(images[half], conv, padding=1)).mean(dim=(2, 3))
        loss = F.cross_entropy(F.linear(features, linear, model.classifier.bias.detach()), labels[half])
        halves.append([g.numpy().ravel() for g in torch.autograd.grad(loss, [conv, linear])])
    for layer in range(2):
        stacked = np.stack([halves[0][layer], halves[1][layer]])
        std = np.std(stacked, axis=0)
        expected_per_layer[layer] = np.log(np.sum(np.abs(stacked).mean(axis=0)[std > 0] / std[std > 0]))
    assert zico_score(model, images, labels) == pytest.approx(sum(expected_per_layer), rel=1e-5)
    # Split further after running out of memory: each chunk's loss is weighted, so the gradients are the same.
    with pytest.raises(DiswotError, match="at least 2 images; the probe batch has 1"):
        zico_score(model, images[:1], labels[:1])
    for limit in (2, 1):
        split = batch_gradients(FailsAboveBatch(model, limit), images[:4], labels[:4])
        for whole, part in zip(batch_gradients(model, images[:4], labels[:4]), split):
            assert torch.allclose(whole, part, atol=1e-6)


def test_meco_eigenvalue_matches_numpy_including_constant_channels():
    generator = torch.Generator().manual_seed(2)
    feature_map = torch.randn(5, 4, 3, generator=generator)
    feature_map[3] = 7.0  # a constant channel: its correlations are undefined and set to 0
    rows = feature_map.reshape(5, -1).numpy().astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        correlation = np.nan_to_num(np.corrcoef(rows), nan=0.0)
    expected = np.linalg.eigvalsh(correlation)[0]
    assert smallest_correlation_eigenvalue(feature_map) == pytest.approx(expected, abs=1e-12)
    assert expected == pytest.approx(0.0, abs=1e-12)  # the zero row makes 0 an eigenvalue
    without_constant = feature_map[[0, 1, 2, 4]]
    expected = np.linalg.eigvalsh(np.corrcoef(without_constant.reshape(4, -1).numpy().astype(np.float64)))[0]
    assert smallest_correlation_eigenvalue(without_constant) == pytest.approx(expected, abs=1e-12)
    assert 0 < expected < 1


def test_meco_sums_over_convolutions_and_relus_of_one_image():
    model = TinyConvNet()
    images = torch.randn(3, 3, 6, 6, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        conv = F.conv2d(images[:1], model.conv.weight, padding=1)[0]
    expected = 0.0
    for layer in (conv, torch.relu(conv)):
        rows = layer.reshape(4, -1).double().numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            expected += np.linalg.eigvalsh(np.nan_to_num(np.corrcoef(rows), nan=0.0))[0]
    assert meco_score(model, images[0]) == pytest.approx(expected, rel=1e-9, abs=1e-12)

    class Constant(nn.Module):
        def forward_features(self, x):
            return torch.relu(torch.zeros_like(x))

    assert meco_score(Constant(), images[0]) == -math.inf


class TwoReluLayers(nn.Module):
    """Units: relu(x) then relu(1 - x), so each pixel gives the patterns (x > 0) and (x < 1) over the images."""

    def forward_features(self, x):
        return F.relu(1 - torch.relu(x))


def test_swap_counts_the_distinct_sample_wise_patterns_of_a_hand_made_network():
    # Four pixels, three images. First ReLU (x > 0), per pixel over the images: 111, 101, 101, 000.
    # Second ReLU (relu(x) < 1), per pixel: 100, 111, 111, 111. Distinct: {111, 101, 000, 100} = 4.
    pixels = torch.tensor([[2.0, 0.5, 3.0, -1.0], [0.5, -1.0, -2.0, -1.0], [0.5, 0.5, 0.2, -3.0]])
    assert swap_score(TwoReluLayers(), pixels.reshape(3, 1, 2, 2)) == 4
    # Every unit on for every image (or off for every one): nothing tells images apart, the worst score.
    assert swap_score(TwoReluLayers(), torch.full((3, 1, 2, 2), 0.5)) == -math.inf

    class NoRelu(nn.Module):
        def forward_features(self, x):
            return x

    assert swap_score(NoRelu(), pixels.reshape(3, 1, 2, 2)) == -math.inf


def test_distinct_patterns_agrees_with_a_set_of_tuples_beyond_one_packed_word():
    generator = torch.Generator().manual_seed(4)
    for samples in (5, 62, 63, 130):
        base = torch.rand(samples, 40, generator=generator) > 0.5
        codes = base[:, torch.randint(0, 40, (200,), generator=generator)]  # 200 units, many repeated
        expected = len({tuple(column.tolist()) for column in codes.t()})
        assert distinct_patterns(codes) == expected


def test_regularised_swap_is_swap_times_the_size_factor():
    assert size_regulariser(1_500_000) == 1.0
    assert size_regulariser(0) == pytest.approx(math.exp(-1.5))
    assert size_regulariser(500_000) == pytest.approx(math.exp(-1.0 / 1.5))
    scorer = teacher_free_scorer(["swap", "swap_reg"])
    candidate = scorer.candidate(get_space("nb201"), SMALL_CELL)
    value = get_proxy("swap_reg").compute(candidate)
    factor = math.exp(-((candidate.cost.params / 1e6 - 1.5) ** 2) / 1.5)
    assert value.terms["swap"] == get_proxy("swap").compute(candidate).score
    assert value.score == pytest.approx(value.terms["swap"] * factor)


def test_new_proxies_leave_the_candidate_network_unchanged_and_are_deterministic():
    scorer = teacher_free_scorer(NEW, batch_size=4)
    candidate = scorer.candidate(get_space("nb201"), SMALL_CELL)
    before = {k: v.clone() for k, v in candidate.network.state_dict().items()}
    first = scorer.score_candidate(candidate).scores
    for key, value in candidate.network.state_dict().items():
        assert torch.equal(before[key], value), key
    assert all(p.grad is None for p in candidate.network.parameters())
    assert scorer.score(get_space("nb201"), SMALL_CELL).scores == first
    assert all(math.isfinite(v) for v in first.values())


@pytest.mark.parametrize("space, arch", [
    ("nb201", "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"),
    ("resnet_cifar", "1x16-1x32-1x64"),
    ("resnet_cifar_wide", "3x16-1x32-1x64"),
])
def test_new_proxies_are_finite_on_cells_and_resnet_students(space, arch):
    scores = teacher_free_scorer(NEW, batch_size=8).score(get_space(space), arch).scores
    assert all(math.isfinite(v) for v in scores.values()), scores
    assert scores["swap"] > 1 and scores["meco"] > 0


def test_a_cell_that_ignores_its_input_gets_the_worst_scores():
    scores = teacher_free_scorer(NEW).score(get_space("nb201"), DISCONNECTED).scores
    assert set(scores.values()) == {-math.inf}
