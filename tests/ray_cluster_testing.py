"""A Ray cluster of several nodes on this machine, started as an operator would (`ray start --head`, then `ray start
--address` for each further node: one raylet per node, each starting its own worker processes), for the tests and
the scale-out benchmark. Which node runs an actor is read from the operating system: an actor's process is a
child of its node's raylet. Every process it started is ended by id (`stop`), never by name.

    cluster = RayCluster([2, 2], env)     # a head with 2 CPUs and a second node with 2
    cluster.address                        # for --ray-address / ray.init(address=...)
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

RAY = str(Path(sys.executable).with_name("ray"))


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


class RayCluster:
    def __init__(self, cpus_per_node: list[int], env: dict[str, str]):
        """Nodes named 'head', 'node1', 'node2', ...; `env`: every cluster process's environment (its workers'
        too: PYTHONPATH, thread counts)."""
        self.env = {**env, "RAY_AUTH_MODE": "disabled"}  # the nodes and their drivers share this machine
        self.folder = tempfile.mkdtemp(prefix="ray-")  # short: Ray's socket paths must fit in 107 characters
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        try:
            self._ray_start(cpus_per_node[0], "--head", f"--port={self.port}", "--include-dashboard=false",
                            f"--temp-dir={self.folder}")
            for index, cpus in enumerate(cpus_per_node[1:], start=1):
                self._ray_start(cpus, f"--address={self.address}", f'--resources={{"node{index}": 1}}')
        except BaseException:
            self.stop()
            raise

    def _ray_start(self, cpus: int, *options: str) -> None:
        started = subprocess.run([RAY, "start", f"--num-cpus={cpus}", "--disable-usage-stats", *options],
                                 env=self.env, capture_output=True, text=True, timeout=120)
        if started.returncode != 0:
            raise RuntimeError(f"ray start {' '.join(options)} failed:\n{started.stderr[-2000:]}")

    def raylets(self) -> dict[str, int]:
        """{node name: pid of its raylet}."""
        named = {}
        for pid, _, command in processes():
            if self.folder in command and "/raylet " in command:
                marks = [word for word in command.split() if "static_resource_list" in word]
                node = next((f"node{i}" for i in range(1, 64) if f"node{i}," in "".join(marks)), "head")
                named[node] = pid
        return named

    def nodes_running_actors(self, name: str = "ray::ScoringActor") -> set[str]:
        by_pid = {pid: node for node, pid in self.raylets().items()}
        return {by_pid[parent] for _, parent, command in processes() if command.startswith(name) and parent in by_pid}

    def kill_node(self, node: str) -> None:
        """SIGKILL a node's raylet and every process it started, as a machine that goes down."""
        raylet = self.raylets()[node]
        for pid, parent, _ in processes():
            if pid == raylet or parent == raylet:
                _kill(pid)

    def stop(self) -> None:
        """Every process this cluster started (they name its folder, or are its raylets' children), by id."""
        raylets = set(self.raylets().values())
        for pid, parent, command in processes():
            if self.folder in command or parent in raylets:
                _kill(pid)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
