"""The DisWOT score of one candidate computed the way the official code does, to compare diswot's scorer with.

Per candidate: a new random teacher, forward and backward through teacher and student (NCHW fp32, BatchNorm
in train mode), classifier-weight gradients from autograd, then the explicit C x C and B x B matrices. The
scorer instead computes the teacher once and the gradients in closed form from one forward pass; both networks
here are seeded as the scorer seeds them, so for a cell that is already canonical the two give the same score.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from diswot.seeding import derive_seed, network_key, seeded_torch
from diswot.teachers import load_teacher
from search_spaces import SearchSpace


def published_diswot_score(
    teacher: str, space: SearchSpace, arch, images: torch.Tensor, labels: torch.Tensor, num_classes: int, seed: int = 0
) -> float:
    """The student `arch` as written (dead edges included) against a fresh `teacher` (a zoo or `SPACE:ARCH` spec)."""
    teacher_network = load_teacher(teacher, num_classes, seed=seed).model
    with seeded_torch(derive_seed(seed, network_key(space.name, space.canonical(arch)))):
        student = space.build(arch, num_classes)
    matrices = []
    for network in (teacher_network, student):
        network.train()
        features = network.forward_features(images)
        logits = network.classifier(features.mean(dim=(2, 3)))
        network.zero_grad()
        F.cross_entropy(logits, labels).backward()
        matrices.append((network.classifier.weight.grad, features.detach()))
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
