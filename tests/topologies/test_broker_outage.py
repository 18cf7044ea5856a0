"""RabbitMQ unreachable, with notifications lifted: checkouts still answer 201, their events wait in the
outbox (no attempt spent), and once the broker is back every customer gets exactly one mail per event,
sent by the notifications service.

The broker "goes away" behind a TCP proxy that the test cuts (open connections reset, new ones refused)
and restores: the relay (this process, the monolith) and the service's consumer (a process of its own)
both reach RabbitMQ through it; the machine's RabbitMQ keeps running for everyone else.
"""

import uuid

import pytest

from commerce.database import context_aliases
from commerce.eventbus.models import Delivery
from commerce.eventbus.remote.relay import owed_count
from commerce.eventbus.subscriptions import RELAY_PREFIX
from tests.journeys import lifted
from tests.journeys.lifted import NotificationsService, register, relay, settle_lifted
from tests.resilience.support import DatabaseProxy
from tests.support.checkout import build_shop, checkout_body, new_cart, post_checkout
from tests.support.processes import free_port
from tests.support.worker import wait_until_delivered

pytestmark = pytest.mark.django_db(transaction=True)
# The fixtures of tests/journeys/lifted.py, for the tests here.
broker, mail = lifted.broker, lifted.mail
CUSTOMERS = 4


def test_checkouts_go_on_without_the_broker_and_each_customer_gets_each_mail_once_when_it_is_back(
    client, mail, broker, tmp_path
):
    proxy = DatabaseProxy(("127.0.0.1", 5672), port=free_port())
    proxy.start()
    through_proxy = f"amqp://guest:guest@127.0.0.1:{proxy.port}//"
    service = NotificationsService(
        tmp_path, mail=mail, jwks=client.get("/.well-known/jwks.json").json(), broker_url=through_proxy
    )
    try:
        service.migrate()
        build_shop()
        with service.consumer():
            first = register(f"before-{uuid.uuid4().hex[:8]}@example.com")
            settle_lifted()
            mail.wait_for(1, log=service.log)  # the whole path works before the outage

            proxy.refuse()  # RabbitMQ is gone for the relay and the consumer
            customers = [register(f"outage-{n}-{uuid.uuid4().hex[:8]}@example.com") for n in range(CUSTOMERS)]
            for customer in [first, *customers]:
                cart = new_cart({"MUG": 1}, customer_id=customer.customer_id)
                placed = post_checkout(customer, checkout_body(cart, email=None))
                assert placed.status_code == 201, placed.json()
            wait_until_delivered()
            with pytest.raises(Exception, match="broker is unavailable"):
                relay(url=through_proxy)
            assert owed_count() == 2 * CUSTOMERS + 1  # a welcome each, a confirmation each, and the first's
            waiting = {
                (delivery.status, delivery.attempts)
                for alias in context_aliases()
                for delivery in Delivery.objects.using(alias).filter(subscription__startswith=RELAY_PREFIX)
                if delivery.status != Delivery.Status.DELIVERED
            }
            assert waiting == {(Delivery.Status.PENDING, 0)}  # waiting in the outbox, no attempt spent
            assert len(mail.messages) == 1

            proxy.restore()
            relay(url=through_proxy)
            assert owed_count() == 0
            mail.assert_each_once(2 * CUSTOMERS + 2)
    finally:
        proxy.stop()
        service.drop()

    for customer in customers:
        email = customer.get("/api/v1/me").json()["email"]
        assert mail.kinds(email) == {"welcome": 1, "order_confirmation": 1}
    assert mail.kinds(first.get("/api/v1/me").json()["email"]) == {"welcome": 1, "order_confirmation": 1}
