"""Property-based fuzz of the whole OpenAPI document (schemathesis) against the real server, with an API key set:
no request, valid or not, gets a 5xx, and every answer matches what the document promises (status codes, content
types, schemas, Allow headers; requests without the key or with a wrong one are refused).

The server runs with small limits, so whatever valid search or scoring call the fuzzer finds is cheap.
"""

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.specs.openapi.checks import positive_data_acceptance  # noqa: E402

from api.app import create_app  # noqa: E402
from api.settings import Settings  # noqa: E402
from local_server import LocalServer  # noqa: E402

SMALL_LIMITS = dict(
    max_evaluations=4,
    max_batch_size=8,
    max_image_size=16,
    max_num_classes=10,
    max_top_k=3,
    max_list_length=3,
    max_score_archs=2,
    api_key="fuzz-key",
)
# The document of an app with these settings (building it starts nothing), served by the real server below.
# Schemathesis sends the key itself, so that it can also test requests without it and with a wrong one.
schema = schemathesis.openapi.from_dict(
    create_app(Settings(**SMALL_LIMITS)).openapi(),
    config=schemathesis.Config.from_dict({"auth": {"openapi": {"APIKeyHeader": {"api_key": SMALL_LIMITS["api_key"]}}}}),
)


@pytest.fixture(scope="module")
def server_url(fresh_database, tmp_path_factory):
    env = {"OMP_NUM_THREADS": "1", **{f"DISWOT_{name.upper()}": str(value) for name, value in SMALL_LIMITS.items()}}
    with LocalServer(fresh_database(), tmp_path_factory.mktemp("fuzz") / "server.log", env=env) as server:
        yield server.url


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_server_error(case, server_url):
    response = case.call(base_url=server_url, timeout=60)
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code} {response.text}"
    # Names are checked by the library (the schema says "a string"), so a schema-valid request may rightly get 422.
    case.validate_response(response, excluded_checks=[positive_data_acceptance])
