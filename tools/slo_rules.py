#!/usr/bin/env python3
"""The service-level objectives of docs/slo.md as Prometheus rules, and the promtool tests of their alerts.

    tools/slo_rules.py write    write deploy/prometheus/slo.rules.yaml and deploy/prometheus/tests/slo.test.yaml
    tools/slo_rules.py check    fail when either differs from what OBJECTIVES make (a test runs this)

Why generated: every objective needs the same eight recording rules (its error ratio over 5m … 7d), a
budget line and two burn-rate alerts with thresholds computed from its target; written by hand, one
objective's copy drifts from the others. The scheme is the SRE workbook's multiwindow, multi-burn-rate
alerts ("Alerting on SLOs", table 5-8): a page when the budget burns at 14.4x over 1h (confirmed over
5m) or 6x over 6h (30m); a ticket at 3x over 1d (2h) or 1x over 3d (6h); either only with MIN_EVENTS
events in the last hour (a quiet night's 2 failures of 3 are noise, not a burn). Each objective's window is
7 days: "is checkout healthy this week?" is ``slo:error_budget_remaining:ratio_rate7d{slo="checkout-success"}``.

The tests are input series of synthetic traffic, shaped so the expected alerts follow from the scheme
without evaluating it here: a fast burn (20x for an hour after a clean day) pages and does not ticket,
a slow burn (4x for half a day) tickets and does not page, a healthy day (a quarter of the budget)
and a burst of declined cards and 404s stay quiet; a week without an error leaves the whole budget;
8x for 6 hours pages through 6h/30m alone and 4x for a day tickets through 1d/2h alone, each resolved
by its short window once the burn stops; a quiet hour under MIN_EVENTS events pages nobody. promtool
evaluates the real rules against them.
The guard alerts of the event bus (an outbox that stopped, dead letters) are in event-bus.rules.yaml,
written by hand, with their own tests.

Standard library only: .ci/run and the tests run it with any python3.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "deploy" / "prometheus" / "slo.rules.yaml"
TESTS = ROOT / "deploy" / "prometheus" / "tests" / "slo.test.yaml"

WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "7d")
# (severity, [(long window, short window, burn rate)]): the workbook's thresholds.
ALERTS = (
    ("page", (("1h", "5m", 14.4), ("6h", "30m", 6.0))),
    ("ticket", (("1d", "2h", 3.0), ("3d", "6h", 1.0))),
)

HTTP_RESPONSES = "django_http_responses_total_by_status_view_method_total"
HTTP_LATENCY = "django_http_requests_latency_seconds_by_view_method"


@dataclass(frozen=True)
class Objective:
    name: str
    deployable: str
    target: float
    summary: str  # what a customer or a staff member feels when it is missed
    errors: str  # PromQL with {window}: the bad events' rate
    total: str  # PromQL with {window}: every event's rate
    # Input series for the tests: the good events' series and the bad events' (a histogram's: the
    # bucket of the good and the count of all: bad is None and total_series counts both).
    good_series: str
    bad_series: str | None = None
    total_series: str | None = None
    noise_series: str = ""  # what must never count: a burst of it stays quiet (declined cards, 404s)


def _availability(metric: str, selector: str, bad: str) -> tuple[str, str]:
    """The bad events' series exist only from the first bad event on (a status's, a result's): without
    ``or vector(0)`` a week without one has no error ratio and no budget line, instead of a whole budget.
    Both sides are sums without labels, so the division matches them."""
    return (
        f"(sum(rate({metric}{{{selector},{bad}}}[{{window}}])) or vector(0))",
        f"sum(rate({metric}{{{selector}}}[{{window}}]))",
    )


def _latency(histogram: str, selector: str, le: str) -> tuple[str, str]:
    """Slower than ``le``: every observation less those in its bucket (``le`` as the client prints it)."""
    return (
        f"(sum(rate({histogram}_count{{{selector}}}[{{window}}])) - "
        f'sum(rate({histogram}_bucket{{{selector},le="{le}"}}[{{window}}])))',
        f"sum(rate({histogram}_count{{{selector}}}[{{window}}]))",
    )


STOREFRONT = 'view=~"catalogue:.+",method="GET"'
CART_WRITES = 'view=~"cart:.+",method=~"POST|PUT|PATCH|DELETE"'
SERVER_ERROR = 'status=~"5.."'

OBJECTIVES: tuple[Objective, ...] = (
    Objective(
        "storefront-availability",
        "web",
        0.999,
        "catalogue pages (products, a product, categories) answer without a server error",
        *_availability(HTTP_RESPONSES, STOREFRONT, SERVER_ERROR),
        good_series=f'{HTTP_RESPONSES}{{method="GET",status="200",view="catalogue:products"}}',
        bad_series=f'{HTTP_RESPONSES}{{method="GET",status="503",view="catalogue:products"}}',
        noise_series=f'{HTTP_RESPONSES}{{method="GET",status="404",view="catalogue:product"}}',
    ),
    Objective(
        "storefront-latency",
        "web",
        0.99,
        "catalogue pages answer within 0.5 s",
        *_latency(HTTP_LATENCY, STOREFRONT, "0.5"),
        good_series=f'{HTTP_LATENCY}_bucket{{le="0.5",method="GET",view="catalogue:products"}}',
        total_series=f'{HTTP_LATENCY}_count{{method="GET",view="catalogue:products"}}',
    ),
    Objective(
        "cart-availability",
        "cart-checkout",
        0.999,
        "adding to, changing and emptying a cart succeed without a server error",
        *_availability(HTTP_RESPONSES, CART_WRITES, SERVER_ERROR),
        good_series=f'{HTTP_RESPONSES}{{method="POST",status="201",view="cart:lines"}}',
        bad_series=f'{HTTP_RESPONSES}{{method="POST",status="500",view="cart:lines"}}',
        noise_series=f'{HTTP_RESPONSES}{{method="POST",status="409",view="cart:lines"}}',
    ),
    Objective(
        "cart-latency",
        "cart-checkout",
        0.99,
        "cart changes answer within 0.5 s",
        *_latency(HTTP_LATENCY, CART_WRITES, "0.5"),
        good_series=f'{HTTP_LATENCY}_bucket{{le="0.5",method="POST",view="cart:lines"}}',
        total_series=f'{HTTP_LATENCY}_count{{method="POST",view="cart:lines"}}',
    ),
    Objective(
        "checkout-success",
        "cart-checkout",
        0.995,
        "a checkout the customer could pay for places the order (declined cards, empty carts, sold-out "
        "stock and invalid requests are the customer's own answers and do not count)",
        '(sum(rate(commerce_checkout_seconds_count{result="error"}[{window}])) or vector(0))',
        'sum(rate(commerce_checkout_seconds_count{result=~"placed|error"}[{window}]))',
        good_series='commerce_checkout_seconds_count{result="placed"}',
        bad_series='commerce_checkout_seconds_count{result="error"}',
        noise_series='commerce_checkout_seconds_count{result="refused"}',
    ),
    Objective(
        "checkout-latency",
        "cart-checkout",
        0.99,
        "a placed order is confirmed within 2 s of the request",
        *_latency("commerce_checkout_seconds", 'result="placed"', "2.0"),
        good_series='commerce_checkout_seconds_bucket{le="2.0",result="placed"}',
        total_series='commerce_checkout_seconds_count{result="placed"}',
    ),
    Objective(
        "event-delivery",
        "worker",
        0.99,
        "an event reaches the monolith's own subscribers within 30 s (stock, listing, order state)",
        *_latency("commerce_eventbus_event_age_seconds", 'path="in_process"', "30.0"),
        good_series='commerce_eventbus_event_age_seconds_bucket{le="30.0",path="in_process"}',
        total_series='commerce_eventbus_event_age_seconds_count{path="in_process"}',
    ),
    Objective(
        "relay-lag",
        "relay",
        0.99,
        "an event a lifted service subscribes to is on the broker within 30 s",
        *_latency("commerce_eventbus_event_age_seconds", 'path="relay"', "30.0"),
        good_series='commerce_eventbus_event_age_seconds_bucket{le="30.0",path="relay"}',
        total_series='commerce_eventbus_event_age_seconds_count{path="relay"}',
    ),
    Objective(
        "consumer-lag",
        "notifications",
        0.99,
        "an event reaches the lifted service's handlers within 30 s of occurring",
        *_latency("commerce_eventbus_event_age_seconds", 'path="consumer"', "30.0"),
        good_series='commerce_eventbus_event_age_seconds_bucket{le="30.0",path="consumer"}',
        total_series='commerce_eventbus_event_age_seconds_count{path="consumer"}',
    ),
    Objective(
        "notification-latency",
        "notifications",
        0.99,
        "the order confirmation is accepted by the mail server within 5 minutes of the order",
        *_latency("commerce_notification_latency_seconds", 'kind="order_confirmation"', "300.0"),
        good_series='commerce_notification_latency_seconds_bucket{kind="order_confirmation",le="300.0"}',
        total_series='commerce_notification_latency_seconds_count{kind="order_confirmation"}',
    ),
)


def _number(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".")


def _budget(objective: Objective) -> float:
    return round(1 - objective.target, 6)


def _labels(objective: Objective) -> str:
    """As a YAML mapping's entries (the rules' and the tests' labels)."""
    return f"slo: {objective.name}, deployable: {objective.deployable}"


