"""The warehouse role ships orders and keeps the stock; it does not read the money (issue 22, bug 9):
no payments, refunds or the payment gateway's ledger, in their own screens or inlined in an order's."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse

from contexts.identity.models import User
from contexts.orders.models import GatewayCharge
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def warehouse(client):
    call_command("setup_roles", stdout=open("/dev/null", "w"))  # noqa: SIM115
    user = User.objects.create_user("warehouse@example.com", "x-very-secret-1", is_staff=True)
    user.groups.add(Group.objects.get(name="warehouse"))
    client.force_login(user)
    return client


@pytest.fixture
def order():
    order = OrderFactory()
    GatewayCharge.objects.create(
        id="ch_warehouse_test",
        idempotency_key=f"order:{order.pk}",
        token="tok_ok",
        amount=order.total,
        currency="EUR",
        status="captured",
        captured=order.total,
    )
    return order


def test_the_warehouse_opens_an_order_to_ship_it_without_seeing_its_payment(warehouse, order):
    page = warehouse.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "TEE-BLUE-M" in text, "the lines to pick"
    assert f"order:{order.pk}" not in text, "the payment's idempotency key is the payment inline's"
    assert "charge_id" not in text and "Payment" not in text


@pytest.mark.parametrize("model", ["payment", "refund", "gatewaycharge", "gatewayrefund"])
def test_the_warehouse_cannot_read_the_payment_ledger(warehouse, order, model):
    user = User.objects.get(email="warehouse@example.com")
    assert not user.has_perm(f"orders.view_{model}")
    assert warehouse.get(f"/admin/orders/{model}/").status_code in (403, 404)


def test_the_warehouse_still_ships(warehouse, order):
    user = User.objects.get(email="warehouse@example.com")
    assert user.has_perm("orders.change_order") and user.has_perm("orders.change_shipment")
    assert user.has_perm("orders.view_orderline") and user.has_perm("inventory.change_stocklevel")
    changelist = warehouse.get(reverse("admin:orders_order_changelist"))
    assert changelist.status_code == 200 and order.number in changelist.content.decode()
    assert Decimal(order.total) == Decimal("31.90")
