"""The ray executor on a Ray cluster of two nodes on this machine (`ray start --head`, then `ray start --address`:
two raylets, each starting its own worker processes), driven by `diswot search --ray-address` as a user would:
its actors land on both nodes and the students are those of an in-process search at the same concurrency; with
the second node killed mid-search, the search still completes with the same students. Skipped without the [ray]
extra. (Which node runs an actor is read from the operating system: an actor is a child process of its raylet.)"""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

pytest.importorskip("ray", reason="the Ray cluster tests need the [ray] extra")

import diswot  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RAY = str(Path(sys.executable).with_name("ray"))
SEARCH = dict(teacher="resnet8", space="resnet_cifar_wide", num_classes=10, batch_size=32, population=6,
              sample_size=3, evaluations=24, proxies=["diswot"], confirm_top=0, concurrency=2)
CLI_SEARCH = ["--teacher", "resnet8", "--space", "resnet_cifar_wide", "--num-classes", "10", "--batch-size", "32",
              "--population", "6", "--sample-size", "3", "--evaluations", "24", "--proxy", "diswot",
              "--confirm-top", "0", "--concurrency", "2", "--executor", "ray", "--workers", "2"]
# Every process of the cluster and of the search: one torch thread (as the in-process search here), this
# checkout importable, no token authentication (the nodes and the driver share this machine).
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), "RAY_AUTH_MODE": "disabled"}


def processes() -> list[tuple[int, int, str]]:
    """(pid, parent pid, command line) of every process."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue  # ended meanwhile
            found.append((int(entry.name), parent, command))
    return found


class TwoNodeCluster:
    def __init__(self):
        self.folder = tempfile.mkdtemp(prefix="ray-")  # short: Ray's socket paths must fit in 107 characters
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self.ray_start("--head", f"--port={self.port}", "--include-dashboard=false", f"--temp-dir={self.folder}")
        self.ray_start(f"--address={self.address}", '--resources={"second_node": 1}')

    def ray_start(self, *options: str) -> None:
        started = subprocess.run([RAY, "start", "--num-cpus=2", "--disable-usage-stats", *options], env=ENV,
                                 capture_output=True, text=True, timeout=120)
        assert started.returncode == 0, started.stderr[-2000:]

    def raylets(self) -> dict[str, int]:
        """{'head' or 'second': pid of that node's raylet}."""
        raylets = [(pid, command) for pid, _, command in processes() if self.folder in command and "/raylet " in command]
        return {("second" if "second_node" in command else "head"): pid for pid, command in raylets}

    def nodes_running_actors(self) -> set[str]:
        by_pid = {pid: node for node, pid in self.raylets().items()}
        return {by_pid[parent] for _, parent, command in processes()
                if command.startswith("ray::ScoringActor") and parent in by_pid}

    def kill_second_node(self) -> None:
        raylet = self.raylets()["second"]
        for pid, parent, _ in processes():
            if pid == raylet or parent == raylet:
                os.kill(pid, signal.SIGKILL)

    def stop(self) -> None:
        """Every process this cluster started (they name its folder, or are its raylets' children), by id."""
        raylets = set(self.raylets().values())
        for pid, parent, command in processes():
            if self.folder in command or parent in raylets:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


@pytest.fixture(scope="module")
def cluster():
    cluster = TwoNodeCluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def in_process_students(one_torch_thread):
    return students(diswot.search(**SEARCH).to_dict())


def students(result: dict) -> list:
    return [(student["arch"], student["score"]) for student in result["students"]]


def search_on(cluster: TwoNodeCluster, out: Path, while_running=lambda process: None) -> dict:
    process = subprocess.Popen([sys.executable, "-m", "diswot", "search", *CLI_SEARCH, "--ray-address",
                                cluster.address, "--out", str(out)], env=ENV, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    while_running(process)
    _, errors = process.communicate(timeout=600)
    assert process.returncode == 0, errors[-3000:]
    return json.loads((out / "result.json").read_text())


def test_a_search_on_two_nodes_uses_both_and_finds_the_in_process_students(cluster, in_process_students, tmp_path):
    seen: set[str] = set()

    def watch(process):
        while process.poll() is None and seen != {"head", "second"}:
            seen.update(cluster.nodes_running_actors())
            time.sleep(0.05)

    result = search_on(cluster, tmp_path / "run", watch)
    assert seen == {"head", "second"}
    assert students(result) == in_process_students


def test_a_search_whose_second_node_dies_completes_with_the_same_students(cluster, in_process_students, tmp_path):
    out = tmp_path / "run"
    killed = []

    def kill_the_second_node_mid_search(process):
        evaluations = out / "evaluations.jsonl"
        while process.poll() is None:
            scored = len(evaluations.read_text().splitlines()) if evaluations.exists() else 0
            if scored >= 6 and "second" in cluster.nodes_running_actors():
                cluster.kill_second_node()
                killed.append(scored)
                return
            time.sleep(0.05)

    result = search_on(cluster, out, kill_the_second_node_mid_search)
    assert killed and killed[0] < SEARCH["evaluations"]  # killed while the search still had candidates to score
    assert students(result) == in_process_students
    assert not any(record.get("failure") for record in map(json.loads, (out / "evaluations.jsonl").read_text().splitlines()))
