"""The strangler gateway (nginx from Debian, configured by tools/gateway.py) in front of the real monolith and
the real notifications service: at 0 %, 50 % and 100 % every answer is correct, and ``X-Served-By`` names
who gave it. The share moves on the running gateway (``tools/gateway.py share N``), as an operator moves it.
"""

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from tests.identity.factories import PASSWORD, CustomerFactory
from tests.support.http import request
from tests.support.processes import ROOT, get
from tests.topologies.keys import KeyPair
from tests.topologies.lifted import monolith_notifications_url, service_database, service_records
from tests.topologies.support import SERVICE_SETTINGS, manage, running_deployable, running_gateway
from tests.topologies.test_history_import import message

REQUESTS = 80


def answer(url: str, token: str | None = None, **headers: str) -> tuple[int, str, object]:
    if token:
        headers["Authorization"] = f"Bearer {token}"
    status, response_headers, body = get(url, headers=headers)
    return status, response_headers.get("X-Served-By", ""), json.loads(body)


@pytest.fixture
def topology(tmp_path, settings, customer):
    """The monolith (on the tests' databases) and the service (its own), each under gunicorn, the customer's
    history in both (recorded in the monolith, imported into the service as before a move) beside another
    customer's message, and one message recorded by both during the move, each its own way (the monolith
    only records it, the service sends it, each at its own moment under its own row id); the customer's
    access token as identity issued it."""
    for days_ago, kind in enumerate(("order_confirmation", "order_dispatched", "welcome"), start=1):
        message(customer, kind, days_ago=days_ago)
    message(CustomerFactory(), "welcome", subject="another customer's")
    occurred = timezone.now() - timedelta(minutes=3)
    during_the_move = message(
        customer, "order_cancelled", status="recorded", sent_at=None, occurred_at=occurred,
        created_at=occurred + timedelta(seconds=1), subject="Your order 100009 is cancelled",
    )  # fmt: skip
    with running_deployable(
        "commerce.wsgi",
        COMMERCE_USE_TEST_DATABASES="1",
        DJANGO_SETTINGS_MODULE=settings.SETTINGS_MODULE,
        LIFTED="notifications",
        NOTIFICATIONS_SHARE="50",
    ) as (monolith, _):
        token = request("POST", f"{monolith}/api/v1/auth/token", {"email": customer.email, "password": PASSWORD})
        assert token.status == 200, token.body
        with service_database(tmp_path) as url:
            service_env = {
                "DJANGO_SETTINGS_MODULE": SERVICE_SETTINGS,
                "COMMERCE_VAR_DIR": str(tmp_path / "service"),
                "SERVICE_DATABASE_URL": url,
                "IDENTITY_JWKS_URL": f"{monolith}/.well-known/jwks.json",
            }
            manage("migrate_all", **service_env)
            imported = manage(
                "import_notification_history", f"--source-url={monolith_notifications_url()}", **service_env
            )
            assert "4 messages copied" in imported, imported
            service_records(
                [{"event_id": during_the_move.event_id, "kind": "order_cancelled", "customer_id": customer.pk,
                  "recipient": customer.email, "subject": during_the_move.subject, "status": "sent",
                  "occurred_at": occurred, "created_at": occurred + timedelta(seconds=4),
                  "sent_at": occurred + timedelta(seconds=5)}],
                **service_env,
            )  # fmt: skip
            with running_deployable("services.notifications.wsgi", **service_env) as (service, _):
                yield monolith, service, token.body["access"]


