"""`distill`: train a found student, from a frozen teacher (mode `kd`) or without one (`vanilla`), into a run
folder with a checkpoint per epoch, so that the same call again (`resume=True`) continues where it stopped."""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

import diswot
from diswot.devices import resolve_device
from diswot.distillation.checkpoint import TrainingState, load_checkpoint, save_checkpoint
from diswot.distillation.data import (
    LabelledImages, TrainingData, epoch_batches, evaluation_batches, load_training_data, prepare, random_crop_flip,
)
from diswot.distillation.losses import loss_terms, total_loss
from diswot.distillation.outputs import (
    CHECKPOINT_FILE, CURVES_FILE, write_curves, write_metrics, write_student, write_summary,
)
from diswot.distillation.recipe import DistillConfig, make_optimiser, make_scheduler
from diswot.distillation.student import UnscoredStudent, read_student, with_classes
from diswot.errors import DiswotError
from diswot.network_outputs import forward_outputs
from diswot.seeding import derive_seed, global_generator_lock
from diswot.student_search.result import StudentSpec, build_student
from diswot.teachers import Teacher, load_teacher

EVALUATION_BATCH = 256


class DistillStopped(Exception):
    """`should_stop` asked the run to stop (between two batches); the folder's checkpoint is the last finished
    epoch, and the same call with `resume=True` continues from it."""


@dataclass(frozen=True)
class DistillProgress:
    epoch: int  # 1-based, the epoch being trained
    epochs: int
    step: int  # batches done in this epoch
    steps: int  # batches per epoch
    loss: float  # running mean of this epoch's training loss
    train_top1: float  # running training accuracy of this epoch, %
    eval_top1: float | None  # the last finished epoch's evaluation top-1, %


@dataclass
class DistillResult:
    folder: Path
    student: nn.Module  # trained, on the CPU, in eval mode
    history: list[dict[str, Any]]  # one record per epoch (the rows of metrics.csv)
    summary: dict[str, Any]  # what distill.json holds


def distill(
    student: StudentSpec | dict | str | Path,
    *,
    data: str,
    out: str | Path,
    teacher: str | None = None,
    checkpoint: str | Path | None = None,
    rank: int = 1,
    num_classes: int | None = None,
    config: DistillConfig | None = None,
    resume: bool = False,
    device: str = "auto",
    allowed_teacher_dir: str | Path | None = None,
    allowed_data_dir: str | Path | None = None,
    on_progress: Callable[[DistillProgress], None] | None = None,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    **recipe: Any,
) -> DistillResult:
    """Train `student` (a StudentSpec, a spec/result.json file with `rank`, or 'SPACE:ARCH') on `data` into the
    folder `out`, distilling the frozen `teacher` (+ trained weights from `checkpoint`) unless the mode is
    `vanilla`. The recipe is `config`, or DistillConfig(**recipe) (e.g. `epochs=30, mode="vanilla"`).

    Every input is checked before training starts; with `allowed_teacher_dir` / `allowed_data_dir` (a
    service's directories, as `search` takes them), teacher files and data are read only from inside them. A
    folder that holds a checkpoint is continued with `resume=True` (the same arguments) and refused without it. `on_epoch` receives each epoch's record after
    its checkpoint is written, so a stop raised there loses nothing; `should_stop` is asked after every batch
    and raises DistillStopped when it answers True.
    """
    if config is None:
        config = DistillConfig(**recipe)
    elif recipe:
        raise DiswotError(f"pass either config or recipe options, not both (got {', '.join(recipe)})")
    target = resolve_device(device)
    spec = read_student(student, rank)
    original_classes = getattr(spec, "num_classes", num_classes)
    training_data = load_training_data(data, config.image_size, config.validation_fraction, config.seed,
                                       allowed_data_dir)
    if isinstance(spec, UnscoredStudent):
        spec = spec.spec(num_classes or training_data.classes)
    elif num_classes is not None and num_classes != spec.num_classes:
        spec = with_classes(spec, num_classes)  # said in distill.json's notes: the spec's own classifier is not kept
    training_data.check_labels(spec.num_classes, data)
    frozen = _load_frozen_teacher(teacher, checkpoint, spec.num_classes, config, allowed_teacher_dir)
    folder = Path(out).expanduser()
    identity = {
        "config": config.to_dict(),
        "student": spec.to_dict(),
        "teacher": None if frozen is None else frozen.spec,
        "teacher_checkpoint": None if checkpoint is None or frozen is None else str(checkpoint),
        "data": data,
        "classifier_rebuilt_from": None if spec.num_classes == original_classes else original_classes,
    }
    checkpoint_path = folder / CHECKPOINT_FILE
    state = None
    if checkpoint_path.exists():
        if not resume:
            raise DiswotError(f"{folder} already holds a distillation checkpoint: pass --resume to continue it, "
                              "or choose a new --out")
        state = load_checkpoint(checkpoint_path, identity)
    folder.mkdir(parents=True, exist_ok=True)
    return _Training(spec, frozen, training_data, config, target, folder, identity, state,
                     on_progress, on_epoch, should_stop).run()


