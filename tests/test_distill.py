"""`diswot.distill` and `diswot distill` on tiny data and tiny networks: the loss falls, a resumed run ends
with the same weights as an uninterrupted one, the run folder holds what it promises, and bad inputs are
one-line errors before any training."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from diswot.distillation import DistillConfig, DistillStopped, LossWeights, distill
from diswot.distillation.data import load_training_data
from diswot.distillation.student import UnscoredStudent, read_student
from diswot.errors import DiswotError
from diswot.teachers import build_network
from shared_data import SHARED_DATA

STUDENT = "resnet_cifar:1x16-1x32-1x64"
TEACHER = "resnet8"
CLASSES = 4
SHARED_CIFAR10 = SHARED_DATA / "cifar10_sample.npz"


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def learnable_images(count, seed):
    """16x16 images whose class sets the colour (plus noise): learnable in a few epochs."""
    rng = np.random.default_rng(seed)
    labels = np.arange(count) % CLASSES
    colours = np.array([[200, 40, 40], [40, 200, 40], [40, 40, 200], [200, 200, 40]])
    images = colours[labels][:, None, None, :] + rng.normal(0, 40, (count, 16, 16, 3))
    return np.clip(images, 0, 255).astype(np.uint8), labels.astype(np.int16)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    x_train, y_train = learnable_images(48, seed=0)
    x_test, y_test = learnable_images(16, seed=1)
    np.savez(folder / "data.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    np.savez(folder / "train_only.npz", x_train=x_train, y_train=y_train)
    torch.manual_seed(0)
    torch.save(build_network(TEACHER, CLASSES).state_dict(), folder / "teacher.pt")
    return folder


def run(tiny, out, **options):
    options.setdefault("config", DistillConfig(epochs=2, batch_size=16, image_size=16, weights=LossWeights(
        semantic=1.0, relation=100.0)))
    return distill(STUDENT, data=str(tiny / "data.npz"), out=out, teacher=TEACHER, checkpoint=tiny / "teacher.pt",
                   device="cpu", **options)


def test_the_training_loss_falls(tiny, tmp_path):
    config = DistillConfig(epochs=5, batch_size=16, image_size=16, lr=0.05, mode="vanilla")
    history = run(tiny, tmp_path / "run", config=config).history
    assert history[-1]["train_loss"] < 0.7 * history[0]["train_loss"]
    assert history[-1]["eval_top1"] > 50.0  # chance is 25%


@pytest.mark.parametrize("interruption, schedule", [("after epoch 1", "cosine"), ("inside epoch 2", "step")])
def test_resume_ends_with_the_weights_of_an_uninterrupted_run(tiny, tmp_path, interruption, schedule):
    config = DistillConfig(epochs=2, batch_size=16, image_size=16, schedule=schedule,
                           weights=LossWeights(semantic=1.0, relation=100.0))
    uninterrupted = run(tiny, tmp_path / "whole", config=config)

    class Stop(Exception):
        pass

    def stop_after_first_epoch(record):
        if record["epoch"] == 1:
            raise Stop

    batches = iter(range(100))
    if interruption == "after epoch 1":  # as a kill between epochs
        with pytest.raises(Stop):
            run(tiny, tmp_path / "cut", config=config, on_epoch=stop_after_first_epoch)
    else:  # as the service's cancel or shutdown: 3 batches per epoch, stop after the 2nd of epoch 2
        with pytest.raises(DistillStopped, match="checkpoint holds epoch 1"):
            run(tiny, tmp_path / "cut", config=config, should_stop=lambda: next(batches) == 4)
    with pytest.raises(DiswotError, match="--resume"):
        run(tiny, tmp_path / "cut", config=config)
    resumed = run(tiny, tmp_path / "cut", config=config, resume=True)
    # cosine over 2 epochs: 0.05 (1 + cos(pi/2)) / 2; step: /10 at round(0.625 * 2) = epoch 1
    assert [record["lr"] for record in resumed.history] == pytest.approx([0.05, 0.025 if schedule == "cosine" else 0.005])

    whole_state, resumed_state = uninterrupted.student.state_dict(), resumed.student.state_dict()
    assert whole_state.keys() == resumed_state.keys()
    for name in whole_state:
        assert torch.equal(whole_state[name], resumed_state[name]), name
    timing = ("train_seconds", "train_images_per_second")
    strip = lambda history: [{k: v for k, v in record.items() if k not in timing} for record in history]  # noqa: E731
    assert strip(resumed.history) == strip(uninterrupted.history)
    # a different recipe does not continue this run
    with pytest.raises(DiswotError, match="config.epochs: 2 there, 3 now"):
        run(tiny, tmp_path / "cut", resume=True, config=DistillConfig(epochs=3, batch_size=16, image_size=16,
                                                                        weights=LossWeights(semantic=1.0, relation=100.0)))


def test_the_run_folder_holds_metrics_curves_student_and_summary(tiny, tmp_path):
    result = run(tiny, tmp_path / "run")
    folder = tmp_path / "run"
    with open(folder / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(row["epoch"]) for row in rows] == [1, 2]
    assert {"cross_entropy", "kd", "semantic", "relation", "eval_top1", "eval_top5", "lr"} <= set(rows[0])
    summary = json.loads((folder / "distill.json").read_text())
    assert summary["evaluation_split"] == "test" and summary["evaluation_images"] == 16
    assert summary["final"]["eval_top1"] == pytest.approx(float(rows[-1]["eval_top1"]))
    assert 0 <= summary["teacher_accuracy"]["top1"] <= 100
    assert (folder / "curves.png").stat().st_size > 0
    scripted = torch.jit.load(str(folder / "student.ts"))
    images = torch.randn(3, 3, 16, 16)
    torch.testing.assert_close(scripted(images), result.student(images))
    # the exported student is itself a valid teacher spec
    again = distill(STUDENT, data=str(tiny / "data.npz"), out=tmp_path / "from_student", teacher=str(folder / "student.ts"),
                    config=DistillConfig(epochs=1, batch_size=16, image_size=16), device="cpu")
    assert again.summary["teacher"] == str(folder / "student.ts")


def test_the_teacher_is_frozen_and_stays_in_eval_mode(tiny, tmp_path):
    before = torch.load(tiny / "teacher.pt")
    seen = []
    from diswot.distillation import trainer

    original = trainer.forward_outputs

    def spy(model, images):
        seen.append((model, model.training, any(p.requires_grad for p in model.parameters()), torch.is_grad_enabled()))
        return original(model, images)

    trainer.forward_outputs = spy
    try:
        run(tiny, tmp_path / "run", config=DistillConfig(epochs=1, batch_size=16, image_size=16))
    finally:
        trainer.forward_outputs = original
    teacher_calls = [call for call in seen if not call[2]]  # the student's parameters require grad
    assert teacher_calls and all(training is False and grad is False for _, training, _, grad in teacher_calls)
    teacher = teacher_calls[0][0]
    after = teacher.state_dict()
    assert all(torch.equal(before[name], after[name]) for name in before)  # weights and BatchNorm statistics


def test_data_without_a_test_split_holds_out_a_validation_part(tiny):
    data = load_training_data(str(tiny / "train_only.npz"), 16, 0.25, seed=0)
    assert data.evaluation_split == "validation"
    assert (len(data.train), len(data.evaluation)) == (36, 12)
    assert len(np.unique(np.concatenate([data.train.images, data.evaluation.images]).reshape(48, -1), axis=0)) == 48


@pytest.mark.skipif(not SHARED_CIFAR10.exists(), reason="../shared/data is not on this machine")
def test_the_cifar10_sample_loads_with_its_test_split():
    data = load_training_data(str(SHARED_CIFAR10), 32, 0.1, seed=0)
    assert (len(data.train), len(data.evaluation), data.evaluation_split) == (10000, 5000, "test")


@pytest.mark.parametrize("change, fragment", [
    ({"seed": "x"}, "seed must be an integer in [0, 2**63 - 1], got 'x'"),
    ({"seed": -1}, "seed must be an integer"),
    ({"seed": 2**70}, "seed must be an integer"),
    ({"init": "foo"}, "unknown init scheme 'foo'"),
    ({"shared_init": "yes"}, "shared_init must be true or false"),
    ({"num_classes": True}, "num_classes must be an integer >= 2"),
])
def test_a_hand_made_spec_whose_fields_cannot_build_its_student_is_refused(tmp_path, change, fragment):
    spec = {**UnscoredStudent("resnet_cifar", "1x16-1x32-1x64").spec(CLASSES).to_dict(), "score": 0.0, **change}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    for given in (spec, tmp_path / "spec.json"):  # sent over the API, or a file for the CLI
        with pytest.raises(DiswotError) as refused:
            read_student(given)
        assert str(refused.value).startswith("student spec: ") and fragment in str(refused.value)


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "diswot", *args], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("case, fragment", [
    ("spec", "neither a spec file"),
    ("teacher", "unknown"),
    ("checkpoint", "does not exist"),
    ("untrained", "no trained weights"),
    ("data", "does not exist"),
    ("labels", "labels 0..3 but the student has 2 classes"),
    ("classes", "has 4 classes (labels 0..3) but the student has 10: give num_classes 4 (--num-classes)"),
])
def test_bad_inputs_are_one_line_errors_before_training(tiny, tmp_path, case, fragment):
    args = {"spec": STUDENT, "--data": str(tiny / "data.npz"), "--teacher": TEACHER,
            "--checkpoint": str(tiny / "teacher.pt")}
    if case == "spec":
        args["spec"] = str(tmp_path / "missing.json")
    elif case == "teacher":
        args["--teacher"] = "resnet57"
    elif case == "checkpoint":
        args["--checkpoint"] = str(tmp_path / "missing.pt")
    elif case == "untrained":
        del args["--checkpoint"]
    elif case == "data":
        args["--data"] = str(tmp_path / "missing.npz")
    elif case == "classes":  # a 100-class spec on 10-class data trained to below chance before: now refused
        args["spec"] = str(tmp_path / "ten.json")
        Path(args["spec"]).write_text(json.dumps(UnscoredStudent("resnet_cifar", "1x16-1x32-1x64").spec(10).to_dict(),
                                                 default=str))
    else:
        args["--num-classes"] = "2"
    out = tmp_path / "out"
    flags = [item for key, value in args.items() if key != "spec" for item in (key, value)]
    result = run_cli("distill", args["spec"], *flags, "--out", str(out), "--epochs", "1", "--image-size", "16")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], result.stderr
    assert not out.exists()  # nothing was trained or written


def test_cli_trains_from_a_result_json_and_resumes(tiny, tmp_path):
    spec = UnscoredStudent("resnet_cifar", "1x16-1x32-1x64").spec(CLASSES)
    (tmp_path / "result.json").write_text(json.dumps({"students": [spec.to_dict()] * 2}, default=str))
    command = ["distill", str(tmp_path / "result.json"), "--rank", "2", "--data", str(tiny / "data.npz"),
               "--teacher", TEACHER, "--checkpoint", str(tiny / "teacher.pt"), "--out", str(tmp_path / "out"),
               "--epochs", "1", "--batch-size", "16", "--image-size", "16"]
    first = run_cli(*command)
    assert first.returncode == 0, first.stderr
    assert "test top-1" in first.stdout
    again = run_cli(*command, "--resume")
    assert again.returncode == 0, again.stderr
    assert json.loads((tmp_path / "out" / "distill.json").read_text())["epochs_completed"] == 1


def test_files_outside_the_allowed_directories_are_refused(tiny, tmp_path):
    elsewhere = tmp_path / "allowed"
    elsewhere.mkdir()
    with pytest.raises(DiswotError, match="outside the allowed directory"):
        run(tiny, tmp_path / "run", allowed_data_dir=elsewhere)
    with pytest.raises(DiswotError, match="outside the allowed directory"):
        run(tiny, tmp_path / "run", allowed_teacher_dir=elsewhere)
    assert not (tmp_path / "run").exists()


def test_the_callers_global_random_state_is_given_back(tiny, tmp_path):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    run(tiny, tmp_path / "run", config=DistillConfig(epochs=1, batch_size=16, image_size=16))
    assert torch.equal(torch.rand(3), expected)


def test_num_classes_rebuilds_a_specs_classifier_and_distill_json_reports_each_mode_as_it_ran(tiny, tmp_path):
    spec = tmp_path / "ten.json"
    spec.write_text(json.dumps(UnscoredStudent("resnet_cifar", "1x16-1x32-1x64").spec(10).to_dict(), default=str))
    common = ["--data", str(tiny / "data.npz"), "--epochs", "1", "--batch-size", "16", "--image-size", "16"]
    vanilla = run_cli("distill", str(spec), "--num-classes", "4", "--mode", "vanilla", "--out",
                      str(tmp_path / "vanilla"), *common)
    assert vanilla.returncode == 0, vanilla.stderr
    assert "note: the classifier was rebuilt for 4 classes (the spec had 10)" in vanilla.stdout
    summary = json.loads((tmp_path / "vanilla" / "distill.json").read_text())
    assert summary["student"]["num_classes"] == 4 and summary["notes"][0].startswith("the classifier was rebuilt")
    assert summary["config"]["mode"] == "vanilla" and "weights" not in summary["config"]  # no KD weights it never used
    kd = run_cli("distill", STUDENT, "--teacher", TEACHER, "--checkpoint", str(tiny / "teacher.pt"), "--out",
                 str(tmp_path / "kd"), *common)
    assert kd.returncode == 0, kd.stderr
    weights = json.loads((tmp_path / "kd" / "distill.json").read_text())["config"]["weights"]
    assert weights["kd"] == LossWeights().kd and weights["temperature"] == LossWeights().temperature
