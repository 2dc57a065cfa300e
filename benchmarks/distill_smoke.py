"""Does distillation buy anything, and what does an epoch cost? The S1 student `3x16-3x32-3x64` (resnet_cifar)
distilled (`kd`: CE 0.1 + KD 0.9, T = 4) from a resnet56 trained for a short schedule, against the same student
trained without a teacher (`vanilla`), same recipe and budget, several seeds.

    nice -n 10 python benchmarks/distill_smoke.py [--train-per-class 150] [--test-per-class 50]
        [--teacher-epochs 4] [--epochs 3] [--seeds 0 1 2] [--device auto] [--label gpu]

Data: a stratified subset of the real CIFAR-10 sample (../shared/data/cifar10_sample.npz), drawn with a fixed
seed (the whole sample is too slow for a smoke run on 2 shared CPU cores). The teacher is trained once with
`diswot.distill(..., mode="vanilla")` and cached, with its subset, under benchmarks/cache/ (gitignored); a
student seed changes both its init (the spec's seed) and its batch order and augmentation. Writes
benchmarks/results/distill_smoke[_LABEL].{json,md,png}.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

import diswot
from diswot.distillation import distill
from diswot.distillation.student import UnscoredStudent

# ../shared/data's path is the tests' (tests/shared_data.py): defined once, not part of the installed package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from shared_data import SHARED_DATA  # noqa: E402

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
CACHE = ROOT / "cache"
STUDENT_ARCH = "3x16-3x32-3x64"
TEACHER = "resnet56"
SUBSET_SEED = 20261202


def write_subset(train_per_class: int, test_per_class: int) -> Path:
    """A stratified subset of the CIFAR-10 sample, cached."""
    path = CACHE / f"cifar10_subset_{train_per_class}_{test_per_class}.npz"
    if path.exists():
        return path
    rng = np.random.default_rng(SUBSET_SEED)
    with np.load(SHARED_DATA / "cifar10_sample.npz", allow_pickle=False) as arrays:
        subset = {}
        for split, per_class in (("train", train_per_class), ("test", test_per_class)):
            labels = arrays[f"y_{split}"].astype(np.int64)
            chosen = np.sort(np.concatenate([
                rng.choice(np.flatnonzero(labels == label), per_class, replace=False) for label in range(10)
            ]))
            subset[f"x_{split}"], subset[f"y_{split}"] = arrays[f"x_{split}"][chosen], labels[chosen]
    CACHE.mkdir(exist_ok=True)
    np.savez(path, **subset)
    return path


def train_teacher(data: Path, epochs: int, device: str) -> tuple[Path, dict]:
    """resnet56 trained without a teacher (the same recipe), cached: its weights and its summary."""
    folder = CACHE / f"teacher_{TEACHER}_{data.stem}_{epochs}ep"
    weights = folder / "teacher_weights.pt"
    if not weights.exists():
        result = distill(f"zoo:{TEACHER}", data=str(data), out=folder, mode="vanilla", epochs=epochs,
                         device=device, resume=True)
        torch.save(result.student.state_dict(), weights)
    return weights, json.loads((folder / "distill.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train-per-class", type=int, default=150)
    parser.add_argument("--test-per-class", type=int, default=50)
    parser.add_argument("--teacher-epochs", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--label", default="", help="Suffix of the result files (e.g. gpu).")
    parser.add_argument("--machine-note", default="2 CPU cores shared with other jobs (timings are noisy)")
    args = parser.parse_args()

    started = time.perf_counter()
    data = write_subset(args.train_per_class, args.test_per_class)
    teacher_weights, teacher_summary = train_teacher(data, args.teacher_epochs, args.device)
    runs = []
    for mode in ("kd", "vanilla"):
        for seed in args.seeds:
            student = dataclasses.replace(UnscoredStudent("resnet_cifar", STUDENT_ARCH).spec(10), seed=seed)
            folder = CACHE / f"student_{mode}_seed{seed}_{data.stem}_{args.epochs}ep"
            result = distill(student, data=str(data), out=folder, teacher=TEACHER, checkpoint=teacher_weights,
                             mode=mode, epochs=args.epochs, seed=seed, device=args.device, resume=True)
            summary = result.summary
            runs.append({
                "mode": mode, "seed": seed, "top1": summary["final"]["eval_top1"], "top5": summary["final"]["eval_top5"],
                "seconds_per_epoch": summary["mean_train_seconds_per_epoch"],
                "images_per_second": summary["mean_train_images_per_second"],
                "curve_top1": [record["eval_top1"] for record in result.history],
            })
            print(f"{mode} seed {seed}: top-1 {runs[-1]['top1']:.2f}%  {runs[-1]['seconds_per_epoch']:.1f} s/epoch",
                  flush=True)

    by_mode = {}
    for mode in ("kd", "vanilla"):
        chosen = [run for run in runs if run["mode"] == mode]
        by_mode[mode] = {
            key: {"mean": statistics.fmean(run[key] for run in chosen),
                  "sd": statistics.stdev(run[key] for run in chosen) if len(chosen) > 1 else 0.0}
            for key in ("top1", "top5", "seconds_per_epoch", "images_per_second")
        }
    report = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": "nice -n 10 python benchmarks/distill_smoke.py " + " ".join(
            f"--{key.replace('_', '-')} {' '.join(map(str, value)) if isinstance(value, list) else value}"
            for key, value in vars(args).items() if key != "machine_note" and value != ""),
        "machine": {"note": args.machine_note, "platform": platform.platform(), "cpus": os.cpu_count(),
                    "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
                    "device": teacher_summary["device"], "diswot": diswot.__version__},
        "data": {"source": "cifar10_sample.npz", "train_images": 10 * args.train_per_class,
                 "test_images": 10 * args.test_per_class, "subset_seed": SUBSET_SEED},
        "teacher": {"spec": TEACHER, "epochs": args.teacher_epochs,
                    "test_top1": teacher_summary["final"]["eval_top1"],
                    "seconds_per_epoch": teacher_summary["mean_train_seconds_per_epoch"]},
        "student": f"resnet_cifar:{STUDENT_ARCH}",
        "epochs": args.epochs,
        "by_mode": by_mode,
        "runs": runs,
        "seconds_total": time.perf_counter() - started,
    }
    stem = "distill_smoke" + (f"_{args.label}" if args.label else "")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / f"{stem}.md").write_text(markdown(report))
    plot(report, RESULTS / f"{stem}.png")
    print(markdown(report))


def markdown(report: dict) -> str:
    teacher = report["teacher"]
    lines = [
        f"# Distillation smoke benchmark ({report['date']})",
        "",
        f"`{report['command']}`",
        "",
        f"Machine: {report['machine']['note']}; {report['machine']['platform']}, torch {report['machine']['torch']} "
        f"on {report['machine']['device']} ({report['machine']['torch_threads']} threads).",
        f"Data: {report['data']['train_images']} train / {report['data']['test_images']} test images, a stratified "
        f"subset of {report['data']['source']} (seed {report['data']['subset_seed']}).",
        f"Teacher: {teacher['spec']} trained {teacher['epochs']} epochs (vanilla, same recipe): test top-1 "
        f"{teacher['test_top1']:.2f}%, {teacher['seconds_per_epoch']:.1f} s per training epoch.",
        f"Student: {report['student']}, {report['epochs']} epochs, seeds {', '.join(str(r['seed']) for r in report['runs'] if r['mode'] == 'kd')}.",
        "",
        "| mode | test top-1 % (mean ± sd) | test top-5 % | s per training epoch | training images/s |",
        "|---|---|---|---|---|",
    ]
    for mode, values in report["by_mode"].items():
        lines.append(
            f"| {mode} | {values['top1']['mean']:.2f} ± {values['top1']['sd']:.2f} | "
            f"{values['top5']['mean']:.2f} ± {values['top5']['sd']:.2f} | "
            f"{values['seconds_per_epoch']['mean']:.1f} ± {values['seconds_per_epoch']['sd']:.1f} | "
            f"{values['images_per_second']['mean']:.0f} |"
        )
    vanilla = report["by_mode"]["vanilla"]["top1"]["mean"]
    if teacher["test_top1"] < vanilla:
        lines += ["", f"The teacher ({teacher['test_top1']:.1f}%) is weaker than the student trained alone "
                      f"({vanilla:.1f}%): distilling it (KD weight 0.9) is expected to cost accuracy. This run checks "
                      "the machinery and measures time per epoch; it says nothing about what KD buys from a trained "
                      "teacher, which needs a longer schedule (a GPU)."]
    lines += ["", "Per run (test top-1 after each epoch):", ""]
    lines += [f"- {run['mode']} seed {run['seed']}: " + ", ".join(f"{value:.1f}" for value in run["curve_top1"])
              for run in report["runs"]]
    lines += ["", f"Whole run: {report['seconds_total'] / 60:.1f} min (teacher training included unless cached).", ""]
    return "\n".join(lines)


def plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4))
    for index, mode in enumerate(("kd", "vanilla")):
        for run in (r for r in report["runs"] if r["mode"] == mode):
            epochs = range(1, len(run["curve_top1"]) + 1)
            axes.plot(epochs, run["curve_top1"], "o-", color=f"C{index}", alpha=0.7, ms=3,
                      label=mode if run["seed"] == report["runs"][0]["seed"] else None)
    axes.axhline(report["teacher"]["test_top1"], color="grey", ls="--", lw=1, label=f"teacher ({report['teacher']['spec']})")
    axes.set_xticks(range(1, report["epochs"] + 1))
    axes.set_xlabel("epoch")
    axes.set_ylabel("test top-1 (%)")
    axes.set_title(f"{report['student']} on {report['data']['train_images']} CIFAR-10 images", fontsize=9)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


if __name__ == "__main__":
    main()
