"""The ray executor on a Ray cluster of two nodes on this machine (`ray start --head`, then `ray start --address`:
two raylets, each starting its own worker processes), driven by `diswot search --ray-address` as a user would:
its actors land on both nodes and the students are those of an in-process search at the same concurrency; with
the second node killed mid-search, the search still completes with the same students. Skipped without the [ray]
extra. (tests/ray_cluster_testing.py starts the cluster and tells which node runs an actor.)"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("ray", reason="the Ray cluster tests need the [ray] extra")

import diswot  # noqa: E402
from ray_cluster_testing import RayCluster  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SEARCH = dict(teacher="resnet8", space="resnet_cifar_wide", num_classes=10, batch_size=32, population=6,
              sample_size=3, evaluations=24, proxies=["diswot"], confirm_top=0, concurrency=2)
CLI_SEARCH = ["--teacher", "resnet8", "--space", "resnet_cifar_wide", "--num-classes", "10", "--batch-size", "32",
              "--population", "6", "--sample-size", "3", "--evaluations", "24", "--proxy", "diswot",
              "--confirm-top", "0", "--concurrency", "2", "--executor", "ray", "--workers", "2"]
# Every process of the cluster and of the search: one torch thread (as the in-process search here), this checkout
# importable; no token authentication (the nodes and the driver share this machine).
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), "RAY_AUTH_MODE": "disabled"}


@pytest.fixture(scope="module")
def cluster():
    cluster = RayCluster([2, 2], ENV)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def in_process_students(one_torch_thread):
    return students(diswot.search(**SEARCH).to_dict())


def students(result: dict) -> list:
    return [(student["arch"], student["score"]) for student in result["students"]]


def search_on(cluster: RayCluster, out: Path, while_running=lambda process: None) -> dict:
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
        while process.poll() is None and seen != {"head", "node1"}:
            seen.update(cluster.nodes_running_actors())
            time.sleep(0.05)

    result = search_on(cluster, tmp_path / "run", watch)
    assert seen == {"head", "node1"}
    assert students(result) == in_process_students


def test_a_search_whose_second_node_dies_completes_with_the_same_students(cluster, in_process_students, tmp_path):
    out = tmp_path / "run"
    killed = []

    def kill_the_second_node_mid_search(process):
        evaluations = out / "evaluations.jsonl"
        while process.poll() is None:
            scored = len(evaluations.read_text().splitlines()) if evaluations.exists() else 0
            if scored >= 6 and "node1" in cluster.nodes_running_actors():
                cluster.kill_node("node1")
                killed.append(scored)
                return
            time.sleep(0.05)

    result = search_on(cluster, out, kill_the_second_node_mid_search)
    assert killed and killed[0] < SEARCH["evaluations"]  # killed while the search still had candidates to score
    assert students(result) == in_process_students
    records = [json.loads(line) for line in (out / "evaluations.jsonl").read_text().splitlines()]
    assert not any(record["failure"] for record in records)  # every candidate scored, none given up