def _load_frozen_teacher(
    teacher: str | None, checkpoint: str | Path | None, num_classes: int, config: DistillConfig,
    allowed_dir: str | Path | None,
) -> Teacher | None:
    if not config.distilling:
        return None  # vanilla: the same recipe without a teacher; a teacher given is not loaded
    if teacher is None:
        raise DiswotError("mode 'kd' distils a teacher: pass --teacher (and its trained --checkpoint), "
                          "or use --mode vanilla")
    frozen = load_teacher(teacher, num_classes, checkpoint=checkpoint, allowed_dir=allowed_dir)
    if not frozen.trained:
        raise DiswotError(f"teacher {teacher!r} has no trained weights: pass --checkpoint (a state dict file) "
                          "or a TorchScript teacher")
    frozen.model.eval()
    for parameter in frozen.model.parameters():
        parameter.requires_grad_(False)
    return frozen


class _Training:
    """One run's loop; the state lives here so that the epoch, its checkpoint and its record stay together."""

    def __init__(self, spec: StudentSpec, teacher: Teacher | None, data: TrainingData, config: DistillConfig,
                 device: torch.device, folder: Path, identity: dict[str, Any], state: TrainingState | None,
                 on_progress: Callable[[DistillProgress], None] | None,
                 on_epoch: Callable[[dict[str, Any]], None] | None, should_stop: Callable[[], bool] | None):
        self.spec, self.data, self.config, self.device, self.folder = spec, data, config, device, folder
        self.identity, self.state, self.on_progress, self.on_epoch = identity, state, on_progress, on_epoch
        self.should_stop = should_stop
        # AMP (fp16 with loss scaling) only on a GPU. channels_last everywhere: a training step of the S1 ResNet
        # student at batch 128 took 1.66 s in channels_last against 2.88 s in NCHW on 2 CPU cores (torch 2.13).
        self.accelerated = device.type == "cuda"
        memory_format = torch.channels_last
        self.model = build_student(spec).to(device, memory_format=memory_format)
        self.teacher = None if teacher is None else teacher.model.to(device, memory_format=memory_format)
        self.teacher_spec = None if teacher is None else teacher.spec
        self.optimiser = make_optimiser(self.model, config)
        self.scheduler = make_scheduler(self.optimiser, config)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.accelerated)
        self.generator = torch.Generator().manual_seed(derive_seed(config.seed, "distill data order"))
        self.history: list[dict[str, Any]] = []
        self.teacher_accuracy: dict[str, float] | None = None

    def run(self) -> DistillResult:
        started = time.perf_counter()
        # Layers that draw from torch's global RNG (dropout) draw from a seeded, checkpointed stream, and the
        # caller's global state is given back at the end. The state is set and restored under the lock that
        # seeded network builds hold (searches on other threads of a service), never held while training.
        with global_generator_lock():
            caller_state = torch.get_rng_state(), torch.cuda.get_rng_state_all() if self.accelerated else []
            torch.default_generator.manual_seed(derive_seed(self.config.seed, "distill global rng"))
            first_epoch = self._restore() + 1
        try:
            if self.teacher is not None and self.teacher_accuracy is None:
                self.teacher_accuracy = self._evaluate(self.teacher)
            for epoch in range(first_epoch, self.config.epochs + 1):
                self._train_epoch(epoch)
        finally:
            with global_generator_lock():
                torch.set_rng_state(caller_state[0])
                if self.accelerated:
                    torch.cuda.set_rng_state_all(caller_state[1])
        student = self.model.cpu().to(memory_format=torch.contiguous_format).eval()
        return DistillResult(self.folder, student, self.history, self._finish(time.perf_counter() - started))

    def _restore(self) -> int:
        if self.state is None:
            return 0
        state = self.state
        self.model.load_state_dict(state.model)
        self.optimiser.load_state_dict(state.optimiser)
        self.scheduler.load_state_dict(state.scheduler)
        self.scaler.load_state_dict(state.scaler)
        self.generator.set_state(state.data_generator)
        torch.set_rng_state(state.torch_rng)
        if self.accelerated and state.cuda_rng:
            torch.cuda.set_rng_state_all(state.cuda_rng)
        self.history = list(state.history)
        self.teacher_accuracy = state.teacher_accuracy
        return state.epoch

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.accelerated:
            return torch.autocast("cuda", dtype=torch.float16)
        return contextlib.nullcontext()

    def _train_epoch(self, epoch: int) -> None:
        config, data = self.config, self.data.train
        self.model.train()
        batches = epoch_batches(len(data), config.batch_size, self.generator)
        sums: dict[str, float] = {}
        seen = correct = 0
        started = time.perf_counter()
        for step, indices in enumerate(batches, start=1):
            images, labels = data.batch(indices, config.image_size)
            if config.augment:
                images = random_crop_flip(images, self.generator)
            images = prepare(images, config.mean, config.std, self.device)
            labels = labels.to(self.device, non_blocking=True)
            with self._autocast():
                student_outputs = forward_outputs(self.model, images)
                teacher_outputs = None
                if self.teacher is not None:
                    with torch.no_grad():
                        teacher_outputs = forward_outputs(self.teacher, images)
                terms = loss_terms(student_outputs, teacher_outputs, labels, config.weights)
                loss = total_loss(terms, config.weights, config.distilling)
            if not torch.isfinite(loss):
                raise DiswotError(f"the training loss became {float(loss)} in epoch {epoch}, batch {step}: "
                                  "lower the learning rate or the loss weights")
            self.optimiser.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimiser)
            self.scaler.update()
            count = len(labels)
            seen += count
            correct += int((student_outputs.logits.argmax(1) == labels).sum())
            for name, value in {"train_loss": loss, **terms}.items():
                sums[name] = sums.get(name, 0.0) + float(value.detach()) * count
            if self.on_progress is not None:
                self.on_progress(DistillProgress(
                    epoch, config.epochs, step, len(batches), sums["train_loss"] / seen, 100.0 * correct / seen,
                    self.history[-1]["eval_top1"] if self.history else None,
                ))
            if self.should_stop is not None and self.should_stop():
                raise DistillStopped(f"stopped in epoch {epoch}; the checkpoint holds epoch {epoch - 1}")
        train_seconds = time.perf_counter() - started
        learning_rate = self.optimiser.param_groups[0]["lr"]
        self.scheduler.step()
        record = {"epoch": epoch, "lr": learning_rate}
        record.update({name: total / seen for name, total in sums.items()})
        record["train_top1"] = 100.0 * correct / seen
        evaluation = self._evaluate(self.model)
        record.update({f"eval_{name}": value for name, value in evaluation.items()})
        record.update({"train_seconds": train_seconds, "train_images_per_second": seen / train_seconds})
        self.history.append(record)
        self._save(epoch)
        if self.on_epoch is not None:
            self.on_epoch(record)

    @torch.no_grad()
    def _evaluate(self, model: nn.Module) -> dict[str, float]:
        """Cross-entropy, top-1 and top-5 (%) on the evaluation split (the test set, or the validation part)."""
        training = model.training
        model.eval()
        part: LabelledImages = self.data.evaluation
        top_k = min(5, self.spec.num_classes)
        loss_sum = top1 = topk = 0.0
        try:
            for indices in evaluation_batches(len(part), EVALUATION_BATCH):
                images, labels = part.batch(indices, self.config.image_size)
                images = prepare(images, self.config.mean, self.config.std, self.device)
                labels = labels.to(self.device)
                with self._autocast():
                    logits = forward_outputs(model, images).logits.float()
                loss_sum += float(nn.functional.cross_entropy(logits, labels, reduction="sum"))
                best = logits.topk(top_k, dim=1).indices
                top1 += float((best[:, 0] == labels).sum())
                topk += float((best == labels[:, None]).any(dim=1).sum())
        finally:
            model.train(training)
        count = len(part)
        return {"loss": loss_sum / count, "top1": 100.0 * top1 / count, "top5": 100.0 * topk / count}

    def _save(self, epoch: int) -> None:
        save_checkpoint(self.folder / CHECKPOINT_FILE, TrainingState(
            epoch=epoch,
            model=self.model.state_dict(),
            optimiser=self.optimiser.state_dict(),
            scheduler=self.scheduler.state_dict(),
            scaler=self.scaler.state_dict(),
            data_generator=self.generator.get_state(),
            torch_rng=torch.get_rng_state(),
            cuda_rng=torch.cuda.get_rng_state_all() if self.accelerated else [],
            history=self.history,
            identity=self.identity,
            teacher_accuracy=self.teacher_accuracy,
        ))
        write_metrics(self.folder, self.history)

    def _notes(self, curves_written: bool) -> list[str]:
        notes = []
        if self.identity.get("classifier_rebuilt_from") is not None:
            notes.append(f"the classifier was rebuilt for {self.spec.num_classes} classes (the spec had "
                         f"{self.identity['classifier_rebuilt_from']})")
        if not curves_written:
            notes.append("curves.png not written: matplotlib (the `plots` extra) is absent")
        return notes

    def _finish(self, seconds: float) -> dict[str, Any]:
        student_path = write_student(self.folder, self.model)
        title = f"{self.spec.space}:{self.spec.arch} ({self.config.mode}" + (
            f" from {self.teacher_spec})" if self.teacher_spec else ")")
        curves = write_curves(self.folder, self.history, title)
        final = self.history[-1]
        epoch_seconds = [record["train_seconds"] for record in self.history]
        summary = {
            "student": {**self.spec.to_dict(), "score": self.spec.score if math.isfinite(self.spec.score) else None},
            "teacher": self.teacher_spec,
            "teacher_checkpoint": self.identity["teacher_checkpoint"],
            "teacher_accuracy": self.teacher_accuracy,
            "data": self.identity["data"],
            "evaluation_split": self.data.evaluation_split,
            "train_images": len(self.data.train),
            "evaluation_images": len(self.data.evaluation),
            "config": self.config.described(),
            "device": str(self.device),
            "amp": self.accelerated,
            "epochs_completed": final["epoch"],
            "final": {key: final[key] for key in ("eval_top1", "eval_top5", "eval_loss", "train_top1", "train_loss")},
            "best_eval_top1": max(record["eval_top1"] for record in self.history),
            "best_epoch": max(self.history, key=lambda record: record["eval_top1"])["epoch"],
            "mean_train_seconds_per_epoch": sum(epoch_seconds) / len(epoch_seconds),
            "mean_train_images_per_second": math.fsum(r["train_images_per_second"] for r in self.history)
            / len(self.history),
            "seconds_this_call": seconds,
            "files": {
                "metrics": "metrics.csv",
                "curves": CURVES_FILE if curves is not None else None,
                "student": student_path.name,
                "checkpoint": CHECKPOINT_FILE,
            },
            "notes": self._notes(curves is not None),
            "torch_version": torch.__version__,
            "diswot_version": diswot.__version__,
        }
        write_summary(self.folder, summary)
        return summary

