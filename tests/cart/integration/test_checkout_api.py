"""What orders' checkout and identity's erasure rely on: ``get_cart_for_checkout``, ``close_cart``,
``discard_customer_carts``."""

import uuid

import pytest

from contexts.cart import api
from contexts.cart.models import Cart

pytestmark = pytest.mark.django_db


def guest_cart_with(*lines: tuple[str, int], voucher: str | None = None, customer_id: int | None = None) -> api.Cart:
    cart = api.create_cart(customer_id=customer_id).cart
    for sku, quantity in lines:
        cart = api.add_line(cart_id=cart.id, customer_id=customer_id, sku=sku, quantity=quantity)
    if voucher:
        cart = api.add_voucher(cart_id=cart.id, customer_id=customer_id, code=voucher)
    return cart


def test_checkout_sees_the_lines_vouchers_and_currency_of_a_guest_cart(shop):
    cart = guest_cart_with(("SHIRT-S", 2), ("MUG", 1), ("SHIRT-S", 1), voucher="welcome10")
    seen = api.get_cart_for_checkout(cart_id=cart.id, customer_id=None)
    assert seen.id == cart.id
    assert seen.status == "open"
    assert seen.currency == "EUR"
    assert seen.lines == (api.CheckoutLine(sku="SHIRT-S", quantity=3), api.CheckoutLine(sku="MUG", quantity=1))
    assert seen.voucher_codes == ("WELCOME10",)
    assert seen.customer_id is None and seen.order_id is None
    assert seen.country is None and seen.shipping_method is None


def test_a_guest_cart_is_reachable_by_anyone_holding_its_id(shop):
    cart = guest_cart_with(("MUG", 1))
    assert api.get_cart_for_checkout(cart_id=cart.id, customer_id=7).lines[0].sku == "MUG"
    assert api.get_cart_for_checkout(cart_id=str(cart.id), customer_id=None).id == cart.id


def test_a_customers_cart_is_not_found_by_anyone_else(shop):
    cart = guest_cart_with(("MUG", 1), customer_id=41)
    assert api.get_cart_for_checkout(cart_id=cart.id, customer_id=41).customer_id == 41
    for caller in (None, 42):
        with pytest.raises(api.CartNotFound):
            api.get_cart_for_checkout(cart_id=cart.id, customer_id=caller)


@pytest.mark.parametrize("cart_id", [uuid.uuid4(), "not-a-uuid", "", "x" * 10_000, None, 12])
def test_an_unknown_or_malformed_cart_id_is_not_found(db, cart_id):
    with pytest.raises(api.CartNotFound):
        api.get_cart_for_checkout(cart_id=cart_id, customer_id=None)


def test_closing_a_cart_checks_it_out_and_it_refuses_every_change(shop):
    cart = guest_cart_with(("MUG", 2), ("SHIRT-S", 1))
    order_id = uuid.uuid4()
    closed = api.close_cart(cart_id=cart.id, order_id=order_id)
    assert closed.status == "checked_out" and closed.order_id == order_id
    assert api.get_cart_for_checkout(cart_id=cart.id, customer_id=None).status == "checked_out"
    line_id = cart.lines[0].id
    attempts = [
        lambda: api.add_line(cart_id=cart.id, customer_id=None, sku="MUG", quantity=1),
        lambda: api.set_line_quantity(cart_id=cart.id, customer_id=None, line_id=line_id, quantity=1),
        lambda: api.remove_line(cart_id=cart.id, customer_id=None, line_id=line_id),
        lambda: api.add_voucher(cart_id=cart.id, customer_id=None, code="WELCOME10"),
        lambda: api.remove_voucher(cart_id=cart.id, customer_id=None, code="WELCOME10"),
    ]
    for attempt in attempts:
        with pytest.raises(api.CartClosed) as refused:
            attempt()
        assert refused.value.code == "cart_closed" and refused.value.http_status == 409
    assert api.get_cart_for_checkout(cart_id=cart.id, customer_id=None).lines == (
        api.CheckoutLine(sku="MUG", quantity=2),
        api.CheckoutLine(sku="SHIRT-S", quantity=1),
    )


def test_closing_again_for_the_same_order_is_idempotent_and_another_order_is_refused(shop):
    cart = guest_cart_with(("MUG", 1))
    order_id = uuid.uuid4()
    first = api.close_cart(cart_id=cart.id, order_id=order_id)
    again = api.close_cart(cart_id=cart.id, order_id=order_id)
    assert again == first
    with pytest.raises(api.CartClosed):
        api.close_cart(cart_id=cart.id, order_id=uuid.uuid4())
    assert api.get_cart_for_checkout(cart_id=cart.id, customer_id=None).order_id == order_id


def test_closing_an_unknown_cart_or_with_a_malformed_order_id_is_refused(shop):
    with pytest.raises(api.CartNotFound):
        api.close_cart(cart_id=uuid.uuid4(), order_id=uuid.uuid4())
    cart = guest_cart_with(("MUG", 1))
    with pytest.raises(api.InvalidCartInput):
        api.close_cart(cart_id=cart.id, order_id="order-1")
    assert api.get_cart_for_checkout(cart_id=cart.id, customer_id=None).status == "open"


def test_a_customer_who_checked_out_gets_a_new_cart_next_time(shop):
    cart = guest_cart_with(("MUG", 1), customer_id=5)
    api.close_cart(cart_id=cart.id, order_id=uuid.uuid4())
    opened = api.create_cart(customer_id=5)
    assert opened.created and opened.cart.id != cart.id and opened.cart.lines == ()


def test_discarding_a_customers_carts_deletes_them_all_and_nothing_else(shop):
    mine = guest_cart_with(("MUG", 1), customer_id=9)
    api.close_cart(cart_id=mine.id, order_id=uuid.uuid4())
    current = guest_cart_with(("SHIRT-S", 1), customer_id=9)
    others = guest_cart_with(("MUG", 1), customer_id=10)
    guest = guest_cart_with(("MUG", 1))
    assert api.discard_customer_carts(customer_id=9) == 2
    assert api.discard_customer_carts(customer_id=9) == 0
    assert set(Cart.objects.values_list("pk", flat=True)) == {others.id, guest.id}
    with pytest.raises(api.CartNotFound):
        api.get_cart_for_checkout(cart_id=current.id, customer_id=9)
