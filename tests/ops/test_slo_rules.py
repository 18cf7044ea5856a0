"""The Prometheus rules of deploy/prometheus/ (docs/slo.md, issue 28) read only what the shop exports.

promtool checks and tests the rules themselves (bin/check-rules, a stage of .ci/run); these tests say
what promtool cannot: that every metric a rule names, and every histogram bucket it reads, is in a
real scrape of ``/metrics``. A rule over a metric nobody exports is never true: its alert stays quiet
whatever happens.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.test import Client

from commerce import metrics
from tests.ops.test_metrics import TOKEN, rest_cart

ROOT = Path(__file__).resolve().parents[2]
RULE_FILES = sorted((ROOT / "deploy" / "prometheus").glob("*.rules.yaml"))

KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool"}
KEYWORDS |= {"inf", "nan"}
# What Prometheus records itself for every scrape target, not any /metrics (ProcessDown reads ``up``).
SCRAPE_SERIES = {"up"}


def expressions() -> list[str]:
    found = []
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            found += [rule["expr"] for rule in group["rules"]]
    return found


def recorded() -> set[str]:
    return {
        rule["record"]
        for path in RULE_FILES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "record" in rule
    }


def names_in(expr: str) -> set[str]:
    """The series names a PromQL expression selects: no function, keyword, label or duration."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", text)
    names = set()
    for match in re.finditer(r"(?<![A-Za-z0-9_:.])[A-Za-z_:][A-Za-z0-9_:]*", text):  # not a number's unit
        following = text[match.end() :].lstrip()
        if following.startswith("(") or match.group() in KEYWORDS:
            continue
        names.add(match.group())
    return names


def buckets_in(expr: str) -> set[tuple[str, str]]:
    """(histogram, le) for every bucket a rule reads by its bound."""
    return set(re.findall(r'([A-Za-z_:][A-Za-z0-9_:]*)_bucket\{[^}]*\ble="([^"]+)"', expr))


def exported(text: str) -> tuple[set[str], set[tuple[str, str]]]:
    """The series names of an exposition (its samples, and what each TYPE line stands for), and its
    histograms' (name, le) pairs."""
    suffixes = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum", "_created")}
    names, buckets = set(), set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            names |= {name + suffix for suffix in suffixes.get(kind, ("",))}
        elif line and not line.startswith("#"):
            name = re.match(r"[A-Za-z_:][A-Za-z0-9_:]*", line).group()
            names.add(name)
            le = re.search(r'\ble="([^"]+)"', line)
            if name.endswith("_bucket") and le:
                buckets.add((name.removesuffix("_bucket"), le.group(1)))
    return names, buckets


def test_the_name_reader_finds_series_and_skips_functions_keywords_labels_and_durations():
    expr = (
        'sum(rate(a_total{view=~"x:.+",le="0.5"}[5m])) / on (pod) group_left max by (database) (b_seconds) '
        '> 3 and c:d:ratio_rate1h{slo="e"} or vector(0.9) unless histogram_quantile(0.9, f_bucket[1d] offset 1h)'
    )
    assert names_in(expr) == {"a_total", "b_seconds", "c:d:ratio_rate1h", "f_bucket"}
    assert buckets_in('x - sum(rate(h_bucket{view="v",le="2.0"}[5m]))') == {("h", "2.0")}


@pytest.mark.django_db
def test_every_metric_and_bucket_the_rules_read_is_in_a_real_scrape(monkeypatch, api_client):
    """Scrape /metrics after the traffic the objectives measure, and compare with what the rules name."""
    from django.utils import timezone

    from tests.support.checkout import build_shop, checkout_body, post_checkout

    monkeypatch.setenv("METRICS_TOKEN", TOKEN)
    build_shop()
    assert api_client.get("/api/v1/products").status_code == 200
    placed = post_checkout(api_client, checkout_body(rest_cart(api_client, "TEE-M", 1)))
    assert placed.status_code == 201, placed.json()
    # The histograms of events and mails fill where they are delivered and sent (the worker, the relay,
    # the service's consumer): observed here once each so the scrape shows their buckets.
    for path in sorted(metrics.EVENT_PATHS):
        metrics.events_reached(path, [timezone.now()])
    metrics.notification_sent("order_confirmation", timezone.now())
    response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    names, buckets = exported(response.content.decode())

    assert RULE_FILES, "no rule file in deploy/prometheus"
    named = set().union(*(names_in(expr) for expr in expressions()))
    unknown = sorted(name for name in named - recorded() - SCRAPE_SERIES if name not in names)
    assert not unknown, f"rules name metrics /metrics does not export: {unknown}"
    read = set().union(*(buckets_in(expr) for expr in expressions()))
    missing = sorted(pair for pair in read if pair not in buckets)
    assert not missing, f"rules read buckets the histograms do not have (name, le): {missing}"


def test_a_rule_over_a_metric_that_is_not_exported_is_caught():
    """The check above, on a rule with a typo: the name reader sees the wrong name."""
    named = names_in('sum(rate(commerce_checkout_second_count{result="error"}[5m]))')
    assert named == {"commerce_checkout_second_count"}


def test_the_slo_rules_and_their_tests_are_what_tools_slo_rules_makes():
    checked = subprocess.run(
        [sys.executable, "tools/slo_rules.py", "check"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_check_rules_skips_cleanly_without_promtool_unless_required():
    env = {**os.environ, "PROMTOOL": "/nonexistent/promtool"}
    env.pop("REQUIRE_PROMTOOL", None)
    skipped = subprocess.run(["bin/check-rules"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    assert "skipped" in skipped.stdout

    # Required, with no installer to fall back on (apt-get hidden): a failure, never a skip.
    env = {**env, "REQUIRE_PROMTOOL": "1", "APT_GET": "/nonexistent/apt-get"}
    required = subprocess.run(["bin/check-rules"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert required.returncode != 0
    assert "promtool" in required.stderr
