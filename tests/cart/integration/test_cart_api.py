"""The cart's own behaviour through its api: lines, limits, stock, vouchers, figures from pricing."""

from decimal import Decimal

import pytest
from django.test import override_settings

from contexts.cart import api
from contexts.cart.models import Cart, CartLine
from tests.cart.factories import stored

pytestmark = pytest.mark.django_db


@pytest.fixture
def cart(shop) -> api.Cart:
    return api.create_cart(customer_id=None).cart


def add(cart, sku, quantity, customer_id=None):
    return api.add_line(cart_id=cart.id, customer_id=customer_id, sku=sku, quantity=quantity)


def test_a_new_cart_is_open_empty_and_in_the_shops_currency(cart):
    assert cart.status == "open" and cart.lines == () and cart.currency == "EUR"
    assert cart.total == 0 and cart.item_count == 0 and cart.vouchers == ()


def test_adding_lines_names_and_prices_them_and_the_same_sku_adds_to_its_line(cart):
    add(cart, "SHIRT-S", 2)
    add(cart, "MUG", 1)
    result = add(cart, "SHIRT-S", 1)
    assert [(line.sku, line.quantity) for line in result.lines] == [("SHIRT-S", 3), ("MUG", 1)]
    shirt = result.lines[0]
    assert shirt.name == "Blue Shirt — Small" and shirt.product_slug == "blue-shirt"
    assert result.lines[1].name == "Coffee Mug"
    assert shirt.unit_price == Decimal("20.00") and shirt.line_total == Decimal("60.00")
    assert result.subtotal == Decimal("68.50") and result.total == Decimal("68.50")
    assert result.item_count == 4
    assert CartLine.objects.filter(cart_id=cart.id).count() == 2
    assert api.get_cart(cart_id=cart.id, customer_id=None) == result.__class__(
        **{
            **{f: getattr(result, f) for f in result.__dataclass_fields__},
            "updated_at": Cart.objects.get(pk=cart.id).updated_at,
        }
    )


@pytest.mark.parametrize("sku", ["NOPE", "SECRET", "NOPRICE"])
def test_a_sku_the_shop_does_not_sell_is_refused_and_nothing_changes(cart, sku):
    add(cart, "MUG", 1)
    before = stored(cart.id)
    with pytest.raises(api.UnknownSku) as refused:
        add(cart, sku, 1)
    assert refused.value.code == "unknown_sku" and refused.value.http_status == 400
    assert stored(cart.id) == before


@pytest.mark.parametrize("quantity", [0, -1, "2", 2.0, 1.5, True, None, 10**9, [1]])
def test_a_quantity_that_is_not_a_whole_number_from_1_to_99_is_refused(cart, quantity):
    before = stored(cart.id)
    with pytest.raises(api.InvalidCartInput) as refused:
        add(cart, "MUG", quantity)
    assert "quantity" in refused.value.errors
    assert stored(cart.id) == before


def test_a_line_holds_at_most_99_units_counting_what_it_already_holds(cart):
    add(cart, "MUG", 60)
    with pytest.raises(api.QuantityTooLarge):
        add(cart, "MUG", 40)
    assert add(cart, "MUG", 39).lines[0].quantity == 99


@override_settings(CART_MAX_LINE_QUANTITY=3, CART_MAX_LINES=2)
def test_the_limits_are_settings(cart):
    add(cart, "MUG", 3)
    add(cart, "SHIRT-S", 1)
    with pytest.raises(api.QuantityTooLarge):
        add(cart, "SHIRT-S", 3)
    with pytest.raises(api.CartFull) as full:
        add(cart, "SHIRT-M", 1)
    assert full.value.extra()["max_lines"] == 2


def test_a_cart_never_promises_more_than_is_available(cart):
    add(cart, "SHIRT-M", 4)
    with pytest.raises(api.InsufficientStock) as refused:
        add(cart, "SHIRT-M", 2)
    assert refused.value.code == "insufficient_stock" and refused.value.available == 5
    with pytest.raises(api.InsufficientStock) as none_left:
        add(cart, "POSTER", 1)
    assert none_left.value.available == 0
    assert api.get_cart(cart_id=cart.id, customer_id=None).lines[0].quantity == 4


def test_changing_a_quantity_checks_stock_only_when_raising_it_and_zero_removes_the_line(cart):
    line_id = add(cart, "SHIRT-M", 2).lines[0].id
    assert api.set_line_quantity(cart_id=cart.id, customer_id=None, line_id=line_id, quantity=5).lines[0].quantity == 5
    with pytest.raises(api.InsufficientStock):
        api.set_line_quantity(cart_id=cart.id, customer_id=None, line_id=line_id, quantity=6)
    assert api.set_line_quantity(cart_id=cart.id, customer_id=None, line_id=line_id, quantity=1).lines[0].quantity == 1
    assert api.set_line_quantity(cart_id=cart.id, customer_id=None, line_id=line_id, quantity=0).lines == ()


