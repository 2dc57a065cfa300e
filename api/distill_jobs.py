"""Distillation jobs (`kind: distill`) on the search jobs' machinery: the same table, statuses, worker pool,
cancel and resume. A job's config is `distill`'s validated arguments plus `kind`; its run folder is
`<distill_dir>/<job id>` (checkpoint, metrics.csv, curves.png, student.ts, distill.json); its result is the
distill.json summary. A job stopped by a shutdown stays queued and resumes from its last epoch's checkpoint.

The job's counters hold epochs done and epochs in all, and `best_score` the best evaluation top-1 so far (%);
the API names them for what they count (`api.routers.job_routes.distillation_view`). Its stage is "training".
"""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

from api.job_kinds import JobKind, register_job_kind, run_to_its_end
from api.settings import Settings
from api.validation import allowed_dirs, probe_source, server_files
from diswot.devices import resolve_device
from diswot.distillation import DistillConfig, DistillStopped, LossWeights, distill
from diswot.distillation.data import load_training_data
from diswot.distillation.outputs import METRICS_FILE
from diswot.distillation.student import read_student
from diswot.errors import DiswotError, FieldError, in_field
from diswot.student_search import StudentSpec
from diswot.teachers import TORCHSCRIPT_SUFFIXES

DISTILL_KIND = "distill"
TRAINING_STAGE = "training"
# Cancel and shutdown are asked of the database at most this often while a job trains.
STOP_CHECK_INTERVAL_S = 1.0


def is_distillation(config: dict[str, Any]) -> bool:
    return config.get("kind") == DISTILL_KIND


