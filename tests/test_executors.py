"""Executors: in-process, a process pool and Ray give the same result for the same seeds and concurrency; a
killed worker is replaced and its candidate scored again; a candidate that runs out of memory fails alone."""

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import diswot
from diswot.errors import DiswotError
from diswot.executors import InProcessExecutor, ProcessPoolScoringExecutor, RayExecutor, make_executor
from diswot.student_search import MemoryStore
from tests.proxy_testing import FailsAboveBatch

# Candidates slow enough (batch 32) that a worker is caught mid-candidate, few enough to stay fast.
SETTINGS = dict(teacher="resnet8", space="resnet_cifar_wide", num_classes=10, batch_size=32, population=6,
                sample_size=2, proxies=["diswot"], confirm_top=3, confirm_inits=2, evaluations=14, seed=2,
                concurrency=2)


def students(result):
    return result.to_dict()["students"]


@pytest.fixture(scope="module")
def one_thread():
    """Workers score on one thread: the in-process reference does too, so scores can be compared exactly."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def in_process_result(one_thread):
    return diswot.search(**SETTINGS)


def processes_whose_command_starts(prefix):
    """(pid, command) of this user's processes whose command line starts with `prefix` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if command.startswith(prefix):
                found.append(int(entry.name))
    return found


def child_pids():
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if int(fields[1]) == os.getpid() and b"spawn_main" in command:
                children.append(int(entry.name))
    return children


needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finding worker processes reads /proc")


def test_concurrency_changes_the_trajectory_but_the_result_is_reproducible(in_process_result):
    """The window is part of the search: concurrency 1 asks with every result known, 2 does not."""
    sequential = diswot.search(**{**SETTINGS, "concurrency": 1})
    assert [e.canonical for e in sequential.history] != [e.canonical for e in in_process_result.history]
    assert students(diswot.search(**SETTINGS)) == students(in_process_result)


def test_two_process_workers_give_the_in_process_result(in_process_result):
    with ProcessPoolScoringExecutor(workers=2) as executor:
        result = diswot.search(**SETTINGS, executor=executor)
    assert students(result) == students(in_process_result)  # scores included, to the last bit
    assert [e.canonical for e in result.history] == [e.canonical for e in in_process_result.history]
    assert result.calibrations == in_process_result.calibrations
    assert result.executor == {"kind": "process", "workers": 2, "devices": ["cpu"]}


@needs_proc
def test_a_killed_process_worker_is_replaced_and_the_result_is_unchanged(in_process_result):
    executor = ProcessPoolScoringExecutor(workers=2)
    killed = []

    def kill_a_worker(progress):
        if progress.stage == "search" and progress.evaluations == 4 and not killed:
            killed.append(child_pids()[0])
            os.kill(killed[0], signal.SIGKILL)

    with executor:
        result = diswot.search(**SETTINGS, executor=executor, on_progress=kill_a_worker)
    assert killed and executor.restarts >= 1
    assert students(result) == students(in_process_result)
    assert not any(e.failure for e in result.history)


def die(setup, task):
    os._exit(1)


def test_workers_that_die_on_every_task_fail_the_search_with_a_reason():
    executor = ProcessPoolScoringExecutor(workers=1, score_function=die)
    with pytest.raises(DiswotError, match="died 4 times in a row without scoring a candidate"):
        with executor:
            diswot.search(**{**SETTINGS, "evaluations": 3}, executor=executor)


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray", reason="the ray executor needs the [ray] extra")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_workers_give_the_in_process_result(local_ray, in_process_result):
    with RayExecutor(workers=2) as executor:
        result = diswot.search(**SETTINGS, executor=executor)
    assert students(result) == students(in_process_result)
    assert result.executor == {"kind": "ray", "workers": 2, "devices": ["cpu"]}


def test_ray_workers_with_candidates_waiting_for_them_give_the_in_process_result(local_ray, one_thread):
    """Concurrency 3 on 2 workers: a candidate waits in the searching process until an actor is idle."""
    settings = {**SETTINGS, "concurrency": 3}
    with RayExecutor(workers=2) as executor:
        result = diswot.search(**settings, executor=executor)
    alone = diswot.search(**settings)
    assert students(result) == students(alone)
    assert [e.canonical for e in result.history] == [e.canonical for e in alone.history]


@needs_proc
def test_a_ray_worker_killed_mid_candidate_is_retried_and_the_result_is_unchanged(local_ray, in_process_result):
    killed = []

    def kill_a_busy_worker(progress):
        if progress.stage != "search" or progress.evaluations < 4 or killed:
            return
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not killed:
            busy = processes_whose_command_starts("ray::ScoringActor.run")  # Ray names a worker by its running task
            if busy:
                os.kill(busy[0], signal.SIGKILL)
                killed.append(busy[0])

    with RayExecutor(workers=2) as executor:
        result = diswot.search(**SETTINGS, executor=executor, on_progress=kill_a_busy_worker)
    assert killed
    assert students(result) == students(in_process_result)
    assert not any(e.failure for e in result.history)


