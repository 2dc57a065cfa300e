"""NAS-Bench-201's published accuracies, read from a CSV with one row per cell (`arch_str` and one column per
dataset and split, as ../shared/data/nb201_accuracy.csv has them): the ground truth that benchmarks rank against."""

from __future__ import annotations

from pathlib import Path

from diswot.correlation import read_truth

ARCH_COLUMN = "arch_str"


def test_accuracy(path: str | Path, dataset: str) -> dict[str, float]:
    """NB201's 200-epoch test accuracy of every cell on `dataset` (e.g. "cifar100"), by its arch string."""
    return dict(read_truth(path, ARCH_COLUMN, f"{dataset}_test"))


def best_cell(path: str | Path, dataset: str) -> str:
    """The cell with the highest test accuracy on `dataset` (DisWOT's official code takes it as the teacher)."""
    accuracy = test_accuracy(path, dataset)
    return max(accuracy, key=accuracy.get)
