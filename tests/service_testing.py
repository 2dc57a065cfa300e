"""What the service tests share: the header a script's calls carry, the Python client over an in-process app,
and waiting, through a TestClient, for a job to reach a state."""

import time

from api.cross_site import SCRIPT_HEADER
from api.db import FINISHED_STATUSES
from diswot.client import Client

# What the Python client and the dashboard send with every call: the server refuses a POST or DELETE with neither
# it nor a JSON body, as a cross-site form's (api.cross_site). A TestClient made with these headers calls as they do.
SCRIPT_HEADERS = {SCRIPT_HEADER: "diswot-tests"}


def is_finished(job: dict) -> bool:
    return job["status"] in FINISHED_STATUSES


def wait_for(client, job_id, until=is_finished, timeout=120.0, jobs="searches"):
    """The job (of /v1/`jobs`) once `until` holds for it; fails the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/v1/{jobs}/{job_id}").json()
        if until(job):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not get there in {timeout} s: {job}")


def python_client(test_client) -> Client:
    """The Python client's calls over a TestClient (an httpx.Client on the in-process app, made with
    SCRIPT_HEADERS as the client's own constructor makes its httpx.Client)."""
    client = Client.__new__(Client)
    client.http, client.timeout = test_client, 60.0
    return client
