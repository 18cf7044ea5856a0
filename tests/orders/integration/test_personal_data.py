"""Account erasure and export reach into orders through ``orders.api`` (identity calls these)."""

from decimal import Decimal

import pytest

from commerce.database import database_for
from commerce.idempotency.models import IdempotencyRecord
from contexts.orders import api
from contexts.orders.models import Order, Return
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db


def orders_records():
    """The orders context's stored answers, in its database (the kernel's table is in every one)."""
    return IdempotencyRecord.objects.using(database_for("orders"))


def test_erasure_strips_name_email_phone_and_address_but_keeps_amounts_and_skus():
    order = OrderFactory(customer_id=7)
    Return.objects.create(order=order, reason="Ada here: call me on +49 30 1234567")
    orders_records().create(
        context="orders",
        scope="customer:7",
        key="k1",
        fingerprint="f",
        response_status=201,
        response_body={"email": order.email},
    )

    assert api.anonymise_customer_orders(customer_id=7) == 1

    (erased,) = api.list_customer_orders(customer_id=7)
    assert erased.email == ""
    address = erased.shipping_address
    assert (address.full_name, address.line1, address.line2, address.city, address.postal_code, address.phone) == (
        "",
        "",
        "",
        "",
        "",
        "",
    )
    assert address.country == "DE"  # tax was charged by it: accounting keeps it
    assert erased.total == Decimal("31.90") and erased.tax_total == Decimal("5.09")
    assert [(line.sku, line.quantity, line.line_total) for line in erased.lines] == [
        ("TEE-BLUE-M", 2, Decimal("27.00"))
    ]
    assert erased.number == order.number and erased.anonymised
    # the stored checkout answer repeated the email: gone too
    assert not orders_records().filter(scope="customer:7").exists()
    assert Return.objects.get(order=order).reason == ""


def test_erasure_is_idempotent_and_touches_no_other_customer():
    OrderFactory(customer_id=7)
    OrderFactory(customer_id=7)
    other = OrderFactory(customer_id=8)

    assert api.anonymise_customer_orders(customer_id=7) == 2
    assert api.anonymise_customer_orders(customer_id=7) == 0
    other.refresh_from_db()
    assert other.email and other.ship_full_name == "Ada Lovelace" and other.anonymised_at is None


def test_erasure_of_a_customer_without_orders_changes_nothing():
    assert api.anonymise_customer_orders(customer_id=12345) == 0
    assert not Order.objects.exists()


def test_export_lists_the_customers_orders_newest_first_with_lines_payment_and_history(django_assert_max_num_queries):
    first = OrderFactory(customer_id=7)
    second = OrderFactory(customer_id=7)
    OrderFactory(customer_id=8)

    with django_assert_max_num_queries(6):
        exported = api.list_customer_orders(customer_id=7)

    assert [order.number for order in exported] == [second.number, first.number]
    latest = exported[0]
    assert latest.email == second.email and latest.shipping_address.full_name == "Ada Lovelace"
    assert latest.payment.status == "captured" and latest.payment.captured == Decimal("31.90")
    assert [entry.status for entry in latest.history] == ["pending", "confirmed"]
    assert latest.vouchers == ("WELCOME10",)
    assert api.list_customer_orders(customer_id=999) == ()


def test_order_numbers_are_consecutive():
    numbers = [int(OrderFactory().number) for _ in range(3)]
    assert numbers == list(range(numbers[0], numbers[0] + 3))
    assert numbers[0] >= 100001
