"""Scoring speed: diswot's scorer against the published DisWOT procedure, on the same 30 NB201 cells.

    python benchmarks/scoring_speed.py [--candidates 30] [--batch-size 64] [--device cpu]

The reference does what the official DisWOT code does per candidate: a new random resnet56 teacher, forward
and backward through teacher and student (NCHW fp32, BatchNorm in train mode), classifier-weight gradients
from autograd, then the explicit C x C and B x B matrices. diswot's scorer computes the teacher once and
scores each student with one forward pass. Prints candidates/s of each, their ratio, and the student
forward's achieved GFLOP/s beside a 2048x2048 matmul measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import time

import torch
import torch.nn.functional as F
from scipy.stats import spearmanr

from diswot.network_outputs import batch_statistics_norm, forward_outputs
from diswot.probe_data import ProbeDataSpec, load_probe_batch
from diswot.scorer import Scorer
from diswot.seeding import derive_seed, seeded_torch
from diswot.teachers import load_teacher
from search_spaces import get_space
from search_spaces.zoo import create_model


def reference_score(arch, space, images, labels, num_classes: int, seed: int = 0) -> float:
    """One candidate the published way: a new teacher and the student as written (dead edges included), both
    differentiated by autograd, explicit C x C and B x B matrices.

    Both networks are seeded as diswot seeds them, so for a cell that is already canonical the two procedures
    must give the same score (checked below).
    """
    with seeded_torch(derive_seed(seed, "teacher:resnet56")):
        teacher = create_model("resnet56", num_classes)
    with seeded_torch(derive_seed(seed, f"{space.name}:{space.canonical(arch)}")):
        student = space.build(arch, num_classes)
    matrices = []
    for network in (teacher, student):
        network.train()
        features = network.forward_features(images)
        logits = network.classifier(features.mean(dim=(2, 3)))
        network.zero_grad()
        F.cross_entropy(logits, labels).backward()
        gradient = network.classifier.weight.grad
        matrices.append((gradient, features.detach()))
    (g_t, f_t), (g_s, f_s) = matrices
    width = min(g_t.shape[1], g_s.shape[1])
    g_t = F.adaptive_avg_pool1d(g_t.unsqueeze(0), width).squeeze(0)
    g_s = F.adaptive_avg_pool1d(g_s.unsqueeze(0), width).squeeze(0)
    semantic_t = F.normalize(g_t.unsqueeze(2) * g_t.unsqueeze(1), dim=2)
    semantic_s = F.normalize(g_s.unsqueeze(2) * g_s.unsqueeze(1), dim=2)
    semantic = (semantic_t - semantic_s).pow(2).sum() / (width * num_classes)
    flat_t, flat_s = f_t.reshape(len(f_t), -1), f_s.reshape(len(f_s), -1)
    relation = (F.normalize(flat_t @ flat_t.t(), dim=1) - F.normalize(flat_s @ flat_s.t(), dim=1)).pow(2).mean()
    return -float(semantic + relation)


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

    reference_score(archs[0], space, probe.images, probe.labels, args.num_classes)  # warm-up
    started = time.perf_counter()
    reference = [reference_score(a, space, probe.images, probe.labels, args.num_classes) for a in archs]
    reference_seconds = time.perf_counter() - started

    started = time.perf_counter()
    teacher = load_teacher("resnet56", args.num_classes)
    scorer = Scorer(teacher, probe, ["diswot"], device=args.device)
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
