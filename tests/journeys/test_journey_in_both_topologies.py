"""The issue's "resolved when": the customer journey in both topologies, each expected mail received
exactly once by a real SMTP server. A customer registers (welcome), checks out (order_confirmation),
staff ship it (order_dispatched), staff receive the customer's return (refund_issued), and a second
order is cancelled by customer service (order_confirmation, order_cancelled); /me/notifications lists
all six.

Embedded: the monolith sends (``LIFTED`` empty). Lifted: the monolith (this process, ``LIFTED=notifications``)
sends nothing (and records only while a share of /me/notifications is still routed to it); the relay publishes to RabbitMQ, the notifications service's consumer
(a process of its own, its own database) records and sends, and the service's own web process answers
/me/notifications with identity's token, verified with the published public keys.
"""

import json
import os
import uuid
from collections import Counter

import pytest

from contexts.notifications.models import Message
from contexts.orders.models import Order
from tests.journeys import lifted
from tests.journeys.lifted import admin_action, register, settle_lifted, staff
from tests.support.checkout import build_shop, checkout_body, new_cart, post_checkout
from tests.support.processes import get
from tests.support.worker import wait_until_delivered
from tests.topologies.support import get_json, running_deployable, running_gateway

pytestmark = pytest.mark.django_db(transaction=True)
# The fixtures of tests/journeys/lifted.py, for the tests here.
broker, mail, notifications_service = lifted.broker, lifted.mail, lifted.notifications_service

EXPECTED = Counter(
    welcome=1, order_confirmation=2, order_dispatched=1, refund_issued=1, order_cancelled=1
)  # fmt: skip
LISTED = ["order_cancelled", "order_confirmation", "refund_issued", "order_dispatched", "order_confirmation", "welcome"]


def walk_the_journey(client, mail, settle) -> object:
    """The customer's and the staff's steps; after each, the mail it owes has arrived. The customer."""
    build_shop()
    email = f"journey-{uuid.uuid4().hex[:8]}@example.com"
    customer = register(email)
    settle()
    mail.wait_for(1)

    placed = post_checkout(
        customer, checkout_body(new_cart({"TEE-M": 2}, customer_id=customer.customer_id), email=None)
    )
    assert placed.status_code == 201, placed.json()
    order = placed.json()["id"]
    settle()
    mail.wait_for(2)

    admin_action(staff(client, "warehouse"), "order", "ship_orders", [order])
    assert Order.objects.get(pk=order).status == "shipped"
    settle()
    mail.wait_for(3)

    returned = customer.post(
        f"/api/v1/orders/{order}/returns", {"lines": [{"sku": "TEE-M", "quantity": 1}], "reason": "too small"},
        format="json",
    )  # fmt: skip
    assert returned.status_code == 201, returned.json()
    admin_action(staff(client, "customer_service"), "return", "receive_returns", [returned.json()["id"]])
    settle()
    mail.wait_for(4)

    second = post_checkout(customer, checkout_body(new_cart({"MUG": 1}, customer_id=customer.customer_id), email=None))
    assert second.status_code == 201, second.json()
    settle()
    mail.wait_for(5)
    admin_action(staff(client, "customer_service"), "order", "cancel_orders", [second.json()["id"]])
    assert Order.objects.get(pk=second.json()["id"]).status == "cancelled"
    settle()

    mail.assert_each_once(6)
    assert {to for to, _, _ in mail.messages} == {email}
    assert mail.kinds(email) == EXPECTED
    return customer


def test_the_journey_embedded_each_mail_once(client, mail, settings):
    settings.LIFTED = frozenset()
    customer = walk_the_journey(client, mail, wait_until_delivered)

    listed = customer.get("/api/v1/me/notifications").json()["results"]
    assert [item["kind"] for item in listed] == LISTED
    assert set(Message.objects.values_list("status", flat=True)) == {"sent"}


@pytest.mark.parametrize("share", [100, 50], ids=["moved", "moving"])
def test_the_journey_lifted_each_mail_once_sent_by_the_service(
    client, mail, broker, notifications_service, settings, share
):
    """Moved (the gateway sends all of /me/notifications to the service): the monolith neither sends nor
    records. Moving (a share still routed to the monolith): it records in the shadow, so its answer is
    the same as the service's, and still sends nothing: exactly one sends, and the export reads that one."""
    settings.NOTIFICATIONS_SHARE = share
    with notifications_service.consumer():
        customer = walk_the_journey(client, mail, settle_lifted)
    if share == 100:
        assert not Message.objects.exists()
    else:
        assert set(Message.objects.values_list("status", flat=True)) == {"recorded"}
        listed = customer.get("/api/v1/me/notifications").json()
        assert [item["kind"] for item in listed["results"]] == LISTED

    bearer = {"Authorization": f"Bearer {customer.token}"}
    with notifications_service.web() as (base, _):
        status, headers, body = get_json(f"{base}/api/v1/me/notifications", bearer)
        assert (status, headers["X-Served-By"]) == (200, "notifications"), body
        assert [item["kind"] for item in body["results"]] == LISTED
        if share < 100:
            the_same_whoever_answers(base, bearer, listed)
            # The export reads the sender, the service, even while the monolith still records: each mail sent.
            settings.NOTIFICATIONS_SERVICE_URL = base
            exported = customer.get("/api/v1/me/export").json()["notifications"]
            assert [(m["kind"], m["status"], bool(m["sent_at"])) for m in exported] == [
                (kind, "sent", True) for kind in reversed(LISTED)
            ]
            assert [m["id"] for m in exported] == [item["id"] for item in reversed(listed["results"])]


def the_same_whoever_answers(service: str, bearer: dict, listed: dict) -> None:
    """Through the gateway at 50 %: the monolith's answer (from what it only recorded) and the service's (from
    what it recorded and sent, at other moments, under other row ids) are the same JSON, byte for byte."""
    with (
        running_deployable(
            "commerce.wsgi",
            COMMERCE_USE_TEST_DATABASES="1",
            DJANGO_SETTINGS_MODULE=os.environ["DJANGO_SETTINGS_MODULE"],  # this test run's, on its databases
            LIFTED="notifications",
            NOTIFICATIONS_SHARE="50",
        ) as (monolith, _),
        running_gateway(monolith=monolith, notifications=service, share=50) as (gateway, _),
    ):
        answers = Counter()
        for _ in range(24):
            status, headers, raw = get(f"{gateway}/api/v1/me/notifications", headers=bearer)
            assert status == 200 and json.loads(raw) == listed, (headers.get("X-Served-By"), raw)
            answers[headers["X-Served-By"], raw] += 1
        assert {who for who, _ in answers} == {"monolith", "notifications"}, answers  # both answered (1 in 8M not)
        assert len({raw for _, raw in answers}) == 1, answers  # identical bytes, not only equal values
