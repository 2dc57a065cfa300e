"""Calibrations measured once (issue 21): a second search, scoring call or service job with the same scoring reuses
the calibration instead of scoring the reference cells again, gives the same scores, and says so; anything that
changes a calibration changes its key."""

import json
import subprocess
import sys

import pytest
import torch

import diswot
from diswot import ProbeDataSpec, ScoringSetup
from diswot.calibration_cache import FileCalibrationCache, calibration_key
from diswot.proxies import get_proxy
from diswot.proxies.diswot_capacity import NAME

SEARCH = dict(teacher="resnet8", space="resnet_cifar", num_classes=10, batch_size=8, strategy="random",
              evaluations=4, confirm_top=0)


class CountingCache(FileCalibrationCache):
    def __init__(self, folder):
        super().__init__(folder)
        self.stored = 0

    def store(self, key, calibration):
        self.stored += 1
        super().store(key, calibration)


def sources(result):
    return {name: calibration["source"] for name, calibration in result.to_dict()["calibrations"].items()}


def test_a_second_search_reuses_the_calibration_and_scores_alike(tmp_path):
    cache = CountingCache(tmp_path)
    first = diswot.search(**SEARCH, calibration_cache=cache)
    assert sources(first) == {f"resnet_cifar/{NAME}": "measured"} and cache.stored == 1
    second = diswot.search(**SEARCH, calibration_cache=cache)
    assert sources(second) == {f"resnet_cifar/{NAME}": "reused"} and cache.stored == 1
    assert [(s.arch, s.score) for s in second.students] == [(s.arch, s.score) for s in first.students]
    without = diswot.search(**SEARCH)
    assert sources(without) == {f"resnet_cifar/{NAME}": "measured"}
    assert [(s.arch, s.score) for s in without.students] == [(s.arch, s.score) for s in first.students]


def test_a_reused_calibration_scores_no_reference_cell(tmp_path, monkeypatch):
    from diswot import calibration_on_workers

    cache = FileCalibrationCache(tmp_path)
    diswot.search(**SEARCH, calibration_cache=cache)
    submitted = []
    original = calibration_on_workers.CalibrationTask
    monkeypatch.setattr(calibration_on_workers, "CalibrationTask", lambda *a: submitted.append(a) or original(*a))
    diswot.search(**SEARCH, calibration_cache=cache)
    assert submitted == []
    diswot.search(**dict(SEARCH, seed=1), calibration_cache=cache)  # another seed: other reference networks
    assert len(submitted) == 64


def test_scoring_calls_share_the_cache_with_searches(tmp_path):
    cache = CountingCache(tmp_path)
    searched = diswot.search(**SEARCH, calibration_cache=cache)
    student = searched.students[0]
    scored = diswot.score("resnet8", "resnet_cifar", [student.arch], num_classes=10,
                          data=ProbeDataSpec(batch_size=8), calibration_cache=cache)
    assert cache.stored == 1 and scored[0].score == pytest.approx(student.score, rel=1e-6)


def key_of(**fields):
    setup = ScoringSetup(**{"teacher": "resnet8", "num_classes": 10, "probe": ProbeDataSpec(batch_size=8),
                            "device": "cpu", **fields})
    return calibration_key(setup.build_scorer(), "resnet_cifar", get_proxy(NAME))


def test_the_key_changes_with_what_changes_a_calibration_and_only_with_it(tmp_path):
    base = key_of()
    assert key_of() == base
    assert key_of(proxies=(NAME, "params"), inits=3) == base  # other proxies and more inits: same reference networks
    changed = {
        "seed": key_of(seed=1),
        "init": key_of(init="gaussian"),
        "shared_init": key_of(shared_init=True),
        "num_classes": key_of(num_classes=12),
        "teacher": key_of(teacher="resnet14"),
        "batch": key_of(probe=ProbeDataSpec(batch_size=16)),
        "image size": key_of(probe=ProbeDataSpec(batch_size=8, image_size=16)),
    }
    weights = tmp_path / "teacher.pt"
    state = diswot.load_teacher("resnet8", 10).model.state_dict()
    torch.save({name: value + 0.01 if value.is_floating_point() else value for name, value in state.items()},
               weights)
    changed["checkpoint"] = key_of(checkpoint=str(weights))
    assert len({base, *changed.values()}) == len(changed) + 1


def test_an_unreadable_cache_file_is_measured_again(tmp_path):
    cache = FileCalibrationCache(tmp_path)
    diswot.search(**SEARCH, calibration_cache=cache)
    (written,) = tmp_path.glob("*.json")
    written.write_text("{not json")
    assert sources(diswot.search(**SEARCH, calibration_cache=cache)) == {f"resnet_cifar/{NAME}": "measured"}
    assert json.loads(written.read_text())["space"] == "resnet_cifar"


def test_the_cli_keeps_calibrations_in_its_cache_dir(tmp_path):
    def run(out, *extra):
        completed = subprocess.run(
            [sys.executable, "-m", "diswot", "search", "--teacher", "resnet8", "--space", "resnet_cifar",
             "--num-classes", "10", "--batch-size", "8", "--strategy", "random", "--evaluations", "3",
             "--confirm-top", "0", "--out", str(tmp_path / out), "--cache-dir", str(tmp_path / "cache"), *extra],
            capture_output=True, text=True, timeout=600)
        assert completed.returncode == 0, completed.stderr
        return json.loads((tmp_path / out / "result.json").read_text())["calibrations"]

    assert [c["source"] for c in run("first").values()] == ["measured"]
    assert [c["source"] for c in run("second").values()] == ["reused"]
    assert [c["source"] for c in run("third", "--no-cache").values()] == ["measured"]
    assert len(list((tmp_path / "cache" / "calibrations").glob("*.json"))) == 1
