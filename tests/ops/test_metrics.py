"""Prometheus metrics at /metrics (issue 14 point 4): protected, the shop's own series, and correct
under several gunicorn workers."""

import os
import re
import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.test import Client

from commerce import metrics
from commerce.eventbus.models import Delivery
from tests.support.processes import get, running_gunicorn

TOKEN = "s3cret-scrape-token"


def sample(text: str, name: str, **labels: str) -> float | None:
    """The sum of the series called ``name`` whose labels include ``labels`` in an exposition, or None."""
    values = []
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(key) == value for key, value in labels.items()):
            values.append(float(line.rsplit(" ", 1)[1]))
    return sum(values) if values else None


@pytest.fixture
def token(monkeypatch):
    monkeypatch.setenv("METRICS_TOKEN", TOKEN)
    return TOKEN


@pytest.mark.django_db
def test_without_the_token_metrics_are_refused(token):
    missing = Client().get("/metrics")
    wrong = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer not-the-token")

    assert missing.status_code == 401 and wrong.status_code == 401
    assert missing.json()["code"] == "not_authenticated"
    assert missing["WWW-Authenticate"].startswith("Bearer")
    assert b"commerce_" not in missing.content + wrong.content


@pytest.mark.django_db
def test_with_the_token_requests_are_counted_by_view(token):
    for _ in range(3):
        Client().get("/health/live")

    response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert sample(text, "django_http_requests_total_by_view_transport_method_total", view="health-live") >= 3
    assert sample(text, "django_http_requests_latency_seconds_by_view_method_count", view="health-live") >= 3


@pytest.mark.django_db
def test_without_a_token_only_this_machine_may_read_them_in_development(monkeypatch, settings):
    monkeypatch.delenv("METRICS_TOKEN", raising=False)

    assert Client().get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert Client().get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 403

    settings.PRODUCTION = True
    assert Client().get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_outbox_backlog_oldest_age_dead_letters_and_deliveries_by_outcome(token, settle_events, settings):
    from datetime import timedelta

    from django.utils import timezone

    from commerce.database import atomic_in, database_for
    from commerce.eventbus import publish
    from tests.probe_sink.events import Pinged

    def scrape() -> str:
        return Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()

    alias = database_for("probe")
    inline = settings.EVENTBUS["DISPATCH"] == "inline"  # with celery, the worker process counts deliveries
    delivered_before = sample(scrape(), "commerce_eventbus_deliveries_total", database=alias, outcome="delivered") or 0

    with atomic_in("probe"):
        publish(Pinged(key="metrics-counted"))
    settle_events()

    text = scrape()
    if inline:
        assert (
            sample(text, "commerce_eventbus_deliveries_total", database=alias, outcome="delivered") > delivered_before
        )
    assert sample(text, "commerce_outbox_backlog", database=alias) == 0
    assert sample(text, "commerce_outbox_oldest_undelivered_age_seconds", database=alias) == 0
    assert sample(text, "commerce_outbox_scrape_ok", database=alias) == 1

    # One delivery owed for a minute (a retry waiting), one dead-lettered.
    first, second = Delivery.objects.using(alias).order_by("-id")[:2]
    Delivery.objects.using(alias).filter(pk=first.pk).update(
        status=Delivery.Status.FAILED, created_at=timezone.now() - timedelta(seconds=60)
    )
    Delivery.objects.using(alias).filter(pk=second.pk).update(status=Delivery.Status.DEAD)

    text = scrape()
    assert sample(text, "commerce_outbox_backlog", database=alias) == 1
    assert 59 <= sample(text, "commerce_outbox_oldest_undelivered_age_seconds", database=alias) < 600
    assert sample(text, "commerce_eventbus_dead_letters", database=alias) == 1


def test_the_contexts_helpers_record_checkouts_saga_steps_reservations_and_cart_operations():
    from prometheus_client import REGISTRY

    def value(name, **labels):
        return REGISTRY.get_sample_value(name, labels) or 0

    before = value("commerce_checkouts_total", outcome="placed", reason="")
    metrics.checkout_finished("placed")
    assert value("commerce_checkouts_total", outcome="placed", reason="") == before + 1
    before = value("commerce_checkouts_total", outcome="failed", reason="payment_declined")
    metrics.checkout_finished("failed", reason="payment_declined")
    assert value("commerce_checkouts_total", outcome="failed", reason="payment_declined") == before + 1

    class Declined(Exception):
        code = "payment_declined"

    with pytest.raises(Declined), metrics.saga_step("capture_payment"):
        raise Declined
    with metrics.saga_step("reserve_stock"):
        pass
    assert value("commerce_checkout_saga_step_seconds_count", step="capture_payment", outcome="payment_declined") >= 1
    assert value("commerce_checkout_saga_step_seconds_count", step="reserve_stock", outcome="ok") >= 1

    before = value("commerce_inventory_reservations_total", outcome="ok")
    metrics.reservation_made("ok")
    assert value("commerce_inventory_reservations_total", outcome="ok") == before + 1

    before = value("commerce_cart_operations_total", operation="add_line")
    metrics.cart_operation("add_line")
    assert value("commerce_cart_operations_total", operation="add_line") == before + 1


