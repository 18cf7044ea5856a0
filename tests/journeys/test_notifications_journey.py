"""The issue's "resolved when": a customer who checks out is told, staff ship and they are told, staff
receive a return and they are told of the refund; all visible in /me/notifications. Also staff roles
through the orders admin, and checkout with a saved address lent by identity."""

import time

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse

from contexts.identity.models import User
from contexts.notifications.models import Message
from contexts.orders.models import Order
from tests.support.checkout import build_shop, checkout_body, new_cart, post_checkout


@pytest.fixture(autouse=True)
def identity_lends_its_address_book():
    """What start-up does; again here because tests/orders swap in a fake address book and clear it."""
    from django.apps import apps

    apps.get_app_config("identity").ready()


def settle_notifications(timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while Message.objects.filter(status__in=["pending", "sending"]).exists():
        assert time.monotonic() < deadline, "notifications still unsent"
        time.sleep(0.05)


def staff_client(client, group: str):
    call_command("setup_roles", stdout=open("/dev/null", "w"))  # noqa: SIM115
    user = User.objects.create_user(f"{group}@example.com", "x-very-secret-1", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    client.force_login(user)
    return client


def admin_action(client, model: str, action: str, ids):
    return client.post(
        reverse(f"admin:orders_{model}_changelist"), {"action": action, "_selected_action": [str(i) for i in ids]}
    )


@pytest.mark.django_db(transaction=True)
def test_a_customer_is_told_of_confirmation_dispatch_and_refund(customer_client, client, settle_events):
    build_shop()
    me = customer_client.customer
    address = customer_client.post(
        "/api/v1/me/addresses",
        {"full_name": "Ann Lee", "line1": "Hauptstr. 1", "city": "Berlin", "postal_code": "10115", "country": "DE"},
        format="json",
    ).json()
    cart_id = new_cart({"TEE-M": 2}, customer_id=me.pk)
    body = checkout_body(cart_id, email=None, address=None)
    body.pop("shipping_address")
    body["address_id"] = address["id"]
    placed = post_checkout(customer_client, body)
    assert placed.status_code == 201, placed.json()
    order = placed.json()
    assert order["shipping_address"]["line1"] == "Hauptstr. 1"  # the saved address, lent by identity
    settle_events()

    warehouse = staff_client(client, "warehouse")
    assert admin_action(warehouse, "order", "ship_orders", [order["id"]]).status_code == 302
    assert Order.objects.get(pk=order["id"]).status == "shipped"
    settle_events()

    returned = customer_client.post(
        f"/api/v1/orders/{order['id']}/returns", {"lines": [{"sku": "TEE-M", "quantity": 1}], "reason": "too small"},
        format="json",
    )  # fmt: skip
    assert returned.status_code == 201, returned.json()
    service = staff_client(client, "customer_service")
    assert admin_action(service, "return", "receive_returns", [returned.json()["id"]]).status_code == 302
    settle_events()
    settle_notifications()

    listed = customer_client.get("/api/v1/me/notifications").json()["results"]
    kinds = [item["kind"] for item in listed]
    assert kinds == ["refund_issued", "order_dispatched", "order_confirmation"]
    assert {item["order_id"] for item in listed} == {order["id"]}
    assert all(n.status == "sent" and n.recipient == me.email for n in Message.objects.filter(order_id=order["id"]))


@pytest.mark.django_db(transaction=True)
def test_customer_service_cancels_an_order_a_merchandiser_cannot_see_it(customer_client, client, settle_events):
    build_shop()
    me = customer_client.customer
    order = post_checkout(customer_client, checkout_body(new_cart({"MUG": 1}, customer_id=me.pk), email=None)).json()

    merchandiser = staff_client(client, "merchandisers")
    assert merchandiser.get(reverse("admin:orders_order_changelist")).status_code == 403
    assert merchandiser.get(reverse("admin:orders_order_change", args=[order["id"]])).status_code == 403
    admin_action(merchandiser, "order", "cancel_orders", [order["id"]])
    assert Order.objects.get(pk=order["id"]).status == "confirmed"

    service = staff_client(client, "customer_service")
    assert service.get(reverse("admin:pricing_price_changelist")).status_code == 403
    assert admin_action(service, "order", "cancel_orders", [order["id"]]).status_code == 302
    assert Order.objects.get(pk=order["id"]).status == "cancelled"
    settle_events()
    settle_notifications()
    assert Message.objects.filter(order_id=order["id"], kind="order_cancelled", status="sent").exists()


@pytest.mark.django_db
def test_checkout_refuses_another_customers_saved_address(customer_client):
    from contexts.identity.models import Address
    from tests.identity.factories import CustomerFactory

    build_shop()
    other = CustomerFactory()
    theirs = Address.objects.create(user=other, full_name="Bo", line1="1 Rd", city="Berlin", country="DE")
    body = checkout_body(new_cart({"MUG": 1}, customer_id=customer_client.customer.pk), email=None)
    body.pop("shipping_address")
    body["address_id"] = theirs.pk
    response = post_checkout(customer_client, body)
    assert response.status_code == 400
    assert "address_id" in response.json()["errors"]
    assert not Order.objects.filter(status="confirmed").exists()
