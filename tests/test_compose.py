"""The compose files in docker/, checked without a container engine: they parse; every DISWOT_* variable they set
is a setting the service reads; the commands the containers run exist (the image's `diswot serve`, `diswot db
upgrade`, Ray's `ray start` with the options given, Ray installed by the image's extras); the proxy's upstreams
are the API replicas on the port they listen on; every dependency names a service of the file."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from api.settings import Settings

DOCKER = Path(__file__).resolve().parents[1] / "docker"
DOCKERFILE = (DOCKER.parent / "Dockerfile").read_text()


def compose(name: str) -> dict:
    return yaml.safe_load((DOCKER / name).read_text())


def entrypoint_of_image() -> list[str]:
    return json.loads(re.search(r"^ENTRYPOINT (\[.*\])$", DOCKERFILE, re.M).group(1))


@pytest.mark.parametrize("name", ["compose.yaml", "cluster.yaml"])
def test_every_service_sets_only_settings_the_service_reads_and_depends_on_services_of_its_file(name):
    services = compose(name)["services"]
    fields = set(Settings.model_fields)
    for service, spec in services.items():
        for variable in spec.get("environment", {}):
            if variable.startswith("DISWOT_"):
                assert variable.removeprefix("DISWOT_").lower() in fields, f"{name}: {service} sets {variable}"
        assert set(spec.get("depends_on", {})) <= set(services), f"{name}: {service}"


def test_the_cluster_runs_two_replicas_on_postgres_behind_one_port_and_a_ray_cluster():
    services = compose("cluster.yaml")["services"]
    assert set(services) == {"postgres", "migrate", "api-1", "api-2", "proxy", "ray-head", "ray-worker"}
    replicas = [services["api-1"], services["api-2"]]
    for replica in replicas:
        assert "entrypoint" not in replica  # the image's own: diswot serve on 0.0.0.0:8000
        assert replica["environment"]["DISWOT_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert replica["environment"]["DISWOT_EXECUTOR"] == "ray"
        assert replica["environment"]["DISWOT_RAY_ADDRESS"] == "ray-head:6379"
        assert replica["build"]["args"]["EXTRAS"].split(",") == ["service", "postgres", "ray"]
    assert entrypoint_of_image()[:2] == ["diswot", "serve"] and "8000" in entrypoint_of_image()
    upstreams = re.findall(r"server (\S+):(\d+)", (DOCKER / "nginx.conf").read_text())
    assert upstreams == [("api-1", "8000"), ("api-2", "8000")]
    assert services["proxy"]["volumes"] == ["./nginx.conf:/etc/nginx/nginx.conf:ro"]
    assert services["migrate"]["entrypoint"] == ["diswot", "db", "upgrade"]
    assert "--port=6379" in services["ray-head"]["entrypoint"]
    assert "--address=ray-head:6379" in services["ray-worker"]["entrypoint"]


def run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(list(command), capture_output=True, text=True, timeout=120)


def test_the_commands_the_containers_run_exist_with_the_options_they_are_given():
    services = compose("cluster.yaml")["services"]
    assert run(sys.executable, "-m", "diswot", "db", "upgrade", "--help").returncode == 0
    assert run(sys.executable, "-m", "diswot", "serve", "--help").returncode == 0
    pytest.importorskip("ray", reason="ray start's options are checked where the [ray] extra is installed")
    ray = str(Path(sys.executable).with_name("ray"))
    for node in ("ray-head", "ray-worker"):
        program, subcommand, *options = services[node]["entrypoint"]
        assert (program, subcommand) == ("ray", "start")
        known = run(ray, "start", "--help").stdout
        for option in options:
            assert re.search(rf"{re.escape(option.split('=')[0])}\b", known), f"{node}: ray start {option}"
