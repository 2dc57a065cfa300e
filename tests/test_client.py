"""The client's own errors, without a diswot server: nothing listening, a server that never answers, arguments
that cannot travel in a request. Each is a DiswotError with one line, and `diswot submit` prints that line."""

import asyncio
import socket
import subprocess
import sys

import pytest

pytest.importorskip("httpx")

from diswot.client import AsyncClient, Client, ServiceTimeout, ServiceUnreachable  # noqa: E402
from diswot.errors import DiswotError  # noqa: E402


@pytest.fixture
def closed_port():
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def silent_server():
    """A loopback port that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen(8)
        yield f"http://127.0.0.1:{listening.getsockname()[1]}"


def one_line(error: Exception) -> str:
    message = str(error)
    assert "\n" not in message and message
    return message


def test_nothing_listening_is_service_unreachable(closed_port):
    url = f"http://127.0.0.1:{closed_port}"
    with Client(url) as client, pytest.raises(ServiceUnreachable) as error:
        client.list()
    assert one_line(error.value).startswith(f"cannot reach the diswot server at {url}")

    async def listing():
        async with AsyncClient(url) as client:
            await client.list()

    with pytest.raises(ServiceUnreachable, match="cannot reach the diswot server"):
        asyncio.run(listing())


def test_no_answer_within_the_timeout_is_service_timeout(silent_server):
    with Client(silent_server, timeout=0.3) as client, pytest.raises(ServiceTimeout) as error:
        client.submit(teacher="resnet8", space="nb201")
    assert one_line(error.value) == (
        f"the diswot server at {silent_server} did not answer POST /v1/searches within 0.3 s"
    )


@pytest.mark.parametrize("job_id", ["", ".", "..", None])
def test_what_cannot_be_a_job_id_is_refused_before_any_request(closed_port, job_id):
    with Client(f"http://127.0.0.1:{closed_port}") as client:
        for call in (client.get, client.result, client.cancel, client.delete, client.distillation_result):
            with pytest.raises(DiswotError, match="is not a job id"):
                call(job_id)
        with pytest.raises(DiswotError, match="is not a catalog"):
            client.catalog(job_id)


@pytest.mark.parametrize("key", ["clé", "key\nX-Other: 1", "tab\there"])
def test_an_api_key_that_cannot_be_a_header_is_refused_at_construction(key):
    for client_type in (Client, AsyncClient):
        with pytest.raises(DiswotError, match="the API key must be printable ASCII"):
            client_type("http://localhost:8000", api_key=key)


@pytest.mark.parametrize("url", ["localhost:8000", "ftp://localhost", "http://[::1"])
def test_a_base_url_that_is_not_a_server_is_refused_at_construction(url):
    with pytest.raises(DiswotError, match="is not a server URL"):
        Client(url)


def test_diswot_submit_to_a_down_server_prints_one_line(closed_port):
    url = f"http://127.0.0.1:{closed_port}"
    completed = subprocess.run(
        [sys.executable, "-m", "diswot", "submit", "--server", url, "--teacher", "resnet8", "--space", "nb201"],
        capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 2 and "Traceback" not in completed.stderr
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: cannot reach the diswot server at {url}: ")
