"""OWASP API5:2023 Broken Function Level Authorization: the admin is for staff only, and each staff
role reaches only the models of its job (``manage.py setup_roles``); customers get nothing there."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client

from tests.identity.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def changelists(app_label: str) -> list[str]:
    return sorted(
        f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        for model in admin.site._registry
        if model._meta.app_label == app_label
    )


@pytest.fixture
def staff_client():
    call_command("setup_roles", verbosity=0)

    def login_as(role: str) -> Client:
        user = CustomerFactory(is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        client = Client()
        client.force_login(user)
        return client

    return login_as


def test_a_customer_or_anonymous_visitor_never_reaches_an_admin_page():
    customer = Client()
    customer.force_login(CustomerFactory())
    for client in (Client(), customer):
        for url in ["/admin/", *changelists("pricing"), *changelists("identity")]:
            response = client.get(url)
            assert response.status_code == 302 and "/admin/login/" in response["Location"], url


@pytest.mark.parametrize(
    ("role", "reaches", "refused"),
    [
        ("merchandisers", ["pricing", "catalogue"], ["identity", "eventbus"]),
        ("warehouse", ["inventory"], ["pricing", "identity", "eventbus"]),
        ("customer_service", ["identity"], ["pricing", "eventbus"]),
    ],
)
def test_each_staff_role_reaches_only_its_own_models(staff_client, role, reaches, refused):
    client = staff_client(role)
    for app_label in reaches:
        urls = changelists(app_label)
        assert urls, app_label
        assert any(client.get(url).status_code == 200 for url in urls), f"{role} should reach {app_label}"
    for app_label in refused:
        for url in changelists(app_label):
            assert client.get(url).status_code == 403, f"{role} must not open {url}"


def test_a_customer_service_user_cannot_change_a_price(staff_client):
    client = staff_client("customer_service")
    for url in changelists("pricing"):
        assert client.post(f"{url}add/", {}).status_code == 403


def test_the_warehouse_ships_orders_but_cannot_cancel_them(staff_client, api_client):
    """Both actions change an order, but cancelling (a refund, stock released) is customer service's
    job: the warehouse is not offered it, and posting it anyway leaves the order as it was."""
    from django.urls import reverse

    from contexts.orders.models import Order
    from tests.support.checkout import build_shop, checkout_body, new_cart, post_checkout

    build_shop()
    placed = [post_checkout(api_client, checkout_body(new_cart({"MUG": 1}))).json()["id"] for _ in range(2)]
    changelist = reverse("admin:orders_order_changelist")
    warehouse = staff_client("warehouse")

    offered = [value for value, _ in warehouse.get(changelist).context["action_form"].fields["action"].choices]
    assert "ship_orders" in offered and "cancel_orders" not in offered
    warehouse.post(changelist, {"action": "cancel_orders", "_selected_action": [placed[0]]})
    assert Order.objects.get(pk=placed[0]).status == "confirmed"
    warehouse.post(changelist, {"action": "ship_orders", "_selected_action": [placed[0]]})
    assert Order.objects.get(pk=placed[0]).status == "shipped"

    service = staff_client("customer_service")
    service.post(changelist, {"action": "cancel_orders", "_selected_action": [placed[1]]})
    assert Order.objects.get(pk=placed[1]).status == "cancelled"
