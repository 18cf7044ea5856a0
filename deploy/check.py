"""What bin/check-deploy checks beyond the tools' own schemas, offline.

    python deploy/check.py kubernetes RENDERED.yaml [--kubernetes-version 1.37.0]
    python deploy/check.py compose CONFIG.json      (``docker-compose config --format json`` of the lifted files)
    python deploy/check.py gateway TEMPLATE COMPOSE_CONF   (deploy/gateway/: bin/shop's and compose's gateway)

Kubernetes: every resource is validated strictly against a schema, and a kind with none is an error
(kubernetes-validate only warns, and passes a misspelt HTTPRoute): the built-in kinds against
kubernetes-validate's, the Gateway API's and KEDA's against the schemas in deploy/kubernetes/schemas/.
Then what no schema sees: a route to a Service that does not exist, a Service, budget or autoscaler
that selects no Deployment, a Deployment scaled by two autoscalers, a weighted share that disagrees
with NOTIFICATIONS_SHARE, a queue-depth trigger that does not sum the depth of exactly the partition
queues the topology declares (EVENTS_PARTITIONS of them), or that scales past one pod per partition.

Compose: the lifted topology's services are all there, each process of the shop's image agrees on
LIFTED, the broker and the partitions, the service runs with its own settings, only the gateway is published, every
long-running service has a health check and waits for what it needs.

Gateway: compose's nginx config (Docker's names, resolved per request) routes and answers as the
template bin/shop renders: every location and error_page of the template is there, and the gateway's own
answers (the named locations) are the same, byte for byte.

Prints one line per problem and exits 1 if there is any.
"""

import argparse
import json
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import jsonschema
import yaml

SCHEMAS = Path(__file__).resolve().parent / "kubernetes" / "schemas"
NOTIFICATIONS_PATH = "/api/v1/me/notifications"
SERVICE_SETTINGS = "services.notifications.settings"


# --- Kubernetes ------------------------------------------------------------------------------------


def load_documents(text: str) -> list[dict]:
    return [document for document in yaml.safe_load_all(text) if document]


def _schema_for(resource: dict) -> dict | None:
    group_version = resource.get("apiVersion", "").replace("/", "_")
    path = SCHEMAS / f"{group_version}_{resource.get('kind')}.json"
    return json.loads(path.read_text()) if path.exists() else None


