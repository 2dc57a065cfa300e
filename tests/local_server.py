"""A diswot server in a child process on a free loopback port, for the tests and the service benchmark.

    with LocalServer(database_url, tmp_path / "server.log") as server:
        Client(server.url).submit(...)

It runs `diswot serve` exactly as a user would; `kill()` ends it the hard way (SIGKILL, as a crash would) and
`start()` brings it back on the same database. `launch()` starts the process without waiting for it to be ready
(several replicas started at the same moment), `wait_ready()` waits. A test harness, so it lives here and not in
the installed package.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

import httpx


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LocalServer:
    def __init__(
        self,
        database: str | Path,
        log_path: Path,
        env: Optional[dict[str, str]] = None,
        workers: int = 1,
        startup_timeout: float = 120.0,
    ):
        self.database = str(database)  # as `diswot serve --db` takes it: a SQLite file or any SQLAlchemy URL
        self.log_path = Path(log_path)
        # Settings are the ones given here, not DISWOT_* variables of whoever runs the tests or the benchmark.
        inherited = {name: value for name, value in os.environ.items() if not name.startswith("DISWOT_")}
        self.env = {**inherited, **(env or {})}
        self.workers = workers
        self.startup_timeout = startup_timeout
        self.process: Optional[subprocess.Popen] = None
        self.url = ""

    def start(self) -> "LocalServer":
        self.launch()
        self.wait_ready()
        return self

    def launch(self) -> "LocalServer":
        port = free_loopback_port()
        self.url = f"http://127.0.0.1:{port}"
        command = [
            sys.executable,
            "-m",
            "diswot",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--db",
            self.database,
            "--workers",
            str(self.workers),
            "--log-level",
            "warning",
        ]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        return self

    def wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass  # not listening yet
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"the server was not ready within {self.startup_timeout} s:\n{self.log_tail()}")

    def kill(self) -> None:
        """End the server at once, as a crash would: no shutdown, running jobs stay 'running' in the database."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self, timeout: float = 30.0) -> None:
        """Shut down gracefully (SIGTERM): running searches stop between candidates and stay queued."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, lines: int = 40) -> str:
        return (
            "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:]) if self.log_path.exists() else ""
        )

    def __enter__(self) -> "LocalServer":
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()
