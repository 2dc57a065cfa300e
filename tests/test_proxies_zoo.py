"""The proxy zoo: each proxy against an independent computation of its definition, on tiny cases."""

import csv
import math
import weakref

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.stats import spearmanr
from torch import nn

from diswot import ProbeDataSpec, ScoringSetup, get_space
from diswot.network_outputs import batch_statistics_norm
from diswot.proxies import get_proxy, list_proxies
from diswot.proxies.batch_splitting import batch_chunks, is_out_of_memory, run_with_batch_splitting
from diswot.proxies.jacob_cov import jacobian_covariance_score
from diswot.proxies.naswot import naswot_score
from diswot.proxies.pruning_saliency import grasp_score, loss_gradients
from diswot.proxies.synflow import synflow_score
from diswot.proxies.teacher_similarity import centred_gram, kd_divergence, linear_cka
from proxy_testing import FailsAboveBatch

ZOO = ["nwot", "synflow", "snip", "grad_norm", "grasp", "fisher", "jacob_cov", "zen", "kd_loss", "cka"]
CELL = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
SMALL_CELL = "|nor_conv_1x1~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"
DISCONNECTED = "|nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|none~0|none~1|none~2|"


def make_scorer(proxies, batch_size=8, classes=10):
    probe = ProbeDataSpec(batch_size=batch_size, image_size=16)
    return ScoringSetup("resnet8", num_classes=classes, probe=probe, proxies=tuple(proxies), device="cpu").build_scorer()


class TinyConvNet(nn.Module):
    """A BatchNorm-free network in diswot's shape (forward_features + classifier), for exact checks."""

    def __init__(self, classes=3):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 4, 3, padding=1, bias=False)
        self.classifier = nn.Linear(4, classes)

    def forward_features(self, x):
        return torch.relu(self.conv(x))

    def forward(self, x):
        return self.classifier(self.forward_features(x).mean(dim=(2, 3)))


def test_every_zoo_proxy_is_registered_with_its_needs_and_a_reference():
    names = list_proxies()
    for name in ZOO + ["params", "flops"]:
        proxy = get_proxy(name)
        assert proxy.reference and proxy.summary and proxy.direction in ("max", "min")
        assert name in names
    assert get_proxy("kd_loss").needs_teacher and get_proxy("cka").needs_teacher
    assert not any(get_proxy(n).needs_teacher for n in ZOO[:8])
    assert {n for n in ZOO if get_proxy(n).needs_grad} == {"synflow", "snip", "grad_norm", "grasp", "fisher", "jacob_cov"}
    assert {n for n in ZOO if get_proxy(n).needs_labels} == {"snip", "grad_norm", "grasp", "fisher"}
    assert "sp" not in names and "ensemble" not in names  # sp is diswot_relation; an ensemble needs a set


def test_proxies_leave_the_candidate_network_unchanged_and_are_deterministic():
    scorer = make_scorer(ZOO, batch_size=4)
    candidate = scorer.candidate(get_space("nb201"), SMALL_CELL)
    before = {k: v.clone() for k, v in candidate.network.state_dict().items()}
    first = scorer.score_candidate(candidate).scores
    for key, value in candidate.network.state_dict().items():
        assert torch.equal(before[key], value), key
    assert all(p.grad is None for p in candidate.network.parameters())
    assert scorer.score(get_space("nb201"), SMALL_CELL).scores == first
    assert all(math.isfinite(v) for v in first.values())


def test_a_cell_that_ignores_its_input_gets_the_worst_scores():
    scores = make_scorer(["nwot", "jacob_cov", "zen", "synflow", "snip"]).score(get_space("nb201"), DISCONNECTED).scores
    assert scores["nwot"] == scores["jacob_cov"] == scores["zen"] == -math.inf
    assert scores["synflow"] == 0 and scores["snip"] == 0


TEACHER_AWARE = ["diswot", "diswot_semantic", "diswot_relation", "diswot_classcorr", "kd_loss", "cka"]


def test_a_student_that_ignores_its_input_is_worst_on_every_teacher_aware_proxy():
    scorer = make_scorer(TEACHER_AWARE)
    space = get_space("nb201")
    disconnected = scorer.candidate(space, DISCONNECTED)
    # independent of the rule: with no path from input to output, every image gets the same features
    features = disconnected.outputs.features
    assert torch.equal(features, features[:1].expand_as(features))
    assert set(scorer.score_candidate(disconnected).scores.values()) == {-math.inf}
    connected = scorer.score(space, SMALL_CELL).scores
    assert all(math.isfinite(connected[name]) for name in TEACHER_AWARE)


def test_synflow_of_a_linear_network_is_layers_times_the_flow():
    # For bias-free linear layers R = 1^T |W2| |W1| 1 is linear in each layer, so each layer's sum of
    # w dR/dw is R (Euler): synflow = 2R, whatever the weights' signs.
    torch.manual_seed(0)
    first, second = nn.Linear(12, 5, bias=False), nn.Linear(5, 3, bias=False)
    model = nn.Sequential(nn.Flatten(), first, nn.ReLU(), nn.BatchNorm1d(5), second)
    with torch.no_grad():
        flow = float(torch.ones(3).double() @ second.weight.abs().double() @ first.weight.abs().double()
                     @ torch.ones(12).double())
    assert synflow_score(model, (3, 2, 2)) == pytest.approx(2 * flow, rel=1e-12)