def schema_problems(resources: Iterable[dict], kubernetes_version: str) -> Iterator[str]:
    for resource in resources:
        label = f"{resource.get('kind')}/{resource.get('metadata', {}).get('name')}"
        schema = _schema_for(resource)
        if schema is not None:
            validator = jsonschema.Draft202012Validator(schema)
            for error in sorted(validator.iter_errors(resource), key=lambda e: list(e.absolute_path)):
                where = ".".join(str(part) for part in error.absolute_path) or "(top)"
                yield f"{label}: {where}: {error.message}"
            continue
        import kubernetes_validate  # the ci extra's; the tests of the other checks run without it

        try:
            kubernetes_validate.validate(resource, kubernetes_version, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            yield f"{label}: no schema for {resource.get('apiVersion')} {resource.get('kind')} (add one to {SCHEMAS.name}/)"
        except kubernetes_validate.ValidationError as error:
            yield f"{label}: {error.message}"


def _selects(selector: dict, labels: dict) -> bool:
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


def reference_problems(resources: list[dict]) -> Iterator[str]:
    by_kind: dict[str, dict[str, dict]] = {}
    for resource in resources:
        by_kind.setdefault(resource["kind"], {})[resource["metadata"]["name"]] = resource
    deployments = by_kind.get("Deployment", {})
    pod_labels = {name: d["spec"]["template"]["metadata"].get("labels", {}) for name, d in deployments.items()}
    services = by_kind.get("Service", {})
    gateways = by_kind.get("Gateway", {})

    for name, service in services.items():
        if not any(_selects(service["spec"].get("selector", {}), labels) for labels in pod_labels.values()):
            yield f"Service/{name}: its selector matches no Deployment's pods"
    for name, budget in by_kind.get("PodDisruptionBudget", {}).items():
        selector = budget["spec"].get("selector", {}).get("matchLabels", {})
        if not any(_selects(selector, labels) for labels in pod_labels.values()):
            yield f"PodDisruptionBudget/{name}: its selector matches no Deployment's pods"

    scaled_by: dict[str, list[str]] = {}
    for name, hpa in by_kind.get("HorizontalPodAutoscaler", {}).items():
        scaled_by.setdefault(hpa["spec"]["scaleTargetRef"]["name"], []).append(f"HorizontalPodAutoscaler/{name}")
    for name, scaled in by_kind.get("ScaledObject", {}).items():
        scaled_by.setdefault(scaled["spec"]["scaleTargetRef"]["name"], []).append(f"ScaledObject/{name}")
        for trigger in scaled["spec"]["triggers"]:
            reference = trigger.get("authenticationRef", {}).get("name")
            if reference and reference not in by_kind.get("TriggerAuthentication", {}):
                yield f"ScaledObject/{name}: authenticationRef {reference} is not in the manifests"
    for target, scalers in scaled_by.items():
        if target not in deployments:
            yield f"{', '.join(scalers)}: scales Deployment {target}, which is not in the manifests"
        elif len(scalers) > 1:
            yield f"Deployment/{target}: scaled by {' and '.join(scalers)} at once (they would fight)"

    for name, route in by_kind.get("HTTPRoute", {}).items():
        for parent in route["spec"].get("parentRefs", []):
            gateway = gateways.get(parent["name"])
            if gateway is None:
                yield f"HTTPRoute/{name}: parent Gateway {parent['name']} is not in the manifests"
            elif "sectionName" in parent and parent["sectionName"] not in {
                listener["name"] for listener in gateway["spec"]["listeners"]
            }:
                yield f"HTTPRoute/{name}: Gateway {parent['name']} has no listener {parent['sectionName']}"
        for rule in route["spec"]["rules"]:
            for backend in rule.get("backendRefs", []):
                if backend.get("kind", "Service") != "Service":
                    continue
                service = services.get(backend["name"])
                if service is None:
                    yield f"HTTPRoute/{name}: backend Service {backend['name']} is not in the manifests"
                elif backend.get("port") not in {port["port"] for port in service["spec"]["ports"]}:
                    yield f"HTTPRoute/{name}: Service {backend['name']} has no port {backend.get('port')}"

    config_maps = by_kind.get("ConfigMap", {})
    for deployment_name, deployment in deployments.items():
        spec = deployment["spec"]["template"]["spec"]
        for container in spec.get("initContainers", []) + spec["containers"]:
            for source in container.get("envFrom", []):
                reference = source.get("configMapRef", {}).get("name")
                if reference and reference not in config_maps:
                    yield f"Deployment/{deployment_name}: ConfigMap {reference} is not in the manifests"

    yield from _share_problems(by_kind)


def _notifications_rule_weights(routes: dict[str, dict]) -> dict[str, int] | None:
    for route in routes.values():
        for rule in route["spec"]["rules"]:
            paths = {match.get("path", {}).get("value") for match in rule.get("matches", [])}
            if NOTIFICATIONS_PATH in paths:
                return {backend["name"]: backend.get("weight", 1) for backend in rule.get("backendRefs", [])}
    return None


def _share_problems(by_kind: dict[str, dict[str, dict]]) -> Iterator[str]:
    """The route's weights are the Kubernetes form of NOTIFICATIONS_SHARE: if they disagree, the monolith
    stops recording (share 100) while the route still sends it customers, whose history it then lacks."""
    config = by_kind.get("ConfigMap", {}).get("commerce-config", {}).get("data", {})
    lifted = {name.strip() for name in config.get("LIFTED", "").split(",") if name.strip()}
    weights = _notifications_rule_weights(by_kind.get("HTTPRoute", {}))
    backends = {
        backend["name"]
        for route in by_kind.get("HTTPRoute", {}).values()
        for rule in route["spec"]["rules"]
        for backend in rule.get("backendRefs", [])
    }
    if "notifications" not in lifted:
        if "commerce-notifications" in backends:
            yield "HTTPRoute: routes to commerce-notifications while LIFTED does not name notifications"
        return
    share = int(config.get("NOTIFICATIONS_SHARE", "100"))
    if weights is None:
        yield f"HTTPRoute: LIFTED names notifications but no rule matches {NOTIFICATIONS_PATH}"
        return
    expected = {"commerce-notifications": share, "commerce-web": 100 - share}
    if {name: weight for name, weight in weights.items() if weight} != {n: w for n, w in expected.items() if w}:
        yield (
            f"HTTPRoute: {NOTIFICATIONS_PATH} weighs {weights}, but NOTIFICATIONS_SHARE={share} means "
            f"commerce-notifications {share} and commerce-web {100 - share}"
        )
    for name in ("commerce-notifications", "commerce-notifications-consumer"):
        if name not in by_kind.get("Deployment", {}):
            yield f"Deployment/{name}: LIFTED names notifications but the Deployment is missing"
    yield from _queue_trigger_problems(by_kind, config)


def _queue_trigger_problems(by_kind: dict[str, dict[str, dict]], config: dict[str, str]) -> Iterator[str]:
    """The consumer's autoscaler reads the depth of every partition queue of notifications, summed (one
    regex trigger; several triggers would scale on the deepest queue only: an HPA takes the largest of
    its metrics), and never asks for more pods than partitions (a pod more holds none)."""
    prefix = config.get("EVENTS_TOPOLOGY_PREFIX", "commerce")
    partitions = int(config.get("EVENTS_PARTITIONS", "4"))
    queues = {f"{prefix}.notifications.{p}" for p in range(partitions)}
    declared = f"{prefix}.notifications.0..{partitions - 1}"
    others = {f"{prefix}.notifications.dead", f"{prefix}.notifications.wait"}  # not a backlog of partitions
    for name, scaled in by_kind.get("ScaledObject", {}).items():
        triggers = [t for t in scaled["spec"]["triggers"] if t["type"] == "rabbitmq"]
        if not triggers:
            continue
        if scaled["spec"].get("maxReplicaCount", 100) > partitions:
            yield (
                f"ScaledObject/{name}: maxReplicaCount {scaled['spec'].get('maxReplicaCount', 100)} is more pods "
                f"than EVENTS_PARTITIONS={partitions} partitions to hold"
            )
        for trigger in triggers:
            metadata = trigger["metadata"]
            pattern = metadata.get("queueName", "")
            if metadata.get("useRegex") != "true":
                yield (
                    f"ScaledObject/{name}: reads queue {pattern}, the topology declares {declared}: "
                    "a regex over all of them (useRegex), summed"
                )
            else:
                try:
                    matches = {queue for queue in queues | others if re.search(pattern, queue)}
                except re.error as error:
                    matches = set()
                    yield f"ScaledObject/{name}: queueName {pattern!r} is not a regex ({error})"
                if matches != queues:
                    yield (
                        f"ScaledObject/{name}: reads queues {sorted(matches)} ({pattern}), the topology "
                        f"declares {declared}"
                    )
                if metadata.get("operation", "sum") != "sum" or metadata.get("protocol") != "http":
                    yield f"ScaledObject/{name}: a regex trigger sums the queues (operation sum) over protocol http"
            if metadata.get("mode") not in {"QueueLength", "MessageRate"} or not metadata.get("value", "").isdigit():
                yield f"ScaledObject/{name}: a rabbitmq trigger needs mode QueueLength or MessageRate and a number"


def check_kubernetes(text: str, kubernetes_version: str) -> list[str]:
    resources = load_documents(text)
    problems = list(schema_problems(resources, kubernetes_version))
    if not problems:  # the references assume well-formed resources
        problems += list(reference_problems(resources))
    return problems


# --- Compose ---------------------------------------------------------------------------------------

LIFTED_SERVICES = ("rabbitmq", "topology", "relay", "notifications", "notifications-consumer", "gateway")
BEHIND_THE_GATEWAY = ("web", "notifications")


def check_compose(config: dict) -> list[str]:
    services = config.get("services", {})
    problems = [f"compose: no service {name}" for name in LIFTED_SERVICES if name not in services]
    if problems:
        return problems
    shop = {name: s for name, s in services.items() if s.get("image") == services["web"].get("image")}
    brokers = {name: s.get("environment", {}).get("EVENTS_BROKER_URL") for name, s in shop.items()}
    for name, service in shop.items():
        environment = service.get("environment", {})
        if environment.get("LIFTED") != "notifications":
            problems.append(f"compose: {name} runs without LIFTED=notifications")
        if not brokers[name] or brokers[name] != brokers["relay"]:
            problems.append(f"compose: {name}'s EVENTS_BROKER_URL differs from the relay's ({brokers[name]!r})")
        partitions = environment.get("EVENTS_PARTITIONS")
        if partitions != shop["relay"].get("environment", {}).get("EVENTS_PARTITIONS"):
            problems.append(f"compose: {name}'s EVENTS_PARTITIONS differs from the relay's ({partitions!r})")
    for name in ("notifications", "notifications-consumer"):
        environment = services[name].get("environment", {})
        if (
            environment.get("DJANGO_SETTINGS_MODULE") != SERVICE_SETTINGS
            or environment.get("SERVED_BY") != "notifications"
        ):
            problems.append(f"compose: {name} must run with {SERVICE_SETTINGS} and SERVED_BY=notifications")
        if "JWT_PRIVATE_KEY" in environment:
            problems.append(f"compose: {name} holds identity's signing key; it verifies with the public keys")
    for name in BEHIND_THE_GATEWAY:
        # Every request reaches them from the gateway's address: with 0 proxies trusted one client's
        # throttles count for all; with more, a client forges X-Forwarded-For to dodge them.
        trusted = str(services[name].get("environment", {}).get("THROTTLE_NUM_PROXIES", "0"))
        if trusted != "1":
            problems.append(
                f"compose: {name} trusts {trusted} proxies (THROTTLE_NUM_PROXIES); behind the gateway exactly 1"
            )
    published = sorted(name for name, service in services.items() if service.get("ports"))
    if published != ["gateway"]:
        problems.append(f"compose: only the gateway is published (clients keep one address), not {published}")
    if services["rabbitmq"].get("profiles"):
        problems.append("compose: rabbitmq is behind a profile in the lifted topology")
    for name, service in services.items():
        one_shot = service.get("restart") == "no"
        checked = service.get("healthcheck", {}).get("test") and not service.get("healthcheck", {}).get("disable")
        if not one_shot and name != "beat" and not checked:
            problems.append(f"compose: {name} has no health check")
        for dependency, condition in service.get("depends_on", {}).items():
            if dependency not in services:
                problems.append(f"compose: {name} depends on {dependency}, which is not a service")
                continue
            target = services[dependency]
            wanted = (
                "service_completed_successfully"
                if target.get("restart") == "no"
                else "service_healthy"
                if target.get("healthcheck", {}).get("test") and not target.get("healthcheck", {}).get("disable")
                else "service_started"
            )
            if condition.get("condition") != wanted:
                problems.append(
                    f"compose: {name} waits for {dependency} to be {condition.get('condition')}, not {wanted}"
                )
    needs = {
        "relay": {"rabbitmq", "topology", "migrate"},
        "notifications": {"notifications-migrate"},
        "notifications-consumer": {"rabbitmq", "topology", "notifications-migrate"},
        "gateway": {"web", "notifications"},
    }
    for name, wanted in needs.items():
        missing = wanted - set(services[name].get("depends_on", {}))
        if missing:
            problems.append(f"compose: {name} does not wait for {sorted(missing)}")
    return problems


# --- Gateway ---------------------------------------------------------------------------------------

_DIRECTIVE = re.compile(r"^\s*((?:location|error_page)\b[^{;]*)[{;]", re.MULTILINE)
_NAMED_LOCATION = re.compile(r"^\s*location (@\w+) \{\n(.*?)^\s*\}", re.MULTILINE | re.DOTALL)


def _normalized(text: str) -> str:
    return " ".join(text.split())


def gateway_problems(template: str, compose: str) -> list[str]:
    """What of the template's routing and own answers compose's gateway lacks or answers otherwise: with a
    bare prefix ``/api/v1/me/notificationsX`` reaches the service; without the error pages nginx's own
    502/504/413 are HTML under /api/ and name nobody."""
    ours = {_normalized(match) for match in _DIRECTIVE.findall(compose)}
    problems = [
        f"gateway: nginx.compose.conf lacks `{directive}` (nginx.conf.template has it)"
        for directive in sorted({_normalized(match) for match in _DIRECTIVE.findall(template)})
        if directive not in ours
    ]
    theirs = dict(_NAMED_LOCATION.findall(compose))
    for name, body in _NAMED_LOCATION.findall(template):
        if name in theirs and _normalized(theirs[name]) != _normalized(body):
            problems.append(f"gateway: nginx.compose.conf's location {name} answers otherwise than the template's")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["kubernetes", "compose", "gateway"])
    parser.add_argument("path", type=Path)
    parser.add_argument("compose_conf", type=Path, nargs="?", help="gateway: compose's nginx config")
    parser.add_argument("--kubernetes-version", default="1.37.0")
    arguments = parser.parse_args(argv)
    text = arguments.path.read_text()
    if arguments.what == "gateway":
        problems = gateway_problems(text, arguments.compose_conf.read_text())
    elif arguments.what == "kubernetes":
        problems = check_kubernetes(text, arguments.kubernetes_version)
    else:
        problems = check_compose(json.loads(text))
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
