"""The distillation losses against direct computations of their formulas (written out here, independently of
the code's matrix shortcuts), and the CIFAR augmentation against its definition."""

import math

import pytest
import torch
import torch.nn.functional as F

from diswot.distillation.data import random_crop_flip
from diswot.distillation.losses import LossWeights, loss_terms, relation_loss, semantic_loss, total_loss
from diswot.errors import DiswotError
from diswot.network_outputs import NetworkOutputs


def outputs(batch, channels, classes, seed, requires_grad=False):
    generator = torch.Generator().manual_seed(seed)
    features = torch.randn(batch, channels, 3, 3, generator=generator, dtype=torch.float64)
    weight = torch.randn(classes, channels, generator=generator, dtype=torch.float64)
    features.requires_grad_(requires_grad)
    pooled = features.mean(dim=(2, 3))
    return NetworkOutputs(features, pooled, pooled @ weight.t()), weight


def hand_kd(teacher_logits, student_logits, temperature):
    """T^2 * mean over samples of sum_k p_T,k (log p_T,k - log p_S,k), with softmax written out."""
    total = 0.0
    for z_t, z_s in zip(teacher_logits.tolist(), student_logits.tolist()):
        e_t = [math.exp(v / temperature) for v in z_t]
        e_s = [math.exp(v / temperature) for v in z_s]
        p_t = [v / sum(e_t) for v in e_t]
        p_s = [v / sum(e_s) for v in e_s]
        total += sum(a * (math.log(a) - math.log(b)) for a, b in zip(p_t, p_s))
    return temperature**2 * total / len(teacher_logits)


def classifier_weight_gradient(pooled, weight, labels):
    """d(mean CE)/dW by autograd through an explicit linear layer: the definition of DisWOT's G."""
    w = weight.detach().clone().requires_grad_(True)
    F.cross_entropy(pooled.detach() @ w.t(), labels).backward()
    return w.grad


def hand_semantic(g_t, g_s):
    """sum_k ||rownorm(g_t,k g_t,k^T) - rownorm(g_s,k g_s,k^T)||_F^2 / (C K), row by row."""
    classes, channels = g_t.shape
    total = 0.0
    for k in range(classes):
        for i in range(channels):
            row_t = g_t[k, i] * g_t[k]
            row_s = g_s[k, i] * g_s[k]
            total += float(((row_t / row_t.norm()) - (row_s / row_s.norm())).pow(2).sum())
    return total / (channels * classes)


def hand_relation(f_t, f_s):
    batch = len(f_t)
    flat_t, flat_s = f_t.reshape(batch, -1), f_s.reshape(batch, -1)
    gram_t, gram_s = flat_t @ flat_t.t(), flat_s @ flat_s.t()
    total = 0.0
    for i in range(batch):
        total += float((gram_t[i] / gram_t[i].norm() - gram_s[i] / gram_s[i].norm()).pow(2).sum())
    return total / batch**2


def test_kd_term_is_the_hand_written_kl_times_t_squared():
    student, _ = outputs(6, 4, 5, seed=1)
    teacher, _ = outputs(6, 4, 5, seed=2)
    labels = torch.tensor([0, 1, 2, 3, 4, 0])
    for temperature in (1.0, 4.0):
        terms = loss_terms(student, teacher, labels, LossWeights(temperature=temperature))
        assert float(terms["kd"]) == pytest.approx(hand_kd(teacher.logits, student.logits, temperature), rel=1e-5)
    assert float(terms["cross_entropy"]) == pytest.approx(float(F.cross_entropy(student.logits, labels)), rel=1e-6)


def test_semantic_term_is_the_inter_channel_distance_of_autograd_classifier_gradients():
    student, student_weight = outputs(8, 4, 3, seed=3)
    teacher, teacher_weight = outputs(8, 4, 3, seed=4)
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    expected = hand_semantic(classifier_weight_gradient(teacher.pooled, teacher_weight, labels),
                             classifier_weight_gradient(student.pooled, student_weight, labels))
    assert float(semantic_loss(student, teacher, labels)) == pytest.approx(expected, rel=1e-5)


def test_semantic_term_pools_the_wider_teacher_to_the_student_width():
    student, student_weight = outputs(8, 4, 3, seed=5)
    teacher, teacher_weight = outputs(8, 8, 3, seed=6)
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    g_t = classifier_weight_gradient(teacher.pooled, teacher_weight, labels)
    pooled_t = (g_t[:, 0::2] + g_t[:, 1::2]) / 2  # 8 channels averaged in adjacent pairs down to 4
    expected = hand_semantic(pooled_t, classifier_weight_gradient(student.pooled, student_weight, labels))
    assert float(semantic_loss(student, teacher, labels)) == pytest.approx(expected, rel=1e-5)


