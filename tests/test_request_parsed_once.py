"""A search request is parsed once, at its edge (issue 22): a CLI search, an API submission and its job, and a
batch file's entries each call `SearchRequest.parse` once per request; nothing below (runner, run folder, the
service's worker, the executors) parses or checks it again."""

import json
import subprocess
import sys
import textwrap

import pytest

from diswot.student_search import SearchRequest

SMALL = dict(teacher="resnet8", space="resnet_cifar_wide", num_classes=10, batch_size=8, population=8, sample_size=3,
             proxies=["diswot"], confirm_top=0, strategy="random", evaluations=3)


def parse_count_of(code: str) -> dict:
    """Run `code` in a fresh interpreter with `SearchRequest.parse` counted; `code` sets `answer`."""
    counted = textwrap.dedent("""
        import json
        from diswot.student_search import request as request_module
        parses = []
        original = request_module.SearchRequest.parse.__func__
        def counting(cls, *args, **kwargs):
            parses.append(1)
            return original(cls, *args, **kwargs)
        request_module.SearchRequest.parse = classmethod(counting)
    """) + textwrap.dedent(code) + "\nprint(json.dumps({'parses': len(parses), 'answer': answer}))"
    completed = subprocess.run([sys.executable, "-c", counted], capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_a_cli_search_parses_its_request_once(tmp_path):
    out = tmp_path / "run"
    args = ["search", "--teacher", "resnet8", "--space", "resnet_cifar_wide", "--num-classes", "10", "--batch-size",
            "8", "--strategy", "random", "--evaluations", "3", "--proxy", "diswot", "--confirm-top", "0", "--out",
            str(out)]
    counted = parse_count_of(f"""
        import sys
        from diswot.cli import main
        sys.argv = ["diswot", *{args!r}]
        try:
            main()
        except SystemExit as stop:
            assert not stop.code, stop.code
        answer = len(json.load(open({str(out / "result.json")!r}))["history"])
    """)
    assert counted == {"parses": 1, "answer": 3}


def test_a_batch_file_parses_each_search_once(tmp_path):
    batch = tmp_path / "batch.yaml"
    batch.write_text("defaults: {strategy: random, evaluations: 2, num_classes: 10, batch_size: 8, proxies: [diswot],"
                     " confirm_top: 0}\nmatrix:\n  teacher: [resnet8]\n  space: [resnet_cifar]\n"
                     "  budget: [{max_params: 0.3M}, {max_params: 1M}]\n")
    counted = parse_count_of(f"""
        import sys
        from diswot.cli import main
        sys.argv = ["diswot", "batch", {str(batch)!r}, "--out", {str(tmp_path / "out")!r}]
        try:
            main()
        except SystemExit as stop:
            assert not stop.code, stop.code
        answer = len(open({str(tmp_path / "out" / "summary.csv")!r}).read().strip().splitlines()) - 1
    """)
    assert counted == {"parses": 2, "answer": 2}


def test_an_api_search_is_parsed_once_at_submission_and_its_job_runs_that_request(tmp_path):
    pytest.importorskip("fastapi")
    counted = parse_count_of(f"""
        import time
        from fastapi.testclient import TestClient
        from api.app import create_app
        from api.settings import Settings
        settings = Settings(database_url="sqlite:///{tmp_path / 'jobs.db'}")
        with TestClient(create_app(settings)) as client:
            job = client.post("/v1/searches", json={SMALL!r}).json()
            for _ in range(1200):
                status = client.get("/v1/searches/" + job["id"]).json()["status"]
                if status not in ("queued", "running"):
                    break
                time.sleep(0.1)
            answer = status
    """)
    assert counted == {"parses": 1, "answer": "succeeded"}


def test_a_parsed_request_is_taken_as_it_is():
    request = SearchRequest.parse(SMALL)
    assert SearchRequest.parse(request.to_dict()) == request  # the flat form round-trips
    import diswot

    with pytest.raises(TypeError, match="not both"):
        diswot.search(request, evaluations=5)


def test_proxies_may_be_one_comma_separated_string_as_before():
    request = SearchRequest.parse({**SMALL, "proxies": "diswot, params"})
    assert request.scoring.proxies == ("diswot", "params")
