"""The DisWOT terms against independent truth: autograd and the explicit C x C matrices of the paper."""

import torch
import torch.nn.functional as F

from diswot.proxies.diswot_similarity import (
    class_correlation,
    classifier_gradient,
    mean_squared_distance,
    pool_channels,
    relation_matrix,
    semantic_distance,
    semantic_factors,
    semantic_matrices,
)


def test_closed_form_classifier_gradient_equals_autograd():
    torch.manual_seed(0)
    batch, channels, classes = 16, 12, 7
    pooled = torch.randn(batch, channels)
    labels = torch.randint(0, classes, (batch,))
    classifier = torch.nn.Linear(channels, classes)
    logits = classifier(pooled)
    F.cross_entropy(logits, labels).backward()
    closed_form = classifier_gradient(logits.detach(), pooled, labels)
    torch.testing.assert_close(closed_form, classifier.weight.grad, rtol=1e-5, atol=1e-7)


def test_semantic_distance_from_factors_equals_explicit_matrices():
    torch.manual_seed(1)
    teacher, student = torch.randn(10, 16), torch.randn(10, 16)
    student[3, 5] = 0.0  # a zero entry: its row of g g^T is all zeros and must stay so
    explicit = (semantic_matrices(teacher) - semantic_matrices(student)).pow(2).sum() / (16 * 10)
    fast = semantic_distance(semantic_factors(teacher), semantic_factors(student))
    torch.testing.assert_close(fast, explicit, rtol=1e-5, atol=1e-7)


def test_semantic_matrices_rows_are_unit_or_zero():
    gradient = torch.tensor([[1.0, -2.0, 0.0]])
    rows = semantic_matrices(gradient)[0].norm(dim=1)
    torch.testing.assert_close(rows, torch.tensor([1.0, 1.0, 0.0]))


def test_identical_networks_have_zero_distances():
    torch.manual_seed(2)
    gradient = torch.randn(5, 8)
    features = torch.randn(6, 8, 4, 4)
    assert float(semantic_distance(semantic_factors(gradient), semantic_factors(gradient))) < 1e-10
    assert float(mean_squared_distance(relation_matrix(features), relation_matrix(features))) == 0.0
    assert float(mean_squared_distance(class_correlation(gradient), class_correlation(gradient))) == 0.0


def test_relation_matrix_is_row_normalised_gram_of_flattened_features():
    features = torch.tensor([[[[1.0]], [[0.0]]], [[[1.0]], [[1.0]]]])  # B=2, C=2, 1x1
    # Gram of rows (1,0),(1,1) is [[1,1],[1,2]]; rows normalised: [1,1]/sqrt2, [1,2]/sqrt5.
    expected = torch.tensor([[1 / 2**0.5, 1 / 2**0.5], [1 / 5**0.5, 2 / 5**0.5]])
    torch.testing.assert_close(relation_matrix(features), expected)


def test_pool_channels_averages_adjacent_channels():
    gradient = torch.tensor([[1.0, 3.0, 5.0, 7.0]])
    torch.testing.assert_close(pool_channels(gradient, 2), torch.tensor([[2.0, 6.0]]))
    assert pool_channels(gradient, 4) is gradient