def test_relation_term_is_the_similarity_preserving_distance():
    student, _ = outputs(5, 4, 3, seed=7)
    teacher, _ = outputs(5, 6, 3, seed=8)
    assert float(relation_loss(student, teacher)) == pytest.approx(hand_relation(teacher.features, student.features),
                                                                   rel=1e-5)


def test_the_similarity_terms_back_propagate_like_their_direct_formulas():
    """The gradient reaching the student's features through the code's factored form equals the one through the
    explicit matrices (this failed while the classifier gradient was computed in place)."""
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    teacher, _ = outputs(6, 4, 3, seed=9)
    student, weight = outputs(6, 4, 3, seed=10, requires_grad=True)
    (semantic_loss(student, teacher, labels) + relation_loss(student, teacher)).backward()
    code_gradient = student.features.grad.clone()

    features = student.features.detach().clone().requires_grad_(True)
    pooled = features.mean(dim=(2, 3))
    logits = pooled @ weight.t()
    g_s = (torch.softmax(logits, 1) - F.one_hot(labels, 3)).t() @ pooled / len(labels)
    g_t = (torch.softmax(teacher.logits, 1) - F.one_hot(labels, 3)).t() @ teacher.pooled / len(labels)
    rows_t = g_t.unsqueeze(2) * g_t.unsqueeze(1)
    rows_s = g_s.unsqueeze(2) * g_s.unsqueeze(1)
    semantic = ((rows_t / rows_t.norm(dim=2, keepdim=True) - rows_s / rows_s.norm(dim=2, keepdim=True))
                .pow(2).sum() / (4 * 3))
    flat_t, flat_s = teacher.features.reshape(6, -1), features.reshape(6, -1)
    gram_t, gram_s = flat_t @ flat_t.t(), flat_s @ flat_s.t()
    relation = (gram_t / gram_t.norm(dim=1, keepdim=True) - gram_s / gram_s.norm(dim=1, keepdim=True)).pow(2).mean()
    (semantic + relation).backward()
    assert code_gradient.abs().max() > 0
    torch.testing.assert_close(code_gradient, features.grad.to(code_gradient.dtype), rtol=1e-4, atol=1e-7)


def test_total_is_the_weighted_sum_and_vanilla_is_cross_entropy_alone():
    student, _ = outputs(6, 4, 3, seed=11)
    teacher, _ = outputs(6, 4, 3, seed=12)
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    weights = LossWeights(cross_entropy=0.3, kd=0.7, temperature=2.0, semantic=2.0, relation=5.0)
    terms = loss_terms(student, teacher, labels, weights)
    assert set(terms) == {"cross_entropy", "kd", "semantic", "relation"}
    expected = 0.3 * terms["cross_entropy"] + 0.7 * terms["kd"] + 2.0 * terms["semantic"] + 5.0 * terms["relation"]
    assert float(total_loss(terms, weights, distilling=True)) == pytest.approx(float(expected), rel=1e-9)
    vanilla = loss_terms(student, None, labels, weights)
    assert set(vanilla) == {"cross_entropy"}
    assert float(total_loss(vanilla, weights, distilling=False)) == float(vanilla["cross_entropy"])


@pytest.mark.parametrize("field, value", [
    ("kd", -1.0), ("semantic", float("nan")), ("temperature", 0.0), ("temperature", 1e-300),  # logits / T: inf
])
def test_bad_weights_are_refused(field, value):
    with pytest.raises(DiswotError, match="must be"):
        LossWeights(**{field: value})


def test_random_crop_flip_is_a_shifted_window_of_the_zero_padded_image():
    images = torch.rand(64, 3, 6, 5, generator=torch.Generator().manual_seed(0))
    augmented = random_crop_flip(images, torch.Generator().manual_seed(1), padding=2)
    assert augmented.shape == images.shape
    padded = F.pad(images, (2, 2, 2, 2))
    flips = 0
    for original, result in zip(padded, augmented):
        windows = [(top, left, flip) for top in range(5) for left in range(5) for flip in (False, True)
                   if torch.equal(result, (lambda w: w.flip(2) if flip else w)(original[:, top:top + 6, left:left + 5]))]
        assert windows, "an augmented image is not a crop of the padded image"
        flips += windows[0][2]
    assert 16 < flips < 48  # about half are mirrored
