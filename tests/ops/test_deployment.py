"""What the container and deployment files promise (issue 14 point 6). bin/check-deploy validates
them against their schemas (hadolint, docker-compose config, kubernetes-validate --strict); these
tests pin what a schema cannot: probes on the health endpoints, one beat, budgets, autoscaling on
series the shop really exports."""

import re
from pathlib import Path

import pytest
import yaml
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "deploy" / "kubernetes" / "base"


def resources() -> dict[tuple[str, str], dict]:
    found = {}
    for path in sorted(BASE.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document and "kind" in document and document["kind"] != "Kustomization":
                found[(document["kind"], document["metadata"]["name"])] = document
    return found


def pod_spec(name: str) -> dict:
    return resources()[("Deployment", name)]["spec"]["template"]["spec"]


def test_the_kustomization_lists_every_manifest_of_the_base():
    listed = set(yaml.safe_load((BASE / "kustomization.yaml").read_text())["resources"])
    assert listed == {path.name for path in BASE.glob("*.yaml")} - {"kustomization.yaml"}


def test_web_probes_the_health_endpoints():
    (web,) = pod_spec("commerce-web")["containers"]

    assert web["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert web["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    headers = {h["name"]: h["value"] for h in web["readinessProbe"]["httpGet"]["httpHeaders"]}
    assert headers["Host"] in resources()[("ConfigMap", "commerce-config")]["data"]["ALLOWED_HOSTS"].split(",")


@pytest.mark.django_db
def test_the_probe_request_passes_the_production_host_and_https_checks(settings):
    settings.ALLOWED_HOSTS = ["localhost"]
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

    response = Client().get("/health/live", HTTP_HOST="localhost", HTTP_X_FORWARDED_PROTO="https")

    assert response.status_code == 200


def test_beat_runs_exactly_once_and_nothing_scales_it():
    beat = resources()[("Deployment", "commerce-beat")]

    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"]["type"] == "Recreate"
    targets = {
        hpa["spec"]["scaleTargetRef"]["name"]
        for (kind, _), hpa in resources().items()
        if kind == "HorizontalPodAutoscaler"
    }
    assert targets == {"commerce-web", "commerce-worker"}


def test_every_container_has_requests_limits_and_runs_unprivileged():
    for (kind, name), resource in resources().items():
        if kind not in {"Deployment", "Job"}:
            continue
        spec = resource["spec"]["template"]["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        for container in spec.get("initContainers", []) + spec["containers"]:
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]), (name, container["name"])
            assert {"cpu", "memory"} <= set(container["resources"]["limits"]), (name, container["name"])
            assert container["securityContext"]["allowPrivilegeEscalation"] is False


def test_disruption_budgets_keep_a_web_and_a_worker_pod():
    budgets = {name: r for (kind, name), r in resources().items() if kind == "PodDisruptionBudget"}
    selected = {b["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] for b in budgets.values()}
    assert selected == {"commerce-web", "commerce-worker"}


def test_autoscaling_reads_cpu_request_rate_and_outbox_backlog():
    web = resources()[("HorizontalPodAutoscaler", "commerce-web")]["spec"]["metrics"]
    worker = resources()[("HorizontalPodAutoscaler", "commerce-worker")]["spec"]["metrics"]

    assert {m["type"] for m in web} == {"Resource", "Pods"}
    assert [m["pods"]["metric"]["name"] for m in web if m["type"] == "Pods"] == ["commerce_http_requests_per_second"]
    assert [m["external"]["metric"]["name"] for m in worker] == ["commerce_outbox_backlog"]


@pytest.mark.django_db
def test_the_adapter_rules_read_series_the_shop_exports(monkeypatch):
    """The autoscalers' metrics are built from series /metrics really serves."""
    monkeypatch.setenv("METRICS_TOKEN", "t")
    Client().get("/health/live")
    exposition = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer t").content.decode()
    rules = (ROOT / "deploy" / "kubernetes" / "prometheus-adapter-rules.yaml").read_text()

    series = set(re.findall(r"seriesQuery: '(\w+)\{", rules))
    assert series == {"django_http_requests_total_by_view_transport_method_total", "commerce_outbox_backlog"}
    for name in series:
        assert re.search(rf"^{name}\{{", exposition, re.M), name


def test_compose_runs_every_process_with_health_checks_after_the_migrations():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]

    assert {"web", "worker", "beat", "migrate", "postgres", "redis", "rabbitmq"} <= set(services)
    assert services["rabbitmq"]["profiles"] == ["rabbitmq"]  # an option
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    for name in ("web", "worker", "postgres", "redis", "rabbitmq"):
        assert services[name]["healthcheck"]["test"], name
    assert "/health/ready" in " ".join(services["web"]["healthcheck"]["test"])


def test_the_image_is_multi_stage_non_root_locked_and_health_checked():
    dockerfile = (ROOT / "Dockerfile").read_text()

    assert len(re.findall(r"^FROM ", dockerfile, re.M)) >= 2
    assert re.search(r"^USER \d+", dockerfile, re.M)
    assert "-c requirements.lock" in dockerfile
    assert "collectstatic" in dockerfile
    assert re.search(r"^HEALTHCHECK .*", dockerfile, re.M) and "/health/live" in dockerfile


def test_the_image_ships_the_shop_s_bytecode():
    """The image runs with PYTHONDONTWRITEBYTECODE: without its bytecode compiled at build time, every worker
    compiles the shop from source when it starts, which costs its heap ~0.4 MB (``bench/http``)."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    runtime = dockerfile[dockerfile.rindex("\nFROM ") :]
    assert re.search(r"python -m compileall -q commerce contexts\b", runtime)
    assert runtime.index("compileall") > runtime.index("COPY --chown=shop:shop contexts")
