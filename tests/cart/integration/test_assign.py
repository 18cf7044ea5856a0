"""A guest logs in: their anonymous cart becomes theirs, or is merged into the cart they already have."""

import uuid

import pytest
from django.test import override_settings

from contexts.cart import api
from contexts.cart.models import Cart
from tests.cart.factories import BASE, add, new_cart, signed_in, stored

pytestmark = pytest.mark.django_db


def test_the_journey_guest_cart_with_voucher_and_shipping_is_merged_into_the_customers_cart(shop, api_client):
    customer = signed_in()
    own = new_cart(customer)
    add(customer, own["id"], "SHIRT-S", 1)
    add(customer, own["id"], "SHIRT-M", 1)
    guest = new_cart(api_client)
    add(api_client, guest["id"], "SHIRT-S", 2)
    add(api_client, guest["id"], "MUG", 1)
    api_client.post(f"{BASE}/{guest['id']}/vouchers", {"code": "WELCOME10"}, format="json")
    api_client.patch(f"{BASE}/{guest['id']}", {"country": "DE", "shipping_method": "standard"}, format="json")

    response = customer.post(f"{BASE}/{guest['id']}/assign")
    assert response.status_code == 200, response.content
    merged = response.json()
    assert merged["id"] == own["id"]
    assert [(line["sku"], line["quantity"]) for line in merged["lines"]] == [("SHIRT-S", 3), ("SHIRT-M", 1), ("MUG", 1)]
    assert merged["vouchers"] == ["WELCOME10"] and merged["refused_vouchers"] == []
    assert merged["country"] == "DE" and merged["shipping_method"] == "standard"
    assert merged["discount_total"]["amount"] == "8.85" and merged["shipping_total"]["amount"] == "0.00"
    assert customer.get(f"{BASE}/{own['id']}").json() == merged
    assert api_client.get(f"{BASE}/{guest['id']}").status_code == 404  # the guest cart is gone
    assert customer.post(f"{BASE}/{guest['id']}/assign").json() == merged  # a retry answers the same cart
    assert customer.post(BASE, {}, format="json").json()["id"] == own["id"]


def test_a_customer_without_a_cart_takes_the_guest_cart_over(shop, api_client):
    guest = new_cart(api_client)
    add(api_client, guest["id"], "MUG", 2)
    customer = signed_in()
    response = customer.post(f"{BASE}/{guest['id']}/assign/")
    assert response.status_code == 200 and response.json()["id"] == guest["id"]
    assert Cart.objects.get(pk=guest["id"]).customer_id == customer.customer.pk
    assert api_client.get(f"{BASE}/{guest['id']}").status_code == 404  # now a customer's cart
    assert customer.post(BASE, {}, format="json").json()["id"] == guest["id"]


def test_merged_quantities_are_capped_at_the_per_line_maximum(shop):
    customer_cart = api.create_cart(customer_id=77).cart
    api.add_line(cart_id=customer_cart.id, customer_id=77, sku="MUG", quantity=60)
    guest = api.create_cart(customer_id=None).cart
    api.add_line(cart_id=guest.id, customer_id=None, sku="MUG", quantity=70)
    merged = api.assign_cart(cart_id=guest.id, customer_id=77)
    assert [(line.sku, line.quantity) for line in merged.lines] == [("MUG", 99)]


@override_settings(CART_MAX_LINES=2)
def test_a_merge_never_grows_a_cart_past_its_line_limit(shop):
    customer_cart = api.create_cart(customer_id=78).cart
    api.add_line(cart_id=customer_cart.id, customer_id=78, sku="MUG", quantity=1)
    guest = api.create_cart(customer_id=None).cart
    api.add_line(cart_id=guest.id, customer_id=None, sku="SHIRT-S", quantity=1)
    api.add_line(cart_id=guest.id, customer_id=None, sku="SHIRT-M", quantity=1)
    merged = api.assign_cart(cart_id=guest.id, customer_id=78)
    assert [line.sku for line in merged.lines] == ["MUG", "SHIRT-S"]


def test_a_guest_voucher_is_dropped_when_it_no_longer_applies_and_the_customers_own_is_kept(shop):
    from decimal import Decimal

    from contexts.pricing import api as pricing_api

    pricing_api.create_voucher(code="FIVE", kind="fixed", value=Decimal("5"), currency="EUR")
    own = api.create_cart(customer_id=79).cart
    api.add_line(cart_id=own.id, customer_id=79, sku="MUG", quantity=1)
    api.add_voucher(cart_id=own.id, customer_id=79, code="FIVE")
    guest = api.create_cart(customer_id=None).cart
    api.add_line(cart_id=guest.id, customer_id=None, sku="SHIRT-S", quantity=2)
    api.add_voucher(cart_id=guest.id, customer_id=None, code="WELCOME10")
    merged = api.assign_cart(cart_id=guest.id, customer_id=79)
    assert merged.vouchers == ("FIVE",)  # one voucher per order: the customer's own stays


def test_assigning_is_refused_for_own_foreign_closed_or_unknown_carts_and_changes_nothing(shop, api_client):
    customer = signed_in()
    own = new_cart(customer)
    add(customer, own["id"], "MUG", 1)
    other = signed_in()
    foreign = new_cart(other)
    add(other, foreign["id"], "MUG", 2)
    closed = new_cart(api_client)
    add(api_client, closed["id"], "MUG", 1)
    api.close_cart(cart_id=uuid.UUID(closed["id"]), order_id=uuid.uuid4())
    before = {cart_id: stored(cart_id) for cart_id in (own["id"], foreign["id"], closed["id"])}
    for cart_id, status, code in [
        (own["id"], 409, "cart_not_anonymous"),
        (foreign["id"], 404, "not_found"),
        (closed["id"], 409, "cart_closed"),
        (str(uuid.uuid4()), 404, "not_found"),
        ("garbage", 404, "not_found"),
    ]:
        response = customer.post(f"{BASE}/{cart_id}/assign")
        assert (response.status_code, response.json()["code"]) == (status, code), cart_id
    assert {cart_id: stored(cart_id) for cart_id in before} == before


def test_assigning_needs_a_signed_in_customer(shop, api_client):
    guest = new_cart(api_client)
    response = api_client.post(f"{BASE}/{guest['id']}/assign")
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"
    assert Cart.objects.get(pk=guest["id"]).customer_id is None
