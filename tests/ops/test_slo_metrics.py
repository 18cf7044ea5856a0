"""The series the service-level objectives read (docs/slo.md, issue 28): a checkout's answer and its
time, split by whose failure it was; an event's age when it reached its subscriber; a mail's latency
from the order it tells of."""

import pytest
from django.test import Client

from commerce import metrics
from tests.ops.test_metrics import TOKEN, rest_cart, sample


@pytest.fixture
def token(monkeypatch):
    monkeypatch.setenv("METRICS_TOKEN", TOKEN)
    return TOKEN


def scrape() -> str:
    response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    return response.content.decode()


def checkouts(text: str) -> dict[str, float]:
    return {
        result: sample(text, "commerce_checkout_seconds_count", result=result) or 0
        for result in ("placed", "refused", "error")
    }


@pytest.mark.django_db
def test_a_checkout_is_timed_and_a_declined_card_or_an_empty_cart_is_the_customers_refusal_not_an_error(
    token, api_client
):
    from tests.support.checkout import build_shop, checkout_body, post_checkout

    build_shop()
    answers = {}
    for name, body in (
        ("placed", lambda: checkout_body(rest_cart(api_client, "TEE-M", 1))),
        ("declined", lambda: checkout_body(rest_cart(api_client, "TEE-M", 1), token="tok_declined")),
        ("provider down", lambda: checkout_body(rest_cart(api_client, "TEE-M", 1), token="tok_error")),
        (
            "empty",
            lambda: checkout_body(api_client.post("/api/v1/carts", {"currency": "EUR"}, format="json").json()["id"]),
        ),
    ):
        request = body()
        before = checkouts(scrape())
        response = post_checkout(api_client, request)
        after = checkouts(scrape())
        answers[name] = (response.status_code, {k: after[k] - before[k] for k in after if after[k] != before[k]})

    assert answers == {
        "placed": (201, {"placed": 1}),
        "declined": (402, {"refused": 1}),
        "provider down": (502, {"error": 1}),
        "empty": (400, {"refused": 1}),
    }
    # The time is the request's: a placed checkout ran every saga step within it.
    assert sample(scrape(), "commerce_checkout_seconds_sum", result="placed") > 0


def test_an_interrupted_checkout_counts_against_the_shop_though_it_answers_409():
    from contexts.orders.exceptions import CheckoutInterrupted, PaymentDeclined, PaymentError
    from contexts.orders.services._checkout import whose_failure

    assert whose_failure(CheckoutInterrupted()) == "error"
    assert whose_failure(PaymentError()) == "error"
    assert whose_failure(RuntimeError("a crash")) == "error"
    assert whose_failure(PaymentDeclined()) == "refused"


def test_an_events_age_is_observed_per_path_and_an_unknown_path_is_refused():
    from datetime import timedelta

    from django.utils import timezone
    from prometheus_client import REGISTRY

    def value(name, **labels):
        return REGISTRY.get_sample_value(name, labels) or 0

    before = value("commerce_eventbus_event_age_seconds_bucket", path="relay", le="30.0")
    within = value("commerce_eventbus_event_age_seconds_bucket", path="relay", le="10.0")
    metrics.events_reached("relay", [timezone.now() - timedelta(seconds=20)])
    assert value("commerce_eventbus_event_age_seconds_bucket", path="relay", le="30.0") == before + 1
    assert value("commerce_eventbus_event_age_seconds_bucket", path="relay", le="10.0") == within

    with pytest.raises(ValueError):
        metrics.events_reached("by carrier pigeon", [timezone.now()])


@pytest.mark.django_db(transaction=True)
def test_a_placed_order_records_its_events_age_and_the_confirmations_latency_from_order_to_mail(
    token, api_client, settle_events, settings, mailoutbox
):
    from tests.support.checkout import build_shop, checkout_body, post_checkout

    inline = settings.EVENTBUS["DISPATCH"] == "inline"  # with celery the worker process records them
    build_shop()
    cart_id = rest_cart(api_client, "TEE-M", 1)
    before = scrape()

    placed = post_checkout(api_client, checkout_body(cart_id))
    assert placed.status_code == 201, placed.json()
    settle_events()

    if not inline:
        pytest.skip("delivered by the Celery worker, whose metrics this process does not hold")
    after = scrape()

    def moved(name, **labels):
        return (sample(after, name, **labels) or 0) - (sample(before, name, **labels) or 0)

    assert [m.subject for m in mailoutbox if "order" in m.subject.lower()], [m.subject for m in mailoutbox]
    assert moved("commerce_notification_latency_seconds_count", kind="order_confirmation") == 1
    # Sent within the request's own after-commit: well under the first bucket's second.
    assert moved("commerce_notification_latency_seconds_bucket", kind="order_confirmation", le="1.0") == 1
    assert moved("commerce_eventbus_event_age_seconds_count", path="in_process") >= 1


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_process_without_http_serves_its_metrics_on_metrics_port_only_with_the_token(token):
    """The worker, the relay and the consumer count the events' ages and the mails' latency in their own
    containers: METRICS_PORT lets Prometheus read them there, behind the same token as the web's."""
    import urllib.error
    import urllib.request

    from django.utils import timezone

    metrics.events_reached("consumer", [timezone.now()])
    port = free_port()
    server = metrics.serve_process_metrics(port)
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url, timeout=5)
        assert refused.value.code == 401
        with pytest.raises(urllib.error.HTTPError) as wrong:
            urllib.request.urlopen(urllib.request.Request(url, headers={"Authorization": "Bearer nope"}), timeout=5)
        assert wrong.value.code == 401
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})
        with urllib.request.urlopen(request, timeout=5) as answer:
            text = answer.read().decode()
        assert sample(text, "commerce_eventbus_event_age_seconds_count", path="consumer") >= 1
        assert "commerce_outbox_backlog" not in text  # the web reports the outbox, once
    finally:
        server.shutdown()
        server.server_close()