def test_removing_a_line_and_unknown_lines(cart):
    add(cart, "MUG", 1)
    line_id = add(cart, "SHIRT-S", 1).lines[1].id
    assert [line.sku for line in api.remove_line(cart_id=cart.id, customer_id=None, line_id=line_id).lines] == ["MUG"]
    for bad in (line_id, 0, -1, "x", 10**30):
        with pytest.raises(api.LineNotFound):
            api.remove_line(cart_id=cart.id, customer_id=None, line_id=bad)


def test_a_line_of_another_cart_is_not_found(shop):
    first = api.create_cart(customer_id=None).cart
    second = api.create_cart(customer_id=None).cart
    line_id = add(first, "MUG", 1).lines[0].id
    with pytest.raises(api.LineNotFound):
        api.set_line_quantity(cart_id=second.id, customer_id=None, line_id=line_id, quantity=2)
    assert api.get_cart(cart_id=first.id, customer_id=None).lines[0].quantity == 1


def test_a_voucher_applies_pricings_discount_and_is_stored_in_upper_case(cart):
    add(cart, "SHIRT-S", 2)
    result = api.add_voucher(cart_id=cart.id, customer_id=None, code="  welcome10 ")
    assert result.vouchers == ("WELCOME10",)
    assert result.discount_total == Decimal("4.00") and result.total == Decimal("36.00")
    assert api.add_voucher(cart_id=cart.id, customer_id=None, code="WELCOME10").vouchers == ("WELCOME10",)


@pytest.mark.parametrize(("code", "reason"), [("NOSUCH", "unknown"), ("OLD", "expired"), ("WELCOME10", "min_spend")])
def test_a_voucher_pricing_refuses_is_refused_with_its_reason_and_nothing_changes(cart, code, reason):
    add(cart, "MUG", 1)
    before = stored(cart.id)
    with pytest.raises(api.VoucherInvalid) as refused:
        api.add_voucher(cart_id=cart.id, customer_id=None, code=code)
    assert refused.value.code == "voucher_invalid" and refused.value.reason == reason
    assert stored(cart.id) == before


@pytest.mark.parametrize("code", ["", "   ", "X" * 10_000, 42, None, "A\x00B"])
def test_a_malformed_voucher_code_is_invalid_input(cart, code):
    with pytest.raises(api.InvalidCartInput):
        api.add_voucher(cart_id=cart.id, customer_id=None, code=code)


def test_a_voucher_that_stops_applying_stays_in_the_cart_and_is_reported(cart):
    line_id = add(cart, "MUG", 3).lines[0].id  # 25.50, above WELCOME10's minimum spend of 20.00
    api.add_voucher(cart_id=cart.id, customer_id=None, code="WELCOME10")
    result = api.set_line_quantity(cart_id=cart.id, customer_id=None, line_id=line_id, quantity=2)
    assert result.vouchers == ("WELCOME10",) and result.discount_total == 0 and result.total == Decimal("17.00")
    assert [(r.code, r.reason) for r in result.refused_vouchers] == [("WELCOME10", "min_spend")]
    result = add(cart, "SHIRT-S", 1)  # 37.00: it applies again
    assert result.refused_vouchers == () and result.discount_total == Decimal("3.70")


def test_removing_a_voucher_and_removing_one_not_there(cart):
    add(cart, "SHIRT-S", 2)
    api.add_voucher(cart_id=cart.id, customer_id=None, code="WELCOME10")
    result = api.remove_voucher(cart_id=cart.id, customer_id=None, code="welcome10")
    assert result.vouchers == () and result.total == Decimal("40.00")
    assert api.remove_voucher(cart_id=cart.id, customer_id=None, code="WELCOME10").vouchers == ()


def test_a_price_removed_after_adding_leaves_the_line_unpurchasable_and_the_rest_priced(cart):
    from contexts.pricing import api as pricing_api

    add(cart, "MUG", 2)
    add(cart, "SHIRT-S", 1)
    pricing_api.remove_price(sku="MUG", currency="EUR")
    result = api.get_cart(cart_id=cart.id, customer_id=None)
    mug, shirt = result.lines
    assert not mug.purchasable and mug.line_total == 0
    assert shirt.purchasable and result.total == Decimal("20.00")


def test_a_customer_has_one_open_cart(shop):
    first = api.create_cart(customer_id=3)
    again = api.create_cart(customer_id=3)
    assert first.created and not again.created and again.cart.id == first.cart.id


def test_a_currency_the_shop_does_not_sell_in_is_refused(shop):
    assert api.create_cart(customer_id=None, currency="usd").cart.currency == "USD"
    with pytest.raises(api.InvalidCartInput):
        api.create_cart(customer_id=None, currency="XYZ")
