"""The scorer's contract: order- and company-independent scores, an untouched teacher, a faithful fast path."""


import pytest
import torch
import torch.nn.functional as F

from diswot import DiswotError, ProbeDataSpec, Scorer, ScoringSetup, get_space, load_probe_batch, load_teacher
from diswot.published_procedure import published_diswot_score
from diswot.seeding import derive_seed, seeded_torch

NB201_CELLS = [
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
    "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|",
    "|nor_conv_1x1~0|+|none~0|none~1|+|skip_connect~0|nor_conv_3x3~1|none~2|",
]


def make_scorer(proxies=("diswot", "diswot_classcorr", "params"), teacher="resnet8", batch_size=16, classes=10, **kw):
    return ScoringSetup(teacher, num_classes=classes, probe=ProbeDataSpec(batch_size=batch_size),
                        proxies=tuple(proxies), device="cpu", **kw).build_scorer()


def test_score_does_not_depend_on_order_or_company():
    space = get_space("nb201")
    alone = make_scorer().score(space, NB201_CELLS[2])
    crowd = make_scorer().score_all(space, [NB201_CELLS[1], NB201_CELLS[0], NB201_CELLS[2], NB201_CELLS[0]])
    assert crowd[2].scores == alone.scores
    assert crowd[1].scores == crowd[3].scores


def test_teacher_parameters_and_buffers_unchanged_by_scoring():
    scorer = make_scorer()
    model = scorer.teacher.model
    before = {k: v.clone() for k, v in model.state_dict().items()}
    scorer.score_all(get_space("nb201"), NB201_CELLS)
    after = model.state_dict()
    assert before.keys() == after.keys()
    for key in before:
        assert torch.equal(before[key], after[key]), key
    assert all(p.grad is None for p in model.parameters())


def test_isomorphic_cells_score_the_same():
    space = get_space("nb201")
    # Swapping the two intermediate nodes of a cell without the 1->2 edge gives the same function.
    first = "|nor_conv_3x3~0|+|nor_conv_1x1~0|none~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2|"
    second = "|nor_conv_1x1~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|"
    scorer = make_scorer()
    assert scorer.score(space, first).scores == scorer.score(space, second).scores


def test_fast_scores_equal_the_published_procedure_with_autograd():
    """Rebuild both networks, differentiate with autograd, form explicit C x C / B x B matrices: same score."""
    space, classes = get_space("nb201"), 10
    scorer = make_scorer(proxies=("diswot",), classes=classes)
    images, labels = scorer.images.contiguous(), scorer.labels
    teacher = load_teacher("resnet8", classes).model  # a fresh copy: load_teacher seeds from (seed, spec)
    canonical = space.canonical(space.parse(NB201_CELLS[0]))
    with seeded_torch(derive_seed(0, f"nb201:{canonical}")):
        student = space.build(space.parse(canonical), classes)
    matrices = []
    for network in (teacher, student):
        network.train()
        features = network.forward_features(images)
        loss = F.cross_entropy(network.classifier(features.mean(dim=(2, 3))), labels)
        gradient = torch.autograd.grad(loss, network.classifier.weight)[0]
        # teacher resnet8 and the NB201 student both end at 64 channels: no pooling needed
        semantic = F.normalize(gradient.unsqueeze(2) * gradient.unsqueeze(1), dim=2)
        flat = features.detach().reshape(len(features), -1)
        matrices.append((semantic, F.normalize(flat @ flat.t(), dim=1)))
    (sem_t, rel_t), (sem_s, rel_s) = matrices
    expected = -float((sem_t - sem_s).pow(2).sum() / (64 * classes) + (rel_t - rel_s).pow(2).mean())
    assert scorer.score(space, NB201_CELLS[0]).score == pytest.approx(expected, rel=1e-3)


def test_the_published_procedure_scores_a_canonical_cell_as_the_scorer_does():
    """With a teacher four times wider than the student (256 against 64 channels), so that both pool the
    teacher's gradient down to the student's width; a cell with dead edges would differ (they are built here)."""
    space, classes = get_space("nb201"), 10
    scorer = make_scorer(proxies=("diswot",), teacher="resnet8x4", classes=classes)
    canonical = space.parse(space.canonical(space.parse(NB201_CELLS[0])))
    published = published_diswot_score("resnet8x4", space, canonical, scorer.images, scorer.labels, classes)
    assert scorer.score(space, canonical).score == pytest.approx(published, rel=1e-3)