def distill_job_config(values: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """The stored config of a distillation request: every field validated as `distill` will use it, and the
    teacher and data files resolved inside the server's directories (read once now, as the job will)."""
    recipe = recipe_of(values)
    student = values["student"]
    if student is None:
        raise FieldError("student", "give a student (a spec or 'SPACE:ARCH'), or a source (a search and rank)")
    try:
        parsed = read_student(student if isinstance(student, dict) else _space_arch(student))
    except DiswotError as error:
        raise FieldError("student", str(error)) from None
    if isinstance(parsed, StudentSpec):
        check_spec_classes(parsed, settings)
        # num_classes given with a spec rebuilds its classifier (distill does, and says so in distill.json).
        student, num_classes = parsed.to_dict(), values["num_classes"] or parsed.num_classes
    elif values["num_classes"] is None:
        raise FieldError("num_classes", "a 'SPACE:ARCH' student needs num_classes over the API")
    else:
        student, num_classes = f"{parsed.space}:{parsed.arch}", values["num_classes"]
    teacher, checkpoint = values["teacher"], values["checkpoint"]
    if recipe.distilling:
        if teacher is None:
            raise FieldError("teacher", "mode 'kd' distils a teacher: give one (and its trained checkpoint)")
        files = server_files(
            {"teacher": teacher, "checkpoint": checkpoint, "data": "synthetic", "num_classes": num_classes,
             "seed": 0, "image_size": values["image_size"]}, settings,
        )
        teacher, checkpoint = files["teacher"], files["checkpoint"]
        if checkpoint is None and not teacher.endswith(TORCHSCRIPT_SUFFIXES):  # a zoo or space teacher, untrained
            raise FieldError("checkpoint", f"teacher {teacher!r} needs trained weights (a checkpoint file)")
    else:
        teacher = checkpoint = None  # vanilla trains without a teacher
    if settings.data_dir is None:
        raise FieldError("data", "this server accepts no training data (its data directory is not configured)")
    data = probe_source(values["data"], settings.data_dir.expanduser().resolve())
    in_field("device", lambda: resolve_device(values["device"]))
    check_training_data(data, num_classes, recipe, settings)
    return {
        "kind": DISTILL_KIND, "student": student, "teacher": teacher, "checkpoint": checkpoint, "data": data,
        "num_classes": num_classes, "device": values["device"], "recipe": recipe.to_dict(),
        "source": values.get("source"),
    }


def check_spec_classes(spec: StudentSpec, settings: Settings) -> None:
    """A spec brings its own class count: held to the server's limit like a request's."""
    if spec.num_classes > settings.max_num_classes:
        raise FieldError("student", f"the spec has {spec.num_classes} classes, more than this server's "
                                    f"max_num_classes ({settings.max_num_classes})")


def check_training_data(data: str, num_classes: int, recipe: DistillConfig, settings: Settings) -> None:
    """The data read now as the job will read it (whole, both splits), so a file that cannot train this student
    is a 422 rather than a failed job; a student with more classes than the data has is num_classes's to fix
    (giving it rebuilds the classifier), labels beyond the student's classes are the data's."""
    try:
        training_data = load_training_data(data, recipe.image_size, recipe.validation_fraction, recipe.seed,
                                           settings.data_dir.expanduser().resolve())
    except DiswotError as error:
        raise FieldError("data", str(error)) from None
    except OSError as error:  # a file the server may not read
        raise FieldError("data", f"unreadable: {error.strerror}: {error.filename}") from None
    field = "num_classes" if training_data.classes < num_classes else "data"
    in_field(field, lambda: training_data.check_labels(num_classes, data))


def recipe_of(values: dict[str, Any]) -> DistillConfig:
    try:
        return DistillConfig(
            epochs=values["epochs"], mode=values["mode"], batch_size=values["batch_size"], lr=values["lr"],
            weight_decay=values["weight_decay"], schedule=values["schedule"], seed=values["seed"],
            validation_fraction=values["validation_fraction"], image_size=values["image_size"],
            weights=LossWeights(cross_entropy=values["ce_weight"], kd=values["kd_weight"],
                                temperature=values["temperature"], semantic=values["semantic_weight"],
                                relation=values["relation_weight"]),
        )
    except DiswotError as error:  # the schema bounds every number: what is left is a mode without a teacher's losses
        raise FieldError("mode", str(error)) from None


def _space_arch(text: str) -> str:
    """Only 'SPACE:ARCH' over the API: a student file path would read the server's disk."""
    if ":" not in text:
        raise DiswotError(f"a student is a spec object or 'SPACE:ARCH', got {text!r}")
    return text


def run_distill_job(pool, job_id: str, config: dict[str, Any], parsed: None = None) -> None:
    """Train one claimed job to its end, a stop (cancel: cancelled; shutdown: queued again) or a failure. Its
    stored config is `distill`'s checked arguments: there is no parsed request to take."""
    jobs, settings = pool.jobs, pool.settings
    last_check = [float("-inf"), False]

    def should_stop() -> bool:
        if pool.stopping.is_set() or job_id in pool.lost:
            return True
        if time.monotonic() - last_check[0] >= STOP_CHECK_INTERVAL_S:
            last_check[:] = [time.monotonic(), jobs.cancel_requested(job_id)]
        return last_check[1]

    def on_epoch(record: dict[str, Any]) -> None:
        history.append(record)
        done, total = record["epoch"], config["recipe"]["epochs"]
        seconds = sum(r["train_seconds"] for r in history) / len(history)
        jobs.record_progress(job_id, done, total, max(r["eval_top1"] for r in history), seconds * (total - done),
                             TRAINING_STAGE, done, total)

    history: list[dict[str, Any]] = []

    def run() -> dict[str, Any]:
        directories = allowed_dirs({"teacher": config["teacher"] or "", "checkpoint": config["checkpoint"],
                                    "data": config["data"]}, settings)
        return distill(
            config["student"], data=config["data"], out=run_folder(settings, job_id), teacher=config["teacher"],
            checkpoint=config["checkpoint"], num_classes=config["num_classes"],
            config=DistillConfig.from_dict(config["recipe"]), resume=True, device=config["device"],
            on_epoch=on_epoch, should_stop=should_stop, **directories,
        ).summary

    run_to_its_end(jobs, job_id, DISTILL_KIND, run, DistillStopped)


def epoch_records(settings: Settings, job_id: str) -> list[dict[str, float]]:
    """The epochs a job has trained so far (its metrics.csv, rewritten after each epoch); none before the first."""
    path = run_folder(settings, job_id) / METRICS_FILE
    if not path.is_file():
        return []
    with open(path, newline="") as handle:
        return [{name: float(value) for name, value in row.items() if value != ""} for row in csv.DictReader(handle)]


def run_folder(settings: Settings, job_id: str) -> Path:
    return settings.distill_dir.expanduser().resolve() / job_id


register_job_kind(JobKind(DISTILL_KIND, run_distill_job))
