"""Prometheus metrics at /metrics (issue 14 point 4): protected, the shop's own series, and correct
under several gunicorn workers."""

import os
import re
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.test import Client

from commerce import metrics
from commerce.eventbus.models import Delivery
from tests.ops.support import get, running_gunicorn

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

    before = value("commerce_checkouts_total", outcome="confirmed")
    metrics.checkout_finished("confirmed")
    assert value("commerce_checkouts_total", outcome="confirmed") == before + 1

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
