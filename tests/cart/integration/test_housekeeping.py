"""Limits are settings; abandoned anonymous carts are deleted by a periodic job; staff see carts read-only."""

import io
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from commerce.periodic import jobs
from contexts.cart import api, services
from contexts.cart.models import Cart, CartLine
from tests.identity.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def age(cart_id, days: int) -> None:
    Cart.objects.filter(pk=cart_id).update(updated_at=timezone.now() - timedelta(days=days))


def test_abandoned_anonymous_carts_are_deleted_and_recent_or_customer_carts_kept(shop):
    old_guest = api.create_cart(customer_id=None).cart
    api.add_line(cart_id=old_guest.id, customer_id=None, sku="MUG", quantity=1)
    recent_guest = api.create_cart(customer_id=None).cart
    old_customer = api.create_cart(customer_id=5).cart
    for cart_id in (old_guest.id, old_customer.id):
        age(cart_id, 31)
    age(recent_guest.id, 29)
    assert services.delete_abandoned_carts() == 1
    assert set(Cart.objects.values_list("pk", flat=True)) == {recent_guest.id, old_customer.id}
    assert not CartLine.objects.filter(cart_id=old_guest.id).exists()
    assert services.delete_abandoned_carts() == 0


@override_settings(CART_ANONYMOUS_RETENTION_DAYS=2, CART_CLEANUP_BATCH_SIZE=2)
def test_the_retention_is_a_setting_and_the_job_works_in_batches(shop):
    ids = [api.create_cart(customer_id=None).cart.id for _ in range(5)]
    for cart_id in ids:
        age(cart_id, 3)
    assert services.delete_abandoned_carts() == 5
    assert not Cart.objects.exists()


def test_a_guest_cart_merged_into_a_customers_is_deleted_after_the_retention_too(shop):
    api.create_cart(customer_id=6)
    guest = api.create_cart(customer_id=None).cart
    api.add_line(cart_id=guest.id, customer_id=None, sku="MUG", quantity=1)
    api.assign_cart(cart_id=guest.id, customer_id=6)
    age(guest.id, 31)
    assert services.delete_abandoned_carts() == 1
    assert Cart.objects.filter(customer_id=6).count() == 1


def test_the_cleanup_is_a_periodic_job_run_by_the_embedded_scheduler(shop):
    job = next(job for job in jobs() if job.name == "cart.delete_abandoned_carts")
    assert job.every_seconds == 3600
    guest = api.create_cart(customer_id=None).cart
    age(guest.id, 40)
    call_command("run_periodic", "--once")
    assert not Cart.objects.filter(pk=guest.id).exists()


@pytest.fixture
def customer_service_client(client, db):
    call_command("setup_roles", stdout=io.StringIO())
    staff = CustomerFactory(is_staff=True)
    staff.groups.add(Group.objects.get(name="customer_service"))
    client.force_login(staff)
    return client


def test_customer_service_sees_carts_with_lines_and_figures_but_cannot_change_them(shop, customer_service_client):
    cart = api.create_cart(customer_id=None).cart
    api.add_line(cart_id=cart.id, customer_id=None, sku="SHIRT-S", quantity=2)
    changelist = customer_service_client.get(reverse("admin:cart_cart_changelist"))
    assert changelist.status_code == 200 and str(cart.id) in changelist.content.decode()
    found = customer_service_client.get(reverse("admin:cart_cart_changelist"), {"q": "SHIRT-S"})
    assert str(cart.id) in found.content.decode()
    url = reverse("admin:cart_cart_change", args=[cart.id])
    page = customer_service_client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "SHIRT-S" in html and "total 40.00 EUR" in html
    customer_service_client.post(url, {"status": "checked_out", "country": "DE"})
    assert Cart.objects.get(pk=cart.id).status == "open" and Cart.objects.get(pk=cart.id).country is None
    assert customer_service_client.get(reverse("admin:cart_cart_add")).status_code == 403
    assert customer_service_client.get(reverse("admin:cart_cart_delete", args=[cart.id])).status_code == 403
    for view_filter in ({"owner": "anonymous"}, {"status": "open"}):
        assert customer_service_client.get(reverse("admin:cart_cart_changelist"), view_filter).status_code == 200


def test_closed_and_unknown_ids_in_the_admin(shop, admin_client):
    cart = api.create_cart(customer_id=None).cart
    api.close_cart(cart_id=cart.id, order_id=uuid.uuid4())
    assert admin_client.get(reverse("admin:cart_cart_change", args=[cart.id])).status_code == 200
    assert admin_client.get(reverse("admin:cart_cart_changelist"), {"status": "checked_out"}).status_code == 200
