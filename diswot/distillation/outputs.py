"""What a distillation run leaves in its folder besides the checkpoint: metrics.csv (one row per epoch), the
training curves (curves.png, with matplotlib, the `plots` extra), the trained student as TorchScript
(student.ts) and the summary (distill.json)."""

from __future__ import annotations

import copy
import csv
import json
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from diswot.student_search.plots import plotting_available

METRICS_FILE = "metrics.csv"
CURVES_FILE = "curves.png"
STUDENT_FILE = "student.ts"
SUMMARY_FILE = "distill.json"
CHECKPOINT_FILE = "checkpoint.pt"


def write_metrics(folder: Path, history: list[dict[str, Any]]) -> Path:
    path = folder / METRICS_FILE
    columns = list(dict.fromkeys(key for record in history for key in record))
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(history)
    return path


def write_curves(folder: Path, history: list[dict[str, Any]], title: str) -> Path | None:
    """Training loss and evaluation top-1 against epochs; None (and no file) without matplotlib."""
    if not plotting_available():
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    epochs = [record["epoch"] for record in history]
    figure, (loss_axes, accuracy_axes) = plt.subplots(1, 2, figsize=(9, 3.5))
    loss_axes.plot(epochs, [record["train_loss"] for record in history], "o-", ms=3, label="train (total)")
    loss_axes.plot(epochs, [record["eval_loss"] for record in history], "o-", ms=3, label="evaluation (CE)")
    loss_axes.set_xlabel("epoch")
    loss_axes.set_ylabel("loss")
    loss_axes.legend(fontsize=8)
    accuracy_axes.plot(epochs, [record["train_top1"] for record in history], "o-", ms=3, label="train top-1")
    accuracy_axes.plot(epochs, [record["eval_top1"] for record in history], "o-", ms=3, label="evaluation top-1")
    accuracy_axes.plot(epochs, [record["eval_top5"] for record in history], "o-", ms=3, label="evaluation top-5")
    accuracy_axes.set_xlabel("epoch")
    accuracy_axes.set_ylabel("accuracy (%)")
    accuracy_axes.legend(fontsize=8)
    for axes in (loss_axes, accuracy_axes):
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    path = folder / CURVES_FILE
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def write_student(folder: Path, model: nn.Module) -> Path:
    """The trained student as TorchScript in eval mode on the CPU: it loads without diswot, and `diswot`
    accepts it as a teacher spec."""
    exported = copy.deepcopy(model).cpu().to(memory_format=torch.contiguous_format).eval()
    path = folder / STUDENT_FILE
    torch.jit.save(torch.jit.script(exported), str(path))
    return path


def write_summary(folder: Path, summary: dict[str, Any]) -> Path:
    path = folder / SUMMARY_FILE
    write_atomically(path, lambda temporary: temporary.write_text(json.dumps(summary, indent=2) + "\n"))
    return path


def write_atomically(path: Path, write) -> None:
    """Write through a temporary file and rename it over `path`: a run cut mid-write leaves the old file whole."""
    temporary = path.with_name(path.name + ".partial")
    write(temporary)
    os.replace(temporary, path)
