"""`diswot distill`: train a found student from its teacher (or without one) into a run folder, with its progress
per epoch; the same command with --resume continues a stopped run."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from diswot.cli.app import app
from diswot.cli.progress import progress_display
from diswot.cli.scoring_options import CheckpointOption, DeviceOption, OptionalTeacherOption
from diswot.distillation import DistillConfig, DistillProgress, LossWeights, distill
from diswot.distillation.recipe import MODES, SCHEDULES

DEFAULTS = DistillConfig()


@app.command("distill")
def distill_command(
    spec: str = typer.Argument(
        ..., help="The student: a result.json (with --rank), a student spec file, or SPACE:ARCH."
    ),
    data: str = typer.Option(..., help="Training data: PATH.npz, cifar:DIR or folder:DIR."),
    out: Path = typer.Option(..., help="Run folder (checkpoint, metrics.csv, curves.png, student.ts, distill.json)."),
    epochs: int = typer.Option(DEFAULTS.epochs, help="Training epochs."),
    teacher: OptionalTeacherOption = None,
    checkpoint: CheckpointOption = None,
    rank: int = typer.Option(1, help="Which student of a result.json (1 = best)."),
    num_classes: Optional[int] = typer.Option(
        None, help="Classes (default: the spec's; for SPACE:ARCH, the data's). With a spec of another class count, "
                   "its classifier is rebuilt for this many (distill.json notes it)."),
    mode: str = typer.Option(DEFAULTS.mode, help=f"One of {', '.join(MODES)} (vanilla: no teacher, same recipe)."),
    ce_weight: float = typer.Option(DEFAULTS.weights.cross_entropy, help="Weight of cross-entropy (kd mode)."),
    kd_weight: float = typer.Option(DEFAULTS.weights.kd, help="Weight of Hinton's KD loss."),
    temperature: float = typer.Option(DEFAULTS.weights.temperature, help="KD temperature."),
    semantic_weight: float = typer.Option(0.0, help="Weight of DisWOT's semantic (classifier-gradient) loss."),
    relation_weight: float = typer.Option(0.0, help="Weight of DisWOT's sample-relation (SP) loss."),
    batch_size: int = typer.Option(DEFAULTS.batch_size),
    lr: float = typer.Option(DEFAULTS.lr, help="Initial learning rate (SGD, momentum 0.9)."),
    weight_decay: float = typer.Option(DEFAULTS.weight_decay),
    schedule: str = typer.Option(DEFAULTS.schedule, help=f"One of {', '.join(SCHEDULES)}."),
    seed: int = typer.Option(DEFAULTS.seed, help="Seed of batch order, augmentation and the validation split."),
    validation_fraction: float = typer.Option(
        DEFAULTS.validation_fraction, help="Held out of train when the data has no test split."
    ),
    image_size: int = typer.Option(DEFAULTS.image_size),
    device: DeviceOption = "auto",
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out (the same options)."),
) -> None:
    """Distil the chosen student: CE + KD from the frozen teacher (optionally DisWOT's semantic and relation
    losses), or --mode vanilla without a teacher; top-1/top-5 on the test set after every epoch."""
    config = DistillConfig(
        epochs=epochs, mode=mode, batch_size=batch_size, lr=lr, weight_decay=weight_decay, schedule=schedule,
        seed=seed, validation_fraction=validation_fraction, image_size=image_size,
        weights=LossWeights(cross_entropy=ce_weight, kd=kd_weight, temperature=temperature,
                            semantic=semantic_weight, relation=relation_weight),
    )
    display = progress_display()

    def update(progress: DistillProgress) -> None:
        shown = {"loss": f"{progress.loss:.4f}", "train": f"{progress.train_top1:.1f}%"}
        if progress.eval_top1 is not None:
            shown["eval"] = f"{progress.eval_top1:.1f}%"
        display.show(f"epoch {progress.epoch}/{progress.epochs}", progress.step, progress.steps, "batch", shown)

    try:
        result = distill(
            spec, data=data, out=out, teacher=teacher, checkpoint=checkpoint, rank=rank, num_classes=num_classes,
            config=config, resume=resume, device=device, on_progress=update,
        )
    finally:
        display.close()
    for note in result.summary["notes"]:
        typer.echo(f"note: {note}")
    final = result.summary["final"]
    typer.echo(
        f"{result.summary['epochs_completed']} epochs: {result.summary['evaluation_split']} top-1 "
        f"{final['eval_top1']:.2f}%, top-5 {final['eval_top5']:.2f}% "
        f"({result.summary['mean_train_seconds_per_epoch']:.1f} s per training epoch)"
    )
    typer.echo(f"run folder: {out}")