def run_out_of_memory(monkeypatch, victim):
    """Every network built for the candidate `victim` (canonical) runs out of memory at every batch size."""
    from diswot.candidate import CandidateContext

    build = CandidateContext.build_network

    def build_network(candidate):
        network = build(candidate)
        return FailsAboveBatch(network, limit=0) if candidate.canonical == victim else network

    monkeypatch.setattr(CandidateContext, "build_network", build_network)


def test_a_candidate_out_of_memory_at_every_batch_size_fails_alone(monkeypatch):
    # snip splits the probe batch on out-of-memory down to one image; NB201's costs need no network.
    settings = dict(teacher="resnet8", space="nb201", num_classes=10, batch_size=8, proxies=["snip"], population=4,
                    sample_size=2, evaluations=8, confirm_top=0)
    victim = diswot.search(**settings).history[2].canonical
    run_out_of_memory(monkeypatch, victim)
    store = MemoryStore()
    result = diswot.search(**settings, store=store)
    failed = [e for e in store.evaluations if e.failure]
    assert [e.canonical for e in failed] == [victim]
    assert failed[0].score == -math.inf and "out of memory at every batch size" in failed[0].failure
    assert result.evaluations == settings["evaluations"]  # the search went on
    assert result.students[0].arch != victim


def test_a_calibration_cell_out_of_memory_fails_the_search_with_the_cell_and_the_reason(monkeypatch):
    from diswot.calibration import calibration_reference
    from search_spaces import get_space

    settings = dict(teacher="resnet8", space="nb201", num_classes=10, batch_size=8, evaluations=4, confirm_top=0)
    victim = calibration_reference(get_space("nb201"), seed=0)[5]
    run_out_of_memory(monkeypatch, victim)
    with pytest.raises(DiswotError) as raised:
        diswot.search(**settings)
    message = str(raised.value)
    assert message.startswith(f"cannot calibrate 'diswot_capacity' on nb201: reference cell {victim} could not be "
                              "measured (out of memory at every batch size")


def test_resume_with_a_window_in_flight_equals_uninterrupted(in_process_result):
    class StopAfter(MemoryStore):
        def append(self, evaluation):
            super().append(evaluation)
            if len(self.evaluations) == 5:
                raise KeyboardInterrupt

    store = StopAfter()
    with pytest.raises(KeyboardInterrupt):
        with ProcessPoolScoringExecutor(workers=2) as executor:
            diswot.search(**SETTINGS, store=store, executor=executor)
    assert len(store.evaluations) == 5
    store.append = MemoryStore.append.__get__(store)
    resumed = diswot.search(**SETTINGS, store=store)
    assert students(resumed) == students(in_process_result)
    assert len({(e.stage, e.canonical) for e in store.evaluations}) == len(store.evaluations)


@pytest.mark.parametrize(
    "kind,options,message",
    [
        ("threads", {}, "unknown executor 'threads'; valid: inprocess, process, ray"),
        ("process", {"workers": 0}, "workers must be an integer >= 1, got 0"),
        ("process", {"ray_address": "ray://head:10001"}, "options of the ray executor"),
    ],
)
def test_a_bad_executor_choice_is_refused_with_the_valid_ones(kind, options, message):
    with pytest.raises(DiswotError, match=message):
        make_executor(kind, **options)


def test_in_process_is_the_default_and_has_one_worker():
    assert isinstance(make_executor(), InProcessExecutor) and make_executor("inprocess", 4).workers == 1


def test_cli_search_on_two_process_workers_writes_the_in_process_result_json(tmp_path):
    """`diswot search --executor process --workers 2` (concurrency: twice the workers by default) against
    `--concurrency 4` in one process (one thread each)."""
    common = ["search", "--teacher", "resnet8", "--space", "resnet_cifar_wide", "--num-classes", "10", "--batch-size",
              "16", "--evaluations", "12", "--population", "6", "--sample-size", "2", "--proxy", "diswot",
              "--confirm-top", "2", "--confirm-inits", "2"]
    runs = {"inprocess": ["--concurrency", "4"], "process": ["--executor", "process", "--workers", "2"]}
    students = {}
    for name, options in runs.items():
        completed = subprocess.run([sys.executable, "-m", "diswot", *common, *options, "--out", str(tmp_path / name)],
                                   capture_output=True, text=True, timeout=600,
                                   env={**os.environ, "OMP_NUM_THREADS": "1"})
        assert completed.returncode == 0, completed.stderr
        document = json.loads((tmp_path / name / "result.json").read_text())
        assert document["config"]["concurrency"] == 4
        students[name] = document["students"]
    assert students["process"] == students["inprocess"]
    refused = subprocess.run([sys.executable, "-m", "diswot", *common, "--executor", "threads", "--out",
                              str(tmp_path / "x")], capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "unknown executor 'threads'; valid: inprocess, process, ray" in refused.stderr
    assert "Traceback" not in refused.stderr