def _burn(objective: Objective, long: str, short: str, rate: float) -> str:
    threshold = _number(round(rate * _budget(objective), 6))
    selector = f'{{slo="{objective.name}"}}'
    return (
        f"(slo:sli_error:ratio_rate{long}{selector} > {threshold}"
        f" and slo:sli_error:ratio_rate{short}{selector} > {threshold})"
    )


HEADER = """\
# GENERATED by tools/slo_rules.py from its OBJECTIVES: edit there, then `tools/slo_rules.py write`.
# The service-level objectives of docs/slo.md: per objective, its error ratio over eight windows, its
# target, the error budget left this week, and the SRE workbook's multiwindow, multi-burn-rate alerts
# (severity page: 14.4x over 1h and 5m, or 6x over 6h and 30m; ticket: 3x over 1d and 2h, or 1x over
# 3d and 6h), each only with 10 events or more in the last hour. Checked by `promtool check rules`,
# tested by `promtool test rules` on tests/slo.test.yaml.
"""


def _annotations(objective: Objective, severity: str) -> dict[str, str]:
    """Static text (promtool's tests compare it): the budget left is one query away, named here."""
    pairs = dict(ALERTS)[severity]
    windows = " or ".join(f"{rate:g}x over {long}/{short}" for long, short, rate in pairs)
    return {
        "summary": f"{objective.name} ({objective.deployable}) burns its error budget: {windows}",
        "description": (
            f"Objective: {_number(objective.target * 100)}% over 7 days: {objective.summary}. Budget left this "
            f'week: slo:error_budget_remaining:ratio_rate7d{{slo="{objective.name}"}}. See docs/slo.md.'
        ),
    }


