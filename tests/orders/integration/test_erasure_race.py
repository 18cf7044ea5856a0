"""Closing an account while the same customer's order is being created (issue 22, bug 3): no order of
an erased customer keeps the person's data, and a closed account cannot start a checkout. The
interleaving is forced: the checkout waits inside the transaction that creates its order while the
erasure runs. On PostgreSQL (real row locks)."""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor, wait

import pytest
from django.db import connections

from commerce.database import database_for
from commerce.errors import DomainError
from contexts.identity.services import personal_data
from contexts.orders import api, services
from contexts.orders.models import Order
from contexts.orders.services import _checkout
from tests.identity.factories import PASSWORD, CustomerFactory
from tests.support.checkout import ADDRESS, build_shop, new_cart

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def checkout_request(customer, cart_id) -> services.CheckoutRequest:
    return services.CheckoutRequest(
        cart_id=cart_id,
        customer_id=customer.pk,
        email=customer.email,
        shipping_address=api.Address(**ADDRESS),
        shipping_method="standard",
        payment_token="tok_ok",
        idempotency_claim=uuid.uuid4(),
    )


def test_an_order_created_while_its_customer_is_erased_ends_anonymised(postgresql_only, monkeypatch):
    build_shop()
    ann = CustomerFactory()
    cart_id = new_cart({"MUG": 1}, customer_id=ann.pk)
    creating, go_on = threading.Event(), threading.Event()
    real_gateway = _checkout.gateways.gateway

    def gateway():  # called inside the transaction that creates the order: the dangerous point
        if connections[database_for("orders")].in_atomic_block and not creating.is_set():
            creating.set()
            assert go_on.wait(timeout=60)
        return real_gateway()

    monkeypatch.setattr(_checkout.gateways, "gateway", gateway)

    def checkout():
        try:
            return services.checkout(checkout_request(ann, cart_id))
        except services.CheckoutFailed:  # the erasure took the cart away: the order ends failed
            return None
        finally:
            connections.close_all()

    def erase():
        try:
            return personal_data.close_account(user_id=ann.pk, password=PASSWORD)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=2) as pool:
        placing = pool.submit(checkout)
        assert creating.wait(timeout=60)
        erasing = pool.submit(erase)
        # before the fix the erasure finished here, not seeing the uncommitted order; now it waits for
        # the order's transaction, and anonymises the order once it is committed
        wait([erasing], timeout=3)
        go_on.set()
        placing.result(timeout=60)
        erasure = erasing.result(timeout=60)

    assert erasure.completed_at is not None and personal_data.unfinished_erasures() == []
    order = Order.objects.get(customer_id=ann.pk)  # confirmed or failed, it keeps nothing of Ann
    assert (order.email, order.ship_full_name, order.ship_line1, order.ship_city, order.ship_phone) == ("",) * 5
    assert order.anonymised_at is not None


def test_a_closed_account_cannot_start_a_checkout(postgresql_only):
    build_shop()
    ann = CustomerFactory()
    cart_id = new_cart({"MUG": 1})  # an anonymous cart: erasing Ann's own carts does not remove it
    request = checkout_request(ann, cart_id)  # authenticated a moment before the account was closed
    personal_data.close_account(user_id=ann.pk, password=PASSWORD)

    with pytest.raises(DomainError) as refused:
        services.checkout(request)

    assert (refused.value.code, refused.value.http_status) == ("account_closed", 403)
    assert not Order.objects.exists()
