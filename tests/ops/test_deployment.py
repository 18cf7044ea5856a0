"""What the container and deployment files promise (issue 14 point 6, issue 23 point 5). bin/check-deploy
validates them against their schemas (hadolint, docker-compose config, kubernetes-validate --strict, the
Gateway API's and KEDA's schemas through deploy/check.py); these tests pin what a schema cannot: probes
on the health endpoints, one beat, budgets, autoscaling on series the shop really exports, the lifted
notifications topology, and that deploy/check.py refuses the mistakes it is there for."""

import copy
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "deploy" / "kubernetes" / "base"
LIFTED = ROOT / "deploy" / "kubernetes" / "components" / "lifted-notifications"


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
    assert targets == {"commerce-web", "commerce-cart-checkout", "commerce-worker"}


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
    assert selected == {"commerce-web", "commerce-cart-checkout", "commerce-worker"}


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


# --- Issue 23: notifications lifted out, cart and checkout on their own tier --------------------------


def _load_check():
    spec = importlib.util.spec_from_file_location("deploy_check", ROOT / "deploy" / "check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check = _load_check()


def _documents(directory: Path, names: list[str]) -> list[dict]:
    return [d for name in names for d in yaml.safe_load_all((directory / name).read_text()) if d]


def production_like() -> list[dict]:
    """The base with the lifted-notifications component applied, as kustomize renders it (its two
    patches: the ConfigMap's data merged, the notifications rule put first in the HTTPRoute), without
    needing kubectl in the test run. bin/check-deploy checks kustomize's own rendering."""
    base = _documents(BASE, yaml.safe_load((BASE / "kustomization.yaml").read_text())["resources"])
    component = yaml.safe_load((LIFTED / "kustomization.yaml").read_text())
    resources = base + _documents(LIFTED, component["resources"])
    patches = {patch["path"]: patch for patch in component["patches"]}
    assert set(patches) == {"config.yaml", "httproute-share.yaml"}, "production_like() applies these two only"
    (config_patch,) = _documents(LIFTED, ["config.yaml"])
    (operation,) = yaml.safe_load((LIFTED / "httproute-share.yaml").read_text())
    assert (operation["op"], operation["path"]) == ("add", "/spec/rules/0")
    for resource in resources:
        if resource["kind"] == "ConfigMap" and resource["metadata"]["name"] == "commerce-config":
            resource["data"].update(config_patch["data"])
        if resource["kind"] == "HTTPRoute" and resource["metadata"]["name"] == "commerce":
            resource["spec"]["rules"].insert(0, operation["value"])
    return resources


def find(resources: list[dict], kind: str, name: str) -> dict:
    (found,) = [r for r in resources if r["kind"] == kind and r["metadata"]["name"] == name]
    return found


def test_the_component_lists_every_manifest_of_its_folder():
    component = yaml.safe_load((LIFTED / "kustomization.yaml").read_text())
    listed = set(component["resources"]) | {patch["path"] for patch in component["patches"]}
    assert listed == {path.name for path in LIFTED.glob("*.yaml")} - {"kustomization.yaml"}
    production = yaml.safe_load((ROOT / "deploy/kubernetes/overlays/production/kustomization.yaml").read_text())
    assert production["components"] == ["../../components/lifted-notifications"]


def test_cart_and_checkout_paths_reach_their_own_tier_which_scales_alone():
    from django.urls import resolve

    resources = production_like()
    route = find(resources, "HTTPRoute", "commerce")
    (rule,) = [r for r in route["spec"]["rules"] if r.get("name") == "cart-checkout"]
    paths = [match["path"]["value"] for match in rule["matches"]]

    assert [backend["name"] for backend in rule["backendRefs"]] == ["commerce-cart-checkout"]
    assert {resolve(path).app_name for path in paths} == {"cart", "orders"}  # the shop's own paths
    assert resolve("/api/v1/checkout").url_name == "checkout"
    hpa = find(resources, "HorizontalPodAutoscaler", "commerce-cart-checkout")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "commerce-cart-checkout"
    assert (
        find(resources, "Deployment", "commerce-cart-checkout")["spec"]["template"]["spec"]["containers"][0]["image"]
        == find(resources, "Deployment", "commerce-web")["spec"]["template"]["spec"]["containers"][0]["image"]
    )


def test_the_lifted_processes_run_the_commands_the_code_defines():
    resources = production_like()

    def container(name: str) -> dict:
        return find(resources, "Deployment", name)["spec"]["template"]["spec"]["containers"][0]

    assert container("commerce-relay")["command"] == ["python", "manage.py", "relay_events"]
    assert container("commerce-notifications-consumer")["command"][-2:] == ["consume_events", "notifications"]
    assert container("commerce-notifications")["command"][-1] == "services.notifications.wsgi:application"
    jobs = {r["metadata"]["name"]: r for r in resources if r["kind"] == "Job"}
    topology = jobs["commerce-declare-topology"]["spec"]["template"]["spec"]["containers"][0]
    assert topology["command"] == ["python", "manage.py", "declare_topology"]
    for name in ("commerce-notifications", "commerce-notifications-consumer"):
        environment = {e["name"]: e.get("value") for e in container(name)["env"]}
        assert environment["DJANGO_SETTINGS_MODULE"] == "services.notifications.settings"
        assert environment["SERVED_BY"] == "notifications"
        secrets = {s["secretRef"]["name"] for s in container(name)["envFrom"] if "secretRef" in s}
        assert secrets == {"commerce-notifications-secrets"}  # not the monolith's, which holds the signing key
    web = container("commerce-notifications")
    assert web["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert web["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    # The image carries the code these commands import.
    assert re.search(r"^COPY .* services \./services$", (ROOT / "Dockerfile").read_text(), re.M)


def test_the_consumer_scales_on_its_queue_and_every_lifted_deployment_has_a_budget():
    resources = production_like()
    config = find(resources, "ConfigMap", "commerce-config")["data"]
    scaled = find(resources, "ScaledObject", "commerce-notifications-consumer")
    (trigger,) = scaled["spec"]["triggers"]

    assert config["LIFTED"] == "notifications"
    assert trigger["type"] == "rabbitmq"
    # The depth of every partition queue, summed; never more pods than partitions to hold.
    prefix, partitions = config["EVENTS_TOPOLOGY_PREFIX"], int(config["EVENTS_PARTITIONS"])
    metadata = trigger["metadata"]
    assert (metadata["useRegex"], metadata["operation"], metadata["protocol"]) == ("true", "sum", "http")
    partition_queues = [f"{prefix}.notifications.{p}" for p in range(partitions)]
    assert all(re.search(metadata["queueName"], queue) for queue in partition_queues)
    assert not any(re.search(metadata["queueName"], f"{prefix}.notifications.{x}") for x in ("dead", "wait"))
    assert scaled["spec"]["maxReplicaCount"] == partitions
    budgets = {
        r["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"]
        for r in resources
        if r["kind"] == "PodDisruptionBudget"
    }
    deployments = {r["metadata"]["name"] for r in resources if r["kind"] == "Deployment"}
    assert deployments - budgets == {"commerce-beat"}
    assert list(check.reference_problems(resources)) == []


def _problems(resources: list[dict]) -> list[str]:
    schema = [p for r in resources if check._schema_for(r) for p in check.schema_problems([r], "1.37.0")]
    return schema + list(check.reference_problems(resources))


def _broken(change) -> list[str]:
    resources = copy.deepcopy(production_like())
    change(resources)
    return _problems(resources)


def test_check_refuses_a_route_weight_that_disagrees_with_the_share():
    def half(resources):
        find(resources, "ConfigMap", "commerce-config")["data"]["NOTIFICATIONS_SHARE"] = "50"

    problems = _broken(half)
    assert any("NOTIFICATIONS_SHARE=50" in p for p in problems), problems

    def half_both(resources):
        half(resources)
        rule = find(resources, "HTTPRoute", "commerce")["spec"]["rules"][0]
        for backend in rule["backendRefs"]:
            backend["weight"] = 50

    assert _broken(half_both) == []


def test_check_refuses_dangling_references():
    def route_to_nowhere(resources):
        find(resources, "HTTPRoute", "commerce")["spec"]["rules"][1]["backendRefs"][0]["name"] = "commerce-chekout"

    def scale_twice(resources):
        find(resources, "ScaledObject", "commerce-notifications-consumer")["spec"]["scaleTargetRef"]["name"] = (
            "commerce-web"
        )

    def budget_for_nothing(resources):
        find(resources, "PodDisruptionBudget", "commerce-relay")["spec"]["selector"]["matchLabels"] = {"app": "relay"}

    def wrong_queue(resources):
        find(resources, "ScaledObject", "commerce-notifications-consumer")["spec"]["triggers"][0]["metadata"][
            "queueName"
        ] = "notifications"

    def one_partition_only(resources):
        metadata = find(resources, "ScaledObject", "commerce-notifications-consumer")["spec"]["triggers"][0]["metadata"]
        metadata["queueName"] = "commerce.notifications.0"
        del metadata["useRegex"]

    def more_pods_than_partitions(resources):
        find(resources, "ScaledObject", "commerce-notifications-consumer")["spec"]["maxReplicaCount"] = 10

    assert any("commerce-chekout is not in the manifests" in p for p in _broken(route_to_nowhere))
    assert any("scaled by HorizontalPodAutoscaler/commerce-web and ScaledObject" in p for p in _broken(scale_twice))
    assert any("PodDisruptionBudget/commerce-relay" in p for p in _broken(budget_for_nothing))
    assert any("the topology declares commerce.notifications.0..3" in p for p in _broken(wrong_queue))
    assert any("a regex over all of them" in p for p in _broken(one_partition_only))
    assert any("more pods than EVENTS_PARTITIONS=4" in p for p in _broken(more_pods_than_partitions))


def test_check_validates_gateway_api_and_keda_resources_against_their_schemas():
    def misspelt(resources):
        rule = find(resources, "HTTPRoute", "commerce")["spec"]["rules"][0]
        rule["backendRefs"][0]["wieght"] = rule["backendRefs"][0].pop("weight")

    def bad_path_type(resources):
        find(resources, "HTTPRoute", "commerce")["spec"]["rules"][0]["matches"][0]["path"]["type"] = "Prefix"

    def no_triggers(resources):
        find(resources, "ScaledObject", "commerce-notifications-consumer")["spec"]["triggers"] = []

    assert any("'wieght' was unexpected" in p for p in _broken(misspelt))
    assert any("'Prefix' is not one of" in p for p in _broken(bad_path_type))
    assert any("ScaledObject/commerce-notifications-consumer: spec.triggers" in p for p in _broken(no_triggers))
    unknown = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    if importlib.util.find_spec("kubernetes_validate"):  # the ci extra; bin/check-deploy installs it
        assert list(check.schema_problems([unknown], "1.37.0")) == [
            "Widget/w: no schema for example.com/v1 Widget (add one to schemas/)"
        ]


# Compose: the lifted topology as `docker-compose config` merges it. Without the docker-compose binary
# (the ci extra) the merge is read from the files themselves for the checks that do not need it.

COMPOSE_ENV = {"SECRET_KEY": "x", "JWT_PRIVATE_KEY": "x", "POSTGRES_PASSWORD": "x", "RABBITMQ_PASSWORD": "r"}


def lifted_compose() -> dict:
    binary = shutil.which("docker-compose") or str(Path(sys.executable).parent / "docker-compose")
    if not Path(binary).exists():
        if os.environ.get("REQUIRE_DEPLOY_TOOLS") == "1":  # bin/check-deploy: the check must run there
            pytest.fail("docker-compose (the ci extra) is not installed")
        pytest.skip("docker-compose (the ci extra) is not installed; bin/check-deploy runs this check")
    files = ["-f", "compose.yaml", "-f", "compose.lifted.yaml"]
    run = subprocess.run(
        [binary, *files, "config", "--format", "json"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", **COMPOSE_ENV},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(run.stdout)


def test_the_default_compose_stays_embedded_and_the_override_lifts_notifications():
    default = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    assert not any("LIFTED" in str(service.get("environment", {})) for service in default.values())
    assert {"relay", "notifications", "gateway"}.isdisjoint(default)

    config = lifted_compose()
    assert check.check_compose(config) == []
    services = config["services"]
    assert services["gateway"]["ports"][0]["target"] == 8000 and not services["web"].get("ports")
    assert services["relay"]["command"] == ["python", "manage.py", "relay_events"]
    assert services["topology"]["command"] == ["python", "manage.py", "declare_topology"]
    assert "JWT_PRIVATE_KEY" not in services["notifications"]["environment"]
    # Behind the gateway every request comes from its address: each deployable it proxies to reads the
    # client's from the one proxy's X-Forwarded-For, or one client's throttles count for all.
    for name in ("web", "notifications"):
        assert services[name]["environment"]["THROTTLE_NUM_PROXIES"] == "1", name


def test_compose_check_refuses_a_broken_lifted_topology():
    config = lifted_compose()

    def broken(change) -> list[str]:
        changed = copy.deepcopy(config)
        change(changed["services"])
        return check.check_compose(changed)

    assert any("relay" in p and "LIFTED" in p for p in broken(lambda s: s["relay"]["environment"].pop("LIFTED")))
    assert any(
        "only the gateway is published" in p
        for p in broken(lambda s: s["web"].__setitem__("ports", s["gateway"]["ports"]))
    )
    assert any(
        "notifications-consumer does not wait" in p
        for p in broken(lambda s: s["notifications-consumer"]["depends_on"].pop("topology"))
    )
    assert any(
        "SERVED_BY" in p for p in broken(lambda s: s["notifications"]["environment"].__setitem__("SERVED_BY", "x"))
    )
    assert any("relay has no health check" in p for p in broken(lambda s: s["relay"].pop("healthcheck")))
    for name in ("web", "notifications"):
        assert any(
            f"{name} trusts" in p and "THROTTLE_NUM_PROXIES" in p
            for p in broken(lambda s, name=name: s[name]["environment"].pop("THROTTLE_NUM_PROXIES", None))
        ), name
        assert any(
            f"{name} trusts" in p
            for p in broken(lambda s, name=name: s[name]["environment"].__setitem__("THROTTLE_NUM_PROXIES", "2"))
        ), name


def test_the_compose_gateway_splits_by_share_and_refuses_a_share_out_of_range(tmp_path):
    script = ROOT / "deploy" / "gateway" / "compose-share.sh"
    written = {}
    for share in ("0", "50", "100"):
        out = tmp_path / f"{share}.inc"
        subprocess.run(
            ["sh", str(script)],
            env={"NOTIFICATIONS_SHARE": share, "SHARE_CONF": str(out)},
            check=True,
            capture_output=True,
        )
        written[share] = out.read_text()
    refused = subprocess.run(
        ["sh", str(script)], env={"NOTIFICATIONS_SHARE": "101", "SHARE_CONF": str(tmp_path / "x")}, capture_output=True
    )

    assert "* web:8000;" in written["0"] and "notifications:8000" not in written["0"]
    assert "50% notifications:8000; * web:8000;" in written["50"]
    assert "* notifications:8000;" in written["100"] and "web:8000" not in written["100"]
    assert refused.returncode != 0
    # /metrics: remote clients' credentials passed to the monolith only when it checks a METRICS_TOKEN.
    assert 'map "$gateway_loopback_client:" $gateway_metrics_refused' in written["50"]
    with_token = tmp_path / "token.inc"
    subprocess.run(
        ["sh", str(script)],
        env={"NOTIFICATIONS_SHARE": "50", "SHARE_CONF": str(with_token), "METRICS_TOKEN_SET": "1"},
        check=True,
        capture_output=True,
    )
    assert 'map "$gateway_loopback_client:$http_authorization"' in with_token.read_text()
    conf = (ROOT / "deploy" / "gateway" / "nginx.compose.conf").read_text()
    assert "location ~ ^/api/v1/me/notifications(/|$)" in conf and "$notifications_backend" in conf


GATEWAY = ROOT / "deploy" / "gateway"


def test_the_compose_gateway_routes_and_answers_as_the_template_bin_shop_renders():
    """Two configs of one gateway: check-deploy fails when the compose one drifts from the template."""
    template = (GATEWAY / "nginx.conf.template").read_text()
    compose = (GATEWAY / "nginx.compose.conf").read_text()
    assert check.gateway_problems(template, compose) == []

    bare_prefix = compose.replace("location ~ ^/api/v1/me/notifications(/|$)", "location /api/v1/me/notifications")
    assert any("/api/v1/me/notifications" in p for p in check.gateway_problems(template, bare_prefix))
    no_error_pages = re.sub(r"\n\s*error_page [^;]*;", "", compose)
    assert any("error_page 502 504 @unavailable" in p for p in check.gateway_problems(template, no_error_pages))
    other_answer = compose.replace('"bad_gateway"', '"oops"')
    assert any("@unavailable" in p for p in check.gateway_problems(template, other_answer))


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def answering_backends():
    """Two HTTP servers standing in for the monolith's and the service's gunicorn: each answers with
    the X-Served-By its deployable sends, which is all the gateway's routing is judged by here (the
    real processes behind the real generated gateway are tests/ of the service's own)."""
    import http.server
    import threading

    servers = {}
    for name in ("monolith", "notifications"):

        class Answer(http.server.BaseHTTPRequestHandler):
            served_by = name

            def do_GET(self):
                self.send_response(200)
                self.send_header("X-Served-By", self.served_by)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers[name] = server
    yield {name: f"127.0.0.1:{server.server_address[1]}" for name, server in servers.items()}
    for server in servers.values():
        server.shutdown()
        server.server_close()


def test_the_compose_gateway_routes_the_share_to_the_service_and_the_rest_to_the_monolith(tmp_path, answering_backends):
    import urllib.error
    import urllib.request

    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        if os.environ.get("REQUIRE_DEPLOY_TOOLS") == "1":
            pytest.fail("nginx is not installed")
        pytest.skip("nginx (Debian's package) is not installed; bin/check-deploy installs it and runs this test")
    monolith, service = answering_backends["monolith"], answering_backends["notifications"]
    port = _free_port()

    def served_by(share: str, path: str, times: int, service: str = service) -> list[str]:
        include = tmp_path / "share.conf.inc"
        subprocess.run(
            ["sh", str(ROOT / "deploy/gateway/compose-share.sh")],
            env={"NOTIFICATIONS_SHARE": share, "SHARE_CONF": str(include)},
            check=True,
            capture_output=True,
        )
        # Docker's service names become the stand-ins' addresses; nothing else of the config changes.
        include.write_text(include.read_text().replace("web:8000", monolith).replace("notifications:8000", service))
        conf = (ROOT / "deploy/gateway/nginx.compose.conf").read_text()
        conf = conf.replace("/etc/nginx/conf.d/share.conf.inc", str(include)).replace("web:8000", monolith)
        conf = conf.replace("listen 8000;", f"listen 127.0.0.1:{port};")
        (tmp_path / "gateway.conf").write_text(conf)
        (tmp_path / "nginx.conf").write_text(
            f"error_log {tmp_path}/error.log;\npid {tmp_path}/nginx.pid;\nevents {{}}\n"
            f"http {{\n access_log off;\n include {tmp_path}/gateway.conf;\n}}\n"
        )
        subprocess.run(
            [nginx, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")], check=True, capture_output=True
        )
        try:
            answers = []
            for _ in range(times):
                for _attempt in range(50):  # nginx binds as it daemonizes
                    try:
                        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
                            answers.append(response.headers["X-Served-By"])
                        break
                    except urllib.error.HTTPError as error:  # what the gateway answered itself
                        code = json.loads(error.read())["code"]
                        answers.append(f"{error.code} {code} {error.headers['X-Served-By']}")
                        break
                    except OSError:
                        time.sleep(0.05)
                else:
                    raise AssertionError((tmp_path / "error.log").read_text())
            return answers
        finally:
            subprocess.run(
                [nginx, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-s", "quit"],
                check=True,
                capture_output=True,
            )
            for _ in range(100):
                if not (tmp_path / "nginx.pid").exists():
                    break
                time.sleep(0.05)

    assert set(served_by("0", "/api/v1/me/notifications", 20)) == {"monolith"}
    assert set(served_by("100", "/api/v1/me/notifications", 20)) == {"notifications"}
    half = served_by("50", "/api/v1/me/notifications", 200)
    assert 60 <= half.count("notifications") <= 140, half.count("notifications")  # 50 % ± 7 standard deviations
    assert set(served_by("100", "/api/v1/products", 5)) == {"monolith"}
    # Only the notifications path itself and what is under it: a path that merely begins alike is the monolith's.
    assert set(served_by("100", "/api/v1/me/notificationsX", 5)) == {"monolith"}
    assert set(served_by("100", "/api/v1/me/notifications/1/read", 5)) == {"notifications"}
    # The service not answering: nginx's own 502 in the API's shape, naming the gateway (not HTML).
    assert served_by("100", "/api/v1/me/notifications", 2, service="127.0.0.1:9") == ["502 bad_gateway gateway"] * 2


def test_the_image_ships_the_shop_s_bytecode():
    """The image runs with PYTHONDONTWRITEBYTECODE: without its bytecode compiled at build time, every worker
    compiles the shop from source when it starts, which costs its heap ~0.4 MB (``bench/http``)."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    runtime = dockerfile[dockerfile.rindex("\nFROM ") :]
    assert re.search(r"python -m compileall -q commerce contexts\b", runtime)
    assert runtime.index("compileall") > runtime.index("COPY --chown=shop:shop contexts")