def test_two_gunicorn_workers_add_up_and_a_killed_worker_keeps_its_counts(tmp_path):
    """Whichever worker answers the scrape, the counts are the sum over every worker, dead ones too."""
    env = {"METRICS_TOKEN": TOKEN, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus")}
    (tmp_path / "prometheus").mkdir()
    (tmp_path / "prometheus" / "counter_999999999.db").write_bytes(b"left by an earlier run")
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with running_gunicorn(workers=2, **env) as (_, base):
        assert not (tmp_path / "prometheus" / "counter_999999999.db").exists()
        # Bursts of concurrent requests until both workers (each loads the app after its fork) answered.
        directory = tmp_path / "prometheus"
        pids_seen: set[int] = set()
        deadline = time.monotonic() + 180
        with ThreadPoolExecutor(max_workers=8) as pool:
            while len(pids_seen) < 2 and time.monotonic() < deadline:
                statuses = list(pool.map(lambda _: get(f"{base}/health/live")[0], range(16)))
                assert set(statuses) == {200}
                pids_seen = {int(path.stem.rsplit("_", 1)[-1]) for path in directory.glob("*.db")}
        assert len(pids_seen) >= 2, sorted(directory.iterdir())  # both workers served and counted

        def served() -> float:
            return sample(
                get(f"{base}/metrics", headers=auth)[2].decode(),
                "django_http_requests_total_by_view_transport_method_total",
                view="health-live",
            )

        # Every scrape, whichever worker answers it, sees the same total: at least our 16 a burst.
        counts = {served() for _ in range(6)}
        assert len(counts) == 1 and counts.pop() >= 16

        before = served()
        os.kill(min(pids_seen), signal.SIGKILL)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if get(f"{base}/health/live", timeout=2)[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        assert served() >= before  # the dead worker's requests are still in the total


# --- The contexts record their outcomes (issue 14 point 4: reservations, checkouts, saga steps) ---

SAGA_STEPS = (
    "create_order",
    "reserve_stock",
    "redeem_voucher",
    "authorize_payment",
    "capture_payment",
    "commit_reservation",
    "close_cart",
    "confirm_order",
)


def shop_figures(text: str) -> dict[str, float]:
    """The shop's own series a checkout moves, from one exposition (0 for a series not there yet)."""

    def value(name: str, **labels: str) -> float:
        return sample(text, name, **labels) or 0

    figures = {
        "placed": value("commerce_checkouts_total", outcome="placed"),
        "refused cart_empty": value("commerce_checkouts_total", outcome="refused", reason="cart_empty"),
        "failed payment_declined": value("commerce_checkouts_total", outcome="failed", reason="payment_declined"),
        "failed insufficient_stock": value("commerce_checkouts_total", outcome="failed", reason="insufficient_stock"),
        "reserved ok": value("commerce_inventory_reservations_total", outcome="ok"),
        "reservation refused": value("commerce_inventory_reservations_total", outcome="insufficient_stock"),
        "reservation committed": value("commerce_inventory_reservations_total", outcome="committed"),
        "reservation released": value("commerce_inventory_reservations_total", outcome="released"),
        "cart create": value("commerce_cart_operations_total", operation="create"),
        "cart add_line": value("commerce_cart_operations_total", operation="add_line"),
        "cart set_delivery": value("commerce_cart_operations_total", operation="set_delivery"),
        "cart close": value("commerce_cart_operations_total", operation="close"),
        "step authorize_payment declined": value(
            "commerce_checkout_saga_step_seconds_count", step="authorize_payment", outcome="payment_declined"
        ),
        "step reserve_stock refused": value(
            "commerce_checkout_saga_step_seconds_count", step="reserve_stock", outcome="insufficient_stock"
        ),
    }
    for step in SAGA_STEPS:
        figures[f"step {step} ok"] = value("commerce_checkout_saga_step_seconds_count", step=step, outcome="ok")
    return figures


def moved(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: after[name] - before[name] for name in after if after[name] != before[name]}


def rest_cart(client, sku: str, quantity: int) -> str:
    """A guest fills a cart through the REST API and picks standard shipping to Germany."""
    cart = client.post("/api/v1/carts", {"currency": "EUR"}, format="json")
    assert cart.status_code == 201, cart.content
    cart_id = cart.json()["id"]
    line = client.post(f"/api/v1/carts/{cart_id}/lines", {"sku": sku, "quantity": quantity}, format="json")
    assert line.status_code in (200, 201), line.content
    chosen = client.patch(f"/api/v1/carts/{cart_id}", {"country": "DE", "shipping_method": "standard"}, format="json")
    assert chosen.status_code == 200, chosen.content
    return cart_id


@pytest.mark.django_db
def test_a_checkout_through_the_api_shows_in_metrics_with_its_outcome_steps_reservation_and_cart_operations(
    token, api_client
):
    from contexts.inventory import api as inventory_api
    from tests.support.checkout import build_shop, checkout_body, post_checkout

    build_shop()

    def scrape() -> dict[str, float]:
        response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        assert response.status_code == 200
        return shop_figures(response.content.decode())

    before = scrape()
    placed = post_checkout(api_client, checkout_body(rest_cart(api_client, "TEE-M", 2)))
    assert placed.status_code == 201, placed.json()

    assert moved(before, scrape()) == {
        "placed": 1,
        "reserved ok": 1,
        "reservation committed": 1,
        "cart create": 1,
        "cart add_line": 1,
        "cart set_delivery": 1,
        "cart close": 1,
        **{f"step {step} ok": 1 for step in SAGA_STEPS},
    }

    # A declined card: the order exists and fails, its reservation is given back.
    before = scrape()
    declined = post_checkout(api_client, checkout_body(rest_cart(api_client, "TEE-M", 1), token="tok_declined"))
    assert declined.status_code == 402, declined.json()
    assert moved(before, scrape()) == {
        "failed payment_declined": 1,
        "reserved ok": 1,
        "reservation released": 1,
        "cart create": 1,
        "cart add_line": 1,
        "cart set_delivery": 1,
        "step create_order ok": 1,
        "step reserve_stock ok": 1,
        "step redeem_voucher ok": 1,
        "step authorize_payment declined": 1,
    }

    # More than the warehouse holds: the reservation is refused, and so the checkout.
    inventory_api.set_stock_level(sku="TEE-L", warehouse_code="MAIN", on_hand=1, reference="test")
    cart_id = rest_cart(api_client, "TEE-L", 1)
    inventory_api.set_stock_level(sku="TEE-L", warehouse_code="MAIN", on_hand=0, reference="test")
    before = scrape()
    short = post_checkout(api_client, checkout_body(cart_id))
    assert short.status_code == 409 and short.json()["code"] == "insufficient_stock", short.json()
    figures = moved(before, scrape())
    assert figures["failed insufficient_stock"] == 1 and figures["reservation refused"] == 1
    assert figures["step reserve_stock refused"] == 1 and "placed" not in figures

    # Refused before any order exists: counted by its reason, no saga step, no reservation.
    empty = api_client.post("/api/v1/carts", {"currency": "EUR"}, format="json").json()["id"]
    before = scrape()
    refused = post_checkout(api_client, checkout_body(empty))
    assert refused.status_code == 400 and refused.json()["code"] == "cart_empty", refused.json()
    assert moved(before, scrape()) == {"refused cart_empty": 1}


def per_process(directory, name: str, **labels: str) -> dict[int, float]:
    """Each process's own count of a series, read from its file alone (as if it were the only one)."""
    import shutil
    import tempfile

    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    counts: dict[int, float] = {}
    for path in directory.glob("counter_*.db"):
        with tempfile.TemporaryDirectory() as alone:
            shutil.copy(path, alone)
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=alone)
            counts[int(path.stem.rsplit("_", 1)[-1])] = sample(generate_latest(registry).decode(), name, **labels) or 0
    return counts


@pytest.mark.django_db(transaction=True)
def test_checkouts_served_by_two_gunicorn_workers_add_up_in_every_scrape(tmp_path, settings):
    """Checkouts through the REST API of the run command's server with two workers: whichever worker
    answers the scrape, it shows every worker's checkouts, reservations, saga steps and cart operations."""
    from tests.support.checkout import ADDRESS, build_shop
    from tests.support.http import request

    build_shop()
    directory = tmp_path / "prometheus"
    env = {
        "METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(directory),
        "COMMERCE_USE_TEST_DATABASES": "1",
        "DJANGO_SETTINGS_MODULE": settings.SETTINGS_MODULE,
    }
    auth = {"Authorization": f"Bearer {TOKEN}"}

    def buy(base: str) -> int:
        cart = request("POST", f"{base}/api/v1/carts", {"currency": "EUR"}).body["id"]
        request("POST", f"{base}/api/v1/carts/{cart}/lines", {"sku": "MUG", "quantity": 1})
        body = {"cart_id": cart, "shipping_address": ADDRESS, "shipping_method": "standard", "email": "g@example.com"}
        placed = request(
            "POST",
            f"{base}/api/v1/checkout",
            {**body, "payment": {"token": "tok_ok"}},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        return placed.status

    with running_gunicorn(workers=2, **env) as (_, base):
        placed = 0
        deadline = time.monotonic() + 240
        with ThreadPoolExecutor(max_workers=4) as pool:
            while time.monotonic() < deadline:
                statuses = list(pool.map(lambda _: buy(base), range(4)))
                assert set(statuses) == {201}, statuses
                placed += len(statuses)
                by_worker = per_process(directory, "commerce_checkouts_total", outcome="placed")
                if len([count for count in by_worker.values() if count > 0]) >= 2:
                    break
        assert len([count for count in by_worker.values() if count > 0]) >= 2, by_worker  # both took checkouts

        for _ in range(6):  # each scrape, whichever worker answers it, is the sum over both
            text = get(f"{base}/metrics", headers=auth)[2].decode()
            assert sample(text, "commerce_checkouts_total", outcome="placed") == placed
            assert sample(text, "commerce_inventory_reservations_total", outcome="ok") == placed
            assert sample(text, "commerce_inventory_reservations_total", outcome="committed") == placed
            assert sample(text, "commerce_cart_operations_total", operation="create") == placed
            assert sample(text, "commerce_cart_operations_total", operation="add_line") == placed
            for step in SAGA_STEPS:
                assert sample(text, "commerce_checkout_saga_step_seconds_count", step=step, outcome="ok") == placed
        by_worker = per_process(directory, "commerce_checkouts_total", outcome="placed")
        assert sum(by_worker.values()) == placed and len(by_worker) >= 2


@pytest.mark.django_db
def test_every_request_and_every_statement_is_counted_in_django_prometheus_series():
    from django.db import DatabaseError, connections, transaction
    from django.urls import resolve
    from prometheus_client import REGISTRY

    from commerce.database import database_for

    def value(name, **labels):
        return REGISTRY.get_sample_value(name, labels) or 0

    connection = connections[database_for("cart")]  # where a cart is written (its own database when split)
    db = {"alias": connection.alias, "vendor": connection.vendor}
    view = {"view": resolve("/api/v1/carts").view_name, "method": "POST"}
    by_status = {"status": "201", **view}
    before = {
        "requests": value("django_http_requests_total_by_method_total", method="POST"),
        "responses": value("django_http_responses_total_by_status_view_method_total", **by_status),
        "latency": value("django_http_requests_latency_seconds_by_view_method_count", **view),
        "statements": value("django_db_execute_total", **db),
        "durations": value("django_db_query_duration_seconds_count", **db),
    }
    for _ in range(2):
        assert Client().post("/api/v1/carts", {}, content_type="application/json").status_code == 201
    assert value("django_http_requests_total_by_method_total", method="POST") == before["requests"] + 2
    assert value("django_http_responses_total_by_status_view_method_total", **by_status) == before["responses"] + 2
    assert value("django_http_requests_latency_seconds_by_view_method_count", **view) == before["latency"] + 2
    assert value("django_db_execute_total", **db) >= before["statements"] + 2
    assert value("django_db_query_duration_seconds_count", **db) - before["durations"] == (
        value("django_db_execute_total", **db) - before["statements"]
    )

    statements, durations = (
        value("django_db_execute_total", **db),
        value("django_db_query_duration_seconds_count", **db),
    )

    def errors():  # every type's
        return sum(
            sample.value
            for family in REGISTRY.collect()
            for sample in family.samples
            if sample.name == "django_db_errors_total" and db.items() <= sample.labels.items()
        )

    errors_before = errors()
    with (
        pytest.raises(DatabaseError) as refused,
        transaction.atomic(using=connection.alias),
        connection.cursor() as cursor,
    ):
        cursor.execute("SELECT * FROM no_such_table")
    error_type = type(refused.value.__cause__).__name__  # the driver's error, as the cursor saw it
    assert value("django_db_errors_total", type=error_type, **db) >= 1
    assert errors() == errors_before + 1
    assert value("django_db_execute_total", **db) > statements  # with the savepoint's own statements
    assert value("django_db_query_duration_seconds_count", **db) - durations == (
        value("django_db_execute_total", **db) - statements
    )