def move_share(prefix, share: int) -> None:
    result = subprocess.run(
        [sys.executable, "tools/gateway.py", "share", str(share), f"--prefix={prefix}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.django_db(transaction=True)
def test_at_0_50_and_100_percent_every_answer_is_correct_and_names_who_gave_it(topology):
    monolith, service, token = topology
    forged = KeyPair().token(1)
    # What a correct answer is: each deployable, asked directly, agrees.
    expected = {
        "customer": answer(f"{monolith}/api/v1/me/notifications", token)[::2],
        "anonymous": (401, {"code": "not_authenticated"}),
        "forged": (401, {"code": "token_not_valid"}),
    }
    assert answer(f"{service}/api/v1/me/notifications", token)[::2] == expected["customer"]
    assert expected["customer"][0] == 200
    # The customer's own four, newest first, and not the other customer's: a list a wrong answer shows in. The
    # same JSON from both (asked directly above), the message both recorded during the move included.
    subjects = [item["subject"] for item in expected["customer"][1]["results"]]
    assert len(subjects) == 4 and "another customer's" not in subjects, subjects
    assert subjects[0] == "Your order 100009 is cancelled"

    with running_gateway(monolith=monolith, notifications=service, share=0) as (gateway, prefix):
        for share in (0, 50, 100):
            if share:
                move_share(prefix, share)
            served_by = Counter()
            for number in range(REQUESTS):
                kind = ("customer", "anonymous", "forged")[number % 3]
                status, who, body = answer(
                    f"{gateway}/api/v1/me/notifications", {"customer": token, "forged": forged}.get(kind)
                )
                if kind == "customer":
                    assert (status, body) == expected["customer"], (share, who)
                else:
                    assert (status, body["code"]) == (expected[kind][0], expected[kind][1]["code"]), (share, who)
                served_by[who] += 1
                status, who, _ = answer(f"{gateway}/api/v1/products?page_size=1")
                assert (status, who) == (200, "monolith")
            assert set(served_by) <= {"monolith", "notifications"}
            if share == 0:
                assert served_by == {"monolith": REQUESTS}
            elif share == 100:
                assert served_by == {"notifications": REQUESTS}
            else:  # roughly half each: 40 ± 20 of 80 fails once in ~10^7 runs
                assert 20 <= served_by["notifications"] <= 60, served_by


@pytest.mark.django_db(transaction=True)
def test_the_gateway_answers_in_the_contract_s_shape_when_a_deployable_does_not(topology):
    monolith = topology[0]
    with running_gateway(monolith=monolith, notifications="127.0.0.1:9", share=100) as (gateway, _):
        status, headers, body = get(f"{gateway}/api/v1/me/notifications", headers={"X-Request-ID": "trace-me-1"})
        assert status == 502
        assert json.loads(body)["code"] == "bad_gateway"
        assert (headers["X-Served-By"], headers["X-Request-ID"]) == ("gateway", "trace-me-1")
        # The client's request id reaches the deployable that answers, and comes back.
        status, headers, _ = get(f"{gateway}/api/v1/products", headers={"X-Request-ID": "trace-me-2"})
        assert (status, headers["X-Served-By"], headers["X-Request-ID"]) == (200, "monolith", "trace-me-2")
        # /metrics through the gateway: for this machine, as the monolith answers it on its own port.
        status, headers, body = get(f"{gateway}/metrics")
        assert (status, headers["X-Served-By"]) == (200, "monolith") and b"django_http_requests" in body


def as_if_remote(prefix) -> None:
    """The running gateway, reloaded with this machine's loopback addresses counted as any other client's:
    the tests reach it over loopback only, so that is how a remote client is seen through the real nginx."""
    config = prefix / "nginx.conf"
    rendered = config.read_text()
    assert "127.0.0.0/8 1;" in rendered
    config.write_text(rendered.replace("127.0.0.0/8 1;", "").replace("::1 1;", ""))
    master = int((prefix / "nginx.pid").read_text())
    old_workers = _workers_of(master)
    os.kill(master, signal.SIGHUP)
    # Until the workers of the old configuration are gone (a busy machine can keep one accepting for a
    # while after the reload), so no later request is answered by the old rules.
    deadline = time.monotonic() + 60
    while (old_workers & _workers_of(master) or not _workers_of(master)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not old_workers & _workers_of(master), "nginx's old workers did not finish"


def _workers_of(master: int) -> set[int]:
    path = Path(f"/proc/{master}/task/{master}/children")
    return {int(pid) for pid in path.read_text().split()} if path.exists() else set()


@pytest.mark.django_db(transaction=True)
def test_without_metrics_token_the_gateway_refuses_metrics_to_remote_clients_whatever_they_send(topology, monkeypatch):
    """Behind the gateway the monolith sees every client as loopback: without METRICS_TOKEN the gateway alone
    can tell a remote client, and no header it sends (``Authorization: x``) gets it the shop's metrics."""
    monkeypatch.delenv("METRICS_TOKEN", raising=False)
    monolith, service, _ = topology
    with running_gateway(monolith=monolith, notifications=service, share=100) as (gateway, prefix):
        assert get(f"{gateway}/metrics")[0] == 200  # this machine
        as_if_remote(prefix)
        deadline = time.monotonic() + 10
        while get(f"{gateway}/metrics")[0] == 200 and time.monotonic() < deadline:
            time.sleep(0.05)  # the old workers finish
        for headers in ({}, {"Authorization": "x"}, {"Authorization": "Bearer anything"}):
            status, response_headers, body = get(f"{gateway}/metrics", headers=headers)
            assert (status, response_headers["X-Served-By"]) == (403, "gateway"), headers
            assert json.loads(body)["code"] == "permission_denied"


def test_with_metrics_token_a_remote_client_s_credentials_are_the_shop_s_to_judge(tmp_path):
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import gateway
    finally:
        sys.path.remove(str(ROOT / "tools"))
    common = {"monolith": "127.0.0.1:1", "notifications": "127.0.0.1:2", "listen": "127.0.0.1:3", "share": 50}
    with_token = gateway.render(prefix=tmp_path, metrics_token_set=True, **common)
    without = gateway.render(prefix=tmp_path, **common)
    assert 'map "$gateway_loopback_client:$http_authorization" $gateway_metrics_refused' in with_token
    assert 'map "$gateway_loopback_client:" $gateway_metrics_refused' in without
