"""Staff roles: what each group may do, proven through the admin screens staff use."""

from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib import admin as django_admin
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse

from contexts.identity.models import Address, User
from contexts.inventory import api as inventory_api
from contexts.inventory.models import StockLevel
from contexts.pricing import api as pricing_api
from contexts.pricing.models import Price
from tests.identity.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def roles():
    call_command("setup_roles", stdout=open("/dev/null", "w"))  # noqa: SIM115


@pytest.fixture
def staff(client, roles):
    def login(group: str):
        user = User.objects.create_user(f"{group}@example.com", "x-very-secret-1", is_staff=True)
        user.groups.add(Group.objects.get(name=group))
        client.force_login(user)
        return client

    return login


@pytest.fixture
def price():
    pricing_api.set_base_price(sku="MUG-1", currency="EUR", amount=Decimal("10.00"))
    return Price.objects.get(sku="MUG-1")


@pytest.fixture
def level():
    inventory_api.ensure_warehouse(code="MAIN", name="Main")
    inventory_api.receive_stock(sku="MUG-1", warehouse_code="MAIN", quantity=10, reference="r1")
    return StockLevel.objects.get(sku="MUG-1")


def change_price(client, price, amount: str):
    url = reverse("admin:pricing_price_change", args=[price.pk])
    return client.post(url, {"amount": amount, "sale_amount": "", "tax_class": price.tax_class})


def adjust(client, level, delta: int):
    url = reverse("admin:inventory_stocklevel_adjust", args=[level.pk])
    return client.post(url, {"delta": str(delta), "reason": "recount", "reference": ""})


def test_setup_roles_is_repeatable_and_gives_the_same_groups(roles):
    before = {g.name: set(g.permissions.values_list("pk", flat=True)) for g in Group.objects.all()}
    call_command("setup_roles", stdout=open("/dev/null", "w"))  # noqa: SIM115
    after = {g.name: set(g.permissions.values_list("pk", flat=True)) for g in Group.objects.all()}
    assert before == after
    assert set(after) >= {"merchandisers", "warehouse", "customer_service"}


def test_setup_roles_puts_a_group_back_to_its_definition(roles):
    merch = Group.objects.get(name="merchandisers")
    from django.contrib.auth.models import Permission

    merch.permissions.add(Permission.objects.get(codename="view_order"))
    call_command("setup_roles", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert not merch.permissions.filter(codename="view_order").exists()


@pytest.mark.parametrize(
    ("group", "app_label"),
    [
        ("merchandisers", "catalogue"),
        ("merchandisers", "pricing"),
        ("warehouse", "inventory"),
        ("customer_service", "orders"),
        ("customer_service", "cart"),
    ],
)
def test_each_role_covers_every_model_of_the_apps_it_manages(roles, group, app_label):
    """Derived from the app's models, so models a context adds later are covered too."""
    granted = set(Group.objects.get(name=group).permissions.values_list("content_type__model", "codename"))
    for model in apps.get_app_config(app_label).get_models():
        name = model._meta.model_name
        assert (name, f"view_{name}") in granted, f"{group} cannot see {app_label}.{name}"
        assert (name, f"change_{name}") in granted, f"{group} cannot change {app_label}.{name}"


def test_a_merchandiser_changes_a_price_but_cannot_see_orders_or_customers(staff, price):
    client = staff("merchandisers")
    assert client.get(reverse("admin:pricing_price_change", args=[price.pk])).status_code == 200
    assert change_price(client, price, "12.50").status_code == 302
    assert Price.objects.get(sku="MUG-1").amount == Decimal("12.50")
    assert client.get(reverse("admin:identity_user_changelist")).status_code == 403
    user = User.objects.get(email="merchandisers@example.com")
    assert not user.has_perm("orders.view_order")
    assert not user.has_module_perms("orders")
    assert not user.has_module_perms("cart")
    assert django_admin.site.is_registered(apps.get_model("orders", "Order"))
    assert client.get(reverse("admin:orders_order_changelist")).status_code == 403


def test_warehouse_adjusts_stock_but_cannot_change_prices(staff, price, level):
    client = staff("warehouse")
    assert adjust(client, level, -3).status_code == 302
    level.refresh_from_db()
    assert level.on_hand == 7
    assert change_price(client, price, "1.00").status_code == 403
    assert Price.objects.get(sku="MUG-1").amount == Decimal("10.00")
    assert client.get(reverse("admin:pricing_price_changelist")).status_code == 403


def test_customer_service_cannot_change_prices_or_stock(staff, price, level):
    client = staff("customer_service")
    assert change_price(client, price, "1.00").status_code == 403
    assert Price.objects.get(sku="MUG-1").amount == Decimal("10.00")
    assert client.get(reverse("admin:pricing_price_changelist")).status_code == 403
    adjust(client, level, -3)
    level.refresh_from_db()
    assert level.on_hand == 10
    user = User.objects.get(email="customer_service@example.com")
    assert user.has_perm("orders.change_order") and user.has_perm("orders.view_return")
    assert not any(p.startswith("pricing.") for p in user.get_all_permissions())


def test_customer_service_looks_after_customers_but_cannot_make_anyone_staff(staff):
    client = staff("customer_service")
    customer = CustomerFactory(first_name="Ann")
    Address.objects.create(user=customer, full_name="Ann Lee", line1="Hauptstr. 1", city="Berlin", country="DE")
    page = client.get(reverse("admin:identity_user_change", args=[customer.pk]))
    assert page.status_code == 200
    assert "Hauptstr. 1" in page.content.decode()
    assert "is_superuser" not in page.content.decode()
    form = {
        "first_name": "Anna",
        "last_name": customer.last_name,
        "is_staff": "on",
        "is_superuser": "on",
        "addresses-TOTAL_FORMS": "0",
        "addresses-INITIAL_FORMS": "0",
    }
    client.post(reverse("admin:identity_user_change", args=[customer.pk]), form)
    customer.refresh_from_db()
    assert not customer.is_staff and not customer.is_superuser
    assert client.get(reverse("admin:auth_user_password_change", args=[customer.pk])).status_code == 403
    colleague = User.objects.get(email="customer_service@example.com")
    assert client.get(reverse("admin:identity_user_change", args=[colleague.pk])).status_code in (302, 403, 404)
    assert client.get(reverse("admin:notifications_message_changelist")).status_code == 200