def test_nwot_is_the_log_determinant_of_the_hamming_kernel():
    class ReluOnly(nn.Module):
        def forward_features(self, x):
            return torch.relu(x)

    # Codes 1100, 1010, 1111: K = 4 - Hamming distance = [[4,2,2],[2,4,2],[2,2,4]], det 32.
    images = torch.tensor([[1.0, 1, -1, -1], [1, -1, 1, -1], [1, 1, 1, 1]]).reshape(3, 1, 2, 2)
    assert naswot_score(ReluOnly(), images) == pytest.approx(math.log(32))
    # Split into single images: the codes of all images are joined before K is formed.
    assert naswot_score(FailsAboveBatch(ReluOnly(), limit=1), images) == pytest.approx(math.log(32))


def test_jacob_cov_peaks_at_minus_batch_for_uncorrelated_rows():
    rows = np.array([[1.0, -1, 0, 0], [0, 0, 1, -1], [1, 1, -1, -1]])  # zero-mean, mutually orthogonal
    k = 1e-5
    assert jacobian_covariance_score(rows) == pytest.approx(-3 * (math.log(1 + k) + 1 / (1 + k)))
    assert jacobian_covariance_score(np.array([[1.0, 1, 1, 1], [0, 1, 0, 1]])) == -math.inf


def test_snip_grad_norm_and_fisher_match_a_direct_autograd_computation():
    scorer = make_scorer(["snip", "grad_norm", "fisher"], batch_size=16)
    candidate = scorer.candidate(get_space("nb201"), CELL)
    scores = scorer.score_candidate(candidate).scores
    model = candidate.build_network()
    outputs = {}

    def keep_output(name):
        def hook(_module, _inputs, output):
            output.retain_grad()
            outputs[name] = output

        return hook

    for name, module in model.named_modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            module.register_forward_hook(keep_output(name))
    with batch_statistics_norm(model):
        F.cross_entropy(model(candidate.images), candidate.labels).backward()
    layers = {name: m for name, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))}
    snip = sum(float((m.weight.detach() * m.weight.grad).abs().sum()) for m in layers.values())
    grad_norm = sum(float(m.weight.grad.norm()) for m in layers.values())
    fisher = 0.0
    for name, m in layers.items():
        act, grad = outputs[name].detach(), outputs[name].grad
        per_image = (act * grad).sum(dim=(2, 3)) if act.dim() == 4 else act * grad
        per_channel = 0.5 * per_image.pow(2).mean(0)
        fisher += float(per_channel.sum()) * m.weight[0].numel()
    assert scores["snip"] == pytest.approx(snip, rel=1e-4)
    assert scores["grad_norm"] == pytest.approx(grad_norm, rel=1e-4)
    assert scores["fisher"] == pytest.approx(fisher, rel=1e-4)


def test_gradient_proxies_release_the_activations():
    # A hook that held its own tensor once kept every activation of every candidate alive (a cycle through
    # autograd that the garbage collector cannot see): tens of GB over a benchmark.
    model = TinyConvNet()
    outputs = []
    model.conv.register_forward_hook(lambda _m, _i, output: outputs.append(weakref.ref(output)))
    loss_gradients(model, torch.randn(4, 3, 4, 4), torch.tensor([0, 1, 2, 0]))
    assert outputs and all(ref() is None for ref in outputs)


def test_grasp_is_minus_weights_times_hessian_gradient():
    model = TinyConvNet()
    images, labels = torch.randn(6, 3, 4, 4), torch.tensor([0, 1, 2, 0, 1, 2])
    weights = [model.conv.weight, model.classifier.weight]
    shapes = [w.shape for w in weights]
    flat = torch.cat([w.detach().flatten() for w in weights])

    def loss_of(vector):
        conv, linear = torch.split(vector, [s.numel() for s in shapes])
        features = torch.relu(F.conv2d(images, conv.view(shapes[0]), padding=1)).mean(dim=(2, 3))
        return F.cross_entropy(F.linear(features, linear.view(shapes[1]), model.classifier.bias), labels)

    gradient = torch.autograd.functional.jacobian(loss_of, flat)
    hessian = torch.autograd.functional.hessian(loss_of, flat)
    expected = float(-(flat * (hessian @ gradient)).sum())
    assert grasp_score(model, images, labels) == pytest.approx(expected, rel=1e-4, abs=1e-9)