def test_without_a_token_a_process_serves_no_metrics_in_production(monkeypatch, settings):
    monkeypatch.delenv("METRICS_TOKEN", raising=False)
    monkeypatch.delenv("METRICS_PORT", raising=False)
    assert metrics.serve_process_metrics() is None  # no port asked for

    settings.PRODUCTION = True
    assert metrics.serve_process_metrics(free_port()) is None


def test_the_celery_worker_serves_its_metrics_when_it_starts_with_metrics_port(token, monkeypatch):
    import urllib.request

    from commerce.celery import _serve_worker_metrics  # connected to Celery's worker_init

    port = free_port()
    monkeypatch.setenv("METRICS_PORT", str(port))
    server = _serve_worker_metrics()
    try:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert answer.status == 200
    finally:
        server.shutdown()
        server.server_close()


def test_a_checkout_killed_by_the_worker_timeout_counts_as_the_shops_error_not_as_placed():
    """gunicorn's timeout ends a worker's request with SystemExit (a BaseException, not an Exception):
    the customer got no order, so it spends the checkout objective's budget."""
    from prometheus_client import REGISTRY

    def count(result):
        return REGISTRY.get_sample_value("commerce_checkout_seconds_count", {"result": result}) or 0

    before = {result: count(result) for result in metrics.CHECKOUT_RESULTS}
    with pytest.raises(SystemExit), metrics.checkout_answered():
        raise SystemExit(1)
    with pytest.raises(KeyboardInterrupt), metrics.checkout_answered() as answer:
        answer.result = "refused"  # classified, then killed before the answer left
        raise KeyboardInterrupt
    assert {result: count(result) - before[result] for result in before} == {"placed": 0, "refused": 0, "error": 2}


@pytest.mark.django_db
def test_every_checkout_result_is_exported_before_the_first_checkout(token):
    """The checkout objective divides the errors by every answer: the error series must be in the scrape
    (at 0) from the start, or a week without an error shows no budget at all (docs/slo.md)."""
    text = scrape()
    for result in sorted(metrics.CHECKOUT_RESULTS):
        assert sample(text, "commerce_checkout_seconds_count", result=result) is not None, result


@pytest.mark.django_db
def test_a_fresh_checkout_left_pending_by_the_shop_counts_as_its_error_though_it_answers_409(
    token, api_client, monkeypatch
):
    """A step failing after the point of no return (here the cart's close, refused) leaves the new order
    pending for the recovery job: the customer is told 409 request_in_progress, but no customer caused it."""
    from contexts.orders.services import _checkout_steps
    from tests.support.checkout import build_shop, checkout_body, post_checkout

    build_shop()
    request = checkout_body(rest_cart(api_client, "TEE-M", 1))

    def cart_refuses_to_close(**kwargs):
        raise _checkout_steps.cart_api.CartClosed()

    monkeypatch.setattr(_checkout_steps.cart_api, "close_cart", cart_refuses_to_close)
    before = checkouts(scrape())
    response = post_checkout(api_client, request)
    after = checkouts(scrape())

    assert (response.status_code, response.json()["code"]) == (409, "request_in_progress")
    assert {k: after[k] - before[k] for k in after if after[k] != before[k]} == {"error": 1}


def test_a_request_still_in_progress_elsewhere_is_not_the_shops_error():
    """A retry finding its checkout held by another runner (the first request, the recovery job) is told
    to wait: neither side failed."""
    from contexts.orders.exceptions import RequestInProgress
    from contexts.orders.services._checkout import whose_failure

    assert whose_failure(RequestInProgress(retry_after=5)) == "refused"


@pytest.mark.django_db
def test_a_checkout_that_fails_outside_the_saga_is_measured_too(token, api_client, monkeypatch):
    """The order was placed, but storing the answer for the Idempotency-Key failed (its database gone):
    the customer got a 503, so the shop failed that checkout; and a body that does not validate (before
    any saga) is the customer's own refusal, counted as one."""
    from django.db import OperationalError

    from contexts.orders import services
    from tests.support.checkout import build_shop, checkout_body, post_checkout

    build_shop()
    placed_but_lost = checkout_body(rest_cart(api_client, "TEE-M", 1))
    invalid = {"cart_id": "not-a-uuid"}

    def database_gone(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    answers = {}
    for name, body, broken in (("lost", placed_but_lost, True), ("invalid", invalid, False)):
        with monkeypatch.context() as patch:
            if broken:
                patch.setattr(services.idempotency_keys, "complete", database_gone)
            before = checkouts(scrape())
            response = post_checkout(api_client, body)
        after = checkouts(scrape())
        answers[name] = (response.status_code, {k: after[k] - before[k] for k in after if after[k] != before[k]})

    assert answers == {"lost": (503, {"error": 1}), "invalid": (400, {"refused": 1})}
