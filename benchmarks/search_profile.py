"""Where a default NB201 search's time goes, per candidate and per search, at a given torch thread count, beside
the published per-candidate procedure timed on the same cells in the same run (interleaved, so a machine whose
load changes affects both alike).

    python benchmarks/search_profile.py --threads 1
    python benchmarks/search_profile.py --threads 2

Per candidate, each phase timed on its own (resnet56 teacher, CIFAR-100 classes, synthetic batch of 64, the
default proxy `diswot_capacity`): building the initialised student, its forward pass in batch-statistics mode
(what the DisWOT terms read), DisWOT's two terms from those outputs, the capacity term's SynFlow pass (on the
network just built, as the scorer does since it hands the network over), and appending the evaluation to a run
folder's store. Per search, once: importing torch and diswot (a fresh interpreter), the teacher's statistics and
the probe batch, and the default's calibration (64 reference cells), each measured; the confirm stage costs 80
candidates' scoring at the defaults (20 finalists x 4 more inits).
Writes benchmarks/results/search_profile_<threads>_threads.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from diswot.candidate import CandidateContext
from diswot.network_outputs import batch_statistics_norm, forward_outputs
from diswot.probe_data import ProbeDataSpec, load_probe_batch
from diswot.proxies.diswot_proxies import relation_distance_of, semantic_distance_of
from diswot.proxies.synflow import synflow_score
from diswot.published_procedure import published_diswot_score
from diswot.scoring_setup import ScoringSetup
from diswot.student_search.evaluation import Evaluation
from diswot.student_search.store import JsonlStore
from search_spaces import get_space

RESULTS = Path(__file__).resolve().parent / "results"
CONFIRM_SCORINGS = 80  # the defaults: confirm_top 20 x (confirm_inits 5 - the search's own init)


def timed(function):
    started = time.perf_counter()
    value = function()
    return time.perf_counter() - started, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--candidates", type=int, default=30)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    imports = timed(lambda: subprocess.run([sys.executable, "-c", "import diswot.student_search, torch"],
                                           check=True))[0]
    setup = ScoringSetup("resnet56", num_classes=100, proxies=("default",), probe=ProbeDataSpec(batch_size=64))
    build_seconds, scorer = timed(lambda: setup.build_scorer())
    teacher_seconds = build_seconds + timed(lambda: scorer.teacher.outputs)[0]  # its statistics, once per scorer
    space = get_space("nb201")
    calibration_seconds = timed(lambda: scorer.calibration(space, scorer.proxies[0]))[0]
    probe = load_probe_batch(ProbeDataSpec(batch_size=64), 100)

    phases: dict[str, list[float]] = {name: [] for name in
                                      ("build", "forward", "diswot_terms", "synflow", "store", "scorer", "published")}
    rng = random.Random(0)
    cells = [space.canonical(space.sample(rng)) for _ in range(args.candidates + 3)]
    with tempfile.TemporaryDirectory() as folder:
        store = JsonlStore(Path(folder) / "evaluations.jsonl")
        for index, canonical in enumerate(cells):
            candidate = CandidateContext(scorer, space, space.parse(canonical), canonical)
            build, network = timed(candidate.build_network)
            with torch.inference_mode(), batch_statistics_norm(network):
                forward, outputs = timed(lambda: forward_outputs(network, scorer.images))
            candidate.__dict__.update(network=network, outputs=outputs)
            terms = timed(lambda: (semantic_distance_of(candidate), relation_distance_of(candidate)))[0]
            synflow = timed(lambda: synflow_score(candidate.take_network(), tuple(scorer.images.shape[1:])))[0]
            whole, record = timed(lambda: scorer.score(space, canonical))
            evaluation = Evaluation(canonical, canonical, record.params, record.flops, True, record.score,
                                    record.scores, record.terms, record.seconds)
            stored = timed(lambda: store.append(evaluation))[0]
            published = timed(lambda: published_diswot_score("resnet56", space, space.parse(canonical), probe.images,
                                                             probe.labels, 100))[0]
            if index >= 3:  # the first few warm up allocators and kernels
                for name, value in zip(phases, (build, forward, terms, synflow, stored, whole, published)):
                    phases[name].append(value)

    median = {name: statistics.median(values) for name, values in phases.items()}
    per_search = {"imports": imports, "teacher_and_batch": teacher_seconds, "calibration_64_cells": calibration_seconds,
                  "confirm_80_scorings_estimated": CONFIRM_SCORINGS * median["scorer"]}
    evaluations = 1000
    search_estimate = sum(per_search.values()) + evaluations * (median["scorer"] + median["store"])
    figures = {"threads": args.threads, "candidates": args.candidates, "median_seconds_per_candidate": median,
               "per_search_seconds": per_search, "estimated_1000_evaluation_search_seconds": search_estimate,
               "published_over_scorer": median["published"] / median["scorer"],
               "published_over_estimated_search": evaluations * median["published"] / search_estimate,
               "load_average": os.getloadavg()[0], "date": time.strftime("%Y-%m-%d %H:%M")}
    RESULTS.mkdir(exist_ok=True)
    name = f"search_profile_{args.threads}_threads"
    (RESULTS / f"{name}.json").write_text(json.dumps(figures, indent=2))
    lines = [f"# Where a default NB201 search's time goes, {args.threads} thread(s)", "",
             f"Command: `python benchmarks/search_profile.py --threads {args.threads}`; median of {args.candidates} "
             f"cells; load average {figures['load_average']:.1f}.", "",
             "| per candidate | seconds | share of the scorer's |", "|---|---|---|"]
    lines += [f"| {phase} | {median[phase]:.4f} | {median[phase] / median['scorer']:.0%} |"
              for phase in ("build", "forward", "diswot_terms", "synflow", "store", "scorer")]
    lines += [f"| published procedure | {median['published']:.4f} | "
              f"{figures['published_over_scorer']:.1f}x the scorer |", "", "| per search | seconds |", "|---|---|"]
    lines += [f"| {key} | {value:.1f} |" for key, value in per_search.items()]
    lines += ["", f"A 1,000-evaluation default search, estimated from these: {search_estimate:.0f} s, "
              f"**{figures['published_over_estimated_search']:.1f}x** the published procedure's cost for the same "
              "candidates."]
    (RESULTS / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