def rules() -> str:
    out = [HEADER, "groups:"]
    for objective in OBJECTIVES:
        out += [
            f"  - name: slo-{objective.name}",
            "    rules:",
        ]
        for window in WINDOWS:
            errors = objective.errors.replace("{window}", window)
            total = objective.total.replace("{window}", window)
            out += [
                f"      - record: slo:sli_error:ratio_rate{window}",
                "        expr: |-",
                f"          {errors}",
                "          /",
                f"          {total}",
                f"        labels: {{{_labels(objective)}}}",
            ]
        out += [
            "      - record: slo:objective:ratio",
            f"        expr: vector({_number(objective.target)})",
            f"        labels: {{{_labels(objective)}}}",
            "      - record: slo:error_budget_remaining:ratio_rate7d",
            f'        expr: 1 - slo:sli_error:ratio_rate7d{{slo="{objective.name}"}} / {_number(_budget(objective))}',
            f"        labels: {{{_labels(objective)}}}",
        ]
        for severity, pairs in ALERTS:
            out += [
                "      - alert: ErrorBudgetBurn",
                "        expr: |-",
                "          (",
                *(
                    f"            {'or ' if index else ''}{_burn(objective, long, short, rate)}"
                    for index, (long, short, rate) in enumerate(pairs)
                ),
                "          )",
                f"          and on() ({objective.total.replace('{window}', '1h')} * 3600 >= {MIN_EVENTS})",
                f"        labels: {{{_labels(objective)}, severity: {severity}}}",
                "        annotations:",
                *(f"          {key}: {json.dumps(value)}" for key, value in _annotations(objective, severity).items()),
            ]
    return "\n".join(out) + "\n"


