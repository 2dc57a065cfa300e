"""What the service tests share: waiting, through a TestClient, for a job to reach a state."""

import time

from api.db import FINISHED_STATUSES


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
