"""The recovery job finishes every interrupted cancel, shipment and return receipt on its own: one order
whose recovery fails is logged with its id, counted, and left for the next run; the others go on."""

import logging
from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client import REGISTRY

from contexts.inventory import api as inventory_api
from contexts.orders import services
from contexts.orders.models import Order, Return
from tests.support.checkout import checkout_body, gateway_net, new_cart, post_checkout

pytestmark = pytest.mark.django_db

AN_HOUR_AGO = timezone.now() - timedelta(hours=1)


def confirmed(customer_client) -> Order:
    cart_id = new_cart({"MUG": 1}, customer_id=customer_client.customer.pk)
    response = post_checkout(customer_client, checkout_body(cart_id, email=None))
    assert response.status_code == 201, response.json()
    return Order.objects.get(pk=response.json()["id"])


def interrupted(order: Order, operation: str) -> None:
    """As a crash leaves it: claimed for ``operation``, nothing after that done."""
    Order.objects.filter(pk=order.pk).update(operation=operation, operation_since=AN_HOUR_AGO)


def failures() -> float:
    return REGISTRY.get_sample_value("commerce_orders_recoveries_total", {"outcome": "failed"}) or 0.0


def test_one_order_whose_recovery_fails_does_not_stop_the_others(customer_client, shop, monkeypatch, caplog):
    returned = confirmed(customer_client)
    services.ship_order(order_id=returned.pk)
    ret = services.request_return(order_id=returned.pk, customer_id=returned.customer_id, lines=[("MUG", 1)], reason="")
    Return.objects.filter(pk=ret.pk).update(status=Return.Status.RECEIVING, receiving_since=AN_HOUR_AGO)
    to_cancel = confirmed(customer_client)
    interrupted(to_cancel, "cancelling")
    to_ship = confirmed(customer_client)
    interrupted(to_ship, "shipping")
    broken = confirmed(customer_client)  # the newest: the job meets it first
    interrupted(broken, "cancelling")
    release = inventory_api.cancel_reservation

    def inventory_fails_for_the_broken_order(*, reference, **kwargs):
        if reference == str(broken.pk):
            raise ConnectionError("inventory did not answer")
        return release(reference=reference, **kwargs)

    monkeypatch.setattr(inventory_api, "cancel_reservation", inventory_fails_for_the_broken_order)
    failed_before = failures()

    with caplog.at_level(logging.ERROR, logger="contexts.orders"):
        done = services.finish_interrupted_operations()

    assert done == 3
    assert Order.objects.get(pk=to_cancel.pk).status == "cancelled"
    assert Order.objects.get(pk=to_ship.pk).status == "shipped"
    assert Order.objects.get(pk=returned.pk).status == "returned"
    assert Return.objects.get(pk=ret.pk).status == "received"
    left = Order.objects.get(pk=broken.pk)
    assert left.status == "confirmed" and left.operation == "cancelling"  # retried on the next run
    assert any(str(broken.pk) in record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR)
    assert failures() == failed_before + 1
    assert gateway_net() == 2 * broken.total  # the broken order's money and the shipped one's

    monkeypatch.setattr(inventory_api, "cancel_reservation", release)  # inventory answers again
    assert services.finish_interrupted_operations() == 1
    assert Order.objects.get(pk=broken.pk).status == "cancelled"