# --- The tests ---------------------------------------------------------------------------------------
PER_MINUTE = 4000  # events a minute: every budget below is a whole number of them
STEP = 2  # minutes between samples: the 5m windows still hold two (the tests' cost is in the long windows)
DAY = 24 * 60
MIN_EVENTS = 10  # a burn-rate alert needs at least this many events in the last hour (docs/slo.md)


def _counter(segments: list[tuple[int, int]]) -> str:
    """A counter's promtool values from (increase a minute, minutes) segments, one sample every STEP minutes."""
    parts, value, first = [], 0, True
    for per_minute, span in segments:
        increase, minutes = per_minute * STEP, span // STEP
        if first:
            parts.append(f"0+{increase}x{minutes}")
            value = increase * minutes
            first = False
        else:
            value += increase
            parts.append(f"{value}+{increase}x{minutes - 1}")
            value += increase * (minutes - 1)
    return " ".join(parts)


def _bad_per_minute(objective: Objective, burn: float) -> int:
    bad = burn * _budget(objective) * PER_MINUTE
    assert bad == int(bad), (objective.name, burn)
    return int(bad)


def _traffic(objective: Objective, phases, noise: list[tuple[int, int]] | None = None, errors_seen: bool = True):
    """Input series for ``phases`` of (burn rate, minutes[, volume: times PER_MINUTE]), and a noise burst of
    (per minute, minutes). Without ``errors_seen`` the bad events' series is absent, as in a process that
    has not failed yet (django-prometheus makes a status's series at its first response)."""
    phases = [(phase[0], phase[1], phase[2] if len(phase) > 2 else 1) for phase in phases]
    good = [(PER_MINUTE * volume - _bad_per_minute(objective, burn), minutes) for burn, minutes, volume in phases]
    bad = [(_bad_per_minute(objective, burn), minutes) for burn, minutes, _ in phases]
    series = [(objective.good_series, _counter(good))]
    if objective.bad_series:
        if errors_seen:
            series.append((objective.bad_series, _counter(bad)))
    else:
        series.append(
            (objective.total_series, _counter([(PER_MINUTE * volume, minutes) for _, minutes, volume in phases]))
        )
    if noise and objective.noise_series:
        series.append((objective.noise_series, _counter(noise)))
    return series


def _alert(objective: Objective, severity: str) -> list[str]:
    annotations = ", ".join(f"{key}: {json.dumps(value)}" for key, value in _annotations(objective, severity).items())
    return [
        f"          - exp_labels: {{alertname: ErrorBudgetBurn, {_labels(objective)}, severity: {severity}}}",
        f"            exp_annotations: {{{annotations}}}",
    ]