def test_kd_loss_and_cka_follow_their_formulas():
    torch.manual_seed(0)
    teacher, student = torch.randn(5, 7), torch.randn(5, 7)
    p_t, p_s = F.softmax(teacher / 4, 1), F.softmax(student / 4, 1)
    expected = float((p_t * (p_t.log() - p_s.log())).sum(1).mean() * 16)
    assert float(kd_divergence(F.log_softmax(teacher / 4, 1), student, 4.0)) == pytest.approx(expected, rel=1e-5)

    x, y = torch.randn(6, 3, 2, 2), torch.randn(6, 5, 2, 2)
    xc = x.reshape(6, -1) - x.reshape(6, -1).mean(0)
    yc = y.reshape(6, -1) - y.reshape(6, -1).mean(0)
    expected = (yc.t() @ xc).norm() ** 2 / ((xc.t() @ xc).norm() * (yc.t() @ yc).norm())
    assert float(linear_cka(centred_gram(x), centred_gram(y))) == pytest.approx(float(expected), rel=1e-4)
    assert float(linear_cka(centred_gram(x), centred_gram(3 * x))) == pytest.approx(1.0, rel=1e-5)


def test_teacher_aware_proxies_compare_with_the_teacher():
    probe = ProbeDataSpec(batch_size=16, image_size=16)
    scores = [
        ScoringSetup(teacher, num_classes=10, probe=probe, proxies=("kd_loss", "cka"), device="cpu").build_scorer()
        .score(get_space("nb201"), CELL).scores
        for teacher in ("resnet8", "wrn_16_1")
    ]
    for first_teacher, second_teacher in zip(*[s.values() for s in scores]):
        assert first_teacher != second_teacher
    assert all(-math.inf < s["kd_loss"] < 0 and 0 < s["cka"] < 1 for s in scores)


def test_out_of_memory_halves_the_batch_until_it_fits():
    calls = []

    def run(chunks):
        calls.append(len(chunks))
        if max(c.stop - c.start for c in chunks) > 16:
            raise torch.OutOfMemoryError("CUDA out of memory (injected)")
        return sum(sum(range(c.start, c.stop)) for c in chunks)

    assert run_with_batch_splitting(run, 64) == sum(range(64))
    assert calls == [1, 2, 4]
    assert batch_chunks(5, 2) == [slice(0, 2), slice(2, 5)]
    assert is_out_of_memory(RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 9 GB"))
    assert not is_out_of_memory(RuntimeError("shape mismatch"))

    def never_fits(chunks):
        raise torch.OutOfMemoryError("out of memory")

    with pytest.raises(torch.OutOfMemoryError):
        run_with_batch_splitting(never_fits, 4)
    with pytest.raises(ValueError):
        run_with_batch_splitting(lambda chunks: (_ for _ in ()).throw(ValueError("not memory")), 4)


def test_split_gradient_proxies_equal_the_unsplit_ones_without_batch_norm():
    # Each chunk's loss is weighted by its share of the batch, so without BatchNorm a split run is exact.
    images, labels = torch.randn(8, 3, 4, 4), torch.arange(8) % 3
    whole = loss_gradients(TinyConvNet(), images, labels)
    failing = FailsAboveBatch(TinyConvNet(), limit=2)
    split = loss_gradients(failing, images, labels)
    assert failing.batches == [8, 4, 2, 2, 2, 2]
    for a, b in zip(whole, split):
        assert torch.allclose(a.gradient, b.gradient, atol=1e-6)
        assert torch.allclose(a.fisher, b.fisher, rtol=1e-5, atol=1e-9)
    assert grasp_score(FailsAboveBatch(TinyConvNet(), limit=4), images, labels) == pytest.approx(
        grasp_score(TinyConvNet(), images, labels), rel=1e-4)


def test_a_proxy_that_runs_out_of_memory_still_scores_a_real_candidate(monkeypatch):
    scorer = make_scorer(["snip", "jacob_cov", "nwot"], batch_size=8)
    candidate = scorer.candidate(get_space("nb201"), CELL)
    wrapped = []

    def failing_network():
        network = FailsAboveBatch(type(candidate).build_network(candidate), limit=4)
        wrapped.append(network)
        return network

    monkeypatch.setattr(candidate, "network", failing_network())
    monkeypatch.setattr(candidate, "build_network", failing_network)
    scores = scorer.score_candidate(candidate).scores
    assert all(math.isfinite(v) for v in scores.values())
    assert all(4 in network.batches for network in wrapped)


def test_synflow_agrees_with_nas_bench_suite_zero(shared_data):
    """A fast version of the benchmark's agreement check (benchmarks/ranking_quality.py): 20 CIFAR-100 cells."""
    rows = [r for r in csv.DictReader(open(shared_data / "nb201_zc_proxies_subset.csv")) if r["dataset"] == "cifar100"]
    rows = [r for r in rows if r["synflow"]][:20]
    probe = ProbeDataSpec(source=str(shared_data / "cifar100_sample.npz"), batch_size=2)
    scorer = ScoringSetup(None, num_classes=100, probe=probe, proxies=("synflow",), device="cpu").build_scorer()
    synflow = get_proxy("synflow")
    ours = [synflow.compute(scorer.candidate(get_space("nb201"), r["arch_str"])).score for r in rows]
    assert spearmanr(ours, [float(r["synflow"]) for r in rows]).statistic > 0.97
