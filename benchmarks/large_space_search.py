"""Search in a space too large to enumerate: aging evolution against random search on `mobilenet` (7.5e30
candidates), with the default proxy, an ImageNet teacher and a latency budget (this CPU, one thread, batch 1, 224 px,
predicted by the per-block table); plus what a candidate costs at
224 px and how a smaller probe resolution changes the ranking.

    python benchmarks/large_space_search.py     # full settings (about 40 minutes on 2 cores)

Three parts, each written to benchmarks/results/NAME.{json,md} (and NAME.png, the best score against evaluations):
1. Seconds per candidate at `--timing-size` px (224) for each `--timing-batches` size (32 and 64), split into the
   student's construction, its forward pass (what the DisWOT terms need) and the rest of the default proxy (its
   capacity term's synflow pass), timed through the default's uncalibrated components; its calibration (scoring 64
   reference candidates, once per search) is 64 times that, estimated.
2. Aging evolution and random search, `--seeds` search seeds each, `--evaluations` evaluations, at `--image-size`
   px: the best score after each evaluation, and in how many seeds aging ends above random.
3. `--ranking-candidates` random candidates scored at `--image-size` and at `--timing-size`: Spearman between the
   two rankings (what the smaller resolution costs in ranking fidelity).
The teacher is randomly initialised (`--teacher`, default imagenet:resnet50); scores are on the synthetic probe.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import random
import statistics
import sys
import time
from pathlib import Path

import torch
from scipy.stats import spearmanr

import diswot
from diswot.calibration import REFERENCE_SIZE
from diswot.calibration_cache import FileCalibrationCache, cache_root
from diswot.initialisation import build_initialised
from diswot.latency import LATENCY_CACHE_FILE
from diswot.network_outputs import batch_statistics_norm, forward_outputs
from diswot.probe_data import ProbeDataSpec
from diswot.scoring_setup import ScoringSetup
from search_spaces import get_space

RESULTS = Path(__file__).parent / "results"
SPACE = "mobilenet"
COMPONENT_PROXIES = ("diswot", "synflow")
CALIBRATION_CANDIDATES = REFERENCE_SIZE


def scorer_for(args, image_size: int, batch_size: int, proxies=("default",)):
    setup = ScoringSetup(args.teacher, num_classes=args.num_classes, proxies=tuple(proxies),
                         probe=ProbeDataSpec(batch_size=batch_size, image_size=image_size), device="cpu")
    return setup.build_scorer()


def seconds_per_candidate(args, batch_size: int) -> dict:
    """The default proxy's work on one candidate, timed through the uncalibrated proxies it is made of (`diswot`:
    the DisWOT terms from one forward pass; `synflow`: its capacity term's pass); standardising them costs nothing
    measurable. Its calibration scores 64 reference candidates once per search: 64 x this, estimated, not run."""
    space = get_space(SPACE)
    started = time.perf_counter()
    scorer = scorer_for(args, args.timing_size, batch_size, COMPONENT_PROXIES)
    teacher_seconds = time.perf_counter() - started
    rng = random.Random(1)
    build, forward, total = [], [], []
    for arch in (space.sample(rng) for _ in range(args.timing_candidates)):
        started = time.perf_counter()
        network = build_initialised(space, space.canonical(arch), args.num_classes, seed=0, scheme="default")
        build.append(time.perf_counter() - started)
        with torch.inference_mode(), batch_statistics_norm(network):
            started = time.perf_counter()
            forward_outputs(network, scorer.images)
            forward.append(time.perf_counter() - started)
        total.append(scorer.score(space, arch).seconds)
    row = {"batch_size": batch_size, "image_size": args.timing_size, "teacher_and_batch_seconds": teacher_seconds,
           "candidate_seconds": statistics.median(total), "build_seconds": statistics.median(build),
           "forward_seconds": statistics.median(forward)}
    row["rest_seconds"] = row["candidate_seconds"] - row["build_seconds"] - row["forward_seconds"]
    row["calibration_seconds_estimated"] = CALIBRATION_CANDIDATES * row["candidate_seconds"]
    print(f"batch {batch_size} at {args.timing_size} px: {row['candidate_seconds']:.2f} s/candidate (build "
          f"{row['build_seconds']:.2f}, forward {row['forward_seconds']:.2f}, rest (synflow pass, terms) "
          f"{row['rest_seconds']:.2f}); teacher and batch {teacher_seconds:.1f} s once", flush=True)
    return row


def run_search(args, strategy: str, seed: int) -> dict:
    result = diswot.search(
        teacher=args.teacher, space=SPACE, strategy=strategy, evaluations=args.evaluations, num_classes=args.num_classes,
        max_latency=args.max_latency, image_size=args.image_size, batch_size=args.batch_size, seed=0, search_seed=seed,
        confirm_top=0, top_k=1, device="cpu", latency_cache=cache_root() / LATENCY_CACHE_FILE,
        calibration_cache=FileCalibrationCache.default(),  # measured by the first search, reused by the others
    )
    infinite = sum(1 for e in result.history if e.feasible and not math.isfinite(e.score))
    print(f"{strategy} seed {seed}: best {result.best_scores[-1]:.4f} after {result.evaluations} evaluations in "
          f"{result.seconds:.0f} s; best student {result.students[0].arch}", flush=True)
    return {"strategy": strategy, "seed": seed, "best_scores": result.best_scores, "seconds": result.seconds,
            "evaluations": result.evaluations, "best_arch": result.students[0].arch,
            "non_finite_scores": infinite}


def ranking_fidelity(args) -> dict:
    space = get_space(SPACE)
    rng = random.Random(2)
    archs = [space.format(space.sample(rng)) for _ in range(args.ranking_candidates)]
    scores = {}
    for size in (args.image_size, args.timing_size):  # the same batch: only the resolution differs
        scorer = scorer_for(args, size, args.batch_size)
        scores[size] = [scorer.score(space, arch).score for arch in archs]
    small, full = scores[args.image_size], scores[args.timing_size]
    rho = float(spearmanr(small, full).statistic)
    print(f"ranking at {args.image_size} px against {args.timing_size} px: Spearman {rho:.3f} over {len(archs)} "
          "candidates", flush=True)
    return {"candidates": len(archs), "small_size": args.image_size, "full_size": args.timing_size,
            "spearman": rho, "small_scores": small, "full_scores": full}


def plot(runs: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4.5))
    for strategy, colour in (("aging", "tab:blue"), ("random", "tab:orange")):
        for run in (r for r in runs if r["strategy"] == strategy):
            axis.plot(range(1, len(run["best_scores"]) + 1), run["best_scores"], color=colour, alpha=0.6,
                      label=strategy if run["seed"] == 0 else None)
    axis.set_xlabel("evaluations"), axis.set_ylabel("best score so far (default proxy)")
    axis.set_title(title, fontsize=9)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teacher", default="imagenet:resnet50")
    parser.add_argument("--num-classes", type=int, default=1000)
    parser.add_argument("--evaluations", type=int, default=300)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--image-size", type=int, default=224, help="probe resolution of the searches")
    parser.add_argument("--batch-size", type=int, default=32, help="probe batch of the searches")
    parser.add_argument("--max-latency", default="15ms",
                        help="budget, on this CPU at one thread, batch 1, 224 px (mobilenet_v2: about 23 ms here)")
    parser.add_argument("--timing-size", type=int, default=224)
    parser.add_argument("--timing-batches", type=int, nargs="*", default=[32, 64], help="none: skip the timing")
    parser.add_argument("--timing-candidates", type=int, default=5)
    parser.add_argument("--ranking-candidates", type=int, default=50)
    parser.add_argument("--name", default="large_space_search")
    args = parser.parse_args()

    timing = [seconds_per_candidate(args, batch) for batch in args.timing_batches]
    runs = [run_search(args, strategy, seed) for seed in range(args.seeds) for strategy in ("aging", "random")]
    final = {(r["strategy"], r["seed"]): r["best_scores"][-1] for r in runs}
    aging_wins = sum(final[("aging", s)] > final[("random", s)] for s in range(args.seeds))
    print(f"aging ends above random in {aging_wins} of {args.seeds} seeds", flush=True)
    ranking = ranking_fidelity(args) if args.ranking_candidates >= 3 else None  # 0: skipped

    command = " ".join(["python", "benchmarks/large_space_search.py", *sys.argv[1:]])
    meta = {"command": command, "machine": platform.machine(), "threads": torch.get_num_threads(),
            "date": time.strftime("%Y-%m-%d"), "args": vars(args)}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(
        json.dumps({"meta": meta, "timing": timing, "runs": runs, "aging_wins": aging_wins, "ranking": ranking},
                   indent=1))
    lines = [f"# Large-space search: aging vs random on {SPACE}", "", f"Command: `{command}`", "",
             f"Teacher {args.teacher} (random init), {args.num_classes} classes, synthetic probe, budget latency <= "
             f"{args.max_latency} (this CPU, 1 thread, batch 1, 224 px, predicted by the per-block table), "
             f"{torch.get_num_threads()} torch threads.", "",
             "| probe | s/candidate | build | forward | rest (synflow pass, terms) | calibration (once, 64 x) |", "|---|---|---|---|---|---|"]
    lines += [f"| {t['batch_size']} x {t['image_size']} px | {t['candidate_seconds']:.2f} | {t['build_seconds']:.2f} | "
              f"{t['forward_seconds']:.2f} | {t['rest_seconds']:.2f} | ~{t['calibration_seconds_estimated']:.0f} s |"
              for t in timing]
    lines += ["", f"Searches at {args.batch_size} x {args.image_size} px, {args.evaluations} evaluations:", "",
              "| seed | aging best | random best | aging s | random s |", "|---|---|---|---|---|"]
    seconds = {(r["strategy"], r["seed"]): r["seconds"] for r in runs}
    lines += [f"| {s} | {final[('aging', s)]:.4f} | {final[('random', s)]:.4f} | {seconds[('aging', s)]:.0f} | "
              f"{seconds[('random', s)]:.0f} |" for s in range(args.seeds)]
    lines += ["", f"Aging ends above random in **{aging_wins} of {args.seeds}** seeds. Non-finite scores among "
              f"feasible candidates: {sum(r['non_finite_scores'] for r in runs)}."]
    if ranking:
        lines += ["", f"Ranking at {ranking['small_size']} px against {ranking['full_size']} px: Spearman "
                  f"**{ranking['spearman']:.3f}** over {ranking['candidates']} random candidates."]
    (RESULTS / f"{args.name}.md").write_text("\n".join(lines) + "\n")
    plot(runs, RESULTS / f"{args.name}.png",
         f"{SPACE}, {args.evaluations} evaluations at {args.batch_size}x{args.image_size} px, {args.seeds} seeds")


if __name__ == "__main__":
    main()