def _case(name: str, comment: str, phases, checks, noise=None, errors_seen=True, budget_at=None) -> list[str]:
    """One test group: every objective's traffic in ``phases``; ``checks``: (time, severity firing or None);
    ``budget_at``: (time, budget left) every objective's budget line must show then."""
    out = [f"  # {comment}", f"  - name: '{name}'", f"    interval: {STEP}m", "    input_series:"]
    for objective in OBJECTIVES:
        for series, values in _traffic(objective, phases, noise, errors_seen):
            out += [f"      - series: '{series}'", f"        values: '{values}'"]
    out.append("    alert_rule_test:")
    for at, firing in checks:  # promtool compares every ErrorBudgetBurn firing then, pages and tickets
        out += ["      - alertname: ErrorBudgetBurn", f"        eval_time: {at}"]
        expected = [line for o in OBJECTIVES for line in _alert(o, firing)] if firing else []
        out += ["        exp_alerts:", *expected] if expected else ["        exp_alerts: []"]
    if budget_at:
        at, left = budget_at
        out += [
            "    promql_expr_test:",
            "      - expr: slo:error_budget_remaining:ratio_rate7d",
            f"        eval_time: {at}",
            "        exp_samples:",
        ]
        for objective in OBJECTIVES:
            out += [
                "          - labels: 'slo:error_budget_remaining:ratio_rate7d"
                f'{{slo="{objective.name}",deployable="{objective.deployable}"}}\'',
                f"            value: {_number(left)}",
            ]
    return out


def tests() -> str:
    out = [
        "# GENERATED by tools/slo_rules.py (its tests() says why these shapes): edit there.",
        "# promtool test rules deploy/prometheus/tests/slo.test.yaml",
        "rule_files: [../slo.rules.yaml]",
        "evaluation_interval: 10m",
        "tests:",
    ]
    out += _case(
        "fast burn: 20x the budget for an hour after a clean day pages, and tickets nothing",
        "1h at 20x: over 1h and 5m 20 > 14.4 (page); over 1d 20/24 < 3 and over the 25 h of data 20/25 < 1; "
        "10 minutes after the burn 5m is clean while 1h still shows 20*50/60 > 14.4: the short window resolves it.",
        [(0, 23 * 60), (20, 60), (0, 20)],
        [("23h", None), ("23h40m", None), ("24h", "page"), ("24h10m", None)],
    )
    out += _case(
        "slow burn: 4x the budget for 12 hours tickets, and never pages",
        "4x: under 6 and 14.4 (no page); over 3d (35 h of data) 4*12/35 > 1 and over 6h 4 > 1 (ticket); "
        "6h10m after the burn 6h is clean while 3d still shows 4*12/41 > 1: the short window resolves it.",
        [(0, 23 * 60), (4, 12 * 60), (0, 6 * 60 + 20)],
        [("25h", None), ("29h", None), ("35h", "ticket"), ("41h10m", None)],
    )
    out += _case(
        "a healthy day: a quarter of the budget spent all day, no alert",
        "0.25x in every window: below every threshold.",
        [(0.25, DAY)],
        [("1h", None), ("6h", None), ("12h", None), ("24h", None)],
    )
    out += _case(
        "a burst of declined cards (and 404s, 409s): ten times the traffic for an hour, no alert",
        "The customers' own answers count neither as errors nor as events of the checkout objective.",
        [(0.25, DAY)],
        [("12h30m", None), ("13h", None), ("14h", None)],
        noise=[(0, 12 * 60), (10 * PER_MINUTE, 60), (0, 12 * 60)],
    )
    out += _case(
        "a week without a single error: the whole budget is left (not no data), no alert",
        "Only placed and refused checkouts, only 2xx and 404s: no error series exists yet, the budget line is 1.",
        [(0, DAY)],
        [("12h", None), ("24h", None)],
        noise=[(PER_MINUTE, DAY)],
        errors_seen=False,
        budget_at=("24h", 1),
    )
    out += _case(
        "8x the budget for 6 hours pages through its 6h/30m condition alone, and resolves once the burn stops",
        "After a clean day at ten times the traffic: 1h and 5m at 8 < 14.4; 1d 8*6/(10*18+6) < 3, 3d less; "
        "6h reaches 8*4.5/6 = 6 after 4.5 h (none at 2 h: a 1h long window would page), then 30m clean 40 "
        "minutes after the burn while 6h still shows 8*5.3/6 > 6: only the short window resolves it.",
        [(0, DAY, 10), (8, 6 * 60), (0, 2 * 60)],
        [("26h", None), ("30h", "page"), ("30h40m", None)],
    )
    out += _case(
        "4x the budget for 24 hours tickets through its 1d/2h condition alone, and resolves once the burn stops",
        "After two clean days at ten times the traffic: 3d 4*24/(10*48+24) < 1, 6h and below 4 < 6 (no page); "
        "1d reaches 4*18/24 = 3 after 18 h (none at 6 h: a 2h long window would ticket), then 2h clean 2h10m "
        "after the burn while 1d still shows 4*21.8/24 > 3: only the short window resolves it.",
        [(0, 2 * DAY, 10), (4, DAY), (0, 3 * 60)],
        [("54h", None), ("72h", "ticket"), ("74h10m", None)],
    )
    out += _quiet_hour_case(
        "a quiet hour: 2 of 3 checkouts failing pages nobody, 12 of 20 pages",
        "After a busy clean day, an hour of 3 checkouts (2 errors): 67 % over 1h and 5m, but under "
        f"{MIN_EVENTS} events in the hour. With 20 (12 errors) the hour is over the guard: the burn pages.",
    )
    return "\n".join(out) + "\n"


