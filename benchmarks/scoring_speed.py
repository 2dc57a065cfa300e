"""Scoring speed: diswot's scorer against the published DisWOT procedure, on the same 30 NB201 cells.

    python benchmarks/scoring_speed.py [--candidates 30] [--batch-size 64] [--device cpu]

The reference (`diswot.published_procedure`) does what the official DisWOT code does per candidate: a new
random resnet56 teacher, forward and backward through teacher and student (NCHW fp32, BatchNorm in train mode),
classifier-weight gradients from autograd, then the explicit C x C and B x B matrices. diswot's scorer computes
the teacher once and scores each student with one forward pass. Prints candidates/s of each, their ratio, and the
student forward's achieved GFLOP/s beside a 2048x2048 matmul measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import time

import torch
from scipy.stats import spearmanr

from diswot.network_outputs import batch_statistics_norm, forward_outputs
from diswot.probe_data import ProbeDataSpec, load_probe_batch
from diswot.published_procedure import published_diswot_score
from diswot.scorer import Scorer
from diswot.scoring_setup import ScoringSetup
from diswot.teachers import load_teacher
from search_spaces import get_space


def matmul_gflops(size: int = 2048, repeats: int = 10) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    started = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * size**3 * repeats / (time.perf_counter() - started) / 1e9


def student_forward_gflops(scorer: Scorer, space, archs) -> float:
    """FLOPs (2 x MACs) per second of the scorer's student forward passes alone."""
    flops, seconds = 0, 0.0
    for arch in archs:
        record = scorer.score(space, arch)
        network = space.build(space.parse(record.canonical), scorer.num_classes).to(memory_format=torch.channels_last)
        with torch.inference_mode(), batch_statistics_norm(network):
            forward_outputs(network, scorer.images)
            started = time.perf_counter()
            forward_outputs(network, scorer.images)
            seconds += time.perf_counter() - started
        flops += 2 * record.flops * len(scorer.images)
    return flops / seconds / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--candidates", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--num-classes", type=int, default=100)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", dest="json_path", help="Also write the figures to this JSON file.")
    args = parser.parse_args()

    space = get_space("nb201")
    rng = random.Random(0)
    archs = [space.sample(rng) for _ in range(args.candidates)]
    probe = load_probe_batch(ProbeDataSpec(batch_size=args.batch_size), args.num_classes)

    published_diswot_score("resnet56", space, archs[0], probe.images, probe.labels, args.num_classes)  # warm-up
    started = time.perf_counter()
    reference = [published_diswot_score("resnet56", space, a, probe.images, probe.labels, args.num_classes)
                 for a in archs]
    reference_seconds = time.perf_counter() - started

    started = time.perf_counter()
    teacher = load_teacher("resnet56", args.num_classes)
    scorer = Scorer(ScoringSetup("resnet56", num_classes=args.num_classes, proxies=("diswot",), device=args.device),
                    teacher, probe)
    ours = [scorer.score(space, arch).score for arch in archs]
    ours_seconds = time.perf_counter() - started

    figures = {
        "machine": f"{platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}",
        "candidates": args.candidates,
        "batch_size": args.batch_size,
        "reference_candidates_per_s": args.candidates / reference_seconds,
        "diswot_candidates_per_s": args.candidates / ours_seconds,
        "speedup": reference_seconds / ours_seconds,
        "student_forward_gflops": student_forward_gflops(scorer, space, archs),
        "matmul_gflops": matmul_gflops(),
        "spearman_reference_vs_diswot": float(spearmanr(reference, ours).statistic),
        "canonical_cells": sum(space.canonical(a) == space.format(a) for a in archs),
        "max_abs_score_difference_on_canonical_cells": max(
            abs(r - o) for a, r, o in zip(archs, reference, ours) if space.canonical(a) == space.format(a)
        ),
    }
    for name, value in figures.items():
        print(f"{name:<32} {value:.3f}" if isinstance(value, float) else f"{name:<32} {value}")
    if args.json_path:
        with open(args.json_path, "w") as handle:
            json.dump(figures, handle, indent=2)


if __name__ == "__main__":
    main()
