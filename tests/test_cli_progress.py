"""What `diswot search` says while it runs, run as a user runs it with its output in a log file (not a terminal):
one line per stage and interval, a line on Ctrl-C saying how to resume, a line saying a run resumed; a run
refused for its input leaves its --out as it found it; `diswot submit` names and tags a job and follows its
stages."""

import io
import json
import signal
import subprocess
import sys
import time

from diswot.cli.progress import PlainProgress, SearchProgressDisplay
from diswot.client import Client
from diswot.student_search import JsonlStore, SearchProgress
from local_server import LocalServer

SEARCH = ["search", "--teacher", "resnet8", "--space", "resnet_cifar_wide", "--num-classes", "10", "--batch-size", "8",
          "--strategy", "aging", "--population", "8", "--sample-size", "3", "--confirm-top", "4",
          "--confirm-inits", "2"]


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "diswot", *args], capture_output=True, text=True, timeout=600)


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_plain_progress_writes_a_line_per_interval_and_at_each_stages_start_and_end():
    stream, clock = io.StringIO(), Clock()
    display = SearchProgressDisplay(PlainProgress(stream, interval=10.0, clock=clock))
    for done in range(1, 31):  # calibration: 30 cells in 3.75 s
        clock.now += 0.125
        display(SearchProgress(done, 30, None, clock.now, stage="calibration"))
    for done in range(1, 101):  # search: 100 candidates, one every 0.5 s
        clock.now += 0.5
        display(SearchProgress(done, 100, float(done - 100), clock.now, resumed=40))
    clock.now += 1.0
    display(SearchProgress(1, 5, 0.0, clock.now, stage="confirm"))
    clock.now += 1.0
    display(SearchProgress(2, 5, 0.0, clock.now, stage="confirm"))
    display.close()
    lines = stream.getvalue().splitlines()
    assert lines[0] == "calibration 1/30 cell (0s)" and lines[1] == "calibration 30/30 cell (4s)"
    assert lines[2] == "resumed from 40 stored evaluations"
    search = [line for line in lines if line.startswith("search ")]
    # the first update, one every 10 s of the 50 s stage, and the last
    assert search[0] == "search 1/100 cand best -99 (0s)" and search[-1] == "search 100/100 cand best 0 (50s)"
    assert len(search) == 6
    # a stage cut short (here by the end of the output) still shows where it got to
    assert lines[-2:] == ["confirm 1/5 finalist best 0 (0s)", "confirm 2/5 finalist best 0 (1s)"]


def test_a_logged_search_shows_its_stages_says_how_to_resume_on_ctrl_c_and_that_it_resumed(tmp_path):
    out = tmp_path / "run"
    args = [*SEARCH, "--evaluations", "60", "--out", str(out)]
    log = open(tmp_path / "stderr.log", "w+")
    process = subprocess.Popen([sys.executable, "-m", "diswot", *args], stdout=subprocess.DEVNULL, stderr=log)
    store = JsonlStore(out / "evaluations.jsonl")
    deadline = time.time() + 180
    while len(store.load()) < 10 and time.time() < deadline:
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    assert process.wait(60) == 130
    log.seek(0)
    interrupted = log.read().splitlines()
    kept = len([e for e in store.load() if e.feasible])
    assert 10 <= kept < 60
    assert any(line.startswith("search ") and "/60 cand" in line for line in interrupted)
    assert "Traceback" not in "\n".join(interrupted)
    assert interrupted[-1] == (f"interrupted after {kept} feasible candidates scored and kept in {out}; run the "
                               "same command again to resume")

    stored = len(store.load())
    resumed = run_cli(*args)
    assert resumed.returncode == 0, resumed.stderr
    lines = resumed.stderr.splitlines()
    assert f"resumed from {stored} stored evaluations" in lines
    stages = [line.split()[0] for line in lines if line.split() and line.split()[0] in ("search", "confirm")]
    assert stages.index("confirm") > stages.index("search") and stages[-1] == "confirm"
    assert lines[-1].startswith("confirm 4/4 finalist")
    assert "60 candidates scored" in resumed.stdout


def test_a_run_refused_for_its_data_leaves_out_as_it_found_it(tmp_path):
    out = tmp_path / "run"
    refused = run_cli(*SEARCH, "--evaluations", "3", "--data", str(tmp_path / "missing.npz"), "--out", str(out))
    assert refused.returncode == 2 and refused.stderr.startswith("error: ")
    assert not out.exists()
    corrected = run_cli(*SEARCH, "--evaluations", "3", "--out", str(out))
    assert corrected.returncode == 0, corrected.stderr
    assert json.loads((out / "request.json").read_text())["evaluations"] == 3


def test_submit_names_and_tags_the_job_and_follows_its_stages(tmp_path):
    with LocalServer(tmp_path / "jobs.db", tmp_path / "server.log", env={"OMP_NUM_THREADS": "1"},
                     startup_timeout=300) as server:
        submitted = run_cli("submit", "--server", server.url, "--teacher", "resnet8", "--space", "resnet_cifar_wide",
                            "--num-classes", "10", "--evaluations", "6", "--set", "batch_size=8", "--set",
                            "confirm_top=3", "--set", "confirm_inits=2", "--name", "from the CLI", "--tag", "cli",
                            "--tag", "r8", "--note", "a note", "--wait")
        assert submitted.returncode == 0, submitted.stderr
        job_id = submitted.stdout.split()[2]
        with Client(server.url) as client:
            job = client.get(job_id)
    assert (job["name"], job["tags"], job["note"]) == ("from the CLI", ["cli", "r8"], "a note")
    stages = [line.split()[0] for line in submitted.stderr.splitlines() if line.strip()]
    assert "confirm" in stages and stages[-1] == "confirm"
    assert submitted.stderr.splitlines()[-1].startswith("confirm 3/3 finalist")