def test_gaussian_init_changes_the_network_and_is_seeded():
    space = get_space("nb201")
    default = make_scorer(proxies=("diswot",)).score(space, NB201_CELLS[0]).score
    gaussian = make_scorer(proxies=("diswot",), init="gaussian").score(space, NB201_CELLS[0]).score
    again = make_scorer(proxies=("diswot",), init="gaussian").score(space, NB201_CELLS[0]).score
    assert gaussian == again and gaussian != default


def test_teacher_class_count_must_cover_probe_labels():
    probe = load_probe_batch(ProbeDataSpec(batch_size=16), 100)
    with pytest.raises(DiswotError, match="classes"):
        Scorer(ScoringSetup("resnet8", num_classes=10, proxies=("diswot",), device="cpu"), load_teacher("resnet8", 10),
               probe)


def test_unknown_proxy_lists_valid_names():
    with pytest.raises(DiswotError, match="valid: .*diswot_relation"):
        make_scorer(proxies=("diswott",))


def test_candidate_costs_come_with_every_record():
    record = make_scorer().score(get_space("resnet_cifar"), "3x16-3x32-3x64")
    assert 0.26e6 < record.params < 0.29e6  # resnet20 at 10 classes (He et al. 2016: 0.27M)
    assert record.flops > 0 and record.scores["params"] == record.params
    assert set(record.terms) == {"semantic_distance", "relation_distance", "class_correlation_distance"}


def test_several_inits_average_each_proxy_over_differently_initialised_students():
    space = get_space("nb201")
    single = make_scorer(proxies=("diswot", "synflow"))
    candidate = single.candidate(space, NB201_CELLS[0])
    per_init = [single.score_candidate(candidate.another_init(index)) for index in range(3)]
    weights = [next(c.network.parameters()) for c in (candidate.another_init(i) for i in range(3))]
    assert not torch.equal(weights[0], weights[1]) and not torch.equal(weights[1], weights[2])
    averaged = make_scorer(proxies=("diswot", "synflow"), inits=3).score(space, NB201_CELLS[0])
    for name in ("diswot", "synflow"):
        assert averaged.scores[name] == pytest.approx(sum(r.scores[name] for r in per_init) / 3, rel=1e-9)
    assert averaged.terms["semantic_distance"] == pytest.approx(sum(r.terms["semantic_distance"] for r in per_init) / 3)
    assert per_init[0].scores == single.score(space, NB201_CELLS[0]).scores  # the first init is the one-init score


@pytest.mark.parametrize("scheme", ["default", "gaussian"])
def test_shared_init_starts_every_layer_two_students_share_from_the_same_weights(scheme):
    space = get_space("nb201")
    # the two cells differ on edge 1->2 only (3x3 conv against 1x1 conv)
    first = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    second = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"

    def weights(cell, shared, init_index=0):
        scorer = make_scorer(init=scheme, shared_init=shared)
        return scorer.candidate(space, cell).another_init(init_index).network.state_dict()

    a, b = weights(first, True), weights(second, True)
    common = [k for k in a if k in b and a[k].shape == b[k].shape and a[k].is_floating_point()]
    differing = [k for k in a if k in b and a[k].shape != b[k].shape]
    assert {k.split(".edges.")[1].split(".")[0] for k in differing if ".edges." in k} == {"1_2"}
    random_layers = [k for k in common if k.endswith("weight") and a[k].dim() > 1]  # conv and linear weights
    assert len(random_layers) > 50
    assert all(torch.equal(a[k], b[k]) for k in common)
    # per-student seeds (the default) share nothing, and another init of the same student is another draw
    a_own, b_own = weights(first, False), weights(second, False)
    assert not any(torch.equal(a_own[k], b_own[k]) for k in random_layers)
    a_again = weights(first, True, init_index=1)
    assert not any(torch.equal(a[k], a_again[k]) for k in random_layers)


def test_shared_init_must_be_a_boolean():
    with pytest.raises(DiswotError, match="field 'shared_init': must be true or false"):
        make_scorer(shared_init="yes")


@pytest.mark.parametrize("inits", [0, -1, 1.5, True])
def test_inits_must_be_a_positive_integer(inits):
    with pytest.raises(DiswotError, match="inits"):
        make_scorer(inits=inits)