def _quiet_hour_case(name: str, comment: str) -> list[str]:
    """Checkout's own series only (the other objectives have none, so fire nothing): a busy clean day,
    then quiet hours in which a few checkouts, most of them failing, arrive; one sample every STEP minutes."""

    def after_day(events: dict[int, int], samples: int) -> str:
        """A counter busy all day (its good events), then +n at each sample index in ``events``."""
        value, values = 0, []
        for index in range(samples):
            value += events.get(index, 0)
            values.append(value)
        return " ".join(str(v) for v in values)

    day = DAY // STEP  # samples in a day
    hour = 60 // STEP
    checkout = next(o for o in OBJECTIVES if o.name == "checkout-success")
    out = [f"  # {comment}"]
    # Quiet from 24h (sample k after the day is at 24h + k*STEP minutes): 3 checkouts in the hour to 26h
    # (1 placed at 25h20m, errors at 25h54m and 26h); 20 in the hour to 28h (8 placed, 12 errors, the
    # last at 27h58m), so the 5m window sees the failures too.
    samples = 4 * hour + 1
    placed = {40: 1}
    errors = {57: 1, 60: 1}
    for minute in range(2, 60, 8):
        placed[3 * hour + minute // STEP] = 1
    for minute in [*range(0, 44, 4), 58]:
        errors[3 * hour + minute // STEP] = 1
    assert (sum(placed.values()), sum(errors.values())) == (1 + 8, 2 + 12), (placed, errors)
    busy = PER_MINUTE * STEP * day
    good = f"0+{PER_MINUTE * STEP}x{day} " + " ".join(
        str(busy + int(v)) for v in after_day(placed, samples).split()[1:]
    )
    bad = f"0x{day} " + " ".join(after_day(errors, samples).split()[1:])
    out += [
        f"  - name: '{name}'",
        f"    interval: {STEP}m",
        "    input_series:",
        f"      - series: '{checkout.good_series}'",
        f"        values: '{good}'",
        f"      - series: '{checkout.bad_series}'",
        f"        values: '{bad}'",
        "    alert_rule_test:",
        "      - alertname: ErrorBudgetBurn",
        "        eval_time: 26h",
        "        exp_alerts: []",
        "      - alertname: ErrorBudgetBurn",
        "        eval_time: 28h",
        "        exp_alerts:",
    ]
    expected = _alert(checkout, "page")
    out += expected
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("write", "check"))
    args = parser.parse_args(argv)
    made = {RULES: rules(), TESTS: tests()}
    if args.command == "write":
        for path, text in made.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}")
        return 0
    stale = [path for path, text in made.items() if not path.exists() or path.read_text() != text]
    for path in stale:
        print(f"{path.relative_to(ROOT)} is not what tools/slo_rules.py makes: run `tools/slo_rules.py write`")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
